//! `castellan serve`: first start, HTTPS with its own certificate, /health, restart, and
//! the start-up errors that must be clear.

use crate::support::*;
use castellan_testkit::db::TestDb;
use std::path::Path;

fn https_client(dir: &Path) -> reqwest::Client {
    let pem = ok(run_in(dir, &["ca", "show", "--pem"]));
    let pem = &pem[pem.find("-----BEGIN CERTIFICATE-----").unwrap()..];
    // Trust only Castellan's own roots.
    reqwest::Client::builder()
        .tls_certs_only(reqwest::Certificate::from_pem_bundle(pem.as_bytes()).unwrap())
        .build()
        .unwrap()
}

#[tokio::test]
async fn first_start_serves_https_and_restart_keeps_the_ca() {
    let ws = Workspace::new();
    let data = ws.path("data");
    // The README's first command, with the production defaults.
    let server = Server::start(&data, &["--listen", "127.0.0.1:0"], &[]);
    let all = server.lines.join("\n");
    let password_line = server
        .lines
        .iter()
        .find(|l| l.starts_with("Initial password for 'admin'"))
        .unwrap_or_else(|| panic!("no password printed: {all}"));
    let password = password_line.rsplit(": ").next().unwrap().to_owned();
    assert_eq!(password.len(), 24, "{password_line}");
    assert!(all.contains("rsa-root-1 (rsa root, rsa4096)"), "{all}");
    assert!(
        all.contains("rsa-issuing-1 (rsa issuing, rsa3072)"),
        "{all}"
    );
    let file = data.join("initial-admin-password");
    assert_eq!(std::fs::read_to_string(&file).unwrap().trim(), password);
    assert_eq!(mode(&file), 0o600);

    let client = https_client(&data);
    let response = client
        .get(format!("https://localhost:{}/health", server.port))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"], "sqlite");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    // The certificate names 127.0.0.1 too.
    let by_ip = client
        .get(format!("https://127.0.0.1:{}/health", server.port))
        .send()
        .await
        .unwrap();
    assert_eq!(by_ip.status(), 200);
    let hierarchy = ok(run_in(&data, &["ca", "show"]));
    server.stop();

    let again = Server::start(&data, &["--listen", "127.0.0.1:0"], &[]);
    assert!(
        !again
            .lines
            .iter()
            .any(|l| l.contains("Initial password") || l.contains("First start")),
        "the password is printed once only: {:?}",
        again.lines
    );
    assert_eq!(
        ok(run_in(&data, &["ca", "show"])),
        hierarchy,
        "the CA must not change"
    );
    let response = https_client(&data)
        .get(format!("https://localhost:{}/health", again.port))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    again.stop();
}

#[tokio::test]
async fn postgres_over_plain_http() {
    let ws = Workspace::new();
    let db = TestDb::new_postgres().await;
    let url = db.postgres_url().unwrap().to_owned();
    ok(ws.init("data", &["--database-url", &url]));
    let data = ws.path("data");
    assert!(
        !data.join("castellan.db").exists(),
        "no SQLite file with PostgreSQL"
    );
    let server = Server::start(&data, &["--listen", "127.0.0.1:0", "--http"], &[]);
    assert!(
        server
            .lines
            .iter()
            .any(|l| l.contains("(database: postgres)")),
        "{:?}",
        server.lines
    );
    let body: serde_json::Value = reqwest::get(format!("http://127.0.0.1:{}/health", server.port))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["database"], "postgres");
    assert_eq!(body["status"], "ok");
    server.stop();

    // init against an already initialised PostgreSQL database refuses and writes nothing.
    let refused = castellan()
        .arg("--data-dir")
        .arg(ws.path("third"))
        .args([
            "init",
            "--admin-login",
            "ops",
            "--admin-password-file",
            ws.path("password").to_str().unwrap(),
        ])
        .env("CASTELLAN_DATABASE_URL", &url)
        .output()
        .unwrap();
    let err = fails(refused);
    assert!(err.starts_with("the database postgres://"), "{err}");
    assert!(err.contains("is already initialised"), "{err}");
    assert!(!ws.path("third").exists());
}

