//! SQLite's single writer, and the shared commit (`docs/adr/0022-sqlite-shared-commit.md`).
//!
//! SQLite lets one connection write at a time, so the store serialises its write
//! transactions behind one lock, the [`Writer`]. Each transaction runs in a savepoint
//! (`SAVEPOINT member`) inside an SQLite transaction that may hold several: a *batch*.
//!
//! With `SqliteSync::Full` a transaction that commits does not run COMMIT itself: it releases
//! its savepoint, leaves the batch open for the next writer and waits for the group commit's
//! leader (`group_sync.rs`), which COMMITs the open batch just before the fsync that makes it
//! durable. Every transaction that commits while one fsync runs joins the same batch, so the
//! pages they all touch (the right-most leaves of the tables and their indexes, the audit
//! chain's head) go to the WAL once per batch instead of once per transaction, and the
//! batch pays one COMMIT's locking. Before its COMMIT the leader lets the other tasks run
//! while they keep the thread busy (at most 2 ms), so that the transactions they are about
//! to commit join too (`Writer::gather`, ADR 0024). With `SqliteSync::Normal` each
//! transaction commits at once, alone.
//!
//! Nothing is weakened:
//! - a caller hears "committed" only once its batch is committed and synced;
//! - a transaction that rolls back undoes its own savepoint only;
//! - a COMMIT that fails, or a statement error that rolls back the whole SQLite transaction,
//!   fails every transaction of the batch, none of which has been answered yet;
//! - a caller that goes away while it waits (a dropped future) leaves a task behind that
//!   commits its batch, so the SQLite write lock is never left held.
//!
//! Lock order: the group commit's leader lock, then the writer lock. Nothing waits for the
//! leader while holding the writer lock: `Member::commit` lets go of the writer lock first,
//! and `Store::settle` is called outside transactions.

use crate::db::{PooledSqlite, SqlitePool, run_cached};
use crate::group_sync::GroupSync;
use crate::kept::Kept;
use crate::{Result, StoreError};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::{Mutex, OwnedMutexGuard};

/// The savepoint each transaction of a batch runs in.
const SAVEPOINT: &str = "SAVEPOINT member";
/// A transaction's commit inside its batch.
const RELEASE: &[&str] = &["RELEASE member"];
/// A transaction's rollback inside its batch.
const UNDO: &[&str] = &["ROLLBACK TO member", "RELEASE member"];

/// The writer lock and the batch it guards.
pub(crate) struct Writer {
    slot: Arc<Mutex<Slot>>,
    /// `SqliteSync::Full`: the group commit, which COMMITs and syncs the batches. `None`:
    /// each transaction commits at once.
    sync: Option<GroupSync>,
    /// Told when a batch ends, so that copies read while it was open are not used after
    /// its COMMIT (`kept.rs`).
    kept: Arc<Kept>,
    /// How long the leader may gather its batch, in microseconds ([`GATHER_FOR`]; tests
    /// set it).
    gather_for_micros: AtomicU64,
}

/// A batch this large has shared its COMMIT enough: the leader gathers no longer.
const GATHER_UNTIL: usize = 16;

/// The longest the group commit's leader lets other tasks run before it COMMITs: under
/// load, the batch it gathers meanwhile saves COMMITs, fsyncs and cold reads (ADR 0024).
const GATHER_FOR: Duration = Duration::from_millis(2);

/// A yield that comes back sooner than this found no other task ready to run (or only ran
/// before those that yielded earlier: see `Writer::gather`).
const IDLE_YIELD: Duration = Duration::from_micros(20);

/// What the writer lock guards: the open batch, if any.
#[derive(Default)]
pub(crate) struct Slot {
    open: Option<Open>,
}

/// An SQLite transaction (`BEGIN IMMEDIATE`) holding the savepoints released into it.
struct Open {
    conn: PooledSqlite,
    batch: Arc<Batch>,
    /// Transactions committed into it (their savepoints released).
    members: usize,
}

