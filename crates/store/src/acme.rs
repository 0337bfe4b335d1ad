//! ACME accounts an administrator created (SCM's `/acme/v1/account`) and their domains.

use crate::db::Row;
use crate::{Result, Store, StoreError, Tx};
use castellan_model::{AcmeAccountId, AdminId, CaId, OrgId};

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

fn from_row(row: &Row) -> Result<AcmeAccountRecord> {
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
        let rows = crate::db::query(format!("SELECT {COLUMNS} FROM acme_accounts ORDER BY id"))
            .fetch_all(self.pool())
            .await?;
        let mut accounts = rows.iter().map(from_row).collect::<Result<Vec<_>>>()?;
        let names =
            crate::db::query("SELECT account_id, name FROM acme_account_domains ORDER BY name")
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

    /// One ACME account, with its domains. On SQLite a copy is kept in memory
    /// (`acme_cache.rs`).
    pub async fn acme_account(&self, id: AcmeAccountId) -> Result<Option<AcmeAccountRecord>> {
        crate::acme_cache::read_through(
            self.acme_cache(),
            |c| &c.accounts,
            id.0,
            || self.read_acme_account(id),
        )
        .await
    }

    async fn read_acme_account(&self, id: AcmeAccountId) -> Result<Option<AcmeAccountRecord>> {
        let row = crate::db::query(format!("SELECT {COLUMNS} FROM acme_accounts WHERE id = $1"))
            .bind(id.0)
            .fetch_optional(self.pool())
            .await?;
        let Some(row) = row else { return Ok(None) };
        let mut account = from_row(&row)?;
        for row in crate::db::query(
            "SELECT name FROM acme_account_domains WHERE account_id = $1 ORDER BY name",
        )
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
        let row = crate::db::query(
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
                e
            }
        })?;
        Ok(AcmeAccountId(row.try_get("id")?))
    }

    /// Renames an ACME account; `false` when there is none.
    pub async fn rename_acme_account(&mut self, id: AcmeAccountId, name: &str) -> Result<bool> {
        let done = crate::db::query("UPDATE acme_accounts SET name = $1 WHERE id = $2")
            .bind(name)
            .bind(id.0)
            .execute(self.conn())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes an ACME account and its domains; `false` when there is none.
    pub async fn delete_acme_account(&mut self, id: AcmeAccountId) -> Result<bool> {
        crate::db::query("DELETE FROM acme_account_domains WHERE account_id = $1")
            .bind(id.0)
            .execute(self.conn())
            .await?;
        let done = crate::db::query("DELETE FROM acme_accounts WHERE id = $1")
            .bind(id.0)
            .execute(self.conn())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Adds a domain to an account; `false` when it was there already.
    pub async fn add_acme_domain(&mut self, id: AcmeAccountId, name: &str) -> Result<bool> {
        let done = crate::db::query(
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
        let done = crate::db::query(
            "DELETE FROM acme_account_domains WHERE account_id = $1 AND name = $2",
        )
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

fn registration_from(row: &Row) -> Result<AcmeRegistration> {
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
        let row = crate::db::query("SELECT id FROM acme_accounts WHERE mac_id = $1")
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
        let row = crate::db::query(format!(
            "SELECT {REGISTRATION_COLUMNS} FROM acme_registrations WHERE thumbprint = $1"
        ))
        .bind(thumbprint)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(registration_from).transpose()
    }

    /// Registration `id` with the name of the ACME server its ACME account is on, in one
    /// query (every signed ACME request needs both). On SQLite a copy is kept in memory
    /// (`acme_cache.rs`).
    pub async fn acme_registration_on(
        &self,
        id: i64,
    ) -> Result<Option<(AcmeRegistration, String)>> {
        crate::acme_cache::read_through(
            self.acme_cache(),
            |c| &c.registrations,
            id,
            || self.read_acme_registration_on(id),
        )
        .await
    }

    async fn read_acme_registration_on(
        &self,
        id: i64,
    ) -> Result<Option<(AcmeRegistration, String)>> {
        let row = crate::db::query(
            "SELECT r.id, r.acme_account_id, r.thumbprint, r.jwk, r.status, r.contacts, \
             r.created_at, a.server FROM acme_registrations r \
             JOIN acme_accounts a ON a.id = r.acme_account_id WHERE r.id = $1",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref()
            .map(|row| Ok((registration_from(row)?, row.try_get("server")?)))
            .transpose()
    }

    /// Registration `id`.
    pub async fn acme_registration(&self, id: i64) -> Result<Option<AcmeRegistration>> {
        let row = crate::db::query(format!(
            "SELECT {REGISTRATION_COLUMNS} FROM acme_registrations WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(registration_from).transpose()
    }
}

impl Tx {
    /// Stores a nonce valid until `expires_at`.
    pub async fn insert_acme_nonce(&mut self, nonce: &str, expires_at: i64) -> Result<()> {
        crate::db::query("INSERT INTO acme_nonces (nonce, expires_at) VALUES ($1, $2)")
            .bind(nonce)
            .bind(expires_at)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Uses up a nonce: `true` when it existed and had not expired at `now` (it is gone
    /// either way, so it can never be used twice).
    pub async fn take_acme_nonce(&mut self, nonce: &str, now: i64) -> Result<bool> {
        let row = crate::db::query("DELETE FROM acme_nonces WHERE nonce = $1 RETURNING expires_at")
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
        let done = crate::db::query("DELETE FROM acme_nonces WHERE expires_at <= $1")
            .bind(now)
            .execute(self.conn())
            .await?;
        Ok(done.rows_affected())
    }

    /// Stores a registration (and marks its ACME account valid).
    pub async fn insert_acme_registration(&mut self, r: &AcmeRegistration) -> Result<i64> {
        let row = crate::db::query(
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
                e
            }
        })?;
        crate::db::query("UPDATE acme_accounts SET status = 'valid', contacts = $1 WHERE id = $2")
            .bind(&r.contacts)
            .bind(r.acme_account_id.0)
            .execute(self.conn())
            .await?;
        row.try_get("id")
    }

    /// Sets a registration's status and contacts.
    pub async fn update_acme_registration(
        &mut self,
        id: i64,
        status: &str,
        contacts: &str,
    ) -> Result<()> {
        crate::db::query("UPDATE acme_registrations SET status = $1, contacts = $2 WHERE id = $3")
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
    /// The certificate it replaces (RFC 9773 `replaces`), if any.
    pub replaces: Option<castellan_model::CertificateId>,
    /// That certificate's identifier as the client sent it (given back in the order).
    pub replaces_id: String,
}

/// The columns [`order_from`] reads.
const ORDER_COLUMNS: &str = "id, registration_id, status, identifiers, profile, expires_at, \
     request_id, certificate_id, error, created_at, replaces_certificate_id, replaces";

fn order_from(row: &Row) -> Result<AcmeOrder> {
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
        replaces: row
            .try_get::<Option<i64>, _>("replaces_certificate_id")?
            .map(castellan_model::CertificateId),
        replaces_id: row.try_get("replaces")?,
    })
}

impl Store {
    /// An ACME order.
    pub async fn acme_order(&self, id: i64) -> Result<Option<AcmeOrder>> {
        let row = crate::db::query(format!(
            "SELECT {ORDER_COLUMNS} FROM acme_orders WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(order_from).transpose()
    }

    /// An ACME order with its certificate's issuer and DER, if it has one, in one query
    /// (the certificate download needs both).
    pub async fn acme_order_with_certificate(
        &self,
        id: i64,
    ) -> Result<Option<(AcmeOrder, Option<(CaId, Vec<u8>)>)>> {
        let row = crate::db::query(format!(
            "SELECT {}, c.issuer_ca_id AS certificate_issuer, c.der AS certificate_der \
             FROM acme_orders o LEFT JOIN certificates c ON c.id = o.certificate_id \
             WHERE o.id = $1",
            crate::bind::qualified(ORDER_COLUMNS, "o")
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let certificate = match row.try_get::<Option<i64>, _>("certificate_issuer")? {
            Some(issuer) => Some((CaId(issuer), row.try_get("certificate_der")?)),
            None => None,
        };
        Ok(Some((order_from(&row)?, certificate)))
    }
}

impl Tx {
    /// Stores a new ACME order; returns its id.
    pub async fn insert_acme_order(&mut self, order: &AcmeOrder) -> Result<i64> {
        crate::db::query(
            "INSERT INTO acme_orders (registration_id, status, identifiers, profile, expires_at, \
             created_at, replaces_certificate_id, replaces) VALUES ($1, $2, $3, $4, $5, $6, $7, \
             $8) RETURNING id",
        )
        .bind(order.registration_id)
        .bind(&order.status)
        .bind(order.identifiers.join(","))
        .bind(&order.profile)
        .bind(order.expires_at)
        .bind(order.created_at)
        .bind(order.replaces.map(|c| c.0))
        .bind(&order.replaces_id)
        .fetch_inserted_id(self.conn())
        .await?
        .ok_or_else(|| crate::db::not_inserted("ACME order"))
    }

    /// Records what finalizing an order led to.
    pub async fn finish_acme_order(&mut self, order: &AcmeOrder) -> Result<()> {
        crate::db::query(
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

impl Tx {
    /// Marks ACME order `id` valid with the request and certificate it led to (in the
    /// transaction that stores the certificate).
    pub async fn acme_order_issued(
        &mut self,
        id: i64,
        request: castellan_model::RequestId,
        certificate: castellan_model::CertificateId,
    ) -> Result<()> {
        crate::db::query(
            "UPDATE acme_orders SET status = 'valid', request_id = $1, certificate_id = $2, \
             error = '' WHERE id = $3",
        )
        .bind(request.0)
        .bind(certificate.0)
        .bind(id)
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
        let row = crate::db::query(format!(
            "SELECT {ORDER_COLUMNS} FROM acme_orders WHERE certificate_id = $1"
        ))
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
        crate::db::query("UPDATE acme_registrations SET jwk = $1, thumbprint = $2 WHERE id = $3")
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
                    e
                }
            })?;
        Ok(())
    }
}

impl Store {
    /// The ACME order that asked for registration authority order `id`, if one did.
    pub async fn acme_order_by_request(
        &self,
        id: castellan_model::RequestId,
    ) -> Result<Option<AcmeOrder>> {
        let row = crate::db::query(format!(
            "SELECT {ORDER_COLUMNS} FROM acme_orders WHERE request_id = $1"
        ))
        .bind(id.0)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(order_from).transpose()
    }

    /// The order that replaces certificate `id` (RFC 9773), unless it became invalid.
    pub async fn acme_order_replacing(
        &self,
        id: castellan_model::CertificateId,
    ) -> Result<Option<AcmeOrder>> {
        let row = crate::db::query(format!(
            "SELECT {ORDER_COLUMNS} FROM acme_orders WHERE replaces_certificate_id = $1 \
             AND status <> 'invalid' ORDER BY id LIMIT 1"
        ))
        .bind(id.0)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(order_from).transpose()
    }

    /// How many new orders (not renewals) the registrations of ACME account `account` placed
    /// since `since`, counting no further than `cap` (the limit: the count stays cheap however
    /// many there were).
    pub async fn acme_new_orders_of_account(
        &self,
        account: AcmeAccountId,
        since: i64,
        cap: i64,
    ) -> Result<i64> {
        let row = crate::db::query(
            "SELECT COUNT(*) AS n FROM (SELECT o.id FROM acme_orders o JOIN acme_registrations r \
             ON r.id = o.registration_id WHERE r.acme_account_id = $1 AND o.created_at >= $2 \
             AND o.replaces_certificate_id IS NULL LIMIT $3) counted",
        )
        .bind(account.0)
        .bind(since)
        .bind(cap)
        .fetch_one(self.pool())
        .await?;
        row.try_get("n")
    }

    /// How many new orders (not renewals) named a name under `registered_domain` since
    /// `since`, counting no further than `cap`.
    pub async fn acme_new_orders_under(
        &self,
        registered_domain: &str,
        since: i64,
        cap: i64,
    ) -> Result<i64> {
        let row = crate::db::query(
            "SELECT COUNT(*) AS n FROM (SELECT DISTINCT a.order_id \
             FROM acme_authorizations a JOIN acme_orders o ON o.id = a.order_id \
             WHERE a.registered_domain = $1 AND a.created_at >= $2 \
             AND o.replaces_certificate_id IS NULL LIMIT $3) counted",
        )
        .bind(registered_domain)
        .bind(since)
        .bind(cap)
        .fetch_one(self.pool())
        .await?;
        row.try_get("n")
    }

    /// When the oldest new order naming a name under `registered_domain` since `since` was
    /// placed: when the domain's weekly budget frees up.
    pub async fn acme_oldest_new_order_under(
        &self,
        registered_domain: &str,
        since: i64,
    ) -> Result<Option<i64>> {
        let row = crate::db::query(
            "SELECT MIN(a.created_at) AS oldest FROM acme_authorizations a \
             JOIN acme_orders o ON o.id = a.order_id WHERE a.registered_domain = $1 \
             AND a.created_at >= $2 AND o.replaces_certificate_id IS NULL",
        )
        .bind(registered_domain)
        .bind(since)
        .fetch_one(self.pool())
        .await?;
        row.try_get("oldest")
    }

    /// Whether an order of ACME account `account` for exactly `identifiers` (sorted, as
    /// orders store them) was issued since `since`: a new order for the same names renews
    /// it, even from a client that does not send `replaces`.
    pub async fn acme_account_has_issued(
        &self,
        account: AcmeAccountId,
        identifiers: &[String],
        since: i64,
    ) -> Result<bool> {
        let row = crate::db::query(
            "SELECT o.id FROM acme_orders o JOIN acme_registrations r \
             ON r.id = o.registration_id WHERE r.acme_account_id = $1 AND o.identifiers = $2 \
             AND o.status = 'valid' AND o.created_at >= $3 LIMIT 1",
        )
        .bind(account.0)
        .bind(identifiers.join(","))
        .bind(since)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.is_some())
    }

    /// The oldest new order (not a renewal) of ACME account `account` since `since`: when
    /// the account's hourly budget frees up.
    pub async fn acme_oldest_new_order_of_account(
        &self,
        account: AcmeAccountId,
        since: i64,
    ) -> Result<Option<i64>> {
        let row = crate::db::query(
            "SELECT MIN(o.created_at) AS oldest FROM acme_orders o JOIN acme_registrations r \
             ON r.id = o.registration_id WHERE r.acme_account_id = $1 AND o.created_at >= $2 \
             AND o.replaces_certificate_id IS NULL",
        )
        .bind(account.0)
        .bind(since)
        .fetch_one(self.pool())
        .await?;
        row.try_get("oldest")
    }
}

/// An ACME authorization: one name of an order, and how it was proven.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcmeAuthorization {
    /// The order.
    pub order_id: i64,
    /// Its place among the order's identifiers (in the authorization URL).
    pub index: i64,
    /// The name, `*.` kept for a wildcard.
    pub identifier: String,
    /// The Domains entry the name falls under (rate limits count by it).
    pub registered_domain: String,
    /// pending, valid, invalid or deactivated.
    pub status: String,
    /// The challenge token (base64url, 256 bits).
    pub token: String,
    /// The challenge type the client answered, or empty.
    pub challenge: String,
    /// When the check of that challenge began.
    pub attempted_at: Option<i64>,
    /// When the name was proven.
    pub validated_at: Option<i64>,
    /// Why it is invalid, in a sentence.
    pub error: String,
    /// When it was made.
    pub created_at: i64,
}

const AUTHZ_COLUMNS: &str = "order_id, idx, identifier, registered_domain, status, token, \
     challenge, attempted_at, validated_at, error, created_at";

/// How [`Store::acme_order_with_authorization`] names the authorization's columns (the
/// order's have the same names).
const AUTHZ_PREFIX: &str = "authz_";

fn authorization_from(row: &Row) -> Result<AcmeAuthorization> {
    authorization_named(row, "")
}

/// An authorization from a row whose authorization columns are named `<prefix><column>`
/// ([`crate::bind::qualified_as`]).
fn authorization_named(row: &Row, prefix: &str) -> Result<AcmeAuthorization> {
    let name = |column: &'static str| -> std::borrow::Cow<'static, str> {
        if prefix.is_empty() {
            column.into()
        } else {
            format!("{prefix}{column}").into()
        }
    };
    Ok(AcmeAuthorization {
        order_id: row.try_get(&*name("order_id"))?,
        index: row.try_get(&*name("idx"))?,
        identifier: row.try_get(&*name("identifier"))?,
        registered_domain: row.try_get(&*name("registered_domain"))?,
        status: row.try_get(&*name("status"))?,
        token: row.try_get(&*name("token"))?,
        challenge: row.try_get(&*name("challenge"))?,
        attempted_at: row.try_get(&*name("attempted_at"))?,
        validated_at: row.try_get(&*name("validated_at"))?,
        error: row.try_get(&*name("error"))?,
        created_at: row.try_get(&*name("created_at"))?,
    })
}

impl Store {
    /// The authorizations of order `order_id`, by index.
    pub async fn acme_authorizations(&self, order_id: i64) -> Result<Vec<AcmeAuthorization>> {
        let rows = crate::db::query(format!(
            "SELECT {AUTHZ_COLUMNS} FROM acme_authorizations WHERE order_id = $1 ORDER BY idx"
        ))
        .bind(order_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(authorization_from).collect()
    }

    /// ACME order `id` with its authorization `index`, if it has one, in one query (an
    /// authorization's URL names both, and answering it needs both).
    pub async fn acme_order_with_authorization(
        &self,
        id: i64,
        index: i64,
    ) -> Result<Option<(AcmeOrder, Option<AcmeAuthorization>)>> {
        let row = crate::db::query(format!(
            "SELECT {}, {} FROM acme_orders o \
             LEFT JOIN acme_authorizations a ON a.order_id = o.id AND a.idx = $2 \
             WHERE o.id = $1",
            crate::bind::qualified(ORDER_COLUMNS, "o"),
            crate::bind::qualified_as(AUTHZ_COLUMNS, "a", AUTHZ_PREFIX)
        ))
        .bind(id)
        .bind(index)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let authorization =
            match row.try_get::<Option<i64>, _>(format!("{AUTHZ_PREFIX}idx").as_str())? {
                Some(_) => Some(authorization_named(&row, AUTHZ_PREFIX)?),
                None => None,
            };
        Ok(Some((order_from(&row)?, authorization)))
    }

    /// The most recent valid authorization for exactly `identifier` held by ACME account
    /// `account`, proven at or after `since`: a later order of the account reuses it.
    pub async fn acme_recent_authorization(
        &self,
        account: AcmeAccountId,
        identifier: &str,
        since: i64,
    ) -> Result<Option<AcmeAuthorization>> {
        let row = crate::db::query(format!(
            "SELECT {} FROM acme_authorizations a \
             JOIN acme_orders o ON o.id = a.order_id \
             JOIN acme_registrations r ON r.id = o.registration_id \
             WHERE a.identifier = $1 AND a.validated_at >= $2 AND a.status = 'valid' \
             AND r.acme_account_id = $3 ORDER BY a.validated_at DESC LIMIT 1",
            crate::bind::qualified(AUTHZ_COLUMNS, "a")
        ))
        .bind(identifier)
        .bind(since)
        .bind(account.0)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(authorization_from).transpose()
    }

    /// Checks begun before `before` that never finished (a restart cut them short).
    pub async fn acme_stalled_checks(
        &self,
        before: i64,
        limit: i64,
    ) -> Result<Vec<AcmeAuthorization>> {
        let rows = crate::db::query(format!(
            "SELECT {AUTHZ_COLUMNS} FROM acme_authorizations WHERE attempted_at < $1 \
             AND status = 'pending' AND challenge <> '' ORDER BY attempted_at LIMIT $2"
        ))
        .bind(before)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(authorization_from).collect()
    }
}

impl Tx {
    /// Stores an order's authorizations.
    pub async fn insert_acme_authorizations(
        &mut self,
        authorizations: &[AcmeAuthorization],
    ) -> Result<()> {
        for a in authorizations {
            crate::db::query(format!(
                "INSERT INTO acme_authorizations ({AUTHZ_COLUMNS}) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
            ))
            .bind(a.order_id)
            .bind(a.index)
            .bind(&a.identifier)
            .bind(&a.registered_domain)
            .bind(&a.status)
            .bind(&a.token)
            .bind(&a.challenge)
            .bind(a.attempted_at)
            .bind(a.validated_at)
            .bind(&a.error)
            .bind(a.created_at)
            .execute(self.conn())
            .await?;
        }
        Ok(())
    }

    /// Records that the client answered `challenge` of a pending authorization nobody is
    /// checking yet; false when it is no longer pending or a check has begun (two answers
    /// at once start one check).
    pub async fn begin_acme_check(
        &mut self,
        order_id: i64,
        index: i64,
        challenge: &str,
        now: i64,
    ) -> Result<bool> {
        let done = crate::db::query(
            "UPDATE acme_authorizations SET challenge = $1, attempted_at = $2 \
             WHERE order_id = $3 AND idx = $4 AND status = 'pending' AND challenge = ''",
        )
        .bind(challenge)
        .bind(now)
        .bind(order_id)
        .bind(index)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Takes a stalled check over: true for the one node that moved its start time.
    pub async fn retake_acme_check(
        &mut self,
        order_id: i64,
        index: i64,
        seen_attempted_at: i64,
        now: i64,
    ) -> Result<bool> {
        let done = crate::db::query(
            "UPDATE acme_authorizations SET attempted_at = $1 WHERE order_id = $2 AND idx = $3 \
             AND status = 'pending' AND attempted_at = $4",
        )
        .bind(now)
        .bind(order_id)
        .bind(index)
        .bind(seen_attempted_at)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records the outcome of a check (valid or invalid) of a pending authorization.
    pub async fn finish_acme_check(
        &mut self,
        order_id: i64,
        index: i64,
        status: &str,
        error: &str,
        now: i64,
    ) -> Result<bool> {
        let done = crate::db::query(
            "UPDATE acme_authorizations SET status = $1, error = $2, validated_at = $3 \
             WHERE order_id = $4 AND idx = $5 AND status = 'pending'",
        )
        .bind(status)
        .bind(error)
        .bind((status == "valid").then_some(now))
        .bind(order_id)
        .bind(index)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Makes the unfinished (pending or ready) orders of registration `id` invalid: its
    /// account was deactivated (RFC 8555 §7.3.6). Returns how many.
    pub async fn cancel_acme_orders_of(&mut self, id: i64) -> Result<u64> {
        let done = crate::db::query(
            "UPDATE acme_orders SET status = 'invalid', error = 'the account was deactivated' \
             WHERE registration_id = $1 AND status IN ('pending', 'ready')",
        )
        .bind(id)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected())
    }

    /// Deactivates a pending or valid authorization (RFC 8555 §7.5.2); false if it was
    /// neither.
    pub async fn deactivate_acme_authorization(
        &mut self,
        order_id: i64,
        index: i64,
    ) -> Result<bool> {
        let done = crate::db::query(
            "UPDATE acme_authorizations SET status = 'deactivated' WHERE order_id = $1 \
             AND idx = $2 AND status IN ('pending', 'valid')",
        )
        .bind(order_id)
        .bind(index)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Moves an order to `status` (with `error` when invalid) if it is still `from`.
    pub async fn move_acme_order(
        &mut self,
        id: i64,
        from: &str,
        status: &str,
        error: &str,
    ) -> Result<bool> {
        let done = crate::db::query(
            "UPDATE acme_orders SET status = $1, error = $2 WHERE id = $3 AND status = $4",
        )
        .bind(status)
        .bind(error)
        .bind(id)
        .bind(from)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The authorizations of order `order_id`, by index, inside this transaction.
    pub async fn acme_authorizations(&mut self, order_id: i64) -> Result<Vec<AcmeAuthorization>> {
        let rows = crate::db::query(format!(
            "SELECT {AUTHZ_COLUMNS} FROM acme_authorizations WHERE order_id = $1 ORDER BY idx"
        ))
        .bind(order_id)
        .fetch_all(self.conn())
        .await?;
        rows.iter().map(authorization_from).collect()
    }
}
