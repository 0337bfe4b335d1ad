//! `/api/escrow/v1` — Castellan's own endpoints (SCM has none: Sectigo recovers keys on
//! request): key recoveries (ask, see, approve or reject, hand in a custodian's share) and
//! the operator's split of the escrow key among custodians. Authenticated as the SCM API
//! is; every rule is `ra::escrow`'s.

use super::auth::ScmActor;
use super::body::{Lenient, LooseInt};
use super::error::{ScmError, ScmResult};
use crate::AppState;
use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use castellan_model::RequestId;
use castellan_ra::escrow::RecoveryView;
use serde::Deserialize;
use serde_json::{Value, json};

fn view_json(v: &RecoveryView) -> Value {
    json!({
        "id": v.id,
        "status": v.status,
        "recipient": v.recipient,
        "sharesHandedIn": v.shares.0,
        "sharesNeeded": v.shares.1,
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct RecoveryBody {
    backend_cert_id: Option<LooseInt>,
    recipient: Option<String>,
    reason: Option<String>,
}

/// `POST /api/escrow/v1/recovery` `{"backendCertId", "recipient", "reason"}` → 201.
pub(crate) async fn request(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    OriginalUri(uri): OriginalUri,
    Lenient(body): Lenient<RecoveryBody>,
) -> ScmResult<Response> {
    let order = body
        .backend_cert_id
        .ok_or_else(|| ScmError::bad_request("backendCertId is required but missing"))?;
    let id = state
        .authority
        .request_key_recovery(
            &actor,
            RequestId(order.0),
            body.recipient.as_deref().unwrap_or_default(),
            body.reason.as_deref().unwrap_or_default(),
        )
        .await?;
    Ok(super::created(&uri, id))
}

/// `GET /api/escrow/v1/recovery/{id}`.
pub(crate) async fn get(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Path(id): Path<i64>,
) -> ScmResult<Json<Value>> {
    Ok(Json(view_json(
        &state.authority.key_recovery(&actor, id).await?,
    )))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct NoteBody {
    note: Option<String>,
}

async fn decide(
    state: &AppState,
    actor: &castellan_ra::Actor,
    id: i64,
    approve: bool,
    note: &str,
) -> ScmResult<Json<Value>> {
    let pending = state
        .authority
        .pending_approvals(actor)
        .await?
        .into_iter()
        .find(|a| {
            a.approval.action == castellan_ra::approval::APPROVE_KEY_RECOVERY
                && a.approval.object_id == id
        });
    let Some(pending) = pending else {
        // Say why: not pending at all, or not the caller's to decide.
        let view = state.authority.key_recovery(actor, id).await?;
        return Err(ScmError::from(castellan_ra::RaError::NotAllowed(format!(
            "key recovery {id} is {}; it can only be decided while it waits for approval, by a \
             different administrator with keyRecovery over its organization",
            view.status.to_lowercase().replace('_', " ")
        ))));
    };
    state
        .authority
        .decide_approval(actor, pending.id, approve, note)
        .await?;
    Ok(Json(view_json(
        &state.authority.key_recovery(actor, id).await?,
    )))
}

/// `POST /api/escrow/v1/recovery/{id}/approve` `{"note"}`.
pub(crate) async fn approve(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Path(id): Path<i64>,
    Lenient(body): Lenient<NoteBody>,
) -> ScmResult<Json<Value>> {
    decide(
        &state,
        &actor,
        id,
        true,
        body.note.as_deref().unwrap_or_default(),
    )
    .await
}

/// `POST /api/escrow/v1/recovery/{id}/reject` `{"note"}`.
pub(crate) async fn reject(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Path(id): Path<i64>,
    Lenient(body): Lenient<NoteBody>,
) -> ScmResult<Json<Value>> {
    decide(
        &state,
        &actor,
        id,
        false,
        body.note.as_deref().unwrap_or_default(),
    )
    .await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ShareBody {
    share: Option<String>,
}

/// `POST /api/escrow/v1/recovery/{id}/share` `{"share"}`: a custodian's share.
pub(crate) async fn share(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Path(id): Path<i64>,
    Lenient(body): Lenient<ShareBody>,
) -> ScmResult<Json<Value>> {
    let share = body
        .share
        .ok_or_else(|| ScmError::bad_request("share is required but missing"))?;
    Ok(Json(view_json(
        &state
            .authority
            .submit_recovery_share(&actor, id, &share)
            .await?,
    )))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct SplitBody {
    threshold: Option<LooseInt>,
    custodians: Option<LooseInt>,
}

/// `POST /api/escrow/v1/split` `{"threshold", "custodians"}` (MRAO): the shares, once.
pub(crate) async fn split(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Lenient(body): Lenient<SplitBody>,
) -> ScmResult<(StatusCode, Json<Value>)> {
    let number = |v: Option<LooseInt>, name: &str| {
        v.and_then(|n| u8::try_from(n.0).ok())
            .ok_or_else(|| ScmError::bad_request(format!("{name} must be a number from 2 to 255")))
    };
    let threshold = number(body.threshold, "threshold")?;
    let custodians = number(body.custodians, "custodians")?;
    let shares = state
        .authority
        .split_escrow_key(&actor, threshold, custodians)
        .await?;
    Ok((
        StatusCode::OK,
        Json(json!({
            "threshold": threshold,
            "custodians": custodians,
            "shares": shares.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        })),
    ))
}
