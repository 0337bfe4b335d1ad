//! `/domain/v1` (spec §7): list, count, get, create (201 + Location), delete,
//! activate/suspend, delegation add/remove (DELETE with a body), approve/reject.

use super::auth::ScmActor;
use super::body::{Lenient, LooseInt};
use super::error::{ScmError, ScmResult};
use super::{created, parse_cert_types};
use crate::AppState;
use axum::Json;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use castellan_model::{DomainId, OrgId};
use castellan_ra::domains::DomainView;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;

/// `yyyy-MM-dd`, as SCM writes DCV dates.
pub(crate) fn day(unix: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(unix) {
        Ok(t) => format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day()),
        Err(_) => String::new(),
    }
}

fn details(view: &DomainView) -> Value {
    let d = &view.domain;
    let any_requested = d.delegations.iter().any(|g| !g.active);
    let mut by_org: Vec<(OrgId, Vec<&str>, bool)> = Vec::new();
    for g in &d.delegations {
        match by_org
            .iter_mut()
            .find(|(o, _, a)| *o == g.org_id && *a == g.active)
        {
            Some((_, types, _)) => types.push(g.cert_type.as_str()),
            None => by_org.push((g.org_id, vec![g.cert_type.as_str()], g.active)),
        }
    }
    json!({
        "id": d.id.0,
        "name": d.name,
        "description": d.description,
        "delegationStatus": if any_requested { "REQUESTED" } else { "ACTIVE" },
        "state": if d.active { "ACTIVE" } else { "SUSPENDED" },
        "status": if d.active { "Active" } else { "Suspended" },
        "validationStatus": view.status.as_str(),
        "validationDisplay": view.status.display(),
        "validationMethod": view.dcv.as_ref().map(|c| c.validated_method.clone()).unwrap_or_default(),
        "dcvValidation": view.dcv.as_ref().and_then(|c| c.validated_at).map(day),
        "dcvExpiration": view.dcv.as_ref().and_then(|c| c.expires_at).map(day),
        "delegations": by_org.iter().map(|(org, types, active)| json!({
            "orgId": org.0, "certTypes": types,
            "status": if *active { "ACTIVE" } else { "REQUESTED" },
        })).collect::<Vec<_>>(),
        "ctLogMonitoring": {"enabled": false, "includeSubdomains": false},
    })
}

fn filtered(views: Vec<DomainView>, q: &HashMap<String, String>) -> ScmResult<Vec<DomainView>> {
    let empty = |k: &str| q.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let org = match empty("orgId") {
        Some(v) => Some(
            v.parse::<i64>()
                .map_err(|_| ScmError::bad_request(format!("orgId '{v}' is not a number")))?,
        ),
        None => None,
    };
    Ok(views
        .into_iter()
        .filter(|v| {
            empty("name")
                .is_none_or(|n| v.domain.name.eq_ignore_ascii_case(n.trim_end_matches('.')))
        })
        .filter(
            |v| match empty("state").map(str::to_ascii_lowercase).as_deref() {
                Some("active") => v.domain.active,
                Some("inactive") | Some("suspended") => !v.domain.active,
                _ => true,
            },
        )
        .filter(
            |v| match empty("status").map(str::to_ascii_lowercase).as_deref() {
                Some("requested") => v.domain.delegations.iter().any(|g| !g.active),
                Some("approved") | Some("active") => v.domain.delegations.iter().all(|g| g.active),
                _ => true,
            },
        )
        .filter(|v| org.is_none_or(|o| v.domain.delegations.iter().any(|g| g.org_id.0 == o)))
        .collect())
}

pub(crate) async fn list(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Query(q): Query<HashMap<String, String>>,
) -> ScmResult<Response> {
    let views = filtered(state.authority.domains(&actor).await?, &q)?;
    let (page, total) = super::page(&views, &q)?;
    let items: Vec<Value> = page
        .iter()
        .map(|v| json!({"id": v.domain.id.0, "name": v.domain.name}))
        .collect();
    Ok(super::with_total(Json(items), total))
}

pub(crate) async fn count(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Query(q): Query<HashMap<String, String>>,
) -> ScmResult<Json<Value>> {
    let views = filtered(state.authority.domains(&actor).await?, &q)?;
    Ok(Json(json!({"count": views.len()})))
}

