//! The `castellan` binary as an operator uses it: init, serve, ca and cert commands, their
//! exit codes and messages, over SQLite and PostgreSQL; and the public SCM python client
//! against a running server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod acme_challenges;
mod acme_clients;
mod acme_instant;
mod cli;
mod notifications_api;
mod pki_http;
mod portal;
mod private_api;
mod scm_client;
mod serve;
mod support;
