//! `GET /health`: 200 with the version and the database kind while the database answers,
//! 503 when it does not (so a load balancer takes the node out).

use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

#[derive(Serialize)]
struct Health {
    status: &'static str,
    version: &'static str,
    database: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

async fn health(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let store = state.authority.store();
    let database = store.kind().as_str();
    match store.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(Health {
                status: "ok",
                version: env!("CARGO_PKG_VERSION"),
                database,
                error: None,
            }),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "health check: database unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Health {
                    status: "unavailable",
                    version: env!("CARGO_PKG_VERSION"),
                    database,
                    error: Some("the database does not answer".into()),
                }),
            )
        }
    }
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/health", get(health))
}
