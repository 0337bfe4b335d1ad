//! Test support shared by every crate's integration tests: fresh databases on the real
//! engines, the real external tools (`openssl`, `pkilint`) that act as oracles, and a real DNS
//! server on loopback (feature `dns`); and an HTTP client for instant-acme over plain HTTP
//! (feature `acme-client`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[cfg(feature = "acme-client")]
pub mod acme_client;
#[cfg(feature = "db")]
pub mod db;
#[cfg(feature = "dns")]
pub mod dns;
pub mod smtp;
pub mod tools;
