//! Certificate requests and issued certificates, with their names indexed for search.

use crate::bind::{Bind, Params};
use crate::db::Row;
use crate::{
    CertificateFilter, CertificateRecord, NewCertificate, NewRequest, RequestRecord, Result, Store,
    StoreError, Tx,
};
use castellan_model::{CaId, CertificateId, CertificateStatus, ProfileId, RequestId};

const CERT_COLUMNS: &str = "id, request_id, issuer_ca_id, profile_id, serial, status, subject, \
     common_name, key_type, spki_sha256, not_before, not_after, sha256_fingerprint, \
     sha1_fingerprint, der, encrypted_private_key, issued_at, revoked_at, revocation_reason, \
     crl_shard";

fn status_of(text: &str) -> Result<CertificateStatus> {
    CertificateStatus::parse(text).ok_or_else(|| StoreError::Corrupt(format!("status '{text}'")))
}

fn certificate_from_row(row: &Row) -> Result<CertificateRecord> {
    let status: String = row.try_get("status")?;
    Ok(CertificateRecord {
        id: CertificateId(row.try_get("id")?),
        certificate: NewCertificate {
            request_id: row.try_get::<Option<i64>, _>("request_id")?.map(RequestId),
            issuer_ca_id: CaId(row.try_get("issuer_ca_id")?),
            profile_id: ProfileId(row.try_get("profile_id")?),
            serial: row.try_get("serial")?,
            status: status_of(&status)?,
            subject: row.try_get("subject")?,
            common_name: row.try_get("common_name")?,
            key_type: row.try_get("key_type")?,
            spki_sha256: row.try_get("spki_sha256")?,
            not_before: row.try_get("not_before")?,
            not_after: row.try_get("not_after")?,
            sha256_fingerprint: row.try_get("sha256_fingerprint")?,
            sha1_fingerprint: row.try_get("sha1_fingerprint")?,
            der: row.try_get("der")?,
            encrypted_private_key: row.try_get("encrypted_private_key")?,
            issued_at: row.try_get("issued_at")?,
            crl_shard: row.try_get("crl_shard")?,
            dns_names: Vec::new(),
            emails: Vec::new(),
        },
        revoked_at: row.try_get("revoked_at")?,
        revocation_reason: row.try_get("revocation_reason")?,
    })
}

impl Store {
    async fn with_names(&self, mut record: CertificateRecord) -> Result<CertificateRecord> {
        let rows = crate::db::query(
            "SELECT kind, name FROM certificate_names WHERE certificate_id = $1 ORDER BY kind, name",
        )
        .bind(record.id.0)
        .fetch_all(self.pool())
        .await?;
        for row in rows {
            let kind: String = row.try_get("kind")?;
            let name: String = row.try_get("name")?;
            match kind.as_str() {
                "dns" => record.certificate.dns_names.push(name),
                _ => record.certificate.emails.push(name),
            }
        }
        Ok(record)
    }

    /// The certificate with this serial (hex, any case, no separators).
    pub async fn certificate_by_serial(
        &self,
        serial_hex: &str,
    ) -> Result<Option<CertificateRecord>> {
        let row = crate::db::query(format!(
            "SELECT {CERT_COLUMNS} FROM certificates WHERE serial = $1"
        ))
        .bind(serial_hex.to_ascii_lowercase())
        .fetch_optional(self.pool())
        .await?;
        match row {
            Some(row) => Ok(Some(self.with_names(certificate_from_row(&row)?).await?)),
            None => Ok(None),
        }
    }

    /// The certificate with this id.
    pub async fn certificate_by_id(&self, id: CertificateId) -> Result<Option<CertificateRecord>> {
        let row = crate::db::query(format!(
            "SELECT {CERT_COLUMNS} FROM certificates WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(self.pool())
        .await?;
        match row {
            Some(row) => Ok(Some(self.with_names(certificate_from_row(&row)?).await?)),
            None => Ok(None),
        }
    }

    /// The issuing CA and DER of a certificate, without the rest of its record: what a
    /// download of the chain needs (one statement, where the record takes two).
    pub async fn certificate_der(&self, id: CertificateId) -> Result<Option<(CaId, Vec<u8>)>> {
        crate::db::query("SELECT issuer_ca_id, der FROM certificates WHERE id = $1")
            .bind(id.0)
            .fetch_optional(self.pool())
            .await?
            .map(|row| Ok((CaId(row.try_get("issuer_ca_id")?), row.try_get("der")?)))
            .transpose()
    }

    /// Certificates matching `filter`, newest first, and how many match in all.
    pub async fn search_certificates(
        &self,
        filter: &CertificateFilter,
    ) -> Result<(Vec<CertificateRecord>, i64)> {
        let mut clauses = Vec::new();
        let mut params = Params::new(self.kind());
        if let Some(cn) = &filter.common_name {
            let p = params.push(Bind::Text(cn.to_lowercase()));
            clauses.push(format!("lower(common_name) = {p}"));
        }
        if let Some(name) = &filter.name {
            let p = params.push(Bind::Text(name.to_lowercase()));
            clauses.push(format!(
                "id IN (SELECT certificate_id FROM certificate_names WHERE name = {p})"
            ));
        }
        if let Some(serial) = &filter.serial {
            let p = params.push(Bind::Text(serial.to_ascii_lowercase()));
            clauses.push(format!("serial = {p}"));
        }
        if let Some(before) = filter.expires_before {
            let p = params.push(Bind::Int(before));
            clauses.push(format!("not_after < {p}"));
        }
        if let Some(profile) = filter.profile_id {
            let p = params.push(Bind::Int(profile.0));
            clauses.push(format!("profile_id = {p}"));
        }
        if let Some(status) = filter.status {
            let p = params.push(Bind::Text(status.as_str().to_owned()));
            clauses.push(format!("status = {p}"));
        }
        let where_sql = if clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", clauses.join(" AND "))
        };
        let count_sql = format!("SELECT COUNT(*) AS n FROM certificates{where_sql}");
        let total: i64 = params
            .bind_all(crate::db::query(count_sql))
            .scan()
            .fetch_one(self.pool())
            .await?
            .try_get("n")?;

        let limit = filter.limit.unwrap_or(200).clamp(1, 1000);
        let offset = filter.offset.unwrap_or(0).max(0);
        let sql = format!(
            "SELECT {CERT_COLUMNS} FROM certificates{where_sql} ORDER BY id DESC LIMIT {limit} OFFSET {offset}"
        );
        let query = params.bind_all(crate::db::query(sql)).scan();
        let rows = query.fetch_all(self.pool()).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push(self.with_names(certificate_from_row(row)?).await?);
        }
        Ok((out, total))
    }

