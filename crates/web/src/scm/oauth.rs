//! The OAuth2 client-credentials token endpoint (spec §1.3), hosted by Castellan itself:
//! `POST /oauth2/token` with `client_id` (an API administrator's login), `client_secret`
//! (their password) and `grant_type=client_credentials`.

use crate::AppState;
use axum::Form;
use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use std::net::SocketAddr;

#[derive(Deserialize)]
pub(crate) struct TokenRequest {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

pub(crate) async fn token(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Form(request): Form<TokenRequest>,
) -> Response {
    if request.grant_type.as_deref() != Some("client_credentials") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "only grant_type=client_credentials is supported",
        );
    }
    let (Some(id), Some(secret)) = (request.client_id, request.client_secret) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "client_id and client_secret are required",
        );
    };
    match state
        .authority
        .issue_api_token(&id, &secret, &peer.ip().to_string())
        .await
    {
        Ok((token, expires_in)) => Json(json!({
            "access_token": token.as_str(),
            "token_type": "Bearer",
            "expires_in": expires_in,
        }))
        .into_response(),
        Err(castellan_ra::RaError::SignIn(_)) => oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "unknown client or wrong secret (only API administrators use client credentials)",
        ),
        Err(e) => {
            tracing::error!(error = %e, "token endpoint failed");
            oauth_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "internal error",
            )
        }
    }
}
