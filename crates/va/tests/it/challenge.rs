//! The ACME challenges against real servers on loopback: an HTTP server for http-01, the
//! test DNS for dns-01, and a TLS server answering `acme-tls/1` with a certificate made by the
//! openssl command for tls-alpn-01.

use std::net::Ipv4Addr;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use castellan_va::FetchSettings;
use castellan_va::challenge::{
    check_dns_01, check_http_01, check_tls_alpn_01, dns_01_name, dns_01_value, key_authorization,
    key_authorization_digest,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::support::{dead_resolver, dns, fetcher};

const TOKEN: &str = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA";
const THUMBPRINT: &str = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

fn key_auth() -> String {
    key_authorization(TOKEN, THUMBPRINT)
}

/// A web server answering `/.well-known/acme-challenge/<TOKEN>` with `body`.
async fn challenge_server(body: String) -> u16 {
    let app = Router::new().route(
        &format!("/.well-known/acme-challenge/{TOKEN}"),
        get(move || {
            let body = body.clone();
            async move { body }
        }),
    );
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    port
}

#[test]
fn the_dns_01_value_is_the_base64url_sha256_of_the_key_authorization() {
    // RFC 8555 §8.1 and §8.4 with the RFC 7638 example thumbprint.
    assert_eq!(key_auth(), format!("{TOKEN}.{THUMBPRINT}"));
    assert_eq!(dns_01_value(&key_auth()).len(), 43);
    // The same digest as the openssl command makes of the key authorization.
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("key-authorization");
    std::fs::write(&input, key_auth()).unwrap();
    let hex = castellan_testkit::tools::run(
        castellan_testkit::tools::openssl()
            .args(["dgst", "-sha256", "-r"])
            .arg(&input),
    );
    let digest = key_authorization_digest(&key_auth());
    let ours: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex.split_whitespace().next(), Some(ours.as_str()));
    use base64::Engine as _;
    let published = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(dns_01_value(&key_auth()))
        .unwrap();
    assert_eq!(published, digest);
    assert_eq!(
        dns_01_name("WWW.Example.COM."),
        "_acme-challenge.www.example.com"
    );
}

#[tokio::test]
async fn http_01_passes_with_the_key_authorization_and_a_trailing_newline() {
    let (dns, resolver) = dns().await;
    dns.add_a("www.site.test", Ipv4Addr::LOCALHOST).await;
    let port = challenge_server(format!("{}\n", key_auth())).await;

    let check = check_http_01(
        &fetcher(&resolver, port, true),
        "www.site.test",
        TOKEN,
        &key_auth(),
    )
    .await;

    assert!(check.passed, "{check:?}");
    assert_eq!(
        check.detail,
        format!(
            "http://www.site.test:{port}/.well-known/acme-challenge/{TOKEN} holds the key authorization"
        )
    );
}

#[tokio::test]
async fn http_01_with_other_content_fails_for_good_and_says_what_was_found() {
    let (dns, resolver) = dns().await;
    dns.add_a("www.site.test", Ipv4Addr::LOCALHOST).await;
    let port = challenge_server("not.this".into()).await;

    let check = check_http_01(
        &fetcher(&resolver, port, true),
        "www.site.test",
        TOKEN,
        &key_auth(),
    )
    .await;

    assert!(!check.passed && !check.retry, "{check:?}");
    assert_eq!(
        check.detail,
        format!(
            "http://www.site.test:{port}/.well-known/acme-challenge/{TOKEN} does not hold the key \
             authorization: expected \"{}\", found \"not.this\"",
            key_auth()
        )
    );
}

#[tokio::test]
async fn http_01_with_nothing_listening_is_worth_retrying() {
    let (dns, resolver) = dns().await;
    dns.add_a("www.site.test", Ipv4Addr::LOCALHOST).await;
    let port = castellan_testkit::smtp::free_port();

    let check = check_http_01(
        &fetcher(&resolver, port, true),
        "www.site.test",
        TOKEN,
        &key_auth(),
    )
    .await;

    assert!(!check.passed && check.retry, "{check:?}");
    assert!(
        check.detail.contains("could not be fetched"),
        "{}",
        check.detail
    );
}

