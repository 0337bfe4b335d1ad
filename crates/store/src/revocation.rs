//! Revocation status: revoked entries streamed for CRLs, published CRLs, OCSP responders,
//! pre-signed OCSP responses and keys blocked after a key compromise.

use crate::db::Row;
use crate::{Result, Store, Tx};
use castellan_model::{CaId, CertificateId};
use std::collections::HashMap;

/// The size of the parts a CRL is stored in.
pub const CRL_PART_BYTES: usize = 1024 * 1024;

/// One revoked certificate as a CRL lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevokedRow {
    /// Serial, lower-case hex.
    pub serial: String,
    /// When it was revoked.
    pub revoked_at: i64,
    /// RFC 5280 reason code.
    pub reason: i64,
    /// When the key was compromised, when known.
    pub invalidity_date: Option<i64>,
}

/// A published CRL, without its bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CrlMeta {
    /// CRL number.
    pub number: i64,
    /// thisUpdate.
    pub this_update: i64,
    /// nextUpdate.
    pub next_update: i64,
    /// How many entries it lists.
    pub entries: i64,
}

/// A stored OCSP responder.
#[derive(Clone, Debug)]
pub struct ResponderRecord {
    /// Row id.
    pub id: i64,
    /// The issuing CA it answers for.
    pub ca_id: CaId,
    /// Its certificate, DER.
    pub certificate_der: Vec<u8>,
    /// Its private key sealed under the KEK.
    pub encrypted_key: Vec<u8>,
    /// notBefore.
    pub not_before: i64,
    /// notAfter.
    pub not_after: i64,
}

/// A pre-signed OCSP response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredOcspResponse {
    /// The OCSPResponse, DER.
    pub der: Vec<u8>,
    /// thisUpdate.
    pub this_update: i64,
    /// nextUpdate.
    pub next_update: i64,
    /// Whether it says revoked.
    pub revoked: bool,
}

/// What the OCSP responder needs to know about one serial.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OcspSubject {
    /// The certificate.
    pub certificate_id: CertificateId,
    /// Its issuer.
    pub ca_id: CaId,
    /// When it was revoked (none: not revoked).
    pub revoked_at: Option<i64>,
    /// The reason code.
    pub reason: i64,
    /// notAfter.
    pub not_after: i64,
    /// The pre-signed response for the asked hash algorithm, if there is one.
    pub response: Option<StoredOcspResponse>,
}

/// A certificate whose OCSP response must be signed (again).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OcspDue {
    /// The certificate.
    pub certificate_id: CertificateId,
    /// Its issuer.
    pub ca_id: CaId,
    /// Serial, hex.
    pub serial: String,
    /// When it was revoked.
    pub revoked_at: Option<i64>,
    /// The reason code.
    pub reason: i64,
    /// The hash algorithm of the CertID to sign for.
    pub hash_algorithm: String,
}

/// A response signed since some time (for the responder's cache to follow the table).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangedResponse {
    /// Serial, hex.
    pub serial: String,
    /// Hash algorithm.
    pub hash_algorithm: String,
    /// The response.
    pub response: StoredOcspResponse,
}

/// A key blocked after a key compromise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockedKey {
    /// The certificate whose revocation blocked it, by serial.
    pub serial: Option<String>,
    /// When.
    pub blocked_at: i64,
}

fn blocked_from(row: &Row) -> Result<BlockedKey> {
    Ok(BlockedKey {
        serial: row.try_get("serial")?,
        blocked_at: row.try_get("blocked_at")?,
    })
}

fn response_from(row: &Row) -> Result<StoredOcspResponse> {
    Ok(StoredOcspResponse {
        der: row.try_get("der")?,
        this_update: row.try_get("this_update")?,
        next_update: row.try_get("next_update")?,
        revoked: row.try_get::<i64, _>("revoked")? != 0,
    })
}

