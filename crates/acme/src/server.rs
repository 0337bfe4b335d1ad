//! The ACME endpoints (RFC 8555 §7): directory, newNonce, newAccount, the account URL, key
//! rollover, orders, authorizations and challenges (valid from the start on a pre-validated
//! server; http-01, dns-01 and tls-alpn-01 on a server in challenge mode), finalize, the
//! certificate, revocation, and ARI (RFC 9773).
//!
//! Each request goes through [`verified`]: the JWS is parsed, its nonce used up, its `url`
//! compared with the URL the request came to, and its signature checked with the `jwk` it
//! carries (newAccount) or the key of the account its `kid` names.

use crate::jws::{Alg, ExternalBinding, Jwk, Jws, JwsError, Signer, VerifyingKey};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use castellan_ra::acme_protocol::RevocationRequester;
use castellan_ra::{Authority, RaError};
use castellan_store::AcmeRegistration;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

type AppState = Arc<AcmeState>;

/// What the ACME routes share: the authority, and the account keys parsed so far.
struct AcmeState {
    authority: Arc<Authority>,
    /// Account keys parsed for verification, by their stored canonical JWK JSON: a key
    /// rollover stores another JSON, so an entry can never stand for a key it is not.
    keys: Mutex<HashMap<String, Arc<VerifyingKey>>>,
}

/// Account keys kept parsed at the most; past it the map starts again empty (each account
/// costs one parse per key then).
const KEYS_KEPT: usize = 10_000;

impl std::ops::Deref for AcmeState {
    type Target = Authority;

    fn deref(&self) -> &Authority {
        &self.authority
    }
}

/// The ACME routes, under `/acme/<server>/`.
pub fn router(authority: Arc<Authority>) -> Router {
    Router::new()
        .route("/acme/{server}/directory", get(directory))
        .route(
            "/acme/{server}/new-nonce",
            get(new_nonce_get).head(new_nonce_head),
        )
        .route("/acme/{server}/new-account", post(new_account))
        .route("/acme/{server}/acct/{id}", post(account))
        .route("/acme/{server}/new-order", post(new_order))
        .route("/acme/{server}/order/{id}", post(order))
        .route("/acme/{server}/authz/{id}/{index}", post(authorization))
        .route("/acme/{server}/chall/{id}/{index}/{kind}", post(challenge))
        .route("/acme/{server}/finalize/{id}", post(finalize))
        .route("/acme/{server}/cert/{id}", post(certificate))
        .route("/acme/{server}/revoke-cert", post(revoke))
        .route("/acme/{server}/key-change", post(key_change))
        .route("/acme/{server}/renewal-info/{id}", get(renewal_info))
        .layer(DefaultBodyLimit::max(crate::jws::MAX_BODY_BYTES))
        .with_state(Arc::new(AcmeState {
            authority,
            keys: Mutex::new(HashMap::new()),
        }))
}

/// An RFC 7807 problem document with ACME's error type.
struct Problem {
    status: StatusCode,
    kind: &'static str,
    detail: String,
    /// Seconds for `Retry-After` (rate limits).
    retry_after: Option<i64>,
}

impl Problem {
    fn new(kind: &'static str, detail: impl Into<String>) -> Problem {
        let status = match kind {
            "unauthorized" => StatusCode::FORBIDDEN,
            "serverInternal" => StatusCode::INTERNAL_SERVER_ERROR,
            "rateLimited" => StatusCode::TOO_MANY_REQUESTS,
            "alreadyReplaced" => StatusCode::CONFLICT,
            _ => StatusCode::BAD_REQUEST,
        };
        Problem {
            status,
            kind,
            detail: detail.into(),
            retry_after: None,
        }
    }
}

impl From<JwsError> for Problem {
    fn from(e: JwsError) -> Problem {
        match e {
            JwsError::Malformed(d) | JwsError::BadSignature(d) => Problem::new("malformed", d),
            JwsError::BadSignatureAlgorithm(d) => Problem::new("badSignatureAlgorithm", d),
            JwsError::BadPublicKey(d) => Problem::new("badPublicKey", d),
        }
    }
}

