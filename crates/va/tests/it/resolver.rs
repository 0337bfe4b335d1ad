//! The resolver: CNAME chains hop by hop, TXT, answers seen at once (no cache), and the
//! difference between "no such record" (an answer) and "no answer" (an error).

use castellan_va::Error;
use castellan_va::dns::MAX_CNAME_HOPS;

use crate::support::{dead_resolver, dns};

#[tokio::test]
async fn cname_chain_lists_every_target_in_order_lower_case() {
    let (dns, resolver) = dns().await;
    dns.add_cname("_abc.example.com", "Hop1.Example.NET.").await;
    dns.add_cname("hop1.example.net", "hop2.example.org").await;
    dns.add_a("hop2.example.org", "192.0.2.1".parse().unwrap())
        .await;

    let chain = resolver.cname_chain("_ABC.example.com.").await.unwrap();

    assert_eq!(chain.value, ["hop1.example.net", "hop2.example.org"]);
    let asked: Vec<&String> = chain
        .transcript
        .iter()
        .filter(|l| l.starts_with("asked "))
        .collect();
    let server = resolver.servers();
    assert_eq!(
        asked,
        [
            &format!("asked {server} for CNAME _abc.example.com."),
            &format!("asked {server} for CNAME hop1.example.net."),
            &format!("asked {server} for CNAME hop2.example.org."),
        ]
    );
    assert!(
        chain
            .transcript
            .iter()
            .any(|l| l.starts_with("  answer: _abc.example.com. CNAME hop1.example.net.")),
        "{:#?}",
        chain.transcript
    );
}

#[tokio::test]
async fn a_name_without_cname_or_that_does_not_exist_has_an_empty_chain() {
    let (dns, resolver) = dns().await;
    dns.add_a("plain.example.com", "192.0.2.1".parse().unwrap())
        .await;

    let plain = resolver.cname_chain("plain.example.com").await.unwrap();
    assert!(plain.value.is_empty());
    assert_eq!(plain.transcript[1], "  no CNAME records (the name exists)");

    let missing = resolver.cname_chain("nothing.example.com").await.unwrap();
    assert!(missing.value.is_empty());
    assert_eq!(missing.transcript[1], "  NXDOMAIN: the name does not exist");
}

#[tokio::test]
async fn a_cname_loop_is_an_error_naming_the_repeated_name() {
    let (dns, resolver) = dns().await;
    dns.add_cname("a.loop.test", "b.loop.test").await;
    dns.add_cname("b.loop.test", "a.loop.test").await;

    let err = resolver.cname_chain("a.loop.test").await.unwrap_err();

    assert_eq!(
        err.to_string(),
        "the CNAME chain from a.loop.test loops back to a.loop.test"
    );
    assert_eq!(err.transcript().len(), 4);
}

#[tokio::test]
async fn a_chain_longer_than_eight_hops_is_an_error() {
    let (dns, resolver) = dns().await;
    for i in 0..=MAX_CNAME_HOPS {
        dns.add_cname(&format!("h{i}.long.test"), &format!("h{}.long.test", i + 1))
            .await;
    }
    // Exactly eight hops is fine.
    let eight = resolver.cname_chain("h1.long.test").await.unwrap();
    assert_eq!(eight.value.len(), MAX_CNAME_HOPS);

    let err = resolver.cname_chain("h0.long.test").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "the CNAME chain from h0.long.test is longer than 8 hops"
    );
}

#[tokio::test]
async fn txt_joins_the_strings_of_a_record_and_follows_cnames() {
    let (dns, resolver) = dns().await;
    let long = "k".repeat(300);
    dns.add_txt("_long.example.com", &long).await;
    dns.add_txt("_long.example.com", "second").await;
    dns.add_cname("_alias.example.com", "_long.example.com")
        .await;

    let mut direct = resolver.txt("_long.example.com").await.unwrap().value;
    direct.sort();
    assert_eq!(direct, [long.clone(), "second".to_owned()]);

    let aliased = resolver.txt("_alias.example.com").await.unwrap();
    assert_eq!(aliased.aliases, ["_long.example.com"]);
    assert_eq!(aliased.value.len(), 2);
}

#[tokio::test]
async fn changes_are_seen_at_once_because_nothing_is_cached() {
    let (dns, resolver) = dns().await;
    assert!(
        resolver
            .txt("_new.example.com")
            .await
            .unwrap()
            .value
            .is_empty()
    );

    dns.add_txt("_new.example.com", "now-here").await;
    assert_eq!(
        resolver.txt("_new.example.com").await.unwrap().value,
        ["now-here"]
    );

    dns.remove("_new.example.com").await;
    assert!(
        resolver
            .txt("_new.example.com")
            .await
            .unwrap()
            .value
            .is_empty()
    );
}

#[tokio::test]
async fn ips_returns_both_families() {
    let (dns, resolver) = dns().await;
    dns.add_a("www.example.com", "192.0.2.10".parse().unwrap())
        .await;
    dns.add_aaaa("www.example.com", "2001:db8::10".parse().unwrap())
        .await;

    let ips = resolver.ips("www.example.com").await.unwrap();

    assert_eq!(
        ips.value,
        [
            "192.0.2.10".parse::<std::net::IpAddr>().unwrap(),
            "2001:db8::10".parse().unwrap()
        ]
    );
}

#[tokio::test]
async fn servfail_is_an_error_not_an_empty_answer() {
    let (dns, resolver) = dns().await;
    dns.add_txt("_broken.example.com", "x").await;
    dns.fail("_broken.example.com");

    let err = resolver.txt("_broken.example.com").await.unwrap_err();

    let Error::LookupFailed {
        query,
        reason,
        transcript,
    } = &err
    else {
        panic!("{err:?}");
    };
    assert_eq!(query, "TXT _broken.example.com.");
    assert_eq!(reason, "the DNS server answered SERVFAIL");
    assert_eq!(
        err.to_string(),
        "the DNS lookup of TXT _broken.example.com. failed: the DNS server answered SERVFAIL"
    );
    assert_eq!(
        transcript.last().unwrap(),
        "  failed: the DNS server answered SERVFAIL"
    );
}

#[tokio::test]
async fn no_server_is_an_error() {
    let resolver = dead_resolver();
    let err = resolver.caa("example.com").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "the DNS lookup of CAA example.com. failed: request timed out"
    );
}

#[tokio::test]
async fn an_invalid_name_is_refused_before_asking() {
    let resolver = dead_resolver();
    let err = resolver.txt("").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "\"\" is not a valid DNS name: the name is empty"
    );
}
