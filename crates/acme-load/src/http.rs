//! The load generator's HTTP client: `castellan_testkit::acme_client::AcmeHttp` (instant-acme's
//! [`instant_acme::HttpClient`] hook on the workspace's reqwest, plain HTTP allowed; see there
//! for why not instant-acme's own client) with [`Counters`] watching the wire.
//!
//! The measurement must show what instant-acme hides: every request, every `badNonce` answer
//! (instant-acme retries those silently), and the first non-success answers with their
//! bodies, so a failed order is reported with the server's own problem document.

use castellan_testkit::acme_client::{AcmeHttp, Answer, Method, Observer};
use instant_acme::HttpClient;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// How many non-success answers are kept whole for the report.
const KEPT_FAILURES: usize = 8;

/// Counters shared by every clone of one [`Http`].
#[derive(Default)]
pub struct Counters {
    pub requests: AtomicU64,
    pub bad_nonce: AtomicU64,
    /// Answers with a status other than 2xx/3xx (badNonce included).
    pub failures: AtomicU64,
    /// The first [`KEPT_FAILURES`] of them: "METHOD URL -> STATUS: body".
    pub kept: Mutex<Vec<String>>,
}

impl Counters {
    pub fn snapshot(&self) -> (u64, u64, u64) {
        (
            self.requests.load(Ordering::Relaxed),
            self.bad_nonce.load(Ordering::Relaxed),
            self.failures.load(Ordering::Relaxed),
        )
    }

    pub fn kept_failures(&self) -> Vec<String> {
        self.kept.lock().map(|k| k.clone()).unwrap_or_default()
    }
}

impl Observer for Counters {
    fn sent(&self, _method: &Method, _url: &str) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    fn answered(&self, a: &Answer<'_>) {
        if a.status.is_success() || a.status.is_redirection() {
            return;
        }
        self.failures.fetch_add(1, Ordering::Relaxed);
        let text = String::from_utf8_lossy(a.body);
        if text.contains("urn:ietf:params:acme:error:badNonce") {
            self.bad_nonce.fetch_add(1, Ordering::Relaxed);
        }
        if let Ok(mut kept) = self.kept.lock()
            && kept.len() < KEPT_FAILURES
        {
            kept.push(format!("{} {} -> {}: {text}", a.method, a.url, a.status));
        }
    }
}

/// The client with its counters; cheap to clone (both are shared).
#[derive(Clone)]
pub struct Http {
    acme: AcmeHttp,
    pub counters: Arc<Counters>,
}

impl Http {
    /// `ca_pem`: the only CA trusted for HTTPS (Pebble's listener); `None` for plain HTTP.
    pub fn new(ca_pem: Option<&[u8]>) -> anyhow::Result<Http> {
        use anyhow::Context;
        let counters = Arc::new(Counters::default());
        let acme = AcmeHttp::new(ca_pem)
            .context("building the HTTP client (reading the CA certificate)")?
            .with_observer(counters.clone());
        Ok(Http { acme, counters })
    }

    pub fn client(&self) -> &reqwest::Client {
        self.acme.client()
    }

    /// The client for `Account::builder_with_http`, counted.
    pub fn acme(&self) -> Box<dyn HttpClient> {
        Box::new(self.acme.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use castellan_testkit::acme_client::StatusCode;

    #[test]
    fn counters_count_requests_failures_and_bad_nonces() {
        let counters = Counters::default();
        let post = Method::POST;
        let headers = castellan_testkit::acme_client::HeaderMap::new();
        let answer = |status, body: &'static str| {
            counters.sent(&post, "http://ca/new-order");
            counters.answered(&Answer {
                method: &post,
                url: "http://ca/new-order",
                status,
                headers: &headers,
                body: body.as_bytes(),
            });
        };
        answer(StatusCode::CREATED, "{}");
        answer(
            StatusCode::BAD_REQUEST,
            r#"{"type":"urn:ietf:params:acme:error:badNonce"}"#,
        );
        answer(StatusCode::FOUND, "");
        answer(
            StatusCode::FORBIDDEN,
            r#"{"type":"urn:ietf:params:acme:error:unauthorized"}"#,
        );
        assert_eq!(counters.snapshot(), (4, 1, 2));
        assert_eq!(
            counters.kept_failures(),
            [
                r#"POST http://ca/new-order -> 400 Bad Request: {"type":"urn:ietf:params:acme:error:badNonce"}"#,
                r#"POST http://ca/new-order -> 403 Forbidden: {"type":"urn:ietf:params:acme:error:unauthorized"}"#,
            ]
        );
    }
}
