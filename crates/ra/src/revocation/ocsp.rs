//! The OCSP responder: delegated responder certificates (one per issuing CA, rolled before
//! they expire), pre-signed responses (stored, and kept in memory), and the answer to a
//! request.

use crate::authority::LoadedCa;
use crate::{Authority, RaError, Result};
use bytes::Bytes;
use castellan_model::{CaId, CertificateId, KeyType};
use castellan_pki::keys;
use castellan_pki::ocsp::{
    Answer, HashAlgorithm, IssuerHashes, Question, Responder, ResponseStatus, Status,
    parse_request, status_only,
};
use castellan_pki::serial::Serial;
use castellan_pki::signer::SoftwareSigner;
use castellan_store::{CaRole, StoredOcspResponse};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// The CertID hashes of one issuing CA.
#[derive(Clone, Debug)]
pub(crate) struct IssuerIds {
    pub(crate) ca_id: CaId,
    pub(crate) hashes: [IssuerHashes; 2],
}

/// The CertID hashes of every issuing CA (old ones too: their certificates still need
/// answers until they expire).
pub(crate) fn issuer_ids(cas: &[LoadedCa]) -> Result<Vec<IssuerIds>> {
    cas.iter()
        .filter(|c| c.record.ca.role == CaRole::Issuing)
        .map(|c| {
            Ok(IssuerIds {
                ca_id: c.record.id,
                hashes: castellan_pki::ocsp::issuer_hashes(&c.record.ca.certificate_der)?,
            })
        })
        .collect()
}

/// A responder ready to sign.
pub(crate) struct LoadedResponder {
    pub(crate) responder: Responder,
    pub(crate) not_after: i64,
}

/// A response in memory.
#[derive(Clone, Debug)]
pub(crate) struct Cached {
    der: Bytes,
    this_update: i64,
    next_update: i64,
}

impl From<StoredOcspResponse> for Cached {
    fn from(stored: StoredOcspResponse) -> Cached {
        Cached {
            der: Bytes::from(stored.der),
            this_update: stored.this_update,
            next_update: stored.next_update,
        }
    }
}

/// Pre-signed responses by serial and CertID hash algorithm. When full it drops the expired
/// answers, then about half of the rest (the store still holds every response, so a miss
/// costs one indexed read).
pub(crate) struct ResponseCache {
    capacity: usize,
    map: RwLock<HashMap<(Vec<u8>, HashAlgorithm), Cached>>,
}

impl ResponseCache {
    pub(crate) fn new(capacity: usize) -> ResponseCache {
        ResponseCache {
            capacity: capacity.max(1),
            map: RwLock::new(HashMap::new()),
        }
    }

    fn get(&self, serial: &[u8], algorithm: HashAlgorithm, now: i64) -> Option<Cached> {
        let map = self.map.read().ok()?;
        map.get(&(serial.to_vec(), algorithm))
            .filter(|c| c.next_update > now)
            .cloned()
    }

    fn put(&self, serial: Vec<u8>, algorithm: HashAlgorithm, entry: Cached) {
        if let Ok(mut map) = self.map.write() {
            if map.len() >= self.capacity {
                let now = entry.this_update;
                map.retain(|_, cached| cached.next_update > now);
                if map.len() >= self.capacity / 2 {
                    let mut keep = false;
                    map.retain(|_, _| {
                        keep = !keep;
                        keep
                    });
                }
            }
            map.insert((serial, algorithm), entry);
        }
    }

    /// Replaces an entry only if it is cached (so following the table does not fill it).
    fn refresh(&self, serial: Vec<u8>, algorithm: HashAlgorithm, entry: Cached) {
        if let Ok(mut map) = self.map.write()
            && let Some(slot) = map.get_mut(&(serial, algorithm))
            && slot.this_update <= entry.this_update
        {
            *slot = entry;
        }
    }
}

