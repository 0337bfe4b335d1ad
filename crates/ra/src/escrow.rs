//! Key escrow and recovery (guide 8.2: "These keys are held in escrow, encrypted by … master
//! key. If you need to recover key material for any of your users … we would be able to
//! recover this key material for you").
//!
//! A key Castellan generates for a person's client certificate is sealed to the **escrow
//! key** (`pki::escrow`), never kept under the KEK. The escrow key's private half is, at
//! first, sealed under the KEK; the operator can **split** it M-of-N among custodians
//! (`pki::shamir`), after which the service no longer holds it at all.
//!
//! A **recovery** is a request by an administrator with an S/MIME role over the certificate
//! (and `clientCertManage`), naming who receives the key and why. It waits for a *different*
//! administrator with `keyRecovery` (the approval mechanism of `ra::approval`). Once
//! approved, the key is opened — at once while the escrow key is whole, or when M custodians
//! (administrators with `keyRecovery`, one share each) have handed in their shares — and the
//! recipient is mailed a one-time link to download it as a PKCS#12 with a passphrase of
//! their choice. Every step is audited; no share, key or link reaches the audit log.

use crate::actor::Actor;
use crate::audit::{self, Change};
use crate::scope::OrgTree;
use crate::{Authority, Download, RaError, Result};
use base64::Engine as _;
use castellan_model::{CertificateType, DownloadFormat, Privilege, RequestId};
use castellan_notify::templates::{Rendered, text_to_html};
use castellan_pki::shamir::Share;
use castellan_store::{EscrowKeyRecord, RecoveryRecord};
use zeroize::Zeroizing;

/// How long a recovered key's link works.
pub const RECOVERY_LINK_DAYS: i64 = 7;

/// Where a recovery stands.
pub mod status {
    /// Waits for a second administrator's approval.
    pub const PENDING_APPROVAL: &str = "PENDING_APPROVAL";
    /// Approved; waits for the custodians' shares (the escrow key is split).
    pub const AWAITING_SHARES: &str = "AWAITING_SHARES";
    /// The recipient has been sent the link.
    pub const READY: &str = "READY";
    /// The recipient downloaded the key.
    pub const DELIVERED: &str = "DELIVERED";
    /// The approval was refused.
    pub const REJECTED: &str = "REJECTED";
}

/// A recovery as the front doors show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecoveryView {
    /// Its id.
    pub id: i64,
    /// Where it stands ([`status`]).
    pub status: String,
    /// Shares handed in, and needed (both 0 while the escrow key is whole).
    pub shares: (usize, usize),
    /// Who receives the key.
    pub recipient: String,
}

fn purpose_of_escrow_key(public: &[u8]) -> String {
    format!(
        "escrow-key:{}",
        hex::encode(castellan_pki::keys::sha256(public))
    )
}

fn purpose_of_recovery(id: i64) -> String {
    format!("key-recovery:{id}")
}

/// A share as custodians are given it: `castellan-escrow-<key>-<x>-of-<n>-need-<m>:<value>`.
fn share_text(key: i64, share: &Share, n: u8, m: u8) -> Zeroizing<String> {
    Zeroizing::new(format!(
        "castellan-escrow-{key}-{}-of-{n}-need-{m}:{}",
        share.x,
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(share.y.as_slice())
    ))
}

/// Reads a share's text: the escrow key it belongs to and the share.
fn parse_share(text: &str) -> Result<(i64, Share)> {
    let bad = || RaError::InvalidInput {
        field: "share",
        reason: "not a custodian's share; it reads castellan-escrow-<key>-<n>-of-<n>-need-<n>:…"
            .into(),
    };
    let (head, value) = text.trim().split_once(':').ok_or_else(bad)?;
    let parts: Vec<&str> = head
        .strip_prefix("castellan-escrow-")
        .ok_or_else(bad)?
        .split('-')
        .collect();
    let [key, x, "of", _, "need", _] = parts.as_slice() else {
        return Err(bad());
    };
    let key: i64 = key.parse().map_err(|_| bad())?;
    let x: u8 = x.parse().ok().filter(|x| *x > 0).ok_or_else(bad)?;
    let y = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(value)
        .map_err(|_| bad())?;
    Ok((
        key,
        Share {
            x,
            y: Zeroizing::new(y),
        },
    ))
}

