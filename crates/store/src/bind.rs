//! Values for statements whose shape is built at run time (search filters, multi-row
//! inserts): the SQL text holds only `$n` placeholders, never values.

use crate::db::Query;
use castellan_model::DatabaseKind;

/// One value to bind.
pub(crate) enum Bind {
    /// TEXT.
    Text(String),
    /// TEXT or NULL.
    OptText(Option<String>),
    /// BIGINT.
    Int(i64),
    /// BIGINT or NULL.
    OptInt(Option<i64>),
    /// BLOB/BYTEA.
    Blob(Vec<u8>),
    /// BLOB/BYTEA or NULL.
    OptBlob(Option<Vec<u8>>),
}

/// `columns` (a comma-separated list) each prefixed with `alias.`, for a join whose tables
/// share column names.
pub(crate) fn qualified(columns: &str, alias: &str) -> String {
    qualified_as(columns, alias, "")
}

/// `columns` each prefixed with `alias.` and, with a `prefix`, named `<prefix><column>` in
/// the result: for a join that reads two tables' rows whose column names collide.
pub(crate) fn qualified_as(columns: &str, alias: &str, prefix: &str) -> String {
    columns
        .split(',')
        .map(str::trim)
        .map(|c| {
            if prefix.is_empty() {
                format!("{alias}.{c}")
            } else {
                format!("{alias}.{c} AS {prefix}{c}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Collects values and hands out their placeholders.
pub(crate) struct Params {
    values: Vec<Bind>,
    numbered: bool,
}

impl Params {
    /// Placeholders for `kind`: `$n` on PostgreSQL, `?` on SQLite. (SQLite looks a
    /// numbered parameter's name up by a linear scan, so binding the hundreds of values of
    /// a multi-row insert by number costs quadratic time there.)
    pub(crate) fn new(kind: DatabaseKind) -> Params {
        Params {
            values: Vec::new(),
            numbered: kind == DatabaseKind::Postgres,
        }
    }

    /// Adds a value; returns its placeholder. Values must be pushed in the order their
    /// placeholders appear in the SQL text, and a placeholder used twice is pushed twice:
    /// SQLite's `?` is positional, so reusing one shifts every later value (PostgreSQL's
    /// `$n` would hide the mistake).
    pub(crate) fn push(&mut self, value: Bind) -> String {
        self.values.push(value);
        if self.numbered {
            format!("${}", self.values.len())
        } else {
            "?".to_owned()
        }
    }

    /// A table of `values` (each once) with one text column, `n.value`, to join on where
    /// `WHERE x IN (…)` would do: SQLite builds a temporary b-tree for an `IN` list, and
    /// materialises a multi-row `VALUES` into one, on every execution, while `json_each`
    /// is read in place (a name check's three lookups built five such b-trees). The values
    /// travel as one JSON array; PostgreSQL reads it with `jsonb_array_elements_text`.
    pub(crate) fn text_table(&mut self, values: &[String]) -> String {
        let mut unique: Vec<&str> = values.iter().map(String::as_str).collect();
        unique.sort_unstable();
        unique.dedup();
        let json = serde_json::Value::from(unique).to_string();
        let placeholder = self.push(Bind::Text(json));
        if self.numbered {
            format!("jsonb_array_elements_text(CAST({placeholder} AS jsonb)) AS n(value)")
        } else {
            format!("json_each({placeholder}) AS n")
        }
    }

    /// How many values so far.
    pub(crate) fn len(&self) -> usize {
        self.values.len()
    }

    /// Binds every value to `query`, in order.
    pub(crate) fn bind_all(&self, mut query: Query) -> Query {
        for value in &self.values {
            query = match value {
                Bind::Text(v) => query.bind(v.clone()),
                Bind::OptText(v) => query.bind(v.clone()),
                Bind::Int(v) => query.bind(*v),
                Bind::OptInt(v) => query.bind(*v),
                Bind::Blob(v) => query.bind(v.clone()),
                Bind::OptBlob(v) => query.bind(v.clone()),
            };
        }
        query
    }
}