/// The responder's answer, ready for HTTP.
#[derive(Clone, Debug)]
pub struct OcspReply {
    /// The DER OCSPResponse.
    pub der: Bytes,
    /// thisUpdate and nextUpdate of a pre-signed answer HTTP caches may keep; none for
    /// error statuses and answers made for one request (nonce, unknown).
    pub cacheable: Option<(i64, i64)>,
}

impl OcspReply {
    fn status(status: ResponseStatus) -> OcspReply {
        OcspReply {
            der: Bytes::from(status_only(status)),
            cacheable: None,
        }
    }
}

/// What a pre-signing round did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OcspWork {
    /// Responses signed and stored.
    pub signed: u64,
}

fn serial_key(bytes: &[u8]) -> Option<Vec<u8>> {
    Serial::from_bytes(bytes)
        .ok()
        .map(|s| s.as_bytes().to_vec())
}

fn status_of(revoked_at: Option<i64>, reason: i64) -> Status {
    match revoked_at {
        Some(at) => Status::Revoked {
            at,
            reason: u8::try_from(reason).unwrap_or(0),
        },
        None => Status::Good,
    }
}

impl Authority {
    fn ocsp_issuer(&self, question: &Question) -> Option<(CaId, &IssuerHashes)> {
        let algorithm = question.algorithm?;
        self.revocation.issuer_ids.iter().find_map(|ids| {
            ids.hashes
                .iter()
                .find(|h| {
                    h.algorithm == algorithm
                        && h.name_hash == question.cert_id.issuer_name_hash.as_bytes()
                        && h.key_hash == question.cert_id.issuer_key_hash.as_bytes()
                })
                .map(|h| (ids.ca_id, h))
        })
    }

    /// Answers an OCSP request (DER). Never fails: every problem is an OCSP status.
    pub async fn ocsp(&self, request: &[u8]) -> OcspReply {
        let parsed = match parse_request(request) {
            Ok(parsed) => parsed,
            Err(e) => {
                tracing::debug!(reason = %e.0, "malformed OCSP request");
                return OcspReply::status(ResponseStatus::MalformedRequest);
            }
        };
        match self.answer(&parsed).await {
            Ok(reply) => reply,
            Err(e) => {
                tracing::warn!(error = %e, "OCSP responder failed");
                OcspReply::status(ResponseStatus::InternalError)
            }
        }
    }

    async fn answer(&self, parsed: &castellan_pki::ocsp::ParsedRequest) -> Result<OcspReply> {
        let now = self.now();
        let mut issuers = Vec::with_capacity(parsed.questions.len());
        for question in &parsed.questions {
            match self.ocsp_issuer(question) {
                Some((ca, _)) => issuers.push(ca),
                None => return Ok(OcspReply::status(ResponseStatus::Unauthorized)),
            }
        }
        // The common case: one certificate, no nonce (or no budget to honour it) — a
        // pre-signed answer from memory or the store.
        if let [question] = parsed.questions.as_slice()
            && let (Some(algorithm), Some(serial)) =
                (question.algorithm, serial_key(&question.serial))
        {
            let wants_nonce = parsed.nonce.is_some() && self.revocation.signing_budget.try_take();
            if !wants_nonce {
                if let Some(cached) = self.revocation.cache.get(&serial, algorithm, now) {
                    return Ok(cached_reply(cached));
                }
                if let Some(found) = self.presigned(issuers[0], &serial, algorithm, now).await? {
                    return Ok(found);
                }
                if !self.revocation.signing_budget.try_take() {
                    return Ok(OcspReply::status(ResponseStatus::TryLater));
                }
                return self
                    .sign_single(issuers[0], question, &serial, algorithm, now)
                    .await;
            }
        } else if !self.revocation.signing_budget.try_take() {
            return Ok(OcspReply::status(ResponseStatus::TryLater));
        }
        // Signed for this request alone (nonce echoed, or several certificates).
        let mut answers = Vec::with_capacity(parsed.questions.len());
        let mut responder_ca = None;
        for (question, ca) in parsed.questions.iter().zip(&issuers) {
            if responder_ca.is_some_and(|r| r != *ca) {
                // One response is signed by one responder: all must share the issuer.
                return Ok(OcspReply::status(ResponseStatus::MalformedRequest));
            }
            responder_ca = Some(*ca);
            let status = match serial_key(&question.serial) {
                Some(serial) => {
                    let hex = hex::encode(&serial);
                    match self.store.ocsp_subject(&hex, "sha1").await? {
                        Some(s) if s.ca_id == *ca => status_of(s.revoked_at, s.reason),
                        _ => Status::Unknown,
                    }
                }
                None => Status::Unknown,
            };
            answers.push(Answer {
                cert_id: question.cert_id.clone(),
                status,
                this_update: now,
                next_update: now + self.revocation.settings.ocsp_validity_hours * 3600,
            });
        }
        let ca = responder_ca.ok_or_else(|| RaError::Internal("empty OCSP request".into()))?;
        let responder = self.responder(ca).await?;
        let der = responder
            .responder
            .sign(&answers, now, parsed.nonce.as_deref())?;
        Ok(OcspReply {
            der: Bytes::from(der),
            cacheable: None,
        })
    }

