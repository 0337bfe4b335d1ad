//! `/api/notification/v1` — Castellan's own endpoints (SCM's API has none for this), in the
//! SCM API's style and with its authentication: notification rules (list, add, get, edit,
//! delete, send a test), the kinds there are, the delivery log, and the templates.

use super::auth::ScmActor;
use super::body::{Lenient, LooseInt};
use super::created;
use super::error::{ScmError, ScmResult};
use crate::AppState;
use axum::Json;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use castellan_model::OrgId;
use castellan_ra::notifications::{KINDS, RuleSpec, Template, TemplateView};
use castellan_store::RuleRecord;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;

fn rule_json(r: &RuleRecord) -> Value {
    let rule = &r.rule;
    json!({
        "id": r.id,
        "type": rule.kind,
        "orgId": rule.org_id.0,
        "departments": rule.departments.iter().map(|d| d.0).collect::<Vec<_>>(),
        "notifyRequester": rule.requester,
        "notifyExternalRequester": rule.external_requester,
        "notifyAdmins": rule.admins,
        "addresses": rule.addresses,
        "days": rule.days.iter().rev().collect::<Vec<_>>(),
        "createdAt": rule.created_at,
    })
}

/// A rule as a client sends it; `type` and `orgId` are required.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct RuleBody {
    r#type: Option<String>,
    org_id: Option<LooseInt>,
    departments: Vec<LooseInt>,
    notify_requester: bool,
    notify_external_requester: bool,
    notify_admins: bool,
    addresses: Vec<String>,
    days: Vec<LooseInt>,
}

impl RuleBody {
    fn spec(self) -> ScmResult<RuleSpec> {
        Ok(RuleSpec {
            kind: self
                .r#type
                .ok_or_else(|| ScmError::bad_request("type is required but missing"))?,
            org_id: OrgId(
                self.org_id
                    .ok_or_else(|| ScmError::bad_request("orgId is required but missing"))?
                    .0,
            ),
            departments: self.departments.into_iter().map(|d| OrgId(d.0)).collect(),
            requester: self.notify_requester,
            external_requester: self.notify_external_requester,
            admins: self.notify_admins,
            addresses: self.addresses,
            days: self.days.into_iter().map(|d| d.0).collect(),
        })
    }
}

/// `GET /notification/v1`: the rules the caller may see.
pub(crate) async fn list(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Query(q): Query<HashMap<String, String>>,
) -> ScmResult<Response> {
    let rules = state.authority.notification_rules(&actor).await?;
    let (page, total) = super::page(&rules, &q)?;
    Ok(super::with_total(
        Json(page.iter().map(rule_json).collect::<Vec<_>>()),
        total,
    ))
}

/// `POST /notification/v1`: 201 with `Location`.
pub(crate) async fn create(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    OriginalUri(uri): OriginalUri,
    Lenient(body): Lenient<RuleBody>,
) -> ScmResult<Response> {
    let id = state
        .authority
        .create_notification_rule(&actor, body.spec()?)
        .await?;
    Ok(created(&uri, id))
}

/// `GET /notification/v1/{id}`.
pub(crate) async fn get(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Path(id): Path<i64>,
) -> ScmResult<Json<Value>> {
    let rule = state.authority.notification_rule(&actor, id).await?;
    Ok(Json(rule_json(&rule)))
}

/// `PUT /notification/v1/{id}`: the rule as it should be, whole.
pub(crate) async fn update(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Path(id): Path<i64>,
    Lenient(body): Lenient<RuleBody>,
) -> ScmResult<Json<Value>> {
    state
        .authority
        .update_notification_rule(&actor, id, body.spec()?)
        .await?;
    let rule = state.authority.notification_rule(&actor, id).await?;
    Ok(Json(rule_json(&rule)))
}

/// `DELETE /notification/v1/{id}`.
pub(crate) async fn delete(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Path(id): Path<i64>,
) -> ScmResult<StatusCode> {
    state.authority.delete_notification_rule(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /notification/v1/{id}/test`: queues the rule's mail with an example to the caller
/// and the rule's addresses.
pub(crate) async fn test(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Path(id): Path<i64>,
) -> ScmResult<Json<Value>> {
    let to = state.authority.send_test_notification(&actor, id).await?;
    Ok(Json(json!({ "recipients": to })))
}

/// `GET /notification/v1/types`: every kind and what a rule of it may say.
pub(crate) async fn types(ScmActor(_actor): ScmActor) -> Json<Value> {
    Json(Value::Array(
        KINDS
            .iter()
            .map(|k| {
                json!({
                    "type": k.name,
                    "name": k.label,
                    "days": k.thresholds,
                    "requester": k.requester,
                    "externalRequester": k.external_requester,
                    "defaultRecipients": k.defaults,
                })
            })
            .collect(),
    ))
}

/// `GET /notification/v1/log`: the delivery log (everything for the operators, the
/// caller's own mail for others), newest first; `size` (default 100, at most 1000).
pub(crate) async fn log(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Query(q): Query<HashMap<String, String>>,
) -> ScmResult<Json<Value>> {
    let size = match q.get("size") {
        None => 100,
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| {
                ScmError::bad_request(format!("size '{v}' is not a number from 1 to 1000"))
            })?,
    };
    let records = state.authority.delivery_log(&actor, size).await?;
    Ok(Json(Value::Array(
        records
            .iter()
            .map(|r| {
                json!({
                    "id": r.id,
                    "recipient": r.email.recipient,
                    "subject": r.email.subject,
                    "status": r.status,
                    "attempts": r.attempts,
                    "queued": r.email.created_at,
                    "sent": r.sent_at,
                    "nextAttempt": r.next_attempt_at,
                    "lastError": r.last_error,
                })
            })
            .collect(),
    )))
}

fn template_json(t: &TemplateView) -> Value {
    json!({
        "type": t.kind,
        "name": t.label,
        "variables": t.variables,
        "subject": t.template.subject,
        "text": t.template.text,
        "html": t.template.html,
        "custom": t.custom,
        "updatedAt": t.updated_at,
    })
}

/// `GET /notification/v1/template`.
pub(crate) async fn templates(
    State(state): State<AppState>,
    ScmActor(_actor): ScmActor,
) -> ScmResult<Json<Value>> {
    let views = state.authority.notification_templates().await?;
    Ok(Json(Value::Array(
        views.iter().map(template_json).collect(),
    )))
}

/// `GET /notification/v1/template/{type}`.
pub(crate) async fn template(
    State(state): State<AppState>,
    ScmActor(_actor): ScmActor,
    Path(kind): Path<String>,
) -> ScmResult<Json<Value>> {
    let view = state.authority.notification_template(&kind).await?;
    Ok(Json(template_json(&view)))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct TemplateBody {
    subject: String,
    text: String,
    html: String,
}

/// `PUT /notification/v1/template/{type}` (the operator): checked, saved, and answered with
/// its rendering of an example.
pub(crate) async fn put_template(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Path(kind): Path<String>,
    Lenient(body): Lenient<TemplateBody>,
) -> ScmResult<Json<Value>> {
    let preview = state
        .authority
        .set_notification_template(
            &actor,
            &kind,
            Template {
                subject: body.subject,
                text: body.text,
                html: body.html,
            },
        )
        .await?;
    Ok(Json(json!({
        "preview": {"subject": preview.subject, "text": preview.text, "html": preview.html}
    })))
}

/// `DELETE /notification/v1/template/{type}` (the operator): the default again.
pub(crate) async fn reset_template(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Path(kind): Path<String>,
) -> ScmResult<StatusCode> {
    state
        .authority
        .reset_notification_template(&actor, &kind)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
