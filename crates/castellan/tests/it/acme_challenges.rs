//! Real ACME clients against a server in challenge mode: certbot answers http-01 (its
//! standalone server) and dns-01 (manual hooks writing to the test DNS), lego answers
//! tls-alpn-01 (its own TLS server) and dns-01 (its exec provider). The names are delegated
//! to the organisation but have no DCV: only the challenges prove them. A challenge nobody
//! answers fails with the VA's words, and CAA's accounturi is enforced at issuance.

use crate::acme_clients::certbot;
use crate::scm_client::{CUSTOMER_URI, NEW_PASSWORD, create_organization, scm, send};
use crate::support::{Server, Workspace, ok};
use castellan_testkit::dns::TestDns;
use castellan_testkit::smtp::free_port;
use castellan_testkit::tools::tool;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

/// The challenge server added to the defaults in castellan.toml.
pub(crate) const SERVERS: &str = r#"servers = [{ name = "OV ACME Server (challenges)", path = "ovc", validation_type = "OV", profiles = ["OV Multi-Domain SSL", "Wildcard SSL"], authorization = "challenges" }]"#;

/// A hook that publishes (or, with `clear`, removes) a TXT record through the test DNS's
/// control port. certbot gives the name and value in the environment, lego as arguments.
fn hook(dir: &Path, name: &str, control: u16, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!(
            "#!/bin/bash\nset -e\nexec 3<>/dev/tcp/127.0.0.1/{control}\n{body}\nread -r reply <&3\n[ \"$reply\" = ok ]\n"
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    path
}

/// An ACME account on the challenge server, as an administrator hands it out.
pub(crate) struct ChallengeAccount {
    /// Its directory URL.
    pub(crate) directory: String,
    /// The EAB key id.
    pub(crate) mac_id: String,
    /// The EAB MAC key.
    pub(crate) mac_key: String,
}

/// Through the SCM REST API of a fresh server: the first administrator's password changed,
/// University of Camford validated, `*.camford.ac.uk` delegated to it for SSL with no DCV at
/// all, and an ACME account `name` on the challenge server with that domain.
pub(crate) async fn challenge_account(
    http: &reqwest::Client,
    base: &str,
    server: &Server,
    name: &str,
) -> ChallengeAccount {
    crate::scm_client::operator_password(http, base).await;
    let org = create_organization(
        http,
        base,
        serde_json::json!({"name": "University of Camford", "country": "GB",
                           "city": "Camford", "certTypes": ["SSL"]}),
        server,
    )
    .await;
    let (status, _, text) = send(
        scm(
            http.put(format!("{base}/api/organization/v1/{org}")),
            NEW_PASSWORD,
        )
        .json(&serde_json::json!({"validationStatus": "Validated"})),
    )
    .await;
    assert_eq!(status, 200, "{text}");
    let (status, _, text) = send(
        scm(http.post(format!("{base}/api/domain/v1")), NEW_PASSWORD).json(&serde_json::json!({
            "name": "*.camford.ac.uk",
            "delegations": [{"orgId": org, "certTypes": ["SSL"]}],
        })),
    )
    .await;
    assert_eq!(status, 201, "{text}");
    let (status, location, text) = send(
        scm(
            http.post(format!("{base}/api/acme/v1/account")),
            NEW_PASSWORD,
        )
        .json(&serde_json::json!({"name": name,
                                  "acmeServer": "OV ACME Server (challenges)",
                                  "organizationId": org})),
    )
    .await;
    assert_eq!(status, 201, "{text}\n{}", server.log());
    let account: serde_json::Value = serde_json::from_str(&text).unwrap();
    let (status, _, text) = send(
        scm(
            http.post(format!("{base}{}/domains", location.unwrap())),
            NEW_PASSWORD,
        )
        .json(&serde_json::json!({"domains": [{"name": "*.camford.ac.uk"}]})),
    )
    .await;
    assert_eq!((status, text.as_str()), (200, "{}"));
    let directory = account["acmeServerUrl"].as_str().unwrap().to_owned();
    assert_eq!(directory, format!("{base}/acme/ovc/directory"));
    ChallengeAccount {
        directory,
        mac_id: account["macId"].as_str().unwrap().to_owned(),
        mac_key: account["macKey"].as_str().unwrap().to_owned(),
    }
}

async fn certbot_off_thread(dir: &Path, directory: &str, args: Vec<String>) -> (bool, String) {
    let (dir, directory) = (dir.to_path_buf(), directory.to_owned());
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        certbot(&dir, &directory, &args)
    })
    .await
    .unwrap()
}

