//! Certificate authorities and their encrypted keys.

use crate::db::Row;
use crate::{CaRecord, CaRole, NewCa, Result, Store, StoreError, Tx};
use castellan_model::{CaId, Hierarchy};

const CA_COLUMNS: &str = "id, slug, hierarchy, role, parent_id, subject, key_type, key_storage, \
     encrypted_key, certificate_der, serial, not_before, not_after, sha256_fingerprint, \
     spki_sha256, active, created_at";

fn ca_from_row(row: &Row) -> Result<CaRecord> {
    let hierarchy: String = row.try_get("hierarchy")?;
    let role: String = row.try_get("role")?;
    Ok(CaRecord {
        id: CaId(row.try_get("id")?),
        active: row.try_get::<i64, _>("active")? != 0,
        ca: NewCa {
            slug: row.try_get("slug")?,
            hierarchy: Hierarchy::parse(&hierarchy)
                .ok_or_else(|| StoreError::Corrupt(format!("CA hierarchy '{hierarchy}'")))?,
            role: match role.as_str() {
                "root" => CaRole::Root,
                "issuing" => CaRole::Issuing,
                other => return Err(StoreError::Corrupt(format!("CA role '{other}'"))),
            },
            parent_id: row.try_get::<Option<i64>, _>("parent_id")?.map(CaId),
            subject: row.try_get("subject")?,
            key_type: row.try_get("key_type")?,
            key_storage: row.try_get("key_storage")?,
            encrypted_key: row.try_get("encrypted_key")?,
            certificate_der: row.try_get("certificate_der")?,
            serial: row.try_get("serial")?,
            not_before: row.try_get("not_before")?,
            not_after: row.try_get("not_after")?,
            sha256_fingerprint: row.try_get("sha256_fingerprint")?,
            spki_sha256: row.try_get("spki_sha256")?,
            created_at: row.try_get("created_at")?,
        },
    })
}

impl Store {
    /// Every CA, roots first.
    pub async fn certificate_authorities(&self) -> Result<Vec<CaRecord>> {
        let rows = crate::db::query(format!(
            "SELECT {CA_COLUMNS} FROM certificate_authorities ORDER BY hierarchy DESC, role DESC, id"
        ))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(ca_from_row).collect()
    }
}

impl Tx {
    /// Stores a CA.
    pub async fn insert_ca(&mut self, ca: &NewCa) -> Result<CaId> {
        let row = crate::db::query(
            "INSERT INTO certificate_authorities (slug, hierarchy, role, parent_id, subject, \
             key_type, key_storage, encrypted_key, certificate_der, serial, not_before, \
             not_after, sha256_fingerprint, spki_sha256, active, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 1, $15) \
             RETURNING id",
        )
        .bind(&ca.slug)
        .bind(ca.hierarchy.as_str())
        .bind(ca.role.as_str())
        .bind(ca.parent_id.map(|id| id.0))
        .bind(&ca.subject)
        .bind(&ca.key_type)
        .bind(&ca.key_storage)
        .bind(&ca.encrypted_key)
        .bind(&ca.certificate_der)
        .bind(&ca.serial)
        .bind(ca.not_before)
        .bind(ca.not_after)
        .bind(&ca.sha256_fingerprint)
        .bind(&ca.spki_sha256)
        .bind(ca.created_at)
        .fetch_one(self.conn())
        .await
        .map_err(|e| {
            if StoreError::unique_violation(&e, "slug") {
                StoreError::Duplicate {
                    what: "certificate authority",
                    value: ca.slug.clone(),
                }
            } else {
                e
            }
        })?;
        Ok(CaId(row.try_get("id")?))
    }
}
