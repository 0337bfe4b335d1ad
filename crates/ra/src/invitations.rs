//! Invitations to create a client certificate (guide 8.2.1: "click on the 'Send Invitation'
//! button, choose the correct certificate type and period … The user should be emailed a
//! link to follow to create and download their certificate").
//!
//! The link is a one-time, expiring token (only its SHA-256 is stored). Following it, the
//! person either chooses a passphrase and key type, and Castellan generates the key pair,
//! issues the certificate and hands over a PKCS#12 (AES-256, or the labelled legacy 3DES
//! variant for old mail clients); or uploads their own CSR and gets the certificate alone.
//! The issuance is the inviting administrator's enrolment, through
//! [`Authority::enroll_client_certificate`]: their S/MIME role and privilege are checked
//! again when the link is used, so an invitation dies with its sender's rights.
//!
//! The invitation mail has fixed wording and goes to the person alone: it carries a secret
//! link, so no notification rule may add recipients to it.

use crate::actor::Actor;
use crate::audit::{self, Change};
use crate::client_certificates::{ClientKey, ClientOrder};
use crate::persons::PersonSpec;
use crate::{Authority, Download, RaError, Result};
use castellan_model::{
    AccessMethod, CertificateType, DownloadFormat, KeyType, PersonId, Privilege, RequestId,
};
use castellan_notify::templates::{Rendered, text_to_html};
use castellan_store::{InvitationRecord, NewInvitation};
use zeroize::Zeroizing;

/// How long an invitation link works.
pub const INVITATION_DAYS: i64 = 7;
/// The shortest passphrase a PKCS#12 is protected with.
pub const MIN_PASSPHRASE: usize = 8;

/// Refuses a PKCS#12 passphrase shorter than [`MIN_PASSPHRASE`]; `whose` key it protects
/// ("your", "the") completes the refusal.
pub(crate) fn check_passphrase(passphrase: &str, whose: &str) -> Result<()> {
    if passphrase.chars().count() < MIN_PASSPHRASE {
        return Err(RaError::InvalidInput {
            field: "passphrase",
            reason: format!(
                "choose a passphrase of at least {MIN_PASSPHRASE} characters: it protects \
                 {whose} private key"
            ),
        });
    }
    Ok(())
}

/// What an administrator invites a person to.
#[derive(Clone, Debug)]
pub struct InvitationSpec {
    /// The person.
    pub person: PersonId,
    /// Client certificate profile, by name or id.
    pub profile: String,
    /// Term in days.
    pub term_days: u32,
}

/// An invitation sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvitationSent {
    /// Its id.
    pub id: i64,
    /// Where it was sent.
    pub email: String,
    /// Until when the link works (Unix seconds).
    pub expires_at: i64,
}

/// What the invitation page shows before the link is used.
#[derive(Clone, Debug)]
pub struct InvitationView {
    /// The person's name.
    pub name: String,
    /// Their e-mail (the certificate's mailbox).
    pub email: String,
    /// The profile's name.
    pub profile: String,
    /// Term in days.
    pub term_days: i64,
    /// The key types the person may choose, in the profile's order.
    pub key_types: Vec<KeyType>,
    /// Until when the link works (Unix seconds).
    pub expires_at: i64,
}

/// How the person answers the invitation.
#[derive(Clone, Debug)]
pub enum InvitationKey {
    /// Castellan generates the key pair; the PKCS#12 is protected with `passphrase`
    /// (AES-256, or 3DES with a SHA-1 MAC when `legacy`).
    Generate {
        /// RSA or ECDSA, as the profile allows.
        key_type: KeyType,
        /// The PKCS#12 passphrase.
        passphrase: Zeroizing<String>,
        /// The legacy 3DES variant for old mail clients.
        legacy: bool,
    },
    /// The person's own CSR: no key leaves or enters Castellan.
    Csr(Vec<u8>),
}

