//! Test support shared by every crate's integration tests: fresh databases on the real
//! engines, and the real external tools (`openssl`, `pkilint`) that act as oracles.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod db;
pub mod tools;
