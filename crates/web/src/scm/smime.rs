//! `/smime/{v1|v2}` (spec §3): client certificates, as the python client's `SMIME` class
//! and other SCM tools use them. Every handler ends in `ra::client_certificates`; the
//! order's id is both SCM's `orderNumber` and its `backendCertId`.

use super::auth::ScmActor;
use super::body::{Lenient, LooseInt};
use super::error::{ScmError, ScmResult};
use super::ssl::{
    attachment, collect_format, colon_hex, day, order_error, paging, profile_json, revoke_error,
    serial_filter,
};
use crate::AppState;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use castellan_model::{CertificateStatus, CertificateType, OrgId, PersonId, RequestId};
use castellan_ra::CertificateSelector;
use castellan_ra::client_certificates::{ClientKey, ClientOrder, ClientOutcome, ClientRow};
use castellan_ra::persons::PersonSpec;
use castellan_store::{OrderFilter, OrderRecord};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;

/// `GET /smime/{v}/types`: the client certificate profiles (Personal, the IGTF ones).
pub(crate) async fn types(
    State(state): State<AppState>,
    ScmActor(_actor): ScmActor,
) -> Json<Vec<Value>> {
    Json(super::ssl::profile_types(&state, CertificateType::Smime))
}

/// `GET /smime/{v}/customFields`: client certificate orders carry no custom fields here.
pub(crate) async fn custom_fields(ScmActor(_actor): ScmActor) -> Json<Vec<Value>> {
    Json(Vec::new())
}

/// SCM's lower-case `state` of a client certificate (spec §5.2).
fn state_of(status: CertificateStatus) -> &'static str {
    match status {
        CertificateStatus::Requested | CertificateStatus::Approved | CertificateStatus::Applied => {
            "requested"
        }
        CertificateStatus::Issued => "issued",
        CertificateStatus::Revoked => "revoked",
        CertificateStatus::Expired | CertificateStatus::Replaced => "expired",
        CertificateStatus::Declined | CertificateStatus::Rejected | CertificateStatus::Invalid => {
            "rejected"
        }
        _ => "created",
    }
}

