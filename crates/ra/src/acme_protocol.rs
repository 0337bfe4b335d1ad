//! The registration authority's side of the ACME protocol: nonces (single use, in the
//! database so any node can check any nonce), and the accounts ACME clients register, each
//! bound through External Account Binding to an administrator-made ACME account.

use crate::actor::Actor;
use crate::audit::{self, Change};
use crate::{Authority, RaError, Result};
use castellan_model::{AccessMethod, AcmeAccountId};
use castellan_store::{AcmeAccountRecord, AcmeRegistration, StoreError};

/// How long a nonce stays usable, in seconds.
pub const NONCE_LIFETIME: i64 = 3600;

/// An ACME refusal: its RFC 8555 error type (the part after
/// `urn:ietf:params:acme:error:`) and the sentence for the client.
pub fn problem(kind: &'static str, detail: impl Into<String>) -> RaError {
    RaError::Acme {
        kind,
        detail: detail.into(),
    }
}

fn acme_actor() -> Actor {
    Actor::system(AccessMethod::Acme)
}

impl Authority {
    /// The public base URL (`base_url`) the ACME URLs are built on.
    pub fn base_url(&self) -> &str {
        self.validation.settings.base_url.trim_end_matches('/')
    }

    /// Castellan's CAA issuer domains (the directory's `caaIdentities`).
    pub fn caa_identities(&self) -> &[String] {
        &self.validation.settings.caa_identities
    }

    /// A fresh nonce, stored for [`NONCE_LIFETIME`].
    pub async fn acme_nonce(&self) -> Result<String> {
        let mut bytes = [0u8; 16];
        self.rng.fill(&mut bytes)?;
        let nonce = crate::b64url(&bytes);
        let mut tx = self.store.begin().await?;
        tx.insert_acme_nonce(&nonce, self.now() + NONCE_LIFETIME)
            .await?;
        tx.commit().await?;
        Ok(nonce)
    }

    /// Uses up `nonce`; `badNonce` when it is unknown, used or expired.
    pub async fn acme_take_nonce(&self, nonce: &str) -> Result<()> {
        let mut tx = self.store.begin().await?;
        let fresh = tx.take_acme_nonce(nonce, self.now()).await?;
        tx.commit().await?;
        if fresh {
            Ok(())
        } else {
            Err(problem(
                "badNonce",
                "the nonce is unknown, used or expired; retry with the nonce in this \
                 response's Replay-Nonce header",
            ))
        }
    }

    /// Deletes expired nonces (a background job).
    pub async fn purge_acme_nonces(&self) -> Result<u64> {
        let mut tx = self.store.begin().await?;
        let purged = tx.purge_acme_nonces(self.now()).await?;
        tx.commit().await?;
        Ok(purged)
    }

    /// The ACME account an External Account Binding key id names, for the server at
    /// `server_path`, with its MAC key (opened from the KEK).
    pub async fn acme_eab_key(
        &self,
        server_path: &str,
        mac_id: &str,
    ) -> Result<(AcmeAccountRecord, zeroize::Zeroizing<Vec<u8>>)> {
        let unknown = || {
            problem(
                "unauthorized",
                "the external account binding's key id is not one this server issued; ask \
                 your administrator for the credentials of an ACME account on this server",
            )
        };
        let account = self
            .store
            .acme_account_by_mac_id(mac_id)
            .await?
            .ok_or_else(unknown)?;
        if !self.acme_account_on(&account, server_path) {
            return Err(problem(
                "unauthorized",
                format!(
                    "the external account binding belongs to the {}; use its directory",
                    account.account.server
                ),
            ));
        }
        let key = self.kek.open(
            &account.account.encrypted_mac_key,
            &format!("acme-mac-key:{}", account.account.mac_id),
        )?;
        Ok((account, key))
    }

    /// The registration of the key with `thumbprint`, if any.
    pub async fn acme_registration_by_key(
        &self,
        thumbprint: &str,
    ) -> Result<Option<AcmeRegistration>> {
        Ok(self
            .store
            .acme_registration_by_thumbprint(thumbprint)
            .await?)
    }

