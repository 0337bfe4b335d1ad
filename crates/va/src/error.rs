//! The one error type of the validation authority.
//!
//! A DCV check never returns an error to its caller for a failed validation: it returns a
//! [`crate::Check`] that says what was expected and what was found. Errors are for what stopped
//! a lookup or a fetch from giving an answer at all (a DNS server failing, a refused address,
//! a redirect loop), and each one says which name, address or URL and why, because the RA shows
//! it to an administrator who must fix their DNS or web server.

use std::net::IpAddr;

/// Why a lookup or a fetch gave no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The name is not a valid DNS name.
    #[error("{name:?} is not a valid DNS name: {reason}")]
    InvalidName {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The resolver could not be set up (for example, no usable system configuration).
    #[error("the DNS resolver could not be set up: {0}")]
    ResolverSetup(String),

    /// The DNS gave no answer: SERVFAIL, REFUSED, a timeout, a network error. Not NXDOMAIN or
    /// an empty answer: those are answers ("there is no such record").
    #[error("the DNS lookup of {query} failed: {reason}")]
    LookupFailed {
        /// What was asked, e.g. `CAA example.com.`.
        query: String,
        /// What went wrong, as the resolver said it.
        reason: String,
        /// The troubleshooting transcript up to the failure.
        transcript: Vec<String>,
    },

    /// A CNAME chain longer than the VA follows.
    #[error("the CNAME chain from {name} is longer than {max} hops")]
    CnameChainTooLong {
        /// Where the chain starts.
        name: String,
        /// The most hops followed.
        max: usize,
        /// The hops that were followed.
        transcript: Vec<String>,
    },

    /// A CNAME chain that comes back to a name already in it.
    #[error("the CNAME chain from {name} loops back to {repeated}")]
    CnameLoop {
        /// Where the chain starts.
        name: String,
        /// The name seen twice.
        repeated: String,
        /// The hops that were followed.
        transcript: Vec<String>,
    },

    /// A validation request would go to an address that is not on the public Internet.
    #[error(
        "refusing to connect to {addr} ({rule}): validation only contacts public addresses; \
         set allow_private_targets to allow it"
    )]
    PrivateAddress {
        /// The address refused.
        addr: IpAddr,
        /// The rule it falls under, e.g. `loopback` or `private, RFC 1918`.
        rule: &'static str,
    },

    /// The host name has no A or AAAA record.
    #[error("{host} has no A or AAAA record")]
    NoAddress {
        /// The host name.
        host: String,
    },

    /// More redirects than the Baseline Requirements let a validation follow.
    #[error("{url} redirected more than {max} times")]
    TooManyRedirects {
        /// The URL first asked for.
        url: String,
        /// The most redirects followed.
        max: usize,
    },

    /// A redirect to somewhere validation may not go.
    #[error("refusing the redirect to {url}: {reason}")]
    RedirectRefused {
        /// Where the redirect pointed.
        url: String,
        /// Which rule it breaks.
        reason: String,
    },

    /// The response body is larger than a validation file can be.
    #[error("the response from {url} is larger than {limit} bytes")]
    BodyTooLarge {
        /// The URL that answered.
        url: String,
        /// The cap.
        limit: usize,
    },

    /// The URL is not one validation fetches (not http/https, no host, unparsable).
    #[error("{url:?} cannot be fetched for validation: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// Why not.
        reason: String,
    },

    /// The HTTP request failed (connection refused, TLS failure, timeout, bad response).
    #[error("fetching {url} failed: {reason}")]
    Http {
        /// The URL asked for.
        url: String,
        /// What went wrong.
        reason: String,
    },

    /// The HTTP client could not be built.
    #[error("the HTTP client could not be set up: {0}")]
    HttpSetup(String),
}

impl Error {
    /// The troubleshooting transcript the error carries, if any: the DNS questions asked and
    /// the answers received before the failure.
    pub fn transcript(&self) -> &[String] {
        match self {
            Error::LookupFailed { transcript, .. }
            | Error::CnameChainTooLong { transcript, .. }
            | Error::CnameLoop { transcript, .. } => transcript,
            _ => &[],
        }
    }
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;
