//! CAA: every rule of RFC 8659 / RFC 8657 that `check_caa` implements, with the exact reason
//! an administrator reads.

use castellan_va::{CaaRecord, check_caa};

use std::time::Duration;

use crate::support::{dead_resolver, dns, identities, resolver_at, resolver_keeping_caa};

/// Checks `name` for a plain request with no account and no method.
async fn plain(
    resolver: &castellan_va::Resolver,
    name: &str,
    wildcard: bool,
) -> castellan_va::CaaDecision {
    check_caa(resolver, name, wildcard, &identities(), None, None).await
}

#[tokio::test]
async fn no_caa_anywhere_allows_and_asks_every_level() {
    let (_dns, resolver) = dns().await;

    let decision = plain(&resolver, "www.example.com", false).await;

    assert!(decision.allowed);
    assert_eq!(decision.relevant_set, None);
    assert_eq!(
        decision.reason,
        "no CAA record at www.example.com or any parent domain, so any CA may issue"
    );
    let asked: Vec<&String> = decision
        .transcript
        .iter()
        .filter(|l| l.starts_with("asked "))
        .collect();
    assert_eq!(asked.len(), 3, "{:#?}", decision.transcript);
    assert!(asked[2].ends_with(" for CAA com."));
}

#[tokio::test]
async fn issue_naming_castellan_allows() {
    let (dns, resolver) = dns().await;
    dns.add_caa("example.com", 0, "issue", "castellan.test")
        .await;

    let decision = plain(&resolver, "example.com", false).await;

    assert!(decision.allowed, "{decision:?}");
    assert_eq!(
        decision.reason,
        "CAA record at example.com (0 issue \"castellan.test\") allows castellan.test to issue"
    );
    assert_eq!(
        decision.relevant_set,
        Some((
            "example.com".to_owned(),
            vec![CaaRecord {
                critical: false,
                tag: "issue".to_owned(),
                value: "castellan.test".to_owned()
            }]
        ))
    );
}

#[tokio::test]
async fn any_of_the_identities_and_any_record_of_the_set_is_enough() {
    let (dns, resolver) = dns().await;
    dns.add_caa("example.com", 0, "issue", "letsencrypt.org")
        .await;
    dns.add_caa("example.com", 0, "issue", "  CA.Castellan.TEST ; foo=bar")
        .await;

    assert!(plain(&resolver, "example.com", false).await.allowed);
}

#[tokio::test]
async fn issue_for_another_ca_refuses_naming_the_record_and_the_fix() {
    let (dns, resolver) = dns().await;
    dns.add_caa("example.com", 0, "issue", "letsencrypt.org")
        .await;

    let decision = plain(&resolver, "example.com", false).await;

    assert!(!decision.allowed);
    assert_eq!(
        decision.reason,
        "CAA record at example.com (0 issue \"letsencrypt.org\") does not allow castellan.test \
         to issue; add: example.com. CAA 0 issue \"castellan.test\""
    );
}

#[tokio::test]
async fn several_blocking_records_are_all_named() {
    let (dns, resolver) = dns().await;
    dns.add_caa("example.com", 0, "issue", "letsencrypt.org")
        .await;
    dns.add_caa("example.com", 0, "issue", "sectigo.com").await;

    let decision = plain(&resolver, "example.com", false).await;

    assert!(!decision.allowed);
    assert!(
        decision
            .reason
            .starts_with("CAA records at example.com (0 issue \""),
        "{}",
        decision.reason
    );
    assert!(decision.reason.contains("letsencrypt.org"));
    assert!(decision.reason.contains("sectigo.com"));
    assert!(
        decision
            .reason
            .contains(") do not allow castellan.test to issue; add: ")
    );
}

#[tokio::test]
async fn an_empty_issuer_forbids_everyone() {
    let (dns, resolver) = dns().await;
    dns.add_caa("example.com", 0, "issue", ";").await;

    let decision = plain(&resolver, "example.com", false).await;

    assert!(!decision.allowed);
    assert_eq!(
        decision.reason,
        "CAA record at example.com (0 issue \";\") does not allow castellan.test to issue; \
         add: example.com. CAA 0 issue \"castellan.test\""
    );
}

