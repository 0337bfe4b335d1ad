//! Key escrow: the escrow keys, the client keys sealed to them, and key recoveries (guide
//! 8.2). The store holds only sealed bytes; sealing and opening is `pki::escrow`'s.

use crate::db::Row;
use crate::{Result, Store, Tx};
use castellan_model::{AdminId, CertificateId, OrgId};

/// An escrow key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EscrowKeyRecord {
    /// Row id.
    pub id: i64,
    /// The public half (P-256, uncompressed).
    pub public_key: Vec<u8>,
    /// The private half sealed under the KEK; `None` once split among custodians.
    pub sealed_private: Option<Vec<u8>>,
    /// Shares needed (0: not split).
    pub threshold: i64,
    /// Shares made (0: not split).
    pub custodians: i64,
    /// When made.
    pub created_at: i64,
    /// When new keys stopped being sealed to it.
    pub retired_at: Option<i64>,
}

/// A key recovery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecoveryRecord {
    /// Row id.
    pub id: i64,
    /// The certificate whose key is recovered.
    pub certificate_id: CertificateId,
    /// Its organisation or department.
    pub org_id: OrgId,
    /// Who asked.
    pub requested_by: AdminId,
    /// Who receives the key.
    pub recipient: String,
    /// Why.
    pub reason: String,
    /// `PENDING_APPROVAL`, `AWAITING_SHARES`, `READY`, `DELIVERED`, `REJECTED`.
    pub status: String,
    /// Shares handed in so far, sealed under the KEK.
    pub shares_sealed: Option<Vec<u8>>,
    /// The recovered key, sealed under the KEK, until delivered.
    pub recovered_sealed: Option<Vec<u8>>,
    /// Until when the recipient's link works.
    pub expires_at: Option<i64>,
    /// When asked.
    pub created_at: i64,
}

const ESCROW_COLUMNS: &str =
    "id, public_key, sealed_private, threshold, custodians, created_at, retired_at";
const RECOVERY_COLUMNS: &str = "id, certificate_id, org_id, requested_by, recipient, reason, \
     status, shares_sealed, recovered_sealed, expires_at, created_at";

fn read_key(row: &Row) -> Result<EscrowKeyRecord> {
    Ok(EscrowKeyRecord {
        id: row.try_get("id")?,
        public_key: row.try_get("public_key")?,
        sealed_private: row.try_get("sealed_private")?,
        threshold: row.try_get("threshold")?,
        custodians: row.try_get("custodians")?,
        created_at: row.try_get("created_at")?,
        retired_at: row.try_get("retired_at")?,
    })
}

fn read_recovery(row: &Row) -> Result<RecoveryRecord> {
    Ok(RecoveryRecord {
        id: row.try_get("id")?,
        certificate_id: CertificateId(row.try_get("certificate_id")?),
        org_id: OrgId(row.try_get("org_id")?),
        requested_by: AdminId(row.try_get("requested_by")?),
        recipient: row.try_get("recipient")?,
        reason: row.try_get("reason")?,
        status: row.try_get("status")?,
        shares_sealed: row.try_get("shares_sealed")?,
        recovered_sealed: row.try_get("recovered_sealed")?,
        expires_at: row.try_get("expires_at")?,
        created_at: row.try_get("created_at")?,
    })
}

