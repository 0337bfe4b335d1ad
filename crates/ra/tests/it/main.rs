//! The RA against real databases: initialisation, loading, issuance, downloads, the
//! service certificate, and the failures that must be clear.
#![allow(clippy::unwrap_used, clippy::expect_used)]

/// Runs a test body on a fresh SQLite and a fresh PostgreSQL authority.
macro_rules! on_both {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test]
            async fn sqlite() {
                let (fx, _db) = crate::support::sqlite_fixture().await;
                // The body may capture only some fields of the fixture; keep the DNS server
                // running until it is done.
                let _dns = fx.dns.clone();
                ($body)(fx).await;
            }

            #[tokio::test]
            async fn postgres() {
                let (fx, _db) = crate::support::postgres_fixture().await;
                let _dns = fx.dns.clone();
                ($body)(fx).await;
            }
        }
    };
}

mod acme_accounts;
mod acme_challenges;
mod authority;
mod client_certificates;
mod coverage;
mod dcv;
mod domains;
mod escrow;
mod invitations;
mod notification_events;
mod notifications;
mod orders;
mod persons;
mod portal;
mod registration;
mod revocation;
mod support;