    /// The request with this id.
    pub async fn request_by_id(&self, id: RequestId) -> Result<Option<RequestRecord>> {
        let Some(row) = crate::db::query(
            "SELECT id, renew_id, profile_id, status, requested_via, requester, term_days, \
             common_name, requested_names, csr_der, key_generated, created_at \
             FROM certificate_requests WHERE id = $1",
        )
        .bind(id.0)
        .fetch_optional(self.pool())
        .await?
        else {
            return Ok(None);
        };
        let status: String = row.try_get("status")?;
        let names: String = row.try_get("requested_names")?;
        Ok(Some(RequestRecord {
            id,
            request: NewRequest {
                renew_id: row.try_get("renew_id")?,
                profile_id: ProfileId(row.try_get("profile_id")?),
                status: status_of(&status)?,
                requested_via: row.try_get("requested_via")?,
                requester: row.try_get("requester")?,
                term_days: row.try_get("term_days")?,
                common_name: row.try_get("common_name")?,
                requested_names: names.lines().map(str::to_owned).collect(),
                csr_der: row.try_get("csr_der")?,
                key_generated: row.try_get::<i64, _>("key_generated")? != 0,
                created_at: row.try_get("created_at")?,
            },
        }))
    }
}

impl Tx {
    /// Stores a request.
    pub async fn insert_request(&mut self, request: &NewRequest) -> Result<RequestId> {
        self.insert_order(request, &crate::OrderDetails::default())
            .await
    }

    /// Removes a request that never got its certificate (a serial collision in a batch).
    pub async fn delete_request(&mut self, id: RequestId) -> Result<()> {
        crate::db::query("DELETE FROM certificate_requests WHERE id = $1")
            .bind(id.0)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Sets a request's status.
    pub async fn set_request_status(
        &mut self,
        id: RequestId,
        status: CertificateStatus,
        at: i64,
    ) -> Result<()> {
        crate::db::query(
            "UPDATE certificate_requests SET status = $1, updated_at = $2 WHERE id = $3",
        )
        .bind(status.as_str())
        .bind(at)
        .bind(id.0)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Stores an issued certificate and its names. A serial that is already taken gives
    /// [`StoreError::Duplicate`] with `what = "certificate serial"` and leaves the
    /// transaction usable (the insert is skipped, not failed), so the caller can sign again
    /// with a new serial without losing the rest of its transaction.
    pub async fn insert_certificate(&mut self, cert: &NewCertificate) -> Result<CertificateId> {
        let id = crate::db::query(
            "INSERT INTO certificates (request_id, issuer_ca_id, profile_id, serial, status, \
             subject, common_name, key_type, spki_sha256, not_before, not_after, \
             sha256_fingerprint, sha1_fingerprint, der, encrypted_private_key, issued_at, crl_shard) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
             ON CONFLICT (serial) DO NOTHING RETURNING id",
        )
        .bind(cert.request_id.map(|id| id.0))
        .bind(cert.issuer_ca_id.0)
        .bind(cert.profile_id.0)
        .bind(&cert.serial)
        .bind(cert.status.as_str())
        .bind(&cert.subject)
        .bind(cert.common_name.clone())
        .bind(&cert.key_type)
        .bind(&cert.spki_sha256)
        .bind(cert.not_before)
        .bind(cert.not_after)
        .bind(&cert.sha256_fingerprint)
        .bind(&cert.sha1_fingerprint)
        .bind(&cert.der)
        .bind(cert.encrypted_private_key.clone())
        .bind(cert.issued_at)
        .bind(cert.crl_shard)
        .fetch_inserted_id(self.conn())
        .await?
        .ok_or_else(|| StoreError::Duplicate {
            what: "certificate serial",
            value: cert.serial.clone(),
        })?;
        let names: Vec<(&str, String)> = cert
            .dns_names
            .iter()
            .map(|n| ("dns", n.to_lowercase()))
            .chain(cert.emails.iter().map(|n| ("email", n.to_lowercase())))
            .collect();
        if !names.is_empty() {
            // One statement for every name: each round trip to the database costs more than
            // the insert itself.
            let values: Vec<String> = (0..names.len())
                .map(|i| format!("($1, ${}, ${})", 2 * i + 2, 2 * i + 3))
                .collect();
            let sql = format!(
                "INSERT INTO certificate_names (certificate_id, kind, name) VALUES {} \
                 ON CONFLICT DO NOTHING",
                values.join(", ")
            );
            let mut query = crate::db::query(sql).bind(id);
            for (kind, name) in names {
                query = query.bind(kind).bind(name);
            }
            query.execute(self.conn()).await?;
        }
        Ok(CertificateId(id))
    }
}
