//! How the store's statements reach each engine (`docs/adr/0020-sqlite-on-the-calling-thread.md`).
//!
//! Every query is still one string of SQL, written once for both engines, bound and read
//! through the small, sqlx-shaped interface here ([`query`], [`Query::bind`], [`Row::try_get`]):
//!
//! - **PostgreSQL** goes through sqlx's `Any` driver, as before.
//! - **SQLite** goes through rusqlite, and each statement runs *on the calling thread*
//!   against a connection taken from a small pool. sqlx runs each SQLite connection on a
//!   thread of its own and hands it every statement over a channel: a round trip between
//!   threads (two context switches and futex wake-ups) per statement, which was the largest
//!   single cost of an ACME order. An SQLite statement of the store takes microseconds and
//!   never waits on the network, so running it in place is cheaper than any hand-off; the
//!   few that can wait (taking the write lock while another process holds it) wait
//!   asynchronously (`begin_immediate`), and the reads that can cover a large part of a
//!   table (the rows of a CRL, statements marked [`Query::scan`]) run where blocking is
//!   allowed ([`blocking`]).
//!
//! Statements are prepared once per connection and kept (rusqlite's statement cache).

use crate::{Result, StoreError};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool, AssertSqlSafe};
use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How many idle SQLite connections the pool keeps (more are opened when needed, and closed
/// when given back to a full pool).
const SQLITE_IDLE: usize = 8;
/// Prepared statements kept per SQLite connection (the store has about two hundred).
const SQLITE_STATEMENT_CACHE: usize = 256;
/// How long a writer waits for another process's write transaction (SQLite's busy timeout).
const SQLITE_BUSY: Duration = Duration::from_secs(10);
/// The WAL's size, in frames, at which the COMMIT that reaches it checkpoints
/// ([`checkpoint_when_due`]; SQLite's own default is 1,000).
const WAL_CHECKPOINT_FRAMES: std::ffi::c_int = 4000;

/// One value bound to a statement, or read from a row.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    /// NULL of the given kind (PostgreSQL types its parameters, so a NULL needs one).
    Null(Kind),
    /// INTEGER / BIGINT (times, ids, counts, 0/1 booleans).
    Int(i64),
    /// TEXT.
    Text(String),
    /// BLOB / BYTEA.
    Blob(Vec<u8>),
}

/// The kind of a NULL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Int,
    Text,
    Blob,
}

/// A Rust value that can be bound as a parameter.
pub(crate) trait Encode {
    /// The kind of this type's NULL.
    const KIND: Kind;
    /// The value to bind.
    fn encode(self) -> Value;
}

impl Encode for i64 {
    const KIND: Kind = Kind::Int;
    fn encode(self) -> Value {
        Value::Int(self)
    }
}

impl Encode for String {
    const KIND: Kind = Kind::Text;
    fn encode(self) -> Value {
        Value::Text(self)
    }
}

impl Encode for &String {
    const KIND: Kind = Kind::Text;
    fn encode(self) -> Value {
        Value::Text(self.clone())
    }
}

impl Encode for &str {
    const KIND: Kind = Kind::Text;
    fn encode(self) -> Value {
        Value::Text(self.to_owned())
    }
}

impl Encode for Vec<u8> {
    const KIND: Kind = Kind::Blob;
    fn encode(self) -> Value {
        Value::Blob(self)
    }
}

impl Encode for &Vec<u8> {
    const KIND: Kind = Kind::Blob;
    fn encode(self) -> Value {
        Value::Blob(self.clone())
    }
}

impl Encode for &[u8] {
    const KIND: Kind = Kind::Blob;
    fn encode(self) -> Value {
        Value::Blob(self.to_vec())
    }
}

impl<T: Encode> Encode for Option<T> {
    const KIND: Kind = T::KIND;
    fn encode(self) -> Value {
        match self {
            Some(v) => v.encode(),
            None => Value::Null(T::KIND),
        }
    }
}