impl From<RaError> for Problem {
    fn from(e: RaError) -> Problem {
        match e {
            RaError::Acme { kind, detail } => Problem::new(kind, detail),
            RaError::AcmeRateLimited {
                detail,
                retry_after,
            } => Problem {
                retry_after: Some(retry_after),
                ..Problem::new("rateLimited", detail)
            },
            other => {
                tracing::warn!(error = %other, "ACME request failed");
                Problem::new("serverInternal", "the server failed; try again later")
            }
        }
    }
}

/// Headers every ACME response carries: a fresh nonce and the directory link.
async fn acme_headers(state: &AppState, server: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    match state.acme_nonce().await {
        Ok(nonce) => {
            if let Ok(v) = HeaderValue::from_str(&nonce) {
                headers.insert("replay-nonce", v);
            }
        }
        Err(e) => tracing::warn!(error = %e, "no nonce could be stored"),
    }
    if let Ok(v) = HeaderValue::from_str(&format!(
        "<{}>;rel=\"index\"",
        url(state, server, "directory")
    )) {
        headers.insert(header::LINK, v);
    }
    headers
}

fn url(state: &AppState, server: &str, rest: &str) -> String {
    format!("{}/acme/{server}/{rest}", state.base_url())
}

async fn problem_response(state: &AppState, server: &str, p: Problem) -> Response {
    let mut headers = acme_headers(state, server).await;
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    let mut body = json!({
        "type": format!("urn:ietf:params:acme:error:{}", p.kind),
        "detail": p.detail,
        "status": p.status.as_u16(),
    });
    if p.kind == "badSignatureAlgorithm" {
        body["algorithms"] = json!(Alg::NAMES);
    }
    if let Some(seconds) = p.retry_after
        && let Ok(v) = HeaderValue::from_str(&seconds.to_string())
    {
        headers.insert(header::RETRY_AFTER, v);
    }
    (p.status, headers, body.to_string()).into_response()
}

async fn json_response(
    state: &AppState,
    server: &str,
    status: StatusCode,
    location: Option<String>,
    body: Value,
) -> Response {
    let mut headers = acme_headers(state, server).await;
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(location) = location
        && let Ok(v) = HeaderValue::from_str(&location)
    {
        headers.insert(header::LOCATION, v);
    }
    (status, headers, body.to_string()).into_response()
}

fn known_server(state: &AppState, server: &str) -> Result<(), Problem> {
    if state.acme_servers().iter().any(|s| s.path == server) {
        Ok(())
    } else {
        Err(Problem::new(
            "malformed",
            format!("there is no ACME server '{server}' here"),
        ))
    }
}

/// `GET /acme/<server>/directory`.
async fn directory(State(state): State<AppState>, Path(server): Path<String>) -> Response {
    let Some(acme) = state
        .acme_servers()
        .iter()
        .find(|s| s.path == server)
        .cloned()
    else {
        return (StatusCode::NOT_FOUND, "no such ACME server\n").into_response();
    };
    let u = |rest: &str| url(&state, &server, rest);
    let profiles: serde_json::Map<String, Value> = acme
        .profiles
        .iter()
        .map(|p| (p.clone(), json!(format!("The {p} certificate profile"))))
        .collect();
    let body = json!({
        "newNonce": u("new-nonce"),
        "newAccount": u("new-account"),
        "newOrder": u("new-order"),
        "revokeCert": u("revoke-cert"),
        "keyChange": u("key-change"),
        "renewalInfo": u("renewal-info"),
        "meta": {
            "website": state.base_url(),
            "externalAccountRequired": !acme.open_registration(),
            "caaIdentities": state.caa_identities(),
            "profiles": profiles,
        },
    });
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    (StatusCode::OK, headers, body.to_string()).into_response()
}

/// `HEAD /acme/<server>/new-nonce`: 200 with a nonce.
async fn new_nonce_head(State(state): State<AppState>, Path(server): Path<String>) -> Response {
    (StatusCode::OK, acme_headers(&state, &server).await).into_response()
}

/// `GET /acme/<server>/new-nonce`: 204 with a nonce.
async fn new_nonce_get(State(state): State<AppState>, Path(server): Path<String>) -> Response {
    (StatusCode::NO_CONTENT, acme_headers(&state, &server).await).into_response()
}

