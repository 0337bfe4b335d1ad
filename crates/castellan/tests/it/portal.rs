//! The portal in a real browser: Debian's Chromium driven by playwright-core (npm, pinned in
//! tests/portal/package.json; scripts/test installs both) runs the guide's journeys in
//! tests/portal/journeys.cjs against a running Castellan over HTTPS. This test prepares what
//! the journeys start from (a validated organisation with a validated domain, and its RAO,
//! as the operator would), runs them, and then checks what the browser did: the stored
//! departments and revocation through the SCM API, the downloaded chain with openssl.

use crate::scm_client::{CUSTOMER_URI, NEW_PASSWORD, scm, send};
use crate::support::*;
use std::path::{Path, PathBuf};
use std::process::Command;

const ORG: &str = "University of Camford";
const DOMAIN: &str = "camford.ac.uk";
const DCV_ZONE: &str = "dcv.castellan.test";
const RAO: &str = "rao-portal";
const RAO_INITIAL: &str = "an initial password for the rao";
const RAO_PASSWORD: &str = "the rao's own portal password";
const SECOND: &str = "rao-second";
const SECOND_PASSWORD: &str = "the second rao's password";
/// The passphrase the invited person protects their PKCS#12 with.
const P12_PASSPHRASE: &str = "grace's own passphrase";

fn portal_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/portal")
}