/// A Rust value that can be read from a column.
pub(crate) trait Decode: Sized {
    /// The value, or why the stored one does not fit.
    fn decode(value: &Value) -> std::result::Result<Self, String>;
}

impl Decode for i64 {
    fn decode(value: &Value) -> std::result::Result<Self, String> {
        match value {
            Value::Int(v) => Ok(*v),
            other => Err(format!("expected an integer, found {}", describe(other))),
        }
    }
}

impl Decode for String {
    fn decode(value: &Value) -> std::result::Result<Self, String> {
        match value {
            Value::Text(v) => Ok(v.clone()),
            other => Err(format!("expected text, found {}", describe(other))),
        }
    }
}

impl Decode for Vec<u8> {
    fn decode(value: &Value) -> std::result::Result<Self, String> {
        match value {
            Value::Blob(v) => Ok(v.clone()),
            other => Err(format!("expected bytes, found {}", describe(other))),
        }
    }
}

impl<T: Decode> Decode for Option<T> {
    fn decode(value: &Value) -> std::result::Result<Self, String> {
        match value {
            Value::Null(_) => Ok(None),
            other => T::decode(other).map(Some),
        }
    }
}

fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null(_) => "NULL",
        Value::Int(_) => "an integer",
        Value::Text(_) => "text",
        Value::Blob(_) => "bytes",
    }
}

/// A column, by name (the generic parameter keeps the call sites sqlx-shaped: `try_get::<i64, _>("id")`).
pub(crate) trait ColumnIndex {
    fn position(&self, columns: &[String]) -> Option<usize>;
    fn describe(&self) -> String;
}

impl ColumnIndex for &str {
    fn position(&self, columns: &[String]) -> Option<usize> {
        columns.iter().position(|c| c == self)
    }
    fn describe(&self) -> String {
        (*self).to_owned()
    }
}

/// One row of a result.
#[derive(Debug)]
pub(crate) struct Row {
    columns: Arc<Vec<String>>,
    values: Vec<Value>,
}

impl Row {
    /// The value of a column, as `T`.
    pub(crate) fn try_get<T: Decode, I: ColumnIndex>(&self, index: I) -> Result<T> {
        let at = index.position(&self.columns).ok_or_else(|| {
            StoreError::Corrupt(format!("no column {} in the result", index.describe()))
        })?;
        T::decode(&self.values[at])
            .map_err(|why| StoreError::Corrupt(format!("column {}: {why}", index.describe())))
    }
}

/// What a statement that returns no rows did.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Done {
    rows_affected: u64,
}

impl Done {
    /// How many rows it inserted, updated or deleted.
    pub(crate) fn rows_affected(&self) -> u64 {
        self.rows_affected
    }
}

/// An insert without `ON CONFLICT` that stored no row: the statement would have failed
/// instead, so the store has a bug.
pub(crate) fn not_inserted(what: &str) -> StoreError {
    StoreError::Corrupt(format!("the {what} was not stored, and no error said why"))
}

/// The clause that ends an insert run with [`Query::fetch_inserted_id`].
const RETURNING_ID: &str = " RETURNING id";

/// A statement and its parameters.
pub(crate) struct Query {
    sql: Cow<'static, str>,
    args: Vec<Value>,
    /// May read a large part of a table (see [`Query::scan`]).
    scan: bool,
}

/// A statement; bind its parameters in order, then run it with `execute` or a `fetch_…`.
pub(crate) fn query(sql: impl Into<Cow<'static, str>>) -> Query {
    Query {
        sql: sql.into(),
        args: Vec::new(),
        scan: false,
    }
}

/// Where a statement runs: any connection of the pool, or one connection (a transaction's).
pub(crate) enum Target<'a> {
    Pool(&'a Pool),
    Conn(&'a mut Conn),
}

impl<'a> From<&'a Pool> for Target<'a> {
    fn from(pool: &'a Pool) -> Self {
        Target::Pool(pool)
    }
}