#[tokio::test]
async fn a_malformed_value_authorises_no_one_even_if_it_names_castellan() {
    let (dns, resolver) = dns().await;
    dns.add_caa("example.com", 0, "issue", "castellan.test; accounturi")
        .await;

    let decision = plain(&resolver, "example.com", false).await;

    assert!(!decision.allowed);
    assert_eq!(
        decision.reason,
        "CAA record at example.com (0 issue \"castellan.test; accounturi\") does not allow \
         castellan.test to issue: 0 issue \"castellan.test; accounturi\" is malformed (the \
         parameter \"accounturi\" has no '='), which RFC 8659 treats as forbidding issuance; \
         add: example.com. CAA 0 issue \"castellan.test\""
    );
}

#[tokio::test]
async fn malformed_issuer_names_are_refused() {
    let (dns, resolver) = dns().await;
    for (i, value) in [
        "%%%%%",
        "castellan.test.",
        "-castellan.test",
        "castellan.test; a=b;",
    ]
    .iter()
    .enumerate()
    {
        let name = format!("m{i}.example.com");
        dns.add_caa(&name, 0, "issue", value).await;
        let decision = plain(&resolver, &name, false).await;
        assert!(!decision.allowed, "{value}: {decision:?}");
        assert!(
            decision.reason.contains("is malformed"),
            "{value}: {}",
            decision.reason
        );
    }
}

#[tokio::test]
async fn issuewild_only_restricts_wildcards_not_other_names() {
    let (dns, resolver) = dns().await;
    dns.add_caa("example.com", 0, "issuewild", "castellan.test")
        .await;
    dns.add_caa("other.test", 0, "issuewild", "letsencrypt.org")
        .await;

    // Naming Castellan: a wildcard is allowed.
    let wildcard = plain(&resolver, "*.example.com", false).await;
    assert!(wildcard.allowed, "{wildcard:?}");
    assert_eq!(
        wildcard.reason,
        "CAA record at example.com (0 issuewild \"castellan.test\") allows castellan.test to \
         issue wildcard certificates"
    );

    // A non-wildcard name ignores issuewild (RFC 8659 §4.3), so nothing restricts it, even
    // when issuewild names another CA.
    let plain_name = plain(&resolver, "other.test", false).await;
    assert!(plain_name.allowed, "{plain_name:?}");
    assert_eq!(
        plain_name.reason,
        "CAA records at other.test have no issue record, so they do not restrict issuance"
    );

    // Naming another CA: a wildcard is refused; the fix is an issuewild record.
    let refused = plain(&resolver, "other.test", true).await;
    assert!(!refused.allowed);
    assert_eq!(
        refused.reason,
        "CAA record at other.test (0 issuewild \"letsencrypt.org\") does not allow \
         castellan.test to issue wildcard certificates; add: other.test. CAA 0 issuewild \
         \"castellan.test\""
    );
}

#[tokio::test]
async fn issuewild_takes_precedence_over_issue_for_wildcards() {
    let (dns, resolver) = dns().await;
    dns.add_caa("example.com", 0, "issue", "castellan.test")
        .await;
    dns.add_caa("example.com", 0, "issuewild", ";").await;

    assert!(plain(&resolver, "example.com", false).await.allowed);
    assert!(!plain(&resolver, "*.example.com", false).await.allowed);
}

#[tokio::test]
async fn a_wildcard_without_issuewild_uses_issue() {
    let (dns, resolver) = dns().await;
    dns.add_caa("example.com", 0, "issue", "castellan.test")
        .await;
    dns.add_caa("example.net", 0, "issue", "letsencrypt.org")
        .await;

    assert!(plain(&resolver, "*.example.com", false).await.allowed);
    assert!(!plain(&resolver, "example.net", true).await.allowed);
}

#[tokio::test]
async fn only_iodef_or_unknown_non_critical_tags_do_not_restrict() {
    let (dns, resolver) = dns().await;
    dns.add_caa("example.com", 0, "iodef", "mailto:security@example.com")
        .await;
    dns.add_caa("example.com", 0, "futuretag", "whatever").await;
    // A critical tag Castellan knows does not block either.
    dns.add_caa("example.com", 128, "iodef", "mailto:pki@example.com")
        .await;

    let decision = plain(&resolver, "example.com", false).await;

    assert!(decision.allowed, "{decision:?}");
    assert_eq!(decision.relevant_set.unwrap().1.len(), 3);
}

