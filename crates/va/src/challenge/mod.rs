//! ACME challenges (RFC 8555 §8, RFC 8737): the three ways an ACME client proves control of a
//! name for one order.
//!
//! - `http-01`: `http://<name>/.well-known/acme-challenge/<token>` holds the key
//!   authorization (`<token>.<account key thumbprint>`);
//! - `dns-01`: `_acme-challenge.<name>` has a TXT record with base64url(SHA-256(key
//!   authorization));
//! - `tls-alpn-01`: `<name>:443`, asked with ALPN `acme-tls/1` and SNI `<name>`, presents a
//!   certificate for exactly `<name>` whose critical `id-pe-acmeIdentifier` extension holds
//!   SHA-256(key authorization).
//!
//! Each check goes through the same resolver and the same address rules as DCV (only public
//! addresses unless `allow_private_targets`), and returns a [`Check`] like DCV's, whose
//! `retry` says whether nothing answered (worth trying again) or the answer was wrong.

mod tls_alpn;

use base64::Engine as _;

use crate::dcv::Check;
use crate::dns::Resolver;
use crate::fetch::{Fetcher, Scheme};
use crate::names::normalize;

pub use tls_alpn::{ACME_TLS_ALPN, check_tls_alpn_01};

/// The directory RFC 8555 §8.3 reserves for http-01 files.
pub const HTTP_01_PATH: &str = "/.well-known/acme-challenge/";

/// The name whose TXT record dns-01 reads.
pub fn dns_01_name(domain: &str) -> String {
    format!("_acme-challenge.{}", normalize(domain))
}

/// The key authorization of a challenge (RFC 8555 §8.1): the token, a dot, and the
/// base64url JWK thumbprint of the account key.
pub fn key_authorization(token: &str, thumbprint: &str) -> String {
    format!("{token}.{thumbprint}")
}

/// SHA-256 of a key authorization: what dns-01 (base64url) and tls-alpn-01 (raw) publish.
pub fn key_authorization_digest(key_authorization: &str) -> [u8; 32] {
    let digest =
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key_authorization.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// The TXT value dns-01 expects.
pub fn dns_01_value(key_authorization: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(key_authorization_digest(key_authorization))
}

/// Passes when `http://<domain>/.well-known/acme-challenge/<token>` answers 200 with the key
/// authorization (trailing whitespace ignored, RFC 8555 §8.3). Redirects are followed as for
/// DCV: at most three, to http or https on the validation ports.
pub async fn check_http_01(
    fetcher: &Fetcher,
    domain: &str,
    token: &str,
    key_authorization: &str,
) -> Check {
    let domain = normalize(domain);
    let url = fetcher.url(Scheme::Http, &domain, &format!("{HTTP_01_PATH}{token}"));
    let mut transcript = Vec::new();
    let fetched = match fetcher.get(&url, &mut transcript).await {
        Ok(fetched) => fetched,
        Err(e) => return crate::dcv::unfetched(&url, e, transcript),
    };
    let body = String::from_utf8_lossy(&fetched.body);
    let shown: String = body.chars().take(200).collect();
    transcript.push(format!("  body (first 200 characters): {shown:?}"));
    if fetched.status != 200 {
        return Check::fail(
            format!(
                "{url} answered HTTP {}, expected 200 with the key authorization \
                 \"{key_authorization}\"",
                fetched.status
            ),
            transcript,
        );
    }
    if body.trim_end() == key_authorization {
        return Check::pass(format!("{url} holds the key authorization"), transcript);
    }
    Check::fail(
        format!(
            "{url} does not hold the key authorization: expected \"{key_authorization}\", \
             found {shown:?}"
        ),
        transcript,
    )
}

/// Passes when `_acme-challenge.<domain>` has a TXT record with base64url(SHA-256(key
/// authorization)).
pub async fn check_dns_01(resolver: &Resolver, domain: &str, key_authorization: &str) -> Check {
    crate::dcv::check_txt(
        resolver,
        &dns_01_name(domain),
        &dns_01_value(key_authorization),
    )
    .await
}
