//! SCM's `/private/api` (spec §1.2): the TLS client certificate, verified against
//! Castellan's roots and matched by serial to the administrator's stored authentication
//! certificate, replaces the password.

use crate::support::*;
use castellan_testkit::tools::{openssl, openssl_csr, run};
use serde_json::{Value, json};

fn client(data: &std::path::Path, identity: Option<reqwest::Identity>) -> reqwest::Client {
    let pem = ok(run_in(data, &["ca", "show", "--pem"]));
    let pem = &pem[pem.find("-----BEGIN CERTIFICATE-----").unwrap()..];
    let mut builder = reqwest::Client::builder()
        .tls_certs_only(reqwest::Certificate::from_pem_bundle(pem.as_bytes()).unwrap());
    if let Some(identity) = identity {
        builder = builder.identity(identity);
    }
    builder.build().unwrap()
}

#[tokio::test]
async fn a_client_certificate_signs_in_on_the_private_api() {
    let ws = Workspace::new();
    ok(ws.init("data", &["--customer-uri", "camford"]));
    let data = ws.path("data");

    // A client certificate for the administrator, issued by Castellan itself.
    let (csr, key) = openssl_csr(ws.dir.path(), "admin", "/CN=Admin");
    std::fs::write(
        ws.path("org.toml"),
        "name = \"University of Camford\"\ncountry = \"GB\"\norganization_identifier = \"LEIXG-5493001KJTIIGC8Y1R12\"\n",
    )
    .unwrap();
    std::fs::write(
        ws.path("person.toml"),
        "given_name = \"Ada\"\nsurname = \"Admin\"\nemail = \"admin@camford.ac.uk\"\n",
    )
    .unwrap();
    let cert = ws.path("admin.pem");
    ok(run_in(
        &data,
        &[
            "cert",
            "issue",
            "--profile",
            "Personal Certificate",
            "--csr",
            csr.to_str().unwrap(),
            "--term",
            "365",
            "--organization",
            ws.path("org.toml").to_str().unwrap(),
            "--person",
            ws.path("person.toml").to_str().unwrap(),
            "--name",
            "admin@camford.ac.uk",
            "--format",
            "pemia",
            "--out",
            cert.to_str().unwrap(),
        ],
    ));
    let serial = run(openssl().args(["x509", "-in", cert.to_str().unwrap(), "-noout", "-serial"]));
    let serial = serial.trim().trim_start_matches("serial=").to_owned();
    let mut identity_pem = std::fs::read(&cert).unwrap();
    identity_pem.extend(std::fs::read(&key).unwrap());
    let identity = || reqwest::Identity::from_pem(&identity_pem).unwrap();

    let server = Server::start(&data, &["--listen", "127.0.0.1:0"], &[]);
    let base = format!("https://localhost:{}", server.port);
    let plain = client(&data, None);
    let with_cert = client(&data, Some(identity()));

    // The initial password is changed, and the certificate's serial stored (with colons,
    // as SCM's pattern allows).
    let password = "correct horse battery";
    let new_password = "a changed admin password";
    let status = plain
        .post(format!("{base}/api/admin/v1/changepassword"))
        .header("login", "admin")
        .header("password", password)
        .header("customerUri", "camford")
        .json(&json!({"newPassword": new_password}))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200, "{}", server.log());
    let colon_serial: Vec<String> = serial
        .as_bytes()
        .chunks(2)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    let status = plain
        .put(format!("{base}/api/admin/v1/1"))
        .header("login", "admin")
        .header("password", new_password)
        .header("customerUri", "camford")
        .json(&json!({"certificateSerialNumber": colon_serial.join(":")}))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200, "{}", server.log());

    let private = |client: &reqwest::Client, login: &str| {
        client
            .get(format!("{base}/private/api/admin/v1/1"))
            .header("login", login)
            .header("customerUri", "camford")
            .send()
    };
    let response = private(&with_cert, "admin").await.unwrap();
    assert_eq!(response.status(), 200, "{}", server.log());
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["login"], "admin");
    assert_eq!(
        body["authCert"],
        serial.to_ascii_lowercase().trim_start_matches('0')
    );

    // No certificate, or a certificate that is not this login's: Unknown user.
    for (client, login) in [(&plain, "admin"), (&with_cert, "someone-else")] {
        let response = private(client, login).await.unwrap();
        assert_eq!(response.status(), 401);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body, json!({"code": -16, "description": "Unknown user"}));
    }
    // The certificate does not replace the password on the ordinary API.
    let response = with_cert
        .get(format!("{base}/api/admin/v1/1"))
        .header("login", "admin")
        .header("customerUri", "camford")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    server.stop();
}
