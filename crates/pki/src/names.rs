//! The names a certificate is for: normalising DNS names and e-mail addresses, and applying
//! a profile's SAN rules (how many names, wildcards, the automatic `www.` name).
//!
//! Names are compared and stored in one form: lower case, no trailing dot, internationalised
//! labels as A-labels (`xn--...`), so `Example.COM.` and `example.com` are the same name.

use crate::profile::{CommonNameRule, NameKind, Profile, WildcardRule};
use crate::{PkiError, Result};
use castellan_model::{OrganizationDetails, PersonDetails};

/// What a request asks for, before the profile's rules are applied.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NameRequest {
    /// The CSR's (or form's) common name.
    pub common_name: Option<String>,
    /// DNS names (CSR subjectAltName and any given separately).
    pub dns_names: Vec<String>,
    /// E-mail addresses.
    pub emails: Vec<String>,
    /// IP addresses (refused: Castellan does not issue for IP addresses).
    pub ip_addresses: Vec<String>,
}

/// The names that go into the certificate.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CertificateNames {
    /// The subject common name (for TLS, always one of `dns_names`).
    pub common_name: Option<String>,
    /// subjectAltName dNSName entries, the CN first.
    pub dns_names: Vec<String>,
    /// subjectAltName rfc822Name entries.
    pub emails: Vec<String>,
    /// subjectAltName iPAddress entries (only Castellan's own service certificate has them).
    pub ip_addresses: Vec<std::net::IpAddr>,
}

impl CertificateNames {
    /// The names a certificate covers, DNS names then e-mail addresses.
    pub fn all(&self) -> impl Iterator<Item = &str> {
        self.dns_names
            .iter()
            .chain(self.emails.iter())
            .map(String::as_str)
    }
}

fn invalid(name: &str, reason: impl Into<String>) -> PkiError {
    PkiError::InvalidName {
        name: name.to_owned(),
        reason: reason.into(),
    }
}

