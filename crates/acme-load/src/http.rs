//! instant-acme's HTTP client hook ([`instant_acme::HttpClient`]) on reqwest.
//!
//! Why not instant-acme's own client: it is `https_only` (Castellan is measured over plain
//! HTTP on loopback, `castellan serve --http`), it trusts the platform's roots or one PEM
//! file through hyper-rustls and rustls-platform-verifier (two more crates to build beside
//! the workspace's reqwest), and it gives no view of what goes over the wire. This adapter
//! uses the workspace's reqwest (rustls on aws-lc-rs, HTTP/1.1 keep-alive, one connection
//! pool per process) for both peers, trusts exactly the CA it is given for Pebble's HTTPS
//! listener, and counts what the measurement must show instead of hiding it: every request,
//! every `badNonce` answer (instant-acme retries those silently), and the first non-success
//! answers with their bodies, so a failed order is reported with the server's own problem
//! document.

use bytes::Bytes;
use http_body_util::BodyExt;
use instant_acme::{BodyWrapper, BytesResponse, Error, HttpClient};
use std::future::Future;
use std::pin::Pin;
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

/// A reqwest client with the counters; cheap to clone (both are shared).
#[derive(Clone)]
pub struct Http {
    client: reqwest::Client,
    pub counters: Arc<Counters>,
}

impl Http {
    /// `ca_pem`: the only CA trusted for HTTPS (Pebble's listener); `None` for plain HTTP.
    pub fn new(ca_pem: Option<&[u8]>) -> anyhow::Result<Http> {
        use anyhow::Context;
        let mut builder = reqwest::Client::builder()
            .no_proxy()
            .tcp_nodelay(true)
            .timeout(std::time::Duration::from_secs(60));
        if let Some(pem) = ca_pem {
            let ca = reqwest::Certificate::from_pem(pem).context("reading the CA certificate")?;
            builder = builder.tls_certs_only([ca]);
        }
        Ok(Http {
            client: builder.build().context("building the HTTP client")?,
            counters: Arc::new(Counters::default()),
        })
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }
}

fn other(e: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::Other(Box::new(e))
}

impl HttpClient for Http {
    fn request(
        &self,
        req: http::Request<BodyWrapper<Bytes>>,
    ) -> Pin<Box<dyn Future<Output = Result<BytesResponse, Error>> + Send>> {
        let client = self.client.clone();
        let counters = Arc::clone(&self.counters);
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let body = match body.collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(never) => match never {},
            };
            let url = parts.uri.to_string();
            let method = parts.method.clone();
            counters.requests.fetch_add(1, Ordering::Relaxed);
            let response = client
                .request(parts.method, &url)
                .headers(parts.headers)
                .body(body)
                .send()
                .await
                .map_err(other)?;
            let status = response.status();
            let version = response.version();
            let headers = response.headers().clone();
            let bytes = response.bytes().await.map_err(other)?;
            if !(status.is_success() || status.is_redirection()) {
                counters.failures.fetch_add(1, Ordering::Relaxed);
                let text = String::from_utf8_lossy(&bytes);
                if text.contains("urn:ietf:params:acme:error:badNonce") {
                    counters.bad_nonce.fetch_add(1, Ordering::Relaxed);
                }
                if let Ok(mut kept) = counters.kept.lock()
                    && kept.len() < KEPT_FAILURES
                {
                    kept.push(format!("{method} {url} -> {status}: {text}"));
                }
            }
            let mut answer = http::Response::builder().status(status).version(version);
            if let Some(h) = answer.headers_mut() {
                *h = headers;
            }
            let (parts, ()) = answer.body(())?.into_parts();
            Ok(BytesResponse {
                parts,
                body: Box::new(bytes),
            })
        })
    }
}
