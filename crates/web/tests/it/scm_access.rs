//! Every SCM endpoint × {MRAO, RAO of this organisation, RAO of another, DRAO of this
//! department, DRAO of a sibling department, API admin, suspended admin, no credentials},
//! with the status and SCM error code each must get; plus OAuth2 bearer tokens and the
//! forced password change.

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode};
use castellan_model::{
    AccessMethod, AdminRole, AdminType, CertificateType, Credential, OrgId, Privilege,
};
use castellan_pki::kek::Kek;
use castellan_pki::profile::ProfileSet;
use castellan_pki::rand::SystemRng;
use castellan_ra::admins::NewAdministrator;
use castellan_ra::clock::SystemClock;
use castellan_ra::organizations::OrganizationPatch;
use castellan_ra::setup::{CaSetup, FirstAdmin, InitParams};
use castellan_ra::{Actor, Authority, AuthorityOptions};
use castellan_testkit::db::TestDb;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use tower::ServiceExt;
use zeroize::Zeroizing;

const PASSWORD: &str = "a long enough password";
const CUSTOMER: &str = "camford";

/// The callers, in the order each row is run (the MRAO last, so that its changes do not
/// decide the others' outcomes).
const CALLERS: [&str; 8] = [
    "rao",
    "rao-other",
    "drao",
    "drao-sibling",
    "api",
    "suspended",
    "none",
    "mrao",
];

struct World {
    app: Router,
    authority: Arc<Authority>,
    camford: OrgId,
    physics: OrgId,
    _db: TestDb,
    /// The DNS server validation asks (CAA at issuance): real, on loopback, empty.
    _dns: castellan_testkit::dns::TestDns,
}

async fn world() -> World {
    let dns = castellan_testkit::dns::TestDns::start().await;
    let db = TestDb::new_sqlite();
    let store = db.open().await;
    let (kek, kek_text) = Kek::generate(&SystemRng).unwrap();
    let params = InitParams {
        customer_uri: CUSTOMER.into(),
        pki_base_url: "http://pki.camford.ac.uk".into(),
        ca: CaSetup {
            rsa_root_bits: 2048,
            rsa_issuing_bits: 2048,
            ..CaSetup::default()
        },
        admin: FirstAdmin {
            login: "mrao".into(),
            email: "mrao@camford.ac.uk".into(),
            password: Zeroizing::new(PASSWORD.into()),
        },
    };
    castellan_ra::setup::initialise(&store, &kek, &params, &SystemClock, &SystemRng)
        .await
        .unwrap();
    let authority = Arc::new(
        Authority::load(
            store,
            Kek::from_base64(&kek_text).unwrap(),
            ProfileSet::defaults().unwrap(),
            AuthorityOptions {
                pki_base_url: "http://pki.camford.ac.uk".into(),
                kek_source: "test".into(),
            },
            Arc::new(SystemClock),
            Arc::new(SystemRng),
        )
        .await
        .unwrap()
        .with_validation(castellan_ra::dcv::ValidationSettings {
            dns_servers: vec![dns.addr()],
            caa_identities: vec!["castellan.test".into()],
            ..castellan_ra::dcv::ValidationSettings::default()
        })
        .unwrap(),
    );
    let a = &authority;
    let system = Actor::system(AccessMethod::Cli);
    let org = |name: &str| OrganizationPatch {
        name: Some(name.into()),
        country: Some("GB".into()),
        cert_types: Some(vec![CertificateType::Ssl]),
        ..OrganizationPatch::default()
    };
    let camford = a
        .create_organization(&system, org("Camford"))
        .await
        .unwrap();
    let oxbridge = a
        .create_organization(&system, org("Oxbridge"))
        .await
        .unwrap();
    let physics = a
        .create_department(&system, camford, org("Physics"))
        .await
        .unwrap();
    let chemistry = a
        .create_department(&system, camford, org("Chemistry"))
        .await
        .unwrap();
    let rao_privileges = vec![
        Privilege::AllowManageDomains,
        Privilege::ApproveDomainDelegation,
        Privilege::AllowCreate,
        Privilege::AllowEdit,
        Privilege::AllowDelete,
        Privilege::AddDepartments,
        Privilege::EditDepartments,
    ];
    let drao_privileges = vec![
        Privilege::AllowCreate,
        Privilege::AllowEdit,
        Privilege::AllowManageDomains,
    ];
    for (login, role, scope, privileges, admin_type) in [
        (
            "rao",
            AdminRole::RaoSsl,
            camford,
            rao_privileges.clone(),
            AdminType::Standard,
        ),
        (
            "rao-other",
            AdminRole::RaoSsl,
            oxbridge,
            rao_privileges.clone(),
            AdminType::Standard,
        ),
        (
            "drao",
            AdminRole::DraoSsl,
            physics,
            drao_privileges.clone(),
            AdminType::Standard,
        ),
        (
            "drao-sibling",
            AdminRole::DraoSsl,
            chemistry,
            drao_privileges,
            AdminType::Standard,
        ),
        ("api", AdminRole::RaoSsl, camford, vec![], AdminType::Api),
        (
            "suspended",
            AdminRole::RaoSsl,
            camford,
            rao_privileges,
            AdminType::Standard,
        ),
    ] {
        a.create_admin(
            &system,
            new_admin(login, role, scope, privileges, admin_type),
        )
        .await
        .unwrap();
    }
    // Everyone has changed the initial password.
    for login in [
        "mrao",
        "rao",
        "rao-other",
        "drao",
        "drao-sibling",
        "suspended",
    ] {
        let actor = a
            .sign_in(CUSTOMER, login, PASSWORD, AccessMethod::RestApi, "")
            .await
            .unwrap();
        a.change_own_password(&actor, &changed(login))
            .await
            .unwrap();
    }
    let suspended = a
        .store()
        .admin_by_login("suspended")
        .await
        .unwrap()
        .unwrap();
    a.update_admin(
        &system,
        suspended.id,
        castellan_ra::admins::AdministratorPatch {
            active: Some(false),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    World {
        app: castellan_web::router(authority.clone()),
        authority,
        camford,
        physics,
        _db: db,
        _dns: dns,
    }
}

fn new_admin(
    login: &str,
    role: AdminRole,
    scope: OrgId,
    privileges: Vec<Privilege>,
    admin_type: AdminType,
) -> NewAdministrator {
    NewAdministrator {
        login: login.into(),
        email: format!("{login}@camford.ac.uk"),
        admin_type: Some(admin_type),
        password: Some(Zeroizing::new(PASSWORD.into())),
        credentials: vec![Credential { role, scope }],
        privileges,
        ..NewAdministrator::default()
    }
}

/// The password each caller changed to (the API admin keeps its own).
fn changed(login: &str) -> String {
    if login == "api" {
        PASSWORD.into()
    } else {
        format!("{login} changed password")
    }
}

async fn call(
    app: &Router,
    caller: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(path);
    if caller != "none" {
        request = request
            .header("login", caller)
            .header("password", changed(caller))
            .header("customerUri", CUSTOMER);
    }
    let mut request = match body {
        Some(b) => request
            .header("content-type", "application/json")
            .body(Body::from(b.to_string()))
            .unwrap(),
        None => request.body(Body::empty()).unwrap(),
    };
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::from(([192, 0, 2, 10], 40000))));
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, value)
}

