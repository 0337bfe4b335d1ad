//! The store: the only place SQL lives.
//!
//! One set of queries runs on both engines through sqlx's `Any` driver: SQLite (the
//! embedded default, one file in the data directory, WAL mode) and PostgreSQL (for more
//! than one node). Queries use only SQL both engines share (`$1` parameters, `RETURNING`,
//! integer times and booleans), and the two migration folders are kept in step; the test
//! suite runs every store test on both (see `docs/adr/0002-one-sql-dialect-through-sqlx-any.md`).
//!
//! Writes go through [`Tx`]. On SQLite a process-wide writer lock serialises write
//! transactions (SQLite has one writer anyway, and this turns "database is locked" into a
//! short wait); transactions start with `BEGIN IMMEDIATE` so a second process waits on the
//! busy timeout instead of failing half-way.

mod acme;
mod admins;
mod approvals;
mod audit;
mod bind;
mod cas;
mod certificates;
mod domains;
mod error;
mod escrow;
mod group_sync;
mod invitations;
mod issued;
mod notifications;
mod orders;
mod organizations;
mod outbox;
mod persons;
mod records;
mod revocation;
mod sessions;
pub mod settings;
mod tokens;

pub use acme::*;
pub use error::{Result, StoreError};
pub use escrow::{EscrowKeyRecord, RecoveryRecord};
pub use invitations::{InvitationRecord, NewInvitation};
pub use notifications::{ExpiringCertificate, NewRule, RuleRecord, TemplateRecord};
pub use persons::{PersonData, PersonRecord};
pub use records::*;
pub use revocation::*;
pub use sessions::SessionRecord;

use castellan_model::DatabaseKind;
use group_sync::GroupSync;
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;
use sqlx::{Any, AnyConnection, AnyPool, AssertSqlSafe, Executor};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, OwnedMutexGuard};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/postgres");

/// SQLite's page cache per connection (64 MiB).
pub(crate) const SQLITE_CACHE_SIZE: &str = "PRAGMA cache_size = -65536";
/// SQLite's memory-mapped I/O per connection (256 MiB).
pub(crate) const SQLITE_MMAP_SIZE: &str = "PRAGMA mmap_size = 268435456";

/// How durable an SQLite commit is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SqliteSync {
    /// Every commit is on disk (its WAL frames fsynced) before it is answered: nothing
    /// committed is lost even on power loss (default). Commits that arrive while the WAL is
    /// being synced share the next fsync (group commit, `group_sync.rs`).
    #[default]
    Full,
    /// fsync at checkpoints only: commits survive a process crash, the last ones may not
    /// survive a power cut. Faster.
    Normal,
}

/// A connection pool to the Castellan database.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    kind: DatabaseKind,
    writer: Option<Arc<Mutex<()>>>,
    /// SQLite with `SqliteSync::Full`: the group commit every `Tx::commit` waits on.
    sync: Option<Arc<GroupSync>>,
    target: String,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({} {})", self.kind, self.target)
    }
}

/// A write transaction. Dropped without [`Tx::commit`], it rolls back.
pub struct Tx {
    inner: sqlx::Transaction<'static, Any>,
    kind: DatabaseKind,
    /// The audit chain's head as this transaction's appends left it (sequence number and
    /// hash of the last row), written back once at commit (`audit.rs`).
    audit_head: Option<(i64, String)>,
    sync: Option<Arc<GroupSync>>,
    writer: Option<OwnedMutexGuard<()>>,
}

/// Removes the password from a database URL for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

impl Store {
    /// Opens the SQLite database at `path`, creating the file when `create` is set.
    pub async fn open_sqlite(path: &Path, create: bool, sync: SqliteSync) -> Result<Store> {
        if !create && !path.exists() {
            return Err(StoreError::Connect {
                target: path.display().to_string(),
                reason: "the file does not exist".into(),
            });
        }
        let mode = if create { "rwc" } else { "rw" };
        let url = format!("sqlite://{}?mode={mode}", path.display());
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        Store::connect(&url, DatabaseKind::Sqlite, sync, Some(wal.into())).await
    }