pub(crate) async fn get(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Path(id): Path<i64>,
) -> ScmResult<Json<Value>> {
    let view = state.authority.domain(&actor, DomainId(id)).await?;
    Ok(Json(details(&view)))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct DelegationBody {
    org_id: Option<LooseInt>,
    cert_types: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct DomainBody {
    name: Option<String>,
    description: Option<String>,
    active: Option<bool>,
    delegations: Option<Vec<DelegationBody>>,
}

fn delegation(body: DelegationBody) -> ScmResult<(OrgId, Vec<castellan_model::CertificateType>)> {
    let org = body
        .org_id
        .ok_or_else(|| ScmError::bad_request("orgId is required but missing"))?;
    Ok((
        OrgId(org.0),
        parse_cert_types(&body.cert_types.unwrap_or_default())?,
    ))
}

pub(crate) async fn create(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    OriginalUri(uri): OriginalUri,
    Lenient(body): Lenient<DomainBody>,
) -> ScmResult<Response> {
    let name = body
        .name
        .ok_or_else(|| ScmError::bad_request("name is required but missing"))?;
    let delegations = body
        .delegations
        .unwrap_or_default()
        .into_iter()
        .map(delegation)
        .collect::<ScmResult<Vec<_>>>()?;
    let id = state
        .authority
        .create_domain(
            &actor,
            &name,
            body.description.as_deref().unwrap_or_default(),
            &delegations,
            body.active.unwrap_or(true),
        )
        .await
        .map_err(domain_error)?;
    Ok(created(&uri, id.0))
}

/// SCM's codes for domain refusals.
fn domain_error(e: castellan_ra::RaError) -> ScmError {
    use castellan_ra::RaError;
    match &e {
        RaError::Store(castellan_store::StoreError::Duplicate { .. }) => ScmError {
            status: StatusCode::BAD_REQUEST,
            code: -700,
            description: "Such domain already exists".into(),
        },
        RaError::InvalidInput {
            field: "delegations",
            reason,
        } if reason.starts_with("Please") => ScmError {
            status: StatusCode::BAD_REQUEST,
            code: -709,
            description: reason.clone(),
        },
        RaError::InvalidInput { field: "name", .. } => ScmError {
            status: StatusCode::BAD_REQUEST,
            code: -732,
            description: format!("Invalid domain name: {e}"),
        },
        RaError::Conflict(reason) if reason.contains("not awaiting approval") => ScmError {
            status: StatusCode::BAD_REQUEST,
            code: -705,
            description: reason.clone(),
        },
        RaError::NotFound {
            what: "domain",
            key,
        } => ScmError {
            status: StatusCode::NOT_FOUND,
            code: -727,
            description: format!("The domain {key} does not exist"),
        },
        _ => e.into(),
    }
}

pub(crate) async fn delete(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Path(id): Path<i64>,
) -> ScmResult<StatusCode> {
    state
        .authority
        .delete_domain(&actor, DomainId(id))
        .await
        .map_err(domain_error)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn set_active(
    state: AppState,
    actor: castellan_ra::Actor,
    id: i64,
    active: bool,
) -> ScmResult<StatusCode> {
    state
        .authority
        .set_domain_active(&actor, DomainId(id), active)
        .await
        .map_err(domain_error)?;
    Ok(StatusCode::OK)
}

pub(crate) async fn activate(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Path(id): Path<i64>,
) -> ScmResult<StatusCode> {
    set_active(state, actor, id, true).await
}

pub(crate) async fn suspend(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Path(id): Path<i64>,
) -> ScmResult<StatusCode> {
    set_active(state, actor, id, false).await
}

pub(crate) async fn delegate(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Path(id): Path<i64>,
    Lenient(body): Lenient<DelegationBody>,
) -> ScmResult<StatusCode> {
    let (org, types) = delegation(body)?;
    state
        .authority
        .add_delegation(&actor, DomainId(id), org, &types)
        .await
        .map_err(domain_error)?;
    Ok(StatusCode::OK)
}

pub(crate) async fn undelegate(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Path(id): Path<i64>,
    Lenient(body): Lenient<DelegationBody>,
) -> ScmResult<StatusCode> {
    let (org, types) = delegation(body)?;
    state
        .authority
        .remove_delegation(&actor, DomainId(id), org, &types)
        .await
        .map_err(domain_error)?;
    Ok(StatusCode::OK)
}

async fn decide(
    state: AppState,
    actor: castellan_ra::Actor,
    id: i64,
    body: DelegationBody,
    approve: bool,
) -> ScmResult<StatusCode> {
    let org = body
        .org_id
        .ok_or_else(|| ScmError::bad_request("orgId is required but missing"))?;
    state
        .authority
        .decide_delegation(&actor, DomainId(id), OrgId(org.0), approve)
        .await
        .map_err(domain_error)?;
    Ok(StatusCode::OK)
}

pub(crate) async fn approve(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Path(id): Path<i64>,
    Lenient(body): Lenient<DelegationBody>,
) -> ScmResult<StatusCode> {
    decide(state, actor, id, body, true).await
}

pub(crate) async fn reject(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Path(id): Path<i64>,
    Lenient(body): Lenient<DelegationBody>,
) -> ScmResult<StatusCode> {
    decide(state, actor, id, body, false).await
}

/// `POST /report/v1/domains` rows.
pub(crate) async fn report_rows(
    state: &AppState,
    actor: &castellan_ra::Actor,
) -> ScmResult<Vec<Value>> {
    let views = state.authority.domains(actor).await?;
    Ok(views
        .iter()
        .map(|v| {
            json!({
                "id": v.domain.id.0,
                "name": v.domain.name,
                "status": if v.domain.active { "Active" } else { "Suspended" },
                "requested": super::iso_time(v.domain.created_at),
                "dcvStatus": match v.status {
                    castellan_ra::domains::DcvStatus::Validated => "Validated",
                    castellan_ra::domains::DcvStatus::Expired => "Expired",
                    castellan_ra::domains::DcvStatus::NotValidated => "Action Required",
                },
                "stickyUntil": v.dcv.as_ref().and_then(|c| c.expires_at).map(day),
            })
        })
        .collect())
}
