//! Protection against cross-site request forgery, for every form the portal accepts:
//!
//! 1. the browser's own word: a `Sec-Fetch-Site` other than `same-origin` (or `none`, a
//!    typed address), or an `Origin` whose host is not the request's, is refused;
//! 2. the form token: every form of a signed-in page carries `csrf`, derived from the
//!    session cookie (`ra::sessions::csrf_token`), and it must match the cookie sent with it.
//!
//! Both are checked here, in one layer over every portal `POST`, so no handler can forget
//! them. The login form has no session yet: it gets the first check only (and the session
//! cookie it sets is new, so a forged login cannot ride an existing session).

use super::page;
use super::session::{SESSION_COOKIE, cookie};
use axum::body::{Body, to_bytes};
use axum::extract::Request;
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
    if request.uri().path().ends_with("/login") {
        return next.run(request).await;
    }
    let session = cookie(request.headers(), SESSION_COOKIE).map(str::to_owned);
    // Forms that upload files (multipart) carry the token in their action's query string;
    // the others in a field.
    let from_query = request
        .uri()
        .query()
        .and_then(|q| field(q.as_bytes(), "csrf"));
    let urlencoded = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let (parts, body) = request.into_parts();
    let (token, body) = if urlencoded {
        let Ok(bytes) = to_bytes(body, crate::MAX_BODY_BYTES).await else {
            return refused("The form was too large to read.");
        };
        (field(&bytes, "csrf").or(from_query), Body::from(bytes))
    } else {
        (from_query, body)
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
    next.run(Request::from_parts(parts, body)).await
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