    /// The stored answer for a serial, if it is fresh and still true.
    async fn presigned(
        &self,
        ca: CaId,
        serial: &[u8],
        algorithm: HashAlgorithm,
        now: i64,
    ) -> Result<Option<OcspReply>> {
        let Some(subject) = self
            .store
            .ocsp_subject(&hex::encode(serial), algorithm.as_str())
            .await?
        else {
            return Ok(None);
        };
        if subject.ca_id != ca {
            return Ok(None);
        }
        match subject.response {
            Some(r) if r.next_update > now && r.revoked == subject.revoked_at.is_some() => {
                let cached = Cached::from(r);
                self.revocation
                    .cache
                    .put(serial.to_vec(), algorithm, cached.clone());
                Ok(Some(cached_reply(cached)))
            }
            _ => Ok(None),
        }
    }

    /// Signs (within the budget) the answer for one certificate, storing it when the
    /// certificate is Castellan's so the next request is served from the store.
    async fn sign_single(
        &self,
        ca: CaId,
        question: &Question,
        serial: &[u8],
        algorithm: HashAlgorithm,
        now: i64,
    ) -> Result<OcspReply> {
        let subject = self
            .store
            .ocsp_subject(&hex::encode(serial), algorithm.as_str())
            .await?
            .filter(|s| s.ca_id == ca);
        match subject {
            Some(s) => {
                let cached = self
                    .sign_and_keep(
                        s.certificate_id,
                        ca,
                        serial,
                        s.revoked_at,
                        s.reason,
                        algorithm,
                        now,
                    )
                    .await?;
                Ok(cached_reply(cached))
            }
            None => {
                let responder = self.responder(ca).await?;
                let der = responder.responder.sign(
                    &[Answer {
                        cert_id: question.cert_id.clone(),
                        status: Status::Unknown,
                        this_update: now,
                        next_update: now + self.revocation.settings.ocsp_validity_hours * 3600,
                    }],
                    now,
                    None,
                )?;
                Ok(OcspReply {
                    der: Bytes::from(der),
                    cacheable: None,
                })
            }
        }
    }

