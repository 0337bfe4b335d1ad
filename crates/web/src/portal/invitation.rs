//! The page an invitation link opens (guide 8.2.1: "The user should be emailed a link to
//! follow to create and download their certificate"). No sign-in: the one-time token in the
//! link is the credential. The person chooses a key type and a passphrase (Castellan makes
//! the key and hands over a PKCS#12, AES-256, or the labelled legacy 3DES variant for old
//! mail clients), or pastes their own CSR and gets the certificate with its chain.

use super::page::{self, Chrome};
use super::session::customer_named;
use crate::AppState;
use askama::Template;
use axum::Form;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use castellan_model::KeyType;
use castellan_ra::invitations::{InvitationKey, InvitationView, MIN_PASSPHRASE};
use serde::Deserialize;
use std::net::SocketAddr;
use zeroize::Zeroizing;

/// The refusal of a form whose passphrase and its repetition differ (here and on the key
/// recovery page).
pub(crate) const PASSPHRASES_DIFFER: &str =
    "The two passphrases differ; type the same passphrase twice.";

#[derive(Template)]
#[template(path = "portal/invitation.html")]
struct InvitationPage {
    chrome: Chrome,
    action: String,
    view: InvitationView,
    expires: String,
    keys: Vec<(String, String)>,
    min_passphrase: usize,
    form: InvitationForm,
    error: Option<String>,
}

/// The form, as typed (the passphrases are never shown again).
#[derive(Deserialize, Default, Clone)]
pub(crate) struct InvitationForm {
    #[serde(default)]
    mode: String,
    #[serde(default)]
    key_type: String,
    #[serde(default)]
    passphrase: Zeroizing<String>,
    #[serde(default)]
    passphrase_again: Zeroizing<String>,
    #[serde(default)]
    legacy: Option<String>,
    #[serde(default)]
    csr: String,
}

fn key_label(key: KeyType) -> String {
    match key {
        KeyType::Rsa(bits) => format!("RSA {bits} bits (best supported, e.g. by Outlook)"),
        KeyType::EcP256 => "ECC P-256".into(),
        KeyType::EcP384 => "ECC P-384".into(),
    }
}

async fn render(
    state: &AppState,
    customer: &str,
    token: &str,
    form: InvitationForm,
    error: Option<(StatusCode, String)>,
) -> Response {
    let view = match state.authority.invitation(token).await {
        Ok(v) => v,
        Err(e) => return page::ra_error_page(&e),
    };
    let body = page::render(&InvitationPage {
        chrome: Chrome::anonymous(format!("/customer/{customer}"), "Your client certificate"),
        action: format!("/customer/{customer}/invitation/{token}"),
        expires: page::when(Some(view.expires_at)),
        keys: view
            .key_types
            .iter()
            .map(|k| (k.short_name(), key_label(*k)))
            .collect(),
        view,
        min_passphrase: MIN_PASSPHRASE,
        form: InvitationForm {
            passphrase: Zeroizing::default(),
            passphrase_again: Zeroizing::default(),
            ..form
        },
        error: error.as_ref().map(|(_, m)| m.clone()),
    });
    page::html(error.map_or(StatusCode::OK, |(s, _)| s), body)
}

/// `GET /customer/<uri>/invitation/<token>`.
pub(crate) async fn show(
    State(state): State<AppState>,
    Path((customer, token)): Path<(String, String)>,
) -> Response {
    let customer = match customer_named(&state, &customer) {
        Ok(c) => c,
        Err(response) => return response,
    };
    render(&state, &customer, &token, InvitationForm::default(), None).await
}

/// `POST /customer/<uri>/invitation/<token>`: issues and hands over the file.
pub(crate) async fn accept(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path((customer, token)): Path<(String, String)>,
    Form(form): Form<InvitationForm>,
) -> Response {
    let customer = match customer_named(&state, &customer) {
        Ok(c) => c,
        Err(response) => return response,
    };
    let key = if form.mode == "csr" {
        InvitationKey::Csr(form.csr.clone().into_bytes())
    } else {
        if form.passphrase.as_str() != form.passphrase_again.as_str() {
            let message = PASSPHRASES_DIFFER.to_owned();
            return render(
                &state,
                &customer,
                &token,
                form,
                Some((StatusCode::BAD_REQUEST, message)),
            )
            .await;
        }
        let Some(key_type) = KeyType::from_short_name(&form.key_type) else {
            let message = format!("Choose a key type from the list, not '{}'.", form.key_type);
            return render(
                &state,
                &customer,
                &token,
                form,
                Some((StatusCode::BAD_REQUEST, message)),
            )
            .await;
        };
        InvitationKey::Generate {
            key_type,
            passphrase: form.passphrase.clone(),
            legacy: form.legacy.is_some(),
        }
    };
    match state
        .authority
        .accept_invitation(&token, key, &peer.ip().to_string())
        .await
    {
        Ok((_, download)) => file(download),
        Err(e) => {
            let error = (page::ra_status(&e), page::ra_message(&e));
            render(&state, &customer, &token, form, Some(error)).await
        }
    }
}

/// A file handed to the person: the PKCS#12, or the PEM chain for a CSR.
pub(crate) fn file(download: castellan_ra::Download) -> Response {
    let content_type = if download.format.needs_private_key() {
        "application/x-pkcs12"
    } else {
        "application/x-pem-file"
    };
    crate::attachment(download, content_type)
}
