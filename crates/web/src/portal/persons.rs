//! Guide 8.2.1: Certificates → Client Certificates. "If this is a client cert for a new
//! user … click on Add and fill out the form with the user's details … The 'common name'
//! field will usually be the user's full name." The persons the administrator's S/MIME
//! roles reach, a form to add one, and each person's page to change or delete them.

use super::page::{self, Chrome, Nav};
use super::scope::{self, Place};
use super::session::Portal;
use askama::Template;
use axum::Form;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use castellan_model::{OrgId, PersonId};
use castellan_ra::persons::{PersonFilter, PersonSpec, VALIDATION_TYPES};
use castellan_store::PersonData;
use serde::Deserialize;

/// The person form, as typed (kept when a refusal shows it again).
#[derive(Deserialize, Default, Clone)]
pub(crate) struct PersonForm {
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    middle_name: String,
    #[serde(default)]
    last_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    secondary_emails: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    common_name: String,
    #[serde(default)]
    eppn: String,
    #[serde(default)]
    upn: String,
    #[serde(default)]
    org_id: String,
    #[serde(default)]
    validation_type: String,
}

impl PersonForm {
    fn of(p: &PersonData) -> PersonForm {
        PersonForm {
            first_name: p.first_name.clone(),
            middle_name: p.middle_name.clone(),
            last_name: p.last_name.clone(),
            email: p.email.clone(),
            secondary_emails: p.secondary_emails.join(", "),
            phone: p.phone.clone(),
            common_name: p.common_name.clone(),
            eppn: p.eppn.clone(),
            upn: p.upn.clone(),
            org_id: p.org_id.0.to_string(),
            validation_type: p.validation_type.clone(),
        }
    }

    fn spec(&self) -> PersonSpec {
        PersonSpec {
            org_id: self.org_id.trim().parse().ok().map(OrgId),
            first_name: Some(self.first_name.clone()),
            middle_name: Some(self.middle_name.clone()),
            last_name: Some(self.last_name.clone()),
            email: Some(self.email.clone()),
            secondary_emails: Some(
                self.secondary_emails
                    .split([',', ' ', '\n'])
                    .map(str::trim)
                    .filter(|e| !e.is_empty())
                    .map(str::to_owned)
                    .collect(),
            ),
            phone: Some(self.phone.clone()),
            common_name: Some(self.common_name.clone()),
            eppn: Some(self.eppn.clone()),
            upn: Some(self.upn.clone()),
            validation_type: Some(self.validation_type.clone()),
        }
    }
}

struct Row {
    id: i64,
    name: String,
    email: String,
    place: String,
    validation_type: String,
}