    /// Signs a certificate's pre-signed answer (not stored yet).
    async fn sign_answer(
        &self,
        ca: CaId,
        serial: &[u8],
        revoked_at: Option<i64>,
        reason: i64,
        algorithm: HashAlgorithm,
        now: i64,
    ) -> Result<StoredOcspResponse> {
        let ids = self
            .revocation
            .issuer_ids
            .iter()
            .find(|i| i.ca_id == ca)
            .ok_or_else(|| RaError::Internal(format!("certificate authority {ca} is unknown")))?;
        let hashes = ids
            .hashes
            .iter()
            .find(|h| h.algorithm == algorithm)
            .ok_or_else(|| RaError::Internal("no CertID hashes for the algorithm".into()))?;
        let responder = self.responder(ca).await?;
        let next_update = now + self.revocation.settings.ocsp_validity_hours * 3600;
        let der = responder.responder.sign(
            &[Answer {
                cert_id: castellan_pki::ocsp::cert_id(hashes, serial)?,
                status: status_of(revoked_at, reason),
                this_update: now,
                next_update,
            }],
            now,
            None,
        )?;
        Ok(StoredOcspResponse {
            der,
            this_update: now,
            next_update,
            revoked: revoked_at.is_some(),
        })
    }

    /// Signs a certificate's answer, stores it and puts it in memory.
    #[allow(clippy::too_many_arguments)]
    async fn sign_and_keep(
        &self,
        certificate: CertificateId,
        ca: CaId,
        serial: &[u8],
        revoked_at: Option<i64>,
        reason: i64,
        algorithm: HashAlgorithm,
        now: i64,
    ) -> Result<Cached> {
        let stored = self
            .sign_answer(ca, serial, revoked_at, reason, algorithm, now)
            .await?;
        let mut tx = self.store.begin().await?;
        tx.put_ocsp_response(certificate, algorithm.as_str(), &stored)
            .await?;
        tx.commit().await?;
        let cached = Cached::from(stored);
        self.revocation
            .cache
            .put(serial.to_vec(), algorithm, cached.clone());
        Ok(cached)
    }

    /// The responder of issuing CA `ca`, created (or replaced, when fewer than the roll
    /// days are left) if needed. Several nodes may race to create one; each then uses
    /// the newest in the store, and any of them is valid.
    pub(crate) async fn responder(&self, ca: CaId) -> Result<Arc<LoadedResponder>> {
        let now = self.now();
        let roll_at = i64::from(self.revocation.settings.ocsp_responder_roll_days) * 86_400;
        let fresh = |r: &LoadedResponder| r.not_after - now > roll_at;
        if let Ok(map) = self.revocation.responders.read()
            && let Some(r) = map.get(&ca)
            && fresh(r)
        {
            return Ok(r.clone());
        }
        let _creating = self.revocation.responder_creation.lock().await;
        let loaded = match self
            .store
            .ocsp_responders(ca, now)
            .await?
            .into_iter()
            .next()
        {
            Some(record) if record.not_after - now > roll_at => {
                let pkcs8 = self
                    .kek
                    .open(&record.encrypted_key, &responder_key_purpose(ca, record.id))?;
                let signer = Arc::new(SoftwareSigner::from_pkcs8(&pkcs8)?);
                LoadedResponder {
                    responder: Responder::new(signer, &record.certificate_der)?,
                    not_after: record.not_after,
                }
            }
            _ => self.create_responder(ca).await?,
        };
        let loaded = Arc::new(loaded);
        if let Ok(mut map) = self.revocation.responders.write() {
            map.insert(ca, loaded.clone());
        }
        Ok(loaded)
    }

