//! Storing a batch of issued certificates with their requests in a fixed number of
//! statements, whatever the batch size: one multi-row insert per table. Each statement is a
//! round trip to the database, and round trips, not the inserts themselves, bound how many
//! certificates a second one writer can store.

use crate::bind::{Bind, Params};
use crate::{NewCertificate, NewRequest, Result, StoreError, Tx};
use castellan_model::{CertificateId, RequestId};

use std::collections::HashMap;

/// Rows per statement: 16 values a row keeps a statement well under SQLite's 32766 and
/// PostgreSQL's 65535 bound values.
const ROWS_PER_STATEMENT: usize = 500;

impl Tx {
    /// Stores each request with its certificate (whose `request_id` is filled in here).
    /// Returns, per pair, the ids, or `None` when the certificate's serial was already
    /// taken: that pair is left out entirely (its request is removed again) and the rest of
    /// the batch is stored.
    pub async fn insert_issued_batch(
        &mut self,
        pairs: &[(&NewRequest, &NewCertificate)],
    ) -> Result<Vec<Option<(RequestId, CertificateId)>>> {
        if pairs.is_empty() {
            return Ok(Vec::new());
        }
        let mut request_ids: HashMap<String, i64> = HashMap::new();
        for chunk in pairs.chunks(ROWS_PER_STATEMENT) {
            let mut params = Params::new(self.kind());
            let rows: Vec<String> = chunk
                .iter()
                .map(|(r, _)| {
                    // Arguments are evaluated left to right: the placeholders come out in
                    // the order of the SQL text, as `?` placeholders need.
                    format!(
                        "({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
                        params.push(Bind::Text(r.renew_id.clone())),
                        params.push(Bind::Int(r.profile_id.0)),
                        params.push(Bind::Text(r.status.as_str().to_owned())),
                        params.push(Bind::Text(r.requested_via.clone())),
                        params.push(Bind::Text(r.requester.clone())),
                        params.push(Bind::Int(r.term_days)),
                        params.push(Bind::OptText(r.common_name.clone())),
                        params.push(Bind::Text(r.requested_names.join("\n"))),
                        params.push(Bind::OptBlob(r.csr_der.clone())),
                        params.push(Bind::Int(i64::from(r.key_generated))),
                        params.push(Bind::Int(r.created_at)),
                        params.push(Bind::Int(r.created_at)),
                    )
                })
                .collect();
            let sql = format!(
                "INSERT INTO certificate_requests (renew_id, profile_id, status, requested_via, \
                 requester, term_days, common_name, requested_names, csr_der, key_generated, \
                 created_at, updated_at) VALUES {} RETURNING id, renew_id",
                rows.join(", ")
            );
            for row in params
                .bind_all(crate::db::query(sql))
                .fetch_all(self.conn())
                .await?
            {
                request_ids.insert(row.try_get("renew_id")?, row.try_get("id")?);
            }
        }
        let request_id = |r: &NewRequest| {
            request_ids.get(&r.renew_id).copied().ok_or_else(|| {
                StoreError::Corrupt(format!("request {} was not stored", r.renew_id))
            })
        };

        let mut certificate_ids: HashMap<String, i64> = HashMap::new();
        for chunk in pairs.chunks(ROWS_PER_STATEMENT) {
            let mut params = Params::new(self.kind());
            let mut rows = Vec::with_capacity(chunk.len());
            for (r, c) in chunk {
                let request = request_id(r)?;
                rows.push(format!(
                    "({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
                    params.push(Bind::OptInt(Some(request))),
                    params.push(Bind::Int(c.issuer_ca_id.0)),
                    params.push(Bind::Int(c.profile_id.0)),
                    params.push(Bind::Text(c.serial.clone())),
                    params.push(Bind::Text(c.status.as_str().to_owned())),
                    params.push(Bind::Text(c.subject.clone())),
                    params.push(Bind::OptText(c.common_name.clone())),
                    params.push(Bind::Text(c.key_type.clone())),
                    params.push(Bind::Text(c.spki_sha256.clone())),
                    params.push(Bind::Int(c.not_before)),
                    params.push(Bind::Int(c.not_after)),
                    params.push(Bind::Text(c.sha256_fingerprint.clone())),
                    params.push(Bind::Text(c.sha1_fingerprint.clone())),
                    params.push(Bind::Blob(c.der.clone())),
                    params.push(Bind::OptBlob(c.encrypted_private_key.clone())),
                    params.push(Bind::Int(c.issued_at)),
                    params.push(Bind::Int(c.crl_shard)),
                ));
            }
            let sql = format!(
                "INSERT INTO certificates (request_id, issuer_ca_id, profile_id, serial, status, \
                 subject, common_name, key_type, spki_sha256, not_before, not_after, \
                 sha256_fingerprint, sha1_fingerprint, der, encrypted_private_key, issued_at, \
                 crl_shard) VALUES {} ON CONFLICT (serial) DO NOTHING RETURNING id, serial",
                rows.join(", ")
            );
            for row in params
                .bind_all(crate::db::query(sql))
                .fetch_all(self.conn())
                .await?
            {
                certificate_ids.insert(row.try_get("serial")?, row.try_get("id")?);
            }
        }

        // Names of the stored certificates, then the requests whose serial was taken.
        let mut names = Vec::new();
        let mut orphans = Vec::new();
        let mut outcomes = Vec::with_capacity(pairs.len());
        for (r, c) in pairs {
            match certificate_ids.get(&c.serial) {
                Some(id) => {
                    outcomes.push(Some((RequestId(request_id(r)?), CertificateId(*id))));
                    for name in &c.dns_names {
                        names.push((*id, "dns", name.to_lowercase()));
                    }
                    for name in &c.emails {
                        names.push((*id, "email", name.to_lowercase()));
                    }
                }
                None => {
                    outcomes.push(None);
                    orphans.push(request_id(r)?);
                }
            }
        }
        for chunk in names.chunks(ROWS_PER_STATEMENT) {
            let mut params = Params::new(self.kind());
            let rows: Vec<String> = chunk
                .iter()
                .map(|(id, kind, name)| {
                    format!(
                        "({}, {}, {})",
                        params.push(Bind::Int(*id)),
                        params.push(Bind::Text((*kind).to_owned())),
                        params.push(Bind::Text(name.clone()))
                    )
                })
                .collect();
            let sql = format!(
                "INSERT INTO certificate_names (certificate_id, kind, name) VALUES {} \
                 ON CONFLICT DO NOTHING",
                rows.join(", ")
            );
            params
                .bind_all(crate::db::query(sql))
                .execute(self.conn())
                .await?;
        }
        for chunk in orphans.chunks(ROWS_PER_STATEMENT) {
            let mut params = Params::new(self.kind());
            let list: Vec<String> = chunk.iter().map(|id| params.push(Bind::Int(*id))).collect();
            debug_assert_eq!(params.len(), chunk.len());
            let sql = format!(
                "DELETE FROM certificate_requests WHERE id IN ({})",
                list.join(", ")
            );
            params
                .bind_all(crate::db::query(sql))
                .execute(self.conn())
                .await?;
        }
        Ok(outcomes)
    }
}