/// Expected statuses in [`CALLERS`] order.
fn expect(codes: [u16; 8]) -> Vec<(&'static str, u16)> {
    CALLERS.into_iter().zip(codes).collect()
}

async fn check_row<F, Fut>(w: &World, endpoint: &str, expected: Vec<(&str, u16)>, mut request: F)
where
    F: FnMut(&'static str) -> Fut,
    Fut: std::future::Future<Output = (Method, String, Option<Value>)>,
{
    let mut failures = Vec::new();
    for (caller, want) in expected {
        let caller: &'static str = CALLERS.into_iter().find(|c| *c == caller).unwrap();
        let (method, path, body) = request(caller).await;
        let (status, value) = call(&w.app, caller, method, &path, body).await;
        let code = value.get("code").and_then(Value::as_i64);
        let code_ok = match status.as_u16() {
            401 => code == Some(-16),
            403 => code == Some(-3),
            _ => true,
        };
        if status.as_u16() != want || !code_ok {
            failures.push(format!("{caller}: wanted {want}, got {status} {value}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{endpoint}:\n  {}",
        failures.join("\n  ")
    );
}

const A: u16 = 200;
const C: u16 = 201;
const N: u16 = 204;
const F: u16 = 403;
const U: u16 = 401;

#[tokio::test]
async fn every_endpoint_checks_role_and_scope() {
    let w = world().await;
    let camford = w.camford.0;
    let physics = w.physics.0;
    let a = w.authority.clone();
    let system = Actor::system(AccessMethod::Cli);

    //                                  rao rao-o drao drao-s api susp none mrao
    check_row(
        &w,
        "GET organizations",
        expect([A, A, A, A, A, U, U, A]),
        |_| async { (Method::GET, "/api/organization/v1".into(), None) },
    )
    .await;
    check_row(
        &w,
        "GET organization",
        expect([A, F, A, A, A, U, U, A]),
        |_| async move { (Method::GET, format!("/api/organization/v1/{camford}"), None) },
    )
    .await;
    check_row(
        &w,
        "GET department",
        expect([A, F, A, F, A, U, U, A]),
        |_| async move { (Method::GET, format!("/api/organization/v1/{physics}"), None) },
    )
    .await;
    check_row(
        &w,
        "PUT organization",
        expect([A, F, F, F, A, U, U, A]),
        |_| async move {
            (
                Method::PUT,
                format!("/api/organization/v1/{camford}"),
                Some(
                    json!({"contactEmails": "certs@camford.ac.uk", "unknownKey": 1, "alias": null}),
                ),
            )
        },
    )
    .await;
    check_row(
        &w,
        "PUT validationStatus",
        expect([F, F, F, F, F, U, U, A]),
        |_| async move {
            (
                Method::PUT,
                format!("/api/organization/v1/{camford}"),
                Some(json!({"validationStatus": "Validated"})),
            )
        },
    )
    .await;
    check_row(
        &w,
        "POST organization",
        expect([F, F, F, F, F, U, U, C]),
        |c| async move {
            (
                Method::POST,
                "/api/organization/v1".into(),
                Some(json!({"name": format!("New org by {c}"), "country": "GB"})),
            )
        },
    )
    .await;
    check_row(
        &w,
        "POST department",
        expect([C, F, F, F, F, U, U, C]),
        |c| async move {
            (
                Method::POST,
                "/api/organization/v1".into(),
                Some(json!({"name": format!("Dept by {c}"), "parentId": camford})),
            )
        },
    )
    .await;
    check_row(
        &w,
        "DELETE department",
        expect([N, F, F, F, F, U, U, N]),
        |c| {
            let a = a.clone();
            let system = system.clone();
            async move {
                let patch = OrganizationPatch {
                    name: Some(format!("Doomed for {c}")),
                    ..OrganizationPatch::default()
                };
                let id = a
                    .create_department(&system, OrgId(camford), patch)
                    .await
                    .unwrap();
                (Method::DELETE, format!("/api/organization/v1/{id}"), None)
            }
        },
    )
    .await;

    let target = |c: &str| {
        new_admin(
            &format!("target-{c}"),
            AdminRole::DraoSsl,
            OrgId(physics),
            vec![],
            AdminType::Standard,
        )
    };
    let drao_id = a.store().admin_by_login("drao").await.unwrap().unwrap().id;
    check_row(
        &w,
        "GET admin",
        expect([A, F, A, F, A, U, U, A]),
        |_| async move { (Method::GET, format!("/api/admin/v1/{drao_id}"), None) },
    )
    .await;
    check_row(
        &w,
        "GET admins",
        expect([A, A, A, A, A, U, U, A]),
        |_| async move { (Method::GET, "/api/admin/v1".into(), None) },
    )
    .await;
    check_row(
        &w,
        "POST admin",
        expect([C, F, C, F, F, U, U, C]),
        |c| async move {
            (
                Method::POST,
                "/api/admin/v1".into(),
                Some(json!({
                    "login": format!("made-by-{c}"), "email": format!("made-by-{c}@camford.ac.uk"),
                    "forename": "New", "surname": "Admin", "password": PASSWORD,
                    "credentials": [{"role": "DRAO_SSL", "orgId": physics}],
                    "numberServers": 0, "telephone": null,
                })),
            )
        },
    )
    .await;
    check_row(&w, "PUT admin", expect([A, F, A, F, F, U, U, A]), |c| {
        let a = a.clone();
        let system = system.clone();
        let new = target(&format!("put-{c}"));
        async move {
            let id = a.create_admin(&system, new).await.unwrap();
            (
                Method::PUT,
                format!("/api/admin/v1/{id}"),
                Some(json!({"forename": "Changed"})),
            )
        }
    })
    .await;
    check_row(&w, "DELETE admin", expect([N, F, F, F, F, U, U, N]), |c| {
        let a = a.clone();
        let system = system.clone();
        let new = target(&format!("delete-{c}"));
        async move {
            let id = a.create_admin(&system, new).await.unwrap();
            (Method::DELETE, format!("/api/admin/v1/{id}"), None)
        }
    })
    .await;
    let physics_domain = a
        .create_domain(
            &system,
            "physics.camford.ac.uk",
            "",
            &[(OrgId(physics), vec![CertificateType::Ssl])],
            true,
        )
        .await
        .unwrap();
    check_row(
        &w,
        "GET domain",
        expect([A, F, A, F, A, U, U, A]),
        |_| async move {
            (
                Method::GET,
                format!("/api/domain/v1/{physics_domain}"),
                None,
            )
        },
    )
    .await;
    check_row(
        &w,
        "POST domain for the organisation",
        expect([C, F, F, F, F, U, U, C]),
        |c| async move {
            (
                Method::POST,
                "/api/domain/v1".into(),
                Some(json!({"name": format!("org-{c}.camford.ac.uk"),
                        "delegations": [{"orgId": camford, "certTypes": ["SSL"]}]})),
            )
        },
    )
    .await;
    check_row(
        &w,
        "POST domain for the department",
        expect([C, F, C, F, F, U, U, C]),
        |c| async move {
            (
                Method::POST,
                "/api/domain/v1".into(),
                Some(json!({"name": format!("dept-{c}.camford.ac.uk"),
                        "delegations": [{"orgId": physics, "certTypes": ["SSL"]}]})),
            )
        },
    )
    .await;
    check_row(&w, "DELETE domain", expect([F, F, F, F, F, U, U, N]), |c| {
        let a = a.clone();
        let system = system.clone();
        async move {
            let id = a
                .create_domain(
                    &system,
                    &format!("doomed-{c}.camford.ac.uk"),
                    "",
                    &[(OrgId(camford), vec![CertificateType::Ssl])],
                    true,
                )
                .await
                .unwrap();
            (Method::DELETE, format!("/api/domain/v1/{id}"), None)
        }
    })
    .await;
    const G: u16 = 404;
    for (org, name, codes) in [
        (
            camford,
            "POST acme account (organisation)",
            [C, F, F, F, C, U, U, C],
        ),
        (
            physics,
            "POST acme account (department)",
            [C, F, C, F, C, U, U, C],
        ),
    ] {
        check_row(&w, name, expect(codes), |c| async move {
            (
                Method::POST,
                "/api/acme/v1/account".into(),
                Some(
                    json!({"name": format!("acme-{c}"), "acmeServer": "OV ACME Server",
                        "organizationId": org, "evDetails": {}}),
                ),
            )
        })
        .await;
    }
    let physics_account = |c: &'static str| {
        let a = a.clone();
        let system = system.clone();
        async move {
            a.create_acme_account(
                &system,
                &format!("physics-{c}"),
                "OV ACME Server",
                OrgId(physics),
            )
            .await
            .unwrap()
            .0
        }
    };
    check_row(
        &w,
        "GET acme account",
        expect([A, G, A, G, A, U, U, A]),
        |c| {
            let account = physics_account(c);
            async move {
                (
                    Method::GET,
                    format!("/api/acme/v2/account/{}", account.await),
                    None,
                )
            }
        },
    )
    .await;
    check_row(
        &w,
        "DELETE acme account",
        expect([N, G, N, G, N, U, U, N]),
        |c| {
            let account = physics_account(c);
            async move {
                (
                    Method::DELETE,
                    format!("/api/acme/v1/account/{}", account.await),
                    None,
                )
            }
        },
    )
    .await;
    check_row(
        &w,
        "POST dcv status",
        expect([A, F, A, F, F, U, U, A]),
        |_| async {
            (
                Method::POST,
                "/api/dcv/v1/validation/status".into(),
                Some(json!({"domain": "physics.camford.ac.uk"})),
            )
        },
    )
    .await;
    check_row(
        &w,
        "GET ssl types",
        expect([A, A, A, A, A, U, U, A]),
        |_| async { (Method::GET, "/api/ssl/v1/types".into(), None) },
    )
    .await;
    check_row(
        &w,
        "POST activity report",
        expect([A, A, A, A, A, U, U, A]),
        |_| async {
            (
                Method::POST,
                "/api/report/v1/activity".into(),
                Some(json!({})),
            )
        },
    )
    .await;
    check_row(
        &w,
        "GET privileges",
        expect([A, A, A, A, A, U, U, A]),
        |_| async { (Method::GET, "/api/admin/v1/privileges".into(), None) },
    )
    .await;
}

#[tokio::test]
async fn scopes_limit_what_lists_show_and_refusals_say_why() {
    let w = world().await;
    let (_, orgs) = call(&w.app, "drao", Method::GET, "/api/organization/v1", None).await;
    assert_eq!(
        orgs,
        json!([{"id": w.camford.0, "name": "Camford", "certTypes": ["SSL"],
                "departments": [{"id": w.physics.0, "name": "Physics", "parentName": "Camford",
                                 "certTypes": ["SSL"]}]}])
    );
    let (status, body) = call(
        &w.app,
        "rao",
        Method::POST,
        "/api/admin/v1",
        Some(
            json!({"login": "x-1", "email": "x1@camford.ac.uk", "password": PASSWORD,
                    "credentials": [{"role": "DRAO_SSL", "orgId": w.physics.0}],
                    "privileges": ["sslRevoke"]}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body,
        json!({"code": -3, "description": "you cannot grant the privilege sslRevoke: you do not \
               hold it yourself; ask the operator (MRAO) to grant it"})
    );
    let (status, body) = call(
        &w.app,
        "rao",
        Method::POST,
        "/api/admin/v1",
        Some(
            json!({"login": "x-2", "email": "not-an-email", "password": PASSWORD,
                    "credentials": [{"role": "DRAO_SSL", "orgId": w.physics.0}]}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"code": -1601, "description": "invalid email: 'not-an-email' is not an e-mail address"})
    );
    let (status, body) = call(&w.app, "mrao", Method::GET, "/api/admin/v1/9999", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["description"], "no administrator 9999");
}

async fn form(app: &Router, body: &str) -> (StatusCode, Value) {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri("/oauth2/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body.to_owned()))
        .unwrap();
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::from(([192, 0, 2, 10], 40000))));
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn bearer(app: &Router, token: &str, path: &str) -> StatusCode {
    let mut request = Request::builder()
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::from(([192, 0, 2, 10], 40000))));
    app.clone().oneshot(request).await.unwrap().status()
}

#[tokio::test]
async fn oauth_tokens_are_for_api_admins() {
    let w = world().await;
    let (status, body) = form(
        &w.app,
        &format!("grant_type=client_credentials&client_id=api&client_secret={PASSWORD}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    let token = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        bearer(&w.app, &token, "/api/organization/v1").await,
        StatusCode::OK
    );
    assert_eq!(
        bearer(&w.app, "not-a-token", "/api/organization/v1").await,
        StatusCode::UNAUTHORIZED
    );
    let (status, body) = form(
        &w.app,
        &format!(
            "grant_type=client_credentials&client_id=rao&client_secret={}",
            changed("rao")
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");
    let (status, body) = form(&w.app, "grant_type=password&client_id=api&client_secret=x").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "unsupported_grant_type");
}

#[tokio::test]
async fn a_new_admin_must_change_the_password_first() {
    let w = world().await;
    let system = Actor::system(AccessMethod::Cli);
    w.authority
        .create_admin(
            &system,
            new_admin(
                "fresh",
                AdminRole::DraoSsl,
                w.physics,
                vec![],
                AdminType::Standard,
            ),
        )
        .await
        .unwrap();
    let fresh_call = |method: Method, path: &'static str, body: Option<Value>, password: &str| {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header("login", "fresh")
            .header("password", password)
            .header("customerUri", CUSTOMER)
            .header("content-type", "application/json");
        request = request.header("accept", "application/json");
        let mut request = request
            .body(Body::from(body.map(|b| b.to_string()).unwrap_or_default()))
            .unwrap();
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([192, 0, 2, 10], 40000))));
        let app = w.app.clone();
        async move {
            let response = app.oneshot(request).await.unwrap();
            let status = response.status();
            let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
                .await
                .unwrap();
            (
                status,
                serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::Null),
            )
        }
    };
    let (status, body) = fresh_call(Method::GET, "/api/organization/v1", None, PASSWORD).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body["description"],
        "your password must be changed before you can continue: POST \
         /api/admin/v1/changepassword with {\"newPassword\": \"...\"}"
    );
    let (status, body) = fresh_call(
        Method::POST,
        "/api/admin/v1/changepassword",
        Some(json!({"newPassword": "short"})),
        PASSWORD,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["description"],
        "invalid password: a password must be at least 12 characters long"
    );
    let (status, _) = fresh_call(
        Method::POST,
        "/api/admin/v1/changepassword",
        Some(json!({"newPassword": "the fresh password"})),
        PASSWORD,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = fresh_call(
        Method::GET,
        "/api/organization/v1",
        None,
        "the fresh password",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn the_email_dcv_link_validates_only_on_confirm() {
    let w = world().await;
    let system = Actor::system(AccessMethod::Cli);
    let a = &w.authority;
    a.create_domain(
        &system,
        "camford.ac.uk",
        "",
        &[(w.camford, vec![CertificateType::Ssl])],
        true,
    )
    .await
    .unwrap();
    let mrao = a.store().admin_by_login("mrao").await.unwrap().unwrap();
    let mrao = Actor::admin(&mrao, AccessMethod::RestApi, "");
    a.dcv_submit(
        &mrao,
        "camford.ac.uk",
        castellan_ra::dcv::DcvMethod::Email,
        Some("postmaster@camford.ac.uk"),
    )
    .await
    .unwrap();
    let mail = &a.store().emails(1).await.unwrap()[0];
    assert_eq!(mail.email.recipient, "postmaster@camford.ac.uk");
    let start = mail
        .email
        .body_text
        .find("/customer/camford/dcv/email/")
        .unwrap();
    let path: String = mail.email.body_text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    let page = |method: Method| {
        let mut request = Request::builder()
            .method(method)
            .uri(path.clone())
            .body(Body::empty())
            .unwrap();
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([192, 0, 2, 10], 40000))));
        let app = w.app.clone();
        async move {
            let response = app.oneshot(request).await.unwrap();
            let status = response.status();
            let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
                .await
                .unwrap();
            (status, String::from_utf8_lossy(&bytes).into_owned())
        }
    };
    // Opening the link (as a mail scanner would) validates nothing.
    let (status, html) = page(Method::GET).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("<form method=\"post\"") && html.contains("Confirm"),
        "{html}"
    );
    let (record, status) = a.dcv_state(&mrao, "camford.ac.uk").await.unwrap();
    assert_eq!(status.as_str(), "NOT_VALIDATED");
    assert_eq!(record.order_status, "SUBMITTED");
    // The button does.
    let (status, html) = page(Method::POST).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        html.contains("Control of <b>camford.ac.uk</b> is validated"),
        "{html}"
    );
    let (_, status) = a.dcv_state(&mrao, "camford.ac.uk").await.unwrap();
    assert_eq!(status.as_str(), "VALIDATED");
    let (status, html) = page(Method::POST).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("unknown, already used"), "{html}");
}

