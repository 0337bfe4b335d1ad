//! Issuing a certificate: the one path every front door takes to the CA.
//!
//! Order of work: find the profile; read and check the key (CSR signature, key policy) or
//! generate one; apply the profile's name rules; check everything the certificate will
//! say (subject fields, term, key); sign after the pre-issuance lints; store the request
//! and the certificate in one transaction. A refusal stores nothing. A serial that is
//! already taken (the unique index says so) is never reused: the certificate is signed
//! again with a new serial.

use crate::authority::Authority;
use crate::{RaError, Result};
use castellan_model::{
    CertificateId, CertificateStatus, CertificateType, KeyType, OrgId, OrganizationDetails,
    PersonDetails, RequestId,
};
use castellan_pki::csr;
use castellan_pki::issue::{IssuedLeaf, LeafRequest, issue_leaf_in_shard};
use castellan_pki::keys::{self, PublicKey};
use castellan_pki::names::{CertificateNames, NameRequest, apply_profile};
use castellan_pki::profile::Profile;
use castellan_pki::serial::Serial;
use castellan_store::{NewCertificate, NewRequest, Tx};
use zeroize::Zeroizing;

/// Writes an order's own rows (the request, its audit record, its approval) into the
/// transaction that will store its certificate, and returns the request's id.
pub(crate) type OrderWrite = dyn for<'t> Fn(
        &'t mut Tx,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<RequestId>> + Send + 't>,
    > + Send
    + Sync;

/// The order a certificate is stored for ([`Authority::sign_and_store`]; none: a new
/// request row, through the committer).
#[derive(Clone, Copy)]
pub(crate) enum OrderRows<'a> {
    /// A request stored and approved earlier, marked Issued with its certificate.
    Stored(RequestId),
    /// An order approved at once: `write` stores it in the transaction that stores its
    /// certificate, so storing, approving and issuing it is one commit; the ACME order
    /// being finalized, if any, is marked valid in it too.
    AtOnce {
        write: &'a OrderWrite,
        acme_order: Option<i64>,
    },
}

/// How many times a certificate is signed again after a serial collision before giving up.
const SERIAL_ATTEMPTS: usize = 5;

/// Where the subscriber key comes from.
#[derive(Clone, Debug)]
pub enum KeySource {
    /// A PKCS#10 request (PEM, base64 or DER) made by the subscriber.
    Csr(Vec<u8>),
    /// Castellan generates the key pair and keeps it, encrypted under the KEK, for a
    /// PKCS#12 download.
    Generate(KeyType),
}

/// A request to issue, as the front doors hand it over.
#[derive(Clone, Debug)]
pub struct IssueCommand {
    /// Profile name or id.
    pub profile: String,
    /// The key.
    pub key: KeySource,
    /// Term in days.
    pub term_days: u32,
    /// Names beyond those in the CSR (DNS names, or e-mail addresses for client certificates).
    pub extra_names: Vec<String>,
    /// The organisation or department the certificate is for, as stored: its details
    /// replace `organization`, and it must be Validated and enabled for the profile's
    /// certificate type.
    pub organization_id: Option<OrgId>,
    /// The organisation's details, when not taken from a stored organisation.
    pub organization: Option<OrganizationDetails>,
    /// The person (client certificates).
    pub person: Option<PersonDetails>,
    /// The front door (`CLI`, `REST API`, …).
    pub requested_via: String,
    /// Who asked.
    pub requester: String,
}

/// An issued and stored certificate.
#[derive(Clone, Debug)]
pub struct IssuedCertificate {
    /// Certificate id (SCM `sslId`).
    pub id: CertificateId,
    /// The stored request.
    pub request_id: RequestId,
    /// The profile's name.
    pub profile: String,
    /// The signed leaf.
    pub leaf: IssuedLeaf,
    /// The issuing CA's certificate, then the root's.
    pub chain: Vec<Vec<u8>>,
    /// A key Castellan generated and put in escrow (a client certificate ordered for a
    /// person): the only moment it is at hand, to hand it over once (PKCS#12).
    pub escrowed_key: Option<ServerKey>,
}

/// A private key (PKCS#8) in memory; never printed.
#[derive(Clone)]
pub struct ServerKey(pub(crate) Zeroizing<Vec<u8>>);

impl std::fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerKey(..)")
    }
}

/// The key and names of a request after the checks that need no CA.
pub(crate) struct CheckedRequest {
    pub(crate) public_key: PublicKey,
    pub(crate) names: CertificateNames,
    pub(crate) csr_der: Option<Vec<u8>>,
    pub(crate) private_key: Option<Zeroizing<Vec<u8>>>,
}

