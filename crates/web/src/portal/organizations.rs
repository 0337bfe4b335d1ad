//! Guide 5.1.1: "Browse to Organisations, select your organisation, and click the
//! Departments button … you can add/edit/delete departments within your organisation."
//! The organisation's own details are shown read-only: its name and address are what
//! certificates carry, and changing them sends it back to validation (the operator's job).

use super::page::{self, Chrome, Nav};
use super::session::Portal;
use askama::Template;
use axum::Form;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use castellan_model::{CertificateType, OrgId};
use castellan_ra::organizations::OrganizationPatch;
use castellan_store::OrganizationRecord;
use serde::Deserialize;

/// An organisation as the list shows it.
struct OrgRow {
    id: i64,
    name: String,
    validation: &'static str,
    address: String,
    departments: usize,
}

#[derive(Template)]
#[template(path = "portal/organizations.html")]
struct ListPage {
    chrome: Chrome,
    organizations: Vec<OrgRow>,
}

fn address(record: &OrganizationRecord) -> String {
    let d = &record.data;
    [
        d.address1.as_str(),
        d.address2.as_str(),
        d.address3.as_str(),
        d.city.as_str(),
        d.state_or_province.as_str(),
        d.postal_code.as_str(),
        d.country.as_str(),
    ]
    .iter()
    .filter(|s| !s.is_empty())
    .copied()
    .collect::<Vec<_>>()
    .join(", ")
}

/// `GET /customer/<uri>/organizations`.
pub(crate) async fn list(portal: Portal) -> Response {
    let views = match portal.authority().organizations(&portal.actor).await {
        Ok(v) => v,
        Err(e) => return page::ra_error_page(&e),
    };
    let organizations = views
        .iter()
        .map(|v| OrgRow {
            id: v.organization.id.0,
            name: v.organization.data.name.clone(),
            validation: if v.organization.data.validated {
                "Validated"
            } else {
                "Pending"
            },
            address: address(&v.organization),
            departments: v.departments.len(),
        })
        .collect();
    portal.page(page::render(&ListPage {
        chrome: portal.chrome(Nav::Organizations, "Organizations"),
        organizations,
    }))
}

/// The department form's fields, as typed (kept when a refusal shows the form again).
#[derive(Deserialize, Default, Clone)]
pub(crate) struct DepartmentForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    contact_emails: String,
    #[serde(default)]
    ssl: Option<String>,
    #[serde(default)]
    smime: Option<String>,
    #[serde(default)]
    codesign: Option<String>,
}

impl DepartmentForm {
    fn of(record: &OrganizationRecord) -> DepartmentForm {
        let has = |t| record.data.cert_types.contains(&t).then(|| "on".to_owned());
        DepartmentForm {
            name: record.data.name.clone(),
            contact_emails: record.data.contact_emails.clone(),
            ssl: has(CertificateType::Ssl),
            smime: has(CertificateType::Smime),
            codesign: has(CertificateType::CodeSign),
        }
    }

    fn patch(&self) -> OrganizationPatch {
        let mut cert_types = Vec::new();
        for (on, t) in [
            (&self.ssl, CertificateType::Ssl),
            (&self.smime, CertificateType::Smime),
            (&self.codesign, CertificateType::CodeSign),
        ] {
            if on.is_some() {
                cert_types.push(t);
            }
        }
        OrganizationPatch {
            name: Some(self.name.trim().to_owned()),
            contact_emails: Some(self.contact_emails.trim().to_owned()),
            cert_types: Some(cert_types),
            ..OrganizationPatch::default()
        }
    }
}

/// A department in the list.
struct DeptRow {
    id: i64,
    name: String,
    types: String,
}

#[derive(Template)]
#[template(path = "portal/departments.html")]
struct DepartmentsPage {
    chrome: Chrome,
    org_id: i64,
    org_name: String,
    departments: Vec<DeptRow>,
    form: DepartmentForm,
    error: Option<String>,
}

fn type_list(record: &OrganizationRecord) -> String {
    record
        .data
        .cert_types
        .iter()
        .map(|t| match t {
            CertificateType::Ssl => "SSL",
            CertificateType::Smime => "Client",
            CertificateType::CodeSign => "Code Signing",
        })
        .collect::<Vec<_>>()
        .join(", ")
}

async fn departments_page(
    portal: &Portal,
    org: OrgId,
    form: DepartmentForm,
    error: Option<(StatusCode, String)>,
) -> Response {
    let view = match portal.authority().organization(&portal.actor, org).await {
        Ok(v) => v,
        Err(e) => return page::ra_error_page(&e),
    };
    if view.organization.parent_id.is_some() {
        return page::error_page(
            StatusCode::NOT_FOUND,
            &format!(
                "{} is a department; departments belong to an organization.",
                view.organization.data.name
            ),
            "Open Organizations and choose the organization.",
        );
    }
    let departments = view
        .departments
        .iter()
        .map(|d| DeptRow {
            id: d.id.0,
            name: d.data.name.clone(),
            types: type_list(d),
        })
        .collect();
    let status = error.as_ref().map_or(StatusCode::OK, |(s, _)| *s);
    let body = page::render(&DepartmentsPage {
        chrome: portal.chrome(
            Nav::Organizations,
            &format!("Departments of {}", view.organization.data.name),
        ),
        org_id: org.0,
        org_name: view.organization.data.name.clone(),
        departments,
        form,
        error: error.map(|(_, m)| m),
    });
    if status == StatusCode::OK {
        portal.page(body)
    } else {
        page::html(status, body)
    }
}

