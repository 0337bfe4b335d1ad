//! The one error type of `store`.

use thiserror::Error;

/// Why a store operation failed.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The database could not be reached or opened.
    #[error("cannot open the database {target}: {reason}")]
    Connect {
        /// The database (path or URL without the password).
        target: String,
        /// Why.
        reason: String,
    },

    /// Bringing the schema up to date failed.
    #[error("database migration failed: {0}")]
    Migrate(String),

    /// A row that must be unique already exists (the constraint's column is named).
    #[error("{what} '{value}' already exists")]
    Duplicate {
        /// What kind of value (e.g. `certificate serial`).
        what: &'static str,
        /// The value.
        value: String,
    },

    /// A stored value could not be read back into its type.
    #[error("stored data is not valid: {0}")]
    Corrupt(String),

    /// A committed transaction could not be made durable (the fsync of SQLite's WAL failed).
    #[error(
        "the database could not make a commit durable ({path}): {reason}; check the disk that \
         holds the data directory (free space, I/O errors in the system log)"
    )]
    Durability {
        /// The file that was being synced.
        path: String,
        /// Why.
        reason: String,
    },

    /// An SQLite write transaction was not stored: the COMMIT of the batch it shared with
    /// others failed, or an error rolled that batch back (ADR 0022). Nobody was told it was
    /// committed; doing it again is safe.
    #[error(
        "the database could not commit this change ({reason}); nothing of it was stored, so \
         it can be made again"
    )]
    Commit {
        /// Why.
        reason: String,
    },

    /// Any other database error (PostgreSQL, or migrations).
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),

    /// Any other database error on SQLite.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

impl StoreError {
    /// Whether this is a unique-constraint violation on `column`.
    pub(crate) fn unique_violation(err: &StoreError, column: &str) -> bool {
        match err {
            StoreError::Database(sqlx::Error::Database(db)) => {
                db.kind() == sqlx::error::ErrorKind::UniqueViolation
                    && (db.message().contains(column)
                        || db.constraint().is_some_and(|c| c.contains(column)))
            }
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, Some(message))) => {
                (e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
                    && message.contains(column)
            }
            _ => false,
        }
    }
}

/// Result type of this crate.
pub type Result<T> = std::result::Result<T, StoreError>;
