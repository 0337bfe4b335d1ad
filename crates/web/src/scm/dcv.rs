//! `/dcv/v1` (spec §6): search, status, start and submit by CNAME, TXT, HTTP, HTTPS and
//! e-mail, and clear. Bodies carry `{"domain": ...}`.

use super::auth::ScmActor;
use super::body::Lenient;
use super::domains::day;
use super::error::{ScmError, ScmResult};
use crate::AppState;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use castellan_ra::dcv::{DcvMethod, DcvOutcome};
use castellan_ra::domains::DcvStatus;
use castellan_store::DcvRecord;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct DcvBody {
    domain: Option<String>,
    email: Option<String>,
}

impl DcvBody {
    fn domain(&self) -> ScmResult<&str> {
        match self.domain.as_deref() {
            Some(d) if (3..=255).contains(&d.len()) => Ok(d),
            Some(d) => Err(ScmError::bad_request(format!(
                "domain '{d}' must be 3 to 255 characters"
            ))),
            None => Err(ScmError::bad_request("domain is required but missing")),
        }
    }
}

fn method(name: &str) -> ScmResult<DcvMethod> {
    DcvMethod::parse(name).ok_or_else(|| {
        ScmError::not_found(format!(
            "DCV method '{name}' is not one of cname, txt, http, https, email"
        ))
    })
}

fn order_mode(record: &DcvRecord) -> &str {
    if record.method.is_empty() {
        "AUTO"
    } else {
        record.method.as_str()
    }
}

fn status_body(record: &DcvRecord, status: DcvStatus) -> Value {
    let mut v = json!({
        "status": status.as_str(),
        "orderStatus": record.order_status,
        "orderMode": order_mode(record),
        "lastResult": record.last_result,
        "troubleshooting": record.transcript.lines().collect::<Vec<_>>(),
    });
    let mut put = |k: &str, value: Value| {
        if !value.is_null() {
            v[k] = value;
        }
    };
    put("validationDate", json!(record.validated_at.map(day)));
    put("expirationDate", json!(record.expires_at.map(day)));
    put("submittedDate", json!(record.submitted_at.map(day)));
    put("lastCheck", json!(record.last_check.map(super::iso_time)));
    put("nextCheck", json!(record.next_check.map(super::iso_time)));
    if record.order_status != "NOT_INITIATED" {
        match record.method.as_str() {
            "CNAME" | "TXT" => {
                put("host", json!(format!("{}.", record.host)));
                put("point", json!(record.point));
            }
            "HTTP" | "HTTPS" => put("url", json!(record.host)),
            "EMAIL" => put("validationEmail", json!(record.host)),
            _ => {}
        }
    }
    v
}

fn outcome_body(outcome: &DcvOutcome) -> Value {
    let mut v = json!({
        "status": outcome.status.as_str(),
        "orderStatus": outcome.record.order_status,
        "message": outcome.message,
        "orderBackendId": outcome.record.submitted_at.unwrap_or_default().to_string(),
    });
    if let Some(warning) = &outcome.caa_warning {
        v["caaWarning"] = json!(warning);
    }
    v
}

pub(crate) async fn search(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Query(q): Query<HashMap<String, String>>,
) -> ScmResult<Response> {
    let views = state.authority.domains(&actor).await?;
    let empty = |k: &str| q.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let org = empty("department").or(empty("org")).map(str::to_owned);
    let expires_in = match empty("expiresIn") {
        Some(days) => Some(days.parse::<i64>().map_err(|_| {
            ScmError::bad_request(format!("expiresIn '{days}' is not a number of days"))
        })?),
        None => None,
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let items: Vec<Value> = views
        .iter()
        .filter(|v| empty("domain").is_none_or(|d| v.domain.name.eq_ignore_ascii_case(d)))
        .filter(|v| {
            org.as_deref().is_none_or(|o| {
                v.domain
                    .delegations
                    .iter()
                    .any(|g| g.org_id.0.to_string() == o)
            })
        })
        .filter(|v| empty("dcvStatus").is_none_or(|s| v.status.as_str().eq_ignore_ascii_case(s)))
        .filter(|v| {
            empty("orderStatus").is_none_or(|s| {
                v.dcv
                    .as_ref()
                    .map(|d| d.order_status.as_str())
                    .unwrap_or("NOT_INITIATED")
                    .eq_ignore_ascii_case(s)
            })
        })
        .filter(|v| {
            expires_in.is_none_or(|days| {
                v.dcv
                    .as_ref()
                    .and_then(|d| d.expires_at)
                    .is_some_and(|e| e > now && e <= now + days * 86_400)
            })
        })
        .map(|v| {
            let dcv = v.dcv.as_ref();
            json!({
                "domain": v.domain.name,
                "dcvStatus": v.status.as_str(),
                "dcvOrderStatus": dcv.map(|d| d.order_status.as_str()).unwrap_or("NOT_INITIATED"),
                "dcvMethod": dcv.map(|d| d.validated_method.as_str()).unwrap_or(""),
                "dcvOrderMethod": dcv.map(order_mode).unwrap_or("AUTO"),
                "expirationDate": dcv.and_then(|d| d.expires_at).map(day),
            })
        })
        .collect();
    let (page, total) = super::page(&items, &q)?;
    Ok(super::with_total(Json(page.to_vec()), total))
}

pub(crate) async fn status(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Lenient(body): Lenient<DcvBody>,
) -> ScmResult<Json<Value>> {
    let (record, status) = state.authority.dcv_state(&actor, body.domain()?).await?;
    Ok(Json(status_body(&record, status)))
}

pub(crate) async fn start(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Path(name): Path<String>,
    Lenient(body): Lenient<DcvBody>,
) -> ScmResult<Json<Value>> {
    let method = method(&name)?;
    if method == DcvMethod::Txt {
        return Err(ScmError::bad_request(
            "Start request is not supported for TXT; use submit directly",
        ));
    }
    let i = state
        .authority
        .dcv_start(&actor, body.domain()?, method)
        .await?;
    Ok(Json(match method {
        DcvMethod::Cname => {
            json!({"host": format!("{}.", i.host), "point": format!("{}.", i.point)})
        }
        DcvMethod::Http | DcvMethod::Https => {
            json!({"url": i.host, "firstLine": i.point, "secondLine": i.second_line})
        }
        _ => json!({
            "emails": i.emails,
            "dcvEmails": [{"domainName": i.domain, "whoisEmails": [], "adminEmails": i.emails,
                           "dnsTxtEmails": []}],
        }),
    }))
}

pub(crate) async fn submit(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Path(name): Path<String>,
    Lenient(body): Lenient<DcvBody>,
) -> ScmResult<Json<Value>> {
    let method = method(&name)?;
    let outcome = state
        .authority
        .dcv_submit(&actor, body.domain()?, method, body.email.as_deref())
        .await?;
    let mut v = outcome_body(&outcome);
    if method == DcvMethod::Txt {
        v["host"] = json!(format!("{}.", outcome.record.host));
        v["point"] = json!(outcome.record.point);
    }
    Ok(Json(v))
}

pub(crate) async fn clear(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Lenient(body): Lenient<DcvBody>,
) -> ScmResult<Json<Value>> {
    state.authority.dcv_clear(&actor, body.domain()?).await?;
    Ok(Json(json!({
        "status": "NOT_VALIDATED",
        "orderStatus": "NOT_INITIATED",
        "message": "DCV cleared",
    })))
}