fn name_request(profile: &Profile, info: Option<&csr::CsrInfo>, extra: &[String]) -> NameRequest {
    let mut request = NameRequest::default();
    if let Some(info) = info {
        request.common_name = info.common_name.clone();
        request.dns_names = info.dns_names.clone();
        request.emails = info.emails.clone();
        request.ip_addresses = info.ip_addresses.clone();
        if profile.certificate_type == CertificateType::Smime
            && let Some(email) = info.subject_value("emailAddress")
        {
            request.emails.push(email.to_owned());
        }
    }
    for name in extra {
        if name.contains('@') {
            request.emails.push(name.clone());
        } else {
            request.dns_names.push(name.clone());
        }
    }
    request
}

impl Authority {
    /// Finds a profile by name or id, or says which exist.
    pub fn profile(&self, key: &str) -> Result<&Profile> {
        self.profiles
            .find(key)
            .ok_or_else(|| RaError::UnknownProfile {
                given: key.to_owned(),
                known: self
                    .profiles
                    .iter()
                    .map(|p| format!("'{}' ({})", p.name, p.id))
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    pub(crate) async fn check_request(
        &self,
        profile: &Profile,
        cmd: &IssueCommand,
    ) -> Result<CheckedRequest> {
        let (public_key, info, private_key) = match &cmd.key {
            KeySource::Csr(input) => {
                let info = csr::parse(input)?;
                (info.public_key.clone(), Some(info), None)
            }
            KeySource::Generate(key_type) => {
                profile.check_key(*key_type)?;
                let key_type = *key_type;
                let generated = tokio::task::spawn_blocking(move || keys::generate(key_type))
                    .await
                    .map_err(|e| RaError::Internal(format!("key generation task failed: {e}")))??;
                let public = keys::check_public_key(&generated.spki_der)?;
                (public, None, Some(generated.pkcs8))
            }
        };
        self.refuse_blocked_key(&public_key).await?;
        let request = name_request(profile, info.as_ref(), &cmd.extra_names);
        let names = apply_profile(
            profile,
            &request,
            cmd.organization.as_ref(),
            cmd.person.as_ref(),
        )?;
        Ok(CheckedRequest {
            public_key,
            names,
            csr_der: info.map(|i| i.der),
            private_key,
        })
    }

    /// Issues a certificate and stores it with its request.
    pub async fn issue_certificate(&self, mut cmd: IssueCommand) -> Result<IssuedCertificate> {
        let profile = self.profile(&cmd.profile)?.clone();
        if let Some(id) = cmd.organization_id {
            cmd.organization = Some(
                self.issuing_organization(id, profile.certificate_type)
                    .await?,
            );
        }
        let checked = self.check_request(&profile, &cmd).await?;
        self.sign_and_store(&profile, &cmd, checked, None).await
    }

    /// Signs and stores: with a new request row (`order` none), or for `order`, in one
    /// transaction. The caller has checked the key against the blocked keys.
    pub(crate) async fn sign_and_store(
        &self,
        profile: &Profile,
        cmd: &IssueCommand,
        checked: CheckedRequest,
        order: Option<OrderRows<'_>>,
    ) -> Result<IssuedCertificate> {
        let hierarchy = profile.hierarchy_for(checked.public_key.key_type);
        let issuer = self
            .issuers
            .get(&hierarchy)
            .ok_or_else(|| RaError::Internal(format!("no {hierarchy} issuing CA is loaded")))?;
        let now = self.clock.now();
        let request = LeafRequest {
            profile,
            public_key: &checked.public_key,
            names: &checked.names,
            organization: cmd.organization.as_ref(),
            person: cmd.person.as_ref(),
            term_days: cmd.term_days,
            not_before: now,
        };
        let requested_names: Vec<String> = checked.names.all().map(str::to_owned).collect();
        // A client key Castellan made for a person's order goes into escrow (sealed to the
        // escrow key), not under the KEK: only a key recovery gives it out again.
        let escrow_key = match (&checked.private_key, order) {
            (Some(_), Some(_)) if profile.certificate_type == CertificateType::Smime => {
                Some(self.current_escrow_key().await?)
            }
            _ => None,
        };
        for attempt in 1..=SERIAL_ATTEMPTS {
            let serial = Serial::random(self.rng.as_ref())?;
            let crl_shard = self.crl_shard_for(&serial);
            let leaf = issue_leaf_in_shard(
                &issuer.ca,
                &request,
                &serial,
                &self.crl_url(&issuer.slug, crl_shard),
            )?;
            let (encrypted_private_key, escrowed) = match (&checked.private_key, &escrow_key) {
                (Some(pkcs8), None) => (
                    Some(self.kek.seal(
                        pkcs8,
                        &certificate_key_purpose(&serial),
                        self.rng.as_ref(),
                    )?),
                    None,
                ),
                (Some(pkcs8), Some(key)) => (
                    None,
                    Some((
                        key.id,
                        castellan_pki::escrow::seal(
                            &key.public_key,
                            pkcs8,
                            &certificate_key_purpose(&serial),
                            self.rng.as_ref(),
                        )?,
                    )),
                ),
                (None, _) => (None, None),
            };
            let certificate = NewCertificate {
                request_id: None,
                issuer_ca_id: issuer.id,
                profile_id: profile.id,
                serial: serial.to_hex(),
                status: CertificateStatus::Issued,
                subject: leaf.subject.clone(),
                common_name: checked.names.common_name.clone(),
                key_type: leaf.key_type.to_string(),
                spki_sha256: leaf.spki_sha256.clone(),
                not_before: leaf.not_before,
                not_after: leaf.not_after,
                sha256_fingerprint: leaf.sha256_fingerprint.clone(),
                sha1_fingerprint: leaf.sha1_fingerprint.clone(),
                der: leaf.der.clone(),
                encrypted_private_key,
                issued_at: now.unix_timestamp(),
                crl_shard,
                dns_names: checked.names.dns_names.clone(),
                emails: checked.names.emails.clone(),
            };
            let stored = match order {
                None => {
                    self.committer
                        .commit(
                            NewRequest {
                                renew_id: renew_id(
                                    self.rng.as_ref(),
                                    now.unix_timestamp_nanos() / 1_000_000,
                                )?,
                                profile_id: profile.id,
                                status: CertificateStatus::Issued,
                                requested_via: cmd.requested_via.clone(),
                                requester: cmd.requester.clone(),
                                term_days: i64::from(cmd.term_days),
                                common_name: checked.names.common_name.clone(),
                                requested_names: requested_names.clone(),
                                csr_der: checked.csr_der.clone(),
                                key_generated: checked.private_key.is_some(),
                                created_at: now.unix_timestamp(),
                            },
                            certificate,
                        )
                        .await?
                }
                Some(order) => {
                    self.store_for_request(order, certificate, escrowed, now.unix_timestamp())
                        .await?
                }
            };
            match stored {
                Some((request_id, id)) => {
                    tracing::info!(
                        certificate = id.0,
                        serial = %serial,
                        profile = %profile.name,
                        via = %cmd.requested_via,
                        "certificate issued"
                    );
                    return Ok(IssuedCertificate {
                        id,
                        request_id,
                        profile: profile.name.clone(),
                        leaf,
                        chain: issuer.chain.clone(),
                        escrowed_key: escrow_key
                            .as_ref()
                            .and(checked.private_key.clone())
                            .map(ServerKey),
                    });
                }
                None => {
                    tracing::warn!(%serial, attempt, "serial already used; signing again with a new serial");
                }
            }
        }
        Err(RaError::Internal(format!(
            "{SERIAL_ATTEMPTS} serial numbers in a row were already taken; the random generator is broken"
        )))
    }
}

impl Authority {
    /// Refuses a key that was reported compromised (a keyCompromise revocation).
    pub(crate) async fn refuse_blocked_key(
        &self,
        key: &castellan_pki::keys::PublicKey,
    ) -> Result<()> {
        let spki = hex::encode(key.spki_sha256());
        let Some(blocked) = self.store.blocked_key(&spki).await? else {
            return Ok(());
        };
        let when = time::OffsetDateTime::from_unix_timestamp(blocked.blocked_at)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_else(|| blocked.blocked_at.to_string());
        let which = blocked
            .serial
            .map(|s| format!(" when certificate {s} was revoked for keyCompromise"))
            .unwrap_or_default();
        Err(castellan_pki::PkiError::KeyPolicy {
            rule: "compromised-key",
            detail: format!(
                "this public key was reported compromised{which} on {when}; generate a new \
                 key pair and a new CSR"
            ),
        }
        .into())
    }

    /// Stores a certificate for an approved request (with its escrowed key, if any) and
    /// marks the request Issued, in one transaction with the order's own rows for an order
    /// approved at once; `None` when the serial is already taken (nothing is stored then).
    async fn store_for_request(
        &self,
        order: OrderRows<'_>,
        mut certificate: NewCertificate,
        escrowed: Option<(i64, Vec<u8>)>,
        now: i64,
    ) -> Result<Option<(RequestId, CertificateId)>> {
        let mut tx = self.store.begin().await?;
        // An order approved at once is stored in this transaction: it has had no certificate.
        let (request_id, acme_order, first) = match order {
            OrderRows::Stored(id) => (id, None, false),
            OrderRows::AtOnce { write, acme_order } => (write(&mut tx).await?, acme_order, true),
        };
        certificate.request_id = Some(request_id);
        match tx.insert_certificate(&certificate).await {
            Ok(id) => {
                if let Some((escrow_key, sealed)) = &escrowed {
                    tx.escrow_key_of(id, *escrow_key, sealed, now).await?;
                }
                if first {
                    tx.attach_first_certificate(request_id, id, now).await?;
                } else {
                    tx.attach_certificate(request_id, id, now).await?;
                }
                if let Some(order) = acme_order {
                    tx.acme_order_issued(order, request_id, id).await?;
                }
                tx.commit().await?;
                Ok(Some((request_id, id)))
            }
            Err(castellan_store::StoreError::Duplicate {
                what: "certificate serial",
                ..
            }) => {
                tx.rollback().await?;
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// SCM's `renewId`: 20 URL-safe characters naming a request. The first 6 bytes are the
/// time in milliseconds, so new ids land at the end of the index instead of on a random
/// page of it (one page written per batch, not one per request); the other 9 bytes (72
/// bits) are random, so ids cannot be guessed.
pub(crate) fn renew_id(rng: &dyn castellan_pki::rand::Rng, now_millis: i128) -> Result<String> {
    use base64::Engine as _;
    let mut bytes = [0u8; 15];
    let millis = u64::try_from(now_millis.max(0))
        .unwrap_or(u64::MAX)
        .to_be_bytes();
    bytes[..6].copy_from_slice(&millis[2..]);
    rng.fill(&mut bytes[6..])?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// The AAD a server-held subscriber key is sealed under.
pub(crate) fn certificate_key_purpose(serial: &Serial) -> String {
    format!("certificate-key:{}", serial.to_hex())
}

impl Authority {
    /// What a new order for organisation or department `id` under `profile` needs of its
    /// organisation, read once: the profile must be enabled for it (`check_profile_enabled`'s
    /// refusal), then its subject details as `issuing_organization` gives them.
    pub(crate) async fn ordering_organization(
        &self,
        tree: &crate::scope::OrgTree,
        id: OrgId,
        profile: &castellan_pki::profile::Profile,
    ) -> Result<OrganizationDetails> {
        let org = self
            .store
            .organization(tree.organization_of(id))
            .await?
            .ok_or(RaError::NotFound {
                what: "organization or department",
                key: id.to_string(),
            })?;
        self.refuse_disabled_profile(&org, profile)?;
        organization_details(&org, profile.certificate_type)
    }

    /// The subject details of organisation or department `id` for a certificate of type
    /// `kind`, refusing while the organisation is Pending or not enabled for the type.
    pub async fn issuing_organization(
        &self,
        id: OrgId,
        kind: CertificateType,
    ) -> Result<OrganizationDetails> {
        let record = self
            .store
            .organization(id)
            .await?
            .ok_or(RaError::NotFound {
                what: "organization or department",
                key: id.to_string(),
            })?;
        let org = match record.parent_id {
            Some(parent) => self
                .store
                .organization(parent)
                .await?
                .ok_or(RaError::NotFound {
                    what: "organization",
                    key: parent.to_string(),
                })?,
            None => record,
        };
        organization_details(&org, kind)
    }
}

/// The subject details of organisation `org` (never a department) for a certificate of
/// type `kind`, refusing while it is Pending or not enabled for the type.
fn organization_details(
    org: &castellan_store::OrganizationRecord,
    kind: CertificateType,
) -> Result<OrganizationDetails> {
    let d = &org.data;
    if !d.validated {
        return Err(RaError::NotAllowed(format!(
            "organization '{}' is Pending validation: nothing can be issued for it until \
             the operator (MRAO) validates it",
            d.name
        )));
    }
    if !d.cert_types.contains(&kind) {
        return Err(RaError::NotAllowed(format!(
            "organization '{}' is not enabled for {kind} certificates; the operator (MRAO) \
             can enable them",
            d.name
        )));
    }
    let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    let street: Vec<&str> = [&d.address1, &d.address2, &d.address3]
        .into_iter()
        .map(String::as_str)
        .filter(|l| !l.is_empty())
        .collect();
    Ok(OrganizationDetails {
        name: d.name.clone(),
        secondary_name: some(&d.secondary_name),
        street: (!street.is_empty()).then(|| street.join(", ")),
        locality: some(&d.city),
        state: some(&d.state_or_province),
        postal_code: some(&d.postal_code),
        country: d.country.clone(),
        organization_identifier: some(&d.organization_identifier),
        ev: (!d.ev.business_category.is_empty()).then(|| castellan_model::EvDetails {
            business_category: d.ev.business_category.clone(),
            jurisdiction_country: d.ev.jurisdiction_country.clone(),
            jurisdiction_state: some(&d.ev.jurisdiction_state),
            jurisdiction_locality: some(&d.ev.jurisdiction_locality),
            registration_number: d.ev.registration_number.clone(),
        }),
    })
}