impl Tx {
    /// Stores a new escrow key (the current one from now on); returns its id.
    pub async fn insert_escrow_key(
        &mut self,
        public_key: &[u8],
        sealed_private: Option<&[u8]>,
        threshold: i64,
        custodians: i64,
        now: i64,
    ) -> Result<i64> {
        crate::db::query("UPDATE escrow_keys SET retired_at = $1 WHERE retired_at IS NULL")
            .bind(now)
            .execute(self.conn())
            .await?;
        let row = crate::db::query(
            "INSERT INTO escrow_keys (public_key, sealed_private, threshold, custodians, \
             created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(public_key.to_vec())
        .bind(sealed_private.map(<[u8]>::to_vec))
        .bind(threshold)
        .bind(custodians)
        .bind(now)
        .fetch_one(self.conn())
        .await?;
        row.try_get("id")
    }

    /// Stores a certificate's key sealed to escrow key `escrow_key`, or replaces it (when
    /// the escrow key is split, every key is sealed again to the new one).
    pub async fn escrow_key_of(
        &mut self,
        certificate: CertificateId,
        escrow_key: i64,
        sealed: &[u8],
        now: i64,
    ) -> Result<()> {
        crate::db::query("DELETE FROM key_escrow WHERE certificate_id = $1")
            .bind(certificate.0)
            .execute(self.conn())
            .await?;
        crate::db::query(
            "INSERT INTO key_escrow (certificate_id, escrow_key_id, sealed, created_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(certificate.0)
        .bind(escrow_key)
        .bind(sealed.to_vec())
        .bind(now)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Forgets the KEK-sealed private half of escrow key `id` (it was split).
    pub async fn forget_escrow_private(&mut self, id: i64) -> Result<()> {
        crate::db::query("UPDATE escrow_keys SET sealed_private = NULL WHERE id = $1")
            .bind(id)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Stores a recovery request; returns its id.
    pub async fn insert_recovery(
        &mut self,
        certificate: CertificateId,
        org: OrgId,
        requested_by: AdminId,
        recipient: &str,
        reason: &str,
        now: i64,
    ) -> Result<i64> {
        let row = crate::db::query(
            "INSERT INTO key_recoveries (certificate_id, org_id, requested_by, recipient, \
             reason, status, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 'PENDING_APPROVAL', $6, $6) RETURNING id",
        )
        .bind(certificate.0)
        .bind(org.0)
        .bind(requested_by.0)
        .bind(recipient)
        .bind(reason)
        .bind(now)
        .fetch_one(self.conn())
        .await?;
        row.try_get("id")
    }

    /// Moves a recovery from status `from` to `to`; `false` when it was not in `from`.
    pub async fn recovery_status(
        &mut self,
        id: i64,
        from: &str,
        to: &str,
        now: i64,
    ) -> Result<bool> {
        let done = crate::db::query(
            "UPDATE key_recoveries SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4",
        )
        .bind(to)
        .bind(now)
        .bind(id)
        .bind(from)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Keeps the shares handed in so far (sealed under the KEK), or forgets them (`None`).
    pub async fn recovery_shares(
        &mut self,
        id: i64,
        sealed: Option<&[u8]>,
        now: i64,
    ) -> Result<()> {
        crate::db::query(
            "UPDATE key_recoveries SET shares_sealed = $1, updated_at = $2 WHERE id = $3",
        )
        .bind(sealed.map(<[u8]>::to_vec))
        .bind(now)
        .bind(id)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Makes a recovery ready: the recovered key (sealed under the KEK) waits for the
    /// recipient's one-time link; the shares are forgotten.
    pub async fn recovery_ready(
        &mut self,
        id: i64,
        recovered_sealed: &[u8],
        token_hash: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<()> {
        crate::db::query(
            "UPDATE key_recoveries SET status = 'READY', recovered_sealed = $1, \
             token_hash = $2, expires_at = $3, shares_sealed = NULL, updated_at = $4 \
             WHERE id = $5",
        )
        .bind(recovered_sealed.to_vec())
        .bind(token_hash)
        .bind(expires_at)
        .bind(now)
        .bind(id)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Marks a ready recovery delivered and forgets the recovered key; `false` when it was
    /// not ready (delivered by a request racing this one).
    pub async fn recovery_delivered(&mut self, id: i64, now: i64) -> Result<bool> {
        let done = crate::db::query(
            "UPDATE key_recoveries SET status = 'DELIVERED', recovered_sealed = NULL, \
             updated_at = $1 WHERE id = $2 AND status = 'READY'",
        )
        .bind(now)
        .bind(id)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

impl Store {
    /// The escrow key new keys are sealed to, if any.
    pub async fn current_escrow_key(&self) -> Result<Option<EscrowKeyRecord>> {
        crate::db::query(format!(
            "SELECT {ESCROW_COLUMNS} FROM escrow_keys WHERE retired_at IS NULL ORDER BY id DESC \
             LIMIT 1"
        ))
        .fetch_optional(self.pool())
        .await?
        .as_ref()
        .map(read_key)
        .transpose()
    }

    /// Escrow key `id`.
    pub async fn escrow_key(&self, id: i64) -> Result<Option<EscrowKeyRecord>> {
        crate::db::query(format!(
            "SELECT {ESCROW_COLUMNS} FROM escrow_keys WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .as_ref()
        .map(read_key)
        .transpose()
    }

    /// A certificate's escrowed key: the escrow key's id and the sealed bytes.
    pub async fn escrowed_key(&self, certificate: CertificateId) -> Result<Option<(i64, Vec<u8>)>> {
        let row = crate::db::query(
            "SELECT escrow_key_id, sealed FROM key_escrow WHERE certificate_id = $1",
        )
        .bind(certificate.0)
        .fetch_optional(self.pool())
        .await?;
        Ok(match row {
            Some(r) => Some((r.try_get("escrow_key_id")?, r.try_get("sealed")?)),
            None => None,
        })
    }

    /// Every escrowed key sealed to escrow key `escrow_key`: certificate and sealed bytes.
    pub async fn escrowed_under(&self, escrow_key: i64) -> Result<Vec<(CertificateId, Vec<u8>)>> {
        crate::db::query("SELECT certificate_id, sealed FROM key_escrow WHERE escrow_key_id = $1")
            .bind(escrow_key)
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(|r| {
                Ok((
                    CertificateId(r.try_get("certificate_id")?),
                    r.try_get("sealed")?,
                ))
            })
            .collect()
    }

    /// Recovery `id`.
    pub async fn recovery(&self, id: i64) -> Result<Option<RecoveryRecord>> {
        crate::db::query(format!(
            "SELECT {RECOVERY_COLUMNS} FROM key_recoveries WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .as_ref()
        .map(read_recovery)
        .transpose()
    }

    /// The recovery a link's token digest names.
    pub async fn recovery_by_token(&self, token_hash: &str) -> Result<Option<RecoveryRecord>> {
        crate::db::query(format!(
            "SELECT {RECOVERY_COLUMNS} FROM key_recoveries WHERE token_hash = $1"
        ))
        .bind(token_hash)
        .fetch_optional(self.pool())
        .await?
        .as_ref()
        .map(read_recovery)
        .transpose()
    }
}
