//! ACME registrations and accounts kept in memory on SQLite
//! (`docs/adr/0023-acme-registrations-kept-in-memory.md`).
//!
//! Every signed ACME request reads its registration (the account key that must verify the
//! JWS), and new-order and finalize read the ACME account it is bound to and its domains:
//! eight short read transactions per order (four signed requests, two statements each at
//! new-order and finalize) for rows that change only when a client rolls its key over,
//! updates or deactivates its account, or an administrator edits the ACME account. On
//! SQLite each of those reads starts a read transaction on a connection whose page cache
//! the last commit emptied, so they cost more than the rows are worth.
//!
//! A copy is exact, never merely recent:
//! - every connection of the store reports each row it changes in `acme_registrations`,
//!   `acme_accounts` or `acme_account_domains` (SQLite's update hook, so cascades and
//!   statements written later are covered too): the *generation* moves on at once, and
//!   again after the batch's COMMIT (`Writer::finish`), when the change becomes visible;
//! - a copy is kept only if the generation did not move while it was read, and used only
//!   while the generation is the one it was read in.
//!
//! So after a change commits, no copy read before the commit is used again, and a copy read
//! while the change was still uncommitted (it shows the old row) is dropped by the second
//! move. Only this process's connections report changes: the copies are for SQLite, where
//! one `castellan serve` owns the database (its ACME nonces are in its memory too) and the
//! command-line tools never write these tables. On PostgreSQL, which several processes may
//! share, nothing is kept.

use crate::Result;
use crate::acme::{AcmeAccountRecord, AcmeRegistration};
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// The tables whose rows the copies are made of.
const WATCHED: [&str; 3] = [
    "acme_registrations",
    "acme_accounts",
    "acme_account_domains",
];

/// More copies than this and all are dropped (an open-registration server can have many
/// registrations; the ones in use come back on their next request).
const MAX_COPIES: usize = 10_000;

/// A registration with the name of the ACME server its account is on.
pub(crate) type RegistrationOn = (AcmeRegistration, String);

/// The copies, and the generation they are checked against.
#[derive(Default)]
pub(crate) struct AcmeCache {
    generation: AtomicU64,
    /// A watched row changed since the last COMMIT or rollback of the writer.
    changed: AtomicBool,
    /// Registrations by id.
    pub(crate) registrations: Copies<RegistrationOn>,
    /// ACME accounts by id.
    pub(crate) accounts: Copies<AcmeAccountRecord>,
    hits: AtomicU64,
    misses: AtomicU64,
}

/// Copies of one kind of row by id, each with the generation it was read in.
pub(crate) struct Copies<T>(Mutex<HashMap<i64, (u64, T)>>);

impl<T> Default for Copies<T> {
    fn default() -> Self {
        Copies(Mutex::new(HashMap::new()))
    }
}

impl<T: Clone> Copies<T> {
    fn get(&self, id: i64, generation: u64) -> Option<T> {
        let map = self.0.lock().ok()?;
        match map.get(&id) {
            Some((kept_in, value)) if *kept_in == generation => Some(value.clone()),
            _ => None,
        }
    }

    /// Keeps `value` if the generation is still the one it was read in (checked under the
    /// map's lock, so a change reported meanwhile wins).
    fn keep(&self, id: i64, generation: u64, value: &T, now: &AtomicU64) {
        let Ok(mut map) = self.0.lock() else { return };
        if now.load(Ordering::SeqCst) != generation {
            return;
        }
        if map.len() >= MAX_COPIES {
            map.clear();
        }
        map.insert(id, (generation, value.clone()));
    }
}

/// Row `id` from `copies` (of `cache`, where one is kept: SQLite) when a copy of the current
/// generation is there; otherwise from `read`, keeping what it found if nothing changed
/// meanwhile.
pub(crate) async fn read_through<T, F>(
    cache: Option<&AcmeCache>,
    copies: impl Fn(&AcmeCache) -> &Copies<T>,
    id: i64,
    read: impl FnOnce() -> F,
) -> Result<Option<T>>
where
    T: Clone,
    F: Future<Output = Result<Option<T>>>,
{
    let Some(cache) = cache else {
        return read().await;
    };
    // Taken before the read: a change reported after it keeps the copy out.
    let generation = cache.generation.load(Ordering::SeqCst);
    if let Some(found) = copies(cache).get(id, generation) {
        cache.hits.fetch_add(1, Ordering::Relaxed);
        return Ok(Some(found));
    }
    cache.misses.fetch_add(1, Ordering::Relaxed);
    let found = read().await?;
    if let Some(found) = &found {
        copies(cache).keep(id, generation, found, &cache.generation);
    }
    Ok(found)
}

impl AcmeCache {
    /// SQLite's update hook: a row of `table` changed (not yet committed).
    pub(crate) fn row_changed(&self, table: &str) {
        if WATCHED.contains(&table) {
            self.changed.store(true, Ordering::SeqCst);
            self.generation.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// The writer's batch ended (committed or rolled back): if it changed a watched row,
    /// what was read while it was open is no longer used.
    pub(crate) fn batch_ended(&self) {
        if self.changed.swap(false, Ordering::SeqCst) {
            self.generation.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// (reads answered from a copy, reads that went to the database).
    pub(crate) fn counts(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::SeqCst),
            self.misses.load(Ordering::SeqCst),
        )
    }
}
