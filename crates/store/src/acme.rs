//! ACME accounts an administrator created (SCM's `/acme/v1/account`) and their domains.

use crate::{Result, Store, StoreError, Tx};
use castellan_model::{AcmeAccountId, AdminId, OrgId};
use sqlx::Row;
use sqlx::any::AnyRow;

/// What an ACME account is made with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAcmeAccount {
    /// Its name.
    pub name: String,
    /// The organisation or department it orders for.
    pub org_id: OrgId,
    /// The ACME server (by name).
    pub server: String,
    /// The EAB key id.
    pub mac_id: String,
    /// The EAB MAC key, sealed under the KEK.
    pub encrypted_mac_key: Vec<u8>,
    /// Who created it.
    pub created_by: Option<AdminId>,
    /// When.
    pub created_at: i64,
}

/// A stored ACME account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcmeAccountRecord {
    /// Row id.
    pub id: AcmeAccountId,
    /// What it was made with.
    pub account: NewAcmeAccount,
    /// `pending` until a client registers with its credentials, then `valid`;
    /// `deactivated` when the client gave it up.
    pub status: String,
    /// The client's contact URLs, comma-separated.
    pub contacts: String,
    /// The domains it may order for, sorted.
    pub domains: Vec<String>,
}

const COLUMNS: &str =
    "id, name, org_id, server, mac_id, encrypted_mac_key, status, contacts, created_by, created_at";

fn from_row(row: &AnyRow) -> Result<AcmeAccountRecord> {
    Ok(AcmeAccountRecord {
        id: AcmeAccountId(row.try_get("id")?),
        account: NewAcmeAccount {
            name: row.try_get("name")?,
            org_id: OrgId(row.try_get("org_id")?),
            server: row.try_get("server")?,
            mac_id: row.try_get("mac_id")?,
            encrypted_mac_key: row.try_get("encrypted_mac_key")?,
            created_by: row.try_get::<Option<i64>, _>("created_by")?.map(AdminId),
            created_at: row.try_get("created_at")?,
        },
        status: row.try_get("status")?,
        contacts: row.try_get("contacts")?,
        domains: Vec::new(),
    })
}

impl Store {
    /// Every ACME account, with its domains, oldest first.
    pub async fn acme_accounts(&self) -> Result<Vec<AcmeAccountRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM acme_accounts ORDER BY id"
        )))
        .fetch_all(self.pool())
        .await?;
        let mut accounts = rows.iter().map(from_row).collect::<Result<Vec<_>>>()?;
        let names = sqlx::query("SELECT account_id, name FROM acme_account_domains ORDER BY name")
            .fetch_all(self.pool())
            .await?;
        for row in names {
            let id = AcmeAccountId(row.try_get("account_id")?);
            if let Some(account) = accounts.iter_mut().find(|a| a.id == id) {
                account.domains.push(row.try_get("name")?);
            }
        }
        Ok(accounts)
    }

    /// One ACME account, with its domains.
    pub async fn acme_account(&self, id: AcmeAccountId) -> Result<Option<AcmeAccountRecord>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM acme_accounts WHERE id = $1"
        )))
        .bind(id.0)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let mut account = from_row(&row)?;
        for row in
            sqlx::query("SELECT name FROM acme_account_domains WHERE account_id = $1 ORDER BY name")
                .bind(id.0)
                .fetch_all(self.pool())
                .await?
        {
            account.domains.push(row.try_get("name")?);
        }
        Ok(Some(account))
    }
}