/// Normalises one DNS name (a leading `*.` label is kept), or says why it is not one.
pub fn normalize_dns_name(raw: &str) -> Result<String> {
    let trimmed = raw.trim();
    let trimmed = trimmed.strip_suffix('.').unwrap_or(trimmed);
    if trimmed.is_empty() {
        return Err(invalid(raw, "the name is empty"));
    }
    let (wildcard, rest) = match trimmed.strip_prefix("*.") {
        Some(rest) => (true, rest),
        None => (false, trimmed),
    };
    if rest.contains('*') {
        return Err(invalid(
            raw,
            "a wildcard may only be the whole left-most label, as in *.example.com",
        ));
    }
    if rest.parse::<std::net::IpAddr>().is_ok() {
        return Err(invalid(
            raw,
            "IP addresses are not accepted; certificates are issued for DNS names only",
        ));
    }
    let ascii = idna::domain_to_ascii(rest)
        .map_err(|_| invalid(raw, "not a valid internationalised domain name"))?;
    if ascii.len() > 253 {
        return Err(invalid(raw, "longer than 253 characters"));
    }
    let labels: Vec<&str> = ascii.split('.').collect();
    if labels.len() < 2 {
        return Err(invalid(
            raw,
            "a fully qualified domain name has at least two labels (e.g. host.example.com)",
        ));
    }
    for label in &labels {
        if label.is_empty() {
            return Err(invalid(raw, "has an empty label (two dots in a row)"));
        }
        if label.len() > 63 {
            return Err(invalid(
                raw,
                format!("label '{label}' is longer than 63 characters"),
            ));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(invalid(
                raw,
                format!("label '{label}' has characters other than letters, digits and '-'"),
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(invalid(
                raw,
                format!("label '{label}' starts or ends with '-'"),
            ));
        }
    }
    if labels
        .last()
        .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(invalid(raw, "the top-level label is all digits"));
    }
    if wildcard && labels.len() < 2 {
        return Err(invalid(
            raw,
            "a wildcard must sit below a registered domain",
        ));
    }
    Ok(if wildcard {
        format!("*.{ascii}")
    } else {
        ascii
    })
}

/// Normalises an e-mail address (domain part as a DNS name; local part as given).
pub fn normalize_email(raw: &str) -> Result<String> {
    let trimmed = raw.trim();
    let (local, domain) = trimmed
        .rsplit_once('@')
        .ok_or_else(|| invalid(raw, "an e-mail address needs an '@'"))?;
    if local.is_empty() || local.len() > 64 {
        return Err(invalid(
            raw,
            "the part before '@' must be 1 to 64 characters",
        ));
    }
    if !local.bytes().all(|b| {
        b.is_ascii_graphic()
            && !matches!(
                b,
                b'@' | b'"' | b'(' | b')' | b',' | b':' | b';' | b'<' | b'>' | b'[' | b'\\' | b']'
            )
    }) {
        return Err(invalid(
            raw,
            "the part before '@' has characters an address cannot have",
        ));
    }
    if domain.starts_with("*.") {
        return Err(invalid(raw, "an e-mail domain cannot be a wildcard"));
    }
    let domain = normalize_dns_name(domain).map_err(|e| match e {
        PkiError::InvalidName { reason, .. } => invalid(raw, format!("domain part: {reason}")),
        other => other,
    })?;
    Ok(format!("{local}@{domain}"))
}

fn push_unique(list: &mut Vec<String>, name: String) {
    if !list.contains(&name) {
        list.push(name);
    }
}

fn refuse(profile: &Profile, rule: &'static str, detail: String) -> PkiError {
    PkiError::ProfileRule {
        profile: profile.name.clone(),
        rule,
        detail,
    }
}

/// Applies `profile`'s SAN rules to `request`: normalises, removes duplicates, checks the
/// number of names and the wildcard rule, adds the automatic `www.` name, and chooses the
/// common name.
pub fn apply_profile(
    profile: &Profile,
    request: &NameRequest,
    organization: Option<&OrganizationDetails>,
    person: Option<&PersonDetails>,
) -> Result<CertificateNames> {
    if let Some(ip) = request.ip_addresses.first() {
        return Err(invalid(
            ip,
            "IP addresses are not accepted; certificates are issued for DNS names only",
        ));
    }
    let mut names = CertificateNames::default();
    match profile.names.kind {
        NameKind::Dns => {
            if !request.emails.is_empty() {
                return Err(refuse(
                    profile,
                    "name-kind",
                    format!(
                        "a TLS certificate carries DNS names only; remove the e-mail address(es) {}",
                        request.emails.join(", ")
                    ),
                ));
            }
            if let Some(cn) = request
                .common_name
                .as_deref()
                .filter(|s| !s.trim().is_empty())
            {
                let cn = normalize_dns_name(cn).map_err(|e| match e {
                    PkiError::InvalidName { name, reason } => PkiError::InvalidName {
                        name,
                        reason: format!("the common name must be a hostname: {reason}"),
                    },
                    other => other,
                })?;
                push_unique(&mut names.dns_names, cn);
            }
            for name in &request.dns_names {
                push_unique(&mut names.dns_names, normalize_dns_name(name)?);
            }
            check_count(profile, names.dns_names.len())?;
            let wildcards: Vec<&String> = names
                .dns_names
                .iter()
                .filter(|n| n.starts_with("*."))
                .collect();
            match profile.names.wildcard {
                WildcardRule::Forbidden if !wildcards.is_empty() => {
                    return Err(refuse(
                        profile,
                        "wildcard-forbidden",
                        format!(
                            "wildcard names are not allowed ({}); use the Wildcard SSL profile or \
                             name each host",
                            join(&wildcards)
                        ),
                    ));
                }
                WildcardRule::Required if !names.dns_names[0].starts_with("*.") => {
                    return Err(refuse(
                        profile,
                        "wildcard-required",
                        format!(
                            "the common name must be a wildcard such as *.{}, got '{}'",
                            names.dns_names[0].trim_start_matches("www."),
                            names.dns_names[0]
                        ),
                    ));
                }
                _ => {}
            }
            if profile.names.add_www {
                let first = names.dns_names[0].clone();
                let extra = match first.strip_prefix("www.") {
                    Some(bare) if bare.contains('.') => bare.to_owned(),
                    _ => format!("www.{first}"),
                };
                push_unique(&mut names.dns_names, extra);
            }
            names.common_name = names.dns_names.first().cloned();
        }
        NameKind::Email => {
            if !request.dns_names.is_empty() {
                return Err(refuse(
                    profile,
                    "name-kind",
                    format!(
                        "a client certificate carries e-mail addresses only; remove the DNS \
                         name(s) {}",
                        request.dns_names.join(", ")
                    ),
                ));
            }
            if let Some(person) = person {
                push_unique(&mut names.emails, normalize_email(&person.email)?);
            }
            for email in &request.emails {
                push_unique(&mut names.emails, normalize_email(email)?);
            }
            check_count(profile, names.emails.len())?;
            let person_name = person.and_then(PersonDetails::display_name);
            let requested_cn = request
                .common_name
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned);
            names.common_name = match profile.common_name {
                CommonNameRule::Robot => requested_cn.or(person_name).map(|name| {
                    if name.starts_with("Robot - ") {
                        name
                    } else {
                        format!("Robot - {name}")
                    }
                }),
                _ => person_name.or(requested_cn),
            };
        }
        NameKind::None => {
            if !request.dns_names.is_empty() || !request.emails.is_empty() {
                return Err(refuse(
                    profile,
                    "name-kind",
                    "a code signing certificate carries no DNS names or e-mail addresses".into(),
                ));
            }
            names.common_name = organization.map(|o| o.name.trim().to_owned());
        }
    }
    Ok(names)
}

