//! The DNS methods of DCV: CNAME and TXT, with the exact sentences an administrator reads.

use castellan_va::{check_cname, check_txt};

use crate::support::{dead_resolver, dns};

#[tokio::test]
async fn cname_to_the_expected_target_passes_whatever_the_case_and_trailing_dot() {
    let (dns, resolver) = dns().await;
    dns.add_cname("_abc.example.com", "XYZ.dcv.castellan.test")
        .await;

    let check = check_cname(&resolver, "_ABC.Example.com.", "xyz.dcv.castellan.test.").await;

    assert!(check.passed, "{check:?}");
    assert_eq!(
        check.detail,
        "_abc.example.com points to xyz.dcv.castellan.test"
    );
}

#[tokio::test]
async fn cname_to_another_target_fails_saying_what_was_found_and_what_to_set() {
    let (dns, resolver) = dns().await;
    dns.add_cname("_abc.example.com", "old.dcv.castellan.test")
        .await;

    let check = check_cname(&resolver, "_abc.example.com", "xyz.dcv.castellan.test").await;

    assert!(!check.passed);
    assert_eq!(
        check.detail,
        "_abc.example.com points to old.dcv.castellan.test, expected xyz.dcv.castellan.test; \
         change the record to _abc.example.com CNAME xyz.dcv.castellan.test"
    );
}

#[tokio::test]
async fn missing_cname_fails_saying_which_record_to_add() {
    let (_dns, resolver) = dns().await;

    let check = check_cname(&resolver, "_abc.example.com", "xyz.dcv.castellan.test").await;

    assert!(!check.passed);
    assert_eq!(
        check.detail,
        "_abc.example.com has no CNAME record; add _abc.example.com CNAME xyz.dcv.castellan.test"
    );
    assert_eq!(check.transcript.len(), 2);
    assert_eq!(check.transcript[1], "  NXDOMAIN: the name does not exist");
}

#[tokio::test]
async fn cname_chain_is_in_the_transcript_and_only_the_first_hop_counts() {
    let (dns, resolver) = dns().await;
    dns.add_cname("_abc.example.com", "middle.example.net")
        .await;
    dns.add_cname("middle.example.net", "xyz.dcv.castellan.test")
        .await;

    let check = check_cname(&resolver, "_abc.example.com", "xyz.dcv.castellan.test").await;

    assert!(!check.passed);
    assert_eq!(
        check.detail,
        "_abc.example.com points to middle.example.net, expected xyz.dcv.castellan.test; \
         change the record to _abc.example.com CNAME xyz.dcv.castellan.test"
    );
    let answers: Vec<&str> = check
        .transcript
        .iter()
        .filter(|l| l.starts_with("  answer: "))
        .map(String::as_str)
        .collect();
    assert_eq!(
        answers,
        [
            "  answer: _abc.example.com. CNAME middle.example.net.",
            "  answer: middle.example.net. CNAME xyz.dcv.castellan.test.",
        ]
    );
}

#[tokio::test]
async fn cname_lookup_failure_is_not_a_pass_and_says_it_will_be_retried() {
    let resolver = dead_resolver();

    let check = check_cname(&resolver, "_abc.example.com", "xyz.dcv.castellan.test").await;

    assert!(!check.passed);
    assert!(
        check.detail.starts_with(
            "the CNAME of _abc.example.com could not be checked (the DNS lookup of CNAME \
             _abc.example.com. failed: "
        ),
        "{}",
        check.detail
    );
    assert!(check.detail.ends_with("); it will be checked again"));
    assert!(!check.transcript.is_empty());
}

#[tokio::test]
async fn txt_with_the_expected_value_passes_among_others() {
    let (dns, resolver) = dns().await;
    dns.add_txt("_pki.example.com", "v=spf1 -all").await;
    dns.add_txt("_pki.example.com", "  token-123  ").await;

    let check = check_txt(&resolver, "_pki.example.com", "token-123").await;

    assert!(check.passed, "{check:?}");
    assert_eq!(
        check.detail,
        "_pki.example.com has the TXT record \"token-123\""
    );
}

#[tokio::test]
async fn txt_with_other_values_fails_listing_them() {
    let (dns, resolver) = dns().await;
    dns.add_txt("_pki.example.com", "token-old").await;

    let check = check_txt(&resolver, "_pki.example.com", "token-123").await;

    assert!(!check.passed);
    assert_eq!(
        check.detail,
        "_pki.example.com has no TXT record \"token-123\" (found \"token-old\"); \
         add _pki.example.com TXT \"token-123\""
    );
}

#[tokio::test]
async fn txt_missing_fails_saying_which_record_to_add() {
    let (_dns, resolver) = dns().await;

    let check = check_txt(&resolver, "_pki.example.com", "token-123").await;

    assert!(!check.passed);
    assert_eq!(
        check.detail,
        "_pki.example.com has no TXT record; add _pki.example.com TXT \"token-123\""
    );
}

#[tokio::test]
async fn txt_is_case_sensitive() {
    let (dns, resolver) = dns().await;
    dns.add_txt("_pki.example.com", "TOKEN-123").await;

    assert!(
        !check_txt(&resolver, "_pki.example.com", "token-123")
            .await
            .passed
    );
}

#[tokio::test]
async fn txt_servfail_is_not_a_pass() {
    let (dns, resolver) = dns().await;
    dns.add_txt("_pki.example.com", "token-123").await;
    dns.fail("_pki.example.com");

    let check = check_txt(&resolver, "_pki.example.com", "token-123").await;

    assert!(!check.passed);
    assert!(
        check.detail.ends_with("; they will be checked again"),
        "{}",
        check.detail
    );
}
