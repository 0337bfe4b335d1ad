//! The registration authority: policy and workflow.
//!
//! Every front door (CLI, portal, REST APIs, ACME, enrolment forms, jobs) ends in the
//! functions of this crate, so a rule is written once. `ra` asks `pki` to check and sign,
//! `store` to remember, and decides the order: nothing is stored for a refused request,
//! and an issued certificate is stored in the same transaction as its request.

mod authority;
pub mod clock;
mod committer;
mod download;
mod error;
mod issuance;
pub mod password;
mod service_tls;
pub mod setup;
pub mod urls;

pub use authority::{Authority, AuthorityOptions, CaSummary};
pub use download::{CertificateSelector, Download};
pub use error::{RaError, Result};
pub use issuance::{IssueCommand, IssuedCertificate, KeySource};
pub use service_tls::ServiceTls;

/// What a front door calls itself in request records (SCM's `requestedVia`).
pub mod requested_via {
    /// The operator CLI (`castellan cert issue`).
    pub const CLI: &str = "CLI";
    /// Castellan's own server certificate.
    pub const SERVICE: &str = "Service";
}
