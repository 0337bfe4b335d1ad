//! CAA (RFC 8659, with the RFC 8657 parameters): does the domain's DNS allow Castellan to
//! issue for a name?
//!
//! The decision, step by step (each step is the RFC's, unless marked as Castellan's choice):
//!
//! 1. **Find the relevant RRset** (RFC 8659 §3): ask CAA for the name (for `*.example.com`,
//!    for `example.com`), then for each parent, one label at a time, up to the TLD. The first
//!    non-empty answer is the relevant RRset. A name that is a CNAME is answered with its
//!    target's records by the DNS itself; the climb goes on from the *original* name's parent
//!    (RFC 8659 dropped RFC 6844's climbing from the CNAME target).
//!    An answer given less than its TTL ago is reused (at most `caa_cache_max`; Baseline
//!    Requirements §3.2.2.8 allow the TTL or 8 hours), and a refusal says how old it is.
//! 2. **No CAA anywhere**: any CA may issue. Allowed.
//! 3. **A lookup fails** (SERVFAIL, timeout) at any level: refused. The Baseline Requirements
//!    §3.2.2.8 let a CA treat a failure as permission only when the failure is outside its
//!    infrastructure, was retried, and the zone is not DNSSEC-signed; Castellan cannot tell the
//!    last from a stub resolver, so it always refuses and says so.
//! 4. **A critical property with an unknown tag** (RFC 8659 §4.1; known: `issue`, `issuewild`,
//!    `iodef`, `issuemail`, `issuevmc`): refused, naming the record.
//! 5. **Which properties apply** (RFC 8659 §4.2, §4.3):
//!    - a non-wildcard name: the `issue` properties; `issuewild` is ignored;
//!    - a wildcard name: the `issuewild` properties if there is at least one, otherwise the
//!      `issue` properties.
//! 6. **None apply** (the RRset holds only `iodef`, unknown non-critical tags, or — for a
//!    non-wildcard name — only `issuewild`): CAA does not restrict this issuance (RFC 8659
//!    §4.2: only the presence of an issue property restricts). Allowed.
//! 7. **Some apply**: allowed when at least one authorises Castellan (authorisations are
//!    additive, RFC 8659 §4.2), otherwise refused. A property authorises Castellan when:
//!    - its value parses (a malformed value is an empty issuer, RFC 8659 §4.2);
//!    - its issuer is one of Castellan's CAA identities (an empty issuer, `";"`, authorises
//!      no one);
//!    - if it has `accounturi`, that is exactly the requesting account's URI; a request with
//!      no account is not authorised (RFC 8657 §3);
//!    - if it has `validationmethods`, the method that validated the name is in that
//!      comma-separated list; a request with no method is not authorised (RFC 8657 §4);
//!    - other parameters are ignored (their meaning is the named issuer's, RFC 8659 §4.2).
//!    - Castellan's choice: a parameter given twice makes the value malformed.

mod value;

use crate::dns::{CaaRecord, Resolver};
use crate::names::{normalize, parent};
use value::{IssueValue, parse_issue_value};

/// The property tags Castellan understands, so a critical one does not block issuance.
const KNOWN_TAGS: [&str; 5] = ["issue", "issuewild", "iodef", "issuemail", "issuevmc"];

/// What CAA says about issuing for one name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaaDecision {
    /// Whether Castellan may issue.
    pub allowed: bool,
    /// The relevant RRset, with the name whose query returned it; `None` when no CAA record
    /// was found (or a lookup failed before one was).
    pub relevant_set: Option<(String, Vec<CaaRecord>)>,
    /// One sentence for a person: why, and for a refusal, which record blocks and what to add.
    pub reason: String,
    /// Every CAA question asked and every answer received.
    pub transcript: Vec<String>,
}