impl<'a> From<&'a mut Conn> for Target<'a> {
    fn from(conn: &'a mut Conn) -> Self {
        Target::Conn(conn)
    }
}

/// A [`Target`] resolved to one connection or pool of its engine.
enum Place<'a> {
    Sqlite(Lease<'a>),
    AnyPool(&'a AnyPool),
    AnyConn(&'a mut sqlx::AnyConnection),
}

/// An SQLite connection taken from the pool for one statement, or a connection held already.
enum Lease<'a> {
    Taken(PooledSqlite),
    Held(&'a mut PooledSqlite),
}

impl Lease<'_> {
    fn connection(&self) -> Result<&rusqlite::Connection> {
        match self {
            Lease::Taken(conn) => conn.connection(),
            Lease::Held(conn) => conn.connection(),
        }
    }
}

impl<'a> Target<'a> {
    fn place(self) -> Result<Place<'a>> {
        Ok(match self {
            Target::Pool(Pool::Sqlite(pool)) => Place::Sqlite(Lease::Taken(pool.get()?)),
            Target::Pool(Pool::Any(pool)) => Place::AnyPool(pool),
            Target::Conn(Conn::Sqlite(conn)) => Place::Sqlite(Lease::Held(conn)),
            Target::Conn(Conn::Member(member)) => Place::Sqlite(Lease::Held(member.conn()?)),
            Target::Conn(Conn::Any(conn)) => Place::AnyConn(conn),
            Target::Conn(Conn::AnyTx(tx)) => Place::AnyConn(tx),
        })
    }
}

/// What to collect from a statement run on SQLite.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Collect {
    One,
    All,
}

impl Query {
    /// Binds the next parameter.
    pub(crate) fn bind(mut self, value: impl Encode) -> Query {
        self.args.push(value.encode());
        self
    }

    /// Marks a statement that may read a large part of a table (a count or a search over
    /// every certificate): on SQLite it runs where blocking is allowed ([`blocking`]), so
    /// the other tasks of its thread move to another one meanwhile.
    pub(crate) fn scan(mut self) -> Query {
        self.scan = true;
        self
    }