/// The shares handed in so far, with who handed each in, as kept (sealed) between requests.
#[derive(serde::Serialize, serde::Deserialize)]
struct HandedIn {
    x: u8,
    y: String,
    by: i64,
}

impl Authority {
    /// The escrow key new keys are sealed to; made (whole, its private half under the KEK)
    /// the first time one is needed.
    pub(crate) async fn current_escrow_key(&self) -> Result<EscrowKeyRecord> {
        if let Some(key) = self.store.current_escrow_key().await? {
            return Ok(key);
        }
        let (private, public) = castellan_pki::escrow::generate()?;
        let sealed = self
            .kek
            .seal(&private, &purpose_of_escrow_key(&public), self.rng.as_ref())?;
        let mut tx = self.store.begin().await?;
        tx.insert_escrow_key(&public, Some(&sealed), 0, 0, self.now())
            .await?;
        tx.commit().await?;
        tracing::info!("escrow key made for server-generated client keys");
        self.store
            .current_escrow_key()
            .await?
            .ok_or_else(|| RaError::Internal("the escrow key vanished after it was made".into()))
    }

    /// The private half of a whole (not split) escrow key.
    fn whole_escrow_private(&self, key: &EscrowKeyRecord) -> Result<Option<Zeroizing<Vec<u8>>>> {
        match &key.sealed_private {
            Some(sealed) => Ok(Some(
                self.kek
                    .open(sealed, &purpose_of_escrow_key(&key.public_key))?,
            )),
            None => Ok(None),
        }
    }

    /// Splits the escrow key M-of-N among custodians (the operator, MRAO): a new escrow key
    /// is made and split; every key escrowed under a whole escrow key is sealed again to it,
    /// and the whole keys' private halves are forgotten. Returns the N shares, shown once:
    /// give one to each custodian. Keys under an earlier split stay under it (its shares
    /// still recover them).
    pub async fn split_escrow_key(
        &self,
        actor: &Actor,
        threshold: u8,
        custodians: u8,
    ) -> Result<Vec<Zeroizing<String>>> {
        actor.require_mrao("split the escrow key among custodians")?;
        let (private, public) = castellan_pki::escrow::generate()?;
        let shares =
            castellan_pki::shamir::split(&private, threshold, custodians, self.rng.as_ref())
                .map_err(|e| RaError::InvalidInput {
                    field: "threshold",
                    reason: e.to_string(),
                })?;
        let old = self.store.current_escrow_key().await?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let id = tx
            .insert_escrow_key(
                &public,
                None,
                i64::from(threshold),
                i64::from(custodians),
                now,
            )
            .await?;
        let mut moved = 0;
        let old_private = match &old {
            Some(old) => self.whole_escrow_private(old)?.map(|p| (old.id, p)),
            None => None,
        };
        if let Some((old_id, private)) = &old_private {
            moved += self
                .reseal(&mut tx, *old_id, private, id, &public, now)
                .await?;
            tx.forget_escrow_private(*old_id).await?;
        }
        audit::record(
            &mut tx,
            actor,
            now,
            Change {
                action: "escrow.split",
                object_type: "escrow-key",
                object_id: id.to_string(),
                org_id: None,
                description: format!(
                    "Escrow key {id} split {threshold}-of-{custodians} among custodians; \
                     {moved} escrowed key(s) sealed to it"
                ),
            },
            None,
            None,
        )
        .await?;
        tx.commit().await?;
        // An issuance that read the old escrow key just before the split may store its key
        // under it just after: while the old private half is still in memory, such
        // stragglers are moved too (signing takes milliseconds; this waits a few seconds).
        if let Some((old_id, private)) = &old_private {
            for _ in 0..3 {
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                let mut tx = self.store.begin().await?;
                let late = self
                    .reseal(&mut tx, *old_id, private, id, &public, self.now())
                    .await?;
                tx.commit().await?;
                if late > 0 {
                    tracing::info!(
                        late,
                        "escrowed keys stored during the split moved to the new escrow key"
                    );
                }
            }
        }
        Ok(shares
            .iter()
            .map(|s| share_text(id, s, custodians, threshold))
            .collect())
    }

