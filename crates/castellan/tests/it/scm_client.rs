//! The public SCM python client (`cert_manager`, pinned in scripts/test) against a running
//! Castellan. SCM customers' scripts use that library as it ships, so it is run unchanged:
//! what it sends and parses is the compatibility contract. The checks themselves live in
//! tests/python/scm_admin_org.py; this test prepares the server they need.

use crate::support::*;
use std::path::{Path, PathBuf};
use std::process::Command;

pub(crate) const CUSTOMER_URI: &str = "camford";
pub(crate) const LOGIN: &str = "admin";
/// `Workspace`'s password file holds this; init gives it to the first administrator.
pub(crate) const INITIAL_PASSWORD: &str = "correct horse battery";
pub(crate) const NEW_PASSWORD: &str = "a new password for the SCM client";
const ORG: &str = "University of Camford";
const DEPT: &str = "Physics";
const DCV_DOMAIN: &str = "camford.ac.uk";
const DCV_ZONE: &str = "dcv.castellan.test";

/// The python that can import `cert_manager`: scripts/test's venv (CASTELLAN_TOOLS_BIN),
/// else `python3` on PATH. Without it the test fails: a silent pass would hide that the
/// compatibility check never ran.
fn python_with_cert_manager() -> PathBuf {
    let python = std::env::var_os("CASTELLAN_TOOLS_BIN")
        .map(|bin| PathBuf::from(bin).join("python"))
        .filter(|python| python.exists())
        .unwrap_or_else(|| PathBuf::from("python3"));
    let advice = "run scripts/test, which installs the pinned SCM python client (PyPI \
                  cert-manager) into .test-tools/venv and exports CASTELLAN_TOOLS_BIN";
    match Command::new(&python)
        .args(["-c", "import cert_manager"])
        .output()
    {
        Ok(out) if out.status.success() => python,
        Ok(out) => panic!(
            "{} cannot import cert_manager ({}); {advice}",
            python.display(),
            stderr(&out).trim()
        ),
        Err(e) => panic!("cannot run {}: {e}; {advice}", python.display()),
    }
}

/// SCM's header authentication (§1.1 of the SCM API spec).
pub(crate) fn scm(request: reqwest::RequestBuilder, password: &str) -> reqwest::RequestBuilder {
    request
        .header("login", LOGIN)
        .header("password", password)
        .header("customerUri", CUSTOMER_URI)
}

/// Sends `request` and returns its status, `Location` header and body text.
pub(crate) async fn send(request: reqwest::RequestBuilder) -> (u16, Option<String>, String) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned());
    (status, location, response.text().await.unwrap())
}

/// `POST /api/organization/v1` with `body`; returns the id that `Location` names.
pub(crate) async fn create_organization(
    http: &reqwest::Client,
    base: &str,
    body: serde_json::Value,
    server: &Server,
) -> u64 {
    let (status, location, text) = send(
        scm(
            http.post(format!("{base}/api/organization/v1")),
            NEW_PASSWORD,
        )
        .json(&body),
    )
    .await;
    assert_eq!(
        status,
        201,
        "POST /api/organization/v1 {body} -> {status}: {text}\nserver log:\n{}",
        server.log()
    );
    let location = location.unwrap_or_else(|| panic!("201 without Location for {body}"));
    let (path, id) = location.rsplit_once('/').unwrap();
    assert!(
        path.ends_with("/api/organization/v1"),
        "Location {location} is not under /api/organization/v1"
    );
    id.parse()
        .unwrap_or_else(|_| panic!("Location {location} does not end in an id"))
}

fn script_command(python: &Path, base: &str, name: &str) -> Command {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/python")
        .join(name);
    let mut cmd = Command::new(python);
    cmd.arg(&script)
        .env("CASTELLAN_API_BASE", format!("{base}/api"))
        .env("CASTELLAN_LOGIN", LOGIN)
        .env("CASTELLAN_PASSWORD", NEW_PASSWORD)
        .env("CASTELLAN_CUSTOMER_URI", CUSTOMER_URI)
        .env("CASTELLAN_EXPECT_ORG", ORG)
        .env("CASTELLAN_EXPECT_DEPT", DEPT)
        .env("CASTELLAN_DCV_DOMAIN", DCV_DOMAIN)
        .env("CASTELLAN_DCV_ZONE", DCV_ZONE)
        // requests honours proxy variables; loopback must never go through one.
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost");
    cmd
}

