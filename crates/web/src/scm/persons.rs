//! `/person/v1` (spec §9): persons, for the python client's `Person` — create (201 with
//! `Location`), find by e-mail (`{"personId"}`, or 404 with code -105), get, a partial
//! update that never changes the e-mail, delete (200, as Sectigo answers), and a paged list.

use super::auth::ScmActor;
use super::body::{Lenient, LooseInt};
use super::created;
use super::error::{ScmError, ScmResult};
use crate::AppState;
use axum::Json;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use castellan_model::{AdminId, OrgId, PersonId};
use castellan_ra::RaError;
use castellan_ra::persons::{PersonFilter, PersonSpec};
use castellan_store::PersonRecord;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;

fn person_json(p: &PersonRecord, logins: &HashMap<AdminId, String>) -> Value {
    let d = &p.data;
    let login = |id: Option<AdminId>| id.and_then(|a| logins.get(&a).cloned()).unwrap_or_default();
    json!({
        "id": p.id.0,
        "firstName": d.first_name,
        "middleName": d.middle_name,
        "lastName": d.last_name,
        "email": d.email,
        "organizationId": d.org_id.0,
        "validationType": d.validation_type,
        "phone": d.phone,
        "secondaryEmails": d.secondary_emails,
        "commonName": d.common_name,
        "eppn": d.eppn,
        "upn": d.upn,
        "created": super::iso_time(p.created_at),
        "createdBy": login(p.created_by),
        "modified": super::iso_time(p.modified_at),
        "modifiedBy": login(p.modified_by),
    })
}

async fn logins(state: &AppState) -> ScmResult<HashMap<AdminId, String>> {
    Ok(state.authority.person_authors().await?)
}

/// SCM's "not found" for persons: 404 with code -105.
fn person_error(e: RaError) -> ScmError {
    match &e {
        RaError::NotFound {
            what: "person",
            key,
        } => ScmError {
            status: StatusCode::NOT_FOUND,
            code: -105,
            description: format!("Person with ID: {key} was not found"),
        },
        RaError::NotFound {
            what: "person with e-mail",
            key,
        } => ScmError {
            status: StatusCode::NOT_FOUND,
            code: -105,
            description: format!("Person with e-mail: {key} was not found"),
        },
        _ => e.into(),
    }
}

/// A person as a client sends it; unknown keys (the python client's stray e-mail key on
/// update) are ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct PersonBody {
    first_name: Option<String>,
    middle_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    validation_type: Option<String>,
    organization_id: Option<LooseInt>,
    phone: Option<String>,
    common_name: Option<String>,
    secondary_emails: Option<Vec<String>>,
    eppn: Option<String>,
    upn: Option<String>,
}

impl PersonBody {
    fn spec(self) -> PersonSpec {
        PersonSpec {
            org_id: self.organization_id.map(|o| OrgId(o.0)),
            first_name: self.first_name,
            middle_name: self.middle_name,
            last_name: self.last_name,
            email: self.email,
            secondary_emails: self.secondary_emails,
            phone: self.phone,
            common_name: self.common_name,
            eppn: self.eppn,
            upn: self.upn,
            validation_type: self.validation_type,
        }
    }
}

/// `GET /person/v1`: paged, filtered by `name`, `organizationId`, `email`, `commonName`,
/// `phone`, `secondaryEmail`.
pub(crate) async fn list(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Query(q): Query<HashMap<String, String>>,
) -> ScmResult<Response> {
    let given = |k: &str| {
        q.get(k)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let org_id = match given("organizationId") {
        None => None,
        Some(v) => Some(OrgId(v.parse().map_err(|_| {
            ScmError::bad_request(format!("organizationId '{v}' is not a number"))
        })?)),
    };
    let filter = PersonFilter {
        name: given("name"),
        org_id,
        email: given("email"),
        common_name: given("commonName"),
        phone: given("phone"),
        secondary_email: given("secondaryEmail"),
    };
    let persons = state.authority.persons(&actor, &filter).await?;
    let (page, total) = super::page(&persons, &q)?;
    let logins = logins(&state).await?;
    Ok(super::with_total(
        Json(
            page.iter()
                .map(|p| person_json(p, &logins))
                .collect::<Vec<_>>(),
        ),
        total,
    ))
}

/// `POST /person/v1`: 201 with `Location`.
pub(crate) async fn create(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    OriginalUri(uri): OriginalUri,
    Lenient(body): Lenient<PersonBody>,
) -> ScmResult<Response> {
    let id = state.authority.create_person(&actor, body.spec()).await?;
    Ok(created(&uri, id.0))
}

/// `GET /person/v1/id/byEmail/{email}`: `{"personId"}`.
pub(crate) async fn by_email(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Path(email): Path<String>,
) -> ScmResult<Json<Value>> {
    let person = state
        .authority
        .person_by_email(&actor, &email)
        .await
        .map_err(person_error)?;
    Ok(Json(json!({ "personId": person.id.0 })))
}

/// `GET /person/v1/{id}`.
pub(crate) async fn get(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Path(id): Path<i64>,
) -> ScmResult<Json<Value>> {
    let person = state
        .authority
        .person(&actor, PersonId(id))
        .await
        .map_err(person_error)?;
    Ok(Json(person_json(&person, &logins(&state).await?)))
}

/// `PUT /person/v1/{id}`: the fields given (null: unchanged); the e-mail never changes.
pub(crate) async fn update(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Path(id): Path<i64>,
    Lenient(body): Lenient<PersonBody>,
) -> ScmResult<Json<Value>> {
    state
        .authority
        .update_person(&actor, PersonId(id), body.spec())
        .await
        .map_err(person_error)?;
    Ok(Json(json!({})))
}

/// `DELETE /person/v1/{id}`: 200, as Sectigo answers.
pub(crate) async fn delete(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Path(id): Path<i64>,
) -> ScmResult<StatusCode> {
    state
        .authority
        .delete_person(&actor, PersonId(id))
        .await
        .map_err(person_error)?;
    Ok(StatusCode::OK)
}
