//! The store: the only place SQL lives.
//!
//! One set of queries runs on both engines: SQLite (the embedded default, one file in the
//! data directory, WAL mode), through rusqlite on the calling thread, and PostgreSQL (for
//! more than one node), through sqlx's `Any` driver, both behind the small interface of
//! `db.rs`. Queries use only SQL both engines share (`$1` parameters, `RETURNING`, integer
//! times and booleans), and the two migration folders are kept in step; the test suite runs
//! every store test on both (see `docs/adr/0002-one-sql-dialect-through-sqlx-any.md` and
//! `docs/adr/0020-sqlite-on-the-calling-thread.md`).
//!
//! Writes go through [`Tx`]. On SQLite a process-wide writer lock serialises write
//! transactions (SQLite has one writer anyway, and this turns "database is locked" into a
//! short wait); transactions start with `BEGIN IMMEDIATE`, so a second process waits (up to
//! the busy timeout) instead of failing half-way. Each transaction is a savepoint in a batch
//! that the group commit COMMITs and syncs for all its transactions at once (`writer.rs`,
//! `docs/adr/0022-sqlite-shared-commit.md`).

mod acme;
mod acme_cache;
mod admins;
mod approvals;
mod audit;
mod bind;
mod cas;
mod certificates;
mod db;
mod directory_cache;
mod domains;
mod error;
mod escrow;
mod group_sync;
mod invitations;
mod issued;
mod kept;
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
mod writer;

pub use acme::*;
pub use error::{Result, StoreError};
pub use escrow::{EscrowKeyRecord, RecoveryRecord};
pub use invitations::{InvitationRecord, NewInvitation};
pub use notifications::{ExpiringCertificate, NewRule, RuleRecord, TemplateRecord};
pub use persons::{PersonData, PersonRecord};
pub use records::*;
pub use revocation::*;
pub use sessions::SessionRecord;

use acme_cache::AcmeCache;
use castellan_model::DatabaseKind;
use db::{Conn, Pool, SqliteOpen, SqlitePool};
use directory_cache::DirectoryCache;
use group_sync::GroupSync;
use kept::Kept;
use sqlx::Connection as _;
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use writer::Writer;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/postgres");

/// SQLite's page cache per connection (8 MiB). Reads of the database file come through the
/// memory map, not this cache; what it keeps are the pages a write transaction changes and
/// the pages read from the WAL. It is not larger because SQLite walks the whole cache at
/// the end of a write transaction in which a b-tree balance renumbered pages (most batches,
/// with random keys in several indexes): with 64 MiB that walk over ~16,000 pages was 3% of
/// the server's CPU under ACME load (`docs/benchmarks.md`).
pub(crate) const SQLITE_CACHE_SIZE: &str = "PRAGMA cache_size = -8192";
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
    pool: Pool,
    kind: DatabaseKind,
    /// SQLite's writer lock, its open batch and, with `SqliteSync::Full`, the group commit
    /// (`writer.rs`, ADR 0022); `None` on PostgreSQL.
    writer: Option<Arc<Writer>>,
    target: String,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({} {})", self.kind, self.target)
    }
}