#[tokio::test]
async fn a_critical_unknown_tag_refuses_naming_the_record() {
    let (dns, resolver) = dns().await;
    dns.add_caa("example.com", 0, "issue", "castellan.test")
        .await;
    dns.add_caa("example.com", 128, "tbs", "unknown").await;

    let decision = plain(&resolver, "example.com", false).await;

    assert!(!decision.allowed);
    assert_eq!(
        decision.reason,
        "CAA record at example.com (128 tbs \"unknown\") is critical and its tag \"tbs\" is \
         unknown to Castellan, which RFC 8659 says forbids issuance; remove the record or clear \
         its critical flag"
    );
}

#[tokio::test]
async fn the_climb_stops_at_the_first_level_with_records() {
    let (dns, resolver) = dns().await;
    dns.add_caa("example.com", 0, "issue", "letsencrypt.org")
        .await;
    dns.add_caa("sub.example.net", 0, "issue", "castellan.test")
        .await;
    dns.add_caa("example.net", 0, "issue", "letsencrypt.org")
        .await;

    // Found on the parent after climbing two levels.
    let parent = plain(&resolver, "www.sub.example.com", false).await;
    assert!(!parent.allowed);
    assert_eq!(parent.relevant_set.unwrap().0, "example.com");
    let asked: Vec<&String> = parent
        .transcript
        .iter()
        .filter(|l| l.starts_with("asked "))
        .collect();
    assert_eq!(asked.len(), 3);
    assert!(asked[0].ends_with(" for CAA www.sub.example.com."));
    assert!(asked[2].ends_with(" for CAA example.com."));
    assert!(
        parent
            .reason
            .starts_with("CAA record at example.com (0 issue \"letsencrypt.org\")"),
        "{}",
        parent.reason
    );

    // A closer set wins over a parent's.
    let closer = plain(&resolver, "www.sub.example.net", false).await;
    assert!(closer.allowed);
    assert_eq!(closer.relevant_set.unwrap().0, "sub.example.net");
}

#[tokio::test]
async fn a_cname_alias_applies_the_targets_caa_not_the_parents() {
    let (dns, resolver) = dns().await;
    dns.add_cname("www.example.com", "edge.cdn.test").await;
    dns.add_caa("edge.cdn.test", 0, "issue", "letsencrypt.org")
        .await;
    // The parent would allow Castellan, but the alias's set is found first.
    dns.add_caa("example.com", 0, "issue", "castellan.test")
        .await;

    let decision = plain(&resolver, "www.example.com", false).await;

    assert!(!decision.allowed);
    assert_eq!(decision.relevant_set.as_ref().unwrap().0, "www.example.com");
    assert_eq!(
        decision.reason,
        "CAA record at www.example.com via CNAME edge.cdn.test (0 issue \"letsencrypt.org\") \
         does not allow castellan.test to issue; add: edge.cdn.test. CAA 0 issue \
         \"castellan.test\""
    );
    assert!(
        decision
            .transcript
            .contains(&"  answer: www.example.com. CNAME edge.cdn.test.".to_owned()),
        "{:#?}",
        decision.transcript
    );
}

#[tokio::test]
async fn a_cname_alias_to_a_name_without_caa_climbs_from_the_original_name() {
    let (dns, resolver) = dns().await;
    dns.add_cname("www.example.com", "edge.cdn.test").await;
    dns.add_caa("cdn.test", 0, "issue", "letsencrypt.org").await;
    dns.add_caa("example.com", 0, "issue", "castellan.test")
        .await;

    let decision = plain(&resolver, "www.example.com", false).await;

    assert!(decision.allowed, "{decision:?}");
    assert_eq!(decision.relevant_set.unwrap().0, "example.com");
}