/// The statuses a `state` filter names.
fn statuses_of(state: &str) -> ScmResult<Vec<CertificateStatus>> {
    let all = [
        CertificateStatus::Requested,
        CertificateStatus::Approved,
        CertificateStatus::Applied,
        CertificateStatus::Issued,
        CertificateStatus::Revoked,
        CertificateStatus::Expired,
        CertificateStatus::Replaced,
        CertificateStatus::Declined,
        CertificateStatus::Rejected,
        CertificateStatus::Invalid,
    ];
    let wanted = state.trim().to_ascii_lowercase();
    let matching: Vec<CertificateStatus> =
        all.into_iter().filter(|s| state_of(*s) == wanted).collect();
    if matching.is_empty() {
        return Err(ScmError::bad_request(format!(
            "state '{state}' is not a client certificate state; use requested, issued, \
             revoked, expired or rejected"
        )));
    }
    Ok(matching)
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct EnrollBody {
    org_id: Option<LooseInt>,
    csr: Option<String>,
    cert_type: Option<LooseInt>,
    term: Option<LooseInt>,
    email: Option<String>,
    phone: Option<String>,
    secondary_emails: Option<Vec<String>>,
    first_name: Option<String>,
    middle_name: Option<String>,
    last_name: Option<String>,
    common_name: Option<String>,
    eppn: Option<String>,
    upn: Option<String>,
    comments: Option<String>,
}

/// The answer to enroll and renew: the new order's identifiers.
fn order_numbers(outcome: &ClientOutcome) -> Json<Value> {
    Json(json!({
        "orderNumber": outcome.id.0,
        "backendCertId": outcome.id.0.to_string(),
    }))
}

/// `POST /smime/{v}/enroll`: the person is found by e-mail or added; the certificate is
/// issued at once.
pub(crate) async fn enroll(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Lenient(body): Lenient<EnrollBody>,
) -> ScmResult<Json<Value>> {
    let missing = |f: &str| ScmError {
        status: StatusCode::BAD_REQUEST,
        code: -7,
        description: format!("{f} is required but missing"),
    };
    let comments = body.comments.unwrap_or_default();
    if comments.chars().count() > 1024 {
        return Err(ScmError::bad_request("comments: at most 1024 characters"));
    }
    let order = ClientOrder {
        org_id: OrgId(body.org_id.ok_or_else(|| missing("orgId"))?.0),
        profile: body
            .cert_type
            .ok_or_else(|| missing("certType"))?
            .0
            .to_string(),
        term_days: u32::try_from(body.term.ok_or_else(|| missing("term"))?.0)
            .map_err(|_| ScmError::bad_request("term must be a positive number of days"))?,
        person: PersonSpec {
            email: Some(body.email.ok_or_else(|| missing("email"))?),
            first_name: body.first_name,
            middle_name: body.middle_name,
            last_name: body.last_name,
            phone: body.phone,
            secondary_emails: body.secondary_emails,
            common_name: body.common_name,
            eppn: body.eppn,
            upn: body.upn,
            ..PersonSpec::default()
        },
        key: ClientKey::Csr(body.csr.ok_or_else(|| missing("csr"))?.into_bytes()),
        comments,
    };
    let outcome = state
        .authority
        .enroll_client_certificate(&actor, order)
        .await
        .map_err(order_error)?;
    Ok(order_numbers(&outcome))
}

/// `GET /smime/{v}/collect/{backendCertId}[?format=]`: PKCS#7 (`base64`) unless asked.
pub(crate) async fn collect(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Path(id): Path<i64>,
    Query(q): Query<HashMap<String, String>>,
) -> ScmResult<Response> {
    let format = collect_format(q.get("format").map(String::as_str).unwrap_or("base64"))?;
    let order = state
        .authority
        .client_certificate(&actor, RequestId(id))
        .await
        .map_err(order_error)?;
    let status = order.request.request.status;
    if status == CertificateStatus::Revoked {
        return Err(ScmError {
            status: StatusCode::BAD_REQUEST,
            code: -192,
            description: "The Certificate has been revoked!".into(),
        });
    }
    let certificate = match (status, order.details.certificate_id) {
        (CertificateStatus::Issued | CertificateStatus::Expired, Some(c)) => c,
        (CertificateStatus::Requested | CertificateStatus::Approved, _) => {
            return Err(ScmError {
                status: StatusCode::BAD_REQUEST,
                code: -183,
                description: "Certificate is not collectable.".into(),
            });
        }
        _ => {
            return Err(ScmError {
                status: StatusCode::BAD_REQUEST,
                code: -130,
                description: format!(
                    "Certificate is not collectable: its state is '{}'{}",
                    state_of(status),
                    if order.details.decision_message.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", order.details.decision_message)
                    }
                ),
            });
        }
    };
    let download = state
        .authority
        .download(&CertificateSelector::Id(certificate), format, None)
        .await?;
    Ok(attachment(download))
}

fn row_json(row: &ClientRow) -> Value {
    let s = &row.summary;
    json!({
        "id": s.id.0,
        "orderNumber": s.id.0,
        "backendCertId": s.id.0.to_string(),
        "state": state_of(s.status),
        "certificateDetails": {"subject": row.subject},
        "serialNumber": s.serial.as_deref().map(colon_hex),
        "expires": s.not_after.map(iso_day),
        "comments": row.comments,
        "personId": row.person_id.map(|p| p.0),
    })
}

/// `yyyy-MM-dd`, as the S/MIME list gives `expires`.
fn iso_day(unix: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(unix) {
        Ok(t) => format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day()),
        Err(_) => String::new(),
    }
}