    async fn create_responder(&self, ca_id: CaId) -> Result<LoadedResponder> {
        let ca = self.loaded_ca(ca_id)?;
        let issuing = castellan_pki::issue::IssuingCa::new(
            ca.signer.clone(),
            ca.record.ca.certificate_der.clone(),
            crate::urls::ca_urls(&self.options.pki_base_url, &ca.record.ca.slug),
            Vec::new(),
        )?;
        let now = self.clock.now();
        let remaining_days = (issuing.not_after() - now.unix_timestamp()) / 86_400;
        let days = i64::from(self.revocation.settings.ocsp_responder_days).min(remaining_days);
        let days = u32::try_from(days).unwrap_or(0);
        if days < 1 {
            return Err(RaError::Internal(format!(
                "the issuing CA '{}' expires within a day; no OCSP responder can be made for it",
                ca.record.ca.slug
            )));
        }
        let key = keys::generate(KeyType::EcP256)?;
        let public = keys::check_public_key(&key.spki_der)?;
        let serial = Serial::random(self.rng.as_ref())?;
        let der =
            castellan_pki::ocsp::responder_certificate(&issuing, &public, &serial, now, days)?;
        let not_after = now.unix_timestamp() + i64::from(days) * 86_400 - 1;
        let mut tx = self.store.begin().await?;
        // The row id is part of the key's AAD, so insert first with a placeholder, then seal.
        let id = tx
            .insert_ocsp_responder(
                ca_id,
                &der,
                &[],
                now.unix_timestamp(),
                not_after,
                now.unix_timestamp(),
            )
            .await?;
        let sealed = self.kek.seal(
            &key.pkcs8,
            &responder_key_purpose(ca_id, id),
            self.rng.as_ref(),
        )?;
        tx.set_ocsp_responder_key(id, &sealed).await?;
        tx.commit().await?;
        tracing::info!(ca = %ca.record.ca.slug, %serial, "new OCSP responder certificate");
        let signer = Arc::new(SoftwareSigner::from_pkcs8(&key.pkcs8)?);
        Ok(LoadedResponder {
            responder: Responder::new(signer, &der)?,
            not_after,
        })
    }

    /// Makes sure every issuing CA has a responder with more than the roll days left.
    pub async fn roll_ocsp_responders(&self) -> Result<()> {
        let now = self.now();
        for ids in &self.revocation.issuer_ids {
            let expired = self
                .cas
                .iter()
                .find(|c| c.record.id == ids.ca_id)
                .is_none_or(|c| c.record.ca.not_after <= now);
            if !expired {
                self.responder(ids.ca_id).await?;
            }
        }
        Ok(())
    }

    /// Signs every missing, ageing or outdated answer (the pre-signing job), walking the
    /// certificates once in batches of `batch`: signed first, then stored in one transaction
    /// per batch. Answers in memory are replaced; others are not loaded into it.
    pub async fn presign_ocsp(&self, batch: i64) -> Result<OcspWork> {
        let now = self.now();
        let refresh_before = now + self.revocation.settings.ocsp_refresh_hours * 3600;
        let mut after = CertificateId(0);
        let mut work = OcspWork::default();
        loop {
            let due = self
                .store
                .ocsp_due(now, refresh_before, after, batch.max(1))
                .await?;
            let Some(last) = due.last() else { break };
            after = last.certificate_id;
            let mut signed = Vec::with_capacity(due.len());
            for item in &due {
                let Some(algorithm) = HashAlgorithm::parse(&item.hash_algorithm) else {
                    continue;
                };
                if !self
                    .revocation
                    .issuer_ids
                    .iter()
                    .any(|i| i.ca_id == item.ca_id)
                {
                    continue;
                }
                let serial = Serial::from_hex(&item.serial)?;
                let stored = self
                    .sign_answer(
                        item.ca_id,
                        serial.as_bytes(),
                        item.revoked_at,
                        item.reason,
                        algorithm,
                        now,
                    )
                    .await?;
                signed.push((item.certificate_id, algorithm, serial, stored));
            }
            let mut tx = self.store.begin().await?;
            for (id, algorithm, _, stored) in &signed {
                tx.put_ocsp_response(*id, algorithm.as_str(), stored)
                    .await?;
            }
            tx.commit().await?;
            for (_, algorithm, serial, stored) in signed {
                work.signed += 1;
                self.revocation.cache.refresh(
                    serial.as_bytes().to_vec(),
                    algorithm,
                    Cached::from(stored),
                );
            }
            if (due.len() as i64) < batch {
                break;
            }
        }
        Ok(work)
    }

