//! Fresh databases: a temporary SQLite file, or a new PostgreSQL database on the server
//! named by `CASTELLAN_TEST_POSTGRES_URL` (default: the local server, user postgres),
//! dropped when the value is dropped.

use castellan_store::{SqliteSync, Store};
use sqlx::Connection;

/// The PostgreSQL server tests create their databases on.
pub fn postgres_admin_url() -> String {
    std::env::var("CASTELLAN_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A database that disappears with the value.
pub enum TestDb {
    /// A temporary directory holding the SQLite file.
    Sqlite(tempfile::TempDir),
    /// A PostgreSQL database.
    Postgres {
        /// Where it was created.
        admin_url: String,
        /// Its name.
        name: String,
        /// Its URL.
        url: String,
    },
}

/// The database file of an SQLite test database.
fn sqlite_file(dir: &tempfile::TempDir) -> std::path::PathBuf {
    dir.path().join("castellan.db")
}

impl TestDb {
    /// A new empty SQLite database (no schema yet).
    pub fn new_sqlite() -> TestDb {
        TestDb::Sqlite(tempfile::tempdir().unwrap())
    }

    /// A new empty PostgreSQL database (no schema yet).
    pub async fn new_postgres() -> TestDb {
        let admin_url = postgres_admin_url();
        let name = format!("castellan_test_{:016x}", rand::random::<u64>());
        let mut conn = sqlx::PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| {
                panic!("PostgreSQL is not reachable at {admin_url} ({e}); scripts/test starts one")
            });
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .unwrap();
        let base = admin_url
            .rsplit_once('/')
            .map(|(b, _)| b)
            .unwrap_or(&admin_url);
        let url = format!("{base}/{name}");
        TestDb::Postgres {
            admin_url,
            name,
            url,
        }
    }

    /// The SQLite database file, if this is one.
    pub fn sqlite_path(&self) -> Option<std::path::PathBuf> {
        match self {
            TestDb::Sqlite(dir) => Some(sqlite_file(dir)),
            TestDb::Postgres { .. } => None,
        }
    }

    /// The PostgreSQL URL, if this is one.
    pub fn postgres_url(&self) -> Option<&str> {
        match self {
            TestDb::Postgres { url, .. } => Some(url),
            TestDb::Sqlite(_) => None,
        }
    }

    /// Runs one SQL statement on its own connection, bypassing the store (for tests that
    /// play an intruder with database access). Returns the rows affected or the error text.
    pub async fn execute(&self, sql: &str) -> Result<u64, String> {
        match self {
            TestDb::Sqlite(dir) => execute_sqlite(&sqlite_file(dir), sql).await,
            TestDb::Postgres { url, .. } => {
                let mut conn = sqlx::PgConnection::connect(url)
                    .await
                    .map_err(|e| e.to_string())?;
                sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
                    .execute(&mut conn)
                    .await
                    .map(|r| r.rows_affected())
                    .map_err(|e| e.to_string())
            }
        }
    }

    /// Removes the triggers that keep the audit log append-only (as an intruder would).
    pub async fn drop_audit_guard(&self) {
        for trigger in ["audit_log_no_update", "audit_log_no_delete"] {
            let sql = match self {
                TestDb::Sqlite(_) => format!("DROP TRIGGER {trigger}"),
                TestDb::Postgres { .. } => format!("DROP TRIGGER {trigger} ON audit_log"),
            };
            self.execute(&sql).await.unwrap();
        }
    }

    /// Opens (creating) the store, without running migrations.
    pub async fn open(&self) -> Store {
        match self {
            TestDb::Sqlite(dir) => Store::open_sqlite(&sqlite_file(dir), true, SqliteSync::Full)
                .await
                .unwrap(),
            TestDb::Postgres { url, .. } => Store::open(url).await.unwrap(),
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres {
            admin_url, name, ..
        } = self
        {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop runs outside async: use a small runtime on its own thread.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async move {
                    if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url).await {
                        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                        )))
                        .execute(&mut conn)
                        .await;
                    }
                });
            })
            .join();
        }
    }
}

/// Runs one SQL statement on the SQLite file at `path`, bypassing the store.
pub async fn execute_sqlite(path: &std::path::Path, sql: &str) -> Result<u64, String> {
    let url = format!("sqlite://{}", path.display());
    let mut conn = sqlx::SqliteConnection::connect(&url)
        .await
        .map_err(|e| e.to_string())?;
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&mut conn)
        .await
        .map(|r| r.rows_affected())
        .map_err(|e| e.to_string())
}

/// A migrated SQLite store.
pub async fn sqlite() -> (Store, TestDb) {
    let db = TestDb::new_sqlite();
    let store = db.open().await;
    store.migrate().await.unwrap();
    (store, db)
}

/// A migrated PostgreSQL store.
pub async fn postgres() -> (Store, TestDb) {
    let db = TestDb::new_postgres().await;
    let store = db.open().await;
    store.migrate().await.unwrap();
    (store, db)
}

/// Runs an async test body on both engines:
/// `both!(name, |store: Store| async move { ... });` makes `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! both {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test]
            async fn sqlite() {
                let (store, _db) = $crate::db::sqlite().await;
                ($body)(store).await;
            }

            #[tokio::test]
            async fn postgres() {
                let (store, _db) = $crate::db::postgres().await;
                ($body)(store).await;
            }
        }
    };
}
