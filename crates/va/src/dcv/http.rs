//! The file method of DCV (Baseline Requirements §3.2.2.4.18, "Agreed-Upon Change to
//! Website v2"): a file under `/.well-known/pki-validation/` holding the expected content.

use super::Check;
use crate::error::Error;
use crate::fetch::{Fetcher, Scheme};
use crate::names::normalize;

/// The directory the Baseline Requirements reserve for validation files.
pub const VALIDATION_PATH: &str = "/.well-known/pki-validation/";

/// How much of the body the transcript shows.
const BODY_SHOWN: usize = 200;

/// Passes when `{scheme}://{domain}/.well-known/pki-validation/{file_name}` answers 2xx with
/// a body that, trimmed of surrounding whitespace, is `expected_content`, or whose first line
/// is (Sectigo's file format puts the hash on the first line and more lines after it).
pub async fn check_http(
    fetcher: &Fetcher,
    domain: &str,
    scheme: Scheme,
    file_name: &str,
    expected_content: &str,
) -> Check {
    let domain = normalize(domain);
    let expected = expected_content.trim();
    if !is_plain_file_name(file_name) {
        return Check::fail(
            format!("{file_name:?} is not a plain file name (letters, digits, '.', '_', '-')"),
            Vec::new(),
        );
    }
    if expected.is_empty() {
        return Check::fail(
            format!("no content was given to look for in {file_name}"),
            Vec::new(),
        );
    }
    let url = fetcher.url(scheme, &domain, &format!("{VALIDATION_PATH}{file_name}"));
    let mut transcript = Vec::new();
    let fetched = match fetcher.get(&url, &mut transcript).await {
        Ok(fetched) => fetched,
        Err(e) => return unfetched(&url, e, transcript),
    };
    let shown =
        String::from_utf8_lossy(&fetched.body[..fetched.body.len().min(BODY_SHOWN)]).into_owned();
    transcript.push(format!("  body (first {BODY_SHOWN} bytes): {shown:?}"));

    let from = if fetched.final_url == url {
        url.clone()
    } else {
        format!("{url} (redirected to {})", fetched.final_url)
    };
    if !(200..300).contains(&fetched.status) {
        return Check::fail(
            format!(
                "{from} answered HTTP {}, expected 200 with the content \"{expected}\"",
                fetched.status
            ),
            transcript,
        );
    }
    let body = String::from_utf8_lossy(&fetched.body);
    let body = body.trim();
    let first_line = body.lines().next().map(str::trim);
    if body == expected || first_line == Some(expected) {
        return Check::pass(format!("{from} holds \"{expected}\""), transcript);
    }
    let found = first_line.unwrap_or_default();
    let found = if found.is_empty() {
        "an empty file".to_owned()
    } else {
        format!("\"{}\"", found.chars().take(BODY_SHOWN).collect::<String>())
    };
    Check::fail(
        format!(
            "{from} does not hold the expected content: expected \"{expected}\", found {found}"
        ),
        transcript,
    )
}

/// A file name that stays inside the validation directory: no `/`, no `..`, nothing a URL
/// would have to escape.
fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// The check of a URL that could not be fetched: retried when nothing answered (a DNS
/// failure, a refused or timed-out connection), failed when the answer was a refusal (a
/// private address, a redirect that is not allowed, a body too large).
pub(crate) fn unfetched(url: &str, e: Error, transcript: Vec<String>) -> Check {
    match e {
        Error::Http { reason, .. } => {
            Check::unanswered(format!("{url} could not be fetched: {reason}"), transcript)
        }
        e @ Error::LookupFailed { .. } => {
            Check::unanswered(format!("{url} could not be fetched: {e}"), transcript)
        }
        other => Check::fail(format!("{url} could not be fetched: {other}"), transcript),
    }
}