/// Checks CAA for `fqdn` (a wildcard name may be given as `*.example.com`, or as
/// `example.com` with `wildcard` set). `identities` are Castellan's CAA issuer domains (the
/// first is the one suggested in a fix); `account_uri` and `method` describe the request for
/// the RFC 8657 parameters (the ACME account URI; the validation method, e.g. `dns-01`).
pub async fn check_caa(
    resolver: &Resolver,
    fqdn: &str,
    wildcard: bool,
    identities: &[String],
    account_uri: Option<&str>,
    method: Option<&str>,
) -> CaaDecision {
    let given = normalize(fqdn);
    let (name, wildcard) = match given.strip_prefix("*.") {
        Some(base) => (base.to_owned(), true),
        None => (given, wildcard),
    };
    let request = Request {
        wildcard,
        identities: identities.iter().map(|i| normalize(i)).collect(),
        account_uri,
        method,
    };
    let mut transcript = Vec::new();
    let mut current = Some(name.as_str());
    while let Some(domain) = current {
        match resolver.caa(domain).await {
            Err(e) => {
                transcript.extend(e.transcript().iter().cloned());
                return CaaDecision {
                    allowed: false,
                    relevant_set: None,
                    reason: format!(
                        "{e}; a CAA lookup that fails counts as a refusal (Baseline Requirements \
                         §3.2.2.8), so nothing is issued for {name} until the DNS servers of \
                         {domain} answer"
                    ),
                    transcript,
                };
            }
            Ok(found) if found.value.is_empty() => transcript.extend(found.transcript),
            Ok(found) => {
                transcript.extend(found.transcript);
                let owner = found.aliases.last().cloned();
                let (allowed, mut reason) =
                    decide(&request, domain, owner.as_deref(), &found.value);
                if let (false, Some(reused)) = (allowed, found.reused) {
                    // Whoever has just changed the record needs to know when it counts.
                    reason.push_str(&format!(
                        " (the DNS answered this {} s ago; CAA answers are reused for their \
                         TTL, at most {} s, so a changed record counts in {} s)",
                        reused.age.as_secs(),
                        reused.max.as_secs(),
                        reused.seconds_left()
                    ));
                }
                return CaaDecision {
                    allowed,
                    relevant_set: Some((domain.to_owned(), found.value)),
                    reason,
                    transcript,
                };
            }
        }
        current = parent(domain);
    }
    CaaDecision {
        allowed: true,
        relevant_set: None,
        reason: format!("no CAA record at {name} or any parent domain, so any CA may issue"),
        transcript,
    }
}

/// The request, as the rules need it.
struct Request<'a> {
    wildcard: bool,
    /// Normalised.
    identities: Vec<String>,
    account_uri: Option<&'a str>,
    method: Option<&'a str>,
}

impl Request<'_> {
    /// The identity suggested in a fix.
    fn identity(&self) -> &str {
        self.identities.first().map_or("Castellan", String::as_str)
    }
}

/// How one issue/issuewild property stands toward the request.
enum Verdict {
    Authorises,
    OtherIssuer,
    ForbidsAll,
    Malformed(String),
    /// Names Castellan but is limited to another account.
    AccountMismatch(String),
    /// Names Castellan but is limited to other validation methods.
    MethodMismatch(String),
}

/// Steps 4 to 7 of the module documentation, on a non-empty relevant RRset found by querying
/// `domain` (whose records live at `owner` when `domain` is a CNAME).
fn decide(
    request: &Request<'_>,
    domain: &str,
    owner: Option<&str>,
    records: &[CaaRecord],
) -> (bool, String) {
    let at = match owner {
        Some(owner) => format!("{domain} via CNAME {owner}"),
        None => domain.to_owned(),
    };
    if let Some(critical) = records
        .iter()
        .find(|r| r.critical && !KNOWN_TAGS.iter().any(|k| r.tag.eq_ignore_ascii_case(k)))
    {
        return (
            false,
            format!(
                "CAA record at {at} ({critical}) is critical and its tag {:?} is unknown to \
                 Castellan, which RFC 8659 says forbids issuance; remove the record or clear \
                 its critical flag",
                critical.tag
            ),
        );
    }

    let tagged = |tag: &str| -> Vec<&CaaRecord> {
        records
            .iter()
            .filter(|r| r.tag.eq_ignore_ascii_case(tag))
            .collect()
    };
    let issuewild = tagged("issuewild");
    let (tag, applicable) = if request.wildcard && !issuewild.is_empty() {
        ("issuewild", issuewild)
    } else {
        ("issue", tagged("issue"))
    };
    let what = if request.wildcard {
        " wildcard certificates"
    } else {
        ""
    };
    if applicable.is_empty() {
        let none = if request.wildcard {
            "no issue or issuewild record"
        } else {
            "no issue record"
        };
        return (
            true,
            format!("CAA records at {at} have {none}, so they do not restrict issuance"),
        );
    }

    let verdicts: Vec<(&CaaRecord, Verdict)> = applicable
        .into_iter()
        .map(|r| (r, judge(request, r)))
        .collect();
    if let Some((record, _)) = verdicts
        .iter()
        .find(|(_, v)| matches!(v, Verdict::Authorises))
    {
        return (
            true,
            format!(
                "CAA record at {at} ({record}) allows {} to issue{what}",
                request.identity()
            ),
        );
    }
    (
        false,
        refusal(request, &at, owner.unwrap_or(domain), tag, what, &verdicts),
    )
}