/// The operator's first step: the initial password `init` set becomes [`NEW_PASSWORD`].
pub(crate) async fn operator_password(http: &reqwest::Client, base: &str) {
    let (status, _, text) = send(
        scm(
            http.post(format!("{base}/api/admin/v1/changepassword")),
            INITIAL_PASSWORD,
        )
        .json(&serde_json::json!({ "newPassword": NEW_PASSWORD })),
    )
    .await;
    assert!(status == 200 || status == 204, "{status}: {text}");
}

/// An administrator's own password change (their first, after an initial one).
pub(crate) async fn change_password(
    http: &reqwest::Client,
    base: &str,
    login: &str,
    old: &str,
    new: &str,
) {
    let (status, _, text) = send(
        http.post(format!("{base}/api/admin/v1/changepassword"))
            .header("login", login)
            .header("password", old)
            .header("customerUri", CUSTOMER_URI)
            .json(&serde_json::json!({"newPassword": new})),
    )
    .await;
    assert_eq!(status, 200, "{text}");
}

/// Publishes the CNAME a started DCV `order` asks for on the test DNS server, and submits it
/// through the SCM API; asserts it passes.
pub(crate) async fn publish_and_submit(
    http: &reqwest::Client,
    base: &str,
    dns: &castellan_testkit::dns::TestDns,
    domain: &str,
    order: &serde_json::Value,
    server: &Server,
) {
    let host = order["host"].as_str().unwrap().trim_end_matches('.');
    dns.add_cname(host, order["point"].as_str().unwrap()).await;
    let (status, _, text) = send(
        scm(
            http.post(format!("{base}/api/dcv/v1/validation/submit/domain/cname")),
            NEW_PASSWORD,
        )
        .json(&serde_json::json!({"domain": domain})),
    )
    .await;
    assert_eq!(status, 200, "{text}");
    let submitted: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(submitted["status"], "VALIDATED", "{text}\n{}", server.log());
}

fn run_script(python: &Path, base: &str, name: &str) -> std::process::Output {
    script_command(python, base, name).output().unwrap()
}

