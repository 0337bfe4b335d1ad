//! The file method of DCV and the fetcher under it: a real web server on loopback, found
//! through the test DNS; the refusal of non-public addresses; the redirect and size limits.

use std::net::{IpAddr, Ipv4Addr};

use castellan_va::fetch::{MAX_BODY_BYTES, non_public_rule};
use castellan_va::{Error, Scheme, check_http};

use crate::support::{TOKEN, dns, fetcher, https_fetcher, https_web_server, web_server};

/// DNS with `site.test A 127.0.0.1`, a web server, and a fetcher allowed to reach loopback.
async fn site() -> (castellan_testkit::dns::TestDns, castellan_va::Fetcher, u16) {
    let (dns, resolver) = dns().await;
    dns.add_a("site.test", Ipv4Addr::LOCALHOST).await;
    let port = web_server().await;
    (dns, fetcher(&resolver, port, true), port)
}

#[tokio::test]
async fn the_file_with_the_token_passes_and_the_transcript_shows_the_exchange() {
    let (_dns, fetcher, port) = site().await;

    let check = check_http(&fetcher, "Site.Test", Scheme::Http, "good.txt", TOKEN).await;

    let url = format!("http://site.test:{port}/.well-known/pki-validation/good.txt");
    assert!(check.passed, "{check:?}");
    assert_eq!(check.detail, format!("{url} holds \"{TOKEN}\""));
    assert_eq!(check.transcript[0], format!("GET {url}"));
    assert!(
        check
            .transcript
            .contains(&"  answer: site.test. A 127.0.0.1".to_owned())
    );
    assert!(check.transcript.contains(&"  status 200 OK".to_owned()));
    assert!(
        check
            .transcript
            .contains(&format!("  answered by 127.0.0.1:{port}"))
    );
    assert_eq!(
        check.transcript.last().unwrap(),
        &format!("  body (first 200 bytes): \"  {TOKEN}\\r\\n\"")
    );
}

#[tokio::test]
async fn a_file_whose_first_line_is_the_token_passes() {
    let (_dns, fetcher, _port) = site().await;

    let check = check_http(&fetcher, "site.test", Scheme::Http, "sectigo.txt", TOKEN).await;

    assert!(check.passed, "{check:?}");
}

#[tokio::test]
async fn other_content_fails_saying_what_was_found() {
    let (_dns, fetcher, port) = site().await;

    let check = check_http(&fetcher, "site.test", Scheme::Http, "wrong.txt", TOKEN).await;

    assert!(!check.passed);
    assert_eq!(
        check.detail,
        format!(
            "http://site.test:{port}/.well-known/pki-validation/wrong.txt does not hold the \
             expected content: expected \"{TOKEN}\", found \"someone-else's-token\""
        )
    );
}

#[tokio::test]
async fn a_missing_file_fails_with_the_status() {
    let (_dns, fetcher, port) = site().await;

    let check = check_http(&fetcher, "site.test", Scheme::Http, "absent.txt", TOKEN).await;

    assert!(!check.passed);
    assert_eq!(
        check.detail,
        format!(
            "http://site.test:{port}/.well-known/pki-validation/absent.txt answered HTTP 404, \
             expected 200 with the content \"{TOKEN}\""
        )
    );
}

#[tokio::test]
async fn a_loopback_address_is_refused_unless_allowed() {
    let (dns, resolver) = dns().await;
    dns.add_a("site.test", Ipv4Addr::LOCALHOST).await;
    let port = web_server().await;
    let guarded = fetcher(&resolver, port, false);

    let check = check_http(&guarded, "site.test", Scheme::Http, "good.txt", TOKEN).await;

    assert!(!check.passed);
    assert_eq!(
        check.detail,
        format!(
            "http://site.test:{port}/.well-known/pki-validation/good.txt could not be fetched: \
             refusing to connect to 127.0.0.1 (loopback): validation only contacts public \
             addresses; set allow_private_targets to allow it"
        )
    );

    let mut transcript = Vec::new();
    let err = guarded
        .get(&format!("http://site.test:{port}/"), &mut transcript)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        Error::PrivateAddress {
            addr: IpAddr::V4(Ipv4Addr::LOCALHOST),
            rule: "loopback"
        }
    );
    assert!(
        transcript
            .iter()
            .any(|l| l == "  answer: site.test. A 127.0.0.1"),
        "{transcript:?}"
    );
}

#[tokio::test]
async fn a_literal_private_address_is_refused_without_dns() {
    let (_dns, resolver) = dns().await;
    let guarded = fetcher(&resolver, 8080, false);

    let err = guarded
        .get("http://10.1.2.3:8080/", &mut Vec::new())
        .await
        .unwrap_err();

    assert_eq!(
        err.to_string(),
        "refusing to connect to 10.1.2.3 (private, RFC 1918): validation only contacts public \
         addresses; set allow_private_targets to allow it"
    );
}