#[test]
fn a_wrong_or_missing_key_encryption_key_stops_start_up() {
    let ws = Workspace::new();
    ok(ws.init("data", &[]));
    let data = ws.path("data");
    let original = std::fs::read_to_string(data.join("kek")).unwrap();

    // Another valid key: refused, never a new CA.
    std::fs::write(
        data.join("kek"),
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
    )
    .unwrap();
    let err = fails(run_in(
        &data,
        &["serve", "--http", "--listen", "127.0.0.1:0"],
    ));
    assert_eq!(
        err,
        format!(
            "cannot load the certificate authority: the key-encryption key from {} is not the one this CA was created with, so its keys cannot be decrypted. Restore the original key (file or CASTELLAN_KEK); Castellan will not create a new CA over an existing one",
            data.join("kek").display()
        )
    );

    std::fs::remove_file(data.join("kek")).unwrap();
    let err = fails(run_in(
        &data,
        &["serve", "--http", "--listen", "127.0.0.1:0"],
    ));
    assert!(
        err.starts_with(&format!(
            "cannot read the key-encryption key {}",
            data.join("kek").display()
        )),
        "{err}"
    );
    assert!(err.ends_with("restore it from your backup or set CASTELLAN_KEK. Castellan will not create a new CA over an existing one"), "{err}");

    // The right key in the environment works without the file.
    let out = castellan()
        .arg("--data-dir")
        .arg(&data)
        .args(["ca", "show"])
        .env("CASTELLAN_KEK", original.trim())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let out = castellan()
        .arg("--data-dir")
        .arg(&data)
        .args(["ca", "show"])
        .env("CASTELLAN_KEK", "not-base64")
        .output()
        .unwrap();
    assert!(fails(out).starts_with("CASTELLAN_KEK is not a valid key-encryption key"));
}

#[test]
fn a_bad_profile_stops_start_up_naming_file_key_and_reason() {
    let ws = Workspace::new();
    ok(ws.init("data", &[]));
    let data = ws.path("data");
    let file = data.join("profiles/ov-ssl.toml");
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace("terms = [90, 199]", "terms = [90, 9999]");
    std::fs::write(&file, text).unwrap();
    let err = fails(run_in(
        &data,
        &["serve", "--http", "--listen", "127.0.0.1:0"],
    ));
    assert_eq!(
        err,
        format!(
            "certificate profile {}: terms: 9999 days is outside 1..=398, the longest term a SSL certificate may have",
            file.display()
        )
    );
}

#[test]
fn serve_refuses_a_directory_that_is_not_its_own() {
    let ws = Workspace::new();
    std::fs::create_dir(ws.path("busy")).unwrap();
    std::fs::write(ws.path("busy/notes.txt"), "mine").unwrap();
    let err = fails(run_in(
        &ws.path("busy"),
        &["serve", "--listen", "127.0.0.1:0"],
    ));
    assert!(
        err.contains("is not empty (notes.txt) and holds no castellan.toml"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(ws.path("busy/notes.txt")).unwrap(),
        "mine"
    );
}

#[test]
fn a_configuration_typo_is_named() {
    let ws = Workspace::new();
    ok(ws.init("data", &[]));
    let data = ws.path("data");
    let config = data.join("castellan.toml");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("listen = ", "listne = ");
    std::fs::write(&config, text).unwrap();
    let err = fails(run_in(&data, &["ca", "show"]));
    assert!(
        err.starts_with("invalid configuration: unknown field: found `listne`"),
        "{err}"
    );
}

#[test]
fn a_caa_cache_longer_than_eight_hours_is_refused() {
    let ws = Workspace::new();
    ok(ws.init("data", &[]));
    let data = ws.path("data");
    let config = data.join("castellan.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("\ncaa_cache_seconds = 300\n"), "{text}");
    std::fs::write(
        &config,
        text.replace("caa_cache_seconds = 300", "caa_cache_seconds = 28801"),
    )
    .unwrap();
    let err = fails(run_in(&data, &["ca", "show"]));
    assert_eq!(
        err,
        "invalid configuration: validation.caa_cache_seconds is 28801; it must be 0 to 28800 \
         (8 hours, the Baseline Requirements' limit for a CAA answer whose TTL is shorter)"
    );
}