fn check_count(profile: &Profile, count: usize) -> Result<()> {
    let kind = match profile.names.kind {
        NameKind::Email => "e-mail address",
        _ => "name",
    };
    if count < profile.names.min {
        return Err(refuse(
            profile,
            "min-names",
            format!(
                "at least {} {kind}(s) needed, got {count}",
                profile.names.min
            ),
        ));
    }
    if count > profile.names.max {
        return Err(refuse(
            profile,
            "max-names",
            format!(
                "{count} {kind}s requested, at most {} allowed",
                profile.names.max
            ),
        ));
    }
    Ok(())
}

fn join(items: &[&String]) -> String {
    items
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::ProfileSet;

    #[test]
    fn dns_names_are_normalised() {
        assert_eq!(
            normalize_dns_name("WWW.Example.COM.").unwrap(),
            "www.example.com"
        );
        assert_eq!(
            normalize_dns_name("*.Example.com").unwrap(),
            "*.example.com"
        );
        assert_eq!(
            normalize_dns_name("bücher.example").unwrap(),
            "xn--bcher-kva.example"
        );
    }

    #[test]
    fn bad_dns_names_are_refused_with_the_reason() {
        for (name, reason) in [
            ("a.*.example.com", "left-most label"),
            ("localhost", "at least two labels"),
            ("192.0.2.1", "IP addresses"),
            ("-bad.example.com", "starts or ends"),
            ("under_score.example.com", "characters other than"),
            ("a..example.com", "empty label"),
        ] {
            let err = normalize_dns_name(name).unwrap_err().to_string();
            assert!(err.contains(reason), "{name}: {err}");
        }
    }

    #[test]
    fn emails_are_checked() {
        assert_eq!(
            normalize_email("Jo.Bloggs@Example.AC.UK").unwrap(),
            "Jo.Bloggs@example.ac.uk"
        );
        assert!(normalize_email("no-at-sign").is_err());
        assert!(normalize_email("a b@example.com").is_err());
    }

    fn request(cn: &str, sans: &[&str]) -> NameRequest {
        NameRequest {
            common_name: Some(cn.to_owned()),
            dns_names: sans.iter().map(|s| s.to_string()).collect(),
            ..NameRequest::default()
        }
    }

    #[test]
    fn ov_ssl_adds_www_and_refuses_wildcards() {
        let set = ProfileSet::defaults().unwrap();
        let ov = set.by_name("OV SSL").unwrap();
        let names = apply_profile(ov, &request("host.example.com", &[]), None, None).unwrap();
        assert_eq!(
            names.dns_names,
            ["host.example.com", "www.host.example.com"]
        );
        let names = apply_profile(ov, &request("www.example.com", &[]), None, None).unwrap();
        assert_eq!(names.dns_names, ["www.example.com", "example.com"]);
        let err = apply_profile(ov, &request("*.example.com", &[]), None, None).unwrap_err();
        assert_eq!(err.rule(), "wildcard-forbidden");
        let err = apply_profile(
            ov,
            &request("a.example.com", &["b.example.com"]),
            None,
            None,
        )
        .unwrap_err();
        assert_eq!(err.rule(), "max-names");
    }

    #[test]
    fn wildcard_profile_requires_a_wildcard() {
        let set = ProfileSet::defaults().unwrap();
        let wc = set.by_name("Wildcard SSL").unwrap();
        let err = apply_profile(wc, &request("www.example.com", &[]), None, None).unwrap_err();
        assert_eq!(err.rule(), "wildcard-required");
        assert!(err.to_string().contains("*.example.com"), "{err}");
    }
}
