//! The registration authority: policy and workflow.
//!
//! Every front door (CLI, portal, REST APIs, ACME, enrolment forms, jobs) ends in the
//! functions of this crate, so a rule is written once. `ra` asks `pki` to check and sign,
//! `store` to remember, and decides the order: nothing is stored for a refused request,
//! and an issued certificate is stored in the same transaction as its request.

pub mod acme_accounts;
pub mod acme_challenges;
mod acme_nonces;
pub mod acme_protocol;
mod actor;
pub mod admins;
pub mod approval;
pub mod audit;
mod authority;
pub mod client_certificates;
pub mod clock;
mod committer;
pub mod coverage;
pub mod dashboard;
pub mod dcv;
pub mod domains;
mod download;
mod error;
pub mod escrow;
pub mod invitations;
mod issuance;
pub mod notifications;
pub mod orders;
pub mod organizations;
pub mod password;
pub mod persons;
pub mod revocation;
pub mod scope;
mod service_tls;
pub mod sessions;
pub mod setup;
pub mod signin;
pub mod tokens;
pub mod urls;

pub use actor::Actor;
pub use authority::{Authority, AuthorityOptions, CaSummary};
pub use download::{CertificateSelector, Download};
pub use error::{RaError, Result};
pub use issuance::{IssueCommand, IssuedCertificate, KeySource, ServerKey};
pub use service_tls::ServiceTls;

/// What a front door calls itself in request records (SCM's `requestedVia`).
pub mod requested_via {
    /// The operator CLI (`castellan cert issue`).
    pub const CLI: &str = "CLI";
    /// Castellan's own server certificate.
    pub const SERVICE: &str = "Service";
}

/// Unpadded base64url, as ACME and SCM identifiers use it.
pub(crate) fn b64url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Compares two secrets in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
