//! Portal sessions: the SHA-256 of each session cookie, its administrator and its times.
//! The cookie itself is never stored, so a copy of the database signs nobody in.

use crate::{Result, Store, Tx};
use castellan_model::AdminId;

/// A stored portal session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    /// The administrator signed in.
    pub admin_id: AdminId,
    /// When it was opened.
    pub created_at: i64,
    /// When it was last used (updated at most once a minute).
    pub last_seen_at: i64,
    /// When it ends at the latest, however busy.
    pub expires_at: i64,
}

impl Tx {
    /// Opens a session; removes sessions that ended (absolute end before `now`, or idle
    /// since before `idle_since`) on the way.
    pub async fn insert_session(
        &mut self,
        digest: &str,
        admin: AdminId,
        expires_at: i64,
        now: i64,
        idle_since: i64,
    ) -> Result<()> {
        crate::db::query("DELETE FROM portal_sessions WHERE expires_at < $1 OR last_seen_at < $2")
            .bind(now)
            .bind(idle_since)
            .execute(self.conn())
            .await?;
        crate::db::query(
            "INSERT INTO portal_sessions (token_hash, admin_id, created_at, last_seen_at, \
             expires_at) VALUES ($1, $2, $3, $3, $4)",
        )
        .bind(digest)
        .bind(admin.0)
        .bind(now)
        .bind(expires_at)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Ends one session.
    pub async fn delete_session(&mut self, digest: &str) -> Result<()> {
        crate::db::query("DELETE FROM portal_sessions WHERE token_hash = $1")
            .bind(digest)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Ends every session of `admin` (a password change, suspension or deletion).
    pub async fn delete_admin_sessions(&mut self, admin: AdminId) -> Result<u64> {
        let done = crate::db::query("DELETE FROM portal_sessions WHERE admin_id = $1")
            .bind(admin.0)
            .execute(self.conn())
            .await?;
        Ok(done.rows_affected())
    }

    /// Records that a session was used at `now`.
    pub async fn touch_session(&mut self, digest: &str, now: i64) -> Result<()> {
        crate::db::query("UPDATE portal_sessions SET last_seen_at = $1 WHERE token_hash = $2")
            .bind(now)
            .bind(digest)
            .execute(self.conn())
            .await?;
        Ok(())
    }
}

impl Store {
    /// A session by the digest of its cookie.
    pub async fn session(&self, digest: &str) -> Result<Option<SessionRecord>> {
        let row = crate::db::query(
            "SELECT admin_id, created_at, last_seen_at, expires_at FROM portal_sessions \
             WHERE token_hash = $1",
        )
        .bind(digest)
        .fetch_optional(self.pool())
        .await?;
        Ok(match row {
            Some(r) => Some(SessionRecord {
                admin_id: AdminId(r.try_get("admin_id")?),
                created_at: r.try_get("created_at")?,
                last_seen_at: r.try_get("last_seen_at")?,
                expires_at: r.try_get("expires_at")?,
            }),
            None => None,
        })
    }
}
