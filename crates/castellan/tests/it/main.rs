//! The `castellan` binary as an operator uses it: init, serve, ca and cert commands, their
//! exit codes and messages, over SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cli;
mod serve;
mod support;
