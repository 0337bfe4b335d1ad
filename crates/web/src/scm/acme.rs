//! `/acme/v1|v2/account` and `/acme/v1/server` (spec §11): ACME accounts with their External
//! Account Binding credentials and domains, for the python client's `ACMEAccount`.

use super::auth::ScmActor;
use super::body::{Lenient, LooseInt};
use super::created;
use super::error::{ScmError, ScmResult};
use crate::AppState;
use axum::Json;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use castellan_model::{AcmeAccountId, OrgId};
use castellan_ra::acme_accounts::AcmeAccountView;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;

fn account_json(view: &AcmeAccountView) -> Value {
    let a = &view.record;
    json!({
        "id": a.id.0,
        "name": a.account.name,
        "status": a.status,
        "macId": a.account.mac_id,
        "accountId": a.account.mac_id,
        // Shown until a client registers with it; then kept sealed and never returned.
        "macKey": view.mac_key.as_deref().map(String::as_str).unwrap_or_default(),
        "acmeServer": view.server.name,
        "acmeServerUrl": view.directory_url,
        "organizationId": a.account.org_id.0,
        "certValidationType": view.server.validation_type,
        "contacts": a.contacts,
        "evDetails": {},
        "domains": a.domains.iter().map(|d| json!({"name": d})).collect::<Vec<_>>(),
    })
}

/// `GET /acme/{v}/account`: the accounts in the caller's scope, filtered and paged.
pub(crate) async fn list(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Query(q): Query<HashMap<String, String>>,
) -> ScmResult<Response> {
    let given = |k: &str| q.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    // `organizationId=12,-2` means "this organisation only, without its departments".
    let (org, org_only) = match given("organizationId") {
        None => (None, false),
        Some(v) => {
            let (id, only) = match v.split_once(',') {
                Some((id, "-2")) => (id, true),
                Some(_) => {
                    return Err(ScmError::bad_request(format!(
                        "organizationId '{v}' is not a number, or a number followed by ,-2"
                    )));
                }
                None => (v, false),
            };
            let id = id.parse::<i64>().map_err(|_| {
                ScmError::bad_request(format!("organizationId '{v}' is not a number"))
            })?;
            (Some(OrgId(id)), only)
        }
    };
    let views: Vec<AcmeAccountView> = state
        .authority
        .acme_accounts(&actor, org, org_only)
        .await?
        .into_iter()
        .filter(|v| given("name").is_none_or(|n| v.record.account.name == n))
        .filter(|v| {
            given("acmeServer")
                .is_none_or(|s| v.server.name.eq_ignore_ascii_case(s) || v.directory_url == s)
        })
        .filter(|v| {
            given("certValidationType")
                .is_none_or(|t| v.server.validation_type.eq_ignore_ascii_case(t))
        })
        .filter(|v| given("status").is_none_or(|s| v.record.status.eq_ignore_ascii_case(s)))
        .collect();
    let (page, total) = super::page(&views, &q)?;
    let items: Vec<Value> = page.iter().map(account_json).collect();
    Ok(super::with_total(Json(items), total))
}