    /// Runs a statement that returns no rows (or whose rows are not wanted).
    pub(crate) async fn execute<'a>(self, target: impl Into<Target<'a>>) -> Result<Done> {
        let rows_affected = match target.into().place()? {
            Place::Sqlite(conn) => {
                return on_sqlite(self.scan, || self.execute_sqlite(conn.connection()?));
            }
            Place::AnyPool(pool) => self.into_sqlx().execute(pool).await?,
            Place::AnyConn(conn) => self.into_sqlx().execute(conn).await?,
        }
        .rows_affected();
        Ok(Done { rows_affected })
    }

    /// Every row.
    pub(crate) async fn fetch_all<'a>(self, target: impl Into<Target<'a>>) -> Result<Vec<Row>> {
        let rows = match target.into().place()? {
            Place::Sqlite(conn) => {
                return on_sqlite(self.scan, || {
                    self.rows_sqlite(conn.connection()?, Collect::All)
                });
            }
            Place::AnyPool(pool) => self.into_sqlx().fetch_all(pool).await?,
            Place::AnyConn(conn) => self.into_sqlx().fetch_all(conn).await?,
        };
        rows.into_iter().map(row_from_any).collect()
    }

    /// The first row, if any.
    pub(crate) async fn fetch_optional<'a>(
        self,
        target: impl Into<Target<'a>>,
    ) -> Result<Option<Row>> {
        let row = match target.into().place()? {
            Place::Sqlite(conn) => {
                let rows = on_sqlite(self.scan, || {
                    self.rows_sqlite(conn.connection()?, Collect::One)
                })?;
                return Ok(rows.into_iter().next());
            }
            Place::AnyPool(pool) => self.into_sqlx().fetch_optional(pool).await?,
            Place::AnyConn(conn) => self.into_sqlx().fetch_optional(conn).await?,
        };
        row.map(row_from_any).transpose()
    }

    /// The first row; an error when there is none.
    pub(crate) async fn fetch_one<'a>(self, target: impl Into<Target<'a>>) -> Result<Row> {
        self.fetch_optional(target)
            .await?
            .ok_or(StoreError::Database(sqlx::Error::RowNotFound))
    }

    /// Runs an `INSERT` of one row that ends in `RETURNING id` and gives the new row's id, or
    /// `None` when no row was inserted (`ON CONFLICT … DO NOTHING`). On SQLite the statement
    /// runs without its `RETURNING` clause and the id is the connection's last inserted
    /// rowid: SQLite collects `RETURNING` rows in a temporary b-tree on every execution.
    pub(crate) async fn fetch_inserted_id<'a>(
        self,
        target: impl Into<Target<'a>>,
    ) -> Result<Option<i64>> {
        let row = match target.into().place()? {
            Place::Sqlite(conn) => {
                let conn = conn.connection()?;
                let Some(sql) = self.sql.strip_suffix(RETURNING_ID) else {
                    return Err(StoreError::Corrupt(format!(
                        "an insert whose id is wanted must end in '{RETURNING_ID}' (a bug in \
                         the store): {}",
                        self.sql
                    )));
                };
                let done = self.execute_sqlite_as(conn, sql)?;
                return Ok((done.rows_affected > 0).then(|| conn.last_insert_rowid()));
            }
            Place::AnyPool(pool) => self.into_sqlx().fetch_optional(pool).await?,
            Place::AnyConn(conn) => self.into_sqlx().fetch_optional(conn).await?,
        };
        row.map(|row| row_from_any(row)?.try_get("id")).transpose()
    }

    /// Calls `each` with every row, one at a time, never holding more than one (for results
    /// too large to collect: the entries of a CRL). On SQLite this reads on the calling
    /// thread, where blocking is allowed ([`blocking`]).
    pub(crate) async fn for_each<'a>(
        self,
        target: impl Into<Target<'a>>,
        mut each: impl FnMut(Row) -> Result<()>,
    ) -> Result<()> {
        use futures_util::TryStreamExt;
        let mut rows = match target.into().place()? {
            Place::Sqlite(conn) => {
                return blocking(|| {
                    self.each_sqlite(conn.connection()?, |row| each(row).map(|()| true))
                });
            }
            Place::AnyPool(pool) => self.into_sqlx().fetch(pool),
            Place::AnyConn(conn) => self.into_sqlx().fetch(conn),
        };
        while let Some(row) = rows.try_next().await? {
            each(row_from_any(row)?)?;
        }
        Ok(())
    }

    fn into_sqlx(self) -> sqlx::query::Query<'static, Any, sqlx::any::AnyArguments> {
        let mut query = sqlx::query(AssertSqlSafe(self.sql.into_owned()));
        for value in self.args {
            query = match value {
                Value::Null(Kind::Int) => query.bind(None::<i64>),
                Value::Null(Kind::Text) => query.bind(None::<String>),
                Value::Null(Kind::Blob) => query.bind(None::<Vec<u8>>),
                Value::Int(v) => query.bind(v),
                Value::Text(v) => query.bind(v),
                Value::Blob(v) => query.bind(v),
            };
        }
        query
    }

    /// Prepares (or takes from the cache) and binds, numbering parameters as sqlx's SQLite
    /// driver does: `$n` and `?n` name argument n, a bare `?` the next one.
    fn prepared<'c>(
        &self,
        conn: &'c rusqlite::Connection,
    ) -> Result<rusqlite::CachedStatement<'c>> {
        self.prepared_as(conn, &self.sql)
    }

    /// [`Query::prepared`] with `sql` in place of the query's own text (the same statement
    /// without a clause).
    fn prepared_as<'c>(
        &self,
        conn: &'c rusqlite::Connection,
        sql: &str,
    ) -> Result<rusqlite::CachedStatement<'c>> {
        let mut statement = conn.prepare_cached(sql)?;
        let mut next = 0;
        for index in 1..=statement.parameter_count() {
            let n = match statement.parameter_name(index) {
                Some(name) => name[1..].parse::<usize>().map_err(|_| {
                    StoreError::Corrupt(format!("unsupported SQL parameter {name}"))
                })?,
                None => {
                    next += 1;
                    next
                }
            };
            let Some(value) = n.checked_sub(1).and_then(|at| self.args.get(at)) else {
                // As sqlx: an unbound parameter is NULL.
                break;
            };
            statement.raw_bind_parameter(index, SqliteValue(value))?;
        }
        Ok(statement)
    }

    fn execute_sqlite(self, conn: &rusqlite::Connection) -> Result<Done> {
        self.execute_sqlite_as(conn, &self.sql)
    }

    /// [`Query::execute_sqlite`] with `sql` in place of the query's own text.
    fn execute_sqlite_as(&self, conn: &rusqlite::Connection, sql: &str) -> Result<Done> {
        let mut statement = self.prepared_as(conn, sql)?;
        let mut rows = statement.raw_query();
        while rows.next()?.is_some() {}
        Ok(Done {
            rows_affected: conn.changes(),
        })
    }

    fn rows_sqlite(self, conn: &rusqlite::Connection, collect: Collect) -> Result<Vec<Row>> {
        let mut out = Vec::new();
        self.each_sqlite(conn, |row| {
            out.push(row);
            Ok(collect == Collect::All)
        })?;
        Ok(out)
    }

    /// Calls `each` with every row until it returns `false`.
    fn each_sqlite(
        self,
        conn: &rusqlite::Connection,
        mut each: impl FnMut(Row) -> Result<bool>,
    ) -> Result<()> {
        let mut statement = self.prepared(conn)?;
        let columns = Arc::new(column_names(&statement));
        let mut rows = statement.raw_query();
        while let Some(row) = rows.next()? {
            if !each(row_from_sqlite(row, &columns)?)? {
                break;
            }
        }
        Ok(())
    }
}

