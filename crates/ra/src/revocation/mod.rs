//! Revocation status for relying parties: CRLs, the OCSP responder, and what a revocation
//! sets off (fresh OCSP responses at once, a new CRL within the configured delay, and for
//! a key compromise, the key blocked and its other certificates revoked).
//!
//! The responder never signs on a relying party's behalf faster than a set rate: answers
//! are signed ahead (by the pre-signing job, and at once after a revocation), stored, and
//! served from memory; see `docs/adr/0011-pre-signed-ocsp.md`.

mod crl;
mod ocsp;

pub use crl::{CrlFile, CrlPublished};
pub use ocsp::{OcspReply, OcspWork};

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

/// How CRLs and OCSP responses are produced (`[revocation]` in castellan.toml).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RevocationSettings {
    /// How many CRL shards new certificates are spread over (1: one CRL per CA). A
    /// certificate's shard is recorded when it is issued and named in its
    /// cRLDistributionPoints, so changing this never moves an issued certificate.
    pub crl_shards: u32,
    /// nextUpdate − thisUpdate of a CRL, in hours.
    pub crl_validity_hours: i64,
    /// A CRL is published again when it is this many hours old, revocation or not.
    pub crl_refresh_hours: i64,
    /// How soon after a revocation the CRL lists it, in seconds (the CRL job's period).
    pub crl_delay_seconds: u64,
    /// nextUpdate − thisUpdate of an OCSP response, in hours.
    pub ocsp_validity_hours: i64,
    /// A response is signed again when less than this many hours are left of it.
    pub ocsp_refresh_hours: i64,
    /// Lifetime of an OCSP responder certificate, in days.
    pub ocsp_responder_days: u32,
    /// A responder is replaced when fewer than this many days are left of it.
    pub ocsp_responder_roll_days: u32,
    /// Signatures per second the responder may make for requests it has no pre-signed
    /// answer for (nonces, unknown serials, new certificates); above it, `tryLater`.
    pub ocsp_signatures_per_second: u32,
    /// Pre-signed responses kept in memory.
    pub ocsp_cache_entries: usize,
    /// A keyCompromise revocation also revokes every other Issued certificate with the
    /// same public key.
    pub revoke_same_key_on_compromise: bool,
}

impl Default for RevocationSettings {
    fn default() -> RevocationSettings {
        RevocationSettings {
            crl_shards: 1,
            crl_validity_hours: 7 * 24,
            crl_refresh_hours: 24,
            crl_delay_seconds: 60,
            ocsp_validity_hours: 96,
            ocsp_refresh_hours: 48,
            ocsp_responder_days: 30,
            ocsp_responder_roll_days: 15,
            ocsp_signatures_per_second: 100,
            ocsp_cache_entries: 200_000,
            revoke_same_key_on_compromise: true,
        }
    }
}

impl RevocationSettings {
    /// Refuses settings that cannot work, naming the setting.
    pub fn check(&self) -> Result<(), String> {
        let rule = |ok: bool, msg: &str| if ok { Ok(()) } else { Err(msg.to_owned()) };
        rule(
            (1..=4096).contains(&self.crl_shards),
            "revocation.crl_shards must be between 1 and 4096",
        )?;
        rule(
            self.crl_refresh_hours >= 1 && self.crl_refresh_hours < self.crl_validity_hours,
            "revocation.crl_refresh_hours must be at least 1 and below crl_validity_hours",
        )?;
        rule(
            self.crl_validity_hours <= 10 * 24,
            "revocation.crl_validity_hours must be at most 240 (the CA/Browser Forum's 10 days)",
        )?;
        rule(
            (1..=3600).contains(&self.crl_delay_seconds),
            "revocation.crl_delay_seconds must be between 1 and 3600",
        )?;
        rule(
            self.ocsp_refresh_hours >= 1 && self.ocsp_refresh_hours < self.ocsp_validity_hours,
            "revocation.ocsp_refresh_hours must be at least 1 and below ocsp_validity_hours",
        )?;
        rule(
            self.ocsp_validity_hours <= 10 * 24,
            "revocation.ocsp_validity_hours must be at most 240 (the CA/Browser Forum's 10 days)",
        )?;
        rule(
            self.ocsp_responder_roll_days >= 1
                && self.ocsp_responder_roll_days < self.ocsp_responder_days
                && i64::from(self.ocsp_responder_roll_days) * 24 > self.ocsp_validity_hours,
            "revocation.ocsp_responder_roll_days must be below ocsp_responder_days and longer \
             than ocsp_validity_hours, so every response outlives neither its responder",
        )?;
        rule(
            self.ocsp_signatures_per_second >= 1,
            "revocation.ocsp_signatures_per_second must be at least 1",
        )?;
        Ok(())
    }
}

/// A token bucket: at most `rate` takes per second, bursts of `rate`.
#[derive(Debug)]
pub(crate) struct RateLimit {
    rate: f64,
    state: Mutex<(f64, Instant)>,
}

impl RateLimit {
    pub(crate) fn new(rate: u32) -> RateLimit {
        let rate = f64::from(rate.max(1));
        RateLimit {
            rate,
            state: Mutex::new((rate, Instant::now())),
        }
    }

    /// Takes one token if there is one.
    pub(crate) fn try_take(&self) -> bool {
        let Ok(mut state) = self.state.lock() else {
            return false;
        };
        let now = Instant::now();
        let refill = now.duration_since(state.1).as_secs_f64() * self.rate;
        state.0 = (state.0 + refill).min(self.rate);
        state.1 = now;
        if state.0 >= 1.0 {
            state.0 -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The revocation machinery an [`crate::Authority`] carries.
pub(crate) struct Revocation {
    pub(crate) settings: RevocationSettings,
    pub(crate) responders: RwLock<HashMap<castellan_model::CaId, Arc<ocsp::LoadedResponder>>>,
    pub(crate) responder_creation: tokio::sync::Mutex<()>,
    pub(crate) cache: ocsp::ResponseCache,
    pub(crate) signing_budget: RateLimit,
    pub(crate) crls: RwLock<HashMap<(castellan_model::CaId, i64), Arc<CrlFile>>>,
    pub(crate) crl_publishing: tokio::sync::Mutex<()>,
    pub(crate) issuer_ids: Vec<ocsp::IssuerIds>,
}

impl Revocation {
    pub(crate) fn new(
        settings: RevocationSettings,
        issuer_ids: Vec<ocsp::IssuerIds>,
    ) -> Revocation {
        Revocation {
            signing_budget: RateLimit::new(settings.ocsp_signatures_per_second),
            cache: ocsp::ResponseCache::new(settings.ocsp_cache_entries),
            settings,
            responders: RwLock::new(HashMap::new()),
            responder_creation: tokio::sync::Mutex::new(()),
            crls: RwLock::new(HashMap::new()),
            crl_publishing: tokio::sync::Mutex::new(()),
            issuer_ids,
        }
    }
}

pub(crate) use ocsp::issuer_ids;