/// `GET /customer/<uri>/organizations/<id>/departments`.
pub(crate) async fn departments(portal: Portal, Path((_, id)): Path<(String, i64)>) -> Response {
    let form = DepartmentForm {
        ssl: Some("on".into()),
        smime: Some("on".into()),
        codesign: Some("on".into()),
        ..DepartmentForm::default()
    };
    departments_page(&portal, OrgId(id), form, None).await
}

/// `POST /customer/<uri>/organizations/<id>/departments`: adds a department.
pub(crate) async fn add_department(
    portal: Portal,
    Path((_, id)): Path<(String, i64)>,
    Form(form): Form<DepartmentForm>,
) -> Response {
    match portal
        .authority()
        .create_department(&portal.actor, OrgId(id), form.patch())
        .await
    {
        Ok(_) => portal.redirect_with(
            &format!("/organizations/{id}/departments"),
            &format!("Department '{}' added.", form.name.trim()),
        ),
        Err(e) => {
            let error = (page::ra_status(&e), page::ra_message(&e));
            departments_page(&portal, OrgId(id), form, Some(error)).await
        }
    }
}

#[derive(Template)]
#[template(path = "portal/department.html")]
struct DepartmentPage {
    chrome: Chrome,
    org_id: i64,
    org_name: String,
    dept_id: i64,
    form: DepartmentForm,
    error: Option<String>,
}

/// The department `dept` of organisation `org`, as the actor sees it.
async fn department_of(
    portal: &Portal,
    org: i64,
    dept: i64,
) -> Result<(String, OrganizationRecord), Response> {
    let view = portal
        .authority()
        .organization(&portal.actor, OrgId(org))
        .await
        .map_err(|e| page::ra_error_page(&e))?;
    let record = view
        .departments
        .into_iter()
        .find(|d| d.id.0 == dept)
        .ok_or_else(|| {
            page::error_page(
                StatusCode::NOT_FOUND,
                &format!(
                    "{} has no department {dept} that you can see.",
                    view.organization.data.name
                ),
                "Open the organization's departments and choose one from the list.",
            )
        })?;
    Ok((view.organization.data.name, record))
}

fn department_page(
    portal: &Portal,
    org: i64,
    org_name: String,
    dept: i64,
    form: DepartmentForm,
    error: Option<(StatusCode, String)>,
) -> Response {
    let status = error.as_ref().map_or(StatusCode::OK, |(s, _)| *s);
    let body = page::render(&DepartmentPage {
        chrome: portal.chrome(Nav::Organizations, &format!("Edit {}", form.name)),
        org_id: org,
        org_name,
        dept_id: dept,
        form,
        error: error.map(|(_, m)| m),
    });
    if status == StatusCode::OK {
        portal.page(body)
    } else {
        page::html(status, body)
    }
}

/// `GET /customer/<uri>/organizations/<id>/departments/<dept>`: the edit form.
pub(crate) async fn department_form(
    portal: Portal,
    Path((_, org, dept)): Path<(String, i64, i64)>,
) -> Response {
    match department_of(&portal, org, dept).await {
        Ok((org_name, record)) => department_page(
            &portal,
            org,
            org_name,
            dept,
            DepartmentForm::of(&record),
            None,
        ),
        Err(response) => response,
    }
}

/// `POST /customer/<uri>/organizations/<id>/departments/<dept>`: saves the edit form.
pub(crate) async fn update_department(
    portal: Portal,
    Path((_, org, dept)): Path<(String, i64, i64)>,
    Form(form): Form<DepartmentForm>,
) -> Response {
    let org_name = match department_of(&portal, org, dept).await {
        Ok((name, _)) => name,
        Err(response) => return response,
    };
    match portal
        .authority()
        .update_organization(&portal.actor, OrgId(dept), form.patch())
        .await
    {
        Ok(record) => portal.redirect_with(
            &format!("/organizations/{org}/departments"),
            &format!("Department '{}' saved.", record.data.name),
        ),
        Err(e) => {
            let error = (page::ra_status(&e), page::ra_message(&e));
            department_page(&portal, org, org_name, dept, form, Some(error))
        }
    }
}

/// `POST /customer/<uri>/organizations/<id>/departments/<dept>/delete`.
pub(crate) async fn delete_department(
    portal: Portal,
    Path((_, org, dept)): Path<(String, i64, i64)>,
) -> Response {
    let record = match department_of(&portal, org, dept).await {
        Ok((_, record)) => record,
        Err(response) => return response,
    };
    match portal
        .authority()
        .delete_organization(&portal.actor, OrgId(dept))
        .await
    {
        Ok(()) => portal.redirect_with(
            &format!("/organizations/{org}/departments"),
            &format!("Department '{}' deleted.", record.data.name),
        ),
        Err(e) => page::ra_error_page(&e),
    }
}