#[tokio::test]
async fn the_address_rules() {
    let rule = |ip: &str| non_public_rule(ip.parse().unwrap());
    assert_eq!(rule("127.0.0.1"), Some("loopback"));
    assert_eq!(rule("10.0.0.1"), Some("private, RFC 1918"));
    assert_eq!(rule("172.31.255.255"), Some("private, RFC 1918"));
    assert_eq!(rule("192.168.1.1"), Some("private, RFC 1918"));
    assert_eq!(
        rule("100.64.0.1"),
        Some("shared address space, 100.64.0.0/10 (CGNAT)")
    );
    assert_eq!(rule("100.128.0.1"), None);
    assert_eq!(rule("169.254.169.254"), Some("link-local"));
    assert_eq!(rule("0.0.0.0"), Some("unspecified"));
    assert_eq!(rule("224.0.0.1"), Some("multicast"));
    assert_eq!(rule("8.8.8.8"), None);
    assert_eq!(rule("::1"), Some("loopback"));
    assert_eq!(rule("::"), Some("unspecified"));
    assert_eq!(rule("fd00::1"), Some("unique local, fc00::/7"));
    assert_eq!(rule("fe80::1"), Some("link-local"));
    assert_eq!(rule("ff02::1"), Some("multicast"));
    assert_eq!(rule("::ffff:192.168.0.1"), Some("private, RFC 1918"));
    assert_eq!(rule("2001:4860:4860::8888"), None);
}

#[tokio::test]
async fn three_redirects_are_followed() {
    let (_dns, fetcher, port) = site().await;

    let check = check_http(&fetcher, "site.test", Scheme::Http, "three-hops.txt", TOKEN).await;

    assert!(check.passed, "{check:?}");
    let redirects = check
        .transcript
        .iter()
        .filter(|l| l.starts_with("  redirected (302 Found) to "))
        .count();
    assert_eq!(redirects, 3);
    assert!(check.transcript.contains(&format!(
        "  final URL http://site.test:{port}/.well-known/pki-validation/good.txt"
    )));
}

#[tokio::test]
async fn a_fourth_redirect_is_refused() {
    let (_dns, fetcher, port) = site().await;

    let url = format!("http://site.test:{port}/.well-known/pki-validation/loop.txt");
    let err = fetcher.get(&url, &mut Vec::new()).await.unwrap_err();

    assert_eq!(
        err.to_string(),
        format!("{url} redirected more than 3 times")
    );
}

#[tokio::test]
async fn a_redirect_to_another_port_or_scheme_is_refused() {
    let (_dns, fetcher, port) = site().await;

    let url = format!("http://site.test:{port}/.well-known/pki-validation/other-port.txt");
    let err = fetcher.get(&url, &mut Vec::new()).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "refusing the redirect to http://site.test:1/.well-known/pki-validation/good.txt: \
             http validation uses port {port}, not 1"
        )
    );

    let url = format!("http://site.test:{port}/.well-known/pki-validation/ftp.txt");
    let err = fetcher.get(&url, &mut Vec::new()).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "refusing the redirect to ftp://site.test/good.txt: the scheme ftp is not http or https"
    );
}

#[tokio::test]
async fn a_body_over_64_kib_is_refused_and_64_kib_is_read() {
    let (_dns, fetcher, port) = site().await;

    let big = format!("http://site.test:{port}/.well-known/pki-validation/big.txt");
    let err = fetcher.get(&big, &mut Vec::new()).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("the response from {big} is larger than 65536 bytes")
    );

    let exact = format!("http://site.test:{port}/.well-known/pki-validation/exactly-64k.txt");
    let fetched = fetcher.get(&exact, &mut Vec::new()).await.unwrap();
    assert_eq!(fetched.body.len(), MAX_BODY_BYTES);
}

#[tokio::test]
async fn a_name_without_address_fails() {
    let (_dns, resolver) = dns().await;
    let port = web_server().await;
    let fetcher = fetcher(&resolver, port, true);

    let check = check_http(&fetcher, "nowhere.test", Scheme::Http, "good.txt", TOKEN).await;

    assert!(!check.passed);
    assert_eq!(
        check.detail,
        format!(
            "http://nowhere.test:{port}/.well-known/pki-validation/good.txt could not be \
             fetched: nowhere.test has no A or AAAA record"
        )
    );
}

#[tokio::test]
async fn a_file_name_with_a_path_is_refused() {
    let (_dns, fetcher, _port) = site().await;

    let check = check_http(&fetcher, "site.test", Scheme::Http, "../secret", TOKEN).await;

    assert!(!check.passed);
    assert_eq!(
        check.detail,
        "\"../secret\" is not a plain file name (letters, digits, '.', '_', '-')"
    );
}

#[tokio::test]
async fn https_accepts_a_self_signed_certificate() {
    let (dns, resolver) = dns().await;
    dns.add_a("site.test", Ipv4Addr::LOCALHOST).await;
    let port = https_web_server().await;
    let fetcher = https_fetcher(&resolver, port);

    let check = check_http(&fetcher, "site.test", Scheme::Https, "good.txt", TOKEN).await;

    assert!(check.passed, "{check:?}");
    assert_eq!(
        check.detail,
        format!("https://site.test:{port}/.well-known/pki-validation/good.txt holds \"{TOKEN}\"")
    );
}