/// The refusal for a link that is unknown, used or expired: one message for all three, so
/// the page tells a guesser nothing.
fn dead_link() -> RaError {
    RaError::NotFound {
        what: "invitation",
        key: "for this link: it is unknown, already used or expired; ask your administrator \
              to send a new invitation"
            .into(),
    }
}

impl Authority {
    /// Sends a person an invitation to create a client certificate of `profile` and term
    /// (`clientCertRequest`, S/MIME role over the person's organisation or department). What
    /// the issuance will check about the organisation, profile and mailbox is checked now
    /// too, so an invitation that could never be used is not sent.
    pub async fn send_invitation(
        &self,
        actor: &Actor,
        spec: InvitationSpec,
    ) -> Result<InvitationSent> {
        let person = self.person(actor, spec.person).await?;
        actor.require(
            Privilege::ClientCertRequest,
            "send client certificate invitations",
        )?;
        let admin = actor.admin_id.ok_or_else(|| {
            RaError::NotAllowed("only an administrator can send invitations".into())
        })?;
        let org = person.data.org_id;
        let profile = self.client_profile(&spec.profile)?;
        profile.check_term(spec.term_days)?;
        self.check_profile_enabled(org, &profile).await?;
        let organization = self
            .issuing_organization(org, CertificateType::Smime)
            .await?;
        self.check_mailboxes(org, std::slice::from_ref(&person.data.email))
            .await?;

        let token = crate::tokens::new_token(self.rng.as_ref())?;
        let now = self.now();
        let expires_at = now + INVITATION_DAYS * 86_400;
        let link = self.portal_url(&format!("/invitation/{}", token.as_str()));
        let name = crate::client_certificates::person_details(&person.data)
            .common_name
            .unwrap_or_default();
        let text = format!(
            "Dear {name},\n\n{inviter} of {org_name} invites you to create your client \
             certificate: {profile} for {email}, valid for {term} days.\n\nFollow this link, \
             choose a passphrase, and download your certificate with its private key (a \
             PKCS#12 file for your mail client):\n\n{link}\n\nThe link works once, until {until} \
             (UTC). If you did not expect this message, ignore it: nothing is issued unless the \
             link is followed.\n",
            inviter = actor.login,
            org_name = organization.name,
            profile = profile.name,
            email = person.data.email,
            term = spec.term_days,
            until = crate::clock::utc_minute(expires_at),
        );
        let rendered = Rendered {
            subject: format!("Create your client certificate ({})", profile.name),
            html: text_to_html(&text),
            text,
        };
        let mut tx = self.store.begin().await?;
        let id = tx
            .insert_client_invitation(&NewInvitation {
                token_hash: crate::tokens::digest(&token),
                person_id: person.id,
                org_id: org,
                profile_id: profile.id,
                term_days: i64::from(spec.term_days),
                invited_by: admin,
                created_at: now,
                expires_at,
            })
            .await?;
        crate::notifications::queue(
            &mut tx,
            &format!("smime.invitation:{id}"),
            vec![person.data.email.clone()],
            &rendered,
            now,
        )
        .await?;
        audit::record(
            &mut tx,
            actor,
            now,
            Change {
                action: "smime.invite",
                object_type: "person",
                object_id: person.id.to_string(),
                org_id: Some(org),
                description: format!(
                    "Invitation {id} sent to {} ({}, {} days)",
                    person.data.email, profile.name, spec.term_days
                ),
            },
            None,
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(InvitationSent {
            id,
            email: person.data.email,
            expires_at,
        })
    }

    /// The live invitation a link names.
    async fn live_invitation(&self, token: &str) -> Result<InvitationRecord> {
        let record = self
            .store
            .client_invitation(&crate::tokens::digest(token))
            .await?
            .ok_or_else(dead_link)?;
        if record.used_at.is_some() || record.invitation.expires_at < self.now() {
            return Err(dead_link());
        }
        Ok(record)
    }

    /// What a live invitation link offers (the page before it is used).
    pub async fn invitation(&self, token: &str) -> Result<InvitationView> {
        let record = self.live_invitation(token).await?;
        let i = &record.invitation;
        let person = self
            .store
            .person(i.person_id)
            .await?
            .ok_or_else(dead_link)?;
        let profile = self
            .profiles
            .by_id(i.profile_id)
            .ok_or_else(dead_link)?
            .clone();
        Ok(InvitationView {
            name: crate::client_certificates::person_details(&person.data)
                .common_name
                .unwrap_or_default(),
            email: person.data.email,
            profile: profile.name.clone(),
            term_days: i.term_days,
            key_types: profile.allowed_keys(),
            expires_at: i.expires_at,
        })
    }

    /// Uses an invitation link: issues the certificate and returns it, as a PKCS#12 with its
    /// generated key or, for a CSR, as PEM with its chain. The link is spent only when the
    /// certificate is issued; a refusal (a short passphrase, a bad CSR) leaves it usable.
    pub async fn accept_invitation(
        &self,
        token: &str,
        key: InvitationKey,
        address: &str,
    ) -> Result<(RequestId, Download)> {
        let record = self.live_invitation(token).await?;
        if let InvitationKey::Generate { passphrase, .. } = &key {
            check_passphrase(passphrase, "your")?;
        }
        let i = &record.invitation;
        let inviter = self.store.admin(i.invited_by).await?.ok_or_else(|| {
            RaError::NotAllowed(
                "the administrator who sent this invitation no longer exists; ask for a new \
                 invitation"
                    .into(),
            )
        })?;
        let actor = Actor::admin(&inviter, AccessMethod::EnrollmentForm, address);
        let person = self
            .store
            .person(i.person_id)
            .await?
            .ok_or_else(dead_link)?;
        let mut tx = self.store.begin().await?;
        if !tx.claim_client_invitation(record.id, self.now()).await? {
            return Err(dead_link());
        }
        tx.commit().await?;
        let (client_key, format, passphrase) = match &key {
            InvitationKey::Generate {
                key_type,
                passphrase,
                legacy,
            } => (
                ClientKey::Generate(*key_type),
                if *legacy {
                    DownloadFormat::Pkcs12Legacy
                } else {
                    DownloadFormat::Pkcs12
                },
                Some(passphrase.as_str()),
            ),
            InvitationKey::Csr(csr) => (ClientKey::Csr(csr.clone()), DownloadFormat::Pem, None),
        };
        let enrolled = self
            .enroll_client_certificate(
                &actor,
                ClientOrder {
                    org_id: i.org_id,
                    profile: i.profile_id.0.to_string(),
                    term_days: u32::try_from(i.term_days).unwrap_or(0),
                    person: PersonSpec {
                        email: Some(person.data.email.clone()),
                        ..PersonSpec::default()
                    },
                    key: client_key,
                    comments: format!("Invitation {}", record.id),
                },
            )
            .await;
        let outcome = match enrolled {
            Ok(o) => o,
            Err(e) => {
                let mut tx = self.store.begin().await?;
                tx.release_client_invitation(record.id).await?;
                tx.commit().await?;
                return Err(e);
            }
        };
        let mut tx = self.store.begin().await?;
        tx.complete_client_invitation(record.id, outcome.id).await?;
        tx.commit().await?;
        // A generated key is in escrow now; this is the one moment it is handed over.
        let record = self
            .store
            .certificate_by_id(outcome.certificate.id)
            .await?
            .ok_or_else(|| RaError::Internal("the issued certificate vanished".into()))?;
        let key = outcome
            .certificate
            .escrowed_key
            .as_ref()
            .map(|k| k.0.as_slice());
        let download = self.package(&record.certificate, format, key, passphrase)?;
        Ok((outcome.id, download))
    }
}
