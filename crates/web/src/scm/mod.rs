//! The SCM-compatible REST API (`../shared/spec/scm-rest-api.md`), under `/api`.
//!
//! Handlers translate SCM's request and response shapes; every decision is `ra`'s.

mod acme;
mod admins;
mod auth;
mod body;
mod dcv;
mod domains;
mod error;
mod escrow;
mod notifications;
mod oauth;
mod organizations;
mod persons;
mod reports;
mod smime;
mod ssl;

pub use error::ScmError;

use crate::AppState;
use axum::Router;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use castellan_model::CertificateType;
use error::ScmResult;
use std::collections::HashMap;

/// The SCM routes (mounted at `/api`), plus the token endpoint.
pub(crate) fn routes() -> Router<AppState> {
    let api = Router::new()
        .route(
            "/organization/v1",
            get(organizations::list).post(organizations::create),
        )
        .route(
            "/organization/v1/",
            get(organizations::list).post(organizations::create),
        )
        .route(
            "/organization/v1/{id}",
            get(organizations::get)
                .put(organizations::update)
                .delete(organizations::delete),
        )
        .route("/admin/v1", get(admins::list).post(admins::create))
        .route("/admin/v1/", get(admins::list).post(admins::create))
        .route("/admin/v1/idp", get(admins::idps))
        .route("/admin/v1/roles", get(admins::roles))
        .route("/admin/v1/privileges", get(admins::privileges))
        .route("/admin/v1/password", get(admins::password_state))
        .route("/admin/v1/changepassword", post(admins::change_password))
        .route(
            "/admin/v1/{id}",
            get(admins::get).put(admins::update).delete(admins::delete),
        )
        .route("/admin/v1/{id}/approve", post(admins::approve))
        .route("/admin/v1/{id}/idpinvitation", post(admins::idp_invitation))
        .route("/domain/v1", get(domains::list).post(domains::create))
        .route("/domain/v1/", get(domains::list).post(domains::create))
        .route("/domain/v1/count", get(domains::count))
        .route("/domain/v1/{id}", get(domains::get).delete(domains::delete))
        .route(
            "/domain/v1/{id}/activate",
            axum::routing::put(domains::activate),
        )
        .route(
            "/domain/v1/{id}/suspend",
            axum::routing::put(domains::suspend),
        )
        .route(
            "/domain/v1/{id}/delegation",
            post(domains::delegate).delete(domains::undelegate),
        )
        .route("/domain/v1/{id}/delegation/approve", post(domains::approve))
        .route("/domain/v1/{id}/delegation/reject", post(domains::reject))
        .route("/dcv/v1/validation", get(dcv::search))
        .route("/dcv/v1/validation/status", post(dcv::status))
        .route("/dcv/v2/validation/status", post(dcv::status))
        .route("/dcv/v1/validation/start/domain/{method}", post(dcv::start))
        .route(
            "/dcv/v1/validation/submit/domain/{method}",
            post(dcv::submit),
        )
        .route("/dcv/v1/validation/clear", post(dcv::clear))
        .route("/ssl/v1", get(ssl::list).head(ssl::count).put(ssl::update))
        .route("/ssl/v2", get(ssl::list).head(ssl::count))
        .route("/ssl/v1/enroll", post(ssl::enroll))
        .route("/ssl/v2/enroll", post(ssl::enroll))
        .route("/ssl/v1/{id}", get(ssl::get))
        .route("/ssl/v2/{id}", get(ssl::get))
        .route("/ssl/v1/approve/{id}", post(ssl::approve))
        .route("/ssl/v1/decline/{id}", post(ssl::decline))
        .route("/ssl/v1/revoke/{id}", post(ssl::revoke))
        .route("/ssl/v1/renewById/{id}", post(ssl::renew_by_id))
        .route("/ssl/v1/renew/{renew_id}", post(ssl::renew_by_renew_id))
        .route("/ssl/v1/replace/{id}", post(ssl::replace))
        .route("/ssl/v2/replace/{id}", post(ssl::replace))
        .route(
            "/ssl/v1/revoke/serial/{serial}",
            post(ssl::revoke_by_serial),
        )
        .route("/ssl/v2/renewById/{id}", post(ssl::renew_by_id))
        .route("/ssl/v2/revoke/{id}", post(ssl::revoke))
        .route("/ssl/v1/collect/{id}", get(ssl::collect_query))
        .route("/ssl/v2/collect/{id}", get(ssl::collect_query))
        .route("/ssl/v1/collect/{id}/{format}", get(ssl::collect_path))
        .route("/ssl/v2/collect/{id}/{format}", get(ssl::collect_path))
        .route("/ssl/v1/types", get(ssl::types))
        .route("/ssl/v2/types", get(ssl::types))
        .route("/ssl/v1/customFields", get(ssl::custom_fields))
        .route("/ssl/v2/customFields", get(ssl::custom_fields))
        .route("/smime/v1/types", get(smime::types))
        .route("/smime/v2/types", get(smime::types))
        .route("/smime/v1/customFields", get(smime::custom_fields))
        .route("/smime/v2/customFields", get(smime::custom_fields))
        .route("/smime/v1", get(smime::list).head(smime::count))
        .route("/smime/v2", get(smime::list).head(smime::count))
        .route("/smime/v1/enroll", post(smime::enroll))
        .route("/smime/v2/enroll", post(smime::enroll))
        .route("/smime/v1/collect/{id}", get(smime::collect))
        .route("/smime/v2/collect/{id}", get(smime::collect))
        .route("/smime/v1/{id}", get(smime::get))
        .route("/smime/v2/{id}", get(smime::get))
        .route(
            "/smime/v2/byPersonEmail/{email}",
            get(smime::by_person_email),
        )
        .route("/smime/v2/byPersonId/{person}", get(smime::by_person_id))
        .route("/smime/v2/renew/order/{id}", post(smime::renew_by_order))
        .route(
            "/smime/v2/renew/serial/{serial}",
            post(smime::renew_by_serial),
        )
        .route("/smime/v2/replace/order/{id}", post(smime::replace))
        .route("/smime/v1/revoke", post(smime::revoke_by_email))
        .route("/escrow/v1/recovery", post(escrow::request))
        .route("/escrow/v1/recovery/{id}", get(escrow::get))
        .route("/escrow/v1/recovery/{id}/approve", post(escrow::approve))
        .route("/escrow/v1/recovery/{id}/reject", post(escrow::reject))
        .route("/escrow/v1/recovery/{id}/share", post(escrow::share))
        .route("/escrow/v1/split", post(escrow::split))
        .route("/smime/v1/revoke/order/{id}", post(smime::revoke_order))
        .route(
            "/smime/v1/revoke/serial/{serial}",
            post(smime::revoke_serial),
        )
        .route("/report/v1/{*name}", post(reports::report))
        .route(
            "/notification/v1",
            get(notifications::list).post(notifications::create),
        )
        .route("/notification/v1/types", get(notifications::types))
        .route("/notification/v1/log", get(notifications::log))
        .route("/notification/v1/template", get(notifications::templates))
        .route(
            "/notification/v1/template/{kind}",
            get(notifications::template)
                .put(notifications::put_template)
                .delete(notifications::reset_template),
        )
        .route(
            "/notification/v1/{id}",
            get(notifications::get)
                .put(notifications::update)
                .delete(notifications::delete),
        )
        .route("/notification/v1/{id}/test", post(notifications::test))
        .route("/person/v1", get(persons::list).post(persons::create))
        .route("/person/v1/", get(persons::list).post(persons::create))
        .route("/person/v1/id/byEmail/{email}", get(persons::by_email))
        .route(
            "/person/v1/{id}",
            get(persons::get)
                .put(persons::update)
                .delete(persons::delete),
        )
        .route("/acme/v1/server", get(acme::servers))
        .route(
            "/acme/{version}/account",
            get(acme::list).post(acme::create),
        )
        .route(
            "/acme/{version}/account/",
            get(acme::list).post(acme::create),
        )
        .route(
            "/acme/{version}/account/{id}",
            get(acme::get).put(acme::update).delete(acme::delete),
        )
        .route(
            "/acme/{version}/account/{id}/domains",
            post(acme::add_domains).delete(acme::remove_domains),
        )
        .route(
            "/acme/{version}/account/{id}/domain",
            post(acme::add_domains).delete(acme::remove_domains),
        )
        .fallback(not_found);
    Router::new()
        .nest("/api", api.clone())
        .nest(
            "/private/api",
            api.layer(axum::Extension(auth::CertificateDoor)),
        )
        .route("/oauth2/token", post(oauth::token))
}