/// Camford validated, `*.camford.ac.uk` delegated to it for SSL with a current DCV.
async fn ready_for_ssl(w: &World) {
    let system = Actor::system(AccessMethod::Cli);
    let a = &w.authority;
    a.update_organization(
        &system,
        w.camford,
        OrganizationPatch {
            validated: Some(true),
            ..OrganizationPatch::default()
        },
    )
    .await
    .unwrap();
    a.create_domain(
        &system,
        "*.camford.ac.uk",
        "",
        &[(w.camford, vec![CertificateType::Ssl])],
        true,
    )
    .await
    .unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut tx = a.store().begin().await.unwrap();
    tx.save_dcv(&castellan_store::DcvRecord {
        domain: "camford.ac.uk".into(),
        order_status: "NOT_INITIATED".into(),
        validated_method: "CNAME".into(),
        validated_at: Some(now),
        expires_at: Some(now + 86_400),
        updated_at: now,
        ..castellan_store::DcvRecord::default()
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

fn csr_pem(cn: &str) -> String {
    let key = castellan_pki::keys::generate(castellan_model::KeyType::EcP256).unwrap();
    let signer = castellan_pki::signer::SoftwareSigner::from_pkcs8(&key.pkcs8).unwrap();
    let der = castellan_pki::csr::create(&signer, cn, &[]).unwrap();
    castellan_pki::encode::pem_encode("CERTIFICATE REQUEST", &der)
}

#[tokio::test]
async fn an_order_is_pending_until_approved_then_collectable() {
    let w = world().await;
    ready_for_ssl(&w).await;
    let system = Actor::system(AccessMethod::Cli);
    let rao = w
        .authority
        .store()
        .admin_by_login("rao")
        .await
        .unwrap()
        .unwrap();
    w.authority
        .update_admin(
            &system,
            rao.id,
            castellan_ra::admins::AdministratorPatch {
                privileges: Some(vec![Privilege::SslRequest]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let (status, body) = call(
        &w.app,
        "rao",
        Method::POST,
        "/api/ssl/v1/enroll",
        Some(json!({"orgId": w.camford.0, "certType": 1, "term": 90,
                    "csr": csr_pem("portal.camford.ac.uk"), "numberServers": 1,
                    "serverType": -1, "subjAltNames": null})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id = body["sslId"].as_i64().unwrap();
    let collect = format!("/api/ssl/v1/collect/{id}/x509CO");
    let (status, body) = call(&w.app, "rao", Method::GET, &collect, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"code": 0, "description": "Being processed by Sectigo"})
    );

    //                                        rao rao-o drao drao-s api susp none mrao
    check_row(
        &w,
        "GET ssl order",
        expect([A, F, F, F, A, U, U, A]),
        |_| async move { (Method::GET, format!("/api/ssl/v1/{id}"), None) },
    )
    .await;
    let (status, body) = call(
        &w.app,
        "rao",
        Method::POST,
        &format!("/api/ssl/v1/approve/{id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(
        body["description"],
        "you need the privilege sslApprove to approve SSL certificates; ask an administrator who \
         holds it"
    );
    // Camford has no city: the approved order fails the OV lint and is marked Invalid, with
    // the reason, as SCM does.
    let approve = |id: i64| {
        let path = format!("/api/ssl/v1/approve/{id}");
        let app = w.app.clone();
        async move { call(&app, "mrao", Method::POST, &path, None).await }
    };
    let (status, body) = approve(id).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["description"],
        "pre-issuance lint e_ov_subject_missing_locality_or_state failed: an \
         organisation-validated subject needs L or ST; fill in the organisation's city or state"
    );
    let (_, order) = call(
        &w.app,
        "rao",
        Method::GET,
        &format!("/api/ssl/v1/{id}"),
        None,
    )
    .await;
    assert_eq!(order["status"], "Invalid");
    let (status, body) = call(&w.app, "rao", Method::GET, &collect, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"code": -130, "description": "SSL state is not 'ISSUED' but 'Invalid'"})
    );

    // With the city filled in, a new order is issued on approval.
    w.authority
        .update_organization(
            &system,
            w.camford,
            OrganizationPatch {
                city: Some("Camford".into()),
                validated: Some(true),
                ..OrganizationPatch::default()
            },
        )
        .await
        .unwrap();
    let (status, body) = call(
        &w.app,
        "rao",
        Method::POST,
        "/api/ssl/v1/enroll",
        Some(json!({"orgId": w.camford.0, "certType": 1, "term": 90,
                    "csr": csr_pem("portal.camford.ac.uk")})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id = body["sslId"].as_i64().unwrap();
    let (status, body) = approve(id).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    let mut request = Request::builder()
        .uri(format!("/api/ssl/v1/collect/{id}?format=pemia"))
        .header("login", "rao")
        .header("password", changed("rao"))
        .header("customerUri", CUSTOMER)
        .body(Body::empty())
        .unwrap();
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::from(([192, 0, 2, 10], 40000))));
    let response = w.app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "application/octet-stream;charset=UTF-8"
    );
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    assert!(text.starts_with("-----BEGIN CERTIFICATE-----"));
    assert_eq!(
        text.matches("-----BEGIN CERTIFICATE-----").count(),
        2,
        "leaf and issuing CA"
    );
    let (status, body) = call(
        &w.app,
        "rao",
        Method::GET,
        &format!("/api/ssl/v1/{id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "Issued");
    let (status, body) = call(
        &w.app,
        "rao",
        Method::GET,
        "/api/ssl/v1/collect/999/x509CO",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], -124);

    // Revocation: a reason code SCM accepts, sslRevoke, once.
    let revoke = format!("/api/ssl/v1/revoke/{id}");
    let (status, body) = call(
        &w.app,
        "mrao",
        Method::POST,
        &revoke,
        Some(json!({"reason": "key lost", "reasonCode": 2})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["description"],
        "invalid reasonCode: 2 is not accepted; use 0 (unspecified), 1 (keyCompromise), 3 \
         (affiliationChanged), 4 (superseded), 5 (cessationOfOperation), 9 (privilegeWithdrawn)"
    );
    let (status, body) = call(
        &w.app,
        "rao",
        Method::POST,
        &revoke,
        Some(json!({"reason": "key lost", "reasonCode": 1})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = call(
        &w.app,
        "mrao",
        Method::POST,
        &revoke,
        Some(json!({"reason": "replaced by a new server", "reasonCode": 4})),
    )
    .await;
    // (keyCompromise would block the key, and the renewal below reuses it.)
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (_, order) = call(
        &w.app,
        "rao",
        Method::GET,
        &format!("/api/ssl/v1/{id}"),
        None,
    )
    .await;
    assert_eq!(order["status"], "Revoked");
    assert_eq!(order["reasonCode"], 4);
    assert_eq!(order["certType"]["name"], "OV SSL");
    assert_eq!(order["validationType"], "Organization Validation (OV)");
    assert_eq!(order["extendedKeyUsages"], json!(["serverAuth"]));
    assert!(
        order["vendor"].as_str().unwrap().contains("ECC Issuing CA"),
        "{order}"
    );
    let (status, body) = call(
        &w.app,
        "rao",
        Method::GET,
        &format!("/api/ssl/v1/collect/{id}/x509CO"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"code": -110, "description": "Certificate has been revoked and cannot be downloaded"})
    );
    let (status, body) = call(
        &w.app,
        "mrao",
        Method::POST,
        &revoke,
        Some(json!({"reason": "again"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"code": -159, "description": "Your certificate already revoked"})
    );

    // Renewal by renewId (a new order, auto-approved for the operator), then revocation of
    // the renewal by its serial number.
    let (_, order) = call(
        &w.app,
        "mrao",
        Method::GET,
        &format!("/api/ssl/v1/{id}"),
        None,
    )
    .await;
    let renew_id = order["renewId"].as_str().unwrap().to_owned();
    let (status, body) = call(
        &w.app,
        "mrao",
        Method::POST,
        &format!("/api/ssl/v1/renew/{renew_id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (_, list) = call(
        &w.app,
        "mrao",
        Method::GET,
        "/api/ssl/v1?status=Issued",
        None,
    )
    .await;
    let renewed = &list.as_array().unwrap()[0];
    assert_ne!(renewed["sslId"], json!(id));
    let serial = renewed["serialNumber"].as_str().unwrap().to_owned();
    let (status, body) = call(
        &w.app,
        "mrao",
        Method::POST,
        &format!("/api/ssl/v1/revoke/serial/{serial}"),
        Some(json!({"reason": "superseded", "reasonCode": 4})),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (_, list) = call(
        &w.app,
        "mrao",
        Method::GET,
        "/api/ssl/v1?status=Issued",
        None,
    )
    .await;
    assert_eq!(list, json!([]));
    let (status, body) = call(
        &w.app,
        "mrao",
        Method::POST,
        "/api/ssl/v1/revoke/serial/0A:0B",
        Some(json!({"reason": "x"})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["code"], -124);

    // The SSL report: every order the caller sees, filtered by SCM's status codes.
    let report = |filter: Value| {
        let app = w.app.clone();
        async move {
            call(
                &app,
                "rao",
                Method::POST,
                "/api/report/v1/ssl-certificates",
                Some(filter),
            )
            .await
        }
    };
    let (status, all) = report(json!({})).await;
    assert_eq!(status, StatusCode::OK, "{all}");
    let rows = all["reports"].as_array().unwrap();
    assert_eq!(rows.len(), 3, "{all}");
    assert_eq!(rows[0]["organizationName"], "Camford");
    assert_eq!(rows[0]["type"], "OV SSL");
    assert_eq!(
        rows[0]["subjAltNames"],
        "portal.camford.ac.uk; www.portal.camford.ac.uk"
    );
    let (_, revoked) =
        report(json!({"certificateStatus": 3, "organizationIds": [w.camford.0]})).await;
    assert_eq!(revoked["reports"].as_array().unwrap().len(), 2, "{revoked}");
    let (_, other_org) = report(json!({"organizationIds": [w.camford.0 + 1000]})).await;
    assert_eq!(other_org["reports"], json!([]));
    let today = {
        let t = time::OffsetDateTime::now_utc();
        format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
    };
    let (_, revoked_today) =
        report(json!({"certificateDateAttribute": 2, "from": today, "to": today})).await;
    assert_eq!(
        revoked_today["reports"].as_array().unwrap().len(),
        2,
        "{revoked_today}"
    );
    let (_, requested_long_ago) =
        report(json!({"certificateDateAttribute": 4, "from": "2001-01-01", "to": "2001-12-31"}))
            .await;
    assert_eq!(requested_long_ago["reports"], json!([]));
    let listed = |query: &'static str| {
        let app = w.app.clone();
        async move {
            let (_, body) = call(
                &app,
                "rao",
                Method::GET,
                &format!("/api/ssl/v1?{query}"),
                None,
            )
            .await;
            body.as_array().map(Vec::len).unwrap_or(usize::MAX)
        }
    };
    assert_eq!(listed("extendedKeyUsage=serverAuth").await, 3);
    assert_eq!(listed("extendedKeyUsage=1.3.6.1.5.5.7.3.1").await, 3);
    assert_eq!(listed("extendedKeyUsage=emailProtection").await, 0);
    assert_eq!(listed("keyUsage=digitalSignature").await, 3);
    assert_eq!(listed("keyUsage=keyCertSign").await, 0);
    assert_eq!(
        listed("vendor=ECC%20Issuing").await,
        2,
        "the Invalid order has no certificate"
    );
    assert_eq!(listed("vendor=RSA%20Issuing").await, 0);
    let der = w
        .authority
        .certificate(&castellan_ra::CertificateSelector::Serial(serial.clone()))
        .await
        .unwrap()
        .certificate
        .der;
    let md5_hex = {
        use md5::Digest as _;
        md5::Md5::digest(&der)
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":")
    };
    let (_, by_md5) = call(
        &w.app,
        "rao",
        Method::GET,
        &format!("/api/ssl/v1?md5Hash={md5_hex}"),
        None,
    )
    .await;
    assert_eq!(by_md5.as_array().unwrap().len(), 1, "{by_md5}");
    assert_eq!(listed("md5Hash=00112233445566778899aabbccddeeff").await, 0);
    let (status, bad) = report(json!({"certificateStatus": 9})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        bad["description"],
        "certificateStatus 9 is not one of 0 (any), 1 (requested), 2 (issued), 3 (revoked), 4 \
         (expired)"
    );
}

#[tokio::test]
async fn malformed_bodies_are_400_with_a_description() {
    let w = world().await;
    ready_for_ssl(&w).await;
    let raw = |body: &'static str| {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri("/api/ssl/v1/enroll")
            .header("login", "mrao")
            .header("password", changed("mrao"))
            .header("customerUri", CUSTOMER)
            .header("content-type", "application/json")
            .body(Body::from(body))
            .unwrap();
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([192, 0, 2, 10], 40000))));
        let app = w.app.clone();
        async move {
            let response = app.oneshot(request).await.unwrap();
            let status = response.status();
            let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
                .await
                .unwrap();
            (status, serde_json::from_slice::<Value>(&bytes).unwrap())
        }
    };
    let (status, body) = raw("{not json").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["description"]
            .as_str()
            .unwrap()
            .starts_with("the body is not valid JSON: "),
        "{body}"
    );
    let (status, body) = raw(r#"{"orgId": 1, "certType": 1, "term": "ninety", "csr": "x"}"#).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["description"]
            .as_str()
            .unwrap()
            .starts_with("invalid request: expected an integer, got \"ninety\""),
        "{body}"
    );
    let (status, body) = raw(r#"{"orgId": 1, "certType": 1, "term": 90}"#).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"code": -7, "description": "csr is required but missing"})
    );
    let (status, body) =
        raw(r#"{"orgId": 1, "certType": 1, "term": 90, "csr": "not a csr"}"#).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], -10, "{body}");
}
