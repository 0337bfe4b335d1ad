//! Domain control validation: the checks that a domain's owner put in place what Castellan
//! asked for (a CNAME, a TXT record, a file on the web server).
//!
//! A check never fails with an error: it returns a [`Check`], passed or not, whose `detail`
//! tells the administrator what was expected and what was found, and whose `transcript` shows
//! every question asked. A lookup that got no answer (SERVFAIL, timeout) is a check that did
//! not pass, and says so: the RA will try again later, and nothing is lost by waiting.

mod dns;
mod http;

pub use dns::{check_cname, check_txt};
pub(crate) use http::unfetched;
pub use http::{VALIDATION_PATH, check_http};

/// The outcome of one DCV check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// Whether the domain showed what was expected.
    pub passed: bool,
    /// One sentence for a person: what was expected, what was found, and what to change.
    pub detail: String,
    /// Every question asked and every answer received, for troubleshooting.
    pub transcript: Vec<String>,
    /// The check got no answer (a DNS server failed, a connection timed out): asking again
    /// later may pass. A check that got an answer, right or wrong, is not retried.
    pub retry: bool,
}

impl Check {
    pub(crate) fn pass(detail: String, transcript: Vec<String>) -> Check {
        Check {
            passed: true,
            detail,
            transcript,
            retry: false,
        }
    }

    pub(crate) fn fail(detail: String, transcript: Vec<String>) -> Check {
        Check {
            passed: false,
            detail,
            transcript,
            retry: false,
        }
    }

    /// A check that got no answer (see [`Check::retry`]).
    pub(crate) fn unanswered(detail: String, transcript: Vec<String>) -> Check {
        Check {
            passed: false,
            detail,
            transcript,
            retry: true,
        }
    }
}
