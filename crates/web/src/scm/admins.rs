//! `/admin/v1` (spec §10): list, get, create (201 + Location), update, delete (204),
//! `idp`, `roles`, `privileges`, `changepassword`, and Castellan's `approve` and
//! `idpinvitation` for the guide's 4.1.2 and 3.1.3.

use super::auth::{ScmActor, ScmActorMayChangePassword};
use super::body::{Lenient, LooseInt};
use super::error::{ScmError, ScmResult};
use super::{created, iso_time};
use crate::AppState;
use axum::Json;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use castellan_model::{AdminId, AdminRole, AdminType, Credential, OrgId, Privilege};
use castellan_ra::admins::{AdministratorPatch, NewAdministrator};
use castellan_ra::signin::{LOCKOUT_SECONDS, MAX_FAILED_SIGN_INS};
use castellan_store::AdminRecord;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use zeroize::Zeroizing;

fn list_item(a: &AdminRecord) -> Value {
    json!({
        "id": a.id.0,
        "type": a.data.admin_type.as_str(),
        "login": a.data.login,
        "forename": a.data.forename,
        "surname": a.data.surname,
        "email": a.data.email,
    })
}

fn details(a: &AdminRecord, now: i64) -> Value {
    let d = &a.data;
    let locked = a.failed_attempts >= MAX_FAILED_SIGN_INS
        && a.failed_at.is_some_and(|t| t + LOCKOUT_SECONDS > now);
    json!({
        "id": a.id.0,
        "type": d.admin_type.as_str(),
        "login": d.login,
        "forename": d.forename,
        "surname": d.surname,
        "email": d.email,
        "title": d.title,
        "phone": d.telephone,
        "relationship": d.relationship,
        "status": "Active",
        "activeStatus": if d.active { "ACTIVE" } else { "SUSPENDED" },
        "approvalStatus": if d.approved { "APPROVED" } else { "PENDING" },
        "credentials": d.credentials.iter()
            .map(|c| json!({"role": c.role.as_str(), "orgId": c.scope.0}))
            .collect::<Vec<_>>(),
        "privileges": d.privileges.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
        "failedAttempts": a.failed_attempts,
        "failedDate": a.failed_at.map(iso_time),
        "locked": locked,
        "reseted": d.must_change_password,
        "passwordState": "NEVER_EXPIRE",
        "lastPasswordChange": a.password_changed_at.map(iso_time),
        "authCert": d.auth_cert_serial,
        "idpPersonId": d.idp_person_id,
        "created": iso_time(a.created_at),
        "modified": iso_time(a.updated_at),
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct CredentialBody {
    role: Option<String>,
    org_id: Option<LooseInt>,
}

/// The body of create and update (the python client's and Sectigo's field names).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct AdminBody {
    login: Option<String>,
    email: Option<String>,
    forename: Option<String>,
    surname: Option<String>,
    title: Option<String>,
    telephone: Option<String>,
    phone: Option<String>,
    relationship: Option<String>,
    password: Option<String>,
    #[serde(rename = "type")]
    admin_type: Option<String>,
    credentials: Option<Vec<CredentialBody>>,
    privileges: Option<Vec<String>>,
    certificate_serial_number: Option<String>,
    idp_person_id: Option<String>,
    active_status: Option<String>,
}

fn parse_credentials(items: Vec<CredentialBody>) -> ScmResult<Vec<Credential>> {
    items
        .into_iter()
        .map(|c| {
            let role_name = c.role.unwrap_or_default();
            let role = AdminRole::parse(&role_name).ok_or_else(|| {
                ScmError::bad_request(format!(
                    "credentials: unknown role '{role_name}'; the roles are {}",
                    AdminRole::ALL.map(|r| r.as_str()).join(", ")
                ))
            })?;
            let scope = match (role, c.org_id) {
                (_, Some(LooseInt(id))) => OrgId(id),
                (AdminRole::Mrao, None) => OrgId(0),
                (_, None) => {
                    return Err(ScmError::bad_request(format!(
                        "credentials: {role} needs an orgId"
                    )));
                }
            };
            Ok(Credential { role, scope })
        })
        .collect()
}

fn parse_privileges(items: Vec<String>) -> ScmResult<Vec<Privilege>> {
    items
        .iter()
        .map(|p| {
            Privilege::parse(p).ok_or_else(|| {
                ScmError::bad_request(format!(
                    "privileges: unknown privilege '{p}'; see GET /api/admin/v1/privileges"
                ))
            })
        })
        .collect()
}

fn parse_active(status: Option<String>) -> ScmResult<Option<bool>> {
    match status.as_deref().map(str::to_ascii_uppercase).as_deref() {
        None => Ok(None),
        Some("ACTIVE") => Ok(Some(true)),
        Some("SUSPENDED") => Ok(Some(false)),
        Some(other) => Err(ScmError::bad_request(format!(
            "activeStatus '{other}' is not one of ACTIVE, SUSPENDED"
        ))),
    }
}

pub(crate) async fn list(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Query(query): Query<HashMap<String, String>>,
) -> ScmResult<Response> {
    let admins = state.authority.admins(&actor).await?;
    let matches = |a: &&AdminRecord| {
        query.get("login").is_none_or(|l| a.data.login == *l)
            && query
                .get("email")
                .is_none_or(|e| a.data.email.eq_ignore_ascii_case(e))
            && query
                .get("type")
                .is_none_or(|t| a.data.admin_type.as_str().eq_ignore_ascii_case(t))
            && query.get("orgId").is_none_or(|o| {
                a.data
                    .credentials
                    .iter()
                    .any(|c| c.scope.0.to_string() == *o)
            })
            && query.get("role").is_none_or(|r| {
                a.data
                    .credentials
                    .iter()
                    .any(|c| c.role.as_str().eq_ignore_ascii_case(r))
            })
    };
    let filtered: Vec<&AdminRecord> = admins.iter().filter(matches).collect();
    let (items, total) = super::page(&filtered, &query)?;
    Ok(super::with_total(
        Json(items.iter().map(|a| list_item(a)).collect::<Vec<_>>()),
        total,
    ))
}

pub(crate) async fn get(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Path(id): Path<i64>,
) -> ScmResult<Json<Value>> {
    let admin = state.authority.admin(&actor, AdminId(id)).await?;
    Ok(Json(details(&admin, now())))
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

pub(crate) async fn create(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    OriginalUri(uri): OriginalUri,
    Lenient(body): Lenient<AdminBody>,
) -> ScmResult<Response> {
    let admin_type = match body.admin_type.as_deref() {
        None | Some("") => None,
        Some(t) => Some(AdminType::parse(t).ok_or_else(|| {
            ScmError::bad_request(format!("type '{t}' is not one of STANDARD, IDP, API"))
        })?),
    };
    let new = NewAdministrator {
        login: body
            .login
            .ok_or_else(|| ScmError::bad_request("login is required but missing"))?,
        email: body
            .email
            .ok_or_else(|| ScmError::bad_request("email is required but missing"))?,
        forename: body.forename.unwrap_or_default(),
        surname: body.surname.unwrap_or_default(),
        title: body.title.unwrap_or_default(),
        telephone: body.telephone.or(body.phone).unwrap_or_default(),
        relationship: body.relationship.unwrap_or_default(),
        admin_type,
        password: body.password.map(Zeroizing::new),
        credentials: parse_credentials(body.credentials.unwrap_or_default())?,
        privileges: parse_privileges(body.privileges.unwrap_or_default())?,
        auth_cert_serial: body.certificate_serial_number,
        idp_person_id: body.idp_person_id,
        active: parse_active(body.active_status)?,
    };
    let id = state.authority.create_admin(&actor, new).await?;
    Ok(created(&uri, id.0))
}

pub(crate) async fn update(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Path(id): Path<i64>,
    Lenient(body): Lenient<AdminBody>,
) -> ScmResult<StatusCode> {
    let patch = AdministratorPatch {
        login: body.login,
        email: body.email,
        forename: body.forename,
        surname: body.surname,
        title: body.title,
        telephone: body.telephone.or(body.phone),
        relationship: body.relationship,
        password: body.password.filter(|p| !p.is_empty()).map(Zeroizing::new),
        credentials: body.credentials.map(parse_credentials).transpose()?,
        privileges: body.privileges.map(parse_privileges).transpose()?,
        auth_cert_serial: body.certificate_serial_number,
        active: parse_active(body.active_status)?,
    };
    state
        .authority
        .update_admin(&actor, AdminId(id), patch)
        .await?;
    Ok(StatusCode::OK)
}

pub(crate) async fn delete(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Path(id): Path<i64>,
) -> ScmResult<StatusCode> {
    state.authority.delete_admin(&actor, AdminId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn idps(ScmActor(_actor): ScmActor) -> Json<Vec<Value>> {
    // Identity providers arrive with SAML sign-in; none are configured yet.
    Json(Vec::new())
}

pub(crate) async fn roles(ScmActor(_actor): ScmActor) -> Json<Vec<&'static str>> {
    Json(AdminRole::ALL.map(|r| r.as_str()).to_vec())
}

pub(crate) async fn privileges(ScmActor(_actor): ScmActor) -> Json<Vec<Value>> {
    Json(
        Privilege::ALL
            .iter()
            .map(|p| json!({"name": p.as_str(), "description": p.description()}))
            .collect(),
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct ChangePasswordBody {
    new_password: Option<String>,
}

pub(crate) async fn change_password(
    State(state): State<AppState>,
    ScmActorMayChangePassword(actor): ScmActorMayChangePassword,
    Lenient(body): Lenient<ChangePasswordBody>,
) -> ScmResult<StatusCode> {
    let new_password = Zeroizing::new(
        body.new_password
            .ok_or_else(|| ScmError::bad_request("newPassword is required but missing"))?,
    );
    state
        .authority
        .change_own_password(&actor, &new_password)
        .await?;
    Ok(StatusCode::OK)
}

pub(crate) async fn password_state(
    State(state): State<AppState>,
    ScmActorMayChangePassword(actor): ScmActorMayChangePassword,
) -> ScmResult<Json<Value>> {
    let id = actor.admin_id.ok_or_else(ScmError::unknown_user)?;
    let admin = state.authority.admin(&actor, id).await?;
    Ok(Json(json!({
        "state": if admin.data.must_change_password { "EXPIRED" } else { "NEVER_EXPIRE" },
        "lastPasswordChange": admin.password_changed_at.map(iso_time),
    })))
}

pub(crate) async fn approve(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Path(id): Path<i64>,
) -> ScmResult<StatusCode> {
    state
        .authority
        .approve_idp_admin(&actor, AdminId(id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn idp_invitation(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Path(id): Path<i64>,
) -> ScmResult<Json<Value>> {
    // The link goes to the invited administrator's own mailbox, never back to the caller:
    // whoever follows it links their federated identity to the account.
    let _token = state
        .authority
        .send_idp_invitation(&actor, AdminId(id))
        .await?;
    let admin = state.authority.admin(&actor, AdminId(id)).await?;
    Ok(Json(json!({
        "invited": admin.data.email,
        "expiresInDays": castellan_ra::admins::INVITATION_DAYS,
    })))
}
