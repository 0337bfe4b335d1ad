//! Publishing CRLs: per CA and shard, on a schedule and soon after any revocation; and
//! serving the latest one.

use crate::{Authority, RaError, Result};
use bytes::Bytes;
use castellan_model::CaId;
use castellan_pki::crl::{CrlParams, CrlWriter, RevokedEntry};
use castellan_pki::serial::Serial;
use castellan_store::{CaRole, CrlMeta, StoreError};
use std::sync::Arc;

/// A published CRL, ready to serve.
#[derive(Clone, Debug)]
pub struct CrlFile {
    /// The DER CRL.
    pub der: Bytes,
    /// CRL number.
    pub number: i64,
    /// thisUpdate.
    pub this_update: i64,
    /// nextUpdate.
    pub next_update: i64,
}

/// One CRL a publishing round produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrlPublished {
    /// The CA's slug.
    pub ca: String,
    /// The shard (0: the CA's unsharded CRL).
    pub shard: i64,
    /// CRL number.
    pub number: i64,
    /// Entries listed.
    pub entries: i64,
    /// Size, bytes.
    pub bytes: usize,
}

impl Authority {
    /// The URL a shard's CRL is published at (the one certificates of that shard name).
    pub(crate) fn crl_url(&self, slug: &str, shard: i64) -> String {
        crate::urls::crl_shard_url(&self.options.pki_base_url, slug, shard)
    }

    /// The shard a new certificate goes into: 0 when sharding is off, else 1..=shards
    /// from the serial's last byte (serials are random, so shards fill evenly).
    pub(crate) fn crl_shard_for(&self, serial: &Serial) -> i64 {
        let shards = self.revocation.settings.crl_shards;
        if shards <= 1 {
            return 0;
        }
        let last = serial.as_bytes().last().copied().unwrap_or(0);
        1 + i64::from(u32::from(last) % shards)
    }

