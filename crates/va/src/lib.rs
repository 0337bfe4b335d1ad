//! The validation authority: proves that a domain's owner agreed to a certificate (domain
//! control validation) and that the domain's DNS lets Castellan issue (CAA).
//!
//! It knows nothing of the database, organisations or requests: the RA decides which checks
//! to run for which name and keeps the outcomes. Everything here asks the outside world
//! (DNS, web servers) and reports, in words an administrator can act on, what it found.
//!
//! - [`dns`]: the stub resolver, with a transcript of every question and answer;
//! - [`dcv`]: the CNAME, TXT and HTTP file checks;
//! - [`fetch`]: validation HTTP requests, refusing non-public addresses;
//! - [`caa`]: the RFC 8659 / RFC 8657 decision;
//! - [`challenge`]: the ACME challenges http-01, dns-01 and tls-alpn-01.

pub mod caa;
pub mod challenge;
pub mod dcv;
pub mod dns;
mod error;
pub mod fetch;
mod names;

pub use caa::{CaaDecision, check_caa};
pub use dcv::{Check, check_cname, check_http, check_txt};
pub use dns::{CaaRecord, DEFAULT_CAA_CACHE_MAX, Lookup, Resolver, ResolverSettings, Reused};
pub use error::{Error, Result};
pub use fetch::{FetchSettings, Fetched, Fetcher, Scheme};
pub use names::normalize as normalize_name;
