//! Store tests: every test body runs on SQLite and on PostgreSQL, and one test compares
//! the two engines' answers to the same sequence of operations.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod store;
