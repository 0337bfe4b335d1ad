//! The public PKI endpoints relying parties reach over plain HTTP: OCSP (GET and POST,
//! RFC 6960 / RFC 5019), CRLs (`/crl/<ca>.crl`, `/crl/<ca>/<shard>.crl`) and the CA
//! certificates named in caIssuers (`/ca/<ca>.crt`). No authentication: these answer
//! anyone, and nothing here signs faster than the responder's budget.

use crate::AppState;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use castellan_pki::ocsp::{ResponseStatus, status_only};

/// The largest OCSP request read (a request for one certificate is under 200 bytes; 16
/// at once with a nonce stay under 2 KiB).
pub const MAX_OCSP_REQUEST_BYTES: usize = 4096;

/// The PKI routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/ocsp", axum::routing::post(ocsp_post))
        .route("/ocsp/", axum::routing::post(ocsp_post))
        .route("/ocsp/{*request}", get(ocsp_get))
        .layer(DefaultBodyLimit::max(MAX_OCSP_REQUEST_BYTES))
        .route("/crl/{file}", get(crl))
        .route("/crl/{ca}/{file}", get(crl_shard))
        .route("/ca/{file}", get(ca_certificate))
}

fn ocsp_response(reply: castellan_ra::revocation::OcspReply, now: i64) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/ocsp-response"),
    );
    match reply.cacheable {
        Some((this_update, next_update)) => {
            // RFC 5019 §6: caches may keep it until nextUpdate, never longer.
            let max_age = (next_update - now).max(0);
            if let Ok(v) = HeaderValue::from_str(&format!(
                "public, max-age={max_age}, no-transform, must-revalidate"
            )) {
                headers.insert(header::CACHE_CONTROL, v);
            }
            for (name, at) in [
                (header::LAST_MODIFIED, this_update),
                (header::EXPIRES, next_update),
            ] {
                if let Some(v) = http_date(at) {
                    headers.insert(name, v);
                }
            }
            let digest = castellan_pki::keys::sha256(&reply.der);
            if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", hex::encode(&digest[..16]))) {
                headers.insert(header::ETAG, v);
            }
        }
        None => {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
    }
    (StatusCode::OK, headers, reply.der).into_response()
}

fn malformed() -> Response {
    ocsp_response(
        castellan_ra::revocation::OcspReply {
            der: Bytes::from(status_only(ResponseStatus::MalformedRequest)),
            cacheable: None,
        },
        0,
    )
}

/// `POST /ocsp` with an `application/ocsp-request` body.
async fn ocsp_post(State(state): State<AppState>, body: Bytes) -> Response {
    let now = state.authority.clock().now().unix_timestamp();
    ocsp_response(state.authority.ocsp(&body).await, now)
}

/// `GET /ocsp/<base64 of the DER request>` (RFC 6960 appendix A.1; the base64 may be
/// URL-encoded, and its `/` characters make more path segments).
async fn ocsp_get(State(state): State<AppState>, Path(encoded): Path<String>) -> Response {
    if encoded.len() > MAX_OCSP_REQUEST_BYTES * 2 {
        return malformed();
    }
    let cleaned: String = encoded.chars().filter(|c| !c.is_whitespace()).collect();
    let engine = base64::engine::general_purpose::STANDARD;
    let Ok(request) = engine
        .decode(cleaned.as_bytes())
        .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(cleaned.as_bytes()))
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cleaned.as_bytes()))
    else {
        return malformed();
    };
    let now = state.authority.clock().now().unix_timestamp();
    ocsp_response(state.authority.ocsp(&request).await, now)
}

fn http_date(unix: i64) -> Option<HeaderValue> {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let text = time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()?
        .format(&format)
        .ok()?;
    HeaderValue::from_str(&text).ok()
}

fn not_found(what: &str) -> Response {
    (StatusCode::NOT_FOUND, format!("no {what} here\n")).into_response()
}

fn wants_pem(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("pem"))
}

/// `name.crl` → (`name`, DER) and `name.crl.pem` / `name.pem` → (`name`, PEM).
fn split_file<'a>(file: &'a str, ext: &str) -> Option<(&'a str, bool)> {
    if let Some(stem) = file.strip_suffix(".pem") {
        return Some((stem.strip_suffix(ext).unwrap_or(stem), true));
    }
    file.strip_suffix(ext).map(|stem| (stem, false))
}

async fn serve_crl(state: &AppState, slug: &str, shard: i64, pem: bool) -> Response {
    match state.authority.crl(slug, shard).await {
        Ok(Some(file)) => {
            let mut headers = HeaderMap::new();
            let now = state.authority.clock().now().unix_timestamp();
            let max_age = (file.next_update - now).clamp(0, 3600);
            if let Ok(v) =
                HeaderValue::from_str(&format!("public, max-age={max_age}, no-transform"))
            {
                headers.insert(header::CACHE_CONTROL, v);
            }
            if let Some(v) = http_date(file.this_update) {
                headers.insert(header::LAST_MODIFIED, v);
            }
            if pem {
                headers.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/x-pem-file"),
                );
                let text = castellan_pki::encode::pem_encode("X509 CRL", &file.der);
                (StatusCode::OK, headers, text).into_response()
            } else {
                headers.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/pkix-crl"),
                );
                (StatusCode::OK, headers, file.der.clone()).into_response()
            }
        }
        Ok(None) => not_found("CRL"),
        Err(e) => {
            tracing::warn!(error = %e, ca = slug, shard, "serving a CRL failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "the CRL cannot be read now; try again\n",
            )
                .into_response()
        }
    }
}

/// `GET /crl/<ca>.crl` (shard 0: the CA's whole or unsharded CRL).
async fn crl(
    State(state): State<AppState>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Response {
    match split_file(&file, ".crl") {
        Some((slug, pem)) => serve_crl(&state, slug, 0, pem || wants_pem(&headers)).await,
        None => not_found("CRL"),
    }
}

/// `GET /crl/<ca>/<shard>.crl`.
async fn crl_shard(
    State(state): State<AppState>,
    Path((slug, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    match split_file(&file, ".crl").and_then(|(n, pem)| n.parse::<i64>().ok().map(|n| (n, pem))) {
        Some((shard, pem)) if shard >= 1 => {
            serve_crl(&state, &slug, shard, pem || wants_pem(&headers)).await
        }
        _ => not_found("CRL"),
    }
}

/// `GET /ca/<ca>.crt` (DER, as caIssuers clients expect) or `/ca/<ca>.pem`.
async fn ca_certificate(
    State(state): State<AppState>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some((slug, pem)) = split_file(&file, ".crt") else {
        return not_found("CA certificate");
    };
    let Some(der) = state.authority.ca_certificate(slug) else {
        return not_found("CA certificate");
    };
    let mut out = HeaderMap::new();
    out.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    if pem || wants_pem(&headers) {
        out.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-pem-file"),
        );
        let text = castellan_pki::encode::pem_encode("CERTIFICATE", &der);
        (StatusCode::OK, out, text).into_response()
    } else {
        out.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/pkix-cert"),
        );
        (StatusCode::OK, out, der).into_response()
    }
}

/// Only the PKI endpoints and `/health`: what the plain-HTTP listener serves.
pub fn pki_router(authority: std::sync::Arc<castellan_ra::Authority>) -> Router {
    Router::new()
        .merge(routes())
        .merge(crate::health::routes())
        .with_state(AppState {
            authority: authority.clone(),
        })
        .layer(axum::middleware::from_fn_with_state(
            authority,
            crate::settled,
        ))
}
