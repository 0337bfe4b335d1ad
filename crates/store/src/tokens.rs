//! Hashed one-time and bearer tokens: OAuth2 access tokens and administrator invitations.
//! Only SHA-256 digests are stored; the tokens themselves exist only in the caller's hands.

use crate::{Result, Store, Tx};
use castellan_model::AdminId;

impl Tx {
    /// Stores an access token's digest for `admin`, valid until `expires_at`; removes
    /// expired tokens on the way.
    pub async fn insert_api_token(
        &mut self,
        digest: &str,
        admin: AdminId,
        expires_at: i64,
        now: i64,
    ) -> Result<()> {
        crate::db::query("DELETE FROM api_tokens WHERE expires_at < $1")
            .bind(now)
            .execute(self.conn())
            .await?;
        crate::db::query(
            "INSERT INTO api_tokens (token_hash, admin_id, expires_at, created_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(digest)
        .bind(admin.0)
        .bind(expires_at)
        .bind(now)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Stores a one-time invitation token's digest.
    pub async fn insert_invitation(
        &mut self,
        digest: &str,
        admin: AdminId,
        purpose: &str,
        invited_by: AdminId,
        expires_at: i64,
        now: i64,
    ) -> Result<()> {
        crate::db::query(
            "INSERT INTO admin_invitations (admin_id, token_hash, purpose, invited_by, \
             expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(admin.0)
        .bind(digest)
        .bind(purpose)
        .bind(invited_by.0)
        .bind(expires_at)
        .bind(now)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Uses up an invitation: returns the administrator it was for, or `None` if the token
    /// is unknown, already used, expired or for another purpose.
    pub async fn take_invitation(
        &mut self,
        digest: &str,
        purpose: &str,
        now: i64,
    ) -> Result<Option<AdminId>> {
        let row = crate::db::query(
            "UPDATE admin_invitations SET used_at = $1 WHERE token_hash = $2 AND purpose = $3 \
             AND used_at IS NULL AND expires_at >= $1 RETURNING admin_id",
        )
        .bind(now)
        .bind(digest)
        .bind(purpose)
        .fetch_optional(self.conn())
        .await?;
        Ok(match row {
            Some(r) => Some(AdminId(r.try_get("admin_id")?)),
            None => None,
        })
    }
}

impl Store {
    /// The administrator an unexpired access token belongs to.
    pub async fn api_token_admin(&self, digest: &str, now: i64) -> Result<Option<AdminId>> {
        let row = crate::db::query(
            "SELECT admin_id FROM api_tokens WHERE token_hash = $1 AND expires_at >= $2",
        )
        .bind(digest)
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        Ok(match row {
            Some(r) => Some(AdminId(r.try_get("admin_id")?)),
            None => None,
        })
    }
}
