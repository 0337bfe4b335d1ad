//! `/smime/{v1|v2}` (spec §3): client certificates. What is served so far: the client
//! certificate profiles (`types`), which the python client's `SMIME` reads before every
//! enrolment, and the custom fields (none are configured for client certificates).

use super::auth::ScmActor;
use crate::AppState;
use axum::Json;
use axum::extract::State;
use castellan_model::CertificateType;
use serde_json::Value;

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
