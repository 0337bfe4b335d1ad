//! `/ssl/{v1,v2}` (spec §2, §4): the certificate profiles (`types`), the customer's custom
//! fields, enrolment, details, approval and decline, and collection in every format.

use super::auth::ScmActor;
use super::body::{Lenient, LooseInt};
use super::error::{ScmError, ScmResult};
use crate::AppState;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use castellan_model::{
    CertificateStatus, CertificateType, DownloadFormat, KeyType, OrgId, RequestId,
};
use castellan_ra::CertificateSelector;
use castellan_ra::orders::SslOrder;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;

/// `GET /ssl/{v}/types`: the SSL profiles.
pub(crate) async fn types(
    State(state): State<AppState>,
    ScmActor(_actor): ScmActor,
) -> Json<Vec<Value>> {
    Json(profile_types(&state, CertificateType::Ssl))
}

/// The profiles of certificate type `area` as SCM's `/types` lists them: id, name,
/// description, terms, key types and whether `O` is the organisation's secondary name.
pub(crate) fn profile_types(state: &AppState, area: CertificateType) -> Vec<Value> {
    state
        .authority
        .profiles()
        .iter()
        .filter(|p| p.certificate_type == area)
        .map(|p| {
            let mut key_types = serde_json::Map::new();
            if !p.rsa_sizes.is_empty() {
                key_types.insert(
                    "RSA".into(),
                    json!(
                        p.rsa_sizes
                            .iter()
                            .map(|b| b.to_string())
                            .collect::<Vec<_>>()
                    ),
                );
            }
            let curves: Vec<&str> = p
                .ec_curves
                .iter()
                .filter_map(|c| match c {
                    KeyType::EcP256 => Some("P-256"),
                    KeyType::EcP384 => Some("P-384"),
                    _ => None,
                })
                .collect();
            if !curves.is_empty() {
                key_types.insert("EC".into(), json!(curves));
            }
            json!({
                "id": p.id.0,
                "name": p.name,
                "description": p.description,
                "terms": p.terms,
                "keyTypes": key_types,
                "useSecondaryOrgName": p.use_secondary_org_name,
            })
        })
        .collect()
}

/// The customer's custom fields for SSL requests (`ssl.custom_fields` in the configuration).
pub(crate) async fn custom_fields(
    State(state): State<AppState>,
    ScmActor(_actor): ScmActor,
) -> Json<Vec<Value>> {
    Json(
        state
            .authority
            .ssl_custom_fields()
            .iter()
            .map(|f| json!({"id": f.id, "name": f.name, "mandatory": f.mandatory}))
            .collect(),
    )
}

/// The body of `POST /ssl/v1/enroll`, as the python client sends it.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct EnrollBody {
    org_id: Option<LooseInt>,
    csr: Option<String>,
    subj_alt_names: Option<String>,
    cert_type: Option<LooseInt>,
    term: Option<LooseInt>,
    comments: Option<String>,
    external_requester: Option<String>,
    custom_fields: Option<Vec<CustomFieldValue>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct CustomFieldValue {
    name: Option<String>,
    value: Option<String>,
}

/// SCM's codes for order refusals (spec §0.4).
pub(crate) fn order_error(e: castellan_ra::RaError) -> ScmError {
    use castellan_pki::PkiError;
    use castellan_ra::RaError;
    let code = match &e {
        RaError::Pki(PkiError::ProfileRule { rule: "term", .. }) => -36,
        RaError::UnknownProfile { .. } => -39,
        RaError::Pki(PkiError::MalformedCsr { .. } | PkiError::CsrSignatureInvalid) => -10,
        RaError::Pki(PkiError::KeyPolicy { .. }) => -13,
        RaError::InvalidInput {
            field: "customFields",
            reason,
        } if reason.starts_with("Missing mandatory") => -62,
        RaError::NotFound {
            what: "SSL certificate",
            ..
        } => {
            return ScmError {
                status: StatusCode::NOT_FOUND,
                code: -124,
                description: format!("Wrong SSL certificate id: {e}"),
            };
        }
        _ => return e.into(),
    };
    ScmError {
        status: StatusCode::BAD_REQUEST,
        code,
        description: e.to_string(),
    }
}

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
    let order = SslOrder {
        org_id: OrgId(body.org_id.ok_or_else(|| missing("orgId"))?.0),
        profile: body
            .cert_type
            .ok_or_else(|| missing("certType"))?
            .0
            .to_string(),
        term_days: u32::try_from(body.term.ok_or_else(|| missing("term"))?.0)
            .map_err(|_| ScmError::bad_request("term must be a positive number of days"))?,
        csr: body.csr.ok_or_else(|| missing("csr"))?.into_bytes(),
        subject_alt_names: body
            .subj_alt_names
            .unwrap_or_default()
            .split(',')
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty())
            .collect(),
        external_requester: body.external_requester.unwrap_or_default(),
        comments: body.comments.unwrap_or_default(),
        custom_fields: body
            .custom_fields
            .unwrap_or_default()
            .into_iter()
            .map(|f| (f.name.unwrap_or_default(), f.value.unwrap_or_default()))
            .collect(),
    };
    let outcome = state
        .authority
        .request_certificate(&actor, order)
        .await
        .map_err(order_error)?;
    Ok(Json(
        json!({"sslId": outcome.id.0, "renewId": outcome.renew_id}),
    ))
}