/// A write transaction. Dropped without [`Tx::commit`], it rolls back.
pub struct Tx {
    /// The transaction's connection: on SQLite the writer lock, with the open batch's
    /// connection inside the transaction's savepoint (rolled back when dropped uncommitted,
    /// `writer.rs`); on PostgreSQL a transaction.
    inner: Conn,
    kind: DatabaseKind,
    /// The audit chain's head as this transaction's appends left it (sequence number and
    /// hash of the last row), written back once at commit (`audit.rs`).
    audit_head: Option<(i64, String)>,
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
        Store::connect_sqlite(path.to_owned(), create, sync)
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
        match kind {
            DatabaseKind::Sqlite => {
                let (path, create) = sqlite_path(url);
                Store::connect_sqlite(path, create, SqliteSync::Full)
            }
            DatabaseKind::Postgres => Store::connect_postgres(url).await,
        }
    }

    /// Opens SQLite through the store's own pool (`db.rs`). With `SqliteSync::Full` the store
    /// makes commits durable itself (group commit, ADR 0019) instead of SQLite's fsync per
    /// commit: SQLite then syncs only at checkpoints (NORMAL: the WAL before, the database
    /// after), and `Tx::commit` syncs the WAL.
    fn connect_sqlite(path: std::path::PathBuf, create: bool, sync: SqliteSync) -> Result<Store> {
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        let group_sync = match sync {
            SqliteSync::Full => Some(GroupSync::new(wal.into())),
            SqliteSync::Normal => None,
        };
        let target = path.display().to_string();
        let kept = Arc::new(Kept::default());
        let pool = SqlitePool::new(SqliteOpen {
            path,
            create,
            kept: kept.clone(),
        })?;
        Ok(Store {
            pool: Pool::Sqlite(pool),
            kind: DatabaseKind::Sqlite,
            writer: Some(Arc::new(Writer::new(group_sync, kept))),
            target,
        })
    }

    /// Connects to PostgreSQL through sqlx's `Any` driver.
    async fn connect_postgres(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let target = redact_url(url);
        let pool = AnyPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(30))
            .connect(url)
            .await
            .map_err(|e| StoreError::Connect {
                target: target.clone(),
                reason: e.to_string(),
            })?;
        Ok(Store {
            pool: Pool::Any(pool),
            kind: DatabaseKind::Postgres,
            writer: None,
            target,
        })
    }

    /// Brings the schema up to date (idempotent). On SQLite, sqlx's migrator runs on a
    /// connection of its own, so databases migrated before keep their migration history.
    pub async fn migrate(&self) -> Result<()> {
        let migrated = match &self.pool {
            Pool::Sqlite(pool) => {
                let options = sqlx::sqlite::SqliteConnectOptions::new().filename(pool.path());
                let mut conn = sqlx::SqliteConnection::connect_with(&options)
                    .await
                    .map_err(|e| StoreError::Migrate(e.to_string()))?;
                let run = SQLITE_MIGRATIONS.run(&mut conn).await;
                let _ = conn.close().await;
                run
            }
            Pool::Any(pool) => POSTGRES_MIGRATIONS.run(pool).await,
        };
        migrated.map_err(|e| StoreError::Migrate(e.to_string()))
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<()> {
        db::query("SELECT 1").execute(&self.pool).await?;
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
        match self.writer.as_ref().and_then(|w| w.sync()) {
            Some(sync) => sync.settle().await,
            None => Ok(()),
        }
    }

    /// The group commit's counts on SQLite with `SqliteSync::Full`: (commits, commits known
    /// durable, fsyncs run). `None` where the engine syncs each commit itself.
    pub fn group_commit_counts(&self) -> Option<(u64, u64, u64)> {
        self.writer
            .as_ref()
            .and_then(|w| w.sync())
            .map(|s| s.counts())
    }

    /// The ACME registrations and accounts kept in memory (`acme_cache.rs`): on SQLite
    /// only.
    pub(crate) fn acme_cache(&self) -> Option<&AcmeCache> {
        self.kept().map(|k| &k.acme)
    }

    /// What is kept in memory (`kept.rs`): on SQLite only.
    pub(crate) fn kept(&self) -> Option<&Kept> {
        self.writer.as_ref().map(|w| w.kept())
    }

    /// The organisations, domains and validations kept in memory (`directory_cache.rs`):
    /// on SQLite only.
    pub(crate) fn directory_cache(&self) -> Option<&DirectoryCache> {
        self.kept().map(|k| &k.directory)
    }

    /// How often reads of ACME registrations and accounts were answered from memory and how
    /// often they went to the database: (from memory, from the database). `None` where
    /// nothing is kept (PostgreSQL).
    pub fn acme_cache_counts(&self) -> Option<(u64, u64)> {
        self.acme_cache().map(|c| c.counts())
    }

    /// How often reads of the organisations, domains and validations were answered from
    /// memory and how often they went to the database: (from memory, from the database).
    /// `None` where nothing is kept (PostgreSQL).
    pub fn directory_cache_counts(&self) -> Option<(u64, u64)> {
        self.directory_cache().map(|c| c.counts())
    }

    /// The database, without any password, for messages.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Starts a write transaction.
    pub async fn begin(&self) -> Result<Tx> {
        let inner = match (&self.pool, &self.writer) {
            (Pool::Sqlite(pool), Some(writer)) => Conn::Member(writer.begin(pool).await?),
            (Pool::Sqlite(_), None) => {
                return Err(StoreError::Connect {
                    target: self.target.clone(),
                    reason: "the SQLite store has no writer".into(),
                });
            }
            (Pool::Any(pool), _) => Conn::AnyTx(pool.begin().await?),
        };
        Ok(Tx {
            inner,
            kind: self.kind,
            audit_head: None,
        })
    }

    /// Closes every connection (SQLite then checkpoints and removes its WAL file), after
    /// committing the open batch of transactions, if any.
    pub async fn close(&self) {
        if let Some(writer) = &self.writer {
            writer.commit_open().await;
        }
        self.pool.close().await;
    }

    pub(crate) fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Lists the tables and their columns, for the test that keeps the two migration
    /// folders in step.
    pub async fn schema(&self) -> Result<Vec<(String, Vec<String>)>> {
        let tables: Vec<String> = match self.kind {
            DatabaseKind::Sqlite => db::query(
                "SELECT name FROM sqlite_master WHERE type = 'table' \
                 AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx_%' ORDER BY name",
            ),
            DatabaseKind::Postgres => db::query(
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
                    db::query("SELECT name FROM pragma_table_info($1)").bind(table.clone())
                }
                DatabaseKind::Postgres => db::query(
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
        match self.inner {
            Conn::Member(member) => member.commit().await?,
            Conn::AnyTx(tx) => tx.commit().await?,
            Conn::Sqlite(_) | Conn::Any(_) => {}
        }
        Ok(())
    }

    /// Rolls back explicitly (dropping does the same).
    pub async fn rollback(self) -> Result<()> {
        match self.inner {
            Conn::Member(member) => member.rollback()?,
            Conn::AnyTx(tx) => tx.rollback().await?,
            Conn::Sqlite(_) | Conn::Any(_) => {}
        }
        Ok(())
    }

    pub(crate) fn conn(&mut self) -> &mut Conn {
        &mut self.inner
    }

    pub(crate) fn kind(&self) -> DatabaseKind {
        self.kind
    }
}

/// The file of an `sqlite:` URL and whether to create it (`mode=rwc`), as sqlx reads them.
fn sqlite_path(url: &str) -> (std::path::PathBuf, bool) {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let create = query.split('&').any(|p| p == "mode=rwc");
    (std::path::PathBuf::from(path), create)
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
