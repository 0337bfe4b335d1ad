//! Fresh databases for tests: a temporary SQLite file, or a new PostgreSQL database on the
//! server named by `CASTELLAN_TEST_POSTGRES_URL` (default: the local server, user postgres),
//! dropped when the test ends.

use castellan_store::{SqliteSync, Store};
use sqlx::Connection;

/// The PostgreSQL server tests create their databases on.
pub fn postgres_admin_url() -> String {
    std::env::var("CASTELLAN_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A database that disappears with the value.
pub enum TestDb {
    /// Removed when dropped.
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres {
        admin_url: String,
        name: String,
    },
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres { admin_url, name } = self {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop runs outside async; use a small runtime on a separate thread.
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

pub async fn sqlite() -> (Store, TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite(&dir.path().join("castellan.db"), true, SqliteSync::Full)
        .await
        .unwrap();
    store.migrate().await.unwrap();
    (store, TestDb::Sqlite(dir))
}

pub async fn postgres() -> (Store, TestDb) {
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
    let store = Store::open(&format!("{base}/{name}")).await.unwrap();
    store.migrate().await.unwrap();
    (store, TestDb::Postgres { admin_url, name })
}

/// Runs an async test body on both engines: `both!(name, |store| async move { ... })`.
#[macro_export]
macro_rules! both {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test]
            async fn sqlite() {
                let (store, _db) = $crate::backends::sqlite().await;
                ($body)(store).await;
            }

            #[tokio::test]
            async fn postgres() {
                let (store, _db) = $crate::backends::postgres().await;
                ($body)(store).await;
            }
        }
    };
}