/// A registered account's key, as stored (canonical JWK JSON), parsed for verification:
/// once per key, then from `state.keys`.
fn account_key(
    state: &AcmeState,
    registration: &AcmeRegistration,
) -> Result<Arc<VerifyingKey>, Problem> {
    let kept = state
        .keys
        .lock()
        .ok()
        .and_then(|keys| keys.get(&registration.jwk).cloned());
    if let Some(key) = kept {
        return Ok(key);
    }
    let unreadable = || Problem::new("serverInternal", "the account's key is unreadable");
    let key: Value = serde_json::from_str(&registration.jwk).map_err(|_| unreadable())?;
    let key = Arc::new(VerifyingKey::new(Jwk::from_json(&key)?).map_err(|_| unreadable())?);
    if let Ok(mut keys) = state.keys.lock() {
        if keys.len() >= KEYS_KEPT {
            keys.clear();
        }
        keys.insert(registration.jwk.clone(), key.clone());
    }
    Ok(key)
}

/// Who signed a verified request.
enum Caller {
    /// A key not (yet) registered (newAccount).
    NewKey(Jwk),
    /// A registered account.
    Account(AcmeRegistration),
}

/// Parses and checks a request: nonce, url, signature (see the module documentation).
async fn verified(
    state: &AppState,
    server: &str,
    path: &str,
    body: &[u8],
) -> Result<(Jws, Caller), Problem> {
    known_server(state, server)?;
    let jws = Jws::parse(body)?;
    let nonce = jws
        .protected
        .nonce
        .as_deref()
        .ok_or_else(|| Problem::new("badNonce", "the protected header has no nonce"))?;
    state.acme_take_nonce(nonce).await?;
    let expected = url(state, server, path);
    if jws.protected.url != expected {
        return Err(Problem::new(
            "unauthorized",
            format!(
                "the JWS was signed for {} but sent to {expected}",
                jws.protected.url
            ),
        ));
    }
    let caller = match &jws.protected.signer {
        Signer::Jwk(jwk) => {
            jws.verify(jwk)?;
            Caller::NewKey(jwk.clone())
        }
        Signer::Kid(kid) => {
            let prefix = url(state, server, "acct/");
            let id = kid
                .strip_prefix(&prefix)
                .and_then(|id| id.parse::<i64>().ok())
                .ok_or_else(|| {
                    Problem::new(
                        "accountDoesNotExist",
                        format!("'{kid}' is not an account URL of this server"),
                    )
                })?;
            let registration = state.acme_registration(server, id).await?;
            jws.verify_with(&*account_key(state, &registration)?)?;
            if registration.status != "valid" {
                return Err(Problem::new(
                    "unauthorized",
                    "this account is deactivated; register a new one",
                ));
            }
            Caller::Account(registration)
        }
    };
    Ok((jws, caller))
}

