//! `/ssl/{v1,v2}` (spec §2): the certificate profiles (`types`) and the customer's custom
//! fields. Requests, approval and collection arrive with the SSL lifecycle.

use super::auth::ScmActor;
use crate::AppState;
use axum::Json;
use axum::extract::State;
use castellan_model::{CertificateType, KeyType};
use serde_json::{Value, json};

/// The SSL profiles, as SCM's `GET /ssl/v1/types` lists them: id, name, terms, key types.
pub(crate) async fn types(
    State(state): State<AppState>,
    ScmActor(_actor): ScmActor,
) -> Json<Vec<Value>> {
    Json(
        state
            .authority
            .profiles()
            .iter()
            .filter(|p| p.certificate_type == CertificateType::Ssl)
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
            .collect(),
    )
}

/// The customer's custom fields for SSL requests. None can be defined yet, so the list is
/// empty — which SCM clients read as "no field is mandatory".
pub(crate) async fn custom_fields(ScmActor(_actor): ScmActor) -> Json<Vec<Value>> {
    Json(Vec::new())
}
