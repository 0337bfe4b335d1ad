//! The DNS methods of DCV: a CNAME (Baseline Requirements §3.2.2.4.7, as Sectigo's
//! `_<hash>.domain CNAME <hash>.<token>.sectigo.com`) and a TXT record (the same section, and
//! ACME dns-01).

use super::Check;
use crate::dns::Resolver;
use crate::names::normalize;

/// Passes when `host` is a CNAME whose target is exactly `expected_target` (case and a
/// trailing dot do not matter). Only the first hop counts: the record the domain's owner was
/// asked to add is at `host`, and a chain that reaches the target further on proves nothing
/// about `host` itself. The transcript shows the whole chain.
pub async fn check_cname(resolver: &Resolver, host: &str, expected_target: &str) -> Check {
    let host = normalize(host);
    let expected = normalize(expected_target);
    let chain = match resolver.cname_chain(&host).await {
        Ok(chain) => chain,
        Err(e) => {
            return Check::unanswered(
                format!("the CNAME of {host} could not be checked ({e}); it will be checked again"),
                e.transcript().to_vec(),
            );
        }
    };
    let detail = match chain.value.first() {
        None => format!("{host} has no CNAME record; add {host} CNAME {expected}"),
        Some(found) if *found == expected => {
            return Check::pass(format!("{host} points to {expected}"), chain.transcript);
        }
        Some(found) => format!(
            "{host} points to {found}, expected {expected}; change the record to {host} CNAME {expected}"
        ),
    };
    Check::fail(detail, chain.transcript)
}

/// Passes when one of the TXT records at `host` is exactly `expected_value` (surrounding
/// whitespace aside). A record's character-strings are joined first (see
/// [`Resolver::txt`]).
pub async fn check_txt(resolver: &Resolver, host: &str, expected_value: &str) -> Check {
    let host = normalize(host);
    let expected = expected_value.trim();
    if expected.is_empty() {
        return Check::fail(
            format!("no TXT value was given to look for at {host}"),
            Vec::new(),
        );
    }
    let found = match resolver.txt(&host).await {
        Ok(found) => found,
        Err(e) => {
            return Check::unanswered(
                format!(
                    "the TXT records of {host} could not be checked ({e}); they will be checked again"
                ),
                e.transcript().to_vec(),
            );
        }
    };
    if found.value.iter().any(|v| v.trim() == expected) {
        return Check::pass(
            format!("{host} has the TXT record \"{expected}\""),
            found.transcript,
        );
    }
    let detail = if found.value.is_empty() {
        format!("{host} has no TXT record; add {host} TXT \"{expected}\"")
    } else {
        let shown: Vec<String> = found.value.iter().map(|v| format!("\"{v}\"")).collect();
        format!(
            "{host} has no TXT record \"{expected}\" (found {}); add {host} TXT \"{expected}\"",
            shown.join(", ")
        )
    };
    Check::fail(detail, found.transcript)
}