#[tokio::test]
async fn accounturi_must_match_the_requests_account() {
    let (dns, resolver) = dns().await;
    dns.add_caa(
        "example.com",
        0,
        "issue",
        "castellan.test; accounturi=https://castellan.test/acme/acct/1",
    )
    .await;
    let ids = identities();

    let same = check_caa(
        &resolver,
        "example.com",
        false,
        &ids,
        Some("https://castellan.test/acme/acct/1"),
        None,
    )
    .await;
    assert!(same.allowed, "{same:?}");

    let other = check_caa(
        &resolver,
        "example.com",
        false,
        &ids,
        Some("https://castellan.test/acme/acct/2"),
        None,
    )
    .await;
    assert!(!other.allowed);
    assert_eq!(
        other.reason,
        "CAA record at example.com (0 issue \"castellan.test; \
         accounturi=https://castellan.test/acme/acct/1\") does not allow castellan.test to \
         issue: 0 issue \"castellan.test; accounturi=https://castellan.test/acme/acct/1\" is \
         limited to the account https://castellan.test/acme/acct/1, and this request's account \
         is https://castellan.test/acme/acct/2; add: example.com. CAA 0 issue \
         \"castellan.test; accounturi=https://castellan.test/acme/acct/2\""
    );

    let none = check_caa(&resolver, "example.com", false, &ids, None, None).await;
    assert!(!none.allowed);
    assert!(
        none.reason
            .contains("and this request has no account; add: "),
        "{}",
        none.reason
    );
}

#[tokio::test]
async fn validationmethods_must_list_the_requests_method() {
    let (dns, resolver) = dns().await;
    dns.add_caa(
        "example.com",
        0,
        "issue",
        "castellan.test; validationmethods=dns-01,http-01",
    )
    .await;
    let ids = identities();

    for method in ["dns-01", "http-01"] {
        let listed = check_caa(&resolver, "example.com", false, &ids, None, Some(method)).await;
        assert!(listed.allowed, "{method}: {listed:?}");
    }

    let other = check_caa(
        &resolver,
        "example.com",
        false,
        &ids,
        None,
        Some("tls-alpn-01"),
    )
    .await;
    assert!(!other.allowed);
    assert_eq!(
        other.reason,
        "CAA record at example.com (0 issue \"castellan.test; \
         validationmethods=dns-01,http-01\") does not allow castellan.test to issue: 0 issue \
         \"castellan.test; validationmethods=dns-01,http-01\" is limited to the validation \
         methods dns-01,http-01, and this request was validated by tls-alpn-01; add: \
         example.com. CAA 0 issue \"castellan.test; validationmethods=tls-alpn-01\""
    );

    let none = check_caa(&resolver, "example.com", false, &ids, None, None).await;
    assert!(!none.allowed);
    assert!(
        none.reason
            .contains("and this request has no validation method; add: "),
        "{}",
        none.reason
    );
}

#[tokio::test]
async fn a_space_in_a_parameter_value_is_malformed() {
    // RFC 8659's value grammar has no space: "dns-01, http-01" is not a list RFC 8657 defines.
    let (dns, resolver) = dns().await;
    dns.add_caa(
        "example.com",
        0,
        "issue",
        "castellan.test; validationmethods=dns-01, http-01",
    )
    .await;

    let decision = check_caa(
        &resolver,
        "example.com",
        false,
        &identities(),
        None,
        Some("dns-01"),
    )
    .await;

    assert!(!decision.allowed);
    assert!(
        decision.reason.contains(
            "is malformed (the value of validationmethods has a character a value may not \
             have)"
        ),
        "{}",
        decision.reason
    );
}

#[tokio::test]
async fn a_servfail_on_the_way_up_refuses() {
    let (dns, resolver) = dns().await;
    dns.fail("example.com");

    let decision = plain(&resolver, "www.example.com", false).await;

    assert!(!decision.allowed);
    assert_eq!(decision.relevant_set, None);
    assert_eq!(
        decision.reason,
        "the DNS lookup of CAA example.com. failed: the DNS server answered SERVFAIL; a CAA \
         lookup that fails counts as a refusal (Baseline Requirements §3.2.2.8), so nothing is \
         issued for www.example.com until the DNS servers of example.com answer"
    );
    assert!(
        decision
            .transcript
            .last()
            .unwrap()
            .starts_with("  failed: ")
    );
}

#[tokio::test]
async fn no_answer_at_all_refuses() {
    let resolver = dead_resolver();

    let decision = plain(&resolver, "example.com", false).await;

    assert!(!decision.allowed);
    assert!(
        decision
            .reason
            .starts_with("the DNS lookup of CAA example.com. failed: "),
        "{}",
        decision.reason
    );
}

