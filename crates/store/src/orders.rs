//! Certificate orders: a request stored before it is approved, its decision, and the
//! certificate it led to.

use crate::{NewRequest, OrderDetails, OrderRecord, Result, Store, Tx};
use castellan_model::{AdminId, CertificateId, CertificateStatus, OrgId, RequestId};
use sqlx::Row;

impl Tx {
    /// Stores a request with its order details.
    pub async fn insert_order(
        &mut self,
        request: &NewRequest,
        details: &OrderDetails,
    ) -> Result<RequestId> {
        let id = self.insert_request(request).await?;
        sqlx::query(
            "UPDATE certificate_requests SET org_id = $1, requester_admin_id = $2, \
             external_requester = $3, comments = $4 WHERE id = $5",
        )
        .bind(details.org_id.map(|o| o.0))
        .bind(details.requester_admin_id.map(|a| a.0))
        .bind(&details.external_requester)
        .bind(&details.comments)
        .bind(id.0)
        .execute(self.conn())
        .await?;
        Ok(id)
    }

    /// Moves a request from `from` to `to`, recording the decider; `false` when it was not
    /// in `from` any more (so two approvers cannot both win).
    pub async fn transition_request(
        &mut self,
        id: RequestId,
        from: CertificateStatus,
        to: CertificateStatus,
        by: Option<AdminId>,
        now: i64,
        message: &str,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE certificate_requests SET status = $1, decided_by = $2, decided_at = $3, \
             decision_message = $4, updated_at = $3 WHERE id = $5 AND status = $6",
        )
        .bind(to.as_str())
        .bind(by.map(|a| a.0))
        .bind(now)
        .bind(message)
        .bind(id.0)
        .bind(from.as_str())
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records the certificate issued for a request and marks it Issued.
    pub async fn attach_certificate(
        &mut self,
        id: RequestId,
        certificate: CertificateId,
        now: i64,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE certificate_requests SET status = $1, certificate_id = $2, updated_at = $3 \
             WHERE id = $4",
        )
        .bind(CertificateStatus::Issued.as_str())
        .bind(certificate.0)
        .bind(now)
        .bind(id.0)
        .execute(self.conn())
        .await?;
        Ok(())
    }
}

impl Tx {
    /// Revokes an Issued certificate and marks its request Revoked; `false` when the
    /// certificate was not Issued (already revoked, say).
    pub async fn revoke_certificate(
        &mut self,
        id: CertificateId,
        at: i64,
        reason_code: i64,
        text: &str,
        by: Option<AdminId>,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE certificates SET status = $1, revoked_at = $2, revocation_reason = $3, \
             revocation_text = $4, revoked_by = $5 WHERE id = $6 AND status = $7",
        )
        .bind(CertificateStatus::Revoked.as_str())
        .bind(at)
        .bind(reason_code)
        .bind(text)
        .bind(by.map(|a| a.0))
        .bind(id.0)
        .bind(CertificateStatus::Issued.as_str())
        .execute(self.conn())
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE certificate_requests SET status = $1, updated_at = $2 \
             WHERE id = (SELECT request_id FROM certificates WHERE id = $3)",
        )
        .bind(CertificateStatus::Revoked.as_str())
        .bind(at)
        .bind(id.0)
        .execute(self.conn())
        .await?;
        Ok(true)
    }
}

impl Store {
    /// A request with its order details.
    pub async fn order(&self, id: RequestId) -> Result<Option<OrderRecord>> {
        let Some(request) = self.request_by_id(id).await? else {
            return Ok(None);
        };
        let row = sqlx::query(
            "SELECT org_id, requester_admin_id, external_requester, comments, decided_by, \
             decided_at, decision_message, certificate_id FROM certificate_requests WHERE id = $1",
        )
        .bind(id.0)
        .fetch_one(self.pool())
        .await?;
        let certificate_id = match row.try_get::<Option<i64>, _>("certificate_id")? {
            Some(c) => Some(CertificateId(c)),
            // Requests issued in one step (the CLI, auto-approval) are linked from the
            // certificate's side.
            None => sqlx::query("SELECT id FROM certificates WHERE request_id = $1")
                .bind(id.0)
                .fetch_optional(self.pool())
                .await?
                .map(|r| r.try_get::<i64, _>("id").map(CertificateId))
                .transpose()?,
        };
        Ok(Some(OrderRecord {
            request,
            details: OrderDetails {
                org_id: row.try_get::<Option<i64>, _>("org_id")?.map(OrgId),
                requester_admin_id: row
                    .try_get::<Option<i64>, _>("requester_admin_id")?
                    .map(AdminId),
                external_requester: row.try_get("external_requester")?,
                comments: row.try_get("comments")?,
                decided_by: row.try_get::<Option<i64>, _>("decided_by")?.map(AdminId),
                decided_at: row.try_get("decided_at")?,
                decision_message: row.try_get("decision_message")?,
                certificate_id,
            },
        }))
    }
}