impl Open {
    /// Runs `statements` (the savepoint's release or undo) in the batch, unless an error
    /// already ended the SQLite transaction: then the batch is lost, and the reason says so.
    fn run(&self, statements: &[&str]) -> std::result::Result<(), String> {
        match self.conn.connection() {
            Ok(c) if c.is_autocommit() => Err(format!(
                "an error rolled back the SQLite transaction this one shared with {} other \
                 transaction(s)",
                self.members
            )),
            Ok(c) => statements
                .iter()
                .try_for_each(|sql| run_cached(c, sql))
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// What the COMMIT of a batch gave, for the transactions waiting on it.
#[derive(Default)]
struct Batch {
    /// The group commit's ticket of the COMMIT, or why the batch was lost.
    outcome: OnceLock<std::result::Result<u64, String>>,
}

/// One write transaction: the writer lock, with the open batch's connection inside
/// `SAVEPOINT member`. Dropped without [`Member::commit`], it rolls back its savepoint.
pub(crate) struct Member {
    guard: Option<OwnedMutexGuard<Slot>>,
    writer: Arc<Writer>,
    /// Whether `SAVEPOINT member` was opened (it may fail).
    in_savepoint: bool,
}

impl Writer {
    pub(crate) fn new(sync: Option<GroupSync>, kept: Arc<Kept>) -> Writer {
        Writer {
            slot: Arc::new(Mutex::new(Slot::default())),
            sync,
            kept,
            gather_for_micros: AtomicU64::new(GATHER_FOR.as_micros() as u64),
        }
    }

    /// The copies this writer tells of the end of each batch.
    pub(crate) fn kept(&self) -> &Kept {
        &self.kept
    }

    pub(crate) fn sync(&self) -> Option<&GroupSync> {
        self.sync.as_ref()
    }

    /// Starts a transaction: in the open batch, or in a new one (`BEGIN IMMEDIATE`, which
    /// waits while another process writes).
    pub(crate) async fn begin(self: &Arc<Self>, pool: &Arc<SqlitePool>) -> Result<Member> {
        let mut guard = self.slot.clone().lock_owned().await;
        if guard.open.is_none() {
            let mut conn = pool.get()?;
            conn.begin_immediate().await?;
            guard.open = Some(Open {
                conn,
                batch: Arc::new(Batch::default()),
                members: 0,
            });
        }
        let mut member = Member {
            guard: Some(guard),
            writer: self.clone(),
            in_savepoint: false,
        };
        run_cached(member.conn()?.connection()?, SAVEPOINT)?;
        member.in_savepoint = true;
        Ok(member)
    }

    /// COMMITs the open batch, if there is one.
    pub(crate) async fn commit_open(&self) {
        let mut slot = self.slot.lock().await;
        if let Some(open) = slot.open.take() {
            self.finish(open);
        }
    }

    /// COMMITs a batch and tells its transactions how it went. The connection goes back to
    /// the pool (rolled back first if the COMMIT failed).
    fn finish(&self, open: Open) {
        let committed = open
            .conn
            .connection()
            .and_then(|c| run_cached(c, "COMMIT").map_err(StoreError::from));
        self.kept.batch_ended();
        let outcome = match committed {
            Ok(()) => Ok(self.sync.as_ref().map_or(0, |s| s.committed())),
            Err(e) => Err(e.to_string()),
        };
        let _ = open.batch.outcome.set(outcome);
    }

    /// Lets the other tasks run before the leader COMMITs, so that the transactions they are
    /// about to commit join its batch (ADR 0024): yields again and again while they keep the
    /// thread busy, for at most [`GATHER_FOR`] or until the batch holds [`GATHER_UNTIL`]
    /// transactions, and stops when yields come back at once (nothing else was ready to
    /// run), so a transaction that commits alone is not held back.
    async fn gather(&self) {
        let limit = Duration::from_micros(self.gather_for_micros.load(Ordering::Relaxed));
        let start = Instant::now();
        let mut quick = 0;
        loop {
            let round = Instant::now();
            tokio::task::yield_now().await;
            // tokio wakes the tasks that yielded last first: a yield can come back at once
            // while others that yielded before it are still to run. Two in a row cannot.
            quick = if round.elapsed() < IDLE_YIELD {
                quick + 1
            } else {
                0
            };
            if quick == 2 || start.elapsed() >= limit || self.open_members() >= GATHER_UNTIL {
                return;
            }
        }
    }

    /// Transactions committed into the open batch so far; 0 while a transaction holds the
    /// writer lock (the leader does not wait for it to learn the count).
    fn open_members(&self) -> usize {
        self.slot
            .try_lock()
            .map_or(0, |slot| slot.open.as_ref().map_or(0, |open| open.members))
    }

    /// Returns once `batch` is committed and on disk: at once if an fsync after its COMMIT
    /// has finished; otherwise as the group commit's leader, which COMMITs the open batch
    /// (this one, with every transaction that joined it meanwhile) and syncs.
    async fn durable(&self, batch: &Arc<Batch>) -> Result<()> {
        let Some(sync) = &self.sync else {
            return ticket(batch).map(|_| ());
        };
        if batch.outcome.get().is_some() {
            return sync.durable(ticket(batch)?).await;
        }
        let leader = sync.lead().await;
        if batch.outcome.get().is_none() {
            self.gather().await;
            self.commit_open().await;
        }
        sync.durable_led(ticket(batch)?, leader).await
    }
}

/// The ticket of a finished batch's COMMIT, or the error every transaction of a lost batch
/// gets.
fn ticket(batch: &Batch) -> Result<u64> {
    match batch.outcome.get() {
        Some(Ok(ticket)) => Ok(*ticket),
        Some(Err(reason)) => Err(StoreError::Commit {
            reason: reason.clone(),
        }),
        None => Err(StoreError::Commit {
            reason: "the transaction's batch was left without a COMMIT".into(),
        }),
    }
}

/// A `Member` used after it committed or lost its batch: a bug in the store, not a state a
/// caller can reach through `Tx`, which is consumed by its commit.
fn ended() -> StoreError {
    StoreError::Commit {
        reason: "the transaction was used after it had ended (a bug in the store)".into(),
    }
}

/// Ends the open batch without a COMMIT: whatever it held is rolled back, and the
/// transactions waiting on it are told `reason`.
fn lose_open(slot: &mut Slot, reason: String) -> StoreError {
    if let Some(open) = slot.open.take() {
        let _ = open.batch.outcome.set(Err(reason.clone()));
    }
    StoreError::Commit { reason }
}

impl Member {
    /// The batch's connection.
    pub(crate) fn conn(&mut self) -> Result<&mut PooledSqlite> {
        self.guard
            .as_mut()
            .and_then(|guard| guard.open.as_mut())
            .map(|open| &mut open.conn)
            .ok_or_else(ended)
    }

    /// Commits: returns once the transaction is committed and durable (see the module's
    /// doc).
    pub(crate) async fn commit(mut self) -> Result<()> {
        let Some(mut guard) = self.guard.take() else {
            return Err(ended());
        };
        let Some(open) = guard.open.as_mut() else {
            return Err(ended());
        };
        let released = open.run(RELEASE);
        if let Err(reason) = released {
            return Err(lose_open(&mut guard, reason));
        }
        open.members += 1;
        let batch = open.batch.clone();
        if self.writer.sync.is_none() {
            if let Some(open) = guard.open.take() {
                self.writer.finish(open);
            }
            return ticket(&batch).map(|_| ());
        }
        // The next writer may go on, in this batch, while this one waits for its COMMIT.
        drop(guard);
        let mut waiting = Waiting {
            writer: self.writer.clone(),
            batch: Some(batch.clone()),
        };
        let durable = self.writer.durable(&batch).await;
        waiting.batch = None;
        durable
    }

    /// Rolls back this transaction's savepoint; the batch keeps what the transactions
    /// before it committed into it, or is rolled back whole when it holds nothing else.
    pub(crate) fn rollback(mut self) -> Result<()> {
        self.undo()
    }

    fn undo(&mut self) -> Result<()> {
        let Some(mut guard) = self.guard.take() else {
            return Ok(());
        };
        let Some(open) = guard.open.as_mut() else {
            return Ok(());
        };
        if open.members == 0 {
            // Nothing else in the batch: the connection goes back rolled back.
            guard.open = None;
            return Ok(());
        }
        if !self.in_savepoint {
            return Ok(());
        }
        match open.run(UNDO) {
            Ok(()) => Ok(()),
            Err(reason) => Err(lose_open(&mut guard, reason)),
        }
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        let _ = self.undo();
    }
}

/// A committed transaction waiting for its batch. If the waiting future is dropped (its
/// caller went away), a task commits and syncs the batch in its place, so the batch does not
/// keep the SQLite write lock until the next writer comes.
struct Waiting {
    writer: Arc<Writer>,
    batch: Option<Arc<Batch>>,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        let Some(batch) = self.batch.take() else {
            return;
        };
        if batch.outcome.get().is_some() {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let writer = self.writer.clone();
            runtime.spawn(async move {
                if let Err(e) = writer.durable(&batch).await {
                    tracing::warn!(error = %e, "committing the batch of a transaction whose caller went away failed");
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    //! The shared commit, seen from inside: the tests hold the group commit's leader lock
    //! (as a running fsync does) so that transactions gather in one batch.
    use super::*;
    use crate::{SqliteSync, Store};
    use std::time::Duration;

    /// A migrated SQLite store in a fresh directory (removed by the returned guard).
    struct Dir(std::path::PathBuf);

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    async fn store() -> (Store, Dir) {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "castellan-writer-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let store = Store::open_sqlite(&dir.join("castellan.db"), true, SqliteSync::Full)
            .await
            .unwrap();
        store.migrate().await.unwrap();
        (store, Dir(dir))
    }

    fn writer(store: &Store) -> Arc<Writer> {
        store.writer.clone().unwrap()
    }

    /// Transactions committed into the open batch so far.
    async fn members(store: &Store) -> usize {
        let writer = writer(store);
        let slot = writer.slot.lock().await;
        slot.open.as_ref().map_or(0, |open| open.members)
    }

    async fn until_members(store: &Store, n: usize) {
        for _ in 0..2000 {
            if members(store).await == n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        panic!("the open batch never held {n} transactions");
    }

    /// Sets `name` in a transaction of its own, on another task.
    fn commit_setting(store: &Store, name: &str) -> tokio::task::JoinHandle<Result<()>> {
        let (store, name) = (store.clone(), name.to_owned());
        tokio::spawn(async move {
            let mut tx = store.begin().await?;
            tx.set_setting(&name, "1").await?;
            tx.commit().await
        })
    }

    fn commit_reason(result: Result<()>) -> String {
        match result {
            Err(StoreError::Commit { reason }) => reason,
            other => panic!("expected a lost batch, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn transactions_committed_during_an_fsync_share_one_commit() {
        let (store, _dir) = store().await;
        let writer = writer(&store);
        let sync = writer.sync().unwrap();
        let (before, _, _) = store.group_commit_counts().unwrap();
        let fsync_running = sync.lead().await;
        let tasks: Vec<_> = (0..5)
            .map(|i| commit_setting(&store, &format!("shared-{i}")))
            .collect();
        until_members(&store, 5).await;
        // Released into the open batch, not committed: other connections do not see them.
        assert_eq!(store.setting("shared-0").await.unwrap(), None);
        drop(fsync_running);
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        let (commits, synced, _) = store.group_commit_counts().unwrap();
        assert_eq!(commits, before + 1, "five transactions, one COMMIT");
        assert_eq!(synced, commits);
        for i in 0..5 {
            assert_eq!(
                store.setting(&format!("shared-{i}")).await.unwrap(),
                Some("1".into())
            );
        }
    }

    /// Work on the thread without a pause, as a request's parsing and checks.
    fn busy_for(time: Duration) {
        let start = Instant::now();
        while start.elapsed() < time {
            std::hint::spin_loop();
        }
    }

    /// A store whose leader may gather for ten minutes: within a test, a batch ends only
    /// when nothing else is left to run.
    async fn store_gathering_unbounded() -> (Store, Dir) {
        let (store, dir) = store().await;
        writer(&store)
            .gather_for_micros
            .store(600_000_000, Ordering::Relaxed);
        (store, dir)
    }

    #[tokio::test]
    async fn transactions_begun_while_the_leader_gathers_join_its_batch() {
        let (store, _dir) = store_gathering_unbounded().await;
        let (before, _, _) = store.group_commit_counts().unwrap();
        let first = commit_setting(&store, "first");
        // Three requests still at work when the first transaction commits: three stretches
        // of 100 µs each, with a yield between them, before their own transactions.
        let busy: Vec<_> = (0..3)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    for _ in 0..3 {
                        busy_for(Duration::from_micros(100));
                        tokio::task::yield_now().await;
                    }
                    let mut tx = store.begin().await?;
                    tx.set_setting(&format!("busy-{i}"), "1").await?;
                    tx.commit().await
                })
            })
            .collect();
        first.await.unwrap().unwrap();
        for task in busy {
            task.await.unwrap().unwrap();
        }
        let (commits, synced, _) = store.group_commit_counts().unwrap();
        assert_eq!(commits, before + 1, "four transactions, one COMMIT");
        assert_eq!(synced, commits);
        for name in ["first", "busy-0", "busy-1", "busy-2"] {
            assert_eq!(store.setting(name).await.unwrap(), Some("1".into()));
        }
    }

    #[tokio::test]
    async fn a_transaction_that_commits_alone_is_not_held_back() {
        let (store, _dir) = store_gathering_unbounded().await;
        let (before, _, _) = store.group_commit_counts().unwrap();
        // Held back, it would wait the ten minutes of `store_gathering_unbounded`.
        let alone = tokio::time::timeout(Duration::from_secs(60), commit_setting(&store, "alone"))
            .await
            .expect("a transaction alone waited for the gathering's limit");
        alone.unwrap().unwrap();
        let (commits, synced, _) = store.group_commit_counts().unwrap();
        assert_eq!((commits, synced), (before + 1, before + 1));
    }

    #[tokio::test]
    async fn a_transaction_rolled_back_in_a_batch_undoes_only_itself() {
        let (store, _dir) = store().await;
        let writer = writer(&store);
        let fsync_running = writer.sync().unwrap().lead().await;
        let first = commit_setting(&store, "first");
        until_members(&store, 1).await;
        let mut dropped = store.begin().await.unwrap();
        dropped.set_setting("dropped", "1").await.unwrap();
        drop(dropped);
        let mut undone = store.begin().await.unwrap();
        undone.set_setting("undone", "1").await.unwrap();
        undone.rollback().await.unwrap();
        let last = commit_setting(&store, "last");
        until_members(&store, 2).await;
        drop(fsync_running);
        first.await.unwrap().unwrap();
        last.await.unwrap().unwrap();
        assert_eq!(store.setting("first").await.unwrap(), Some("1".into()));
        assert_eq!(store.setting("last").await.unwrap(), Some("1".into()));
        assert_eq!(store.setting("dropped").await.unwrap(), None);
        assert_eq!(store.setting("undone").await.unwrap(), None);
    }

    #[tokio::test]
    async fn an_error_that_rolls_back_the_batch_fails_every_transaction_of_it() {
        let (store, _dir) = store().await;
        let writer = writer(&store);
        let fsync_running = writer.sync().unwrap().lead().await;
        let first = commit_setting(&store, "first");
        until_members(&store, 1).await;
        let mut tx = store.begin().await.unwrap();
        // ON CONFLICT ROLLBACK ends the whole SQLite transaction, the first one's part too.
        let clash = crate::db::query(
            "INSERT OR ROLLBACK INTO settings (name, value) VALUES ('first', 'again')",
        )
        .execute(tx.conn())
        .await;
        assert!(clash.is_err());
        let reason = "an error rolled back the SQLite transaction this one shared with 1 other \
                      transaction(s)";
        assert_eq!(commit_reason(tx.commit().await), reason);
        drop(fsync_running);
        assert_eq!(commit_reason(first.await.unwrap()), reason);
        assert_eq!(store.setting("first").await.unwrap(), None);
        // The writer goes on.
        commit_setting(&store, "after").await.unwrap().unwrap();
        assert_eq!(store.setting("after").await.unwrap(), Some("1".into()));
    }

    #[tokio::test]
    async fn a_failed_commit_fails_every_transaction_of_the_batch() {
        let (store, _dir) = store().await;
        let writer = writer(&store);
        let fsync_running = writer.sync().unwrap().lead().await;
        let first = commit_setting(&store, "first");
        until_members(&store, 1).await;
        let mut tx = store.begin().await.unwrap();
        // A foreign key checked at COMMIT only: the batch's COMMIT fails.
        crate::db::query("PRAGMA defer_foreign_keys = ON")
            .execute(tx.conn())
            .await
            .unwrap();
        crate::db::query(
            "INSERT INTO administrator_roles (admin_id, role) VALUES (424242, 'nobody')",
        )
        .execute(tx.conn())
        .await
        .unwrap();
        let second = tokio::spawn(tx.commit());
        until_members(&store, 2).await;
        drop(fsync_running);
        assert_eq!(
            commit_reason(first.await.unwrap()),
            "database error: FOREIGN KEY constraint failed"
        );
        assert_eq!(
            commit_reason(second.await.unwrap()),
            "database error: FOREIGN KEY constraint failed"
        );
        assert_eq!(store.setting("first").await.unwrap(), None);
        commit_setting(&store, "after").await.unwrap().unwrap();
        assert_eq!(store.setting("after").await.unwrap(), Some("1".into()));
    }

    #[tokio::test]
    async fn a_batch_whose_callers_went_away_is_still_committed() {
        let (store, _dir) = store().await;
        let writer = writer(&store);
        let fsync_running = writer.sync().unwrap().lead().await;
        let gone = commit_setting(&store, "gone");
        until_members(&store, 1).await;
        gone.abort();
        assert!(gone.await.unwrap_err().is_cancelled());
        drop(fsync_running);
        // A task left behind commits the batch and lets go of SQLite's write lock.
        for _ in 0..2000 {
            if store.setting("gone").await.unwrap().is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert_eq!(store.setting("gone").await.unwrap(), Some("1".into()));
        assert_eq!(members(&store).await, 0);
    }
}