/// The list's filters (spec §3.2); `state` may name several statuses, so it is applied as a
/// list of filters.
fn list_filters(q: &HashMap<String, String>) -> ScmResult<Vec<OrderFilter>> {
    let get = |k: &str| {
        q.get(k)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let int = |k: &str| -> ScmResult<Option<i64>> {
        get(k)
            .map(|v| {
                v.parse::<i64>()
                    .map_err(|_| ScmError::bad_request(format!("{k} '{v}' is not a number")))
            })
            .transpose()
    };
    let base = OrderFilter {
        person_id: int("personId")?.map(PersonId),
        profile_id: int("certTypeId")?.map(castellan_model::ProfileId),
        serial: get("serialNumber").map(|s| serial_filter(&s)),
        subject_alt_name: get("email"),
        ..OrderFilter::default()
    };
    Ok(match get("state") {
        None => vec![base],
        Some(state) => statuses_of(&state)?
            .into_iter()
            .map(|status| OrderFilter {
                status: Some(status),
                ..base.clone()
            })
            .collect(),
    })
}

async fn rows(
    state: &AppState,
    actor: &castellan_ra::Actor,
    q: &HashMap<String, String>,
) -> ScmResult<Vec<ClientRow>> {
    let wanted_id = q
        .get("backendCertId")
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .map(|v| {
            v.parse::<i64>()
                .map_err(|_| ScmError::bad_request(format!("backendCertId '{v}' is not a number")))
        })
        .transpose()?;
    let mut all = Vec::new();
    for filter in list_filters(q)? {
        let (page, _) = state
            .authority
            .client_certificate_rows(actor, filter, 0, 100_000)
            .await?;
        all.extend(page);
    }
    all.retain(|r| wanted_id.is_none_or(|id| r.summary.id.0 == id));
    all.sort_by_key(|r| r.summary.id);
    Ok(all)
}

/// `GET /smime/{v}`: a page of client certificates with `X-Total-Count`.
pub(crate) async fn list(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Query(q): Query<HashMap<String, String>>,
) -> ScmResult<Response> {
    let (offset, limit) = paging(&q)?;
    let all = rows(&state, &actor, &q).await?;
    let total = all.len();
    let page: Vec<Value> = all
        .iter()
        .skip(usize::try_from(offset).unwrap_or(0))
        .take(usize::try_from(limit).unwrap_or(0))
        .map(row_json)
        .collect();
    Ok(super::with_total(Json(page), total))
}

/// `HEAD /smime/{v}`: the count alone.
pub(crate) async fn count(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Query(q): Query<HashMap<String, String>>,
) -> ScmResult<Response> {
    let total = rows(&state, &actor, &q).await?.len();
    Ok(super::with_total(StatusCode::OK, total))
}

/// `GET /smime/v2/byPersonEmail/{email}`: every certificate of the person, not paged;
/// none for an unknown person.
pub(crate) async fn by_person_email(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Path(email): Path<String>,
) -> ScmResult<Json<Vec<Value>>> {
    // The path is percent-decoded already: an e-mail raw or encoded reads the same.
    match state.authority.person_by_email(&actor, &email).await {
        Ok(person) => person_rows(&state, &actor, person.id).await,
        Err(castellan_ra::RaError::NotFound { .. }) => Ok(Json(Vec::new())),
        Err(e) => Err(e.into()),
    }
}

/// `GET /smime/v2/byPersonId/{personId}`.
pub(crate) async fn by_person_id(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Path(person): Path<i64>,
) -> ScmResult<Json<Vec<Value>>> {
    person_rows(&state, &actor, PersonId(person)).await
}

async fn person_rows(
    state: &AppState,
    actor: &castellan_ra::Actor,
    person: PersonId,
) -> ScmResult<Json<Vec<Value>>> {
    let (rows, _) = state
        .authority
        .client_certificate_rows(
            actor,
            OrderFilter {
                person_id: Some(person),
                ..OrderFilter::default()
            },
            0,
            100_000,
        )
        .await?;
    Ok(Json(rows.iter().map(row_json).collect()))
}

/// `GET /smime/v1/{id}`: the details of one.
pub(crate) async fn get(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Path(id): Path<i64>,
) -> ScmResult<Json<Value>> {
    let order = state
        .authority
        .client_certificate(&actor, RequestId(id))
        .await
        .map_err(order_error)?;
    details(&state, &order).await.map(Json)
}

async fn details(state: &AppState, order: &OrderRecord) -> ScmResult<Value> {
    let request = &order.request.request;
    let id = order.request.id.0;
    let mut v = json!({
        "id": id,
        "orderNumber": id,
        "backendCertId": id.to_string(),
        "commonName": request.common_name,
        "orgId": order.details.org_id.map(|o| o.0),
        "personId": order.details.person_id.map(|p| p.0),
        "status": state_of(request.status),
        "certType": profile_json(state, request.profile_id),
        "term": request.term_days,
        "requestedVia": request.requested_via,
        "requested": day(request.created_at),
        "subjectAlternativeNames": request.requested_names,
        "comments": order.details.comments,
        "keyGenerated": request.key_generated,
    });
    if let Some(cert) = order.details.certificate_id {
        let record = state
            .authority
            .certificate(&CertificateSelector::Id(cert))
            .await?;
        let c = &record.certificate;
        v["issued"] = json!(day(c.issued_at));
        v["expires"] = json!(day(c.not_after));
        v["serialNumber"] = json!(colon_hex(&c.serial));
        v["keyType"] = json!(c.key_type);
        v["certificateDetails"] = json!({"subject": c.subject, "sha1Hash": c.sha1_fingerprint});
        if let Some(at) = record.revoked_at {
            v["revoked"] = json!(day(at));
            v["reasonCode"] = json!(record.revocation_reason.unwrap_or(0));
        }
    }
    Ok(v)
}

/// `POST /smime/v2/renew/order/{backendCertId}`: the new certificate's identifiers.
pub(crate) async fn renew_by_order(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Path(id): Path<i64>,
) -> ScmResult<Json<Value>> {
    let outcome = state
        .authority
        .renew_client_certificate(&actor, RequestId(id))
        .await
        .map_err(order_error)?;
    Ok(order_numbers(&outcome))
}

/// `POST /smime/v2/renew/serial/{serialNumber}`.
pub(crate) async fn renew_by_serial(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Path(serial): Path<String>,
) -> ScmResult<Json<Value>> {
    let order = state
        .authority
        .client_certificate_by_serial(&actor, &serial)
        .await
        .map_err(order_error)?;
    let outcome = state
        .authority
        .renew_client_certificate(&actor, order.request.id)
        .await
        .map_err(order_error)?;
    Ok(order_numbers(&outcome))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ReplaceBody {
    csr: Option<String>,
    reason: Option<String>,
    revoke: Option<bool>,
}

/// `POST /smime/v2/replace/order/{backendCertId}`: a new certificate for a new CSR; the old
/// one is revoked (superseded) unless `revoke` is false.
pub(crate) async fn replace(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Path(id): Path<i64>,
    Lenient(body): Lenient<ReplaceBody>,
) -> ScmResult<StatusCode> {
    let csr = body.csr.ok_or_else(|| ScmError {
        status: StatusCode::BAD_REQUEST,
        code: -7,
        description: "csr is required but missing".into(),
    })?;
    state
        .authority
        .replace_client_certificate(
            &actor,
            RequestId(id),
            csr.into_bytes(),
            body.reason.as_deref().unwrap_or_default(),
            body.revoke.unwrap_or(true),
        )
        .await
        .map_err(order_error)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct RevokeBody {
    email: Option<String>,
    reason: Option<String>,
    reason_code: Option<LooseInt>,
}

/// `POST /smime/v1/revoke/order/{backendCertId}`.
pub(crate) async fn revoke_order(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Path(id): Path<i64>,
    Lenient(body): Lenient<RevokeBody>,
) -> ScmResult<StatusCode> {
    state
        .authority
        .revoke_client_certificate(
            &actor,
            RequestId(id),
            body.reason_code.map(|c| c.0).unwrap_or(0),
            body.reason.as_deref().unwrap_or_default(),
        )
        .await
        .map_err(revoke_error)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /smime/v1/revoke/serial/{serial}`.
pub(crate) async fn revoke_serial(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Path(serial): Path<String>,
    Lenient(body): Lenient<RevokeBody>,
) -> ScmResult<StatusCode> {
    let order = state
        .authority
        .client_certificate_by_serial(&actor, &serial)
        .await
        .map_err(order_error)?;
    state
        .authority
        .revoke_client_certificate(
            &actor,
            order.request.id,
            body.reason_code.map(|c| c.0).unwrap_or(0),
            body.reason.as_deref().unwrap_or_default(),
        )
        .await
        .map_err(revoke_error)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /smime/v1/revoke`: every issued certificate of the person with `email`.
pub(crate) async fn revoke_by_email(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Lenient(body): Lenient<RevokeBody>,
) -> ScmResult<StatusCode> {
    let email = body
        .email
        .filter(|e| !e.trim().is_empty())
        .ok_or_else(|| ScmError {
            status: StatusCode::BAD_REQUEST,
            code: -7,
            description: "email is required but missing".into(),
        })?;
    state
        .authority
        .revoke_client_certificates_of(
            &actor,
            email.trim(),
            body.reason_code.map(|c| c.0).unwrap_or(0),
            body.reason.as_deref().unwrap_or_default(),
        )
        .await
        .map_err(revoke_error)?;
    Ok(StatusCode::NO_CONTENT)
}
