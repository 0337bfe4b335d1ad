//! CAA answers kept for reuse within their TTL.
//!
//! The Baseline Requirements (§3.2.2.8) let a CA rely on a CAA answer for the record's TTL (or
//! 8 hours, whichever is greater); a caching recursive resolver in front of Castellan does the
//! same. Reusing them here saves most of the questions of a busy service: every name's check
//! climbs to the TLD, and the parents (`ac.uk`, `uk`, the institution's own domain) are the
//! same for every order. Castellan keeps an answer for its TTL (for "no such record", the
//! zone's negative TTL) and never longer than the configured maximum (`caa_cache_seconds`),
//! so an administrator who changes a record knows when it counts. Failed lookups are never
//! kept. DCV answers are not kept at all (see [`super`]).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{CaaRecord, Lookup};

/// The most answers kept; past it, expired answers are dropped, and if none had expired, all.
const MAX_ENTRIES: usize = 10_000;

/// How an answer taken from the cache came about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reused {
    /// How long ago the question was asked.
    pub age: Duration,
    /// How much longer the answer will be reused.
    pub left: Duration,
    /// The configured maximum (`caa_cache_seconds`).
    pub max: Duration,
}

impl Reused {
    /// Whole seconds until a changed record counts, rounded up (never "0 s" while the
    /// answer is still reused).
    pub fn seconds_left(&self) -> u64 {
        self.left.as_secs() + u64::from(self.left.subsec_nanos() > 0)
    }
}

/// The CAA answers of one resolver, by normalised name.
pub(super) struct CaaAnswers {
    max: Duration,
    entries: Mutex<HashMap<String, Kept>>,
}

struct Kept {
    lookup: Lookup<Vec<CaaRecord>>,
    asked: Instant,
    until: Instant,
}

impl CaaAnswers {
    /// Answers are kept for their TTL, at most `max`; zero keeps nothing.
    pub(super) fn new(max: Duration) -> CaaAnswers {
        CaaAnswers {
            max,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The kept answer for `name`, if it is still fresh, with a first transcript line saying
    /// it was reused and how old it is.
    pub(super) fn get(&self, name: &str) -> Option<Lookup<Vec<CaaRecord>>> {
        if self.max.is_zero() {
            return None;
        }
        let now = Instant::now();
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let kept = entries.get(name).filter(|k| k.until > now)?;
        let reused = Reused {
            age: now.duration_since(kept.asked),
            left: kept.until.duration_since(now),
            max: self.max,
        };
        let mut lookup = kept.lookup.clone();
        lookup.transcript.insert(
            0,
            format!(
                "reused the answer to CAA {name}. from {} s ago (CAA answers are kept for \
                 their TTL, at most {} s; {} s left):",
                reused.age.as_secs(),
                reused.max.as_secs(),
                reused.seconds_left()
            ),
        );
        lookup.reused = Some(reused);
        Some(lookup)
    }

    /// Keeps `lookup`, the answer to CAA `name`, for `ttl` (at most the maximum).
    pub(super) fn keep(&self, name: String, lookup: &Lookup<Vec<CaaRecord>>, ttl: Duration) {
        let keep_for = ttl.min(self.max);
        if keep_for.is_zero() {
            return;
        }
        let asked = Instant::now();
        let Some(until) = asked.checked_add(keep_for) else {
            return;
        };
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(&name) {
            entries.retain(|_, k| k.until > asked);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(
            name,
            Kept {
                lookup: lookup.clone(),
                asked,
                until,
            },
        );
    }
}
