//! The outbox against a real database and a real SMTP server on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod outbox;
