//! What the store keeps in memory on SQLite, and the generations that keep it exact
//! (ADR 0023 for ACME registrations and accounts, ADR 0025 for the organisations, domains
//! and validations of a name check, and the keys blocked after a key compromise).
//!
//! A copy is exact, never merely recent:
//! - every connection of the store reports each row it changes (SQLite's update hook, so
//!   cascades and statements written later are covered too): the *generation* of the
//!   [`Watch`] over that table moves on at once, and again after the batch's COMMIT
//!   (`Writer::finish`), when the change becomes visible;
//! - a copy is kept only if its generation did not move while it was read, and used only
//!   while the generation is the one it was read in.
//!
//! So after a change commits, no copy read before the commit is used again, and a copy read
//! while the change was still uncommitted (it shows the old row) is dropped by the second
//! move. Only this process's connections report changes: the copies are for SQLite, where
//! one `castellan serve` owns the database (its ACME nonces are in its memory too) and the
//! command-line tools never write the watched tables. On PostgreSQL, which several
//! processes may share, nothing is kept.

use crate::acme_cache::AcmeCache;
use crate::directory_cache::DirectoryCache;
use crate::{BlockedKey, Result};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Everything kept, told of every changed row and of the end of every batch.
pub(crate) struct Kept {
    pub(crate) acme: AcmeCache,
    pub(crate) directory: DirectoryCache,
    /// The keys blocked after a key compromise, by the hex SHA-256 of their
    /// SubjectPublicKeyInfo (every issuance asks; a key is blocked rarely).
    pub(crate) blocked_keys: Snapshot<HashMap<String, BlockedKey>>,
}

impl Default for Kept {
    fn default() -> Self {
        Kept {
            acme: AcmeCache::default(),
            directory: DirectoryCache::default(),
            blocked_keys: Snapshot::new(&["blocked_keys"]),
        }
    }
}

impl Kept {
    /// Every generation kept.
    fn watches(&self) -> [&Watch; 5] {
        let [organizations, domains, dcvs] = self.directory.watches();
        [
            self.acme.watch(),
            organizations,
            domains,
            dcvs,
            self.blocked_keys.watch(),
        ]
    }

    /// SQLite's update hook: a row of `table` changed (not yet committed).
    pub(crate) fn row_changed(&self, table: &str) {
        for watch in self.watches() {
            watch.row_changed(table);
        }
    }

    /// The writer's batch ended (committed or rolled back).
    pub(crate) fn batch_ended(&self) {
        for watch in self.watches() {
            watch.batch_ended();
        }
    }
}

/// The generation of what was read from some tables.
pub(crate) struct Watch {
    tables: &'static [&'static str],
    generation: AtomicU64,
    /// A watched row changed since the last COMMIT or rollback of the writer.
    changed: AtomicBool,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl Watch {
    pub(crate) const fn new(tables: &'static [&'static str]) -> Watch {
        Watch {
            tables,
            generation: AtomicU64::new(0),
            changed: AtomicBool::new(false),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    pub(crate) fn current(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// A row of `table` changed (not yet committed): what is kept from it is not used again.
    pub(crate) fn row_changed(&self, table: &str) {
        if self.tables.contains(&table) {
            self.changed.store(true, Ordering::SeqCst);
            self.generation.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// The writer's batch ended: if it changed a watched row, what was read while it was
    /// open is not used again.
    pub(crate) fn batch_ended(&self) {
        if self.changed.swap(false, Ordering::SeqCst) {
            self.generation.fetch_add(1, Ordering::SeqCst);
        }
    }

    pub(crate) fn hit(&self) {
        self.hits.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn miss(&self) {
        self.misses.fetch_add(1, Ordering::Relaxed);
    }

    /// (reads answered from memory, reads that went to the database).
    pub(crate) fn counts(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::SeqCst),
            self.misses.load(Ordering::SeqCst),
        )
    }
}

/// One value read whole (a table, or the part of it a check needs), with the generation it
/// was read in.
pub(crate) struct Snapshot<T> {
    watch: Watch,
    kept: Mutex<Option<(u64, Arc<T>)>>,
    /// One read at a time after a change: the others wait for it rather than read the same
    /// table again each.
    reading: tokio::sync::Mutex<()>,
}

impl<T> Snapshot<T> {
    pub(crate) const fn new(tables: &'static [&'static str]) -> Snapshot<T> {
        Snapshot {
            watch: Watch::new(tables),
            kept: Mutex::new(None),
            reading: tokio::sync::Mutex::const_new(()),
        }
    }

    pub(crate) fn watch(&self) -> &Watch {
        &self.watch
    }

    fn current(&self) -> Option<Arc<T>> {
        let generation = self.watch.current();
        match &*self.kept.lock().ok()? {
            Some((kept_in, value)) if *kept_in == generation => Some(value.clone()),
            _ => None,
        }
    }

    /// The value, from memory when the copy is of the current generation, otherwise from
    /// `read` (kept if nothing changed meanwhile).
    pub(crate) async fn read_through<F>(&self, read: impl FnOnce() -> F) -> Result<Arc<T>>
    where
        F: Future<Output = Result<T>>,
    {
        if let Some(value) = self.current() {
            self.watch.hit();
            return Ok(value);
        }
        let _reading = self.reading.lock().await;
        // Read by another while this one waited.
        if let Some(value) = self.current() {
            self.watch.hit();
            return Ok(value);
        }
        self.watch.miss();
        // Taken before the read: a change reported after it keeps the copy out.
        let generation = self.watch.current();
        let value = Arc::new(read().await?);
        if let Ok(mut kept) = self.kept.lock()
            && self.watch.current() == generation
        {
            *kept = Some((generation, value.clone()));
        }
        Ok(value)
    }
}

/// The value of `snapshot` (where one is kept: SQLite) through [`Snapshot::read_through`];
/// otherwise straight from `read`.
pub(crate) async fn read_through<T, F>(
    snapshot: Option<&Snapshot<T>>,
    read: impl FnOnce() -> F,
) -> Result<Arc<T>>
where
    F: Future<Output = Result<T>>,
{
    match snapshot {
        Some(snapshot) => snapshot.read_through(read).await,
        None => Ok(Arc::new(read().await?)),
    }
}

/// The entries of `sorted` (sorted by `key`) whose key is one of `keys`, in `sorted`'s
/// order, each once.
pub(crate) fn pick<T: Clone>(sorted: &[T], keys: &[String], key: impl Fn(&T) -> &str) -> Vec<T> {
    let mut found: Vec<usize> = keys
        .iter()
        .filter_map(|k| sorted.binary_search_by(|e| key(e).cmp(k.as_str())).ok())
        .collect();
    found.sort_unstable();
    found.dedup();
    found.into_iter().map(|i| sorted[i].clone()).collect()
}
