//! Real ACME clients against a running server: certbot (PyPI) registers with External
//! Account Binding, is refused without it or with a wrong key, and deactivates its account.

use crate::scm_client::{NEW_PASSWORD, create_organization, scm, send};
use crate::support::{Server, Workspace, ok};
use castellan_testkit::tools::tool;
use std::process::Command;

pub(crate) fn certbot(config: &std::path::Path, directory: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(tool("certbot"))
        .args(args)
        .args(["--server", directory, "--non-interactive", "--config-dir"])
        .arg(config.join("config"))
        .arg("--work-dir")
        .arg(config.join("work"))
        .arg("--logs-dir")
        .arg(config.join("logs"))
        .env("NO_PROXY", "127.0.0.1,localhost")
        .output()
        .unwrap_or_else(|e| panic!("cannot run certbot ({e}); scripts/test installs it"));
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certbot_registers_with_external_account_binding() {
    let ws = Workspace::new();
    ok(ws.init("data", &["--customer-uri", crate::scm_client::CUSTOMER_URI]));
    let port = castellan_testkit::smtp::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let server = Server::start(
        &ws.path("data"),
        &["--http", "--listen", &format!("127.0.0.1:{port}")],
        &[("CASTELLAN_BASE_URL", base.as_str())],
    );
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    crate::scm_client::operator_password(&http, &base).await;
    let org = create_organization(
        &http,
        &base,
        serde_json::json!({"name": "University of Camford", "country": "GB",
                           "city": "Camford", "certTypes": ["SSL"]}),
        &server,
    )
    .await;
    let (status, location, text) = send(
        scm(
            http.post(format!("{base}/api/acme/v1/account")),
            NEW_PASSWORD,
        )
        .json(
            &serde_json::json!({"name": "web servers", "acmeServer": "OV ACME Server",
                                "organizationId": org, "evDetails": {}}),
        ),
    )
    .await;
    assert_eq!(status, 201, "{text}\n{}", server.log());
    let account_url = format!("{base}{}", location.unwrap());
    let account: serde_json::Value = serde_json::from_str(&text).unwrap();
    let (kid, key) = (
        account["macId"].as_str().unwrap().to_owned(),
        account["macKey"].as_str().unwrap().to_owned(),
    );
    let directory = account["acmeServerUrl"].as_str().unwrap().to_owned();
    assert_eq!(directory, format!("{base}/acme/ov/directory"));

    // Without a binding (certbot reads externalAccountRequired in the directory and says
    // so itself), and with a wrong key or key id: refused, with the reason.
    let plain = tempfile::tempdir().unwrap();
    let (done, out) = certbot(
        plain.path(),
        &directory,
        &["register", "--agree-tos", "-m", "it@camford.ac.uk"],
    );
    assert!(!done, "{out}");
    assert!(
        out.contains("Server requires external account binding"),
        "{out}"
    );
    let wrong = tempfile::tempdir().unwrap();
    let (done, out) = certbot(
        wrong.path(),
        &directory,
        &[
            "register",
            "--agree-tos",
            "-m",
            "it@camford.ac.uk",
            &format!("--eab-kid={kid}"),
            "--eab-hmac-key=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ],
    );
    assert!(!done, "{out}");
    assert!(out.contains("MAC does not verify"), "{out}");
    let (done, out) = certbot(
        wrong.path(),
        &directory,
        &[
            "register",
            "--agree-tos",
            "-m",
            "it@camford.ac.uk",
            "--eab-kid",
            "no-such-kid",
            &format!("--eab-hmac-key={key}"),
        ],
    );
    assert!(!done, "{out}");
    assert!(
        out.contains("key id is not one this server issued"),
        "{out}"
    );

    // With the credentials: registered; the account is valid and its key no longer shown.
    let good = tempfile::tempdir().unwrap();
    let (done, out) = certbot(
        good.path(),
        &directory,
        &[
            "register",
            "--agree-tos",
            "-m",
            "it@camford.ac.uk",
            &format!("--eab-kid={kid}"),
            &format!("--eab-hmac-key={key}"),
        ],
    );
    assert!(done, "{out}\n{}", server.log());
    assert!(out.contains("Account registered"), "{out}");
    let (status, _, text) = send(scm(http.get(&account_url), NEW_PASSWORD)).await;
    assert_eq!(status, 200, "{text}");
    let account: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(account["status"], "valid");
    assert_eq!(account["macKey"], "", "the key is not shown once in use");
    assert_eq!(account["contacts"], "mailto:it@camford.ac.uk");

    // certbot updates the contact and deactivates the account.
    let (done, out) = certbot(
        good.path(),
        &directory,
        &["update_account", "-m", "hostmaster@camford.ac.uk"],
    );
    assert!(done, "{out}");
    let (done, out) = certbot(good.path(), &directory, &["unregister"]);
    assert!(done, "{out}\n{}", server.log());
    assert!(out.contains("Account deactivated"), "{out}");

    bad_requests_get_the_rfc_error_types(&http, &base, &kid).await;
    server.stop();
}

/// A minimal ACME client with a P-256 key, for requests certbot would never send.
struct RawClient {
    key: aws_lc_rs::signature::EcdsaKeyPair,
    pkcs8: Vec<u8>,
}

impl RawClient {
    fn new() -> RawClient {
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        RawClient {
            key: EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
                .unwrap(),
            pkcs8: pkcs8.as_ref().to_vec(),
        }
    }

    fn jwk(&self) -> serde_json::Value {
        use aws_lc_rs::signature::KeyPair;
        let point = self.key.public_key().as_ref();
        let b = castellan_acme::jws::b64e;
        serde_json::json!({"kty": "EC", "crv": "P-256", "x": b(&point[1..33]), "y": b(&point[33..])})
    }

    fn body(&self, header: serde_json::Value, payload: &str) -> String {
        let b = castellan_acme::jws::b64e;
        let protected = b(header.to_string().as_bytes());
        let payload = b(payload.as_bytes());
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let signature = self
            .key
            .sign(&rng, format!("{protected}.{payload}").as_bytes())
            .unwrap();
        serde_json::json!({"protected": protected, "payload": payload, "signature": b(signature.as_ref())})
            .to_string()
    }
}

async fn nonce(http: &reqwest::Client, base: &str) -> String {
    let response = http
        .head(format!("{base}/acme/ov/new-nonce"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.headers()["replay-nonce"]
        .to_str()
        .unwrap()
        .to_owned()
}

/// Posts `body` to `path` under the OV server; returns the status, the problem type and
/// whether a fresh nonce came back.
async fn post(
    http: &reqwest::Client,
    base: &str,
    path: &str,
    body: String,
) -> (u16, String, serde_json::Value) {
    let response = http
        .post(format!("{base}/acme/ov/{path}"))
        .header("content-type", "application/jose+json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let has_nonce = response.headers().contains_key("replay-nonce");
    let value: serde_json::Value = response.json().await.unwrap_or(serde_json::Value::Null);
    assert!(
        has_nonce || status == 413,
        "every ACME answer carries a nonce: {value}"
    );
    (
        status,
        value["type"].as_str().unwrap_or_default().to_owned(),
        value,
    )
}

async fn bad_requests_get_the_rfc_error_types(http: &reqwest::Client, base: &str, kid: &str) {
    let client = RawClient::new();
    let url = format!("{base}/acme/ov/new-account");
    let err = |t: &str| format!("urn:ietf:params:acme:error:{t}");

    // A nonce is good once.
    let n = nonce(http, base).await;
    let header = serde_json::json!({"alg": "ES256", "jwk": client.jwk(), "nonce": n, "url": url});
    let (status, kind, _) = post(
        http,
        base,
        "new-account",
        client.body(header.clone(), r#"{"onlyReturnExisting":true}"#),
    )
    .await;
    assert_eq!((status, kind), (400, err("accountDoesNotExist")));
    let (status, kind, _) = post(
        http,
        base,
        "new-account",
        client.body(header, r#"{"onlyReturnExisting":true}"#),
    )
    .await;
    assert_eq!((status, kind), (400, err("badNonce")));

    // The URL in the protected header must be the one posted to.
    let header = serde_json::json!({"alg": "ES256", "jwk": client.jwk(), "nonce": nonce(http, base).await,
                                    "url": format!("{base}/acme/ev/new-account")});
    let (status, kind, _) = post(http, base, "new-account", client.body(header, "{}")).await;
    assert_eq!((status, kind), (403, err("unauthorized")));

    // An account URL that does not exist.
    let header = serde_json::json!({"alg": "ES256", "kid": format!("{base}/acme/ov/acct/999"),
                                    "nonce": nonce(http, base).await, "url": format!("{base}/acme/ov/acct/999")});
    let (status, kind, _) = post(http, base, "acct/999", client.body(header, "")).await;
    assert_eq!((status, kind), (400, err("accountDoesNotExist")));

    // alg none, and HS256 on a request.
    for alg in ["none", "HS256"] {
        let header = serde_json::json!({"alg": alg, "jwk": client.jwk(), "nonce": nonce(http, base).await, "url": url});
        let (status, kind, value) =
            post(http, base, "new-account", client.body(header, "{}")).await;
        assert_eq!(
            (status, kind),
            (400, err("badSignatureAlgorithm")),
            "{value}"
        );
        assert_eq!(
            value["algorithms"],
            serde_json::json!(["ES256", "ES384", "RS256", "EdDSA"])
        );
    }

    // Malformed base64url and an oversized body.
    let (status, kind, _) = post(
        http,
        base,
        "new-account",
        r#"{"protected":"e30=","payload":"","signature":""}"#.into(),
    )
    .await;
    assert_eq!((status, kind), (400, err("malformed")));
    let (status, _, _) = post(http, base, "new-account", "x".repeat(70_000)).await;
    assert_eq!(status, 413);

    // A binding with the right key id but signed over another key.
    let other = RawClient::new();
    let mac = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, b"not the key");
    let b = castellan_acme::jws::b64e;
    let eab_protected = b(serde_json::json!({"alg": "HS256", "kid": kid, "url": url})
        .to_string()
        .as_bytes());
    let eab_payload = b(other.jwk().to_string().as_bytes());
    let tag = aws_lc_rs::hmac::sign(&mac, format!("{eab_protected}.{eab_payload}").as_bytes());
    let payload = serde_json::json!({"termsOfServiceAgreed": true, "externalAccountBinding":
        {"protected": eab_protected, "payload": eab_payload, "signature": b(tag.as_ref())}});
    let header = serde_json::json!({"alg": "ES256", "jwk": client.jwk(), "nonce": nonce(http, base).await, "url": url});
    let (status, kind, value) = post(
        http,
        base,
        "new-account",
        client.body(header, &payload.to_string()),
    )
    .await;
    assert_eq!(
        (status, kind.as_str()),
        (400, err("malformed").as_str()),
        "{value}"
    );
    assert_eq!(
        value["detail"],
        "the external account binding is for another key than the account's"
    );
}

/// Against the SCM client test's server (organisation validated, `*.camford.ac.uk` delegated
/// and its DCV passed, `root.pem` in `ws`): an ACME account for portal.camford.ac.uk, certbot
/// `register`, `certonly` (no challenge: the name is pre-validated) and a forced renewal.
/// [`certbot`] on a blocking thread, so the in-process DNS server keeps answering.
async fn certbot_off_thread(
    config: &std::path::Path,
    directory: &str,
    args: &[&str],
) -> (bool, String) {
    let (config, directory) = (config.to_path_buf(), directory.to_owned());
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        certbot(&config, &directory, &args)
    })
    .await
    .unwrap()
}

pub(crate) async fn certbot_obtains_and_renews(
    http: &reqwest::Client,
    base: &str,
    ws: &Workspace,
    server: &Server,
) {
    let (status, _, text) = send(scm(
        http.get(format!("{base}/api/organization/v1")),
        NEW_PASSWORD,
    ))
    .await;
    assert_eq!(status, 200, "{text}");
    let orgs: serde_json::Value = serde_json::from_str(&text).unwrap();
    let org = orgs
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "University of Camford")
        .unwrap()["id"]
        .clone();
    let (status, location, text) = send(
        scm(
            http.post(format!("{base}/api/acme/v1/account")),
            NEW_PASSWORD,
        )
        .json(
            &serde_json::json!({"name": "certbot", "acmeServer": "OV ACME Server",
                                "organizationId": org, "evDetails": {}}),
        ),
    )
    .await;
    assert_eq!(status, 201, "{text}");
    let account: serde_json::Value = serde_json::from_str(&text).unwrap();
    let (status, _, text) = send(
        scm(
            http.post(format!("{base}{}/domains", location.unwrap())),
            NEW_PASSWORD,
        )
        .json(&serde_json::json!({"domains": [{"name": "portal.camford.ac.uk"}]})),
    )
    .await;
    assert_eq!((status, text.as_str()), (200, "{}"));
    let directory = account["acmeServerUrl"].as_str().unwrap();
    let (kid, key) = (
        account["macId"].as_str().unwrap(),
        account["macKey"].as_str().unwrap(),
    );
    let count = || async {
        let response = scm(http.head(format!("{base}/api/ssl/v1")), NEW_PASSWORD)
            .send()
            .await
            .unwrap();
        response.headers()["x-total-count"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
    };
    let before = count().await;

    let dir = tempfile::tempdir().unwrap();
    let (done, out) = certbot_off_thread(
        dir.path(),
        directory,
        &[
            "register",
            "--agree-tos",
            "-m",
            "it@camford.ac.uk",
            &format!("--eab-kid={kid}"),
            &format!("--eab-hmac-key={key}"),
        ],
    )
    .await;
    assert!(done, "{out}");
    // The manual plugin's hook fails if it is ever called: no challenge is needed.
    let (done, out) = certbot_off_thread(
        dir.path(),
        directory,
        &[
            "certonly",
            "--manual",
            "--manual-auth-hook",
            "/bin/false",
            "--preferred-challenges",
            "http",
            "-d",
            "portal.camford.ac.uk",
            "--cert-name",
            "portal",
        ],
    )
    .await;
    assert!(done, "{out}\n{}", server.log());
    let live = dir.path().join("config/live/portal");
    let verify = |what: &str| {
        castellan_testkit::tools::run(
            castellan_testkit::tools::openssl()
                .args(["verify", "-x509_strict", "-purpose", "sslserver", "-CAfile"])
                .arg(ws.path("root.pem"))
                .arg("-untrusted")
                .arg(live.join("chain.pem"))
                .arg(live.join("cert.pem")),
        );
        let text = castellan_testkit::tools::run(
            castellan_testkit::tools::openssl()
                .args(["x509", "-noout", "-serial", "-ext", "subjectAltName", "-in"])
                .arg(live.join("cert.pem")),
        );
        assert!(text.contains("DNS:portal.camford.ac.uk"), "{what}: {text}");
        text
    };
    let first = verify("issued");
    assert_eq!(
        count().await,
        before + 1,
        "the ACME certificate is in the SSL list"
    );

    let (done, out) = certbot_off_thread(
        dir.path(),
        directory,
        &[
            "renew",
            // Renewals run from cron wait a random time first; not here.
            "--no-random-sleep-on-renew",
            "--force-renewal",
            "--cert-name",
            "portal",
            "--manual-auth-hook",
            "/bin/false",
        ],
    )
    .await;
    assert!(done, "{out}\n{}", server.log());
    let second = verify("renewed");
    assert_ne!(first, second, "the renewal has a new serial");
    assert_eq!(count().await, before + 2);

    // ARI: the renewal's window lies ahead (the last third of its 90 days); an unknown
    // identifier is 404.
    let renewal_id = ari_id(&live.join("cert.pem"));
    let (status, window) = renewal_window(http, base, &renewal_id).await;
    assert_eq!(status, 200, "{window}");
    let parse = |t: &str| {
        time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).unwrap()
    };
    let start = parse(window["suggestedWindow"]["start"].as_str().unwrap());
    let end = parse(window["suggestedWindow"]["end"].as_str().unwrap());
    let today = time::OffsetDateTime::now_utc();
    assert!(
        start > today + time::Duration::days(55) && end > start,
        "{window}"
    );
    let (status, _) = renewal_window(http, base, "AAAA.AQID").await;
    assert_eq!(status, 404);
    order_refusals(http, base, kid, key, ws, &renewal_id).await;

    // Revocation over ACME, as relying parties then see it: the first certificate by the
    // holder of its key (`--key-path`), the renewal by the account.
    let archive = dir.path().join("config/archive/portal");
    let ocsp = |cert: std::path::PathBuf| {
        let out = castellan_testkit::tools::openssl()
            .args(["ocsp", "-no_nonce", "-issuer"])
            .arg(live.join("chain.pem"))
            .arg("-cert")
            .arg(cert)
            .arg("-CAfile")
            .arg(ws.path("root.pem"))
            .arg("-verify_other")
            .arg(live.join("chain.pem"))
            .arg("-url")
            .arg(format!("http://127.0.0.1:{}/ocsp", server.pki_port()))
            .output()
            .unwrap();
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };
    let cert1 = archive.join("cert1.pem");
    let key1 = archive.join("privkey1.pem");
    let (done, out) = certbot_off_thread(
        dir.path(),
        directory,
        &[
            "revoke",
            "--cert-path",
            cert1.to_str().unwrap(),
            "--key-path",
            key1.to_str().unwrap(),
            "--reason",
            "superseded",
            "--no-delete-after-revoke",
        ],
    )
    .await;
    assert!(done, "{out}\n{}", server.log());
    let verdict = ocsp(cert1.clone());
    assert!(
        verdict.contains(": revoked") && verdict.contains("Reason: superseded"),
        "{verdict}"
    );
    // A revoked certificate's window has passed: renew now.
    let (status, window) = renewal_window(http, base, &ari_id(&cert1)).await;
    assert_eq!(status, 200);
    assert!(
        parse(window["suggestedWindow"]["end"].as_str().unwrap())
            <= time::OffsetDateTime::now_utc(),
        "{window}"
    );
    let (done, out) = certbot_off_thread(
        dir.path(),
        directory,
        &[
            "revoke",
            "--cert-name",
            "portal",
            "--reason",
            "cessationofoperation",
            "--no-delete-after-revoke",
        ],
    )
    .await;
    assert!(done, "{out}\n{}", server.log());
    let verdict = ocsp(live.join("cert.pem"));
    assert!(
        verdict.contains("Reason: cessationOfOperation"),
        "{verdict}"
    );
    // Again: certbot reports the server's alreadyRevoked.
    let (done, out) = certbot_off_thread(
        dir.path(),
        directory,
        &[
            "revoke",
            "--cert-path",
            cert1.to_str().unwrap(),
            "--no-delete-after-revoke",
        ],
    )
    .await;
    assert!(!done && out.contains("revoked already"), "{out}");

    lego_obtains_renews_and_revokes(directory, kid, key, ws, server).await;
}

/// lego (Debian) with the same credentials: run, renew, revoke.
async fn lego_obtains_renews_and_revokes(
    directory: &str,
    kid: &str,
    key: &str,
    ws: &Workspace,
    server: &Server,
) {
    let dir = ws.path("lego");
    let http_port = castellan_testkit::smtp::free_port().to_string();
    let lego = |action: &[&str]| {
        let mut cmd = Command::new(tool("lego"));
        cmd.args([
            "--server",
            directory,
            "--email",
            "it@camford.ac.uk",
            "--accept-tos",
            "--eab",
            // `=` forms: a base64url key may start with '-'.
            &format!("--kid={kid}"),
            &format!("--hmac={key}"),
            "--domains",
            "portal.camford.ac.uk",
            "--http",
            "--http.port",
            &format!("127.0.0.1:{http_port}"),
            "--path",
        ])
        .arg(&dir)
        .args(action)
        .env("NO_PROXY", "127.0.0.1,localhost");
        async move {
            tokio::task::spawn_blocking(move || {
                let out = cmd
                    .output()
                    .unwrap_or_else(|e| panic!("cannot run lego ({e}); scripts/test installs it"));
                (
                    out.status.success(),
                    format!(
                        "{}{}",
                        String::from_utf8_lossy(&out.stdout),
                        String::from_utf8_lossy(&out.stderr)
                    ),
                )
            })
            .await
            .unwrap()
        }
    };
    let crt = dir.join("certificates/portal.camford.ac.uk.crt");
    let serial = || {
        castellan_testkit::tools::run(
            castellan_testkit::tools::openssl()
                .args(["x509", "-noout", "-serial", "-in"])
                .arg(&crt),
        )
    };
    let (done, out) = lego(&["run"]).await;
    assert!(done, "lego run: {out}\n{}", server.log());
    let verified = castellan_testkit::tools::run(
        castellan_testkit::tools::openssl()
            .args(["verify", "-x509_strict", "-purpose", "sslserver", "-CAfile"])
            .arg(ws.path("root.pem"))
            .arg("-untrusted")
            .arg(&crt)
            .arg(&crt),
    );
    assert!(verified.trim_end().ends_with(": OK"), "{verified}");
    let first = serial();
    let (done, out) = lego(&["renew", "--days", "3650", "--no-random-sleep"]).await;
    assert!(done, "lego renew: {out}\n{}", server.log());
    assert_ne!(serial(), first, "lego renewed");
    let (done, out) = lego(&["revoke"]).await;
    assert!(done, "lego revoke: {out}\n{}", server.log());
}

/// What new-order and finalize refuse, with a raw client bound to the same ACME account.
async fn order_refusals(
    http: &reqwest::Client,
    base: &str,
    kid: &str,
    mac: &str,
    ws: &Workspace,
    replaces: &str,
) {
    let b = castellan_acme::jws::b64e;
    let client = RawClient::new();
    let url = |p: &str| format!("{base}/acme/ov/{p}");
    let err = |t: &str| format!("urn:ietf:params:acme:error:{t}");
    // Register with the account's binding.
    let mac_key = castellan_acme::jws::b64("mac", mac).unwrap();
    let eab_protected = b(
        serde_json::json!({"alg": "HS256", "kid": kid, "url": url("new-account")})
            .to_string()
            .as_bytes(),
    );
    let eab_payload = b(client.jwk().to_string().as_bytes());
    let tag = aws_lc_rs::hmac::sign(
        &aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &mac_key),
        format!("{eab_protected}.{eab_payload}").as_bytes(),
    );
    let payload = serde_json::json!({"termsOfServiceAgreed": true, "externalAccountBinding":
        {"protected": eab_protected, "payload": eab_payload, "signature": b(tag.as_ref())}});
    let header = serde_json::json!({"alg": "ES256", "jwk": client.jwk(), "nonce": nonce(http, base).await, "url": url("new-account")});
    let response = http
        .post(url("new-account"))
        .header("content-type", "application/jose+json")
        .body(client.body(header, &payload.to_string()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let account = response.headers()["location"].to_str().unwrap().to_owned();
    let signed = |path: &str, payload: String| {
        let client = &client;
        let account = account.clone();
        let target = url(path);
        async move {
            let header = serde_json::json!({"alg": "ES256", "kid": account, "nonce": nonce(http, base).await, "url": target});
            client.body(header, &payload)
        }
    };
    let order = |names: &[(&str, &str)]| {
        serde_json::json!({"identifiers": names.iter().map(|(t, v)| serde_json::json!({"type": t, "value": v})).collect::<Vec<_>>()})
            .to_string()
    };
    // IP identifiers and names not on the account: rejectedIdentifier.
    let (status, kind, value) = post(
        http,
        base,
        "new-order",
        signed("new-order", order(&[("ip", "192.0.2.1")])).await,
    )
    .await;
    assert_eq!(
        (status, kind.as_str()),
        (400, err("rejectedIdentifier").as_str()),
        "{value}"
    );
    let (status, kind, value) = post(
        http,
        base,
        "new-order",
        signed("new-order", order(&[("dns", "wiki.camford.ac.uk")])).await,
    )
    .await;
    assert_eq!(
        (status, kind.as_str()),
        (400, err("rejectedIdentifier").as_str()),
        "{value}"
    );
    assert!(
        value["detail"]
            .as_str()
            .unwrap()
            .starts_with("wiki.camford.ac.uk is not among the domains of ACME account 'certbot'"),
        "{value}"
    );
    // replaces (RFC 9773): a certificate of this ACME account is accepted; another is not.
    let replacing =
        serde_json::json!({"identifiers": [{"type": "dns", "value": "portal.camford.ac.uk"}],
                                       "replaces": replaces})
        .to_string();
    let (status, _, value) = post(
        http,
        base,
        "new-order",
        signed("new-order", replacing).await,
    )
    .await;
    assert_eq!(status, 201, "{value}");
    let bogus =
        serde_json::json!({"identifiers": [{"type": "dns", "value": "portal.camford.ac.uk"}],
                                   "replaces": "AAAA.AAAA"})
        .to_string();
    let (status, kind, value) =
        post(http, base, "new-order", signed("new-order", bogus).await).await;
    assert_eq!(
        (status, kind.as_str()),
        (400, err("malformed").as_str()),
        "{value}"
    );
    // A ready order, then CSRs that do not fit it.
    let (status, _, value) = post(
        http,
        base,
        "new-order",
        signed("new-order", order(&[("dns", "portal.camford.ac.uk")])).await,
    )
    .await;
    assert_eq!(status, 201, "{value}");
    assert_eq!(value["status"], "ready");
    let finalize = value["finalize"]
        .as_str()
        .unwrap()
        .rsplit("/acme/ov/")
        .next()
        .unwrap()
        .to_owned();
    let csr = |name: &str, key: Option<&[u8]>| {
        let dir = ws.path("raw-csr");
        std::fs::create_dir_all(&dir).unwrap();
        let key_path = dir.join(format!("{name}.key"));
        match key {
            Some(pkcs8) => std::fs::write(
                &key_path,
                castellan_pki::encode::pem_encode("PRIVATE KEY", pkcs8),
            )
            .unwrap(),
            None => {
                castellan_testkit::tools::run(
                    castellan_testkit::tools::openssl()
                        .args([
                            "genpkey",
                            "-algorithm",
                            "EC",
                            "-pkeyopt",
                            "ec_paramgen_curve:P-256",
                            "-out",
                        ])
                        .arg(&key_path),
                );
            }
        }
        let out = dir.join(format!("{name}.der"));
        castellan_testkit::tools::run(
            castellan_testkit::tools::openssl()
                .args([
                    "req",
                    "-new",
                    "-subj",
                    &format!("/CN={name}"),
                    "-outform",
                    "DER",
                    "-key",
                ])
                .arg(&key_path)
                .arg("-out")
                .arg(&out),
        );
        b(&std::fs::read(out).unwrap())
    };
    let body = serde_json::json!({"csr": csr("other.camford.ac.uk", None)}).to_string();
    let (status, kind, value) = post(http, base, &finalize, signed(&finalize, body).await).await;
    assert_eq!(
        (status, kind.as_str()),
        (400, err("badCSR").as_str()),
        "{value}"
    );
    assert_eq!(
        value["detail"],
        "the CSR asks for other.camford.ac.uk but the order is for portal.camford.ac.uk"
    );
    let body =
        serde_json::json!({"csr": csr("portal.camford.ac.uk", Some(&client.pkcs8))}).to_string();
    let (status, kind, value) = post(http, base, &finalize, signed(&finalize, body).await).await;
    assert_eq!(
        (status, kind.as_str()),
        (400, err("badCSR").as_str()),
        "{value}"
    );
    assert_eq!(
        value["detail"],
        "the CSR carries the account's own key; use a separate key for the certificate"
    );
    // Key rollover: the account moves to a new key; the old one no longer signs for it.
    let new_key = RawClient::new();
    let inner_header =
        serde_json::json!({"alg": "ES256", "jwk": new_key.jwk(), "url": url("key-change")});
    let inner = new_key.body(
        inner_header,
        &serde_json::json!({"account": account, "oldKey": client.jwk()}).to_string(),
    );
    let (status, _, value) =
        post(http, base, "key-change", signed("key-change", inner).await).await;
    assert_eq!(status, 200, "{value}");
    let acct_path = account.rsplit("/acme/ov/").next().unwrap().to_owned();
    let header = serde_json::json!({"alg": "ES256", "kid": account, "nonce": nonce(http, base).await, "url": url(&acct_path)});
    let (status, _, value) = post(http, base, &acct_path, new_key.body(header, "")).await;
    assert_eq!(
        (status, value["status"].as_str()),
        (200, Some("valid")),
        "{value}"
    );
    let (status, kind, _) = post(
        http,
        base,
        &acct_path,
        signed(&acct_path, String::new()).await,
    )
    .await;
    assert_eq!(
        (status, kind.as_str()),
        (400, err("malformed").as_str()),
        "the old key no longer signs"
    );
}

/// The RFC 9773 identifier of a PEM certificate: base64url(AKI key id) "." base64url(serial).
fn ari_id(cert: &std::path::Path) -> String {
    let text = |args: &[&str]| {
        castellan_testkit::tools::run(castellan_testkit::tools::openssl().args(args).arg(cert))
    };
    let aki = text(&["x509", "-noout", "-ext", "authorityKeyIdentifier", "-in"]);
    let aki_hex: String = aki
        .lines()
        .skip(1)
        .collect::<String>()
        .trim()
        .trim_start_matches("keyid:")
        .replace(':', "");
    let serial = text(&["x509", "-noout", "-serial", "-in"]);
    let serial_hex = serial.trim().trim_start_matches("serial=").to_owned();
    let bytes = |h: &str| {
        let h = if h.len() % 2 == 1 {
            format!("0{h}")
        } else {
            h.to_owned()
        };
        (0..h.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
            .collect::<Vec<u8>>()
    };
    let mut serial_bytes = bytes(&serial_hex);
    if serial_bytes[0] & 0x80 != 0 {
        serial_bytes.insert(0, 0); // the DER INTEGER's content, as RFC 9773 takes it
    }
    format!(
        "{}.{}",
        castellan_acme::jws::b64e(&bytes(&aki_hex)),
        castellan_acme::jws::b64e(&serial_bytes)
    )
}

async fn renewal_window(http: &reqwest::Client, base: &str, id: &str) -> (u16, serde_json::Value) {
    let response = http
        .get(format!("{base}/acme/ov/renewal-info/{id}"))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (
        status,
        response.json().await.unwrap_or(serde_json::Value::Null),
    )
}