// Several threads: the in-process DNS server must answer while the python client runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scm_python_client_manages_organizations_admins_and_reports() {
    // Before any server work: a missing client is a set-up problem, said first.
    let python = python_with_cert_manager();
    let ws = Workspace::new();
    ok(ws.init("data", &["--customer-uri", CUSTOMER_URI]));
    // Validation asks a real DNS server on loopback, whose records this test sets.
    let dns = castellan_testkit::dns::TestDns::start().await;
    let dns_servers = dns.addr().to_string();
    // A known port, so base_url (and the ACME URLs built on it) name this server.
    let port = castellan_testkit::smtp::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let server = Server::start(
        &ws.path("data"),
        &["--http", "--listen", &format!("127.0.0.1:{port}")],
        &[
            ("CASTELLAN_BASE_URL", &base),
            // The most talkative log, to show that even it carries no secret.
            ("RUST_LOG", "debug"),
            // CRLs follow revocations within a second.
            ("CASTELLAN_REVOCATION__CRL_DELAY_SECONDS", "1"),
            ("CASTELLAN_DNS_SERVERS", &dns_servers),
            ("CASTELLAN_VALIDATION__DCV_ZONE", DCV_ZONE),
            (
                "CASTELLAN_VALIDATION__CAA_IDENTITIES",
                "[\"castellan.test\"]",
            ),
        ],
    );
    assert_eq!(server.port, port);
    let http = reqwest::Client::builder().no_proxy().build().unwrap();

    // The first administrator's password was set by init, so it must be changed first.
    let (status, _, text) = send(
        scm(
            http.post(format!("{base}/api/admin/v1/changepassword")),
            INITIAL_PASSWORD,
        )
        .json(&serde_json::json!({ "newPassword": NEW_PASSWORD })),
    )
    .await;
    assert!(
        status == 200 || status == 204,
        "POST /api/admin/v1/changepassword -> {status}: {text}\nserver log:\n{}",
        server.log()
    );

    let org_id = create_organization(
        &http,
        &base,
        serde_json::json!({
            "name": ORG,
            "address1": "1 High Street",
            "city": "Camford",
            "stateOrProvince": "Camfordshire",
            "postalCode": "CF1 1AA",
            "country": "GB",
            "certTypes": ["SSL", "SMIME", "CodeSign"],
        }),
        &server,
    )
    .await;
    let dept_id = create_organization(
        &http,
        &base,
        serde_json::json!({ "name": DEPT, "parentId": org_id }),
        &server,
    )
    .await;
    assert_ne!(dept_id, org_id, "a department has an id of its own");
    let (status, _, text) = send(
        scm(http.post(format!("{base}/api/domain/v1")), NEW_PASSWORD).json(&serde_json::json!({
            "name": DCV_DOMAIN,
            "delegations": [{"orgId": org_id, "certTypes": ["SSL", "SMIME"]}],
        })),
    )
    .await;
    assert_eq!(
        status,
        201,
        "POST /api/domain/v1 -> {text}\n{}",
        server.log()
    );

    for script in ["scm_admin_org.py", "scm_domains.py", "scm_person.py"] {
        let (python, base_url) = (python.clone(), base.clone());
        let out = tokio::task::spawn_blocking(move || run_script(&python, &base_url, script))
            .await
            .unwrap();
        assert!(
            out.status.success(),
            "tests/python/{script} failed ({}):\n{}{}\nserver log:\n{}",
            out.status,
            stdout(&out),
            stderr(&out),
            server.log()
        );
        println!("{}", stdout(&out));
    }
    // The order the python client submitted passes once the record is published.
    let (_, _, text) = send(
        scm(
            http.post(format!("{base}/api/dcv/v1/validation/status")),
            NEW_PASSWORD,
        )
        .json(&serde_json::json!({"domain": DCV_DOMAIN})),
    )
    .await;
    let order: serde_json::Value = serde_json::from_str(&text).unwrap();
    publish_and_submit(&http, &base, &dns, DCV_DOMAIN, &order, &server).await;
    let (_, _, text) = send(scm(
        http.post(format!("{base}/api/report/v1/domains")),
        NEW_PASSWORD,
    ))
    .await;
    let report: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(report["reports"][0]["name"], DCV_DOMAIN, "{text}");
    assert_eq!(report["reports"][0]["dcvStatus"], "Validated", "{text}");

    // SSL orders: the organisation validated, *.camford.ac.uk delegated (its DCV passed
    // above), and the python client's SSL class end to end.
    let (status, _, text) = send(
        scm(
            http.put(format!("{base}/api/organization/v1/{org_id}")),
            NEW_PASSWORD,
        )
        // Client certificates carry the organisation identifier (CA/B S/MIME BR 7.1.4.2.2).
        .json(&serde_json::json!({
            "validationStatus": "Validated",
            "organizationIdentifier": "NTRGB-RC000123",
        })),
    )
    .await;
    assert_eq!(status, 200, "{text}");
    let (status, _, text) = send(
        scm(http.post(format!("{base}/api/domain/v1")), NEW_PASSWORD).json(&serde_json::json!({
            "name": format!("*.{DCV_DOMAIN}"),
            "delegations": [{"orgId": org_id, "certTypes": ["SSL"]}],
        })),
    )
    .await;
    assert_eq!(status, 201, "{text}");
    let (csr, _key) =
        castellan_testkit::tools::openssl_csr(ws.dir.path(), "portal", "/CN=portal.camford.ac.uk");
    // An RAO without auto-approval, for the pending order.
    let (status, _, text) = send(
        scm(http.post(format!("{base}/api/admin/v1")), NEW_PASSWORD).json(&serde_json::json!({
            "login": "rao-pending", "email": "rao-pending@camford.ac.uk",
            "forename": "Rao", "surname": "Pending", "password": "an initial rao password",
            "credentials": [{"role": "RAO_SSL", "orgId": org_id}],
            "privileges": ["sslRequest"],
        })),
    )
    .await;
    assert_eq!(status, 201, "{text}");
    change_password(
        &http,
        &base,
        "rao-pending",
        "an initial rao password",
        "the rao's own password",
    )
    .await;
    let (python2, base_url) = (python.clone(), base.clone());
    let csr_path = csr.to_str().unwrap().to_owned();
    let (csr2, _key2) =
        castellan_testkit::tools::openssl_csr(ws.dir.path(), "portal2", "/CN=portal.camford.ac.uk");
    let csr2_path = csr2.to_str().unwrap().to_owned();
    let out = tokio::task::spawn_blocking(move || {
        let mut cmd = script_command(&python2, &base_url, "scm_ssl.py");
        cmd.env("CASTELLAN_CSR_FILE", csr_path);
        cmd.env("CASTELLAN_CSR2_FILE", csr2_path);
        cmd.env("CASTELLAN_RAO_LOGIN", "rao-pending");
        cmd.env("CASTELLAN_RAO_PASSWORD", "the rao's own password");
        cmd.output().unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "tests/python/scm_ssl.py failed ({}):\n{}{}\nserver log:\n{}",
        out.status,
        stdout(&out),
        stderr(&out),
        server.log()
    );
    println!("{}", stdout(&out));

    // The operator approves the pending order; then it is collectable, PKCS#7 DER included.
    let pending: i64 = stdout(&out)
        .lines()
        .find_map(|l| l.strip_prefix("PENDING-SSL-ID: "))
        .and_then(|id| id.trim().parse().ok())
        .expect("the script names the pending order");
    let (status, _, text) = send(scm(
        http.post(format!("{base}/api/ssl/v1/approve/{pending}")),
        NEW_PASSWORD,
    ))
    .await;
    assert_eq!(status, 204, "{text}");
    let response = scm(
        http.get(format!("{base}/api/ssl/v1/collect/{pending}/bin")),
        NEW_PASSWORD,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    std::fs::write(ws.path("order.p7b"), response.bytes().await.unwrap()).unwrap();
    let printed = castellan_testkit::tools::run(castellan_testkit::tools::openssl().args([
        "pkcs7",
        "-inform",
        "DER",
        "-print_certs",
        "-noout",
        "-in",
        ws.path("order.p7b").to_str().unwrap(),
    ]));
    assert_eq!(printed.matches("subject=").count(), 3, "{printed}");

    // The renewal the python client made (sslId 2, still valid) chains to Castellan's root
    // under `openssl verify -x509_strict` and passes pkilint's server-auth linter.
    let collect = |format: &str| {
        scm(
            http.get(format!("{base}/api/ssl/v1/collect/2/{format}")),
            NEW_PASSWORD,
        )
    };
    let (status, _, leaf) = send(collect("x509CO")).await;
    assert_eq!(status, 200, "{leaf}");
    let (_, _, chain) = send(collect("x509IO")).await;
    let blocks: Vec<String> = chain
        .split_inclusive("-----END CERTIFICATE-----")
        .map(|b| b.trim().to_owned())
        .filter(|b| !b.is_empty())
        .collect();
    assert_eq!(blocks.len(), 2, "root then issuing CA: {chain}");
    for (name, text) in [
        ("leaf.pem", &leaf),
        ("root.pem", &blocks[0]),
        ("issuing.pem", &blocks[1]),
    ] {
        std::fs::write(ws.path(name), text).unwrap();
    }
    let path = |n: &str| ws.path(n).to_str().unwrap().to_owned();
    let verified = castellan_testkit::tools::run(castellan_testkit::tools::openssl().args([
        "verify",
        "-x509_strict",
        "-purpose",
        "sslserver",
        "-CAfile",
        &path("root.pem"),
        "-untrusted",
        &path("issuing.pem"),
        &path("leaf.pem"),
    ]));
    assert!(verified.trim_end().ends_with(": OK"), "{verified}");
    castellan_testkit::tools::run(castellan_testkit::tools::openssl().args([
        "x509",
        "-in",
        &path("leaf.pem"),
        "-outform",
        "DER",
        "-out",
        &path("leaf.der"),
    ]));
    let der = std::fs::read(ws.path("leaf.der")).unwrap();
    let findings = castellan_testkit::tools::pkilint(
        ws.dir.path(),
        "lint_cabf_serverauth_cert",
        &["-d"],
        &der,
    );
    let documented = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/profiles.md"),
    )
    .unwrap();
    for (severity, code) in &findings {
        assert!(
            documented.contains(&format!("`{code}`")),
            "pkilint {severity} {code} is not among the accepted findings in docs/profiles.md"
        );
    }

    // Client certificates through the python client's SMIME class; the one it leaves issued
    // chains to the root for S/MIME signing and passes pkilint's S/MIME linter.
    smime_with_the_python_client(&http, &base, &ws, &python, &server).await;

    // ACME accounts through the python client's ACMEAccount (v1 and v2).
    let (python3, base_url) = (python.clone(), base.clone());
    let out = tokio::task::spawn_blocking(move || run_script(&python3, &base_url, "scm_acme.py"))
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "tests/python/scm_acme.py failed ({}):\n{}{}\nserver log:\n{}",
        out.status,
        stdout(&out),
        stderr(&out),
        server.log()
    );
    println!("{}", stdout(&out));

    // certbot obtains and renews a certificate for a pre-validated name, through the same
    // pipeline: it appears in the SSL list and chains to the root.
    crate::acme_clients::certbot_obtains_and_renews(&http, &base, &ws, &server).await;

    // The script revoked order 1: relying parties see it on the PKI listener.
    let (status, _, details) =
        send(scm(http.get(format!("{base}/api/ssl/v1/1")), NEW_PASSWORD)).await;
    assert_eq!(status, 200, "{details}");
    let details: serde_json::Value = serde_json::from_str(&details).unwrap();
    assert_eq!(details["status"], "Revoked");
    let revoked_serial = details["serialNumber"].as_str().unwrap().replace(':', "");
    crate::pki_http::relying_party_view(&http, &server, &ws, &revoked_serial).await;

    let log = server.log();
    for secret in [INITIAL_PASSWORD, NEW_PASSWORD, "$argon2id$"] {
        assert!(
            !log.contains(secret),
            "the server log contains '{secret}':\n{log}"
        );
    }
    assert!(
        log.contains("/api/admin/v1"),
        "the debug log shows requests:\n{log}"
    );
    server.stop();
}