#[tokio::test]
async fn http_01_refuses_loopback_unless_allowed_and_that_is_not_retried() {
    let (dns, resolver) = dns().await;
    dns.add_a("www.site.test", Ipv4Addr::LOCALHOST).await;
    let port = challenge_server(key_auth()).await;

    let check = check_http_01(
        &fetcher(&resolver, port, false),
        "www.site.test",
        TOKEN,
        &key_auth(),
    )
    .await;

    assert!(!check.passed && !check.retry, "{check:?}");
    assert!(
        check
            .detail
            .contains("refusing to connect to 127.0.0.1 (loopback)"),
        "{}",
        check.detail
    );
}

#[tokio::test]
async fn dns_01_passes_with_the_txt_record_and_fails_without_it() {
    let (dns, resolver) = dns().await;

    let check = check_dns_01(&resolver, "www.site.test", &key_auth()).await;
    assert!(!check.passed && !check.retry, "{check:?}");
    assert_eq!(
        check.detail,
        format!(
            "_acme-challenge.www.site.test has no TXT record; add _acme-challenge.www.site.test \
             TXT \"{}\"",
            dns_01_value(&key_auth())
        )
    );

    dns.add_txt("_acme-challenge.www.site.test", &dns_01_value(&key_auth()))
        .await;
    let check = check_dns_01(&resolver, "www.site.test", &key_auth()).await;
    assert!(check.passed, "{check:?}");
}

#[tokio::test]
async fn dns_01_with_no_answer_from_the_dns_is_worth_retrying() {
    let check = check_dns_01(&dead_resolver(), "www.site.test", &key_auth()).await;
    assert!(!check.passed && check.retry, "{check:?}");
}

/// A TLS server on loopback presenting a certificate for `san` with an acmeIdentifier of
/// `digest` (critical unless `critical` is false), negotiating `alpn`.
async fn tls_alpn_server(san: &str, digest: [u8; 32], critical: bool, alpn: &[u8]) -> u16 {
    let dir = tempfile::tempdir().unwrap();
    let (key, cert) = (dir.path().join("key.pem"), dir.path().join("cert.pem"));
    let hex: Vec<String> = digest.iter().map(|b| format!("{b:02X}")).collect();
    let extension = format!(
        "1.3.6.1.5.5.7.1.31={}DER:04:20:{}",
        if critical { "critical," } else { "" },
        hex.join(":")
    );
    castellan_testkit::tools::run(
        castellan_testkit::tools::openssl()
            .args(["req", "-x509", "-newkey", "ec"])
            .args(["-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"])
            .args(["-days", "1", "-subj", "/CN=acme challenge"])
            .args(["-addext", &format!("subjectAltName=DNS:{san}")])
            .args(["-addext", &extension])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert),
    );
    let chain = CertificateDer::pem_file_iter(&cert)
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(&key).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    // with_single_cert would parse the certificate with webpki, which refuses the unknown
    // critical extension; a resolver hands the key and chain over unparsed.
    let signing_key = provider.key_provider.load_private_key(key).unwrap();
    let certified = Arc::new(rustls::sign::CertifiedKey::new(chain, signing_key));
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(OneCertificate(certified)));
    config.alpn_protocols = vec![alpn.to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // The check closes the connection after the handshake; nothing more is said.
                let _ = acceptor.accept(tcp).await;
            });
        }
    });
    port
}

/// Presents the one certificate whatever the client asks for.
#[derive(Debug)]
struct OneCertificate(Arc<rustls::sign::CertifiedKey>);

impl rustls::server::ResolvesServerCert for OneCertificate {
    fn resolve(
        &self,
        _hello: rustls::server::ClientHello<'_>,
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }
}

fn tls_settings(port: u16, allow_private_targets: bool) -> FetchSettings {
    FetchSettings {
        allow_private_targets,
        http_port: 80,
        https_port: port,
    }
}

