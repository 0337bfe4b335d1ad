//! Second-administrator approvals: an action waits here until a different administrator
//! with the right role in the same scope decides (the rules live in `ra::approval`).

use crate::db::Row;
use crate::{ApprovalRecord, NewApproval, Result, Store, Tx};
use castellan_model::{AdminId, ApprovalId, OrgId};

const COLUMNS: &str = "id, action, object_type, object_id, scope_id, area, privilege, \
     requested_by, requested_at, status, decided_by, decided_at, note";

impl Store {
    /// One approval.
    pub async fn approval(&self, id: ApprovalId) -> Result<Option<ApprovalRecord>> {
        crate::db::query(format!("SELECT {COLUMNS} FROM approvals WHERE id = $1"))
            .bind(id.0)
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(read)
            .transpose()
    }

    /// Approvals still waiting, oldest first.
    pub async fn pending_approvals(&self) -> Result<Vec<ApprovalRecord>> {
        crate::db::query(format!(
            "SELECT {COLUMNS} FROM approvals WHERE status = 'PENDING' ORDER BY id"
        ))
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(read)
        .collect()
    }
}

impl Tx {
    /// One approval, read inside the transaction.
    pub async fn approval(&mut self, id: ApprovalId) -> Result<Option<ApprovalRecord>> {
        crate::db::query(format!("SELECT {COLUMNS} FROM approvals WHERE id = $1"))
            .bind(id.0)
            .fetch_optional(self.conn())
            .await?
            .as_ref()
            .map(read)
            .transpose()
    }

    /// The pending approval of `action` on an object, if any.
    pub async fn pending_approval_for(
        &mut self,
        action: &str,
        object_type: &str,
        object_id: i64,
    ) -> Result<Option<ApprovalRecord>> {
        crate::db::query(format!(
            "SELECT {COLUMNS} FROM approvals WHERE action = $1 AND object_type = $2 \
             AND object_id = $3 AND status = 'PENDING' ORDER BY id LIMIT 1"
        ))
        .bind(action)
        .bind(object_type)
        .bind(object_id)
        .fetch_optional(self.conn())
        .await?
        .as_ref()
        .map(read)
        .transpose()
    }

    /// Records a new pending approval.
    pub async fn insert_approval(&mut self, approval: &NewApproval) -> Result<ApprovalId> {
        let row = crate::db::query(
            "INSERT INTO approvals (action, object_type, object_id, scope_id, area, privilege, \
             requested_by, requested_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(&approval.action)
        .bind(&approval.object_type)
        .bind(approval.object_id)
        .bind(approval.scope.0)
        .bind(&approval.area)
        .bind(&approval.privilege)
        .bind(approval.requested_by.0)
        .bind(approval.requested_at)
        .fetch_one(self.conn())
        .await?;
        Ok(ApprovalId(row.try_get("id")?))
    }

    /// Decides a pending approval (`APPROVED`, `REJECTED` or `CANCELLED`). Returns `false`
    /// when it was no longer pending, so two deciders cannot both win.
    pub async fn decide_approval(
        &mut self,
        id: ApprovalId,
        status: &str,
        by: AdminId,
        at: i64,
        note: &str,
    ) -> Result<bool> {
        let done = crate::db::query(
            "UPDATE approvals SET status = $1, decided_by = $2, decided_at = $3, note = $4 \
             WHERE id = $5 AND status = 'PENDING'",
        )
        .bind(status)
        .bind(by.0)
        .bind(at)
        .bind(note)
        .bind(id.0)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

fn read(row: &Row) -> Result<ApprovalRecord> {
    Ok(ApprovalRecord {
        id: ApprovalId(row.try_get("id")?),
        approval: NewApproval {
            action: row.try_get("action")?,
            object_type: row.try_get("object_type")?,
            object_id: row.try_get("object_id")?,
            scope: OrgId(row.try_get("scope_id")?),
            area: row.try_get("area")?,
            privilege: row.try_get("privilege")?,
            requested_by: AdminId(row.try_get("requested_by")?),
            requested_at: row.try_get("requested_at")?,
        },
        status: row.try_get("status")?,
        decided_by: row.try_get::<Option<i64>, _>("decided_by")?.map(AdminId),
        decided_at: row.try_get("decided_at")?,
        note: row.try_get("note")?,
    })
}