fn column_names(statement: &rusqlite::Statement<'_>) -> Vec<String> {
    statement
        .column_names()
        .into_iter()
        .map(str::to_owned)
        .collect()
}

fn row_from_sqlite(row: &rusqlite::Row<'_>, columns: &Arc<Vec<String>>) -> Result<Row> {
    use rusqlite::types::ValueRef;
    let mut values = Vec::with_capacity(columns.len());
    for (at, column) in columns.iter().enumerate() {
        values.push(match row.get_ref(at)? {
            ValueRef::Null => Value::Null(Kind::Int),
            ValueRef::Integer(v) => Value::Int(v),
            ValueRef::Real(v) => {
                return Err(StoreError::Corrupt(format!(
                    "column {column}: unexpected real number {v}"
                )));
            }
            ValueRef::Text(bytes) => Value::Text(
                std::str::from_utf8(bytes)
                    .map_err(|_| {
                        StoreError::Corrupt(format!("column {column}: text is not UTF-8"))
                    })?
                    .to_owned(),
            ),
            ValueRef::Blob(bytes) => Value::Blob(bytes.to_vec()),
        });
    }
    Ok(Row {
        columns: columns.clone(),
        values,
    })
}

/// A row of sqlx's `Any` driver, as a [`Row`].
fn row_from_any(row: sqlx::any::AnyRow) -> Result<Row> {
    use sqlx::any::AnyTypeInfoKind as K;
    use sqlx::{Column, Row as _, ValueRef as _};
    let columns: Vec<String> = row.columns().iter().map(|c| c.name().to_owned()).collect();
    let mut values = Vec::with_capacity(columns.len());
    for (at, column) in columns.iter().enumerate() {
        let raw = row.try_get_raw(at)?;
        let kind = raw.type_info().kind();
        let null = raw.is_null();
        values.push(match kind {
            _ if null => Value::Null(Kind::Int),
            K::Null => Value::Null(Kind::Int),
            K::Bool => Value::Int(i64::from(row.try_get::<bool, _>(at)?)),
            K::SmallInt | K::Integer | K::BigInt => Value::Int(row.try_get::<i64, _>(at)?),
            K::Text => Value::Text(row.try_get::<String, _>(at)?),
            K::Blob => Value::Blob(row.try_get::<Vec<u8>, _>(at)?),
            K::Real | K::Double => {
                return Err(StoreError::Corrupt(format!(
                    "column {column}: unexpected real number"
                )));
            }
        });
    }
    Ok(Row {
        columns: Arc::new(columns),
        values,
    })
}

