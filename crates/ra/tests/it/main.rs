//! The RA against real databases: initialisation, loading, issuance, downloads, the
//! service certificate, and the failures that must be clear.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod authority;
mod registration;
mod support;
