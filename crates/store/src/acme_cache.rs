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
//! The copies are exact by generation (`kept.rs`): a changed row of `acme_registrations`,
//! `acme_accounts` or `acme_account_domains` retires them all.

use crate::Result;
use crate::acme::{AcmeAccountRecord, AcmeRegistration};
use crate::kept::Watch;
use std::collections::HashMap;
use std::sync::Mutex;

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
pub(crate) struct AcmeCache {
    watch: Watch,
    /// Registrations by id.
    pub(crate) registrations: Copies<RegistrationOn>,
    /// ACME accounts by id.
    pub(crate) accounts: Copies<AcmeAccountRecord>,
}

impl Default for AcmeCache {
    fn default() -> Self {
        AcmeCache {
            watch: Watch::new(&WATCHED),
            registrations: Copies::default(),
            accounts: Copies::default(),
        }
    }
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
    fn keep(&self, id: i64, generation: u64, value: &T, watch: &Watch) {
        let Ok(mut map) = self.0.lock() else { return };
        if watch.current() != generation {
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
    let generation = cache.watch.current();
    if let Some(found) = copies(cache).get(id, generation) {
        cache.watch.hit();
        return Ok(Some(found));
    }
    cache.watch.miss();
    let found = read().await?;
    if let Some(found) = &found {
        copies(cache).keep(id, generation, found, &cache.watch);
    }
    Ok(found)
}

impl AcmeCache {
    /// The generation the copies are checked against.
    pub(crate) fn watch(&self) -> &Watch {
        &self.watch
    }

    /// (reads answered from a copy, reads that went to the database).
    pub(crate) fn counts(&self) -> (u64, u64) {
        self.watch.counts()
    }
}