async fn not_found(uri: Uri) -> ScmError {
    ScmError::not_found(format!("no such endpoint: {}", uri.path()))
}

/// 201 Created with `Location` naming the new resource under the request's path.
pub(crate) fn created(uri: &Uri, id: i64) -> Response {
    let base = uri.path().trim_end_matches('/');
    let location = format!("{base}/{id}");
    let mut response = StatusCode::CREATED.into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// Adds SCM's `X-Total-Count` header.
pub(crate) fn with_total(body: impl IntoResponse, total: usize) -> Response {
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert("x-total-count", HeaderValue::from(total));
    response
}

/// Applies SCM's `size` / `position` paging; returns the page and the total.
pub(crate) fn page<'a, T>(
    items: &'a [T],
    query: &HashMap<String, String>,
) -> ScmResult<(&'a [T], usize)> {
    let number = |name: &str, default: usize| -> ScmResult<usize> {
        match query.get(name) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| {
                ScmError::bad_request(format!("{name} '{v}' is not a non-negative integer"))
            }),
        }
    };
    let size = number("size", usize::MAX)?;
    let position = number("position", 0)?.min(items.len());
    let end = position.saturating_add(size).min(items.len());
    Ok((&items[position..end], items.len()))
}

/// ISO-8601 with milliseconds and `Z`, as SCM writes timestamps.
pub(crate) fn iso_time(unix: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(unix) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.000Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        Err(_) => String::new(),
    }
}

/// Parses `certTypes` (`SSL`, `SMIME`, `CodeSign`).
pub(crate) fn parse_cert_types(items: &[String]) -> ScmResult<Vec<CertificateType>> {
    items
        .iter()
        .map(|t| {
            CertificateType::parse(t).ok_or_else(|| {
                ScmError::bad_request(format!(
                    "certTypes: '{t}' is not one of SSL, SMIME, CodeSign"
                ))
            })
        })
        .collect()
}