    /// Publishes every CRL that is missing, older than the refresh period, or behind a
    /// revocation (`force`: every CRL). Rounds on several nodes are harmless: a CRL number
    /// taken by another node is skipped.
    pub async fn publish_crls(&self, force: bool) -> Result<Vec<CrlPublished>> {
        let _one_round = self.revocation.crl_publishing.lock().await;
        let now = self.now();
        let mut published = Vec::new();
        for ca in &self.cas {
            if ca.record.ca.not_after <= now {
                continue;
            }
            let shards = match ca.record.ca.role {
                CaRole::Root => vec![0],
                CaRole::Issuing => {
                    self.store
                        .crl_shards(ca.record.id, i64::from(self.revocation.settings.crl_shards))
                        .await?
                }
            };
            for shard in shards {
                let latest = self.store.latest_crl_meta(ca.record.id, shard).await?;
                let due = match latest {
                    None => true,
                    Some(meta) => {
                        force
                            || now - meta.this_update
                                >= self.revocation.settings.crl_refresh_hours * 3600
                            || self.behind(ca.record.id, shard, &meta, now).await?
                    }
                };
                if !due {
                    continue;
                }
                let number = latest.map_or(1, |m| m.number + 1);
                match self.build_crl(ca.record.id, shard, number, now).await {
                    Ok(done) => published.push(done),
                    Err(RaError::Store(StoreError::Duplicate { .. })) => {
                        tracing::info!(ca = %ca.record.ca.slug, shard, number, "CRL already published by another node");
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(published)
    }

    /// Whether a revocation happened since the CRL was made. Times are whole seconds, so
    /// a revocation in the CRL's own second counts only if the CRL missed it.
    async fn behind(&self, ca: CaId, shard: i64, meta: &CrlMeta, now: i64) -> Result<bool> {
        match self.store.last_revocation(ca, shard).await? {
            Some(at) if at > meta.this_update => Ok(true),
            Some(at) if at == meta.this_update => {
                Ok(self.store.revoked_count(ca, shard, now).await? != meta.entries)
            }
            _ => Ok(false),
        }
    }

    /// Builds, signs and stores CRL `number` of a CA and shard.
    async fn build_crl(
        &self,
        ca_id: CaId,
        shard: i64,
        number: i64,
        now: i64,
    ) -> Result<CrlPublished> {
        let ca = self.loaded_ca(ca_id)?;
        let started = std::time::Instant::now();
        let mut writer = CrlWriter::new(
            &ca.record.ca.certificate_der,
            CrlParams {
                number: u64::try_from(number).unwrap_or(0),
                this_update: now,
                next_update: now + self.revocation.settings.crl_validity_hours * 3600,
                // A root's CRL covers every certificate the root signed (the issuing CAs,
                // and the root itself for clients that check it), so it names no scope; an
                // issuing CA's names the URL its certificates carry.
                distribution_point: match ca.record.ca.role {
                    CaRole::Root => None,
                    CaRole::Issuing => Some(self.crl_url(&ca.record.ca.slug, shard)),
                },
            },
        )?;
        let mut failure = None;
        self.store
            .for_each_revoked(ca_id, shard, now, |row| {
                let pushed = Serial::from_hex(&row.serial).and_then(|serial| {
                    writer.push(&RevokedEntry {
                        serial: serial.as_bytes(),
                        revoked_at: row.revoked_at,
                        reason: u8::try_from(row.reason).unwrap_or(0),
                        invalidity_date: row.invalidity_date,
                    })
                });
                if let Err(e) = pushed {
                    failure.get_or_insert(e);
                }
                Ok(())
            })
            .await?;
        if let Some(e) = failure {
            return Err(e.into());
        }
        let entries = i64::try_from(writer.len()).unwrap_or(i64::MAX);
        let signer = ca.signer.clone();
        let der = tokio::task::spawn_blocking(move || writer.finish(signer.as_ref()))
            .await
            .map_err(|e| RaError::Internal(format!("CRL signing task failed: {e}")))??;
        let meta = CrlMeta {
            number,
            this_update: now,
            next_update: now + self.revocation.settings.crl_validity_hours * 3600,
            entries,
        };
        let mut tx = self.store.begin().await?;
        tx.insert_crl(ca_id, shard, &meta, &der).await?;
        tx.commit().await?;
        let bytes = der.len();
        tracing::info!(
            ca = %ca.record.ca.slug,
            shard,
            number,
            entries,
            bytes,
            millis = started.elapsed().as_millis() as u64,
            "CRL published"
        );
        if let Ok(mut map) = self.revocation.crls.write() {
            map.insert(
                (ca_id, shard),
                Arc::new(CrlFile {
                    der: Bytes::from(der),
                    number,
                    this_update: meta.this_update,
                    next_update: meta.next_update,
                }),
            );
        }
        Ok(CrlPublished {
            ca: ca.record.ca.slug.clone(),
            shard,
            number,
            entries,
            bytes,
        })
    }

    /// The latest CRL of the CA with `slug` and `shard`, publishing it first if there is
    /// none yet; `None` for an unknown CA or a shard no certificate names.
    pub async fn crl(&self, slug: &str, shard: i64) -> Result<Option<Arc<CrlFile>>> {
        let Some(ca) = self.cas.iter().find(|c| c.record.ca.slug == slug) else {
            return Ok(None);
        };
        let ca_id = ca.record.id;
        let known = match ca.record.ca.role {
            CaRole::Root => shard == 0,
            CaRole::Issuing => self
                .store
                .crl_shards(ca_id, i64::from(self.revocation.settings.crl_shards))
                .await?
                .contains(&shard),
        };
        if !known {
            return Ok(None);
        }
        let meta = match self.store.latest_crl_meta(ca_id, shard).await? {
            Some(meta) => meta,
            None => {
                self.publish_crls(false).await?;
                match self.store.latest_crl_meta(ca_id, shard).await? {
                    Some(meta) => meta,
                    None => return Ok(None),
                }
            }
        };
        if let Ok(map) = self.revocation.crls.read()
            && let Some(file) = map.get(&(ca_id, shard))
            && file.number == meta.number
        {
            return Ok(Some(file.clone()));
        }
        let Some(der) = self.store.crl_der(ca_id, shard, meta.number).await? else {
            return Ok(None);
        };
        let file = Arc::new(CrlFile {
            der: Bytes::from(der),
            number: meta.number,
            this_update: meta.this_update,
            next_update: meta.next_update,
        });
        if let Ok(mut map) = self.revocation.crls.write() {
            map.insert((ca_id, shard), file.clone());
        }
        Ok(Some(file))
    }
}
