//! Who is calling the SCM API (spec §1): `login` + `password` + `customerUri` headers on
//! every request, or `Authorization: Bearer` from the OAuth2 token endpoint. No sessions.

use super::error::{ScmError, ScmResult};
use crate::AppState;
use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use castellan_model::AccessMethod;
use castellan_ra::Actor;
use castellan_ra::signin::SignInError;

/// Marks requests under `/private/api`, where the TLS client certificate replaces the
/// password (spec §1.2).
#[derive(Clone, Copy, Debug)]
pub struct CertificateDoor;

/// An authenticated administrator who may act (password already changed if required).
pub struct ScmActor(pub Actor);

/// An authenticated administrator who may still have to change their password (only the
/// `changepassword` endpoint takes this).
pub struct ScmActorMayChangePassword(pub Actor);

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

async fn authenticate(parts: &Parts, state: &AppState) -> ScmResult<Actor> {
    let address = crate::client_address(parts);
    let authority = &state.authority;
    if parts.extensions.get::<CertificateDoor>().is_some() {
        let leaf = parts
            .extensions
            .get::<std::sync::Arc<axum_server::tls::TlsInfo>>()
            .and_then(|tls| tls.peer_certificates.first().cloned());
        let (Some(leaf), Some(login), Some(customer)) = (
            leaf,
            header(&parts.headers, "login"),
            header(&parts.headers, "customeruri"),
        ) else {
            return Err(ScmError::unknown_user());
        };
        return Ok(authority
            .sign_in_certificate(customer, login, &leaf, &address)
            .await?);
    }
    if let Some(bearer) = header(&parts.headers, "authorization").and_then(|v| {
        v.strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))
    }) {
        return Ok(authority.sign_in_token(bearer.trim(), &address).await?);
    }
    let (Some(login), Some(customer)) = (
        header(&parts.headers, "login"),
        header(&parts.headers, "customeruri"),
    ) else {
        return Err(ScmError::unknown_user());
    };
    let password = header(&parts.headers, "password").unwrap_or_default();
    Ok(authority
        .sign_in(customer, login, password, AccessMethod::RestApi, &address)
        .await?)
}

impl FromRequestParts<AppState> for ScmActorMayChangePassword {
    type Rejection = ScmError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ScmResult<Self> {
        Ok(ScmActorMayChangePassword(authenticate(parts, state).await?))
    }
}

impl FromRequestParts<AppState> for ScmActor {
    type Rejection = ScmError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ScmResult<Self> {
        let actor = authenticate(parts, state).await?;
        if actor.must_change_password {
            return Err(castellan_ra::RaError::SignIn(SignInError::MustChangePassword).into());
        }
        Ok(ScmActor(actor))
    }
}
