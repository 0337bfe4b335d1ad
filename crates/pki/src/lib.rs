//! Castellan's certificate engine: keys, CSR checks, profiles, certificate building,
//! pre-issuance lints and the download encodings.
//!
//! `pki` knows nothing of the database or HTTP. Callers (`ra`) hand it parsed inputs
//! and a signer; it hands back DER. Every refusal is a [`PkiError`] that names the rule
//! and the value, so the front doors can show it as it is.

pub mod crl;
pub mod csr;
pub mod encode;
mod error;
pub mod escrow;
pub mod hierarchy;
pub mod inspect;
pub mod issue;
pub mod kek;
pub mod keys;
pub mod lint;
pub mod names;
pub mod ocsp;
pub mod oids;
pub mod org_identifier;
pub mod profile;
pub mod rand;
pub mod serial;
pub mod shamir;
pub mod signer;
pub mod subject;
mod x509;

pub use error::PkiError;

/// Result type of this crate.
pub type Result<T> = std::result::Result<T, PkiError>;
