//! `/report/v1/activity` (spec §12): the audit log as SCM's activity report.

use super::auth::ScmActor;
use super::body::Lenient;
use super::error::{ScmError, ScmResult};
use super::iso_time;
use crate::AppState;
use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};

/// Most rows in one report.
const MAX_ROWS: i64 = 10_000;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ReportBody {
    from: Option<String>,
    to: Option<String>,
    /// The whole body, for reports with their own filters.
    #[serde(flatten)]
    rest: serde_json::Map<String, Value>,
}

/// Parses an ISO date (`2026-01-31`, start of day) or date-time (RFC 3339).
pub(crate) fn parse_time(text: &str, end_of_day: bool) -> ScmResult<i64> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(t) = time::OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(t.unix_timestamp());
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(text, &format).map_err(|_| {
        ScmError::bad_request(format!(
            "'{text}' is not an ISO date (2026-01-31) or date-time (2026-01-31T12:00:00Z)"
        ))
    })?;
    let t = if end_of_day {
        date.with_hms(23, 59, 59)
    } else {
        date.with_hms(0, 0, 0)
    }
    .map_err(|e| ScmError::bad_request(e.to_string()))?;
    Ok(t.assume_utc().unix_timestamp())
}

pub(crate) async fn report(
    State(state): State<AppState>,
    ScmActor(actor): ScmActor,
    Path(name): Path<String>,
    Lenient(body): Lenient<ReportBody>,
) -> ScmResult<Json<Value>> {
    if name == "ssl-certificates" {
        let mut filters = body.rest.clone();
        for (key, value) in [("from", &body.from), ("to", &body.to)] {
            if let Some(v) = value {
                filters.insert(key.into(), Value::String(v.clone()));
            }
        }
        let reports = super::ssl::report_rows(&state, &actor, &Value::Object(filters)).await?;
        return Ok(Json(json!({"statusCode": 0, "reports": reports})));
    }
    if name == "domains" {
        let reports = super::domains::report_rows(&state, &actor).await?;
        return Ok(Json(json!({"statusCode": 0, "reports": reports})));
    }
    if name != "activity" {
        return Err(ScmError::bad_request(format!(
            "report '{name}' is not available; available: activity, domains, ssl-certificates"
        )));
    }
    let from = body
        .from
        .as_deref()
        .map(|f| parse_time(f, false))
        .transpose()?
        .unwrap_or(0);
    let to = body
        .to
        .as_deref()
        .map(|t| parse_time(t, true))
        .transpose()?
        .unwrap_or(i64::MAX / 2);
    if from > to {
        return Err(ScmError::bad_request("'from' is after 'to'"));
    }
    let rows = state
        .authority
        .audit_entries(&actor, from, to, MAX_ROWS)
        .await?;
    let reports: Vec<Value> = rows
        .iter()
        .map(|r| {
            let e = &r.entry;
            json!({
                "id": r.id,
                "guid": r.hash,
                "action": {"id": r.id, "actionName": e.action},
                "admin": {"login": e.actor},
                "description": e.description,
                "accessMethod": e.access_method,
                "address": e.address,
                "date": iso_time(e.at),
                "objectType": e.object_type,
                "objectId": e.object_id,
                "orgId": e.org_id.map(|o| o.0),
            })
        })
        .collect();
    Ok(Json(json!({"statusCode": 0, "reports": reports})))
}