pub(crate) fn day(unix: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(unix) {
        Ok(t) => format!("{:02}/{:02}/{:04}", u8::from(t.month()), t.day(), t.year()),
        Err(_) => String::new(),
    }
}

pub(crate) async fn get(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Path(id): Path<i64>,
) -> ScmResult<Json<Value>> {
    let order = state
        .authority
        .order(&actor, RequestId(id))
        .await
        .map_err(order_error)?;
    let request = &order.request.request;
    let mut v = json!({
        "id": id,
        "sslId": id,
        "commonName": request.common_name,
        "orgId": order.details.org_id.map(|o| o.0),
        "status": request.status.as_str(),
        "certType": profile_json(&state, request.profile_id),
        "validationType": validation_type(&state, request.profile_id),
        "term": request.term_days,
        "requester": request.requester,
        "requestedVia": request.requested_via,
        "externalRequester": order.details.external_requester,
        "comments": order.details.comments,
        "requested": day(request.created_at),
        "subjectAlternativeNames": request.requested_names,
        "renewId": request.renew_id,
    });
    if let Some(at) = order.details.decided_at {
        let key = if request.status == CertificateStatus::Declined {
            "declined"
        } else {
            "approved"
        };
        v[key] = json!(day(at));
    }
    v["autoRenewDetails"] = match order.details.auto_renew_days {
        Some(days) => json!({"state": "Scheduled", "daysBeforeExpiration": days}),
        None => json!({"state": "Not scheduled"}),
    };
    v["renewed"] = json!(order.details.renewed_by.is_some());
    v["customFields"] =
        serde_json::from_str::<Value>(&order.details.custom_fields).unwrap_or_else(|_| json!([]));
    if !order.details.decision_message.is_empty() {
        v["declineMessage"] = json!(order.details.decision_message);
    }
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
        v["vendor"] = json!(
            state
                .authority
                .hierarchy()
                .iter()
                .find(|ca| ca.id == c.issuer_ca_id)
                .map(|ca| ca.subject.clone())
        );
        if let Some(at) = record.revoked_at {
            v["revoked"] = json!(day(at));
            v["reasonCode"] = json!(record.revocation_reason.unwrap_or(0));
        }
        if let Some(p) = state
            .authority
            .profiles()
            .iter()
            .find(|p| p.id == c.profile_id)
        {
            let usages = if c.key_type.starts_with("RSA") {
                p.key_usage_rsa
            } else {
                p.key_usage_ec
            };
            v["keyUsages"] = json!(
                usages
                    .into_iter()
                    .map(|u| {
                        let name = format!("{u:?}");
                        let mut chars = name.chars();
                        chars
                            .next()
                            .map(|f| f.to_ascii_lowercase().to_string() + chars.as_str())
                            .unwrap_or_default()
                    })
                    .collect::<Vec<_>>()
            );
            v["extendedKeyUsages"] = json!(
                p.extended_key_usage
                    .iter()
                    .map(|o| eku_name(&o.to_string()))
                    .collect::<Vec<_>>()
            );
        }
        v["backendCertId"] = json!(cert.0.to_string());
        v["certificateDetails"] = json!({"subject": c.subject, "sha1Hash": c.sha1_fingerprint});
    }
    Ok(Json(v))
}