/// `text` with every run of digits replaced by `N`: the ages and times left in a reused
/// answer's reason depend on how fast the test runs.
fn digits_as_n(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            if !out.ends_with('N') {
                out.push('N');
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[tokio::test]
async fn a_caa_answer_is_reused_for_its_ttl_and_a_refusal_says_when_a_change_counts() {
    let dns = castellan_testkit::dns::TestDns::start().await;
    let keeping = resolver_keeping_caa(dns.addr(), Duration::from_secs(300));
    let asking = resolver_at(dns.addr());
    dns.add_caa("example.com", 0, "issue", "letsencrypt.org")
        .await;
    let first = plain(&keeping, "www.example.com", false).await;
    assert!(!first.allowed);
    let refused = "CAA record at example.com (0 issue \"letsencrypt.org\") does not allow \
                   castellan.test to issue; add: example.com. CAA 0 issue \"castellan.test\"";
    assert_eq!(first.reason, refused);

    // The administrator adds Castellan. A resolver that asks every time sees it at once; the
    // one that keeps answers reuses the old one (TTL 60 s) and says for how long.
    dns.remove("example.com").await;
    dns.add_caa("example.com", 0, "issue", "castellan.test")
        .await;
    assert!(plain(&asking, "www.example.com", false).await.allowed);
    let again = plain(&keeping, "www.example.com", false).await;
    assert!(!again.allowed);
    assert_eq!(
        digits_as_n(&again.reason),
        digits_as_n(&format!(
            "{refused} (the DNS answered this 0 s ago; CAA answers are reused for their TTL, \
             at most 300 s, so a changed record counts in 60 s)"
        ))
    );
    let left: u64 = again
        .reason
        .rsplit("counts in ")
        .next()
        .and_then(|t| t.strip_suffix(" s)"))
        .and_then(|t| t.parse().ok())
        .unwrap();
    assert!((55..=60).contains(&left), "{}", again.reason);
    // Every level was reused (no CAA at www.example.com is kept for the negative TTL, 1 s,
    // so it may have been asked again), and the transcript says which.
    let reused: Vec<&String> = again
        .transcript
        .iter()
        .filter(|l| l.starts_with("reused the answer to CAA "))
        .collect();
    assert!(
        reused.iter().any(|l| digits_as_n(l)
            == "reused the answer to CAA example.com. from N s ago (CAA \
                answers are kept for their TTL, at most N s; N s left):"),
        "{:#?}",
        again.transcript
    );
}

#[tokio::test]
async fn an_answer_is_reused_no_longer_than_the_configured_maximum() {
    let dns = castellan_testkit::dns::TestDns::start().await;
    let keeping = resolver_keeping_caa(dns.addr(), Duration::from_secs(1));
    dns.add_caa("example.com", 0, "issue", "letsencrypt.org")
        .await;
    assert!(!plain(&keeping, "example.com", false).await.allowed);
    dns.remove("example.com").await;
    dns.add_caa("example.com", 0, "issue", "castellan.test")
        .await;
    let kept = plain(&keeping, "example.com", false).await;
    assert!(!kept.allowed);
    assert!(
        kept.reason
            .contains("at most 1 s, so a changed record counts in 1 s)"),
        "{}",
        kept.reason
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let fresh = plain(&keeping, "example.com", false).await;
    assert!(fresh.allowed, "{fresh:?}");
    assert!(fresh.transcript[0].starts_with("asked "), "{fresh:?}");
}

#[tokio::test]
async fn no_record_is_reused_for_the_zones_negative_ttl_and_a_failure_not_at_all() {
    let dns = castellan_testkit::dns::TestDns::start().await;
    let keeping = resolver_keeping_caa(dns.addr(), Duration::from_secs(300));
    // The test zone's negative TTL is 1 s.
    assert!(plain(&keeping, "example.com", false).await.allowed);
    dns.add_caa("example.com", 0, "issue", "letsencrypt.org")
        .await;
    let kept = plain(&keeping, "example.com", false).await;
    assert!(kept.allowed);
    assert!(
        kept.transcript[0].starts_with("reused the answer to CAA example.com. from 0 s ago"),
        "{:#?}",
        kept.transcript
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(!plain(&keeping, "example.com", false).await.allowed);

    // SERVFAIL is never kept: once the server answers again, so does the check.
    dns.fail("broken.test");
    let failed = plain(&keeping, "broken.test", false).await;
    assert!(!failed.allowed);
    assert!(failed.reason.contains("SERVFAIL"), "{}", failed.reason);
    dns.recover("broken.test");
    let answered = plain(&keeping, "broken.test", false).await;
    assert!(answered.allowed, "{answered:?}");
}