async fn lego_off_thread(mut cmd: Command) -> (bool, String) {
    tokio::task::spawn_blocking(move || {
        let out = cmd
            .env("NO_PROXY", "127.0.0.1,localhost")
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

/// `openssl verify` of `cert` against the issuing CA in `chain` (the chain an ACME client
/// downloaded), and the certificate's subjectAltName.
fn verified_names(chain: &Path, cert: &Path) -> String {
    let verified = castellan_testkit::tools::run(
        castellan_testkit::tools::openssl()
            .args([
                "verify",
                "-partial_chain",
                "-purpose",
                "sslserver",
                "-CAfile",
            ])
            .arg(chain)
            .arg(cert),
    );
    assert!(verified.trim_end().ends_with(": OK"), "{verified}");
    castellan_testkit::tools::run(
        castellan_testkit::tools::openssl()
            .args(["x509", "-noout", "-ext", "subjectAltName", "-in"])
            .arg(cert),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certbot_and_lego_prove_names_with_challenges() {
    let ws = Workspace::new();
    ok(ws.init("data", &["--customer-uri", CUSTOMER_URI]));
    let config_file = ws.path("data").join("castellan.toml");
    let config = std::fs::read_to_string(&config_file).unwrap();
    assert!(config.contains("\nservers = []\n"), "{config}");
    std::fs::write(
        &config_file,
        config.replace("\nservers = []\n", &format!("\n{SERVERS}\n")),
    )
    .unwrap();

    let dns = Arc::new(TestDns::start().await);
    let control = TestDns::serve_control(dns.clone()).await;
    for host in [
        "www.camford.ac.uk",
        "ftp.camford.ac.uk",
        "caa.camford.ac.uk",
        "lego.camford.ac.uk",
    ] {
        dns.add_a(host, Ipv4Addr::LOCALHOST).await;
    }
    dns.add_caa(
        "caa.camford.ac.uk",
        0,
        "issue",
        "castellan.test; accounturi=https://elsewhere.example/acct/1",
    )
    .await;
    let (http_port, tls_port, port) = (free_port(), free_port(), free_port());
    let base = format!("http://127.0.0.1:{port}");
    let dns_servers = dns.addr().to_string();
    let (http_env, tls_env) = (http_port.to_string(), tls_port.to_string());
    let env = [
        ("CASTELLAN_BASE_URL", base.as_str()),
        ("CASTELLAN_DNS_SERVERS", dns_servers.as_str()),
        ("CASTELLAN_ALLOW_PRIVATE_TARGETS", "1"),
        ("CASTELLAN_VALIDATION__HTTP_PORT", http_env.as_str()),
        ("CASTELLAN_VALIDATION__HTTPS_PORT", tls_env.as_str()),
        (
            "CASTELLAN_VALIDATION__CAA_IDENTITIES",
            "[\"castellan.test\"]",
        ),
        ("CASTELLAN_ACME__CHALLENGE_RETRY_SECONDS", "1"),
        // Six new orders an hour: the seventh is refused, renewals are not.
        ("CASTELLAN_ACME__ORDERS_PER_ACCOUNT_PER_HOUR", "6"),
    ];
    let listen = ["--http", "--listen", &format!("127.0.0.1:{port}")];
    let server = Server::start(&ws.path("data"), &listen, &env);

    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let account = challenge_account(&http, &base, &server, "web servers").await;
    let directory = account.directory.clone();
    let (kid, key) = (account.mac_id.clone(), account.mac_key.clone());

    // certbot: register, then http-01 with its standalone server.
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| args.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>();
    let (done, out) = certbot_off_thread(
        dir.path(),
        &directory,
        run(&[
            "register",
            "--agree-tos",
            "-m",
            "it@camford.ac.uk",
            &format!("--eab-kid={kid}"),
            &format!("--eab-hmac-key={key}"),
        ]),
    )
    .await;
    assert!(done, "{out}");
    let standalone = |name: &str, port: u16| {
        run(&[
            "certonly",
            "--standalone",
            "--http-01-address",
            "127.0.0.1",
            "--http-01-port",
            &port.to_string(),
            "-d",
            name,
            "--cert-name",
            name,
        ])
    };
    let (done, out) = certbot_off_thread(
        dir.path(),
        &directory,
        standalone("www.camford.ac.uk", http_port),
    )
    .await;
    assert!(done, "certbot http-01: {out}\n{}", server.log());
    let live = |name: &str| dir.path().join("config/live").join(name);
    let names = verified_names(
        &live("www.camford.ac.uk").join("chain.pem"),
        &live("www.camford.ac.uk").join("cert.pem"),
    );
    assert!(names.contains("DNS:www.camford.ac.uk"), "{names}");

    // dns-01 for the wildcard, through hooks that write to the test DNS.
    let auth = hook(
        ws.dir.path(),
        "certbot-auth",
        control,
        "echo \"txt _acme-challenge.$CERTBOT_DOMAIN $CERTBOT_VALIDATION\" >&3",
    );
    let cleanup = hook(
        ws.dir.path(),
        "certbot-cleanup",
        control,
        "echo \"clear _acme-challenge.$CERTBOT_DOMAIN\" >&3",
    );
    let (done, out) = certbot_off_thread(
        dir.path(),
        &directory,
        run(&[
            "certonly",
            "--manual",
            "--preferred-challenges",
            "dns",
            "--manual-auth-hook",
            auth.to_str().unwrap(),
            "--manual-cleanup-hook",
            cleanup.to_str().unwrap(),
            "-d",
            "*.camford.ac.uk",
            "--cert-name",
            "wildcard",
        ]),
    )
    .await;
    assert!(done, "certbot dns-01: {out}\n{}", server.log());
    let names = verified_names(
        &live("wildcard").join("chain.pem"),
        &live("wildcard").join("cert.pem"),
    );
    assert!(names.contains("DNS:*.camford.ac.uk"), "{names}");

    // Nothing answers on the validation port: tried, then invalid, in the VA's words.
    let (done, out) = certbot_off_thread(
        dir.path(),
        &directory,
        standalone("ftp.camford.ac.uk", free_port()),
    )
    .await;
    assert!(!done, "{out}");
    assert!(
        out.contains(&format!(
            "http://ftp.camford.ac.uk:{http_port}/.well-known/acme-challenge/"
        )) && out.contains("could not be fetched")
            && out.contains("(tried 3 times)"),
        "{out}"
    );

    // CAA names another ACME account (RFC 8657 accounturi): the challenge passes, the
    // certificate is refused at finalize with the reason.
    let (done, out) = certbot_off_thread(
        dir.path(),
        &directory,
        standalone("caa.camford.ac.uk", http_port),
    )
    .await;
    assert!(!done, "{out}");
    assert!(out.contains("accounturi"), "{out}\n{}", server.log());

    // lego: tls-alpn-01 with its own TLS server, then dns-01 through its exec provider.
    let lego_dir = ws.path("lego");
    let lego = |domain: &str| {
        let mut cmd = Command::new(tool("lego"));
        cmd.args([
            "--server",
            &directory,
            "--email",
            "it@camford.ac.uk",
            "--accept-tos",
            "--eab",
            &format!("--kid={kid}"),
            &format!("--hmac={key}"),
            "--domains",
            domain,
            "--path",
        ])
        .arg(&lego_dir);
        cmd
    };
    let mut tls = lego("lego.camford.ac.uk");
    tls.args([
        "--tls",
        "--tls.port",
        &format!("127.0.0.1:{tls_port}"),
        "run",
    ]);
    let (done, out) = lego_off_thread(tls).await;
    assert!(done, "lego tls-alpn-01: {out}\n{}", server.log());
    let crt = lego_dir.join("certificates/lego.camford.ac.uk.crt");
    let names = verified_names(&crt, &crt);
    assert!(names.contains("DNS:lego.camford.ac.uk"), "{names}");

    let exec = hook(
        ws.dir.path(),
        "lego-exec",
        control,
        "if [ \"$1\" = present ]; then echo \"txt $2 $3\" >&3; else echo \"clear $2\" >&3; fi",
    );
    let mut by_dns = lego("mail.camford.ac.uk");
    by_dns
        .args([
            "--dns",
            "exec",
            "--dns.disable-cp",
            "--dns.resolvers",
            &dns_servers,
            "run",
        ])
        .env("EXEC_PATH", &exec)
        .env("EXEC_PROPAGATION_TIMEOUT", "10")
        .env("EXEC_POLLING_INTERVAL", "1");
    let (done, out) = lego_off_thread(by_dns).await;
    assert!(done, "lego dns-01: {out}\n{}", server.log());
    let crt = lego_dir.join("certificates/mail.camford.ac.uk.crt");
    let names = verified_names(&crt, &crt);
    assert!(names.contains("DNS:mail.camford.ac.uk"), "{names}");

    // Six new orders were placed in this hour (two failed ones count): a seventh is
    // refused with rateLimited; a renewal (the names of a certificate the account holds;
    // certbot does not send `replaces`) is not.
    let (done, out) = certbot_off_thread(
        dir.path(),
        &directory,
        standalone("ftp.camford.ac.uk", http_port),
    )
    .await;
    assert!(!done, "{out}");
    assert!(
        out.contains("this ACME account placed 6 new orders in the last hour, the limit is 6"),
        "{out}"
    );
    let before = std::fs::read(live("www.camford.ac.uk").join("cert.pem")).unwrap();
    let (done, out) = certbot_off_thread(
        dir.path(),
        &directory,
        run(&[
            "renew",
            "--cert-name",
            "www.camford.ac.uk",
            "--force-renewal",
            "--no-random-sleep-on-renew",
        ]),
    )
    .await;
    assert!(done, "certbot renew: {out}\n{}", server.log());
    let after = std::fs::read(live("www.camford.ac.uk").join("cert.pem")).unwrap();
    assert_ne!(before, after, "renewed");
    server.stop();

    // Open registration: the challenge server binds clients without a binding to this
    // ACME account. certbot registers with no EAB and gets www (proven by the account's
    // earlier challenge, held by the account: no challenge, no rate limit).
    let config = std::fs::read_to_string(&config_file).unwrap();
    std::fs::write(
        &config_file,
        config.replace(
            r#"authorization = "challenges" }"#,
            &format!(r#"authorization = "challenges", open_registration_account = "{kid}" }}"#),
        ),
    )
    .unwrap();
    let server = Server::start(&ws.path("data"), &listen, &env);
    let meta: serde_json::Value = http
        .get(&directory)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(meta["meta"]["externalAccountRequired"], false, "{meta}");
    let open = tempfile::tempdir().unwrap();
    let (done, out) = certbot_off_thread(
        open.path(),
        &directory,
        run(&["register", "--agree-tos", "-m", "web@camford.ac.uk"]),
    )
    .await;
    assert!(done, "register without EAB: {out}\n{}", server.log());
    let (done, out) = certbot_off_thread(
        open.path(),
        &directory,
        standalone("www.camford.ac.uk", http_port),
    )
    .await;
    assert!(done, "certbot on the open server: {out}\n{}", server.log());
    server.stop();
}