impl Tx {
    /// Stores a new ACME account.
    pub async fn insert_acme_account(&mut self, account: &NewAcmeAccount) -> Result<AcmeAccountId> {
        let row = sqlx::query(
            "INSERT INTO acme_accounts (name, org_id, server, mac_id, encrypted_mac_key, \
             created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(&account.name)
        .bind(account.org_id.0)
        .bind(&account.server)
        .bind(&account.mac_id)
        .bind(&account.encrypted_mac_key)
        .bind(account.created_by.map(|a| a.0))
        .bind(account.created_at)
        .fetch_one(self.conn())
        .await
        .map_err(|e| {
            if StoreError::unique_violation(&e, "mac_id") {
                StoreError::Duplicate {
                    what: "ACME key id",
                    value: account.mac_id.clone(),
                }
            } else {
                e.into()
            }
        })?;
        Ok(AcmeAccountId(row.try_get("id")?))
    }

    /// Renames an ACME account; `false` when there is none.
    pub async fn rename_acme_account(&mut self, id: AcmeAccountId, name: &str) -> Result<bool> {
        let done = sqlx::query("UPDATE acme_accounts SET name = $1 WHERE id = $2")
            .bind(name)
            .bind(id.0)
            .execute(self.conn())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes an ACME account and its domains; `false` when there is none.
    pub async fn delete_acme_account(&mut self, id: AcmeAccountId) -> Result<bool> {
        sqlx::query("DELETE FROM acme_account_domains WHERE account_id = $1")
            .bind(id.0)
            .execute(self.conn())
            .await?;
        let done = sqlx::query("DELETE FROM acme_accounts WHERE id = $1")
            .bind(id.0)
            .execute(self.conn())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Adds a domain to an account; `false` when it was there already.
    pub async fn add_acme_domain(&mut self, id: AcmeAccountId, name: &str) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO acme_account_domains (account_id, name) VALUES ($1, $2) \
             ON CONFLICT (account_id, name) DO NOTHING",
        )
        .bind(id.0)
        .bind(name)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Removes a domain from an account; `false` when it was not there.
    pub async fn remove_acme_domain(&mut self, id: AcmeAccountId, name: &str) -> Result<bool> {
        let done =
            sqlx::query("DELETE FROM acme_account_domains WHERE account_id = $1 AND name = $2")
                .bind(id.0)
                .bind(name)
                .execute(self.conn())
                .await?;
        Ok(done.rows_affected() == 1)
    }
}

/// An account an ACME client registered (RFC 8555 §7.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcmeRegistration {
    /// Row id (in the account URL).
    pub id: i64,
    /// The administrator-made ACME account it is bound to.
    pub acme_account_id: AcmeAccountId,
    /// The RFC 7638 thumbprint of its key.
    pub thumbprint: String,
    /// Its key, as canonical JWK JSON.
    pub jwk: String,
    /// `valid` or `deactivated`.
    pub status: String,
    /// Contact URLs, comma-separated.
    pub contacts: String,
    /// When it registered.
    pub created_at: i64,
}

fn registration_from(row: &AnyRow) -> Result<AcmeRegistration> {
    Ok(AcmeRegistration {
        id: row.try_get("id")?,
        acme_account_id: AcmeAccountId(row.try_get("acme_account_id")?),
        thumbprint: row.try_get("thumbprint")?,
        jwk: row.try_get("jwk")?,
        status: row.try_get("status")?,
        contacts: row.try_get("contacts")?,
        created_at: row.try_get("created_at")?,
    })
}

const REGISTRATION_COLUMNS: &str =
    "id, acme_account_id, thumbprint, jwk, status, contacts, created_at";

impl Store {
    /// The ACME account with this EAB key id.
    pub async fn acme_account_by_mac_id(&self, mac_id: &str) -> Result<Option<AcmeAccountRecord>> {
        let row = sqlx::query("SELECT id FROM acme_accounts WHERE mac_id = $1")
            .bind(mac_id)
            .fetch_optional(self.pool())
            .await?;
        match row {
            Some(row) => self.acme_account(AcmeAccountId(row.try_get("id")?)).await,
            None => Ok(None),
        }
    }

    /// The registration with this key thumbprint.
    pub async fn acme_registration_by_thumbprint(
        &self,
        thumbprint: &str,
    ) -> Result<Option<AcmeRegistration>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {REGISTRATION_COLUMNS} FROM acme_registrations WHERE thumbprint = $1"
        )))
        .bind(thumbprint)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(registration_from).transpose()
    }

    /// The registration with this id.
    pub async fn acme_registration(&self, id: i64) -> Result<Option<AcmeRegistration>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {REGISTRATION_COLUMNS} FROM acme_registrations WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(registration_from).transpose()
    }
}

