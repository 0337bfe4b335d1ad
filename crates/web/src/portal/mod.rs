//! The web portal, under `/customer/<customerUri>/` as in the guide: server-rendered pages
//! that work without JavaScript, every one of them a thin layer over `ra` (which checks the
//! administrator's role and scope), every form protected against cross-site forgery.

// Page helpers return the page to show instead (`Result<T, Response>`), as axum handlers do;
// a response is large, but it is built once per request and only on the way out.
#![allow(clippy::result_large_err)]

mod acme;
mod admins;
mod audit;
mod csrf;
mod dashboard;
mod domains;
mod invitation;
mod login;
mod mail_templates;
mod notifications;
mod organizations;
mod page;
mod persons;
mod recovery;
mod scope;
mod session;
mod ssl;

use crate::AppState;
use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

/// The portal's stylesheet, compiled into the binary.
const STYLESHEET: &str = include_str!("../../static/portal.css");

/// A portal path: `/customer/{customer}` followed by `rest`.
fn at(rest: &str) -> String {
    format!("/customer/{{customer}}{rest}")
}

/// The portal routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(&at(""), get(login::login_page))
        .route(&at("/"), get(login::login_page))
        .route(&at("/login"), post(login::login))
        .route(&at("/logout"), post(login::logout))
        .route(
            &at("/password"),
            get(login::password_form).post(login::change_password),
        )
        .route(&at("/dashboard"), get(dashboard::dashboard))
        .route(&at("/organizations"), get(organizations::list))
        .route(
            &at("/organizations/{id}"),
            get(organizations::organization).post(organizations::update_organization),
        )
        .route(
            &at("/organizations/{id}/departments"),
            get(organizations::departments).post(organizations::add_department),
        )
        .route(
            &at("/organizations/{id}/departments/{dept}"),
            get(organizations::department_form).post(organizations::update_department),
        )
        .route(
            &at("/organizations/{id}/departments/{dept}/delete"),
            post(organizations::delete_department),
        )
        .route(&at("/ssl"), get(ssl::list))
        .route(&at("/ssl/new"), get(ssl::request_form).post(ssl::request))
        .route(&at("/ssl/{id}"), get(ssl::detail))
        .route(&at("/ssl/{id}/approve"), post(ssl::approve))
        .route(&at("/ssl/{id}/decline"), post(ssl::decline))
        .route(&at("/ssl/{id}/revoke"), post(ssl::revoke))
        .route(&at("/ssl/{id}/renew"), post(ssl::renew))
        .route(&at("/ssl/{id}/replace"), post(ssl::replace))
        .route(&at("/ssl/{id}/auto-renew"), post(ssl::auto_renew))
        .route(&at("/ssl/{id}/download/{format}"), get(ssl::download))
        .route(&at("/client"), get(persons::list).post(persons::create))
        .route(
            &at("/client/{id}"),
            get(persons::person).post(persons::update),
        )
        .route(&at("/client/{id}/delete"), post(persons::delete))
        .route(&at("/client/{id}/invite"), post(persons::invite))
        .route(&at("/client/{id}/revoke/{order}"), post(persons::revoke))
        .route(
            &at("/invitation/{token}"),
            get(invitation::show).post(invitation::accept),
        )
        .route(
            &at("/recovery/{token}"),
            get(recovery::show).post(recovery::accept),
        )
        .route(&at("/domains"), get(domains::list))
        .route(
            &at("/domains/new"),
            get(domains::new_form).post(domains::create),
        )
        .route(&at("/domains/{id}"), get(domains::detail))
        .route(&at("/domains/{id}/dcv/start"), post(domains::dcv_start))
        .route(&at("/domains/{id}/dcv/submit"), post(domains::dcv_submit))
        .route(&at("/domains/{id}/dcv/clear"), post(domains::dcv_clear))
        .route(&at("/domains/{id}/delete"), post(domains::delete))
        .route(&at("/admins"), get(admins::list))
        .route(
            &at("/admins/new"),
            get(admins::new_form).post(admins::create),
        )
        .route(&at("/admins/{id}"), get(admins::admin).post(admins::update))
        .route(&at("/admins/{id}/approve"), post(admins::approve))
        .route(&at("/admins/{id}/active"), post(admins::set_active))
        .route(&at("/admins/{id}/password"), post(admins::reset_password))
        .route(&at("/admins/{id}/delete"), post(admins::delete))
        .route(&at("/acme"), get(acme::list))
        .route(&at("/acme/new"), post(acme::create))
        .route(&at("/acme/{id}"), get(acme::account))
        .route(&at("/acme/{id}/domains"), post(acme::add_domains))
        .route(&at("/acme/{id}/domains/remove"), post(acme::remove_domain))
        .route(&at("/acme/{id}/delete"), post(acme::delete))
        .route(&at("/audit"), get(audit::list))
        .route(
            &at("/notifications"),
            get(notifications::list).post(notifications::create),
        )
        .route(&at("/notifications/log"), get(notifications::log))
        .route(&at("/notifications/templates"), get(mail_templates::list))
        .route(
            &at("/notifications/templates/{kind}"),
            get(mail_templates::edit).post(mail_templates::save),
        )
        .route(
            &at("/notifications/templates/{kind}/reset"),
            post(mail_templates::reset),
        )
        .route(
            &at("/notifications/{id}"),
            get(notifications::edit).post(notifications::update),
        )
        .route(&at("/notifications/{id}/test"), post(notifications::test))
        .route(
            &at("/notifications/{id}/delete"),
            post(notifications::delete),
        )
        .route(&at("/{*rest}"), axum::routing::any(not_found))
        .route_layer(axum::middleware::from_fn(csrf::guard))
        .route("/static/portal.css", get(stylesheet))
}

async fn stylesheet() -> Response {
    let mut response = STYLESHEET.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response
}

async fn not_found() -> Response {
    page::error_page(
        StatusCode::NOT_FOUND,
        "There is no such page in the portal.",
        "Use the navigation bar, or start again from the dashboard.",
    )
}