/// A bound value, as rusqlite takes it.
struct SqliteValue<'v>(&'v Value);

impl rusqlite::ToSql for SqliteValue<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match self.0 {
            Value::Null(_) => ValueRef::Null,
            Value::Int(v) => ValueRef::Integer(*v),
            Value::Text(v) => ValueRef::Text(v.as_bytes()),
            Value::Blob(v) => ValueRef::Blob(v),
        }))
    }
}

/// The connections of a store.
#[derive(Clone)]
pub(crate) enum Pool {
    Sqlite(Arc<SqlitePool>),
    Any(AnyPool),
}

impl Pool {
    /// One connection, for several statements in a row (no transaction).
    pub(crate) async fn acquire(&self) -> Result<Conn> {
        match self {
            Pool::Sqlite(pool) => Ok(Conn::Sqlite(pool.get()?)),
            Pool::Any(pool) => Ok(Conn::Any(pool.acquire().await?)),
        }
    }

    /// Closes every connection.
    pub(crate) async fn close(&self) {
        match self {
            Pool::Sqlite(pool) => pool.close(),
            Pool::Any(pool) => pool.close().await,
        }
    }
}

/// One connection: of the SQLite pool, of the PostgreSQL pool, or a write transaction's.
pub(crate) enum Conn {
    Sqlite(PooledSqlite),
    /// An SQLite write transaction (`writer.rs`).
    Member(crate::writer::Member),
    Any(PoolConnection<Any>),
    AnyTx(sqlx::Transaction<'static, Any>),
}

/// How to open a connection to the SQLite database.
pub(crate) struct SqliteOpen {
    /// The database file.
    pub(crate) path: PathBuf,
    /// Create the file when it does not exist.
    pub(crate) create: bool,
    /// Told of every change to the rows it keeps copies of (SQLite's update hook).
    pub(crate) kept: Arc<crate::kept::Kept>,
}

impl SqliteOpen {
    /// Opens and sets up a connection: WAL, foreign keys, the busy timeout, the page cache
    /// and memory map. `synchronous = NORMAL`: SQLite syncs only around checkpoints; with
    /// `SqliteSync::Full` the store syncs each commit itself (group commit, ADR 0019).
    fn open(&self) -> Result<rusqlite::Connection> {
        use rusqlite::OpenFlags;
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        if self.create {
            flags |= OpenFlags::SQLITE_OPEN_CREATE;
        }
        let conn = rusqlite::Connection::open_with_flags(&self.path, flags).map_err(|e| {
            StoreError::Connect {
                target: self.path.display().to_string(),
                reason: e.to_string(),
            }
        })?;
        conn.busy_timeout(SQLITE_BUSY)?;
        conn.set_prepared_statement_cache_capacity(SQLITE_STATEMENT_CACHE);
        let kept = self.kept.clone();
        conn.update_hook(Some(
            move |_: rusqlite::hooks::Action, _: &str, table: &str, _: i64| kept.row_changed(table),
        ))?;
        // Random keys (serials) touch pages all over the indexes: keep them in memory
        // (cache, memory map) and checkpoint the WAL less often. Multi-row inserts need a
        // statement journal: in memory, rather than a temporary file per statement.
        conn.execute_batch(&format!(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             PRAGMA foreign_keys = ON;
             {};
             {};
             PRAGMA temp_store = MEMORY;",
            crate::SQLITE_CACHE_SIZE,
            crate::SQLITE_MMAP_SIZE,
        ))?;
        // After the pragmas: `wal_autocheckpoint` would replace this hook with SQLite's own.
        conn.wal_hook(Some(checkpoint_when_due));
        Ok(conn)
    }
}

/// SQLite's automatic checkpoint, where SQLite runs it: inside the COMMIT that brought the
/// WAL to [`WAL_CHECKPOINT_FRAMES`] frames, before the writer lock is released, so that the
/// next write transaction starts the WAL afresh. A checkpoint syncs the WAL, copies its pages
/// into the database and syncs the database (≈ 8 ms under load, mostly the two syncs); on a
/// multi-threaded runtime the serving thread first hands its other tasks to another worker
/// ([`blocking`]), so that they keep running while this one waits for the disk
/// (`docs/benchmarks.md`, remedy 7). A failed checkpoint does not fail the COMMIT, which has
/// happened: the next COMMIT past the mark tries again, as SQLite's own hook does.
fn checkpoint_when_due(
    wal: &rusqlite::hooks::Wal,
    frames: std::ffi::c_int,
) -> rusqlite::Result<()> {
    if frames < WAL_CHECKPOINT_FRAMES {
        return Ok(());
    }
    if let Err(e) = blocking(|| wal.checkpoint_v2(rusqlite::hooks::CheckpointMode::PASSIVE)) {
        tracing::warn!(error = %e, frames, "a WAL checkpoint failed; the next COMMIT tries again");
    }
    Ok(())
}

/// SQLite connections, used on the thread that asks (see the module's doc).
pub(crate) struct SqlitePool {
    open: SqliteOpen,
    idle: Mutex<Vec<rusqlite::Connection>>,
    closed: AtomicBool,
}

impl SqlitePool {
    /// The database file.
    pub(crate) fn path(&self) -> &std::path::Path {
        &self.open.path
    }

