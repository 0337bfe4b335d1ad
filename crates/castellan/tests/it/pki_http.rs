//! What a relying party sees on the plain-HTTP PKI listener of a running server: OCSP by
//! POST (openssl's own client) and GET, the CRL named in a certificate, the CA certificate
//! named in caIssuers, and the refusals for bad requests.

use crate::support::{Server, Workspace};
use base64::Engine as _;
use castellan_testkit::tools::{self, openssl};

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The URL in a certificate extension, moved to the listener's real address (the data
/// directory's pki_base_url names a public host).
fn url_in(ws: &Workspace, pem: &str, ext: &str, pki: &str) -> String {
    let printed = tools::run(
        openssl()
            .args(["x509", "-noout", "-ext", ext, "-in"])
            .arg(ws.path(pem)),
    );
    let url = printed
        .split("URI:")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no URI in {printed}"))
        .to_owned();
    on_listener(&url, pki)
}

/// `http://<host>/<path>` → `<pki>/<path>`.
fn on_listener(url: &str, pki: &str) -> String {
    let path = url
        .strip_prefix("http://")
        .and_then(|rest| rest.split_once('/'))
        .map(|(_, path)| path)
        .unwrap_or_else(|| panic!("{url} is not an http:// URL"));
    format!("{pki}/{path}")
}

