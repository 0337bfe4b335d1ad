//! Group commit for SQLite (`docs/adr/0019-sqlite-group-commit.md`).
//!
//! With `PRAGMA synchronous = FULL` SQLite fsyncs the WAL inside every COMMIT, while the
//! single writer lock is held: one fsync per transaction, and every other writer waits for
//! it. Here the connections run with `synchronous = NORMAL` (SQLite syncs only around
//! checkpoints) and [`Tx::commit`](crate::Tx::commit) makes the commit durable itself: after
//! COMMIT has written the transaction's frames to the WAL and the writer lock is released,
//! it waits until an fsync of the WAL file that *started after* its COMMIT has finished.
//! Commits that arrive while one fsync runs share the next one. A caller still hears
//! "committed" only once its transaction is on disk.
//!
//! Since ADR 0022 a commit here is the COMMIT of a batch of transactions (`writer.rs`): the
//! leader COMMITs the open batch just before it syncs, so the counts below count COMMITs,
//! not transactions.

use crate::{Result, StoreError};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::{Mutex, MutexGuard};

/// The commits made and the commits known durable, counted.
pub(crate) struct GroupSync {
    /// The database's WAL file (`<database>-wal`).
    wal: PathBuf,
    /// Commits finished (their frames written to the WAL), counted from 1.
    committed: AtomicU64,
    /// Every commit up to this count is on disk.
    synced: AtomicU64,
    /// Held by the task running the fsync; the others queue behind it.
    leader: Mutex<()>,
    /// fsyncs run, for tests and diagnostics.
    syncs: AtomicU64,
}

impl GroupSync {
    pub(crate) fn new(wal: PathBuf) -> GroupSync {
        GroupSync {
            wal,
            committed: AtomicU64::new(0),
            synced: AtomicU64::new(0),
            leader: Mutex::new(()),
            syncs: AtomicU64::new(0),
        }
    }

    /// Counts a finished COMMIT; returns its ticket for [`GroupSync::durable`].
    pub(crate) fn committed(&self) -> u64 {
        self.committed.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Returns once commit `ticket` is on disk: at once when an fsync that started after it
    /// has finished, otherwise after running one (for every commit counted so far).
    pub(crate) async fn durable(&self, ticket: u64) -> Result<()> {
        if self.synced.load(Ordering::SeqCst) >= ticket {
            return Ok(());
        }
        let leader = self.lead().await;
        self.durable_led(ticket, leader).await
    }

    /// Waits for the leader's place: behind the fsync running now, if any.
    pub(crate) async fn lead(&self) -> MutexGuard<'_, ()> {
        self.leader.lock().await
    }

    /// [`GroupSync::durable`] for the leader: syncs unless an fsync that started after
    /// commit `ticket` has finished meanwhile.
    pub(crate) async fn durable_led(&self, ticket: u64, _leader: MutexGuard<'_, ()>) -> Result<()> {
        if self.synced.load(Ordering::SeqCst) >= ticket {
            return Ok(());
        }
        // Every commit counted by now has written its frames: this fsync covers them all.
        let target = self.committed.load(Ordering::SeqCst);
        let wal = self.wal.clone();
        let synced = match tokio::task::spawn_blocking(move || sync_file(&wal)).await {
            Ok(done) => done.map_err(|e| e.to_string()),
            Err(e) => Err(format!("the sync task failed: {e}")),
        };
        synced.map_err(|reason| StoreError::Durability {
            path: self.wal.display().to_string(),
            reason,
        })?;
        self.syncs.fetch_add(1, Ordering::SeqCst);
        self.synced.fetch_max(target, Ordering::SeqCst);
        Ok(())
    }

    /// Returns once every commit counted so far is on disk: what a reader waits for before
    /// handing out what it read (it may have seen a commit whose fsync has not run yet).
    pub(crate) async fn settle(&self) -> Result<()> {
        let target = self.committed.load(Ordering::SeqCst);
        self.durable(target).await
    }

    /// (commits, commits known durable, fsyncs run).
    pub(crate) fn counts(&self) -> (u64, u64, u64) {
        (
            self.committed.load(Ordering::SeqCst),
            self.synced.load(Ordering::SeqCst),
            self.syncs.load(Ordering::SeqCst),
        )
    }
}

/// fdatasync of the WAL file. fsync acts on the file, not on the descriptor, so a descriptor
/// of our own flushes the frames SQLite's connections wrote. No WAL file means the last
/// connection closed, which checkpoints into the database and syncs it first.
fn sync_file(path: &std::path::Path) -> std::io::Result<()> {
    match std::fs::File::open(path) {
        Ok(file) => file.sync_data(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}