#[derive(Template)]
#[template(path = "portal/persons.html")]
struct ListPage {
    chrome: Chrome,
    rows: Vec<Row>,
    places: Vec<Place>,
    types: [&'static str; 2],
    form: PersonForm,
    error: Option<String>,
}

async fn list_page(
    portal: &Portal,
    form: PersonForm,
    error: Option<(StatusCode, String)>,
) -> Response {
    let persons = match portal
        .authority()
        .persons(&portal.actor, &PersonFilter::default())
        .await
    {
        Ok(p) => p,
        Err(e) => return page::ra_error_page(&e),
    };
    let places = match scope::places(portal).await {
        Ok(p) => p,
        Err(response) => return response,
    };
    let rows = persons
        .iter()
        .map(|p| Row {
            id: p.id.0,
            name: [&p.data.first_name, &p.data.middle_name, &p.data.last_name]
                .iter()
                .filter(|s| !s.is_empty())
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            email: p.data.email.clone(),
            place: scope::label(&places, p.data.org_id),
            validation_type: p.data.validation_type.clone(),
        })
        .collect();
    let body = page::render(&ListPage {
        chrome: portal.chrome(Nav::Ssl, "Client Certificates"),
        rows,
        places,
        types: VALIDATION_TYPES,
        form,
        error: error.as_ref().map(|(_, m)| m.clone()),
    });
    portal.answer(body, error.map(|(status, _)| status))
}

/// `GET /customer/<uri>/client`: the persons, and the Add form.
pub(crate) async fn list(portal: Portal) -> Response {
    let form = PersonForm {
        validation_type: "STANDARD".into(),
        ..PersonForm::default()
    };
    list_page(&portal, form, None).await
}

/// `POST /customer/<uri>/client`: adds a person.
pub(crate) async fn create(portal: Portal, Form(form): Form<PersonForm>) -> Response {
    match portal
        .authority()
        .create_person(&portal.actor, form.spec())
        .await
    {
        Ok(id) => portal.redirect_with(
            &format!("/client/{}", id.0),
            &format!("Person {} added.", form.email.trim()),
        ),
        Err(e) => {
            let error = (page::ra_status(&e), page::ra_message(&e));
            list_page(&portal, form, Some(error)).await
        }
    }
}

#[derive(Template)]
#[template(path = "portal/person.html")]
struct PersonPage {
    chrome: Chrome,
    id: i64,
    places: Vec<Place>,
    types: [&'static str; 2],
    form: PersonForm,
    error: Option<String>,
    certificates: Vec<CertificateRow>,
    profiles: Vec<(i64, String)>,
    terms: Vec<u32>,
}

/// A row of a person's certificates.
struct CertificateRow {
    id: i64,
    profile: String,
    status: String,
    serial: String,
    expires: String,
    revocable: bool,
}

/// A person's client certificates, oldest first.
async fn certificate_rows(
    portal: &Portal,
    person: PersonId,
) -> Result<Vec<CertificateRow>, Response> {
    let filter = castellan_store::OrderFilter {
        person_id: Some(person),
        ..castellan_store::OrderFilter::default()
    };
    let (rows, _) = portal
        .authority()
        .client_certificate_rows(&portal.actor, filter, 0, 10_000)
        .await
        .map_err(|e| page::ra_error_page(&e))?;
    Ok(rows
        .into_iter()
        .map(|r| CertificateRow {
            id: r.summary.id.0,
            profile: r
                .profile_id
                .and_then(|p| portal.authority().profiles().iter().find(|x| x.id == p))
                .map(|p| p.name.clone())
                .unwrap_or_default(),
            status: r.summary.status.to_string(),
            serial: r.summary.serial.clone().unwrap_or_default(),
            expires: page::day(r.summary.not_after),
            revocable: r.summary.status == castellan_model::CertificateStatus::Issued,
        })
        .collect())
}

async fn person_page(
    portal: &Portal,
    id: i64,
    form: Option<PersonForm>,
    error: Option<(StatusCode, String)>,
) -> Response {
    let person = match portal.authority().person(&portal.actor, PersonId(id)).await {
        Ok(p) => p,
        Err(e) => return page::ra_error_page(&e),
    };
    let places = match scope::places(portal).await {
        Ok(p) => p,
        Err(response) => return response,
    };
    let certificates = match certificate_rows(portal, person.id).await {
        Ok(c) => c,
        Err(response) => return response,
    };
    let client_profiles: Vec<&castellan_pki::profile::Profile> = portal
        .authority()
        .profiles()
        .iter()
        .filter(|p| p.certificate_type == castellan_model::CertificateType::Smime)
        .collect();
    let mut terms: Vec<u32> = client_profiles
        .iter()
        .flat_map(|p| p.terms.iter().copied())
        .collect();
    terms.sort_unstable();
    terms.dedup();
    let body = page::render(&PersonPage {
        certificates,
        profiles: client_profiles
            .iter()
            .map(|p| (p.id.0, p.name.clone()))
            .collect(),
        terms,
        chrome: portal.chrome(Nav::Ssl, &person.data.email),
        id,
        places,
        types: VALIDATION_TYPES,
        // The e-mail is shown as stored: it never changes.
        form: form
            .map(|f| PersonForm {
                email: person.data.email.clone(),
                ..f
            })
            .unwrap_or_else(|| PersonForm::of(&person.data)),
        error: error.as_ref().map(|(_, m)| m.clone()),
    });
    portal.answer(body, error.map(|(status, _)| status))
}

/// `GET /customer/<uri>/client/<id>`.
pub(crate) async fn person(portal: Portal, Path((_, id)): Path<(String, i64)>) -> Response {
    person_page(&portal, id, None, None).await
}

/// `POST /customer/<uri>/client/<id>`: saves the changes (never the e-mail).
pub(crate) async fn update(
    portal: Portal,
    Path((_, id)): Path<(String, i64)>,
    Form(form): Form<PersonForm>,
) -> Response {
    match portal
        .authority()
        .update_person(&portal.actor, PersonId(id), form.spec())
        .await
    {
        Ok(()) => portal.redirect_with(&format!("/client/{id}"), "Person saved."),
        Err(e) => {
            let error = (page::ra_status(&e), page::ra_message(&e));
            person_page(&portal, id, Some(form), Some(error)).await
        }
    }
}

/// `POST /customer/<uri>/client/<id>/delete`.
pub(crate) async fn delete(portal: Portal, Path((_, id)): Path<(String, i64)>) -> Response {
    match portal
        .authority()
        .delete_person(&portal.actor, PersonId(id))
        .await
    {
        Ok(()) => portal.redirect_with("/client", &format!("Person {id} deleted.")),
        Err(e) => page::ra_error_page(&e),
    }
}

/// The Send Invitation form (guide 8.2.1: "choose the correct certificate type and period").
#[derive(Deserialize, Default)]
pub(crate) struct InviteForm {
    #[serde(default)]
    profile: String,
    #[serde(default)]
    term: String,
}

/// `POST /customer/<uri>/client/<id>/invite`: mails the person a one-time link.
pub(crate) async fn invite(
    portal: Portal,
    Path((_, id)): Path<(String, i64)>,
    Form(form): Form<InviteForm>,
) -> Response {
    let Ok(term_days) = form.term.trim().parse::<u32>() else {
        let message = format!("Term: '{}' is not a number of days.", form.term);
        return person_page(&portal, id, None, Some((StatusCode::BAD_REQUEST, message))).await;
    };
    let spec = castellan_ra::invitations::InvitationSpec {
        person: PersonId(id),
        profile: form.profile,
        term_days,
    };
    match portal
        .authority()
        .send_invitation(&portal.actor, spec)
        .await
    {
        Ok(sent) => portal.redirect_with(
            &format!("/client/{id}"),
            &format!(
                "Invitation sent to {}; the link works once, until {} (UTC).",
                sent.email,
                page::when(Some(sent.expires_at))
            ),
        ),
        Err(e) => {
            let error = (page::ra_status(&e), page::ra_message(&e));
            person_page(&portal, id, None, Some(error)).await
        }
    }
}

/// The revoke form on a person's page (guide 8.3).
#[derive(Deserialize, Default)]
pub(crate) struct RevokeForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    reason_code: Option<i64>,
}

/// `POST /customer/<uri>/client/<id>/revoke/<order>`.
pub(crate) async fn revoke(
    portal: Portal,
    Path((_, id, order)): Path<(String, i64, i64)>,
    Form(form): Form<RevokeForm>,
) -> Response {
    match portal
        .authority()
        .revoke_client_certificate(
            &portal.actor,
            castellan_model::RequestId(order),
            form.reason_code.unwrap_or(0),
            &form.reason,
        )
        .await
    {
        Ok(()) => portal.redirect_with(
            &format!("/client/{id}"),
            &format!("Client certificate {order} revoked."),
        ),
        Err(e) => {
            let error = (page::ra_status(&e), page::ra_message(&e));
            person_page(&portal, id, None, Some(error)).await
        }
    }
}