impl Store {
    /// Calls `each` with every certificate of CA `ca` in CRL shard `shard` that is revoked
    /// and not expired at `now`, straight from the database cursor (rows are never
    /// collected, so a million entries cost one row of memory at a time). On SQLite the
    /// connection reads without memory-mapping and with a small page cache meanwhile: a
    /// scan of the whole table would otherwise leave hundreds of megabytes resident.
    pub async fn for_each_revoked(
        &self,
        ca: CaId,
        shard: i64,
        now: i64,
        mut each: impl FnMut(RevokedRow) -> Result<()>,
    ) -> Result<u64> {
        use crate::db::query;
        let sqlite = self.kind() == castellan_model::DatabaseKind::Sqlite;
        let mut conn = self.pool().acquire().await?;
        if sqlite {
            query("PRAGMA mmap_size = 0").execute(&mut conn).await?;
            query("PRAGMA cache_size = -4096")
                .execute(&mut conn)
                .await?;
        }
        let mut count = 0;
        let streamed = query(
            "SELECT serial, revoked_at, revocation_reason, invalidity_date FROM certificates \
             WHERE issuer_ca_id = $1 AND crl_shard = $2 AND revoked_at IS NOT NULL \
             AND not_after > $3",
        )
        .bind(ca.0)
        .bind(shard)
        .bind(now)
        .for_each(&mut conn, |row| {
            each(RevokedRow {
                serial: row.try_get("serial")?,
                revoked_at: row.try_get("revoked_at")?,
                reason: row
                    .try_get::<Option<i64>, _>("revocation_reason")?
                    .unwrap_or(0),
                invalidity_date: row.try_get("invalidity_date")?,
            })?;
            count += 1;
            Ok(())
        })
        .await;
        if sqlite {
            query(crate::SQLITE_CACHE_SIZE).execute(&mut conn).await?;
            query(crate::SQLITE_MMAP_SIZE).execute(&mut conn).await?;
        }
        streamed?;
        Ok(count)
    }

    /// The CRL shards of CA `ca`: 0 (the unsharded CRL), `1..=configured` when sharding
    /// is on, and every shard a CRL was ever published for (certificates issued under an
    /// earlier setting keep naming them).
    pub async fn crl_shards(&self, ca: CaId, configured: i64) -> Result<Vec<i64>> {
        let rows = crate::db::query("SELECT DISTINCT shard FROM crls WHERE ca_id = $1")
            .bind(ca.0)
            .fetch_all(self.pool())
            .await?;
        let mut shards = vec![0];
        if configured > 1 {
            shards.extend(1..=configured);
        }
        for row in rows {
            shards.push(row.try_get("shard")?);
        }
        shards.sort_unstable();
        shards.dedup();
        Ok(shards)
    }

    /// How many unexpired revoked certificates a shard lists at `now`.
    pub async fn revoked_count(&self, ca: CaId, shard: i64, now: i64) -> Result<i64> {
        let row = crate::db::query(
            "SELECT COUNT(*) AS n FROM certificates WHERE issuer_ca_id = $1 AND crl_shard = $2 \
             AND revoked_at IS NOT NULL AND not_after > $3",
        )
        .bind(ca.0)
        .bind(shard)
        .bind(now)
        .scan()
        .fetch_one(self.pool())
        .await?;
        row.try_get("n")
    }

    /// The latest revocation in a shard (to know whether the CRL is behind).
    pub async fn last_revocation(&self, ca: CaId, shard: i64) -> Result<Option<i64>> {
        let row = crate::db::query(
            "SELECT MAX(revoked_at) AS last FROM certificates \
             WHERE issuer_ca_id = $1 AND crl_shard = $2 AND revoked_at IS NOT NULL",
        )
        .bind(ca.0)
        .bind(shard)
        .fetch_one(self.pool())
        .await?;
        row.try_get("last")
    }

    /// The latest CRL of a CA and shard, without its bytes.
    pub async fn latest_crl_meta(&self, ca: CaId, shard: i64) -> Result<Option<CrlMeta>> {
        let row = crate::db::query(
            "SELECT number, this_update, next_update, entries FROM crls \
             WHERE ca_id = $1 AND shard = $2 ORDER BY number DESC LIMIT 1",
        )
        .bind(ca.0)
        .bind(shard)
        .fetch_optional(self.pool())
        .await?;
        row.map(|row| {
            Ok(CrlMeta {
                number: row.try_get("number")?,
                this_update: row.try_get("this_update")?,
                next_update: row.try_get("next_update")?,
                entries: row.try_get("entries")?,
            })
        })
        .transpose()
    }