/// Whether one applicable property authorises the request (step 7).
fn judge(request: &Request<'_>, record: &CaaRecord) -> Verdict {
    let value: IssueValue = match parse_issue_value(&record.value) {
        Ok(value) => value,
        Err(why) => return Verdict::Malformed(why),
    };
    let Some(issuer) = &value.issuer else {
        return Verdict::ForbidsAll;
    };
    if !request.identities.iter().any(|i| i == issuer) {
        return Verdict::OtherIssuer;
    }
    if let Some(account) = value.parameter("accounturi")
        && request.account_uri != Some(account)
    {
        return Verdict::AccountMismatch(account.to_owned());
    }
    if let Some(methods) = value.parameter("validationmethods") {
        let allowed = request.method.is_some_and(|m| {
            methods
                .split(',')
                .any(|allowed| allowed.trim().eq_ignore_ascii_case(m))
        });
        if !allowed {
            return Verdict::MethodMismatch(methods.to_owned());
        }
    }
    Verdict::Authorises
}

/// The refusal sentence: the blocking records, why each one that names Castellan (or is
/// malformed) does not authorise, and the record to add at `owner`.
fn refusal(
    request: &Request<'_>,
    at: &str,
    owner: &str,
    tag: &str,
    what: &str,
    verdicts: &[(&CaaRecord, Verdict)],
) -> String {
    let records: Vec<String> = verdicts.iter().map(|(r, _)| r.to_string()).collect();
    let (noun, verb) = if records.len() == 1 {
        ("record", "does")
    } else {
        ("records", "do")
    };
    let mut sentence = format!(
        "CAA {noun} at {at} ({}) {verb} not allow {} to issue{what}",
        records.join("; "),
        request.identity()
    );

    let mut why = Vec::new();
    let mut suggestion = request.identity().to_owned();
    let mut wants_account = false;
    let mut wants_method = false;
    for (record, verdict) in verdicts {
        match verdict {
            Verdict::Malformed(problem) => why.push(format!(
                "{record} is malformed ({problem}), which RFC 8659 treats as forbidding issuance"
            )),
            Verdict::AccountMismatch(limited) => {
                wants_account = true;
                why.push(match request.account_uri {
                    Some(ours) => format!(
                        "{record} is limited to the account {limited}, and this request's account is {ours}"
                    ),
                    None => format!(
                        "{record} is limited to the account {limited}, and this request has no account"
                    ),
                });
            }
            Verdict::MethodMismatch(limited) => {
                wants_method = true;
                why.push(match request.method {
                    Some(ours) => format!(
                        "{record} is limited to the validation methods {limited}, and this request was validated by {ours}"
                    ),
                    None => format!(
                        "{record} is limited to the validation methods {limited}, and this request has no validation method"
                    ),
                });
            }
            Verdict::Authorises | Verdict::OtherIssuer | Verdict::ForbidsAll => {}
        }
    }
    if let (true, Some(ours)) = (wants_account, request.account_uri) {
        suggestion.push_str(&format!("; accounturi={ours}"));
    }
    if let (true, Some(ours)) = (wants_method, request.method) {
        suggestion.push_str(&format!("; validationmethods={ours}"));
    }
    if !why.is_empty() {
        sentence.push_str(": ");
        sentence.push_str(&why.join("; "));
    }
    sentence.push_str(&format!("; add: {owner}. CAA 0 {tag} \"{suggestion}\""));
    sentence
}