/// The browser and its driver, or a panic that says how to get them: a silent pass would
/// hide that the portal was never tried.
fn check_browser() -> PathBuf {
    let chromium = std::env::var_os("CASTELLAN_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    let advice = "run scripts/test, which installs Debian's chromium and playwright-core \
                  (npm ci in tests/portal)";
    assert!(
        chromium.exists(),
        "{} is missing; {advice}",
        chromium.display()
    );
    assert!(
        portal_dir().join("node_modules/playwright-core").exists(),
        "tests/portal/node_modules/playwright-core is missing; {advice}"
    );
    chromium
}

/// Where screenshots go: `target/portal-screenshots/<journey>/`.
fn screenshots() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/portal-screenshots")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guides_journeys_work_in_a_real_browser() {
    let chromium = check_browser();
    let ws = Workspace::new();
    ok(ws.init("data", &["--customer-uri", CUSTOMER_URI]));
    // Domain validation asks a real DNS server on loopback.
    let dns = std::sync::Arc::new(castellan_testkit::dns::TestDns::start().await);
    let dns_servers = dns.addr().to_string();
    // The browser journeys publish DCV records through its control socket.
    let dns_control = castellan_testkit::dns::TestDns::serve_control(dns.clone()).await;
    // Invitations are mailed to a real SMTP server on loopback; the journey reads its folder.
    let sink = castellan_testkit::smtp::SmtpSink::start();
    let smtp_port = sink.port.to_string();
    let server = Server::start(
        &ws.path("data"),
        &["--listen", "127.0.0.1:0"],
        &[
            // The most talkative log, to show that even it carries no secret (no one-time
            // link of an invitation or a key recovery).
            ("RUST_LOG", "debug"),
            ("CASTELLAN_SMTP__HOST", "127.0.0.1"),
            ("CASTELLAN_SMTP__PORT", &smtp_port),
            ("CASTELLAN_SMTP__SECURITY", "none"),
            ("CASTELLAN_SMTP__FROM", "Castellan <certs@camford.ac.uk>"),
            ("CASTELLAN_DNS_SERVERS", &dns_servers),
            ("CASTELLAN_VALIDATION__DCV_ZONE", DCV_ZONE),
            (
                "CASTELLAN_VALIDATION__CAA_IDENTITIES",
                "[\"castellan.test\"]",
            ),
        ],
    );
    let base = format!("https://127.0.0.1:{}", server.port);
    // The service's own CA signed its TLS certificate; the test trusts it by not checking.
    let http = reqwest::Client::builder()
        .no_proxy()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();

    // The operator (MRAO) sets up an organisation and its RAO with an initial password.
    crate::scm_client::operator_password(&http, &base).await;
    let org_id = crate::scm_client::create_organization(
        &http,
        &base,
        serde_json::json!({
            "name": ORG, "address1": "1 High Street", "city": "Camford",
            "stateOrProvince": "Camfordshire", "postalCode": "CF1 1AA", "country": "GB",
            "certTypes": ["SSL", "SMIME", "CodeSign"],
        }),
        &server,
    )
    .await;
    // Validated by the operator, with camford.ac.uk delegated and its DCV passed.
    let (status, _, text) = send(
        scm(
            http.put(format!("{base}/api/organization/v1/{org_id}")),
            NEW_PASSWORD,
        )
        .json(&serde_json::json!({
            "validationStatus": "Validated",
            "organizationIdentifier": "NTRGB-RC000123",
        })),
    )
    .await;
    assert_eq!(status, 200, "{text}");
    for name in [DOMAIN.to_owned(), format!("*.{DOMAIN}")] {
        let (status, _, text) = send(
            scm(http.post(format!("{base}/api/domain/v1")), NEW_PASSWORD).json(
                &serde_json::json!({
                    "name": name,
                    "delegations": [{"orgId": org_id, "certTypes": ["SSL", "SMIME"]}],
                }),
            ),
        )
        .await;
        assert_eq!(status, 201, "{text}");
    }
    let (status, _, text) = send(
        scm(
            http.post(format!("{base}/api/dcv/v1/validation/start/domain/cname")),
            NEW_PASSWORD,
        )
        .json(&serde_json::json!({"domain": DOMAIN})),
    )
    .await;
    assert_eq!(status, 200, "{text}");
    let started: serde_json::Value = serde_json::from_str(&text).unwrap();
    crate::scm_client::publish_and_submit(&http, &base, &dns, DOMAIN, &started, &server).await;
    let (status, _, text) = send(
        scm(http.post(format!("{base}/api/admin/v1")), NEW_PASSWORD).json(&serde_json::json!({
            "login": RAO, "email": "rao-portal@camford.ac.uk",
            "forename": "Portal", "surname": "Rao", "password": RAO_INITIAL,
            "credentials": [
                {"role": "RAO_SSL", "orgId": org_id},
                {"role": "RAO_SMIME", "orgId": org_id},
            ],
            "privileges": [
                "addDepartments", "editDepartments", "allowManageDomains", "allowCreate",
                "sslRequest", "sslApprove",
                "autoApproveCertificates", "sslRevoke", "sslRenew", "sslReplace",
                "clientCertRequest", "clientCertRevoke", "clientCertManage",
            ],
        })),
    )
    .await;
    assert_eq!(status, 201, "{text}");

    // A second RAO, whose password is already their own, to approve what the first asks.
    let (status, _, text) = send(
        scm(http.post(format!("{base}/api/admin/v1")), NEW_PASSWORD).json(&serde_json::json!({
            "login": SECOND, "email": "rao-second@camford.ac.uk",
            "forename": "Second", "surname": "Rao", "password": RAO_INITIAL,
            "credentials": [{"role": "RAO_SSL", "orgId": org_id}],
            "privileges": ["allowCreate"],
        })),
    )
    .await;
    assert_eq!(status, 201, "{text}");
    crate::scm_client::change_password(&http, &base, SECOND, RAO_INITIAL, SECOND_PASSWORD).await;
    let (csr, _key) = castellan_testkit::tools::openssl_csr(
        ws.dir.path(),
        "portal",
        "/C=GB/O=University of Camford/CN=portal.camford.ac.uk",
    );
    let (csr2, _key2) = castellan_testkit::tools::openssl_csr(
        ws.dir.path(),
        "portal2",
        "/C=GB/O=University of Camford/CN=portal.camford.ac.uk",
    );
    let (bad_csr, _key) =
        castellan_testkit::tools::openssl_csr(ws.dir.path(), "oxford", "/CN=www.oxford.ac.uk");
    let downloads = ws.path("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let portal = format!("{base}/customer/{CUSTOMER_URI}");
    let downloads_dir = downloads.clone();
    let mail_dir = sink.dir().to_owned();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(portal_dir().join("journeys.cjs"))
            .env("CASTELLAN_CHROMIUM", chromium)
            .env("CASTELLAN_SCREENSHOTS", screenshots())
            .env("CASTELLAN_PORTAL", portal)
            .env("CASTELLAN_RAO_LOGIN", RAO)
            .env("CASTELLAN_RAO_INITIAL", RAO_INITIAL)
            .env("CASTELLAN_RAO_PASSWORD", RAO_PASSWORD)
            .env("CASTELLAN_ORG_NAME", ORG)
            .env("CASTELLAN_ORG_ID", org_id.to_string())
            .env("CASTELLAN_CSR_FILE", csr)
            .env("CASTELLAN_BAD_CSR_FILE", bad_csr)
            .env("CASTELLAN_CSR2_FILE", csr2)
            .env("CASTELLAN_MRAO_LOGIN", crate::scm_client::LOGIN)
            .env("CASTELLAN_MRAO_PASSWORD", NEW_PASSWORD)
            .env("CASTELLAN_DOWNLOADS", downloads_dir)
            .env("CASTELLAN_MAIL_DIR", mail_dir)
            .env("CASTELLAN_P12_PASSPHRASE", P12_PASSPHRASE)
            .env("CASTELLAN_DNS_CONTROL", dns_control.to_string())
            .env("CASTELLAN_SECOND_LOGIN", SECOND)
            .env("CASTELLAN_SECOND_PASSWORD", SECOND_PASSWORD)
            .env("NO_PROXY", "127.0.0.1,localhost")
            .output()
            .expect("node runs (Debian's nodejs; scripts/test installs it)")
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "the portal journeys failed ({}):\n{}{}\nserver log:\n{}",
        out.status,
        stdout(&out),
        stderr(&out),
        server.log()
    );
    println!("{}", stdout(&out));

    // What the browser did is what the service stored: one department, renamed, with the
    // types left checked.
    let (status, _, text) = send(scm(
        http.get(format!("{base}/api/organization/v1/{org_id}")),
        NEW_PASSWORD,
    ))
    .await;
    assert_eq!(status, 200, "{text}");
    let org: serde_json::Value = serde_json::from_str(&text).unwrap();
    let departments = org["departments"].as_array().expect("departments");
    assert_eq!(departments.len(), 1, "{text}");
    assert_eq!(departments[0]["name"], "Physics & Astronomy", "{text}");
    // The RAO's password is now their own: the API accepts it and not the initial one.
    let (status, _, _) = send(
        http.get(format!("{base}/api/organization/v1/{org_id}"))
            .header("login", RAO)
            .header("password", RAO_PASSWORD)
            .header("customerUri", CUSTOMER_URI),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _, _) = send(
        http.get(format!("{base}/api/organization/v1/{org_id}"))
            .header("login", RAO)
            .header("password", RAO_INITIAL)
            .header("customerUri", CUSTOMER_URI),
    )
    .await;
    assert_eq!(status, 401);
    // The chain the browser downloaded verifies with openssl: root, intermediate, leaf.
    let chain = std::fs::read_to_string(downloads.join("chain.pem")).unwrap();
    let certs: Vec<&str> = chain
        .split_inclusive("-----END CERTIFICATE-----\n")
        .filter(|c| c.contains("BEGIN CERTIFICATE"))
        .collect();
    assert_eq!(certs.len(), 3, "{chain}");
    let roots = ok(run_in(&ws.path("data"), &["ca", "show", "--pem"]));
    assert!(
        roots.contains(certs[0].trim()),
        "the chain starts at a Castellan root"
    );
    std::fs::write(downloads.join("root.pem"), certs[0]).unwrap();
    std::fs::write(downloads.join("issuing.pem"), certs[1]).unwrap();
    std::fs::write(downloads.join("leaf.pem"), certs[2]).unwrap();
    let verify = Command::new("openssl")
        .current_dir(&downloads)
        .args([
            "verify",
            "-x509_strict",
            "-purpose",
            "sslserver",
            "-CAfile",
            "root.pem",
            "-untrusted",
            "issuing.pem",
            "leaf.pem",
        ])
        .output()
        .unwrap();
    assert_eq!(
        stdout(&verify).trim(),
        "leaf.pem: OK",
        "{}",
        stderr(&verify)
    );
    // And the service says it is revoked.
    let (status, _, text) = send(scm(
        http.get(format!("{base}/api/ssl/v1?commonName=portal.camford.ac.uk")),
        NEW_PASSWORD,
    ))
    .await;
    assert_eq!(status, 200, "{text}");
    let list: serde_json::Value = serde_json::from_str(&text).unwrap();
    let id = list[0]["sslId"].as_i64().expect("one order");
    let (_, _, text) = send(scm(
        http.get(format!("{base}/api/ssl/v1/{id}")),
        NEW_PASSWORD,
    ))
    .await;
    let order: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(order["status"], "Revoked", "{text}");
    // The PKCS#12 the invited person downloaded opens with their passphrase, and its key and
    // certificate sign a message that verifies against Castellan's root for S/MIME signing.
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .current_dir(&downloads)
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "openssl {args:?}: {}", stderr(&out));
    };
    let pass = format!("pass:{P12_PASSPHRASE}");
    openssl(&[
        "pkcs12",
        "-in",
        "grace.p12",
        "-passin",
        &pass,
        "-nodes",
        "-out",
        "grace.pem",
    ]);
    openssl(&[
        "pkcs12",
        "-in",
        "grace.p12",
        "-passin",
        &pass,
        "-nokeys",
        "-cacerts",
        "-out",
        "grace-cas.pem",
    ]);
    std::fs::write(downloads.join("roots.pem"), &roots).unwrap();
    std::fs::write(downloads.join("message.txt"), "From Grace.\n").unwrap();
    openssl(&[
        "cms",
        "-sign",
        "-in",
        "message.txt",
        "-signer",
        "grace.pem",
        "-certfile",
        "grace-cas.pem",
        "-out",
        "signed.eml",
    ]);
    openssl(&[
        "cms",
        "-verify",
        "-purpose",
        "smimesign",
        "-in",
        "signed.eml",
        "-CAfile",
        "roots.pem",
        "-out",
        "verified.txt",
    ]);
    assert_eq!(
        std::fs::read_to_string(downloads.join("verified.txt"))
            .unwrap()
            .replace("\r\n", "\n"),
        "From Grace.\n"
    );
    recover_graces_key(&http, &base, &sink, &downloads).await;
    // Nothing secret reached the log: no password, no session cookie, no passphrase, no
    // invitation or recovery link.
    let log = server.log();
    for secret in [
        RAO_INITIAL,
        RAO_PASSWORD,
        "castellan_session=",
        P12_PASSPHRASE,
        "/invitation/",
        "/recovery/",
    ] {
        assert!(
            !log.contains(secret),
            "the log holds '{secret}':\n{}",
            log.lines()
                .filter(|l| l.contains(secret))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

/// Guide 8.2's key recovery over the API, for the key Grace's invitation made: the RAO asks,
/// cannot approve it themselves, the operator approves; the recipient's link (from the mail
/// the server sent) opens the recovery page, and the PKCS#12 it gives holds the same key as
/// the one Grace downloaded.
async fn recover_graces_key(
    http: &reqwest::Client,
    base: &str,
    sink: &castellan_testkit::smtp::SmtpSink,
    downloads: &Path,
) {
    let rao = |request: reqwest::RequestBuilder| {
        request
            .header("login", RAO)
            .header("password", RAO_PASSWORD)
            .header("customerUri", CUSTOMER_URI)
    };
    let (status, _, text) = send(scm(
        http.get(format!(
            "{base}/api/smime/v2/byPersonEmail/grace.hopper@camford.ac.uk"
        )),
        NEW_PASSWORD,
    ))
    .await;
    assert_eq!(status, 200, "{text}");
    let rows: serde_json::Value = serde_json::from_str(&text).unwrap();
    let order = rows[0]["orderNumber"]
        .as_i64()
        .expect("Grace's certificate");
    let (status, location, text) = send(
        rao(http.post(format!("{base}/api/escrow/v1/recovery"))).json(&serde_json::json!({
            "backendCertId": order,
            "recipient": "grace.backup@camford.ac.uk",
            "reason": "laptop stolen; her old mail must stay readable",
        })),
    )
    .await;
    assert_eq!(status, 201, "{text}");
    let location = location.expect("Location names the recovery");
    let id: i64 = location.rsplit('/').next().unwrap().parse().unwrap();
    let (status, _, text) = send(rao(
        http.post(format!("{base}/api/escrow/v1/recovery/{id}/approve"))
    ))
    .await;
    assert_eq!(status, 403, "the requester cannot approve: {text}");
    assert!(
        text.contains("by a different administrator with keyRecovery"),
        "{text}"
    );
    let (status, _, text) = send(scm(
        http.post(format!("{base}/api/escrow/v1/recovery/{id}/approve")),
        NEW_PASSWORD,
    ))
    .await;
    assert_eq!(status, 200, "{text}");
    let view: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(view["status"], "READY", "{text}");

    // The outbox worker sends it within its round; other mail came before it.
    let started = std::time::Instant::now();
    let mail = loop {
        let found = sink
            .messages()
            .iter()
            .map(|m| m.replace("=\r\n", ""))
            .find(|m| m.contains("/customer/") && m.contains("/recovery/"));
        match found {
            Some(m) => break m,
            None if started.elapsed() < std::time::Duration::from_secs(30) => {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            None => panic!("the recovery mail did not arrive in 30 s"),
        }
    };
    assert!(mail.contains("grace.backup@camford.ac.uk"), "{mail}");
    let at = mail.find("/customer/").unwrap();
    let path: String = mail[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || "/-_".contains(*c))
        .collect();
    let page = http.get(format!("{base}{path}")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Your recovered key"));
    let form = |again: &str| {
        let encode = |v: &str| -> String {
            v.bytes()
                .map(|b| match b {
                    b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' => {
                        (b as char).to_string()
                    }
                    b' ' => "+".to_owned(),
                    other => format!("%{other:02X}"),
                })
                .collect()
        };
        http.post(format!("{base}{path}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "passphrase={}&passphrase_again={}",
                encode("grace's recovery passphrase"),
                encode(again)
            ))
    };
    let refused = form("something else").send().await.unwrap();
    assert_eq!(refused.status(), 400);
    let response = form("grace's recovery passphrase").send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/x-pkcs12",
        "a PKCS#12"
    );
    std::fs::write(
        downloads.join("recovered.p12"),
        response.bytes().await.unwrap(),
    )
    .unwrap();
    let again = form("grace's recovery passphrase").send().await.unwrap();
    assert_eq!(again.status(), 404, "the link works once");
    let public_key = |file: &str, pass: &str| {
        let pem = Command::new("openssl")
            .current_dir(downloads)
            .args(["pkcs12", "-in", file, "-nodes", "-nocerts", "-passin"])
            .arg(format!("pass:{pass}"))
            .output()
            .unwrap();
        assert!(pem.status.success(), "{}", stderr(&pem));
        let key = downloads.join(format!("{file}.key"));
        std::fs::write(&key, &pem.stdout).unwrap();
        let public = Command::new("openssl")
            .args(["pkey", "-pubout", "-in"])
            .arg(&key)
            .output()
            .unwrap();
        assert!(public.status.success(), "{}", stderr(&public));
        stdout(&public)
    };
    assert_eq!(
        public_key("recovered.p12", "grace's recovery passphrase"),
        public_key("grace.p12", P12_PASSPHRASE),
        "the recovered key is the one Grace downloaded"
    );
}
