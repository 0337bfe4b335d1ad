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
        .merge(castellan_acme::router(authority))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            MAX_BODY_BYTES,
        ))
        .layer(tower_http::trace::TraceLayer::new_for_http())
}

/// The client's IP address, for the audit log and lockout records.
pub(crate) fn client_address(parts: &axum::http::request::Parts) -> String {
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_default()
}