/// The EV details form (MRAO only), as typed.
#[derive(Deserialize, Default, Clone)]
pub(crate) struct EvForm {
    #[serde(default)]
    validated: String,
    #[serde(default)]
    legal_name: String,
    #[serde(default)]
    business_category: String,
    #[serde(default)]
    jurisdiction_country: String,
    #[serde(default)]
    jurisdiction_state: String,
    #[serde(default)]
    jurisdiction_locality: String,
    #[serde(default)]
    registration_number: String,
    #[serde(default)]
    incorporation_date: String,
    #[serde(default)]
    assumed_name: String,
}

impl EvForm {
    fn of(record: &OrganizationRecord) -> EvForm {
        let ev = &record.data.ev;
        EvForm {
            validated: if record.data.validated {
                "Validated"
            } else {
                "Pending"
            }
            .into(),
            legal_name: ev.legal_name.clone(),
            business_category: ev.business_category.clone(),
            jurisdiction_country: ev.jurisdiction_country.clone(),
            jurisdiction_state: ev.jurisdiction_state.clone(),
            jurisdiction_locality: ev.jurisdiction_locality.clone(),
            registration_number: ev.registration_number.clone(),
            incorporation_date: ev.incorporation_date.clone(),
            assumed_name: ev.assumed_name.clone(),
        }
    }

    /// The fields as label and value, for the read-only view.
    fn rows(&self) -> Vec<(&'static str, String)> {
        vec![
            ("Legal name", self.legal_name.clone()),
            ("Business category", self.business_category.clone()),
            ("Jurisdiction country", self.jurisdiction_country.clone()),
            ("Jurisdiction state", self.jurisdiction_state.clone()),
            ("Jurisdiction locality", self.jurisdiction_locality.clone()),
            ("Registration number", self.registration_number.clone()),
            ("Incorporation date", self.incorporation_date.clone()),
            ("Assumed name", self.assumed_name.clone()),
        ]
    }
}

#[derive(Template)]
#[template(path = "portal/organization.html")]
struct OrganizationPage {
    chrome: Chrome,
    id: i64,
    name: String,
    address: String,
    contact_emails: String,
    types: String,
    departments: usize,
    editable: bool,
    ev: EvForm,
    ev_rows: Vec<(&'static str, String)>,
    error: Option<String>,
}

async fn organization_page(
    portal: &Portal,
    id: i64,
    form: Option<EvForm>,
    error: Option<(StatusCode, String)>,
) -> Response {
    let view = match portal
        .authority()
        .organization(&portal.actor, OrgId(id))
        .await
    {
        Ok(v) => v,
        Err(e) => return page::ra_error_page(&e),
    };
    let record = &view.organization;
    let ev = form.unwrap_or_else(|| EvForm::of(record));
    let body = page::render(&OrganizationPage {
        chrome: portal.chrome(Nav::Organizations, &record.data.name),
        id,
        name: record.data.name.clone(),
        address: address(record),
        contact_emails: record.data.contact_emails.clone(),
        types: type_list(record),
        departments: view.departments.len(),
        editable: portal.actor.is_mrao(),
        ev_rows: ev.rows(),
        ev,
        error: error.as_ref().map(|(_, m)| m.clone()),
    });
    portal.answer(body, error.map(|(status, _)| status))
}

/// `GET /customer/<uri>/organizations/<id>`: the organisation's details; validation status
/// and EV details are editable by the operator (MRAO) only.
pub(crate) async fn organization(portal: Portal, Path((_, id)): Path<(String, i64)>) -> Response {
    organization_page(&portal, id, None, None).await
}

/// `POST /customer/<uri>/organizations/<id>`: saves validation status and EV details.
pub(crate) async fn update_organization(
    portal: Portal,
    Path((_, id)): Path<(String, i64)>,
    Form(form): Form<EvForm>,
) -> Response {
    let patch = OrganizationPatch {
        validated: Some(form.validated == "Validated"),
        ev: Some(castellan_store::EvData {
            legal_name: form.legal_name.trim().to_owned(),
            business_category: form.business_category.trim().to_owned(),
            jurisdiction_country: form.jurisdiction_country.trim().to_owned(),
            jurisdiction_state: form.jurisdiction_state.trim().to_owned(),
            jurisdiction_locality: form.jurisdiction_locality.trim().to_owned(),
            registration_number: form.registration_number.trim().to_owned(),
            incorporation_date: form.incorporation_date.trim().to_owned(),
            assumed_name: form.assumed_name.trim().to_owned(),
        }),
        ..OrganizationPatch::default()
    };
    match portal
        .authority()
        .update_organization(&portal.actor, OrgId(id), patch)
        .await
    {
        Ok(record) => portal.redirect_with(
            &format!("/organizations/{id}"),
            &format!("Organization '{}' saved.", record.data.name),
        ),
        Err(e) => {
            let error = (page::ra_status(&e), page::ra_message(&e));
            organization_page(&portal, id, Some(form), Some(error)).await
        }
    }
}
