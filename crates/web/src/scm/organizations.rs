//! `/organization/v1` (spec §8): list with nested departments, get, create (organisations,
//! and departments with `parentId`), update, delete.

use super::auth::ScmActor;
use super::body::{Lenient, LooseInt};
use super::error::ScmResult;
use super::{created, parse_cert_types};
use crate::AppState;
use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use castellan_model::OrgId;
use castellan_ra::organizations::{OrganizationPatch, OrganizationView};
use castellan_store::{EvData, OrganizationRecord};
use serde::Deserialize;
use serde_json::{Value, json};

fn summary(record: &OrganizationRecord, parent_name: Option<&str>) -> Value {
    let mut v = json!({
        "id": record.id.0,
        "name": record.data.name,
        "certTypes": record.data.cert_types.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
    });
    if let Some(parent) = parent_name {
        v["parentName"] = json!(parent);
    }
    v
}

fn list_item(view: &OrganizationView) -> Value {
    let mut v = summary(&view.organization, None);
    v["departments"] = view
        .departments
        .iter()
        .map(|d| summary(d, Some(&view.organization.data.name)))
        .collect();
    v
}

fn details(view: &OrganizationView, parent: Option<&OrganizationRecord>) -> Value {
    let o = &view.organization.data;
    let mut v = list_item(view);
    let fields = json!({
        "alias": o.alias,
        "secondaryName": o.secondary_name,
        "contactEmails": o.contact_emails,
        "address1": o.address1, "address2": o.address2, "address3": o.address3,
        "city": o.city, "stateOrProvince": o.state_or_province,
        "postalCode": o.postal_code, "country": o.country,
        "organizationIdentifier": o.organization_identifier,
        "academicCode": o.academic_code,
        "validationStatus": if o.validated { "Validated" } else { "Pending" },
        "enabledProfiles": o.enabled_profiles,
        "evDetails": {
            "legalName": o.ev.legal_name, "businessCategory": o.ev.business_category,
            "jurisdictionCountry": o.ev.jurisdiction_country,
            "jurisdictionState": o.ev.jurisdiction_state,
            "jurisdictionLocality": o.ev.jurisdiction_locality,
            "registrationNumber": o.ev.registration_number,
            "incorporationDate": o.ev.incorporation_date,
            "assumedName": o.ev.assumed_name,
        },
    });
    if let (Value::Object(target), Value::Object(extra)) = (&mut v, fields) {
        target.extend(extra);
    }
    if let Some(p) = parent {
        v["parentId"] = json!(p.id.0);
        v["parentName"] = json!(p.data.name);
        v["validationStatus"] = json!(if p.data.validated {
            "Validated"
        } else {
            "Pending"
        });
    }
    v
}

/// EV details as sent by clients.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct EvBody {
    legal_name: Option<String>,
    business_category: Option<String>,
    jurisdiction_country: Option<String>,
    jurisdiction_state: Option<String>,
    jurisdiction_locality: Option<String>,
    registration_number: Option<String>,
    incorporation_date: Option<String>,
    assumed_name: Option<String>,
}

/// The body of create and update.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct OrganizationBody {
    name: Option<String>,
    parent_id: Option<LooseInt>,
    alias: Option<String>,
    secondary_name: Option<String>,
    address1: Option<String>,
    address2: Option<String>,
    address3: Option<String>,
    city: Option<String>,
    state_or_province: Option<String>,
    postal_code: Option<String>,
    country: Option<String>,
    organization_identifier: Option<String>,
    academic_code: Option<String>,
    contact_emails: Option<Value>,
    cert_types: Option<Vec<String>>,
    validation_status: Option<String>,
    ev_details: Option<EvBody>,
    enabled_profiles: Option<Vec<i64>>,
}

impl OrganizationBody {
    fn into_patch(self) -> ScmResult<OrganizationPatch> {
        let validated = match self.validation_status.as_deref() {
            None => None,
            Some(s) if s.eq_ignore_ascii_case("validated") => Some(true),
            Some(s) if s.eq_ignore_ascii_case("pending") => Some(false),
            Some(other) => {
                return Err(super::error::ScmError::bad_request(format!(
                    "validationStatus '{other}' is not one of Pending, Validated"
                )));
            }
        };
        let contact_emails = match self.contact_emails {
            None => None,
            Some(Value::String(s)) => Some(s),
            Some(Value::Array(items)) => Some(
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            Some(other) => {
                return Err(super::error::ScmError::bad_request(format!(
                    "contactEmails must be a comma-separated string, got {other}"
                )));
            }
        };
        Ok(OrganizationPatch {
            name: self.name,
            alias: self.alias,
            secondary_name: self.secondary_name,
            address1: self.address1,
            address2: self.address2,
            address3: self.address3,
            city: self.city,
            state_or_province: self.state_or_province,
            postal_code: self.postal_code,
            country: self.country,
            organization_identifier: self.organization_identifier,
            academic_code: self.academic_code,
            contact_emails,
            cert_types: self.cert_types.map(|t| parse_cert_types(&t)).transpose()?,
            enabled_profiles: self.enabled_profiles,
            validated,
            ev: self.ev_details.map(|e| EvData {
                legal_name: e.legal_name.unwrap_or_default(),
                business_category: e.business_category.unwrap_or_default(),
                jurisdiction_country: e.jurisdiction_country.unwrap_or_default(),
                jurisdiction_state: e.jurisdiction_state.unwrap_or_default(),
                jurisdiction_locality: e.jurisdiction_locality.unwrap_or_default(),
                registration_number: e.registration_number.unwrap_or_default(),
                incorporation_date: e.incorporation_date.unwrap_or_default(),
                assumed_name: e.assumed_name.unwrap_or_default(),
            }),
        })
    }
}

pub(crate) async fn list(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
) -> ScmResult<Response> {
    let views = state.authority.organizations(&actor).await?;
    let items: Vec<Value> = views.iter().map(list_item).collect();
    let total = items.len();
    Ok(super::with_total(Json(items), total))
}

pub(crate) async fn get(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Path(id): Path<i64>,
) -> ScmResult<Json<Value>> {
    let view = state.authority.organization(&actor, OrgId(id)).await?;
    let parent = match view.organization.parent_id {
        Some(p) => state.authority.store().organization(p).await.ok().flatten(),
        None => None,
    };
    Ok(Json(details(&view, parent.as_ref())))
}

pub(crate) async fn create(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    OriginalUri(uri): OriginalUri,
    Lenient(body): Lenient<OrganizationBody>,
) -> ScmResult<Response> {
    let parent = body.parent_id.filter(|p| p.0 > 0).map(|p| OrgId(p.0));
    let patch = body.into_patch()?;
    let id = match parent {
        Some(parent) => {
            state
                .authority
                .create_department(&actor, parent, patch)
                .await?
        }
        None => state.authority.create_organization(&actor, patch).await?,
    };
    Ok(created(&uri, id.0))
}

pub(crate) async fn update(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Path(id): Path<i64>,
    Lenient(body): Lenient<OrganizationBody>,
) -> ScmResult<StatusCode> {
    let patch = body.into_patch()?;
    state
        .authority
        .update_organization(&actor, OrgId(id), patch)
        .await?;
    Ok(StatusCode::OK)
}

pub(crate) async fn delete(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Path(id): Path<i64>,
) -> ScmResult<impl IntoResponse> {
    state
        .authority
        .delete_organization(&actor, OrgId(id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