/// Runs against the server of the SCM client test after its script: `leaf.pem` (Issued),
/// `issuing.pem` and `root.pem` are in `ws`, and order `revoked_id` was revoked.
pub async fn relying_party_view(
    http: &reqwest::Client,
    server: &Server,
    ws: &Workspace,
    revoked_serial: &str,
) {
    let pki = format!("http://127.0.0.1:{}", server.pki_port());
    let path = |n: &str| ws.path(n).to_str().unwrap().to_owned();

    // openssl's OCSP client (POST) against the URL in the certificate: good.
    let ocsp_url = url_in(ws, "leaf.pem", "authorityInfoAccess", &pki);
    assert_eq!(ocsp_url, format!("{pki}/ocsp"));
    let ask = |extra: &[&str]| {
        let mut cmd = openssl();
        cmd.args([
            "ocsp",
            "-issuer",
            &path("issuing.pem"),
            "-CAfile",
            &path("root.pem"),
        ])
        .args(["-verify_other", &path("issuing.pem"), "-url", &ocsp_url])
        .args(extra);
        text(&cmd.output().unwrap())
    };
    let verdict = ask(&["-cert", &path("leaf.pem")]);
    assert!(
        verdict.contains("Response verify OK"),
        "{verdict}\n{}",
        server.log()
    );
    assert!(verdict.contains(": good"), "{verdict}");
    assert!(
        !verdict.contains("WARNING: no nonce"),
        "the nonce is echoed: {verdict}"
    );

    // The revoked order's certificate: revoked.
    let verdict = ask(&["-serial", &format!("0x{revoked_serial}")]);
    assert!(verdict.contains(": revoked"), "{verdict}");

    // GET with the base64 request in the path, as RFC 5019 clients and CDNs use it.
    tools::run(
        openssl()
            .args([
                "ocsp",
                "-no_nonce",
                "-issuer",
                &path("issuing.pem"),
                "-cert",
                &path("leaf.pem"),
            ])
            .args(["-reqout", &path("get-req.der")]),
    );
    let request = std::fs::read(ws.path("get-req.der")).unwrap();
    let encoded = base64::engine::general_purpose::STANDARD.encode(&request);
    let get = http
        .get(format!(
            "{pki}/ocsp/{}",
            encoded.replace('/', "%2F").replace('+', "%2B")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 200);
    let headers = get.headers().clone();
    assert_eq!(headers["content-type"], "application/ocsp-response");
    let cache = headers["cache-control"].to_str().unwrap().to_owned();
    assert!(cache.starts_with("public, max-age="), "{cache}");
    assert!(
        headers.contains_key("expires")
            && headers.contains_key("last-modified")
            && headers.contains_key("etag")
    );
    std::fs::write(ws.path("get-resp.der"), get.bytes().await.unwrap()).unwrap();
    let verdict = text(
        &openssl()
            .args([
                "ocsp",
                "-no_nonce",
                "-respin",
                &path("get-resp.der"),
                "-issuer",
                &path("issuing.pem"),
            ])
            .args([
                "-cert",
                &path("leaf.pem"),
                "-CAfile",
                &path("root.pem"),
                "-verify_other",
                &path("issuing.pem"),
            ])
            .output()
            .unwrap(),
    );
    assert!(
        verdict.contains("Response verify OK") && verdict.contains(": good"),
        "{verdict}"
    );

    // Bad input: malformed → malformedRequest (unsigned, not cached); a path that is not
    // base64 is malformed too.
    let post = |body: Vec<u8>| {
        http.post(format!("{pki}/ocsp"))
            .header("content-type", "application/ocsp-request")
            .body(body)
            .send()
    };
    let malformed = post(b"\x30\x03\x02\x01\x05".to_vec()).await.unwrap();
    assert_eq!(malformed.status(), 200);
    assert_eq!(malformed.headers()["cache-control"], "no-store");
    assert_eq!(
        malformed.bytes().await.unwrap().as_ref(),
        [0x30, 0x03, 0x0a, 0x01, 0x01]
    );
    let not_base64 = http
        .get(format!("{pki}/ocsp/%%%not-base64"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        not_base64.bytes().await.unwrap().as_ref(),
        [0x30, 0x03, 0x0a, 0x01, 0x01]
    );

    // caIssuers: the issuing CA certificate, DER.
    let ca_url = authority_info_ca(ws, &pki);
    let ca = http.get(&ca_url).send().await.unwrap();
    assert_eq!(ca.status(), 200);
    assert_eq!(ca.headers()["content-type"], "application/pkix-cert");
    std::fs::write(ws.path("ca-issuers.der"), ca.bytes().await.unwrap()).unwrap();
    let from_aia = tools::run(openssl().args([
        "x509",
        "-inform",
        "DER",
        "-noout",
        "-fingerprint",
        "-sha256",
        "-in",
        &path("ca-issuers.der"),
    ]));
    let from_chain = tools::run(openssl().args([
        "x509",
        "-noout",
        "-fingerprint",
        "-sha256",
        "-in",
        &path("issuing.pem"),
    ]));
    assert_eq!(from_aia, from_chain);
    assert_eq!(
        http.get(format!("{pki}/ca/no-such-ca.crt"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    // The CRL named in the certificate lists the revoked serial within the configured
    // delay (one second in this test), and lets the valid certificate through.
    let crl_url = url_in(ws, "leaf.pem", "crlDistributionPoints", &pki);
    let mut listed = false;
    for _ in 0..40 {
        let crl = http.get(&crl_url).send().await.unwrap();
        assert_eq!(crl.status(), 200);
        assert_eq!(crl.headers()["content-type"], "application/pkix-crl");
        std::fs::write(ws.path("served.crl"), crl.bytes().await.unwrap()).unwrap();
        let printed = tools::run(openssl().args([
            "crl",
            "-inform",
            "DER",
            "-noout",
            "-text",
            "-in",
            &path("served.crl"),
        ]));
        if printed
            .to_uppercase()
            .contains(&revoked_serial.to_uppercase())
        {
            listed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert!(
        listed,
        "the CRL never listed {revoked_serial}\n{}",
        server.log()
    );
    tools::pkilint(
        ws.dir.path(),
        "lint_crl",
        &["-t", "CRL", "-p", "BR"],
        &std::fs::read(ws.path("served.crl")).unwrap(),
    );
    let pem = http.get(format!("{crl_url}.pem")).send().await.unwrap();
    assert_eq!(pem.headers()["content-type"], "application/x-pem-file");
    std::fs::write(ws.path("served.crl.pem"), pem.bytes().await.unwrap()).unwrap();
    let verified = tools::run(openssl().args([
        "verify",
        "-crl_check",
        "-CAfile",
        &path("root.pem"),
        "-untrusted",
        &path("issuing.pem"),
        "-CRLfile",
        &path("served.crl.pem"),
        &path("leaf.pem"),
    ]));
    assert!(verified.trim_end().ends_with(": OK"), "{verified}");
    assert_eq!(
        http.get(format!("{pki}/crl/no-such-ca.crl"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    // A huge body is refused before it is read (last: the server closes that connection).
    let huge = http
        .post(format!("{pki}/ocsp"))
        .header("content-type", "application/ocsp-request")
        .body(vec![0x30; 100_000])
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status(), 413);
}

fn authority_info_ca(ws: &Workspace, pki: &str) -> String {
    let printed = tools::run(
        openssl()
            .args(["x509", "-noout", "-ext", "authorityInfoAccess", "-in"])
            .arg(ws.path("leaf.pem")),
    );
    printed
        .lines()
        .find_map(|l| l.trim().strip_prefix("CA Issuers - URI:"))
        .map(|url| on_listener(url, pki))
        .unwrap_or_else(|| panic!("no caIssuers in {printed}"))
}
