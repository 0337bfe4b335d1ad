//! The audit log: rows are only ever appended, each carrying the hash of the one before.
//!
//! The chain's head (`audit_head`) is updated first in the appending transaction, which
//! serialises appenders on both engines (a row lock on PostgreSQL, the single writer on
//! SQLite), so two rows never claim the same predecessor. Further rows appended in the same
//! transaction follow on from the head kept in the transaction, which writes the head back
//! once, at commit: an order's request and approval cost four statements, not six. On
//! SQLite, whose single writer already serialises appenders, the head is read with a plain
//! `SELECT` (an `UPDATE … RETURNING` costs SQLite a temporary b-tree each time). How a row
//! is hashed is `ra`'s business; the store only keeps the chain in order.

use crate::db::Row;
use crate::{AuditRecord, NewAuditEntry, Result, Store, Tx};
use castellan_model::{AdminId, DatabaseKind, OrgId};

const COLUMNS: &str = "id, at, admin_id, actor, access_method, address, action, object_type, \
     object_id, org_id, description, before_json, after_json, prev_hash, hash";

impl Tx {
    /// Appends `entry`; `hash(seq, prev_hash, entry)` gives the new row's hash. Returns the
    /// row's sequence number.
    pub async fn append_audit(
        &mut self,
        entry: &NewAuditEntry,
        hash: impl FnOnce(i64, &str, &NewAuditEntry) -> String,
    ) -> Result<i64> {
        let (seq, prev) = match self.audit_head.take() {
            Some((seq, last_hash)) => (seq + 1, last_hash),
            None => {
                let sql = match self.kind() {
                    DatabaseKind::Sqlite => {
                        "SELECT seq + 1 AS seq, last_hash FROM audit_head WHERE id = 1"
                    }
                    DatabaseKind::Postgres => {
                        "UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, last_hash"
                    }
                };
                let head = crate::db::query(sql).fetch_one(self.conn()).await?;
                (head.try_get("seq")?, head.try_get("last_hash")?)
            }
        };
        let digest = hash(seq, &prev, entry);
        crate::db::query(
            "INSERT INTO audit_log (id, at, admin_id, actor, access_method, address, action, \
             object_type, object_id, org_id, description, before_json, after_json, prev_hash, \
             hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        )
        .bind(seq)
        .bind(entry.at)
        .bind(entry.admin_id.map(|a| a.0))
        .bind(&entry.actor)
        .bind(&entry.access_method)
        .bind(&entry.address)
        .bind(&entry.action)
        .bind(&entry.object_type)
        .bind(&entry.object_id)
        .bind(entry.org_id.map(|o| o.0))
        .bind(&entry.description)
        .bind(&entry.before_json)
        .bind(&entry.after_json)
        .bind(&prev)
        .bind(&digest)
        .execute(self.conn())
        .await?;
        self.audit_head = Some((seq, digest));
        Ok(seq)
    }

    /// Writes back the head this transaction's appends moved (at commit).
    pub(crate) async fn write_audit_head(&mut self) -> Result<()> {
        if let Some((seq, last_hash)) = self.audit_head.take() {
            crate::db::query("UPDATE audit_head SET seq = $1, last_hash = $2 WHERE id = 1")
                .bind(seq)
                .bind(last_hash)
                .execute(self.conn())
                .await?;
        }
        Ok(())
    }
}

impl Store {
    /// Up to `limit` rows with ids above `after`, in order (for verifying the whole chain
    /// page by page without holding it in memory).
    pub async fn audit_page(&self, after: i64, limit: i64) -> Result<Vec<AuditRecord>> {
        crate::db::query(format!(
            "SELECT {COLUMNS} FROM audit_log WHERE id > $1 ORDER BY id LIMIT $2"
        ))
        .bind(after)
        .bind(limit)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(read)
        .collect()
    }

    /// Rows between two times (inclusive), newest first, at most `limit`.
    pub async fn audit_between(&self, from: i64, to: i64, limit: i64) -> Result<Vec<AuditRecord>> {
        crate::db::query(format!(
            "SELECT {COLUMNS} FROM audit_log WHERE at >= $1 AND at <= $2 ORDER BY id DESC LIMIT $3"
        ))
        .bind(from)
        .bind(to)
        .bind(limit)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(read)
        .collect()
    }

    /// The chain's head: the last sequence number and hash.
    pub async fn audit_head(&self) -> Result<(i64, String)> {
        let row = crate::db::query("SELECT seq, last_hash FROM audit_head WHERE id = 1")
            .fetch_one(self.pool())
            .await?;
        Ok((row.try_get("seq")?, row.try_get("last_hash")?))
    }
}

fn read(row: &Row) -> Result<AuditRecord> {
    Ok(AuditRecord {
        id: row.try_get("id")?,
        entry: NewAuditEntry {
            at: row.try_get("at")?,
            admin_id: row.try_get::<Option<i64>, _>("admin_id")?.map(AdminId),
            actor: row.try_get("actor")?,
            access_method: row.try_get("access_method")?,
            address: row.try_get("address")?,
            action: row.try_get("action")?,
            object_type: row.try_get("object_type")?,
            object_id: row.try_get("object_id")?,
            org_id: row.try_get::<Option<i64>, _>("org_id")?.map(OrgId),
            description: row.try_get("description")?,
            before_json: row.try_get("before_json")?,
            after_json: row.try_get("after_json")?,
        },
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}