    /// The bytes of CRL `number` of a CA and shard, put back together from its parts.
    pub async fn crl_der(&self, ca: CaId, shard: i64, number: i64) -> Result<Option<Vec<u8>>> {
        let mut der: Option<Vec<u8>> = None;
        crate::db::query(
            "SELECT bytes FROM crl_parts WHERE ca_id = $1 AND shard = $2 AND number = $3 \
             ORDER BY part",
        )
        .bind(ca.0)
        .bind(shard)
        .bind(number)
        .for_each(self.pool(), |row| {
            let part: Vec<u8> = row.try_get("bytes")?;
            der.get_or_insert_with(Vec::new).extend_from_slice(&part);
            Ok(())
        })
        .await?;
        Ok(der)
    }

    /// The unexpired OCSP responders of CA `ca`, newest first.
    pub async fn ocsp_responders(&self, ca: CaId, now: i64) -> Result<Vec<ResponderRecord>> {
        let rows = crate::db::query(
            "SELECT id, ca_id, certificate_der, encrypted_key, not_before, not_after \
             FROM ocsp_responders WHERE ca_id = $1 AND not_after > $2 ORDER BY not_after DESC, id DESC",
        )
        .bind(ca.0)
        .bind(now)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ResponderRecord {
                    id: row.try_get("id")?,
                    ca_id: CaId(row.try_get("ca_id")?),
                    certificate_der: row.try_get("certificate_der")?,
                    encrypted_key: row.try_get("encrypted_key")?,
                    not_before: row.try_get("not_before")?,
                    not_after: row.try_get("not_after")?,
                })
            })
            .collect()
    }

    /// What the responder needs for `serial` (hex, lower case), with the pre-signed
    /// response for `hash_algorithm` if one exists.
    pub async fn ocsp_subject(
        &self,
        serial: &str,
        hash_algorithm: &str,
    ) -> Result<Option<OcspSubject>> {
        let row = crate::db::query(
            "SELECT c.id, c.issuer_ca_id, c.revoked_at, c.revocation_reason, c.not_after, \
             r.der, r.this_update, r.next_update, r.revoked FROM certificates c \
             LEFT JOIN ocsp_responses r ON r.certificate_id = c.id AND r.hash_algorithm = $2 \
             WHERE c.serial = $1",
        )
        .bind(serial)
        .bind(hash_algorithm)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let response = match row.try_get::<Option<Vec<u8>>, _>("der")? {
            Some(_) => Some(response_from(&row)?),
            None => None,
        };
        Ok(Some(OcspSubject {
            certificate_id: CertificateId(row.try_get("id")?),
            ca_id: CaId(row.try_get("issuer_ca_id")?),
            revoked_at: row.try_get("revoked_at")?,
            reason: row
                .try_get::<Option<i64>, _>("revocation_reason")?
                .unwrap_or(0),
            not_after: row.try_get("not_after")?,
            response,
        }))
    }

    /// Up to `limit` unexpired certificates after `after` (by id, so a caller walks the
    /// table once) whose OCSP answer must be signed: the SHA-1 answer every certificate
    /// gets is missing, or an answer (any algorithm) expires before `refresh_before` or
    /// still says good although the certificate is revoked.
    pub async fn ocsp_due(
        &self,
        now: i64,
        refresh_before: i64,
        after: CertificateId,
        limit: i64,
    ) -> Result<Vec<OcspDue>> {
        let rows = crate::db::query(
            "SELECT c.id, c.issuer_ca_id, c.serial, c.revoked_at, c.revocation_reason, \
             'sha1' AS hash_algorithm FROM certificates c \
             LEFT JOIN ocsp_responses r ON r.certificate_id = c.id AND r.hash_algorithm = 'sha1' \
             WHERE c.id > $4 AND c.not_after > $1 AND (r.certificate_id IS NULL \
             OR r.next_update < $2 OR (c.revoked_at IS NOT NULL AND r.revoked = 0)) \
             UNION ALL \
             SELECT c.id, c.issuer_ca_id, c.serial, c.revoked_at, c.revocation_reason, \
             r.hash_algorithm FROM certificates c \
             JOIN ocsp_responses r ON r.certificate_id = c.id AND r.hash_algorithm <> 'sha1' \
             WHERE c.id > $4 AND c.not_after > $1 AND (r.next_update < $2 \
             OR (c.revoked_at IS NOT NULL AND r.revoked = 0)) \
             ORDER BY 1 LIMIT $3",
        )
        .bind(now)
        .bind(refresh_before)
        .bind(limit)
        .bind(after.0)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(OcspDue {
                    certificate_id: CertificateId(row.try_get("id")?),
                    ca_id: CaId(row.try_get("issuer_ca_id")?),
                    serial: row.try_get("serial")?,
                    revoked_at: row.try_get("revoked_at")?,
                    reason: row
                        .try_get::<Option<i64>, _>("revocation_reason")?
                        .unwrap_or(0),
                    hash_algorithm: row.try_get("hash_algorithm")?,
                })
            })
            .collect()
    }

    /// Responses signed at or after `since` (thisUpdate), for caches to follow.
    pub async fn ocsp_changed_since(&self, since: i64) -> Result<Vec<ChangedResponse>> {
        let rows = crate::db::query(
            "SELECT c.serial, r.hash_algorithm, r.der, r.this_update, r.next_update, r.revoked \
             FROM ocsp_responses r JOIN certificates c ON c.id = r.certificate_id \
             WHERE r.this_update >= $1",
        )
        .bind(since)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ChangedResponse {
                    serial: row.try_get("serial")?,
                    hash_algorithm: row.try_get("hash_algorithm")?,
                    response: response_from(row)?,
                })
            })
            .collect()
    }

    /// Whether `spki_sha256` (hex) is blocked, and by which certificate. On SQLite every
    /// blocked key is kept in memory (`kept.rs`): a key's certificate and its serial never
    /// change once it is blocked.
    pub async fn blocked_key(&self, spki_sha256: &str) -> Result<Option<BlockedKey>> {
        let Some(kept) = self.kept().map(|k| &k.blocked_keys) else {
            return self.read_blocked_key(spki_sha256).await;
        };
        let all = kept
            .read_through(|| async {
                crate::db::query(
                    "SELECT b.spki_sha256, c.serial, b.blocked_at FROM blocked_keys b \
                     LEFT JOIN certificates c ON c.id = b.certificate_id",
                )
                .fetch_all(self.pool())
                .await?
                .iter()
                .map(|row| Ok((row.try_get("spki_sha256")?, blocked_from(row)?)))
                .collect::<Result<HashMap<String, BlockedKey>>>()
            })
            .await?;
        Ok(all.get(spki_sha256).cloned())
    }

    async fn read_blocked_key(&self, spki_sha256: &str) -> Result<Option<BlockedKey>> {
        let row = crate::db::query(
            "SELECT c.serial, b.blocked_at FROM blocked_keys b \
             LEFT JOIN certificates c ON c.id = b.certificate_id WHERE b.spki_sha256 = $1",
        )
        .bind(spki_sha256)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(blocked_from).transpose()
    }
}

