//! instant-acme's HTTP client hook ([`instant_acme::HttpClient`]) on reqwest (feature
//! `acme-client`), shared by the ACME load generator (`crates/acme-load`) and the tests that
//! drive Castellan's ACME server with instant-acme.
//!
//! Why not instant-acme's own client: it is `https_only` (Castellan is tested and measured
//! over plain HTTP on loopback, `castellan serve --http`), it trusts the platform's roots or
//! one PEM file through hyper-rustls and rustls-platform-verifier (two more crates to build
//! beside the workspace's reqwest), and it gives no view of what goes over the wire. This
//! adapter uses the workspace's reqwest (rustls on aws-lc-rs, HTTP/1.1 keep-alive, one
//! connection pool per clone family), trusts exactly the CA it is given for an HTTPS peer
//! (Pebble's listener), and shows every exchange to an optional [`Observer`]: the load
//! generator counts requests and `badNonce` answers (instant-acme retries those silently),
//! a test reads the HTTP status of a refusal ([`Transcript`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use castellan_testkit::acme_client::{AcmeHttp, Transcript};
//! use std::sync::Arc;
//! let transcript = Arc::new(Transcript::default());
//! let http = AcmeHttp::new(None)?.with_observer(transcript.clone());
//! let _builder = instant_acme::Account::builder_with_http(Box::new(http));
//! # Ok(()) }
//! ```

use bytes::Bytes;
pub use http::{HeaderMap, Method, StatusCode};
use http_body_util::BodyExt;
use instant_acme::{BodyWrapper, BytesResponse, Error, HttpClient};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One answer, as the [`Observer`] sees it.
pub struct Answer<'a> {
    pub method: &'a Method,
    pub url: &'a str,
    pub status: StatusCode,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// Sees what goes over the wire; every method does nothing by default.
pub trait Observer: Send + Sync + 'static {
    /// A request is about to be sent (counted even if no answer comes).
    fn sent(&self, _method: &Method, _url: &str) {}
    /// An answer arrived, body read whole.
    fn answered(&self, _answer: &Answer<'_>) {}
}

/// A reqwest client for instant-acme; cheap to clone (the client and the observer are
/// shared by the clones).
#[derive(Clone)]
pub struct AcmeHttp {
    client: reqwest::Client,
    observer: Option<Arc<dyn Observer>>,
}

impl AcmeHttp {
    /// `ca_pem`: the only CA trusted for HTTPS (e.g. Pebble's listener); `None` for plain
    /// HTTP (or the platform's roots). No proxy, `TCP_NODELAY`, 60 s per request.
    pub fn new(ca_pem: Option<&[u8]>) -> Result<AcmeHttp, reqwest::Error> {
        let mut builder = reqwest::Client::builder()
            .no_proxy()
            .tcp_nodelay(true)
            .timeout(Duration::from_secs(60));
        if let Some(pem) = ca_pem {
            builder = builder.tls_certs_only([reqwest::Certificate::from_pem(pem)?]);
        }
        Ok(AcmeHttp {
            client: builder.build()?,
            observer: None,
        })
    }

    /// The same client, showing every exchange to `observer`.
    #[must_use]
    pub fn with_observer(mut self, observer: Arc<dyn Observer>) -> AcmeHttp {
        self.observer = Some(observer);
        self
    }

    /// The reqwest client, for requests outside ACME (health checks, REST calls).
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }
}

fn other(e: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::Other(Box::new(e))
}

impl HttpClient for AcmeHttp {
    fn request(
        &self,
        req: http::Request<BodyWrapper<Bytes>>,
    ) -> Pin<Box<dyn Future<Output = Result<BytesResponse, Error>> + Send>> {
        let client = self.client.clone();
        let observer = self.observer.clone();
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let body = match body.collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(never) => match never {},
            };
            let url = parts.uri.to_string();
            let method = parts.method.clone();
            if let Some(o) = &observer {
                o.sent(&method, &url);
            }
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
            if let Some(o) = &observer {
                o.answered(&Answer {
                    method: &method,
                    url: &url,
                    status,
                    headers: &headers,
                    body: &bytes,
                });
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

/// One exchange a [`Transcript`] kept.
#[derive(Clone, Debug)]
pub struct Exchange {
    pub method: String,
    pub url: String,
    pub status: u16,
    /// The headers, name (lower case) and value, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body as text (lossy UTF-8).
    pub body: String,
}

impl Exchange {
    /// The values of header `name` (lower case).
    pub fn header(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// An [`Observer`] that keeps every answer, for tests that assert on the HTTP status and
/// body of what the server said (instant-acme keeps only the problem document).
#[derive(Default)]
pub struct Transcript {
    answers: Mutex<Vec<Exchange>>,
}

impl Transcript {
    /// Every answer so far, oldest first.
    pub fn answers(&self) -> Vec<Exchange> {
        self.answers.lock().unwrap().clone()
    }

    /// The latest answer.
    pub fn last(&self) -> Option<Exchange> {
        self.answers.lock().unwrap().last().cloned()
    }
}

impl Observer for Transcript {
    fn answered(&self, answer: &Answer<'_>) {
        self.answers.lock().unwrap().push(Exchange {
            method: answer.method.to_string(),
            url: answer.url.to_owned(),
            status: answer.status.as_u16(),
            headers: answer
                .headers
                .iter()
                .map(|(n, v)| {
                    (
                        n.as_str().to_owned(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body: String::from_utf8_lossy(answer.body).into_owned(),
        });
    }
}
