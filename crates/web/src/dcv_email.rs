//! The page an e-mail DCV link opens. Following the link only shows a button: mail
//! scanners fetch links, so the domain is validated only by the POST the button sends.
//! The token in the path is the secret (unguessable, single use), so the form needs no
//! other CSRF token.

use crate::AppState;
use axum::Router;
use axum::extract::{ConnectInfo, Path, State};
use axum::response::Html;
use axum::routing::get;
use std::net::SocketAddr;

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         </head><body><main><h1>{title}</h1>{body}</main></body></html>"
    ))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn show(Path((_customer, token)): Path<(String, String)>) -> Html<String> {
    page(
        "Confirm domain control",
        &format!(
            "<p>Confirm that your organisation controls the domain this message was about.</p>\
             <form method=\"post\" action=\"{}\"><button type=\"submit\">Confirm</button></form>",
            escape(&token)
        ),
    )
}

async fn confirm(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path((_customer, token)): Path<(String, String)>,
) -> (axum::http::StatusCode, Html<String>) {
    match state
        .authority
        .dcv_confirm_email(&token, &peer.ip().to_string())
        .await
    {
        Ok(domain) => (
            axum::http::StatusCode::OK,
            page(
                "Domain validated",
                &format!(
                    "<p>Control of <b>{}</b> is validated. You can close this page.</p>",
                    escape(&domain)
                ),
            ),
        ),
        Err(e) => (
            axum::http::StatusCode::BAD_REQUEST,
            page(
                "Validation failed",
                &format!("<p>{}</p>", escape(&e.to_string())),
            ),
        ),
    }
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route(
        "/customer/{customer}/dcv/email/{token}",
        get(show).post(confirm),
    )
}
