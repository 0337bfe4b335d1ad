//! HTTP(S) requests for validation: the file-based DCV method (Baseline Requirements
//! §3.2.2.4.18) fetches a file from the domain's web server.
//!
//! The limits are those of the Baseline Requirements and of a careful CA: connect within 5 s,
//! finish within 10 s, at most 3 redirects (only to http/https on the validation ports), a body
//! of at most 64 KiB, no proxy, and only public addresses unless
//! [`FetchSettings::allow_private_targets`] is set (see [`non_public_rule`]).
//!
//! **Certificates are not verified for `https`.** The file proves control of the domain; the
//! TLS certificate does not add to that proof, and it is often the very thing being requested
//! (a new site, or an expired certificate being replaced). Refusing a self-signed or expired
//! certificate would only make the method fail for the people who need it. The BRs require
//! the file, not a trusted certificate, for this method.
//!
//! Every fetch gets its own client, so no connection is reused across validations: each one
//! resolves the name afresh and connects to where the DNS points now.

mod addresses;
mod guard;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Url;

pub use addresses::non_public_rule;

use crate::dns::Resolver;
use crate::error::{Error, Result};
use guard::{GuardedResolver, Log, check_target, note, redirect_policy};

/// Longest wait for a TCP (and TLS) connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest time for the whole fetch, redirects and body included.
pub const TOTAL_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest body read. A validation file holds one token; anything this big is not one.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Most redirects followed.
pub const MAX_REDIRECTS: usize = 3;

/// `http` or `https`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Plain HTTP, port 80.
    Http,
    /// HTTPS, port 443, certificate not verified (see the module documentation).
    Https,
}

impl Scheme {
    /// `http` or `https`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// Where validation requests may go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchSettings {
    /// Contact private, loopback, link-local and other non-public addresses. Off in
    /// production (see [`non_public_rule`]); tests and internal-only deployments turn it on.
    pub allow_private_targets: bool,
    /// The port of `http` validation: 80, except in tests.
    pub http_port: u16,
    /// The port of `https` validation: 443, except in tests.
    pub https_port: u16,
}

impl Default for FetchSettings {
    fn default() -> Self {
        FetchSettings {
            allow_private_targets: false,
            http_port: 80,
            https_port: 443,
        }
    }
}

/// What a validation fetch got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The HTTP status of the last response.
    pub status: u16,
    /// The URL that answered, after redirects.
    pub final_url: String,
    /// The body, at most [`MAX_BODY_BYTES`].
    pub body: Vec<u8>,
}

/// Makes validation requests. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Fetcher {
    resolver: Resolver,
    settings: FetchSettings,
}

impl Fetcher {
    /// A fetcher resolving names through `resolver` (the same one DNS validation uses, so a
    /// test's DNS server, or production's validating resolver, answers for both).
    pub fn new(resolver: Resolver, settings: FetchSettings) -> Fetcher {
        Fetcher { resolver, settings }
    }

    /// The settings this fetcher was made with.
    pub fn settings(&self) -> &FetchSettings {
        &self.settings
    }

    /// The URL of `path` on `host` for `scheme`, on the configured validation port.
    pub fn url(&self, scheme: Scheme, host: &str, path: &str) -> String {
        let (port, default) = match scheme {
            Scheme::Http => (self.settings.http_port, 80),
            Scheme::Https => (self.settings.https_port, 443),
        };
        let host = crate::names::normalize(host);
        if port == default {
            format!("{}://{host}{path}", scheme.as_str())
        } else {
            format!("{}://{host}:{port}{path}", scheme.as_str())
        }
    }

    /// GETs `url`, writing into `transcript` the request, the DNS answers, each redirect, the
    /// status, the address that answered and the final URL. A response of any status is
    /// `Ok`: what status is acceptable is the caller's decision.
    pub async fn get(&self, url: &str, transcript: &mut Vec<String>) -> Result<Fetched> {
        transcript.push(format!("GET {url}"));
        let log: Log = Arc::new(Mutex::new(Vec::new()));
        let outcome = self.get_logged(url, &log).await;
        if let Ok(mut lines) = log.lock() {
            transcript.append(&mut lines);
        }
        if let Err(e) = &outcome {
            transcript.push(format!("  failed: {e}"));
        }
        outcome
    }

    async fn get_logged(&self, url: &str, log: &Log) -> Result<Fetched> {
        let parsed = Url::parse(url).map_err(|e| Error::InvalidUrl {
            url: url.to_owned(),
            reason: e.to_string(),
        })?;
        check_target(&self.settings, &parsed)?;
        let client = self.client(url, log.clone())?;
        let mut response = client
            .get(parsed)
            .send()
            .await
            .map_err(|e| from_reqwest(url, &e))?;

        let status = response.status();
        let final_url = response.url().to_string();
        let mut lines = vec![format!("  status {status}")];
        if let Some(addr) = response.remote_addr() {
            lines.push(format!("  answered by {addr}"));
        }
        if final_url != url {
            lines.push(format!("  final URL {final_url}"));
        }
        note(log, lines);

        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| from_reqwest(&final_url, &e))?
        {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(Error::BodyTooLarge {
                    url: final_url,
                    limit: MAX_BODY_BYTES,
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched {
            status: status.as_u16(),
            final_url,
            body,
        })
    }

    /// A client for one fetch (see the module documentation for why not a shared one).
    fn client(&self, url: &str, log: Log) -> Result<reqwest::Client> {
        reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(TOTAL_TIMEOUT)
            .no_proxy()
            .pool_max_idle_per_host(0)
            .user_agent(concat!(
                "Castellan-VA/",
                env!("CARGO_PKG_VERSION"),
                " (domain control validation)"
            ))
            .redirect(redirect_policy(
                self.settings.clone(),
                url.to_owned(),
                log.clone(),
            ))
            .dns_resolver(GuardedResolver {
                resolver: self.resolver.clone(),
                allow_private: self.settings.allow_private_targets,
                log,
            })
            .tls_danger_accept_invalid_certs(true)
            .build()
            .map_err(|e| Error::HttpSetup(chain(&e)))
    }
}

/// The VA's own error inside a reqwest error (a refused address, a refused redirect), or a
/// readable one made from reqwest's chain of causes.
fn from_reqwest(url: &str, error: &reqwest::Error) -> Error {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(cause) = source {
        if let Some(ours) = cause.downcast_ref::<Error>() {
            return ours.clone();
        }
        source = cause.source();
    }
    let reason = if error.is_timeout() {
        format!("no complete answer within {} s", TOTAL_TIMEOUT.as_secs())
    } else {
        chain(error)
    };
    Error::Http {
        url: url.to_owned(),
        reason,
    }
}

/// An error and its causes, joined with `: ` (reqwest's own message is only the outer layer,
/// e.g. "error sending request", which tells an administrator nothing).
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![error.to_string()];
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}