/// `GET /acme/{v}/account/{id}`.
pub(crate) async fn get(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Path((_, id)): Path<(String, i64)>,
) -> ScmResult<Json<Value>> {
    let view = state
        .authority
        .acme_account(&actor, AcmeAccountId(id))
        .await?;
    Ok(Json(account_json(&view)))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct AccountBody {
    name: Option<String>,
    acme_server: Option<String>,
    organization_id: Option<LooseInt>,
    ev_details: Option<Value>,
    cert_validation_type: Option<String>,
}

/// `POST /acme/{v}/account`: 201, `Location`, and the EAB credentials in the body (the
/// only time the MAC key is shown).
pub(crate) async fn create(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    OriginalUri(uri): OriginalUri,
    Lenient(body): Lenient<AccountBody>,
) -> ScmResult<Response> {
    let name = body
        .name
        .ok_or_else(|| ScmError::bad_request("name is required but missing"))?;
    let server = body
        .acme_server
        .ok_or_else(|| ScmError::bad_request("acmeServer is required but missing"))?;
    let org = body
        .organization_id
        .ok_or_else(|| ScmError::bad_request("organizationId is required but missing"))?;
    if body
        .ev_details
        .as_ref()
        .is_some_and(|v| v.as_object().is_some_and(|o| !o.is_empty()))
    {
        return Err(ScmError::bad_request(
            "evDetails are taken from the organisation's EV details (Organizations → Edit); \
             send {} or leave them out",
        ));
    }
    let (id, _credentials) = state
        .authority
        .create_acme_account(&actor, &name, &server, OrgId(org.0))
        .await?;
    let view = state.authority.acme_account(&actor, id).await?;
    if let Some(wanted) = body.cert_validation_type.as_deref()
        && !wanted.eq_ignore_ascii_case(&view.server.validation_type)
    {
        // Accepted as SCM does, but said: the server decides the validation type.
        tracing::info!(wanted, server = %view.server.name, "certValidationType follows the ACME server");
    }
    let mut response = created(&uri, id.0);
    let body = account_json(&view);
    *response.body_mut() = axum::body::Body::from(body.to_string());
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

/// `PUT /acme/{v}/account/{id}` with `{"name"}`.
pub(crate) async fn update(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Path((_, id)): Path<(String, i64)>,
    Lenient(body): Lenient<AccountBody>,
) -> ScmResult<Json<Value>> {
    let name = body
        .name
        .ok_or_else(|| ScmError::bad_request("name is required but missing"))?;
    state
        .authority
        .rename_acme_account(&actor, AcmeAccountId(id), &name)
        .await?;
    Ok(Json(json!({})))
}

/// `DELETE /acme/{v}/account/{id}`.
pub(crate) async fn delete(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Path((_, id)): Path<(String, i64)>,
) -> ScmResult<StatusCode> {
    state
        .authority
        .delete_acme_account(&actor, AcmeAccountId(id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct DomainName {
    name: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct DomainsBody {
    domains: Vec<DomainName>,
}

fn names(body: DomainsBody) -> ScmResult<Vec<String>> {
    if body.domains.is_empty() {
        return Err(ScmError::bad_request(
            "domains is required: [{\"name\": \"example.ac.uk\"}, ...]",
        ));
    }
    Ok(body.domains.into_iter().map(|d| d.name).collect())
}

/// `POST /acme/v1/account/{id}/domains` (v2: `/domain`): `{"notAddedDomains": [...]}`.
/// Why each was not added is logged for the administrator's support request.
pub(crate) async fn add_domains(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Path((_, id)): Path<(String, i64)>,
    Lenient(body): Lenient<DomainsBody>,
) -> ScmResult<Json<Value>> {
    let refused = state
        .authority
        .add_acme_domains(&actor, AcmeAccountId(id), &names(body)?)
        .await?;
    if refused.is_empty() {
        return Ok(Json(json!({})));
    }
    Ok(Json(json!({
        "notAddedDomains": refused.iter().map(|(n, _)| n).collect::<Vec<_>>(),
        "reasons": refused.iter().map(|(n, why)| json!({"name": n, "reason": why})).collect::<Vec<_>>(),
    })))
}

/// `DELETE /acme/{v}/account/{id}/domains` with a body: `{"notRemovedDomains": [...]}`.
pub(crate) async fn remove_domains(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Path((_, id)): Path<(String, i64)>,
    Lenient(body): Lenient<DomainsBody>,
) -> ScmResult<Json<Value>> {
    let missing = state
        .authority
        .remove_acme_domains(&actor, AcmeAccountId(id), &names(body)?)
        .await?;
    if missing.is_empty() {
        return Ok(Json(json!({})));
    }
    Ok(Json(json!({ "notRemovedDomains": missing })))
}

/// `GET /acme/v1/server`: the ACME servers, their directory URLs and profiles.
pub(crate) async fn servers(
    State(state): State<AppState>,
    ScmActor(_actor): ScmActor,
) -> Json<Value> {
    let authority = &state.authority;
    let profile_id = |name: &str| authority.profiles().find(name).map(|p| p.id.0);
    Json(Value::Array(
        authority
            .acme_servers()
            .iter()
            .map(|s| {
                json!({
                    "name": s.name,
                    "url": authority.acme_directory_url(s),
                    "certValidationType": s.validation_type,
                    "profiles": s.profiles,
                    "singleProductId": s.profiles.iter().find(|p| !p.contains("Multi") && !p.contains("Wildcard")).and_then(|p| profile_id(p)),
                    "multiProductId": s.profiles.iter().find(|p| p.contains("Multi")).and_then(|p| profile_id(p)),
                    "wcProductId": s.profiles.iter().find(|p| p.contains("Wildcard")).and_then(|p| profile_id(p)),
                })
            })
            .collect(),
    ))
}