fn account_body(state: &AppState, server: &str, r: &AcmeRegistration) -> Value {
    let contacts: Vec<&str> = r.contacts.split(',').filter(|c| !c.is_empty()).collect();
    json!({
        "status": r.status,
        "contact": contacts,
        "orders": url(state, server, &format!("acct/{}/orders", r.id)),
        "createdAt": time::OffsetDateTime::from_unix_timestamp(r.created_at)
            .ok()
            .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok()),
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct NewAccountPayload {
    contact: Vec<String>,
    terms_of_service_agreed: bool,
    only_return_existing: bool,
    external_account_binding: Option<Value>,
}

/// `POST /acme/<server>/new-account` (RFC 8555 §7.3).
async fn new_account(
    State(state): State<AppState>,
    Path(server): Path<String>,
    body: Bytes,
) -> Response {
    let result = register(&state, &server, &body).await;
    answer(&state, &server, result).await
}

async fn register(state: &AppState, server: &str, body: &[u8]) -> Result<Response, Problem> {
    let (jws, caller) = verified(state, server, "new-account", body).await?;
    let Caller::NewKey(jwk) = caller else {
        return Err(Problem::new(
            "malformed",
            "newAccount is signed with the new account's key (jwk), not a kid",
        ));
    };
    let payload: NewAccountPayload = jws.json()?;
    let thumbprint = jwk.thumbprint();
    if let Some(existing) = state.acme_registration_by_key(&thumbprint).await? {
        if existing.status != "valid" {
            return Err(Problem::new(
                "unauthorized",
                "the account of this key is deactivated; register with a new key",
            ));
        }
        let location = url(state, server, &format!("acct/{}", existing.id));
        let body = account_body(state, server, &existing);
        return Ok(json_response(state, server, StatusCode::OK, Some(location), body).await);
    }
    if payload.only_return_existing {
        return Err(Problem::new(
            "accountDoesNotExist",
            "no account is registered with this key",
        ));
    }
    let account = match payload.external_account_binding {
        Some(binding) => {
            let binding = ExternalBinding::parse(&binding)?;
            let (account, mac_key) = state.acme_eab_key(server, &binding.kid).await?;
            binding
                .verify(&jws.protected.url, &jwk, &mac_key)
                .map_err(|e| match e {
                    JwsError::BadSignature(d) => Problem::new("unauthorized", d),
                    other => other.into(),
                })?;
            account
        }
        None => state.acme_open_account(server).await?.ok_or_else(|| {
            Problem::new(
                "externalAccountRequired",
                "this server needs an external account binding: register with the macId \
                 (--eab-kid) and macKey (--eab-hmac-key) of an ACME account your administrator \
                 created",
            )
        })?,
    };
    if !payload.terms_of_service_agreed {
        tracing::debug!("newAccount without termsOfServiceAgreed (no terms are published)");
    }
    let registration = state
        .acme_register(
            &account,
            &jwk.canonical_json(),
            &thumbprint,
            &payload.contact,
        )
        .await?;
    let location = url(state, server, &format!("acct/{}", registration.id));
    let body = account_body(state, server, &registration);
    Ok(json_response(state, server, StatusCode::CREATED, Some(location), body).await)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct AccountUpdate {
    contact: Option<Vec<String>>,
    status: Option<String>,
}

/// `POST /acme/<server>/acct/<id>`: POST-as-GET, contact update, deactivation.
async fn account(
    State(state): State<AppState>,
    Path((server, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let result = async {
        let (jws, caller) = verified(&state, &server, &format!("acct/{id}"), &body).await?;
        let Caller::Account(registration) = caller else {
            return Err(Problem::new(
                "malformed",
                "requests to an account URL are signed with the account's kid",
            ));
        };
        if registration.id.to_string() != id {
            return Err(Problem::new(
                "unauthorized",
                "an account may read and change only itself",
            ));
        }
        let registration = if jws.is_post_as_get() {
            registration
        } else {
            let update: AccountUpdate = jws.json()?;
            let deactivate = match update.status.as_deref() {
                None => false,
                Some("deactivated") => true,
                Some(other) => {
                    return Err(Problem::new(
                        "malformed",
                        format!(
                            "an account's status can only be set to deactivated, not '{other}'"
                        ),
                    ));
                }
            };
            state
                .acme_update_registration(&registration, update.contact.as_deref(), deactivate)
                .await?
        };
        let location = url(&state, &server, &format!("acct/{}", registration.id));
        let body = account_body(&state, &server, &registration);
        Ok(json_response(&state, &server, StatusCode::OK, Some(location), body).await)
    }
    .await;
    answer(&state, &server, result).await
}

fn rfc3339(unix: i64) -> Value {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .map_or(Value::Null, Value::String)
}

fn order_body(state: &AppState, server: &str, o: &castellan_store::AcmeOrder) -> Value {
    let mut body = json!({
        "status": o.status,
        "expires": rfc3339(o.expires_at),
        "identifiers": o.identifiers.iter().map(|n| json!({"type": "dns", "value": n})).collect::<Vec<_>>(),
        "authorizations": (0..o.identifiers.len())
            .map(|i| url(state, server, &format!("authz/{}/{i}", o.id)))
            .collect::<Vec<_>>(),
        "finalize": url(state, server, &format!("finalize/{}", o.id)),
        "profile": o.profile,
    });
    if o.status == "valid" {
        body["certificate"] = json!(url(state, server, &format!("cert/{}", o.id)));
    }
    if o.status == "invalid" && !o.error.is_empty() {
        // Never finalized: a name failed its challenge; finalized: the request was refused.
        let kind = if o.request_id.is_none() && o.certificate_id.is_none() {
            "unauthorized"
        } else {
            "badCSR"
        };
        body["error"] =
            json!({"type": format!("urn:ietf:params:acme:error:{kind}"), "detail": o.error});
    }
    if o.replaces.is_some() {
        // RFC 9773 §5: the identifier as the client sent it.
        body["replaces"] = json!(o.replaces_id);
    }
    body
}

/// An order as JSON, with its URL in `Location`.
async fn order_response(
    state: &AppState,
    server: &str,
    status: StatusCode,
    order: &castellan_store::AcmeOrder,
) -> Response {
    let location = url(state, server, &format!("order/{}", order.id));
    json_response(
        state,
        server,
        status,
        Some(location),
        order_body(state, server, order),
    )
    .await
}

/// Verifies a request that must come from an account.
async fn from_account(
    state: &AppState,
    server: &str,
    path: &str,
    body: &[u8],
) -> Result<(Jws, AcmeRegistration), Problem> {
    match verified(state, server, path, body).await? {
        (jws, Caller::Account(registration)) => Ok((jws, registration)),
        (_, Caller::NewKey(_)) => Err(Problem::new(
            "malformed",
            "this request is signed with the account's kid, not a jwk",
        )),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Identifier {
    #[serde(rename = "type")]
    kind: String,
    value: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct NewOrderPayload {
    identifiers: Vec<Identifier>,
    not_before: Option<String>,
    not_after: Option<String>,
    profile: Option<String>,
    replaces: Option<String>,
}

async fn answer(state: &AppState, server: &str, result: Result<Response, Problem>) -> Response {
    match result {
        Ok(response) => response,
        Err(p) => problem_response(state, server, p).await,
    }
}

/// `POST /acme/<server>/new-order`.
async fn new_order(
    State(state): State<AppState>,
    Path(server): Path<String>,
    body: Bytes,
) -> Response {
    let result = async {
        let (jws, registration) = from_account(&state, &server, "new-order", &body).await?;
        let payload: NewOrderPayload = jws.json()?;
        castellan_ra::acme_protocol::check_requested_validity(
            payload.not_before.as_deref(),
            payload.not_after.as_deref(),
        )?;
        let identifiers: Vec<(String, String)> = payload
            .identifiers
            .into_iter()
            .map(|i| (i.kind, i.value))
            .collect();
        let order = state
            .acme_new_order(
                &registration,
                &server,
                &identifiers,
                payload.profile.as_deref(),
                payload.replaces.as_deref(),
            )
            .await?;
        Ok(order_response(&state, &server, StatusCode::CREATED, &order).await)
    }
    .await;
    answer(&state, &server, result).await
}

/// `POST /acme/<server>/order/<id>` (POST-as-GET).
async fn order(
    State(state): State<AppState>,
    Path((server, id)): Path<(String, i64)>,
    body: Bytes,
) -> Response {
    let result = async {
        let (_, registration) =
            from_account(&state, &server, &format!("order/{id}"), &body).await?;
        let order = state.acme_order(&registration, id).await?;
        Ok(order_response(&state, &server, StatusCode::OK, &order).await)
    }
    .await;
    answer(&state, &server, result).await
}

/// A challenge object (RFC 8555 §8): its status follows the authorization's once the
/// client answered it; the others stay pending.
fn challenge_body(
    state: &AppState,
    server: &str,
    a: &castellan_store::AcmeAuthorization,
    kind: &str,
) -> Value {
    // A challenge is pending, processing, valid or invalid (RFC 8555 §7.1.6); a deactivated
    // authorization keeps the outcome of the challenge answered for it.
    let status = if a.challenge != kind {
        "pending"
    } else {
        match a.status.as_str() {
            "pending" => "processing",
            "deactivated" if a.validated_at.is_some() => "valid",
            "deactivated" => "pending",
            other => other,
        }
    };
    let mut body = json!({
        "type": kind,
        "url": url(state, server, &format!("chall/{}/{}/{kind}", a.order_id, a.index)),
        "status": status,
        "token": a.token,
    });
    if status == "valid"
        && let Some(at) = a.validated_at
    {
        body["validated"] = rfc3339(at);
    }
    if status == "invalid" && !a.error.is_empty() {
        body["error"] = json!({
            "type": "urn:ietf:params:acme:error:incorrectResponse",
            "detail": a.error,
            "status": 403,
        });
    }
    body
}

/// An authorization object (RFC 8555 §7.1.4) with its challenges.
fn authorization_body(
    state: &AppState,
    server: &str,
    order: &castellan_store::AcmeOrder,
    a: &castellan_store::AcmeAuthorization,
) -> Value {
    let mut kinds = state.acme_challenge_types(server, a);
    if !a.challenge.is_empty() && !kinds.contains(&a.challenge) {
        kinds.push(a.challenge.clone());
    }
    let mut body = json!({
        "identifier": {"type": "dns", "value": a.identifier.trim_start_matches("*.")},
        "status": if a.status == "pending" && order.expires_at <= state.clock().now().unix_timestamp() {
            "expired"
        } else {
            a.status.as_str()
        },
        "expires": rfc3339(order.expires_at),
        "challenges": kinds.iter().map(|k| challenge_body(state, server, a, k)).collect::<Vec<_>>(),
    });
    if a.identifier.starts_with("*.") {
        body["wildcard"] = json!(true);
    }
    body
}

/// `POST /acme/<server>/authz/<order>/<index>`: POST-as-GET, or `{"status": "deactivated"}`.
async fn authorization(
    State(state): State<AppState>,
    Path((server, id, index)): Path<(String, i64, i64)>,
    body: Bytes,
) -> Response {
    let result = async {
        let (jws, registration) =
            from_account(&state, &server, &format!("authz/{id}/{index}"), &body).await?;
        let (order, a) = if jws.is_post_as_get() {
            state.acme_authorization(&registration, id, index).await?
        } else {
            let update: AccountUpdate = jws.json()?;
            if update.status.as_deref() != Some("deactivated") {
                return Err(Problem::new(
                    "malformed",
                    "an authorization's status can only be set to deactivated",
                ));
            }
            state
                .acme_deactivate_authorization(&registration, id, index)
                .await?;
            state.acme_authorization(&registration, id, index).await?
        };
        let body = authorization_body(&state, &server, &order, &a);
        Ok(json_response(&state, &server, StatusCode::OK, None, body).await)
    }
    .await;
    answer(&state, &server, result).await
}

/// `POST /acme/<server>/chall/<order>/<index>/<type>`: `{}` answers the challenge (the check
/// starts in the background), POST-as-GET reads it. `Link: rel="up"` names the
/// authorization; `Retry-After` says when to poll while it is processing.
async fn challenge(
    State(state): State<AppState>,
    Path((server, id, index, kind)): Path<(String, i64, i64, String)>,
    body: Bytes,
) -> Response {
    let result = async {
        let path = format!("chall/{id}/{index}/{kind}");
        let (jws, registration) = from_account(&state, &server, &path, &body).await?;
        let a = if jws.is_post_as_get() {
            state.acme_authorization(&registration, id, index).await?.1
        } else {
            let (a, started) = state
                .acme_answer_challenge(&registration, &server, id, index, &kind)
                .await?;
            if started {
                Authority::acme_check_in_background(&state.authority, id, index);
            }
            a
        };
        let body = challenge_body(&state, &server, &a, &kind);
        let processing = body["status"] == "processing";
        let mut response = json_response(&state, &server, StatusCode::OK, None, body).await;
        let headers = response.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&format!(
            "<{}>;rel=\"up\"",
            url(&state, &server, &format!("authz/{id}/{index}"))
        )) {
            headers.append(header::LINK, v);
        }
        if processing {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        Ok(response)
    }
    .await;
    answer(&state, &server, result).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct FinalizePayload {
    csr: String,
}

/// `POST /acme/<server>/finalize/<id>` with `{"csr"}`.
async fn finalize(
    State(state): State<AppState>,
    Path((server, id)): Path<(String, i64)>,
    body: Bytes,
) -> Response {
    let result = async {
        let (jws, registration) =
            from_account(&state, &server, &format!("finalize/{id}"), &body).await?;
        let payload: FinalizePayload = jws.json()?;
        let csr = crate::jws::b64("the CSR", &payload.csr)?;
        let key = account_key(&state, &registration)?;
        let order = state
            .acme_finalize(&registration, id, &csr, &|spki| key.jwk().is_spki(spki))
            .await?;
        Ok(order_response(&state, &server, StatusCode::OK, &order).await)
    }
    .await;
    answer(&state, &server, result).await
}

/// `POST /acme/<server>/cert/<id>` (POST-as-GET): the PEM chain.
async fn certificate(
    State(state): State<AppState>,
    Path((server, id)): Path<(String, i64)>,
    body: Bytes,
) -> Response {
    let result = async {
        let (_, registration) = from_account(&state, &server, &format!("cert/{id}"), &body).await?;
        let pem = state.acme_certificate_chain(&registration, id).await?;
        let mut headers = acme_headers(&state, &server).await;
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/pem-certificate-chain"),
        );
        Ok((StatusCode::OK, headers, pem).into_response())
    }
    .await;
    answer(&state, &server, result).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RevokePayload {
    certificate: String,
    reason: Option<i64>,
}

/// `POST /acme/<server>/revoke-cert` (RFC 8555 §7.6): signed by the account that ordered the
/// certificate (kid) or with the certificate's own key (jwk).
async fn revoke(
    State(state): State<AppState>,
    Path(server): Path<String>,
    body: Bytes,
) -> Response {
    let result = async {
        let (jws, caller) = verified(&state, &server, "revoke-cert", &body).await?;
        let payload: RevokePayload = jws.json()?;
        let der = crate::jws::b64("the certificate", &payload.certificate)?;
        let reason = payload.reason.unwrap_or(0);
        match &caller {
            Caller::Account(registration) => {
                state
                    .acme_revoke(RevocationRequester::Account(registration), &der, reason)
                    .await?
            }
            Caller::NewKey(jwk) => {
                let is_key = |spki: &[u8]| jwk.is_spki(spki);
                state
                    .acme_revoke(RevocationRequester::KeyHolder(&is_key), &der, reason)
                    .await?
            }
        }
        Ok((StatusCode::OK, acme_headers(&state, &server).await).into_response())
    }
    .await;
    answer(&state, &server, result).await
}

/// `GET /acme/<server>/renewal-info/<certID>` (RFC 9773): the suggested renewal window,
/// asked again after `Retry-After`.
async fn renewal_info(
    State(state): State<AppState>,
    Path((server, id)): Path<(String, String)>,
) -> Response {
    let result = async {
        known_server(&state, &server)?;
        let window = state.acme_renewal_info(&id).await?;
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(header::RETRY_AFTER, HeaderValue::from_static("21600"));
        let body = json!({"suggestedWindow": {"start": rfc3339(window.start), "end": rfc3339(window.end)}});
        Ok::<Response, Problem>((StatusCode::OK, headers, body.to_string()).into_response())
    }
    .await;
    match result {
        Ok(response) => response,
        Err(p) if p.kind == "malformed" && p.detail.starts_with("no certificate") => {
            (StatusCode::NOT_FOUND, p.detail).into_response()
        }
        Err(p) => problem_response(&state, &server, p).await,
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct KeyChangePayload {
    account: String,
    old_key: Value,
}

/// `POST /acme/<server>/key-change` (RFC 8555 §7.3.5): the outer JWS is signed by the account
/// (kid), its payload a JWS signed by the new key (jwk, same url, no nonce) naming the
/// account and the old key.
async fn key_change(
    State(state): State<AppState>,
    Path(server): Path<String>,
    body: Bytes,
) -> Response {
    let result = async {
        let (outer, registration) = from_account(&state, &server, "key-change", &body).await?;
        let inner = Jws::parse(&outer.payload)?;
        let Signer::Jwk(new_key) = &inner.protected.signer else {
            return Err(Problem::new(
                "malformed",
                "the inner JWS must carry the new key as jwk",
            ));
        };
        if inner.protected.nonce.is_some() {
            return Err(Problem::new(
                "malformed",
                "the inner JWS may not carry a nonce",
            ));
        }
        if inner.protected.url != outer.protected.url {
            return Err(Problem::new(
                "malformed",
                "the inner JWS's url differs from the outer's",
            ));
        }
        inner.verify(new_key)?;
        let payload: KeyChangePayload = inner.json()?;
        let account_url = url(&state, &server, &format!("acct/{}", registration.id));
        let Signer::Kid(kid) = &outer.protected.signer else {
            return Err(Problem::new(
                "malformed",
                "the outer JWS must be signed with the kid",
            ));
        };
        if payload.account != account_url || *kid != account_url {
            return Err(Problem::new(
                "malformed",
                "the inner payload names another account",
            ));
        }
        if Jwk::from_json(&payload.old_key)? != *account_key(&state, &registration)?.jwk() {
            return Err(Problem::new(
                "malformed",
                "oldKey is not the account's current key",
            ));
        }
        let updated = state
            .acme_change_key(
                &registration,
                &new_key.canonical_json(),
                &new_key.thumbprint(),
            )
            .await?;
        let body = account_body(&state, &server, &updated);
        Ok(json_response(&state, &server, StatusCode::OK, Some(account_url), body).await)
    }
    .await;
    answer(&state, &server, result).await
}
