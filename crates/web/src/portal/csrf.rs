//! Protection against cross-site request forgery, for every form the portal accepts:
//!
//! 1. the browser's own word: a `Sec-Fetch-Site` other than `same-origin` (or `none`, a
//!    typed address), or an `Origin` whose host is not the request's, is refused;
//! 2. the form token: every form of a signed-in page carries a `csrf` field (URL-encoded or
//!    multipart), derived from the session cookie (`ra::sessions::csrf_token`), and it must
//!    match the cookie sent with it. It is never put in a URL, where logs would keep it.
//!
//! Both are checked here, in one layer over every portal `POST`, so no handler can forget
//! them. The login form has no session yet: it gets the first check only (and the session
//! cookie it sets is new, so a forged login cannot ride an existing session).

use super::page;
use super::session::{SESSION_COOKIE, cookie};
use axum::body::{Body, to_bytes};
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

/// Whether the request came from a page of this site, as far as the browser says. `authority`
/// is the request URI's (HTTP/2 carries the host there, not in a `Host` header).
fn same_site(headers: &HeaderMap, authority: Option<&str>) -> bool {
    let fetch_site_ok = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v == "same-origin" || v == "none");
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or(authority);
    let origin_ok = match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        None => true,
        Some(origin) => {
            let origin_host = origin.split_once("://").map(|(_, rest)| rest);
            origin_host.is_some() && origin_host == host
        }
    };
    fetch_site_ok && origin_ok
}

fn refused(message: &str) -> Response {
    page::error_page(
        StatusCode::FORBIDDEN,
        message,
        "Go back to the portal, reload the page, and submit the form again.",
    )
}

/// The layer: checks every `POST` under `/customer/<uri>/`.
pub(crate) async fn guard(request: Request, next: Next) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let authority = request.uri().authority().map(|a| a.as_str().to_owned());
    if !same_site(request.headers(), authority.as_deref()) {
        return refused(
            "This form was sent from another site, so it was refused: the portal only accepts \
             forms from its own pages.",
        );
    }
    // The login form has no session yet; an invitation's or a key recovery's page is opened
    // from a mail link by someone who never signs in, and the one-time token in its address
    // is the credential a forger would need.
    let path = request.uri().path();
    if path.ends_with("/login") || path.contains("/invitation/") || path.contains("/recovery/") {
        return next.run(request).await;
    }
    let session = cookie(request.headers(), SESSION_COOKIE).map(str::to_owned);
    // Every form carries the token as a field: URL-encoded forms, and the ones that upload
    // files (multipart). The body is read once and handed on unchanged.
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, crate::MAX_BODY_BYTES).await else {
        return refused("The form was too large to read.");
    };
    let token = if content_type.starts_with("multipart/form-data") {
        multipart_field(&content_type, bytes.clone(), "csrf").await
    } else {
        field(&bytes, "csrf")
    };
    let valid = match (session.as_deref(), token.as_deref()) {
        (Some(session), Some(token)) => castellan_ra::sessions::csrf_matches(session, token),
        // No session: the handler will send the browser to the login page.
        (None, _) => true,
        (Some(_), None) => false,
    };
    if !valid {
        return refused(
            "The form's security token is missing or belongs to another session (the page \
             may be from before you last signed in), so the form was refused.",
        );
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// The text of field `name` in a multipart form body.
async fn multipart_field(
    content_type: &str,
    bytes: axum::body::Bytes,
    name: &str,
) -> Option<String> {
    let request = Request::builder()
        .method(Method::POST)
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(bytes))
        .ok()?;
    let mut form = axum::extract::Multipart::from_request(request, &())
        .await
        .ok()?;
    while let Ok(Some(field)) = form.next_field().await {
        if field.name() == Some(name) {
            return field.text().await.ok();
        }
    }
    None
}

/// The value of `name` in URL-encoded `data`.
fn field(data: &[u8], name: &str) -> Option<String> {
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(data).unwrap_or_default();
    fields.into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::same_site;
    use axum::http::{HeaderMap, HeaderValue};

    fn same_site_h(h: &HeaderMap) -> bool {
        same_site(h, None)
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn cross_site_forms_are_refused() {
        assert!(same_site_h(&headers(&[("host", "ca.camford.ac.uk")])));
        assert!(same_site_h(&headers(&[
            ("host", "ca.camford.ac.uk:8443"),
            ("origin", "https://ca.camford.ac.uk:8443"),
            ("sec-fetch-site", "same-origin"),
        ])));
        assert!(!same_site_h(&headers(&[
            ("host", "ca.camford.ac.uk"),
            ("sec-fetch-site", "cross-site"),
        ])));
        assert!(!same_site_h(&headers(&[
            ("host", "ca.camford.ac.uk"),
            ("origin", "https://evil.example"),
        ])));
        assert!(!same_site_h(&headers(&[
            ("host", "ca.camford.ac.uk"),
            ("origin", "null"),
        ])));
        assert!(!same_site_h(&headers(&[
            ("host", "ca.camford.ac.uk"),
            ("sec-fetch-site", "same-site"),
        ])));
        // HTTP/2: the host is the URI's authority.
        let h2 = headers(&[("origin", "https://ca.camford.ac.uk:8443")]);
        assert!(same_site(&h2, Some("ca.camford.ac.uk:8443")));
        assert!(!same_site(&h2, Some("other.camford.ac.uk:8443")));
    }
}