    /// Opens a database by URL: `postgres://…` or `sqlite://…`.
    pub async fn open(url: &str) -> Result<Store> {
        let kind = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            DatabaseKind::Postgres
        } else if url.starts_with("sqlite:") {
            DatabaseKind::Sqlite
        } else {
            return Err(StoreError::Connect {
                target: redact_url(url),
                reason: "the URL must start with postgres:// or sqlite://".into(),
            });
        };
        Store::connect(url, kind, SqliteSync::Full, None).await
    }

    /// Connects; `wal` is the path of an SQLite database's WAL file, where this store makes
    /// `SqliteSync::Full` commits durable itself (group commit) instead of SQLite's fsync
    /// per commit.
    async fn connect(
        url: &str,
        kind: DatabaseKind,
        sync: SqliteSync,
        wal: Option<std::path::PathBuf>,
    ) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let target = redact_url(url);
        let options = match kind {
            // A file on this machine cannot drop a connection the way a network can: no
            // ping before every use (each statement is a hand-off to the connection's
            // thread, and the ping was one more per request).
            DatabaseKind::Sqlite => AnyPoolOptions::new()
                .max_connections(4)
                .test_before_acquire(false),
            DatabaseKind::Postgres => AnyPoolOptions::new().max_connections(16),
        };
        // With the group commit, SQLite itself syncs only at checkpoints (NORMAL: the WAL
        // before, the database after), and `Tx::commit` syncs the WAL.
        let group_sync = match (kind, sync, wal) {
            (DatabaseKind::Sqlite, SqliteSync::Full, Some(wal)) => {
                Some(Arc::new(GroupSync::new(wal)))
            }
            _ => None,
        };
        let synchronous = match (sync, &group_sync) {
            (SqliteSync::Full, None) => "FULL",
            (SqliteSync::Full, Some(_)) | (SqliteSync::Normal, _) => "NORMAL",
        };
        let pool = options
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn: &mut AnyConnection, _meta| {
                Box::pin(async move {
                    if conn.backend_name().eq_ignore_ascii_case("sqlite") {
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute(AssertSqlSafe(format!("PRAGMA synchronous = {synchronous}")))
                            .await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        conn.execute("PRAGMA busy_timeout = 10000").await?;
                        // Random keys (serials) touch pages all over the indexes: keep them
                        // in memory and checkpoint the WAL less often.
                        conn.execute(SQLITE_CACHE_SIZE).await?;
                        conn.execute(SQLITE_MMAP_SIZE).await?;
                        conn.execute("PRAGMA wal_autocheckpoint = 4000").await?;
                        // Multi-row inserts need a statement journal; keep it in memory
                        // rather than a temporary file created and removed per statement.
                        conn.execute("PRAGMA temp_store = MEMORY").await?;
                    }
                    Ok(())
                })
            })
            .connect(url)
            .await
            .map_err(|e| StoreError::Connect {
                target: target.clone(),
                reason: e.to_string(),
            })?;
        let writer = (kind == DatabaseKind::Sqlite).then(|| Arc::new(Mutex::new(())));
        Ok(Store {
            pool,
            kind,
            writer,
            sync: group_sync,
            target,
        })
    }

    /// Brings the schema up to date (idempotent).
    pub async fn migrate(&self) -> Result<()> {
        let migrator = match self.kind {
            DatabaseKind::Sqlite => &SQLITE_MIGRATIONS,
            DatabaseKind::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Migrate(e.to_string()))
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Which engine this store runs on.
    pub fn kind(&self) -> DatabaseKind {
        self.kind
    }

    /// Returns once every commit made so far is on disk. With the group commit (ADR 0019) a
    /// reader can see a commit a moment before its fsync has run; whatever hands out what it
    /// read (an HTTP answer) settles first. Immediate where the engine syncs each commit
    /// before showing it (PostgreSQL).
    pub async fn settle(&self) -> Result<()> {
        match &self.sync {
            Some(sync) => sync.settle().await,
            None => Ok(()),
        }
    }

    /// The group commit's counts on SQLite with `SqliteSync::Full`: (commits, commits known
    /// durable, fsyncs run). `None` where the engine syncs each commit itself.
    pub fn group_commit_counts(&self) -> Option<(u64, u64, u64)> {
        self.sync.as_ref().map(|s| s.counts())
    }

    /// The database, without any password, for messages.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Starts a write transaction.
    pub async fn begin(&self) -> Result<Tx> {
        let guard = match &self.writer {
            Some(lock) => Some(lock.clone().lock_owned().await),
            None => None,
        };
        let inner = match self.kind {
            DatabaseKind::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            DatabaseKind::Postgres => self.pool.begin().await?,
        };
        Ok(Tx {
            inner,
            kind: self.kind,
            audit_head: None,
            sync: self.sync.clone(),
            writer: guard,
        })
    }

    /// Closes every connection (SQLite then checkpoints and removes its WAL file).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Lists the tables and their columns, for the test that keeps the two migration
    /// folders in step.
    pub async fn schema(&self) -> Result<Vec<(String, Vec<String>)>> {
        use sqlx::Row;
        let tables: Vec<String> = match self.kind {
            DatabaseKind::Sqlite => sqlx::query(
                "SELECT name FROM sqlite_master WHERE type = 'table' \
                 AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx_%' ORDER BY name",
            ),
            DatabaseKind::Postgres => sqlx::query(
                "SELECT table_name::text AS name FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name NOT LIKE '_sqlx_%' \
                 ORDER BY table_name",
            ),
        }
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| row.try_get::<String, _>("name"))
        .collect::<std::result::Result<_, _>>()?;
        let mut out = Vec::new();
        for table in tables {
            let mut columns: Vec<String> = match self.kind {
                DatabaseKind::Sqlite => {
                    sqlx::query("SELECT name FROM pragma_table_info($1)").bind(table.clone())
                }
                DatabaseKind::Postgres => sqlx::query(
                    "SELECT column_name::text AS name FROM information_schema.columns \
                     WHERE table_schema = current_schema() AND table_name = $1",
                )
                .bind(table.clone()),
            }
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| row.try_get::<String, _>("name"))
            .collect::<std::result::Result<_, _>>()?;
            columns.sort();
            out.push((table, columns));
        }
        Ok(out)
    }
}

impl Tx {
    /// Commits, and returns once the commit is durable.
    pub async fn commit(mut self) -> Result<()> {
        self.write_audit_head().await?;
        let Tx {
            inner,
            sync,
            writer,
            ..
        } = self;
        inner.commit().await?;
        // The next writer may go on while this commit is synced (with the ones after it).
        drop(writer);
        if let Some(sync) = sync {
            sync.durable(sync.committed()).await?;
        }
        Ok(())
    }

    /// Rolls back explicitly (dropping does the same).
    pub async fn rollback(self) -> Result<()> {
        self.inner.rollback().await?;
        Ok(())
    }

    pub(crate) fn conn(&mut self) -> &mut AnyConnection {
        &mut self.inner
    }

    pub(crate) fn kind(&self) -> DatabaseKind {
        self.kind
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://castellan:s3cret@db:5432/castellan"),
            "postgres://castellan:***@db:5432/castellan"
        );
        assert_eq!(
            redact_url("postgres://postgres@127.0.0.1/x"),
            "postgres://postgres@127.0.0.1/x"
        );
        assert_eq!(redact_url("sqlite:///tmp/x.db"), "sqlite:///tmp/x.db");
    }
}