impl Tx {
    /// Stores a nonce valid until `expires_at`.
    pub async fn insert_acme_nonce(&mut self, nonce: &str, expires_at: i64) -> Result<()> {
        sqlx::query("INSERT INTO acme_nonces (nonce, expires_at) VALUES ($1, $2)")
            .bind(nonce)
            .bind(expires_at)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Uses up a nonce: `true` when it existed and had not expired at `now` (it is gone
    /// either way, so it can never be used twice).
    pub async fn take_acme_nonce(&mut self, nonce: &str, now: i64) -> Result<bool> {
        let row = sqlx::query("DELETE FROM acme_nonces WHERE nonce = $1 RETURNING expires_at")
            .bind(nonce)
            .fetch_optional(self.conn())
            .await?;
        Ok(match row {
            Some(row) => row.try_get::<i64, _>("expires_at")? > now,
            None => false,
        })
    }

    /// Deletes the nonces that expired before `now`; how many.
    pub async fn purge_acme_nonces(&mut self, now: i64) -> Result<u64> {
        let done = sqlx::query("DELETE FROM acme_nonces WHERE expires_at <= $1")
            .bind(now)
            .execute(self.conn())
            .await?;
        Ok(done.rows_affected())
    }

    /// Stores a registration (and marks its ACME account valid).
    pub async fn insert_acme_registration(&mut self, r: &AcmeRegistration) -> Result<i64> {
        let row = sqlx::query(
            "INSERT INTO acme_registrations (acme_account_id, thumbprint, jwk, status, contacts, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(r.acme_account_id.0)
        .bind(&r.thumbprint)
        .bind(&r.jwk)
        .bind(&r.status)
        .bind(&r.contacts)
        .bind(r.created_at)
        .fetch_one(self.conn())
        .await
        .map_err(|e| {
            if StoreError::unique_violation(&e, "thumbprint") {
                StoreError::Duplicate {
                    what: "ACME account key",
                    value: r.thumbprint.clone(),
                }
            } else {
                e.into()
            }
        })?;
        sqlx::query("UPDATE acme_accounts SET status = 'valid', contacts = $1 WHERE id = $2")
            .bind(&r.contacts)
            .bind(r.acme_account_id.0)
            .execute(self.conn())
            .await?;
        Ok(row.try_get("id")?)
    }

    /// Sets a registration's status and contacts.
    pub async fn update_acme_registration(
        &mut self,
        id: i64,
        status: &str,
        contacts: &str,
    ) -> Result<()> {
        sqlx::query("UPDATE acme_registrations SET status = $1, contacts = $2 WHERE id = $3")
            .bind(status)
            .bind(contacts)
            .bind(id)
            .execute(self.conn())
            .await?;
        Ok(())
    }
}

/// An ACME order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcmeOrder {
    /// Row id (in the order URL).
    pub id: i64,
    /// The registration that placed it.
    pub registration_id: i64,
    /// pending, ready, processing, valid or invalid.
    pub status: String,
    /// The DNS names, in the order given.
    pub identifiers: Vec<String>,
    /// The certificate profile.
    pub profile: String,
    /// When it expires.
    pub expires_at: i64,
    /// The registration authority's order, once finalized.
    pub request_id: Option<castellan_model::RequestId>,
    /// The certificate, once issued.
    pub certificate_id: Option<castellan_model::CertificateId>,
    /// Why it is invalid.
    pub error: String,
    /// When it was placed.
    pub created_at: i64,
}

fn order_from(row: &AnyRow) -> Result<AcmeOrder> {
    let identifiers: String = row.try_get("identifiers")?;
    Ok(AcmeOrder {
        id: row.try_get("id")?,
        registration_id: row.try_get("registration_id")?,
        status: row.try_get("status")?,
        identifiers: identifiers
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        profile: row.try_get("profile")?,
        expires_at: row.try_get("expires_at")?,
        request_id: row
            .try_get::<Option<i64>, _>("request_id")?
            .map(castellan_model::RequestId),
        certificate_id: row
            .try_get::<Option<i64>, _>("certificate_id")?
            .map(castellan_model::CertificateId),
        error: row.try_get("error")?,
        created_at: row.try_get("created_at")?,
    })
}

impl Store {
    /// An ACME order.
    pub async fn acme_order(&self, id: i64) -> Result<Option<AcmeOrder>> {
        let row = sqlx::query(
            "SELECT id, registration_id, status, identifiers, profile, expires_at, request_id, \
             certificate_id, error, created_at FROM acme_orders WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(order_from).transpose()
    }
}

impl Tx {
    /// Stores a new ACME order; returns its id.
    pub async fn insert_acme_order(&mut self, order: &AcmeOrder) -> Result<i64> {
        let row = sqlx::query(
            "INSERT INTO acme_orders (registration_id, status, identifiers, profile, expires_at, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(order.registration_id)
        .bind(&order.status)
        .bind(order.identifiers.join(","))
        .bind(&order.profile)
        .bind(order.expires_at)
        .bind(order.created_at)
        .fetch_one(self.conn())
        .await?;
        Ok(row.try_get("id")?)
    }

    /// Records what finalizing an order led to.
    pub async fn finish_acme_order(&mut self, order: &AcmeOrder) -> Result<()> {
        sqlx::query(
            "UPDATE acme_orders SET status = $1, request_id = $2, certificate_id = $3, error = $4 \
             WHERE id = $5",
        )
        .bind(&order.status)
        .bind(order.request_id.map(|r| r.0))
        .bind(order.certificate_id.map(|c| c.0))
        .bind(&order.error)
        .bind(order.id)
        .execute(self.conn())
        .await?;
        Ok(())
    }
}

impl Store {
    /// The ACME order that produced certificate `id`, if one did.
    pub async fn acme_order_by_certificate(
        &self,
        id: castellan_model::CertificateId,
    ) -> Result<Option<AcmeOrder>> {
        let row = sqlx::query(
            "SELECT id, registration_id, status, identifiers, profile, expires_at, request_id, \
             certificate_id, error, created_at FROM acme_orders WHERE certificate_id = $1",
        )
        .bind(id.0)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(order_from).transpose()
    }
}

impl Tx {
    /// Gives a registration a new key (ACME key rollover).
    pub async fn set_acme_registration_key(
        &mut self,
        id: i64,
        jwk: &str,
        thumbprint: &str,
    ) -> Result<()> {
        sqlx::query("UPDATE acme_registrations SET jwk = $1, thumbprint = $2 WHERE id = $3")
            .bind(jwk)
            .bind(thumbprint)
            .bind(id)
            .execute(self.conn())
            .await
            .map_err(|e| {
                if StoreError::unique_violation(&e, "thumbprint") {
                    StoreError::Duplicate {
                        what: "ACME account key",
                        value: thumbprint.to_owned(),
                    }
                } else {
                    e.into()
                }
            })?;
        Ok(())
    }
}
