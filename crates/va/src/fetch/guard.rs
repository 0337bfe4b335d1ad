//! The checks every connection and every redirect of a validation request passes: where the
//! name resolves, which address it is, which scheme and port a redirect goes to.
//!
//! reqwest resolves host names through [`GuardedResolver`], so the address check sees every
//! name the request visits, including redirect targets. A URL whose host is an IP literal
//! bypasses the resolver; [`check_target`] covers those, for the first URL and for every
//! redirect.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::redirect::{Action, Attempt, Policy};

use super::addresses::non_public_rule;
use super::{FetchSettings, MAX_REDIRECTS};
use crate::dns::Resolver;
use crate::error::Error;

/// Lines of the transcript written while reqwest works (resolving, redirecting). Shared with
/// the resolver and the redirect policy of one client, which serves one fetch.
pub(super) type Log = Arc<Mutex<Vec<String>>>;

/// Adds lines to a shared log. A poisoned lock (a panic elsewhere) only loses transcript lines.
pub(super) fn note(log: &Log, lines: impl IntoIterator<Item = String>) {
    if let Ok(mut log) = log.lock() {
        log.extend(lines);
    }
}

/// Resolves through the validation [`Resolver`] and refuses non-public addresses.
pub(super) struct GuardedResolver {
    pub(super) resolver: Resolver,
    pub(super) allow_private: bool,
    pub(super) log: Log,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let resolver = self.resolver.clone();
        let allow_private = self.allow_private;
        let log = self.log.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found = match resolver.ips(&host).await {
                Ok(found) => found,
                Err(e) => {
                    note(&log, e.transcript().iter().cloned());
                    return Err(e.into());
                }
            };
            note(&log, found.transcript);
            if found.value.is_empty() {
                return Err(Error::NoAddress { host }.into());
            }
            if !allow_private {
                for ip in &found.value {
                    if let Some(rule) = non_public_rule(*ip) {
                        return Err(Error::PrivateAddress { addr: *ip, rule }.into());
                    }
                }
            }
            // Port 0: reqwest puts in the URL's port.
            let addrs: Addrs = Box::new(
                found
                    .value
                    .into_iter()
                    .map(|ip| SocketAddr::new(ip, 0))
                    .collect::<Vec<_>>()
                    .into_iter(),
            );
            Ok(addrs)
        })
    }
}

/// Follows at most [`MAX_REDIRECTS`] redirects, each to an allowed target, and writes each
/// into the log.
pub(super) fn redirect_policy(settings: FetchSettings, first_url: String, log: Log) -> Policy {
    Policy::custom(move |attempt: Attempt| -> Action {
        let next = attempt.url().clone();
        note(
            &log,
            [format!("  redirected ({}) to {next}", attempt.status())],
        );
        // `previous` holds the first URL and every redirect already followed.
        if attempt.previous().len() > MAX_REDIRECTS {
            return attempt.error(Error::TooManyRedirects {
                url: first_url.clone(),
                max: MAX_REDIRECTS,
            });
        }
        match check_target(&settings, &next) {
            Ok(()) => attempt.follow(),
            Err(Error::InvalidUrl { url, reason }) => {
                attempt.error(Error::RedirectRefused { url, reason })
            }
            Err(e) => attempt.error(e),
        }
    })
}

/// Refuses a URL validation may not fetch: a scheme other than http/https, a port other than
/// the validation ports (the Baseline Requirements allow only 80 and 443, and redirects only
/// to those), or a literal non-public address.
pub(super) fn check_target(settings: &FetchSettings, url: &Url) -> Result<(), Error> {
    let refuse = |reason: String| Error::InvalidUrl {
        url: url.to_string(),
        reason,
    };
    let allowed_port = match url.scheme() {
        "http" => settings.http_port,
        "https" => settings.https_port,
        other => return Err(refuse(format!("the scheme {other} is not http or https"))),
    };
    let port = url.port_or_known_default();
    if port != Some(allowed_port) {
        let shown = port.map_or_else(|| "none".to_owned(), |p| p.to_string());
        return Err(refuse(format!(
            "{} validation uses port {allowed_port}, not {shown}",
            url.scheme()
        )));
    }
    let Some(host) = url.host_str() else {
        return Err(refuse("the URL has no host".to_owned()));
    };
    // An IPv6 literal is shown in brackets; a name does not parse as an address.
    let Ok(ip) = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    else {
        return Ok(());
    };
    match non_public_rule(ip) {
        Some(rule) if !settings.allow_private_targets => {
            Err(Error::PrivateAddress { addr: ip, rule })
        }
        _ => Ok(()),
    }
}