    /// Brings the in-memory responses up to date with the store (answers another node
    /// signed, after a revocation there); returns the time to ask from next.
    pub async fn follow_ocsp_changes(&self, since: i64) -> Result<i64> {
        let now = self.now();
        for changed in self.store.ocsp_changed_since(since).await? {
            let (Some(algorithm), Ok(serial)) = (
                HashAlgorithm::parse(&changed.hash_algorithm),
                Serial::from_hex(&changed.serial),
            ) else {
                continue;
            };
            self.revocation.cache.refresh(
                serial.as_bytes().to_vec(),
                algorithm,
                Cached::from(changed.response),
            );
        }
        // Responses are stamped in whole seconds: ask again from a second back.
        Ok(now - 1)
    }

    /// Signs the revoked answers of just-revoked certificates at once (all hash algorithms
    /// that had an answer), so the responder never says good after a revocation.
    pub(crate) async fn resign_revoked(&self, certificates: &[CertificateId]) -> Result<()> {
        let now = self.now();
        for id in certificates {
            let Some(record) = self.store.certificate_by_id(*id).await? else {
                continue;
            };
            let serial = Serial::from_hex(&record.certificate.serial)?;
            for algorithm in [HashAlgorithm::Sha1, HashAlgorithm::Sha256] {
                let has = self
                    .store
                    .ocsp_subject(&record.certificate.serial, algorithm.as_str())
                    .await?
                    .is_some_and(|s| s.response.is_some());
                if algorithm == HashAlgorithm::Sha1 || has {
                    self.sign_and_keep(
                        *id,
                        record.certificate.issuer_ca_id,
                        serial.as_bytes(),
                        record.revoked_at,
                        record.revocation_reason.unwrap_or(0),
                        algorithm,
                        now,
                    )
                    .await?;
                }
            }
        }
        Ok(())
    }
}

fn cached_reply(cached: Cached) -> OcspReply {
    OcspReply {
        der: cached.der,
        cacheable: Some((cached.this_update, cached.next_update)),
    }
}

/// The AAD a responder key is sealed under.
fn responder_key_purpose(ca: CaId, id: i64) -> String {
    format!("ocsp-responder-key:{ca}:{id}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn entry(this_update: i64, next_update: i64) -> Cached {
        Cached {
            der: Bytes::from_static(b"answer"),
            this_update,
            next_update,
        }
    }

    #[test]
    fn a_full_cache_drops_expired_answers_then_half() {
        let cache = ResponseCache::new(4);
        for serial in 1..=4u8 {
            // Serial 1's answer expired at 50.
            let next = if serial == 1 { 50 } else { 500 };
            cache.put(vec![serial], HashAlgorithm::Sha1, entry(10, next));
        }
        cache.put(vec![5], HashAlgorithm::Sha1, entry(100, 600));
        assert!(
            cache.get(&[1], HashAlgorithm::Sha1, 0).is_none(),
            "expired: dropped"
        );
        let kept = (2..=4u8)
            .filter(|s| cache.get(&[*s], HashAlgorithm::Sha1, 100).is_some())
            .count();
        assert!(kept <= 2, "about half of the rest goes: {kept} kept");
        assert!(cache.get(&[5], HashAlgorithm::Sha1, 100).is_some());
        assert!(cache.get(&[5], HashAlgorithm::Sha256, 100).is_none());
        // A newer answer replaces a cached one; an older one does not.
        cache.refresh(vec![5], HashAlgorithm::Sha1, entry(200, 700));
        cache.refresh(vec![5], HashAlgorithm::Sha1, entry(150, 650));
        assert_eq!(
            cache
                .get(&[5], HashAlgorithm::Sha1, 100)
                .unwrap()
                .next_update,
            700
        );
        // Refreshing an answer not in memory does not load it.
        cache.refresh(vec![9], HashAlgorithm::Sha1, entry(200, 700));
        assert!(cache.get(&[9], HashAlgorithm::Sha1, 100).is_none());
    }
}