    /// A pool, with one connection opened now (so a database that cannot be opened fails at
    /// start, with its reason).
    pub(crate) fn new(open: SqliteOpen) -> Result<Arc<SqlitePool>> {
        let first = open.open()?;
        Ok(Arc::new(SqlitePool {
            open,
            idle: Mutex::new(vec![first]),
            closed: AtomicBool::new(false),
        }))
    }

    /// An idle connection, or a new one.
    pub(crate) fn get(self: &Arc<Self>) -> Result<PooledSqlite> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(StoreError::Connect {
                target: self.open.path.display().to_string(),
                reason: "the store has been closed".into(),
            });
        }
        let idle = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let conn = match idle {
            Some(conn) => conn,
            None => self.open.open()?,
        };
        Ok(PooledSqlite {
            conn: Some(conn),
            pool: self.clone(),
        })
    }

    fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        let idle = match self.idle.lock() {
            Ok(mut idle) => std::mem::take(&mut *idle),
            Err(_) => Vec::new(),
        };
        drop(idle);
    }
}

/// An SQLite connection on loan from the pool; given back when dropped.
pub(crate) struct PooledSqlite {
    conn: Option<rusqlite::Connection>,
    pool: Arc<SqlitePool>,
}

impl PooledSqlite {
    pub(crate) fn connection(&self) -> Result<&rusqlite::Connection> {
        self.conn.as_ref().ok_or_else(|| StoreError::Connect {
            target: self.pool.open.path.display().to_string(),
            reason: "the connection was closed".into(),
        })
    }