impl Tx {
    /// Stores CRL `meta.number` of a CA and shard (in parts of [`CRL_PART_BYTES`]) and
    /// deletes the older ones.
    pub async fn insert_crl(
        &mut self,
        ca: CaId,
        shard: i64,
        meta: &CrlMeta,
        der: &[u8],
    ) -> Result<()> {
        crate::db::query(
            "INSERT INTO crls (ca_id, shard, number, this_update, next_update, entries) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(ca.0)
        .bind(shard)
        .bind(meta.number)
        .bind(meta.this_update)
        .bind(meta.next_update)
        .bind(meta.entries)
        .execute(self.conn())
        .await
        .map_err(|e| {
            if crate::StoreError::unique_violation(&e, "crls") {
                crate::StoreError::Duplicate {
                    what: "CRL number",
                    value: meta.number.to_string(),
                }
            } else {
                e
            }
        })?;
        for (part, bytes) in (0i64..).zip(der.chunks(CRL_PART_BYTES)) {
            crate::db::query(
                "INSERT INTO crl_parts (ca_id, shard, number, part, bytes) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(ca.0)
            .bind(shard)
            .bind(meta.number)
            .bind(part)
            .bind(bytes)
            .execute(self.conn())
            .await?;
        }
        for table in ["crl_parts", "crls"] {
            crate::db::query(format!(
                "DELETE FROM {table} WHERE ca_id = $1 AND shard = $2 AND number < $3"
            ))
            .bind(ca.0)
            .bind(shard)
            .bind(meta.number)
            .execute(self.conn())
            .await?;
        }
        Ok(())
    }

    /// Stores a new OCSP responder.
    pub async fn insert_ocsp_responder(
        &mut self,
        ca: CaId,
        certificate_der: &[u8],
        encrypted_key: &[u8],
        not_before: i64,
        not_after: i64,
        now: i64,
    ) -> Result<i64> {
        let row = crate::db::query(
            "INSERT INTO ocsp_responders (ca_id, certificate_der, encrypted_key, not_before, \
             not_after, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(ca.0)
        .bind(certificate_der)
        .bind(encrypted_key)
        .bind(not_before)
        .bind(not_after)
        .bind(now)
        .fetch_one(self.conn())
        .await?;
        row.try_get("id")
    }

    /// Sets the sealed key of a responder inserted in this transaction (the key is sealed
    /// with the row id in its AAD).
    pub async fn set_ocsp_responder_key(&mut self, id: i64, encrypted_key: &[u8]) -> Result<()> {
        crate::db::query("UPDATE ocsp_responders SET encrypted_key = $1 WHERE id = $2")
            .bind(encrypted_key)
            .bind(id)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Stores (or replaces) the pre-signed response of a certificate for a hash algorithm.
    pub async fn put_ocsp_response(
        &mut self,
        certificate: CertificateId,
        hash_algorithm: &str,
        response: &StoredOcspResponse,
    ) -> Result<()> {
        crate::db::query(
            "INSERT INTO ocsp_responses (certificate_id, hash_algorithm, revoked, this_update, \
             next_update, der) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (certificate_id, hash_algorithm) DO UPDATE SET revoked = excluded.revoked, \
             this_update = excluded.this_update, next_update = excluded.next_update, der = excluded.der",
        )
        .bind(certificate.0)
        .bind(hash_algorithm)
        .bind(i64::from(response.revoked))
        .bind(response.this_update)
        .bind(response.next_update)
        .bind(&response.der)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Blocks a public key (SPKI SHA-256, hex) after a key compromise; `false` when it was
    /// blocked already.
    pub async fn block_key(
        &mut self,
        spki_sha256: &str,
        certificate: CertificateId,
        at: i64,
    ) -> Result<bool> {
        let done = crate::db::query(
            "INSERT INTO blocked_keys (spki_sha256, certificate_id, blocked_at) VALUES ($1, $2, $3) \
             ON CONFLICT (spki_sha256) DO NOTHING",
        )
        .bind(spki_sha256)
        .bind(certificate.0)
        .bind(at)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The Issued certificates with this public key (SPKI SHA-256, hex).
    pub async fn issued_with_key(&mut self, spki_sha256: &str) -> Result<Vec<CertificateId>> {
        let rows = crate::db::query(
            "SELECT id FROM certificates WHERE spki_sha256 = $1 AND status = 'Issued' ORDER BY id",
        )
        .bind(spki_sha256)
        .fetch_all(self.conn())
        .await?;
        rows.iter()
            .map(|row| Ok(CertificateId(row.try_get("id")?)))
            .collect()
    }
}