#[tokio::test]
async fn tls_alpn_01_passes_with_the_right_certificate() {
    let (dns, resolver) = dns().await;
    dns.add_a("www.site.test", Ipv4Addr::LOCALHOST).await;
    let digest = key_authorization_digest(&key_auth());
    let port = tls_alpn_server("www.site.test", digest, true, b"acme-tls/1").await;

    let check = check_tls_alpn_01(
        &resolver,
        &tls_settings(port, true),
        "www.site.test",
        &key_auth(),
    )
    .await;

    assert!(check.passed, "{check:?}");
    assert_eq!(
        check.detail,
        "www.site.test presented the acme-tls/1 certificate for this challenge"
    );
}

#[tokio::test]
async fn tls_alpn_01_refuses_another_digest_another_name_a_non_critical_extension() {
    let (dns, resolver) = dns().await;
    dns.add_a("www.site.test", Ipv4Addr::LOCALHOST).await;
    let digest = key_authorization_digest(&key_auth());
    let prefix = "the certificate www.site.test presented for acme-tls/1";

    let other = tls_alpn_server("www.site.test", [7; 32], true, b"acme-tls/1").await;
    let check = check_tls_alpn_01(
        &resolver,
        &tls_settings(other, true),
        "www.site.test",
        &key_auth(),
    )
    .await;
    assert!(!check.passed && !check.retry, "{check:?}");
    assert_eq!(
        check.detail,
        format!(
            "{prefix} holds an acmeIdentifier for another key authorization (another token or \
             another account key)"
        )
    );

    let wrong_name = tls_alpn_server("mail.site.test", digest, true, b"acme-tls/1").await;
    let check = check_tls_alpn_01(
        &resolver,
        &tls_settings(wrong_name, true),
        "www.site.test",
        &key_auth(),
    )
    .await;
    assert_eq!(
        check.detail,
        format!(
            "{prefix} must name exactly www.site.test in its subjectAltName, but names \
             [mail.site.test]"
        )
    );

    let lax = tls_alpn_server("www.site.test", digest, false, b"acme-tls/1").await;
    let check = check_tls_alpn_01(
        &resolver,
        &tls_settings(lax, true),
        "www.site.test",
        &key_auth(),
    )
    .await;
    assert_eq!(
        check.detail,
        format!("{prefix} has an acmeIdentifier extension that is not critical")
    );
}

#[tokio::test]
async fn tls_alpn_01_refuses_a_server_without_acme_tls_1() {
    let (dns, resolver) = dns().await;
    dns.add_a("www.site.test", Ipv4Addr::LOCALHOST).await;
    let digest = key_authorization_digest(&key_auth());
    let port = tls_alpn_server("www.site.test", digest, true, b"http/1.1").await;

    let check = check_tls_alpn_01(
        &resolver,
        &tls_settings(port, true),
        "www.site.test",
        &key_auth(),
    )
    .await;

    assert!(!check.passed && !check.retry, "{check:?}");
    assert!(
        check.detail.starts_with(&format!(
            "www.site.test (127.0.0.1:{port}) failed the TLS handshake for acme-tls/1"
        )),
        "{}",
        check.detail
    );
}

#[tokio::test]
async fn tls_alpn_01_refuses_loopback_unless_allowed_and_retries_when_nothing_listens() {
    let (dns, resolver) = dns().await;
    dns.add_a("www.site.test", Ipv4Addr::LOCALHOST).await;
    let digest = key_authorization_digest(&key_auth());
    let port = tls_alpn_server("www.site.test", digest, true, b"acme-tls/1").await;

    let check = check_tls_alpn_01(
        &resolver,
        &tls_settings(port, false),
        "www.site.test",
        &key_auth(),
    )
    .await;
    assert!(!check.passed && !check.retry, "{check:?}");
    assert_eq!(
        check.detail,
        "refusing to connect to 127.0.0.1 (loopback): validation only contacts public \
         addresses; set allow_private_targets to allow it"
    );

    let closed = castellan_testkit::smtp::free_port();
    let check = check_tls_alpn_01(
        &resolver,
        &tls_settings(closed, true),
        "www.site.test",
        &key_auth(),
    )
    .await;
    assert!(!check.passed && check.retry, "{check:?}");
    assert!(
        check.detail.starts_with(&format!(
            "www.site.test (127.0.0.1:{closed}) could not be reached"
        )),
        "{}",
        check.detail
    );
}