/// A serial as the list filters compare it: lower-case hex, no colons or leading zeros.
pub(crate) fn serial_filter(s: &str) -> String {
    s.chars()
        .filter(|c| *c != ':')
        .collect::<String>()
        .to_ascii_lowercase()
        .trim_start_matches('0')
        .to_owned()
}

pub(crate) fn colon_hex(hex: &str) -> String {
    hex.as_bytes()
        .chunks(2)
        .map(|c| String::from_utf8_lossy(c).to_ascii_uppercase())
        .collect::<Vec<_>>()
        .join(":")
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct DeclineBody {
    message: Option<String>,
}

pub(crate) async fn approve(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Path(id): Path<i64>,
) -> ScmResult<StatusCode> {
    state
        .authority
        .approve_request(&actor, RequestId(id))
        .await
        .map_err(order_error)?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn decline(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Path(id): Path<i64>,
    Lenient(body): Lenient<DeclineBody>,
) -> ScmResult<StatusCode> {
    state
        .authority
        .decline_request(
            &actor,
            RequestId(id),
            body.message.as_deref().unwrap_or_default(),
        )
        .await
        .map_err(order_error)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /ssl/v1/collect/{id}/{format}`.
pub(crate) async fn collect_path(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Path((id, format)): Path<(i64, String)>,
) -> ScmResult<Response> {
    collect(state, actor, id, &format).await
}

/// `GET /ssl/v1/collect/{id}?format=`.
pub(crate) async fn collect_query(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Path(id): Path<i64>,
    Query(q): Query<HashMap<String, String>>,
) -> ScmResult<Response> {
    let format = q.get("format").cloned().unwrap_or_else(|| "base64".into());
    collect(state, actor, id, &format).await
}

async fn collect(
    state: AppState,
    actor: castellan_ra::Actor,
    id: i64,
    format: &str,
) -> ScmResult<Response> {
    let format = collect_format(format)?;
    let order = state
        .authority
        .order(&actor, RequestId(id))
        .await
        .map_err(order_error)?;
    let status = order.request.request.status;
    if status == CertificateStatus::Revoked {
        return Err(ScmError {
            status: StatusCode::BAD_REQUEST,
            code: -110,
            description: "Certificate has been revoked and cannot be downloaded".into(),
        });
    }
    let Some(certificate) = order.details.certificate_id else {
        return Err(match status {
            CertificateStatus::Declined
            | CertificateStatus::Rejected
            | CertificateStatus::Invalid => ScmError {
                status: StatusCode::BAD_REQUEST,
                code: -130,
                description: format!("SSL state is not 'ISSUED' but '{status}'"),
            },
            _ => ScmError {
                status: StatusCode::BAD_REQUEST,
                code: 0,
                description: "Being processed by Sectigo".into(),
            },
        });
    };
    let download = state
        .authority
        .download(&CertificateSelector::Id(certificate), format, None)
        .await?;
    Ok(attachment(download))
}

/// A collect's format by its SCM name; the PKCS#12 formats are never collected (a key made
/// by Castellan is handed over once, or recovered).
pub(crate) fn collect_format(name: &str) -> ScmResult<DownloadFormat> {
    DownloadFormat::from_scm_name(name)
        .filter(|f| !f.needs_private_key())
        .ok_or_else(|| ScmError {
            status: StatusCode::BAD_REQUEST,
            code: -126,
            description: format!("Unknown or unsupported certificate format requested: {name}"),
        })
}

/// A download as SCM's collect answers it: octet-stream, with the file's name.
pub(crate) fn attachment(download: castellan_ra::Download) -> Response {
    crate::attachment(download, "application/octet-stream;charset=UTF-8")
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct RevokeBody {
    reason: Option<String>,
    reason_code: Option<LooseInt>,
    /// Castellan's addition: when the key was compromised (RFC 3339 or a date), written
    /// into the CRL entry's invalidityDate.
    invalidity_date: Option<String>,
}

pub(crate) async fn revoke(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Path(id): Path<i64>,
    Lenient(body): Lenient<RevokeBody>,
) -> ScmResult<StatusCode> {
    revoke_order(state, actor, RequestId(id), body).await
}

/// `POST /ssl/v1/revoke/serial/{serialNumber}`.
pub(crate) async fn revoke_by_serial(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Path(serial): Path<String>,
    Lenient(body): Lenient<RevokeBody>,
) -> ScmResult<StatusCode> {
    let order = state
        .authority
        .order_by_serial(&actor, &serial)
        .await
        .map_err(order_error)?;
    revoke_order(state, actor, order.request.id, body).await
}

async fn revoke_order(
    state: AppState,
    actor: castellan_ra::Actor,
    id: RequestId,
    body: RevokeBody,
) -> ScmResult<StatusCode> {
    let invalidity_date = body
        .invalidity_date
        .as_deref()
        .filter(|t| !t.trim().is_empty())
        .map(|t| super::reports::parse_time(t.trim(), false))
        .transpose()?;
    let result = state
        .authority
        .revoke_order(
            &actor,
            id,
            body.reason_code.map(|c| c.0).unwrap_or(0),
            body.reason.as_deref().unwrap_or_default(),
            invalidity_date,
        )
        .await;
    result.map_err(revoke_error)?;
    Ok(StatusCode::NO_CONTENT)
}

/// A revocation's refusal in SCM's codes: already revoked -159, not issued -102.
pub(crate) fn revoke_error(e: castellan_ra::RaError) -> ScmError {
    match e {
        castellan_ra::RaError::Conflict(message) => ScmError {
            status: StatusCode::BAD_REQUEST,
            code: if message.contains("already") {
                -159
            } else {
                -102
            },
            description: message,
        },
        other => order_error(other),
    }
}

/// The profiles whose certificates carry a key usage (`digitalSignature`, ...) or extended
/// key usage (`serverAuth`, ... or a dotted OID): those filters are answered by the profiles.
fn profiles_with_usage(
    state: &AppState,
    key_usage: Option<&str>,
    extended: Option<&str>,
) -> ScmResult<Option<Vec<castellan_model::ProfileId>>> {
    if key_usage.is_none() && extended.is_none() {
        return Ok(None);
    }
    let eku_oid = match extended {
        None => None,
        Some(name) => Some(match name.to_ascii_lowercase().as_str() {
            "serverauth" => "1.3.6.1.5.5.7.3.1".to_owned(),
            "clientauth" => "1.3.6.1.5.5.7.3.2".to_owned(),
            "codesigning" => "1.3.6.1.5.5.7.3.3".to_owned(),
            "emailprotection" => "1.3.6.1.5.5.7.3.4".to_owned(),
            oid if oid.chars().all(|c| c.is_ascii_digit() || c == '.') => oid.to_owned(),
            other => {
                return Err(ScmError::bad_request(format!(
                    "extendedKeyUsage '{other}' is not serverAuth, clientAuth, codeSigning, \
                     emailProtection or an OID"
                )));
            }
        }),
    };
    Ok(Some(
        state
            .authority
            .profiles()
            .iter()
            .filter(|p| {
                key_usage.is_none_or(|ku| {
                    (p.key_usage_rsa | p.key_usage_ec)
                        .into_iter()
                        .any(|u| format!("{u:?}").eq_ignore_ascii_case(ku))
                }) && eku_oid
                    .as_deref()
                    .is_none_or(|oid| p.extended_key_usage.iter().any(|e| e.to_string() == oid))
            })
            .map(|p| p.id)
            .collect(),
    ))
}

fn order_filter(
    state: &AppState,
    q: &HashMap<String, String>,
) -> ScmResult<castellan_store::OrderFilter> {
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
    Ok(castellan_store::OrderFilter {
        scope: None,
        common_name: get("commonName"),
        subject_alt_name: get("subjectAlternativeName"),
        status: match get("status") {
            None => None,
            Some(s) => Some(CertificateStatus::parse(&s).ok_or_else(|| {
                ScmError::bad_request(format!("status '{s}' is not an SSL certificate status"))
            })?),
        },
        profile_id: int("sslTypeId")?.map(castellan_model::ProfileId),
        org_id: int("orgId")?.map(OrgId),
        serial: get("serialNumber").map(|s| serial_filter(&s)),
        requester: get("requester"),
        external_requester: get("externalRequester"),
        requested_via: get("requestedVia"),
        sha1: get("sha1Hash"),
        key_algorithm: get("keyAlgorithm"),
        key_size: int("keySize")?,
        // SCM's `vendor` is the issuing CA's name, as `issuer` is.
        issuer: get("issuer").or_else(|| get("vendor")),
        profile_ids: profiles_with_usage(
            state,
            get("keyUsage").as_deref(),
            get("extendedKeyUsage").as_deref(),
        )?,
        expiring: None,
        name_contains: None,
        person_id: None,
        sort: castellan_store::OrderSort::IdAsc,
    })
}

pub(crate) fn paging(q: &HashMap<String, String>) -> ScmResult<(i64, i64)> {
    let number = |k: &str, default: i64| -> ScmResult<i64> {
        match q.get(k).map(|v| v.trim()).filter(|v| !v.is_empty()) {
            None => Ok(default),
            Some(v) => v.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                ScmError::bad_request(format!("{k} '{v}' is not a non-negative integer"))
            }),
        }
    };
    Ok((number("position", 0)?, number("size", 200)?.min(10_000)))
}

/// `GET /ssl/v1`: a page of orders with `X-Total-Count`.
pub(crate) async fn list(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Query(q): Query<HashMap<String, String>>,
) -> ScmResult<Response> {
    let (offset, limit) = paging(&q)?;
    let (rows, total) = page_orders(&state, &actor, &q, offset, limit).await?;
    let items: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "sslId": r.id.0,
                "commonName": r.common_name,
                "subjectAlternativeNames": r.names,
                "serialNumber": r.serial.as_deref().map(colon_hex),
                "status": r.status.as_str(),
            })
        })
        .collect();
    Ok(super::with_total(
        Json(items),
        usize::try_from(total).unwrap_or(0),
    ))
}

/// A page of orders for the list and the count. `md5Hash` is answered here, from the
/// certificates themselves: Castellan stores SHA-1 and SHA-256 fingerprints, not MD5.
async fn page_orders(
    state: &AppState,
    actor: &castellan_ra::Actor,
    q: &HashMap<String, String>,
    offset: i64,
    limit: i64,
) -> ScmResult<(Vec<castellan_store::OrderSummary>, i64)> {
    let filter = order_filter(state, q)?;
    let Some(md5) = q
        .get("md5Hash")
        .map(|v| v.trim().replace(':', "").to_ascii_lowercase())
        .filter(|v| !v.is_empty())
    else {
        return Ok(state.authority.orders(actor, filter, offset, limit).await?);
    };
    let (candidates, _) = state.authority.orders(actor, filter, 0, 100_000).await?;
    let mut matching = Vec::new();
    for order in candidates {
        let Some(serial) = &order.serial else {
            continue;
        };
        let record = state
            .authority
            .certificate(&CertificateSelector::Serial(serial.clone()))
            .await?;
        use md5::Digest as _;
        let digest = hex::encode(md5::Md5::digest(&record.certificate.der));
        if digest == md5 {
            matching.push(order);
        }
    }
    let total = i64::try_from(matching.len()).unwrap_or(i64::MAX);
    let page = matching
        .into_iter()
        .skip(usize::try_from(offset).unwrap_or(0))
        .take(usize::try_from(limit).unwrap_or(0))
        .collect();
    Ok((page, total))
}

/// `HEAD /ssl/v1`: the count alone.
pub(crate) async fn count(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Query(q): Query<HashMap<String, String>>,
) -> ScmResult<Response> {
    let (_, total) = page_orders(&state, &actor, &q, 0, 0).await?;
    Ok(super::with_total(
        StatusCode::OK,
        usize::try_from(total).unwrap_or(0),
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct RenewBody {
    csr: Option<String>,
}

/// `POST /ssl/v1/renewById/{id}`: the python client sends the JSON literal `""`, which the
/// lenient body reads as "no options".
pub(crate) async fn renew_by_id(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Path(id): Path<i64>,
    Lenient(body): Lenient<RenewBody>,
) -> ScmResult<Json<Value>> {
    let outcome = state
        .authority
        .renew_order(&actor, RequestId(id), body.csr.map(String::into_bytes))
        .await
        .map_err(order_error)?;
    Ok(Json(json!({"sslId": outcome.id.0})))
}

/// `POST /ssl/v1/renew/{renewId}` (optional `{"csr"}`): renews and answers 204.
pub(crate) async fn renew_by_renew_id(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Path(renew_id): Path<String>,
    Lenient(body): Lenient<RenewBody>,
) -> ScmResult<StatusCode> {
    let order = state
        .authority
        .order_by_renew_id(&actor, &renew_id)
        .await
        .map_err(order_error)?;
    state
        .authority
        .renew_order(&actor, order.request.id, body.csr.map(String::into_bytes))
        .await
        .map_err(order_error)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct ReplaceBody {
    csr: Option<String>,
    subject_alternative_names: Option<Vec<String>>,
    reason: Option<String>,
}

/// `POST /ssl/v1/replace/{id}`: a new CSR for the same order; 204.
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
        .replace_order(
            &actor,
            RequestId(id),
            csr.into_bytes(),
            body.subject_alternative_names.unwrap_or_default(),
            body.reason.as_deref().unwrap_or_default(),
        )
        .await
        .map_err(order_error)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /report/v1/ssl-certificates` rows (spec §12): the orders the caller may see,
/// filtered by `organizationIds`, `commonName` and `certificateStatus` (0 any, 1 requested,
/// 2 issued, 3 revoked, 4 expired).
pub(crate) async fn report_rows(
    state: &AppState,
    actor: &castellan_ra::Actor,
    body: &Value,
) -> ScmResult<Vec<Value>> {
    let mut filter = castellan_store::OrderFilter {
        common_name: body["commonName"]
            .as_str()
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        ..castellan_store::OrderFilter::default()
    };
    let mut expired_only = false;
    match body["certificateStatus"].as_i64() {
        None | Some(0) => {}
        Some(1) => filter.status = Some(CertificateStatus::Requested),
        Some(2) => filter.status = Some(CertificateStatus::Issued),
        Some(3) => filter.status = Some(CertificateStatus::Revoked),
        Some(4) => {
            filter.status = Some(CertificateStatus::Issued);
            expired_only = true;
        }
        Some(other) => {
            return Err(ScmError::bad_request(format!(
                "certificateStatus {other} is not one of 0 (any), 1 (requested), 2 (issued), 3 \
                 (revoked), 4 (expired)"
            )));
        }
    }
    // Date filters (spec §5.4): 2 revocation, 3 expiration, 4 request, 5 issuance.
    let date_attribute = body["certificateDateAttribute"].as_i64();
    if let Some(attr) = date_attribute
        && !(2..=5).contains(&attr)
    {
        return Err(ScmError::bad_request(format!(
            "certificateDateAttribute {attr} is not one of 2 (revocation), 3 (expiration), 4 \
             (request), 5 (issuance)"
        )));
    }
    let bound = |key: &str, end: bool| -> ScmResult<Option<i64>> {
        body[key]
            .as_str()
            .filter(|s| !s.is_empty())
            .map(|s| super::reports::parse_time(s, end))
            .transpose()
    };
    let (from, to) = (bound("from", false)?, bound("to", true)?);
    let wanted_orgs: Option<Vec<i64>> = body["organizationIds"].as_array().map(|ids| {
        ids.iter()
            .filter_map(|v| {
                v.as_i64()
                    .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
            })
            .collect()
    });
    let (orders, _) = state.authority.orders(actor, filter, 0, 100_000).await?;
    let organizations = state.authority.organizations(actor).await?;
    let org_name = |id: i64| {
        organizations.iter().find_map(|v| {
            if v.organization.id.0 == id {
                return Some(v.organization.data.name.clone());
            }
            v.departments
                .iter()
                .find(|d| d.id.0 == id)
                .map(|d| d.data.name.clone())
        })
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut rows = Vec::new();
    for summary in orders {
        let order = state.authority.order(actor, summary.id).await?;
        let org = order.details.org_id.map(|o| o.0);
        if let Some(wanted) = &wanted_orgs
            && !wanted.is_empty()
            && !org.is_some_and(|o| wanted.contains(&o))
        {
            continue;
        }
        let request = &order.request.request;
        let certificate = match order.details.certificate_id {
            Some(id) => Some(
                state
                    .authority
                    .certificate(&CertificateSelector::Id(id))
                    .await?,
            ),
            None => None,
        };
        let expires = certificate.as_ref().map(|c| c.certificate.not_after);
        if expired_only && expires.is_none_or(|e| e >= now) {
            continue;
        }
        if from.is_some() || to.is_some() {
            let when = match date_attribute.unwrap_or(4) {
                2 => certificate.as_ref().and_then(|c| c.revoked_at),
                3 => expires,
                5 => certificate.as_ref().map(|c| c.certificate.issued_at),
                _ => Some(request.created_at),
            };
            let inside =
                when.is_some_and(|t| from.is_none_or(|f| t >= f) && to.is_none_or(|u| t <= u));
            if !inside {
                continue;
            }
        }
        let profile = state
            .authority
            .profiles()
            .iter()
            .find(|p| p.id == request.profile_id)
            .map(|p| p.name.clone());
        rows.push(json!({
            "id": summary.id.0,
            "typeId": request.profile_id.0,
            "type": profile,
            "orgId": org,
            "organizationName": org.and_then(org_name),
            "commonName": request.common_name,
            "subjAltNames": request.requested_names.join("; "),
            "status": if expired_only { "Expired" } else { request.status.as_str() },
            "requester": request.requester,
            "externalRequester": order.details.external_requester,
            "requestedVia": request.requested_via,
            "term": request.term_days,
            "comments": order.details.comments,
            "requested": super::iso_time(request.created_at),
            "expires": expires.map(super::iso_time),
            "serialNumber": summary.serial.as_deref().map(colon_hex),
            "revoked": certificate.as_ref().and_then(|c| c.revoked_at).map(super::iso_time),
        }));
    }
    Ok(rows)
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct AutoRenewBody {
    state: Option<String>,
    days_before_expiration: Option<LooseInt>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct UpdateBody {
    ssl_id: Option<LooseInt>,
    auto_renew_details: Option<AutoRenewBody>,
}

/// `PUT /ssl/v1` with `{"sslId", "autoRenewDetails": {"state": "Scheduled" | "Not scheduled",
/// "daysBeforeExpiration": N}}`: the guide's 7.3 auto-renew setting.
pub(crate) async fn update(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Lenient(body): Lenient<UpdateBody>,
) -> ScmResult<StatusCode> {
    let id = body
        .ssl_id
        .ok_or_else(|| ScmError::bad_request("sslId is required but missing"))?;
    if let Some(auto) = body.auto_renew_details {
        let days = match auto
            .state
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("not scheduled") | Some("off") => None,
            _ => Some(
                auto.days_before_expiration
                    .map(|d| u32::try_from(d.0).unwrap_or(0))
                    .unwrap_or(30),
            ),
        };
        state
            .authority
            .set_auto_renew(&actor, RequestId(id.0), days)
            .await
            .map_err(order_error)?;
    }
    Ok(StatusCode::OK)
}

pub(crate) fn profile_json(state: &AppState, id: castellan_model::ProfileId) -> Value {
    match state.authority.profiles().iter().find(|p| p.id == id) {
        Some(p) => json!({"id": id.0, "name": p.name, "description": p.description,
                          "terms": p.terms, "useSecondaryOrgName": p.use_secondary_org_name}),
        None => json!({"id": id.0}),
    }
}

fn validation_type(state: &AppState, id: castellan_model::ProfileId) -> Option<&'static str> {
    use castellan_model::ValidationLevel as V;
    state
        .authority
        .profiles()
        .iter()
        .find(|p| p.id == id)
        .map(|p| match p.validation_level {
            V::Dv => "Domain Validation (DV)",
            V::Ov | V::Igtf | V::OrganizationValidated => "Organization Validation (OV)",
            V::Ev => "Extended Validation (EV)",
            V::SponsorValidated => "Sponsor Validation",
        })
}

fn eku_name(oid: &str) -> String {
    match oid {
        "1.3.6.1.5.5.7.3.1" => "serverAuth".into(),
        "1.3.6.1.5.5.7.3.2" => "clientAuth".into(),
        "1.3.6.1.5.5.7.3.3" => "codeSigning".into(),
        "1.3.6.1.5.5.7.3.4" => "emailProtection".into(),
        other => other.to_owned(),
    }
}
