//! The page a key recovery's link opens (guide 8.2: recovered key material is delivered to
//! the approved recipient). No sign-in: the one-time token in the link is the credential.
//! The recipient chooses a passphrase and downloads the key with its certificate as a
//! PKCS#12 (AES-256, or the labelled legacy 3DES variant).

use super::page::{self, Chrome};
use super::session::customer_named;
use crate::AppState;
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use castellan_ra::invitations::MIN_PASSPHRASE;
use serde::Deserialize;
use zeroize::Zeroizing;

#[derive(Template)]
#[template(path = "portal/recovery.html")]
struct RecoveryPage {
    chrome: Chrome,
    action: String,
    min_passphrase: usize,
    legacy: bool,
    error: Option<String>,
}

/// The form (the passphrases are never shown again).
#[derive(Deserialize, Default)]
pub(crate) struct RecoveryForm {
    #[serde(default)]
    passphrase: Zeroizing<String>,
    #[serde(default)]
    passphrase_again: Zeroizing<String>,
    #[serde(default)]
    legacy: Option<String>,
}

fn render(
    customer: &str,
    token: &str,
    legacy: bool,
    error: Option<(StatusCode, String)>,
) -> Response {
    let body = page::render(&RecoveryPage {
        chrome: Chrome::anonymous(format!("/customer/{customer}"), "Your recovered key"),
        action: format!("/customer/{customer}/recovery/{token}"),
        min_passphrase: MIN_PASSPHRASE,
        legacy,
        error: error.as_ref().map(|(_, m)| m.clone()),
    });
    page::html(error.map_or(StatusCode::OK, |(s, _)| s), body)
}

/// `GET /customer/<uri>/recovery/<token>`.
pub(crate) async fn show(
    State(state): State<AppState>,
    Path((customer, token)): Path<(String, String)>,
) -> Response {
    match customer_named(&state, &customer) {
        Ok(customer) => render(&customer, &token, false, None),
        Err(response) => response,
    }
}

/// `POST /customer/<uri>/recovery/<token>`: the PKCS#12, once.
pub(crate) async fn accept(
    State(state): State<AppState>,
    Path((customer, token)): Path<(String, String)>,
    Form(form): Form<RecoveryForm>,
) -> Response {
    let customer = match customer_named(&state, &customer) {
        Ok(c) => c,
        Err(response) => return response,
    };
    let legacy = form.legacy.is_some();
    if form.passphrase.as_str() != form.passphrase_again.as_str() {
        let message = super::invitation::PASSPHRASES_DIFFER.to_owned();
        return render(
            &customer,
            &token,
            legacy,
            Some((StatusCode::BAD_REQUEST, message)),
        );
    }
    match state
        .authority
        .accept_recovery(&token, &form.passphrase, legacy)
        .await
    {
        Ok(download) => super::invitation::file(download),
        Err(e) => render(
            &customer,
            &token,
            legacy,
            Some((page::ra_status(&e), page::ra_message(&e))),
        ),
    }
}