    /// Seals every key escrowed under escrow key `from` (whose private half is `private`)
    /// again to escrow key `to`, in `tx`; returns how many.
    async fn reseal(
        &self,
        tx: &mut castellan_store::Tx,
        from: i64,
        private: &[u8],
        to: i64,
        public: &[u8],
        now: i64,
    ) -> Result<usize> {
        let mut moved = 0;
        for (certificate, sealed) in self.store.escrowed_under(from).await? {
            let record = self
                .store
                .certificate_by_id(certificate)
                .await?
                .ok_or_else(|| RaError::Internal(format!("certificate {certificate} vanished")))?;
            let purpose = crate::issuance::certificate_key_purpose(
                &castellan_pki::serial::Serial::from_hex(&record.certificate.serial)?,
            );
            let key = castellan_pki::escrow::open(private, &sealed, &purpose)?;
            let resealed = castellan_pki::escrow::seal(public, &key, &purpose, self.rng.as_ref())?;
            tx.escrow_key_of(certificate, to, &resealed, now).await?;
            moved += 1;
        }
        Ok(moved)
    }

    /// Asks for the escrowed key of client certificate order `order` to be recovered for
    /// `recipient` (`clientCertManage`, S/MIME role over it). It waits for a different
    /// administrator with `keyRecovery`. Returns the recovery's id.
    pub async fn request_key_recovery(
        &self,
        actor: &Actor,
        order: RequestId,
        recipient: &str,
        reason: &str,
    ) -> Result<i64> {
        let found = self.client_certificate(actor, order).await?;
        actor.require(Privilege::ClientCertManage, "ask for a key recovery")?;
        let recipient = recipient.trim();
        if !crate::admins::plausible_email(recipient) {
            return Err(RaError::InvalidInput {
                field: "recipient",
                reason: format!("'{recipient}' is not an e-mail address"),
            });
        }
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 512 {
            return Err(RaError::InvalidInput {
                field: "reason",
                reason: "say why, in 1 to 512 characters".into(),
            });
        }
        let (Some(certificate), Some(org)) = (found.details.certificate_id, found.details.org_id)
        else {
            return Err(RaError::Conflict(format!(
                "client certificate {order} has no certificate to recover a key for"
            )));
        };
        if self.store.escrowed_key(certificate).await?.is_none() {
            return Err(RaError::Conflict(format!(
                "client certificate {order} has no key in escrow: its key was made by its \
                 owner, not by Castellan, so there is nothing to recover"
            )));
        }
        let requested_by = actor.admin_id.ok_or_else(|| {
            RaError::NotAllowed("key recoveries are asked for by administrators".into())
        })?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let id = tx
            .insert_recovery(certificate, org, requested_by, recipient, reason, now)
            .await?;
        let serial = self
            .store
            .certificate_by_id(certificate)
            .await?
            .map(|c| c.certificate.serial)
            .unwrap_or_default();
        self.queue_recovery_awaiting(&mut tx, now, id, org, actor, &serial, recipient, reason)
            .await?;
        crate::approval::request(
            &mut tx,
            actor,
            now,
            crate::approval::ApprovalRequest {
                action: crate::approval::APPROVE_KEY_RECOVERY,
                object_type: "key-recovery",
                object_id: id,
                scope: org,
                area: Some(CertificateType::Smime),
                privilege: Some(Privilege::KeyRecovery),
                description: format!(
                    "Recovery {id} of the key of client certificate {order} for {recipient}: \
                     {reason}"
                ),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// What follows a recovery's approval decision (called by `decide_approval`): rejected,
    /// it ends; approved, the key is opened at once while the escrow key is whole, or waits
    /// for the custodians' shares.
    pub(crate) async fn recovery_decided(&self, id: i64, approved: bool) -> Result<()> {
        let now = self.now();
        if !approved {
            let mut tx = self.store.begin().await?;
            tx.recovery_status(id, status::PENDING_APPROVAL, status::REJECTED, now)
                .await?;
            return Ok(tx.commit().await?);
        }
        let recovery = self.recovery_record(id).await?;
        let (escrow_key, _) = self.escrowed(&recovery).await?;
        match self.whole_escrow_private(&escrow_key)? {
            Some(private) => self.open_and_send(&recovery, &private).await,
            None => {
                let mut tx = self.store.begin().await?;
                tx.recovery_status(id, status::PENDING_APPROVAL, status::AWAITING_SHARES, now)
                    .await?;
                Ok(tx.commit().await?)
            }
        }
    }

    async fn recovery_record(&self, id: i64) -> Result<RecoveryRecord> {
        self.store.recovery(id).await?.ok_or(RaError::NotFound {
            what: "key recovery",
            key: id.to_string(),
        })
    }

    /// The escrow key and sealed key of a recovery's certificate.
    async fn escrowed(&self, recovery: &RecoveryRecord) -> Result<(EscrowKeyRecord, Vec<u8>)> {
        let (escrow_key, sealed) = self
            .store
            .escrowed_key(recovery.certificate_id)
            .await?
            .ok_or_else(|| {
                RaError::Conflict(format!(
                    "certificate {} has no key in escrow",
                    recovery.certificate_id
                ))
            })?;
        let key = self
            .store
            .escrow_key(escrow_key)
            .await?
            .ok_or_else(|| RaError::Internal(format!("escrow key {escrow_key} vanished")))?;
        Ok((key, sealed))
    }

    /// Opens the escrowed key with the escrow private key, keeps it (under the KEK) for the
    /// recipient, and mails them the one-time link.
    async fn open_and_send(&self, recovery: &RecoveryRecord, private: &[u8]) -> Result<()> {
        let (_, sealed) = self.escrowed(recovery).await?;
        let record = self
            .store
            .certificate_by_id(recovery.certificate_id)
            .await?
            .ok_or_else(|| RaError::Internal("the recovered certificate vanished".into()))?;
        let purpose = crate::issuance::certificate_key_purpose(
            &castellan_pki::serial::Serial::from_hex(&record.certificate.serial)?,
        );
        let key = castellan_pki::escrow::open(private, &sealed, &purpose)?;
        let kept = self
            .kek
            .seal(&key, &purpose_of_recovery(recovery.id), self.rng.as_ref())?;
        let token = crate::tokens::new_token(self.rng.as_ref())?;
        let now = self.now();
        let expires_at = now + RECOVERY_LINK_DAYS * 86_400;
        let link = self.portal_url(&format!("/recovery/{}", token.as_str()));
        let text = format!(
            "A recovery of the private key of client certificate {serial} ({subject}) was \
             approved for you.\n\nFollow this link, choose a passphrase, and download the key \
             with its certificate (a PKCS#12 file):\n\n{link}\n\nThe link works once, until \
             {until} (UTC). If you did not expect this message, tell your certificate \
             administrators at once.\n",
            serial = record.certificate.serial,
            subject = record.certificate.subject,
            until = crate::clock::utc_minute(expires_at),
        );
        let rendered = Rendered {
            subject: "Your recovered client certificate key".into(),
            html: text_to_html(&text),
            text,
        };
        let mut tx = self.store.begin().await?;
        tx.recovery_ready(
            recovery.id,
            &kept,
            &crate::tokens::digest(&token),
            expires_at,
            now,
        )
        .await?;
        crate::notifications::queue(
            &mut tx,
            &format!("smime.key-recovery:{}", recovery.id),
            vec![recovery.recipient.clone()],
            &rendered,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A custodian (an administrator with `keyRecovery` and an S/MIME role over the
    /// certificate) hands in their share for an approved recovery. When enough are in, the
    /// escrow key is brought together in memory, checked against its public half, the key
    /// opened and the recipient sent their link; the shares are then forgotten.
    pub async fn submit_recovery_share(
        &self,
        actor: &Actor,
        id: i64,
        share: &str,
    ) -> Result<RecoveryView> {
        actor.require(Privilege::KeyRecovery, "hand in an escrow key share")?;
        let recovery = self.recovery_record(id).await?;
        let tree = OrgTree::load(&self.store).await?;
        if !actor.covers(&tree, recovery.org_id, Some(CertificateType::Smime)) {
            return Err(RaError::NotAllowed(format!(
                "key recovery {id} is outside your organizations and departments"
            )));
        }
        if recovery.status != status::AWAITING_SHARES {
            return Err(RaError::Conflict(format!(
                "key recovery {id} is {}, not waiting for shares",
                recovery.status.to_lowercase().replace('_', " ")
            )));
        }
        let me = actor
            .admin_id
            .ok_or_else(|| RaError::NotAllowed("shares are handed in by custodians".into()))?;
        let (escrow_key, _) = self.escrowed(&recovery).await?;
        let (share_key, share) = parse_share(share)?;
        if share_key != escrow_key.id {
            return Err(RaError::InvalidInput {
                field: "share",
                reason: format!(
                    "this share is of escrow key {share_key}; this key is escrowed under escrow \
                     key {}",
                    escrow_key.id
                ),
            });
        }
        let purpose = purpose_of_recovery(id);
        let mut handed = self.handed_in(&recovery)?;
        if handed.iter().any(|h| h.by == me.0) {
            return Err(RaError::Conflict(
                "you have handed in a share for this recovery already; each custodian hands in \
                 their own"
                    .into(),
            ));
        }
        if handed.iter().any(|h| h.x == share.x) {
            return Err(RaError::Conflict(format!(
                "share {} was handed in already, by another custodian",
                share.x
            )));
        }
        handed.push(HandedIn {
            x: share.x,
            y: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(share.y.as_slice()),
            by: me.0,
        });
        let need = usize::try_from(escrow_key.threshold).unwrap_or(usize::MAX);
        let now = self.now();
        let mut tx = self.store.begin().await?;
        audit::record(
            &mut tx,
            actor,
            now,
            Change {
                action: "smime.recovery-share",
                object_type: "key-recovery",
                object_id: id.to_string(),
                org_id: Some(recovery.org_id),
                description: format!(
                    "Share {} of {need} needed handed in for key recovery {id}",
                    handed.len()
                ),
            },
            None,
            None,
        )
        .await?;
        if handed.len() < need {
            let json = Zeroizing::new(
                serde_json::to_vec(&handed)
                    .map_err(|e| RaError::Internal(format!("the shares cannot be kept: {e}")))?,
            );
            let sealed = self.kek.seal(&json, &purpose, self.rng.as_ref())?;
            tx.recovery_shares(id, Some(&sealed), now).await?;
            tx.commit().await?;
            return Ok(RecoveryView {
                id,
                status: status::AWAITING_SHARES.into(),
                shares: (handed.len(), need),
                recipient: recovery.recipient,
            });
        }
        tx.commit().await?;
        let shares: Vec<Share> = handed
            .iter()
            .map(|h| {
                Ok(Share {
                    x: h.x,
                    y: Zeroizing::new(
                        base64::engine::general_purpose::URL_SAFE_NO_PAD
                            .decode(&h.y)
                            .map_err(|_| RaError::Internal("a kept share is unreadable".into()))?,
                    ),
                })
            })
            .collect::<Result<_>>()?;
        let threshold = u8::try_from(escrow_key.threshold).unwrap_or(u8::MAX);
        let private = castellan_pki::shamir::combine(&shares, threshold)?;
        let together = castellan_pki::escrow::public_of(&private).ok();
        if together.as_deref() != Some(escrow_key.public_key.as_slice()) {
            // A wrong share spoils the set: start again with fresh hands.
            let mut tx = self.store.begin().await?;
            tx.recovery_shares(id, None, now).await?;
            tx.commit().await?;
            return Err(RaError::Conflict(
                "the shares handed in do not give the escrow key back: one of them is wrong or \
                 altered; they were discarded, so the custodians must hand theirs in again"
                    .into(),
            ));
        }
        self.open_and_send(&recovery, &private).await?;
        Ok(RecoveryView {
            id,
            status: status::READY.into(),
            shares: (handed.len(), need),
            recipient: recovery.recipient,
        })
    }

    /// The shares handed in so far for `recovery` (kept sealed under the KEK between
    /// requests).
    fn handed_in(&self, recovery: &RecoveryRecord) -> Result<Vec<HandedIn>> {
        match &recovery.shares_sealed {
            Some(sealed) => {
                serde_json::from_slice(&self.kek.open(sealed, &purpose_of_recovery(recovery.id))?)
                    .map_err(|e| RaError::Internal(format!("the kept shares are unreadable: {e}")))
            }
            None => Ok(Vec::new()),
        }
    }

    /// Where recovery `id` stands (S/MIME role over its certificate).
    pub async fn key_recovery(&self, actor: &Actor, id: i64) -> Result<RecoveryView> {
        let recovery = self.recovery_record(id).await?;
        let tree = OrgTree::load(&self.store).await?;
        if !actor.covers(&tree, recovery.org_id, Some(CertificateType::Smime)) {
            return Err(RaError::NotFound {
                what: "key recovery",
                key: id.to_string(),
            });
        }
        let (escrow_key, _) = self.escrowed(&recovery).await?;
        let handed = self.handed_in(&recovery)?.len();
        Ok(RecoveryView {
            id,
            status: recovery.status,
            shares: (handed, usize::try_from(escrow_key.threshold).unwrap_or(0)),
            recipient: recovery.recipient,
        })
    }

    /// Uses a recovery link: the recovered key and its certificate as a PKCS#12 with the
    /// recipient's passphrase. The link is spent, and the recovered key forgotten.
    pub async fn accept_recovery(
        &self,
        token: &str,
        passphrase: &str,
        legacy: bool,
    ) -> Result<Download> {
        let dead = || RaError::NotFound {
            what: "key recovery",
            key: "for this link: it is unknown, already used or expired; ask your \
                  administrators for a new recovery"
                .into(),
        };
        let recovery = self
            .store
            .recovery_by_token(&crate::tokens::digest(token))
            .await?
            .ok_or_else(dead)?;
        let now = self.now();
        if recovery.status != status::READY || recovery.expires_at.is_none_or(|at| at < now) {
            return Err(dead());
        }
        crate::invitations::check_passphrase(passphrase, "the")?;
        let sealed = recovery.recovered_sealed.as_deref().ok_or_else(dead)?;
        let key = self.kek.open(sealed, &purpose_of_recovery(recovery.id))?;
        let record = self
            .store
            .certificate_by_id(recovery.certificate_id)
            .await?
            .ok_or_else(dead)?;
        let download = self.package(
            &record.certificate,
            if legacy {
                DownloadFormat::Pkcs12Legacy
            } else {
                DownloadFormat::Pkcs12
            },
            Some(&key),
            Some(passphrase),
        )?;
        let mut tx = self.store.begin().await?;
        if !tx.recovery_delivered(recovery.id, now).await? {
            return Err(dead());
        }
        audit::record(
            &mut tx,
            &Actor::system(castellan_model::AccessMethod::EnrollmentForm),
            now,
            Change {
                action: "smime.recovery-delivered",
                object_type: "key-recovery",
                object_id: recovery.id.to_string(),
                org_id: Some(recovery.org_id),
                description: format!(
                    "The recovered key of certificate {} was downloaded by its recipient, {}",
                    record.certificate.serial, recovery.recipient
                ),
            },
            None,
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(download)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_share_reads_back_as_written() {
        let share = Share {
            x: 3,
            y: Zeroizing::new(vec![1, 2, 250]),
        };
        let text = share_text(7, &share, 5, 3);
        assert!(
            text.starts_with("castellan-escrow-7-3-of-5-need-3:"),
            "{}",
            *text
        );
        let (key, back) = parse_share(&text).unwrap();
        assert_eq!((key, back), (7, share));
        for bad in [
            "",
            "castellan-escrow-7-3-of-5-need-3",
            "castellan-escrow-x-3-of-5-need-3:AQI",
            "castellan-escrow-7-0-of-5-need-3:AQI",
        ] {
            assert!(parse_share(bad).is_err(), "{bad}");
        }
    }
}