/// Runs tests/python/scm_smime.py, then checks the certificate it left issued with
/// `openssl verify -purpose smimesign` and pkilint's `lint_cabf_smime_cert`.
async fn smime_with_the_python_client(
    http: &reqwest::Client,
    base: &str,
    ws: &Workspace,
    python: &Path,
    server: &Server,
) {
    let (csr, _) = castellan_testkit::tools::openssl_csr(ws.dir.path(), "smime1", "/CN=ignored");
    let (csr2, _) = castellan_testkit::tools::openssl_csr(ws.dir.path(), "smime2", "/CN=ignored");
    let (python, base_url) = (python.to_owned(), base.to_owned());
    let out = tokio::task::spawn_blocking(move || {
        let mut cmd = script_command(&python, &base_url, "scm_smime.py");
        cmd.env("CASTELLAN_CSR_FILE", csr);
        cmd.env("CASTELLAN_CSR2_FILE", csr2);
        cmd.output().unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "tests/python/scm_smime.py failed ({}):\n{}{}\nserver log:\n{}",
        out.status,
        stdout(&out),
        stderr(&out),
        server.log()
    );
    println!("{}", stdout(&out));
    let kept: i64 = stdout(&out)
        .lines()
        .find_map(|l| l.strip_prefix("SMIME-ID: "))
        .and_then(|id| id.trim().parse().ok())
        .expect("the script names the certificate it kept");
    let collect = |format: &str| {
        scm(
            http.get(format!(
                "{base}/api/smime/v1/collect/{kept}?format={format}"
            )),
            NEW_PASSWORD,
        )
    };
    let (status, _, leaf) = send(collect("x509CO")).await;
    assert_eq!(status, 200, "{leaf}");
    let (_, _, chain) = send(collect("x509IO")).await;
    std::fs::write(ws.path("smime.pem"), &leaf).unwrap();
    let blocks: Vec<&str> = chain
        .split_inclusive("-----END CERTIFICATE-----")
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .collect();
    assert_eq!(blocks.len(), 2, "root then issuing CA: {chain}");
    std::fs::write(ws.path("smime-root.pem"), blocks[0]).unwrap();
    std::fs::write(ws.path("smime-issuing.pem"), blocks[1]).unwrap();
    let path = |n: &str| ws.path(n).to_str().unwrap().to_owned();
    let verified = castellan_testkit::tools::run(castellan_testkit::tools::openssl().args([
        "verify",
        "-x509_strict",
        "-purpose",
        "smimesign",
        "-CAfile",
        &path("smime-root.pem"),
        "-untrusted",
        &path("smime-issuing.pem"),
        &path("smime.pem"),
    ]));
    assert!(verified.trim_end().ends_with(": OK"), "{verified}");
    castellan_testkit::tools::run(castellan_testkit::tools::openssl().args([
        "x509",
        "-in",
        &path("smime.pem"),
        "-outform",
        "DER",
        "-out",
        &path("smime.der"),
    ]));
    let der = std::fs::read(ws.path("smime.der")).unwrap();
    let findings =
        castellan_testkit::tools::pkilint(ws.dir.path(), "lint_cabf_smime_cert", &["-d"], &der);
    let documented = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/profiles.md"),
    )
    .unwrap();
    for (severity, code) in &findings {
        assert!(
            documented.contains(&format!("`{code}`")),
            "pkilint {severity} {code} is not among the accepted findings in docs/profiles.md"
        );
    }
}