    /// Starts a write transaction: `BEGIN IMMEDIATE`, waiting (asynchronously, without
    /// blocking the thread) while another process holds the write lock, up to the busy
    /// timeout.
    /// (No reference to the connection is held across an await: a future that holds one
    /// could not move between threads, the connection being `Send` but not `Sync`.)
    pub(crate) async fn begin_immediate(&mut self) -> Result<()> {
        let deadline = Instant::now() + SQLITE_BUSY;
        self.connection()?.busy_timeout(Duration::ZERO)?;
        let mut pause = Duration::from_millis(1);
        let begun = loop {
            let attempt = run_cached(self.connection()?, "BEGIN IMMEDIATE");
            match attempt {
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.code == rusqlite::ErrorCode::DatabaseBusy && Instant::now() < deadline =>
                {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
                other => break other,
            }
        };
        self.connection()?.busy_timeout(SQLITE_BUSY)?;
        Ok(begun?)
    }
}

impl Drop for PooledSqlite {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        // A connection given back inside a transaction (a `Tx` dropped without commit, or a
        // failed COMMIT) is rolled back first; one that cannot be is closed.
        if !conn.is_autocommit() && conn.execute_batch("ROLLBACK").is_err() {
            return;
        }
        if self.pool.closed.load(Ordering::SeqCst) {
            return;
        }
        if let Ok(mut idle) = self.pool.idle.lock()
            && idle.len() < SQLITE_IDLE
        {
            idle.push(conn);
        }
    }
}

/// Runs one statement without parameters or rows (`BEGIN`, `SAVEPOINT`, `COMMIT`) through the
/// connection's statement cache: each write transaction runs several of these, and
/// `execute_batch` would parse each one again every time.
pub(crate) fn run_cached(conn: &rusqlite::Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// Runs an SQLite statement in place, or, when it is a [`Query::scan`], where blocking is
/// allowed.
fn on_sqlite<T>(scan: bool, work: impl FnOnce() -> T) -> T {
    if scan { blocking(work) } else { work() }
}

/// Runs `work`, which may block for a while (reading a million rows), where blocking is
/// allowed: on a multi-threaded runtime other tasks move to another thread meanwhile; on a
/// current-thread runtime (tests, one-shot commands) it simply runs.
pub(crate) fn blocking<T>(work: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(work)
        }
        _ => work(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SqliteSync, Store};

    #[tokio::test]
    async fn an_inserted_id_is_the_new_rows_and_none_when_nothing_was_inserted() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite(&dir.path().join("castellan.db"), true, SqliteSync::Full)
            .await
            .unwrap();
        let pool = &store.pool;
        query("CREATE TABLE t (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE)")
            .execute(pool)
            .await
            .unwrap();
        let insert = |key: &str| {
            query("INSERT INTO t (key) VALUES ($1) ON CONFLICT (key) DO NOTHING RETURNING id")
                .bind(key.to_owned())
        };
        let a = insert("a").fetch_inserted_id(pool).await.unwrap();
        let b = insert("b").fetch_inserted_id(pool).await.unwrap();
        let again = insert("a").fetch_inserted_id(pool).await.unwrap();
        let stored = query("SELECT id FROM t WHERE key = 'b'")
            .fetch_one(pool)
            .await
            .unwrap()
            .try_get::<i64, _>("id")
            .unwrap();
        assert_eq!((a, b, again), (Some(1), Some(stored), None));
        assert_eq!(stored, 2);

        // Without the clause the store refuses, and says which rule its statement broke.
        let err = query("INSERT INTO t (key) VALUES ('c') RETURNING key")
            .fetch_inserted_id(pool)
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "stored data is not valid: an insert whose id is wanted must end in ' RETURNING \
             id' (a bug in the store): INSERT INTO t (key) VALUES ('c') RETURNING key"
        );
    }
}