    /// Registers an ACME client's key, bound to `account` (whose binding was verified).
    pub async fn acme_register(
        &self,
        account: &AcmeAccountRecord,
        jwk: &str,
        thumbprint: &str,
        contacts: &[String],
    ) -> Result<AcmeRegistration> {
        let contacts = check_contacts(contacts)?;
        let now = self.now();
        let mut registration = AcmeRegistration {
            id: 0,
            acme_account_id: account.id,
            thumbprint: thumbprint.to_owned(),
            jwk: jwk.to_owned(),
            status: "valid".into(),
            contacts,
            created_at: now,
        };
        let mut tx = self.store.begin().await?;
        registration.id = match tx.insert_acme_registration(&registration).await {
            Ok(id) => id,
            Err(StoreError::Duplicate { .. }) => {
                return Err(problem(
                    "malformed",
                    "this key is registered already; look the account up with \
                     onlyReturnExisting",
                ));
            }
            Err(e) => return Err(e.into()),
        };
        audit::record(
            &mut tx,
            &acme_actor(),
            now,
            Change {
                action: "acme.register",
                object_type: "acme_account",
                object_id: account.id.to_string(),
                org_id: Some(account.account.org_id),
                description: format!(
                    "an ACME client registered key {thumbprint} with ACME account '{}' (key id {})",
                    account.account.name, account.account.mac_id
                ),
            },
            None,
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(registration)
    }

    /// The registration `id` of the server at `server_path` (`accountDoesNotExist` if
    /// there is none there).
    pub async fn acme_registration(&self, server_path: &str, id: i64) -> Result<AcmeRegistration> {
        let missing = || {
            problem(
                "accountDoesNotExist",
                "no ACME account at that URL on this server",
            )
        };
        let registration = self
            .store
            .acme_registration(id)
            .await?
            .ok_or_else(missing)?;
        let account = self
            .store
            .acme_account(registration.acme_account_id)
            .await?
            .ok_or_else(missing)?;
        if !self.acme_account_on(&account, server_path) {
            return Err(missing());
        }
        Ok(registration)
    }

    /// Updates a registration's contacts and/or deactivates it (for good).
    pub async fn acme_update_registration(
        &self,
        registration: &AcmeRegistration,
        contacts: Option<&[String]>,
        deactivate: bool,
    ) -> Result<AcmeRegistration> {
        let mut updated = registration.clone();
        if let Some(contacts) = contacts {
            updated.contacts = check_contacts(contacts)?;
        }
        if deactivate {
            updated.status = "deactivated".into();
        }
        let now = self.now();
        let mut tx = self.store.begin().await?;
        tx.update_acme_registration(updated.id, &updated.status, &updated.contacts)
            .await?;
        if deactivate {
            audit::record(
                &mut tx,
                &acme_actor(),
                now,
                Change {
                    action: "acme.deactivate",
                    object_type: "acme_account",
                    object_id: registration.acme_account_id.to_string(),
                    org_id: None,
                    description: format!(
                        "the ACME client key {} deactivated its account",
                        registration.thumbprint
                    ),
                },
                None,
                None,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(updated)
    }

    /// The administrator-made ACME account a registration is bound to.
    pub async fn acme_bound_account(&self, id: AcmeAccountId) -> Result<AcmeAccountRecord> {
        self.store.acme_account(id).await?.ok_or_else(|| {
            problem(
                "unauthorized",
                "the ACME account this key was bound to has been deleted",
            )
        })
    }
}

/// `mailto:` contacts only (RFC 8555 §7.3), one address each, no hfields; joined with ",".
fn check_contacts(contacts: &[String]) -> Result<String> {
    for contact in contacts {
        let Some(address) = contact.strip_prefix("mailto:") else {
            return Err(problem(
                "unsupportedContact",
                format!("'{contact}' is not a mailto: URL; only e-mail contacts are taken"),
            ));
        };
        let valid = address.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !address.contains(['?', ',', ' '])
        });
        if !valid {
            return Err(problem(
                "invalidContact",
                format!("'{contact}' is not one e-mail address"),
            ));
        }
    }
    Ok(contacts.join(","))
}
