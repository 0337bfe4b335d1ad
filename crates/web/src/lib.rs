//! Castellan's HTTP front doors.
//!
//! `web` never touches SQL or keys: every handler calls `ra`. It serves `GET /health` and
//! the web portal (`/customer/<uri>/`), the SCM-compatible REST API and the public
//! OCSP/CRL/AIA endpoints (also served alone on the plain-HTTP PKI listener).

mod dcv_email;
mod health;
mod listener;
mod pki;
mod portal;
mod scm;

pub use listener::{Listener, ListenerError, TlsMaterial, serve};
pub use pki::{MAX_OCSP_REQUEST_BYTES, pki_router};

use axum::Router;
use castellan_ra::Authority;
use std::sync::Arc;

/// Largest request body accepted anywhere (CSRs are at most 32 KiB; forms are small).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    /// The registration authority.
    pub authority: Arc<Authority>,
}

/// The whole HTTP application.
pub fn router(authority: Arc<Authority>) -> Router {
    Router::new()
        .merge(health::routes())
        .merge(scm::routes())
        .merge(portal::routes())
        .merge(dcv_email::routes())
        .merge(pki::routes())
        .with_state(AppState {
            authority: authority.clone(),
        })
        .merge(castellan_acme::router(authority.clone()))
        .layer(axum::middleware::from_fn_with_state(authority, settled))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            MAX_BODY_BYTES,
        ))
        .layer(
            tower_http::trace::TraceLayer::new_for_http().make_span_with(
                |request: &axum::http::Request<axum::body::Body>| {
                    tracing::debug_span!(
                        "request",
                        method = %request.method(),
                        path = %logged_path(request.uri().path()),
                    )
                },
            ),
        )
}

/// Sends an answer only once every commit it may have read is on disk (ADR 0019): a
/// request that only reads can otherwise show a row whose commit is a moment from its fsync.
/// Requests that wrote waited for their own commit already, so this costs them nothing more.
async fn settled(
    axum::extract::State(authority): axum::extract::State<Arc<Authority>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let response = next.run(request).await;
    match authority.settle().await {
        Ok(()) => response,
        Err(e) => {
            tracing::error!(error = %e, "an answer was withheld: the database could not sync");
            (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "the database could not make its changes durable; try again",
            )
                .into_response()
        }
    }
}

/// The path of a request as the log shows it: the one-time token of a link sent by mail
/// (an invitation, a key recovery, a DCV by e-mail) is the credential itself, so it is
/// left out: `/customer/camford/invitation (token withheld)`. The query string is left out.
fn logged_path(path: &str) -> String {
    for page in ["/invitation/", "/recovery/", "/dcv/email/"] {
        if let Some(at) = path.find(page) {
            return format!("{} (token withheld)", &path[..at + page.len() - 1]);
        }
    }
    path.to_owned()
}

/// A file handed over (a certificate, a PKCS#12): an attachment with its name, never
/// cached. Every download of the portal, the SCM API and the invitation and recovery pages
/// answers through it.
pub(crate) fn attachment(
    download: castellan_ra::Download,
    content_type: &'static str,
) -> axum::response::Response {
    use axum::http::{HeaderValue, header};
    use axum::response::IntoResponse as _;
    let mut response = download.bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    let disposition = format!(
        "attachment; filename=\"{}\"",
        download.file_name.replace(['"', '\\', '\r', '\n'], "_")
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The client's IP address, for the audit log and lockout records.
pub(crate) fn client_address(parts: &axum::http::request::Parts) -> String {
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_time_tokens_stay_out_of_the_log() {
        assert_eq!(
            super::logged_path("/customer/camford/invitation/t3-Rk7lQyZ12"),
            "/customer/camford/invitation (token withheld)"
        );
        assert_eq!(
            super::logged_path("/customer/camford/dcv/email/abc"),
            "/customer/camford/dcv/email (token withheld)"
        );
        assert_eq!(super::logged_path("/api/ssl/v1/7"), "/api/ssl/v1/7");
    }
}
