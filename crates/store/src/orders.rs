//! Certificate orders: a request stored before it is approved, its decision, and the
//! certificate it led to.

use crate::bind::{Bind, Params};
use crate::{
    NewRequest, OrderDetails, OrderFilter, OrderRecord, OrderSort, OrderSummary, Result,
    StatusCount, Store, StoreError, Tx,
};
use castellan_model::{
    AdminId, CertificateId, CertificateStatus, OrgId, PersonId, ProfileId, RequestId,
};

impl Tx {
    /// Stores a request with its order details.
    pub async fn insert_order(
        &mut self,
        request: &NewRequest,
        details: &OrderDetails,
    ) -> Result<RequestId> {
        // One statement: the request with its order details (and its decision, for one
        // stored already Approved).
        let id = crate::db::query(
            "INSERT INTO certificate_requests (renew_id, profile_id, status, requested_via, \
             requester, term_days, common_name, requested_names, csr_der, key_generated, \
             created_at, updated_at, org_id, requester_admin_id, external_requester, comments, \
             custom_fields, person_id, decided_by, decided_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12, $13, $14, $15, $16, \
             $17, $18, $19) RETURNING id",
        )
        .bind(&request.renew_id)
        .bind(request.profile_id.0)
        .bind(request.status.as_str())
        .bind(&request.requested_via)
        .bind(&request.requester)
        .bind(request.term_days)
        .bind(request.common_name.clone())
        .bind(request.requested_names.join("\n"))
        .bind(request.csr_der.clone())
        .bind(i64::from(request.key_generated))
        .bind(request.created_at)
        .bind(details.org_id.map(|o| o.0))
        .bind(details.requester_admin_id.map(|a| a.0))
        .bind(&details.external_requester)
        .bind(&details.comments)
        .bind(&details.custom_fields)
        .bind(details.person_id.map(|p| p.0))
        .bind(details.decided_by.map(|a| a.0))
        .bind(details.decided_at)
        .fetch_inserted_id(self.conn())
        .await?
        .ok_or_else(|| crate::db::not_inserted("certificate request"))?;
        Ok(RequestId(id))
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
        let done = crate::db::query(
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

    /// Puts an Issued order back to Requested with a new CSR and names (SCM replace); the
    /// certificate it had stays valid until the replacement is issued. `false` when the order
    /// was not Issued.
    pub async fn reopen_for_replacement(
        &mut self,
        id: RequestId,
        csr_der: &[u8],
        common_name: Option<&str>,
        names: &[String],
        now: i64,
    ) -> Result<bool> {
        let done = crate::db::query(
            "UPDATE certificate_requests SET status = $1, csr_der = $2, common_name = $3, \
             requested_names = $4, decided_by = NULL, decided_at = NULL, updated_at = $5 \
             WHERE id = $6 AND status = $7",
        )
        .bind(CertificateStatus::Requested.as_str())
        .bind(csr_der.to_vec())
        .bind(common_name.map(str::to_owned))
        .bind(names.join("\n"))
        .bind(now)
        .bind(id.0)
        .bind(CertificateStatus::Issued.as_str())
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records the certificate issued for a request and marks it Issued; a certificate the
    /// order had before (a replacement) becomes Replaced.
    pub async fn attach_certificate(
        &mut self,
        id: RequestId,
        certificate: CertificateId,
        now: i64,
    ) -> Result<()> {
        crate::db::query(
            "UPDATE certificates SET status = $1 WHERE request_id = $2 AND id <> $3 \
             AND status = $4",
        )
        .bind(CertificateStatus::Replaced.as_str())
        .bind(id.0)
        .bind(certificate.0)
        .bind(CertificateStatus::Issued.as_str())
        .execute(self.conn())
        .await?;
        self.attach_first_certificate(id, certificate, now).await
    }

    /// [`Tx::attach_certificate`] for a request stored in this same transaction, which has
    /// had no certificate that this one could replace.
    pub async fn attach_first_certificate(
        &mut self,
        id: RequestId,
        certificate: CertificateId,
        now: i64,
    ) -> Result<()> {
        crate::db::query(
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
        invalidity_date: Option<i64>,
    ) -> Result<bool> {
        let done = crate::db::query(
            "UPDATE certificates SET status = $1, revoked_at = $2, revocation_reason = $3, \
             revocation_text = $4, revoked_by = $5, invalidity_date = $8 \
             WHERE id = $6 AND status = $7",
        )
        .bind(CertificateStatus::Revoked.as_str())
        .bind(at)
        .bind(reason_code)
        .bind(text)
        .bind(by.map(|a| a.0))
        .bind(id.0)
        .bind(CertificateStatus::Issued.as_str())
        .bind(invalidity_date)
        .execute(self.conn())
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        crate::db::query(
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

impl Tx {
    /// Sets (or clears) an order's auto-renewal: renew `days` before its certificate expires.
    pub async fn set_auto_renew(
        &mut self,
        id: RequestId,
        days: Option<i64>,
        now: i64,
    ) -> Result<()> {
        crate::db::query(
            "UPDATE certificate_requests SET auto_renew_days = $1, updated_at = $2 WHERE id = $3",
        )
        .bind(days)
        .bind(now)
        .bind(id.0)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Records that order `old` was renewed by order `new`; `false` if it already was.
    pub async fn mark_renewed(&mut self, old: RequestId, new: RequestId) -> Result<bool> {
        let done = crate::db::query(
            "UPDATE certificate_requests SET renewed_by_id = $1 WHERE id = $2 \
             AND renewed_by_id IS NULL",
        )
        .bind(new.0)
        .bind(old.0)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

impl Store {
    /// Issued orders with auto-renewal whose certificate is within its renewal window at
    /// `now` and that were not renewed yet.
    pub async fn due_auto_renewals(&self, now: i64) -> Result<Vec<RequestId>> {
        crate::db::query(
            "SELECT r.id FROM certificate_requests r JOIN certificates c ON c.id = r.certificate_id \
             WHERE r.auto_renew_days IS NOT NULL AND r.renewed_by_id IS NULL \
             AND r.status = 'Issued' AND c.not_after - r.auto_renew_days * 86400 <= $1 \
             ORDER BY r.id",
        )
        .bind(now)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|r| r.try_get::<i64, _>("id").map(RequestId))
        .collect::<std::result::Result<_, _>>()
    }

    /// Orders left Approved without a certificate since before `before` (the process stopped
    /// between approval and signing).
    pub async fn stalled_approvals(&self, before: i64) -> Result<Vec<RequestId>> {
        crate::db::query(
            "SELECT id FROM certificate_requests WHERE status = 'Approved' \
             AND certificate_id IS NULL AND decided_at IS NOT NULL AND decided_at < $1 ORDER BY id",
        )
        .bind(before)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|r| r.try_get::<i64, _>("id").map(RequestId))
        .collect::<std::result::Result<_, _>>()
    }

    /// The request a `renewId` names.
    pub async fn request_id_by_renew_id(&self, renew_id: &str) -> Result<Option<RequestId>> {
        crate::db::query("SELECT id FROM certificate_requests WHERE renew_id = $1")
            .bind(renew_id)
            .fetch_optional(self.pool())
            .await?
            .map(|r| r.try_get::<i64, _>("id").map(RequestId))
            .transpose()
    }

    /// A request with its order details.
    pub async fn order(&self, id: RequestId) -> Result<Option<OrderRecord>> {
        let Some(request) = self.request_by_id(id).await? else {
            return Ok(None);
        };
        let row = crate::db::query(
            "SELECT org_id, requester_admin_id, external_requester, comments, decided_by, \
             decided_at, decision_message, certificate_id, auto_renew_days, renewed_by_id, \
             custom_fields, person_id FROM certificate_requests WHERE id = $1",
        )
        .bind(id.0)
        .fetch_one(self.pool())
        .await?;
        let certificate_id = match row.try_get::<Option<i64>, _>("certificate_id")? {
            Some(c) => Some(CertificateId(c)),
            // Requests issued in one step (the CLI, auto-approval) are linked from the
            // certificate's side.
            None => crate::db::query("SELECT id FROM certificates WHERE request_id = $1")
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
                auto_renew_days: row.try_get("auto_renew_days")?,
                renewed_by: row
                    .try_get::<Option<i64>, _>("renewed_by_id")?
                    .map(RequestId),
                custom_fields: row.try_get("custom_fields")?,
                person_id: row.try_get::<Option<i64>, _>("person_id")?.map(PersonId),
            },
        }))
    }
}

impl Store {
    /// A page of orders matching `filter`, by id, and the total that match.
    pub async fn order_page(
        &self,
        filter: &OrderFilter,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<OrderSummary>, i64)> {
        let mut params = Params::new(self.kind());
        let mut clauses: Vec<String> = Vec::new();
        if let Some(scope) = &filter.scope {
            if scope.is_empty() {
                return Ok((Vec::new(), 0));
            }
            let ids: Vec<String> = scope.iter().map(|o| params.push(Bind::Int(o.0))).collect();
            clauses.push(format!("r.org_id IN ({})", ids.join(", ")));
        }
        if let Some(v) = &filter.common_name {
            clauses.push(format!(
                "lower(r.common_name) = lower({})",
                params.push(Bind::Text(v.clone()))
            ));
        }
        if let Some(v) = &filter.subject_alt_name {
            clauses.push(format!(
                "('\n' || lower(r.requested_names) || '\n') LIKE ('%\n' || lower({}) || '\n%')",
                params.push(Bind::Text(v.clone()))
            ));
        }
        if let Some(v) = filter.status {
            clauses.push(format!(
                "r.status = {}",
                params.push(Bind::Text(v.as_str().to_owned()))
            ));
        }
        if let Some(v) = filter.profile_id {
            clauses.push(format!("r.profile_id = {}", params.push(Bind::Int(v.0))));
        }
        if let Some(v) = filter.org_id {
            clauses.push(format!("r.org_id = {}", params.push(Bind::Int(v.0))));
        }
        if let Some(v) = filter.person_id {
            clauses.push(format!("r.person_id = {}", params.push(Bind::Int(v.0))));
        }
        if let Some(v) = &filter.serial {
            clauses.push(format!("c.serial = {}", params.push(Bind::Text(v.clone()))));
        }
        if let Some(v) = &filter.requester {
            clauses.push(format!(
                "r.requester = {}",
                params.push(Bind::Text(v.clone()))
            ));
        }
        if let Some(v) = &filter.external_requester {
            clauses.push(format!(
                "lower(r.external_requester) LIKE ('%' || lower({}) || '%')",
                params.push(Bind::Text(v.clone()))
            ));
        }
        if let Some(v) = &filter.requested_via {
            clauses.push(format!(
                "r.requested_via = {}",
                params.push(Bind::Text(v.clone()))
            ));
        }
        if let Some(v) = &filter.sha1 {
            clauses.push(format!(
                "lower(replace(c.sha1_fingerprint, ':', '')) = lower({})",
                params.push(Bind::Text(v.replace(':', "")))
            ));
        }
        if let Some(v) = &filter.key_algorithm {
            clauses.push(format!(
                "upper(c.key_type) LIKE (upper({}) || ' - %')",
                params.push(Bind::Text(v.clone()))
            ));
        }
        if let Some(v) = filter.key_size {
            let a = params.push(Bind::Text(format!("% - {v}")));
            let b = params.push(Bind::Text(format!("% - P-{v}")));
            clauses.push(format!("(c.key_type LIKE {a} OR c.key_type LIKE {b})"));
        }
        if let Some(ids) = &filter.profile_ids {
            if ids.is_empty() {
                return Ok((Vec::new(), 0));
            }
            let ps: Vec<String> = ids.iter().map(|p| params.push(Bind::Int(p.0))).collect();
            clauses.push(format!("r.profile_id IN ({})", ps.join(", ")));
        }
        if let Some((from, to)) = filter.expiring {
            let from = params.push(Bind::Int(from));
            let to = params.push(Bind::Int(to));
            clauses.push(format!(
                "r.status = 'Issued' AND r.renewed_by_id IS NULL AND c.not_after >= {from} \
                 AND c.not_after < {to}"
            ));
        }
        if let Some(v) = &filter.name_contains {
            // One placeholder per use: SQLite's `?` placeholders are positional.
            let cn = params.push(Bind::Text(v.to_lowercase()));
            let names = params.push(Bind::Text(v.to_lowercase()));
            clauses.push(format!(
                "(lower(coalesce(r.common_name, '')) LIKE ('%' || {cn} || '%') \
                 OR lower(r.requested_names) LIKE ('%' || {names} || '%'))"
            ));
        }
        if let Some(v) = &filter.issuer {
            clauses.push(format!(
                "c.issuer_ca_id IN (SELECT id FROM certificate_authorities \
                 WHERE lower(subject) LIKE ('%' || lower({}) || '%'))",
                params.push(Bind::Text(v.clone()))
            ));
        }
        let where_sql = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        };
        // A replaced order keeps its old certificates (status Replaced): only the current one joins,
        // so that the order is listed once.
        let from = "FROM certificate_requests r LEFT JOIN certificates c ON c.request_id = r.id \
                    AND c.status <> 'Replaced'";
        let total: i64 = params
            .bind_all(crate::db::query(format!(
                "SELECT COUNT(*) AS n {from} {where_sql}"
            )))
            .scan()
            .fetch_one(self.pool())
            .await?
            .try_get("n")?;
        let limit_p = params.push(Bind::Int(limit));
        let offset_p = params.push(Bind::Int(offset));
        let rows = params
            .bind_all(crate::db::query(format!(
                "SELECT r.id, r.common_name, r.requested_names, r.status, c.serial, c.not_after \
                 {from} {where_sql} ORDER BY {} LIMIT {limit_p} OFFSET {offset_p}",
                order_by(filter.sort)
            )))
            .scan()
            .fetch_all(self.pool())
            .await?;
        let out = rows
            .iter()
            .map(|row| {
                let status: String = row.try_get("status")?;
                let names: String = row.try_get("requested_names")?;
                Ok(OrderSummary {
                    id: RequestId(row.try_get("id")?),
                    common_name: row.try_get("common_name")?,
                    names: names.lines().map(str::to_owned).collect(),
                    status: CertificateStatus::parse(&status)
                        .ok_or_else(|| StoreError::Corrupt(format!("status '{status}'")))?,
                    serial: row.try_get("serial")?,
                    not_after: row.try_get("not_after")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((out, total))
    }
}

/// The `ORDER BY` of a page (fixed texts only: nothing from the caller enters the SQL).
fn order_by(sort: OrderSort) -> &'static str {
    match sort {
        OrderSort::IdAsc => "r.id",
        OrderSort::IdDesc => "r.id DESC",
        OrderSort::NameAsc => "lower(coalesce(r.common_name, '')), r.id",
        OrderSort::NameDesc => "lower(coalesce(r.common_name, '')) DESC, r.id",
        OrderSort::StatusAsc => "r.status, r.id",
        OrderSort::StatusDesc => "r.status DESC, r.id",
        OrderSort::ExpiresAsc => "coalesce(c.not_after, 9223372036854775807), r.id",
        OrderSort::ExpiresDesc => "coalesce(c.not_after, 0) DESC, r.id",
    }
}

impl Store {
    /// How many orders each profile has in each status, within `scope` (`None`: all).
    pub async fn order_counts(&self, scope: Option<&[OrgId]>) -> Result<Vec<StatusCount>> {
        let mut params = Params::new(self.kind());
        let where_sql = match scope {
            None => String::new(),
            Some([]) => return Ok(Vec::new()),
            Some(ids) => {
                let ids: Vec<String> = ids.iter().map(|o| params.push(Bind::Int(o.0))).collect();
                format!("WHERE org_id IN ({})", ids.join(", "))
            }
        };
        let rows = params
            .bind_all(crate::db::query(format!(
                "SELECT profile_id, status, COUNT(*) AS n FROM certificate_requests {where_sql} \
                 GROUP BY profile_id, status ORDER BY profile_id, status"
            )))
            .scan()
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|row| {
                let status: String = row.try_get("status")?;
                Ok(StatusCount {
                    profile_id: ProfileId(row.try_get("profile_id")?),
                    status: CertificateStatus::parse(&status)
                        .ok_or_else(|| StoreError::Corrupt(format!("status '{status}'")))?,
                    count: row.try_get("n")?,
                })
            })
            .collect()
    }
}

impl Tx {
    /// Marks Issued certificates whose notAfter has passed, and their orders, Expired;
    /// returns how many certificates expired.
    pub async fn expire_certificates(&mut self, now: i64) -> Result<u64> {
        let done = crate::db::query(
            "UPDATE certificates SET status = 'Expired' WHERE status = 'Issued' AND not_after < $1",
        )
        .bind(now)
        .execute(self.conn())
        .await?;
        crate::db::query(
            "UPDATE certificate_requests SET status = 'Expired', updated_at = $1 \
             WHERE status = 'Issued' AND id IN (SELECT request_id FROM certificates \
             WHERE status = 'Expired' AND request_id IS NOT NULL)",
        )
        .bind(now)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected())
    }
}
