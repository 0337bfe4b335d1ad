//! Castellan's own pre-issuance lints: the Baseline Requirements essentials, run on the
//! DER of every TBSCertificate before it is signed. The TBS is parsed back with a second,
//! independent parser (x509-parser), so a bug in how we build certificates is caught here
//! rather than published. A failing lint refuses issuance with the lint's name.
//!
//! Names follow zlint's style: `e_` for errors.

use crate::profile::Profile;
use crate::{PkiError, Result};
use castellan_model::{CertificateType, KeyType, ValidationLevel};
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5280 as ext;
use time::{Date, Month, OffsetDateTime};
use x509_parser::certificate::TbsCertificate;
use x509_parser::extensions::{DistributionPointName, GeneralName, ParsedExtension, X509Extension};
use x509_parser::oid_registry::Oid;
use x509_parser::prelude::FromDer;
use x509_parser::x509::X509Name;

fn fail(lint: &'static str, detail: impl Into<String>) -> PkiError {
    PkiError::Lint {
        lint,
        detail: detail.into(),
    }
}

fn is(oid: &Oid<'_>, expected: ObjectIdentifier) -> bool {
    oid.as_bytes() == expected.as_bytes()
}

/// The longest TLS subscriber validity the CA/B Forum allows for a certificate whose
/// notBefore is `not_before`, in days (ballot SC-081).
pub fn tls_max_validity_days(not_before: OffsetDateTime) -> u32 {
    let date = not_before.date();
    let on = |y, m, d| Date::from_calendar_date(y, m, d).unwrap_or(Date::MIN);
    if date < on(2026, Month::March, 15) {
        398
    } else if date < on(2027, Month::March, 15) {
        200
    } else if date < on(2029, Month::March, 15) {
        100
    } else {
        47
    }
}

/// The longest validity of a leaf of `certificate_type`, in days, at `not_before`.
pub fn max_validity_days(certificate_type: CertificateType, not_before: OffsetDateTime) -> u32 {
    match certificate_type {
        CertificateType::Ssl => tls_max_validity_days(not_before),
        CertificateType::Smime => 825,
        CertificateType::CodeSign => 460,
    }
}

/// Runs every leaf lint on `tbs_der` for a certificate of `profile` with `term_days`.
pub fn lint_leaf(tbs_der: &[u8], profile: &Profile, term_days: u32) -> Result<()> {
    let (rest, tbs) = TbsCertificate::from_der(tbs_der).map_err(|e| {
        fail(
            "e_tbs_unparseable",
            format!("the TBSCertificate does not parse: {e}"),
        )
    })?;
    if !rest.is_empty() {
        return Err(fail(
            "e_tbs_unparseable",
            "trailing bytes after the TBSCertificate",
        ));
    }
    lint_version(&tbs)?;
    lint_serial(&tbs)?;
    lint_validity(&tbs, profile, term_days)?;
    lint_key(&tbs, profile)?;
    lint_extensions_unique(&tbs)?;
    lint_basic_constraints(&tbs)?;
    lint_key_usage(&tbs)?;
    lint_eku(&tbs, profile)?;
    lint_identifiers(&tbs)?;
    lint_aia_and_crl(&tbs)?;
    lint_policies(&tbs, profile)?;
    lint_names(&tbs, profile)?;
    lint_subject(&tbs.subject, profile)?;
    Ok(())
}

fn lint_version(tbs: &TbsCertificate<'_>) -> Result<()> {
    if tbs.version.0 != 2 {
        return Err(fail(
            "e_cert_not_v3",
            format!("version is v{}", tbs.version.0 + 1),
        ));
    }
    Ok(())
}

fn lint_serial(tbs: &TbsCertificate<'_>) -> Result<()> {
    let raw = tbs.raw_serial();
    if raw.first().is_some_and(|b| b & 0x80 != 0) {
        return Err(fail(
            "e_serial_number_not_positive",
            "the serial number is negative",
        ));
    }
    let magnitude: Vec<u8> = raw.iter().copied().skip_while(|b| *b == 0).collect();
    if magnitude.is_empty() {
        return Err(fail(
            "e_serial_number_not_positive",
            "the serial number is zero",
        ));
    }
    if raw.len() > 20 {
        return Err(fail(
            "e_serial_number_longer_than_20_octets",
            format!("the serial number is {} octets", raw.len()),
        ));
    }
    if magnitude.len() < 9 {
        return Err(fail(
            "e_serial_number_low_entropy",
            format!(
                "the serial number has {} octets; at least 64 random bits are required",
                magnitude.len()
            ),
        ));
    }
    Ok(())
}

fn lint_validity(tbs: &TbsCertificate<'_>, profile: &Profile, term_days: u32) -> Result<()> {
    let not_before = tbs.validity.not_before.timestamp();
    let not_after = tbs.validity.not_after.timestamp();
    if not_after <= not_before {
        return Err(fail(
            "e_validity_not_after_before_not_before",
            "notAfter is not after notBefore",
        ));
    }
    // RFC 5280 counts validity inclusively: notAfter - notBefore + 1 second.
    let seconds = not_after - not_before + 1;
    let allowed = i64::from(term_days) * 86_400;
    if seconds > allowed {
        return Err(fail(
            "e_validity_exceeds_term",
            format!("the validity is {seconds} seconds, the term allows {allowed}"),
        ));
    }
    let nb = OffsetDateTime::from_unix_timestamp(not_before).map_err(|_| {
        fail(
            "e_validity_not_after_before_not_before",
            "notBefore is out of range",
        )
    })?;
    let max_days = max_validity_days(profile.certificate_type, nb);
    if seconds > i64::from(max_days) * 86_400 {
        let lint = match profile.certificate_type {
            CertificateType::Ssl => "e_tls_validity_too_long",
            CertificateType::Smime => "e_smime_validity_too_long",
            CertificateType::CodeSign => "e_code_signing_validity_too_long",
        };
        return Err(fail(
            lint,
            format!(
                "a {} certificate issued on {} may be valid for at most {max_days} days, this \
                 one is {term_days}; choose a shorter term (and shorten the profile's terms)",
                profile.certificate_type,
                nb.date()
            ),
        ));
    }
    Ok(())
}

fn lint_key(tbs: &TbsCertificate<'_>, profile: &Profile) -> Result<()> {
    let key = crate::keys::check_public_key(tbs.subject_pki.raw)
        .map_err(|e| fail("e_subscriber_key_not_allowed", e.to_string()))?;
    if !profile.allows_key(key.key_type) {
        return Err(fail(
            "e_subscriber_key_not_allowed",
            format!("the profile does not allow a {} key", key.key_type),
        ));
    }
    Ok(())
}

fn lint_extensions_unique(tbs: &TbsCertificate<'_>) -> Result<()> {
    let exts = tbs.extensions();
    for (i, a) in exts.iter().enumerate() {
        if exts[..i].iter().any(|b| b.oid == a.oid) {
            return Err(fail(
                "e_ext_duplicate",
                format!("extension {} appears twice", a.oid),
            ));
        }
        if let ParsedExtension::ParseError { error } = a.parsed_extension() {
            return Err(fail(
                "e_ext_unparseable",
                format!("extension {}: {error}", a.oid),
            ));
        }
    }
    Ok(())
}

fn find<'a, 'b>(
    tbs: &'b TbsCertificate<'a>,
    oid: ObjectIdentifier,
) -> Option<&'b X509Extension<'a>> {
    tbs.extensions().iter().find(|e| is(&e.oid, oid))
}

fn lint_basic_constraints(tbs: &TbsCertificate<'_>) -> Result<()> {
    if let Some(e) = find(tbs, ext::ID_CE_BASIC_CONSTRAINTS) {
        if !e.critical {
            return Err(fail(
                "e_basic_constraints_not_critical",
                "basicConstraints must be critical",
            ));
        }
        if let ParsedExtension::BasicConstraints(bc) = e.parsed_extension()
            && bc.ca
        {
            return Err(fail(
                "e_leaf_is_ca",
                "a subscriber certificate must not be a CA",
            ));
        }
    }
    Ok(())
}

fn lint_key_usage(tbs: &TbsCertificate<'_>) -> Result<()> {
    let e = find(tbs, ext::ID_CE_KEY_USAGE)
        .ok_or_else(|| fail("e_key_usage_missing", "keyUsage is missing"))?;
    if !e.critical {
        return Err(fail(
            "e_key_usage_not_critical",
            "keyUsage must be critical",
        ));
    }
    if let ParsedExtension::KeyUsage(ku) = e.parsed_extension() {
        if ku.key_cert_sign() || ku.crl_sign() {
            return Err(fail(
                "e_leaf_key_usage_ca_bits",
                "keyCertSign/cRLSign are set in a subscriber certificate",
            ));
        }
        let is_ec = !matches!(
            crate::keys::check_public_key(tbs.subject_pki.raw).map(|k| k.key_type),
            Ok(KeyType::Rsa(_))
        );
        if is_ec && ku.key_encipherment() {
            return Err(fail(
                "e_ec_key_usage_key_encipherment",
                "keyEncipherment is set for an ECDSA key",
            ));
        }
    }
    Ok(())
}

fn lint_eku(tbs: &TbsCertificate<'_>, profile: &Profile) -> Result<()> {
    let e = find(tbs, ext::ID_CE_EXT_KEY_USAGE)
        .ok_or_else(|| fail("e_eku_missing", "extendedKeyUsage is missing"))?;
    if let ParsedExtension::ExtendedKeyUsage(eku) = e.parsed_extension() {
        if eku.any {
            return Err(fail("e_eku_any_present", "anyExtendedKeyUsage is present"));
        }
        let (needed, name) = match profile.certificate_type {
            CertificateType::Ssl => (eku.server_auth, "serverAuth"),
            CertificateType::Smime => (eku.email_protection, "emailProtection"),
            CertificateType::CodeSign => (eku.code_signing, "codeSigning"),
        };
        if !needed {
            return Err(fail("e_eku_purpose_missing", format!("{name} is missing")));
        }
        if profile.certificate_type == CertificateType::Ssl
            && (eku.email_protection || eku.code_signing)
        {
            return Err(fail(
                "e_tls_eku_mixed_purpose",
                "a TLS certificate must not also be for e-mail or code signing",
            ));
        }
    }
    Ok(())
}

fn lint_identifiers(tbs: &TbsCertificate<'_>) -> Result<()> {
    match find(tbs, ext::ID_CE_AUTHORITY_KEY_IDENTIFIER).map(X509Extension::parsed_extension) {
        Some(ParsedExtension::AuthorityKeyIdentifier(aki)) if aki.key_identifier.is_some() => {}
        _ => {
            return Err(fail(
                "e_aki_missing",
                "authorityKeyIdentifier with a keyIdentifier is missing",
            ));
        }
    }
    Ok(())
}

fn lint_aia_and_crl(tbs: &TbsCertificate<'_>) -> Result<()> {
    let aia = find(tbs, ext::ID_PE_AUTHORITY_INFO_ACCESS)
        .ok_or_else(|| fail("e_aia_missing", "authorityInfoAccess is missing"))?;
    if let ParsedExtension::AuthorityInfoAccess(aia) = aia.parsed_extension() {
        for (method, label) in [
            (crate::oids::AD_OCSP, "OCSP"),
            (crate::oids::AD_CA_ISSUERS, "caIssuers"),
        ] {
            let uri = aia
                .accessdescs
                .iter()
                .find_map(|d| match &d.access_location {
                    GeneralName::URI(uri) if is(&d.access_method, method) => Some(*uri),
                    _ => None,
                });
            match uri {
                Some(uri) if uri.starts_with("http://") => {}
                Some(uri) => {
                    return Err(fail(
                        "e_aia_not_http",
                        format!(
                            "the {label} URL {uri} must use http:// (relying parties fetch it without TLS)"
                        ),
                    ));
                }
                None => return Err(fail("e_aia_missing", format!("the {label} URL is missing"))),
            }
        }
    }
    let crl = find(tbs, ext::ID_CE_CRL_DISTRIBUTION_POINTS)
        .ok_or_else(|| fail("e_crl_dp_missing", "cRLDistributionPoints is missing"))?;
    if let ParsedExtension::CRLDistributionPoints(points) = crl.parsed_extension() {
        let http = points.points.iter().any(|p| match &p.distribution_point {
            Some(DistributionPointName::FullName(names)) => names
                .iter()
                .any(|n| matches!(n, GeneralName::URI(u) if u.starts_with("http://"))),
            _ => false,
        });
        if !http {
            return Err(fail(
                "e_crl_dp_not_http",
                "the CRL distribution point must be an http:// URL",
            ));
        }
    }
    Ok(())
}

fn lint_policies(tbs: &TbsCertificate<'_>, profile: &Profile) -> Result<()> {
    let e = find(tbs, ext::ID_CE_CERTIFICATE_POLICIES)
        .ok_or_else(|| fail("e_policies_missing", "certificatePolicies is missing"))?;
    if let ParsedExtension::CertificatePolicies(policies) = e.parsed_extension() {
        for expected in &profile.policies {
            if !policies.iter().any(|p| is(&p.policy_id, *expected)) {
                return Err(fail(
                    "e_policies_missing",
                    format!("policy {expected} of the profile is missing"),
                ));
            }
        }
    }
    Ok(())
}

fn san_names<'a>(tbs: &'a TbsCertificate<'_>) -> Option<Vec<&'a GeneralName<'a>>> {
    match find(tbs, ext::ID_CE_SUBJECT_ALT_NAME).map(X509Extension::parsed_extension) {
        Some(ParsedExtension::SubjectAlternativeName(san)) => {
            Some(san.general_names.iter().collect())
        }
        _ => None,
    }
}

fn lint_names(tbs: &TbsCertificate<'_>, profile: &Profile) -> Result<()> {
    let cns: Vec<&str> = tbs
        .subject
        .iter_common_name()
        .filter_map(|cn| cn.as_str().ok())
        .collect();
    if cns.len() > 1 {
        return Err(fail(
            "e_subject_multiple_cn",
            "the subject has more than one commonName",
        ));
    }
    match profile.certificate_type {
        CertificateType::Ssl => {
            let names = san_names(tbs)
                .ok_or_else(|| fail("e_ext_san_missing", "subjectAltName is missing"))?;
            let dns: Vec<&str> = names
                .iter()
                .filter_map(|n| match n {
                    GeneralName::DNSName(d) => Some(*d),
                    _ => None,
                })
                .collect();
            let ips = names
                .iter()
                .filter(|n| matches!(n, GeneralName::IPAddress(_)))
                .count();
            if dns.is_empty() || dns.len() + ips != names.len() {
                return Err(fail(
                    "e_ext_san_not_dns",
                    "a TLS subjectAltName must hold DNS names (and IP addresses) only, at least one DNS name",
                ));
            }
            for name in &dns {
                let label_ok = name
                    .split('.')
                    .enumerate()
                    .all(|(i, label)| !label.contains('*') || (i == 0 && label == "*"));
                if !label_ok {
                    return Err(fail(
                        "e_wildcard_not_leftmost",
                        format!("'{name}' has a wildcard that is not the whole left-most label"),
                    ));
                }
                if profile.validation_level == ValidationLevel::Ev && name.starts_with("*.") {
                    return Err(fail(
                        "e_ev_wildcard",
                        format!("EV certificates cannot name '{name}'"),
                    ));
                }
            }
            if let Some(cn) = cns.first()
                && !dns.iter().any(|d| d.eq_ignore_ascii_case(cn))
            {
                return Err(fail(
                    "e_cn_not_in_san",
                    format!("the common name '{cn}' is not one of the subjectAltNames"),
                ));
            }
        }
        CertificateType::Smime => {
            let names = san_names(tbs)
                .ok_or_else(|| fail("e_ext_san_missing", "subjectAltName is missing"))?;
            if !names
                .iter()
                .any(|n| matches!(n, GeneralName::RFC822Name(_)))
            {
                return Err(fail(
                    "e_smime_no_email",
                    "an S/MIME certificate needs an rfc822Name",
                ));
            }
        }
        CertificateType::CodeSign => {}
    }
    Ok(())
}

fn lint_subject(subject: &X509Name<'_>, profile: &Profile) -> Result<()> {
    use crate::oids;
    let has = |oid: ObjectIdentifier| subject.iter_attributes().any(|a| is(a.attr_type(), oid));
    for atv in subject.iter_attributes() {
        if is(atv.attr_type(), oids::COUNTRY_NAME) {
            let ok = atv
                .as_str()
                .is_ok_and(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()))
                && atv.attr_value().tag() == x509_parser::der_parser::asn1_rs::Tag::PrintableString;
            if !ok {
                return Err(fail(
                    "e_subject_country_not_iso",
                    "countryName must be a two-letter code in a PrintableString",
                ));
            }
        }
        if is(atv.attr_type(), oids::ORGANIZATIONAL_UNIT_NAME) {
            return Err(fail(
                "e_subject_ou_present",
                "organizationalUnitName is not allowed",
            ));
        }
    }
    let org_validated = matches!(
        profile.validation_level,
        ValidationLevel::Ov | ValidationLevel::Ev | ValidationLevel::Igtf
    );
    if org_validated && profile.certificate_type != CertificateType::Smime {
        if !has(oids::ORGANIZATION_NAME) || !has(oids::COUNTRY_NAME) {
            return Err(fail(
                "e_ov_subject_missing_organization",
                "an organisation-validated subject needs O and C",
            ));
        }
        if !has(oids::LOCALITY_NAME) && !has(oids::STATE_OR_PROVINCE_NAME) {
            return Err(fail(
                "e_ov_subject_missing_locality_or_state",
                "an organisation-validated subject needs L or ST; fill in the organisation's city or state",
            ));
        }
    }
    if profile.validation_level == ValidationLevel::Ev {
        for (oid, label) in [
            (oids::BUSINESS_CATEGORY, "businessCategory"),
            (oids::JURISDICTION_COUNTRY, "jurisdictionC"),
            (oids::SERIAL_NUMBER, "serialNumber"),
        ] {
            if !has(oid) {
                return Err(fail(
                    "e_ev_subject_missing_field",
                    format!("an EV subject needs {label}"),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn tls_limits_follow_the_ballot_dates() {
        assert_eq!(tls_max_validity_days(datetime!(2026-03-14 23:59 UTC)), 398);
        assert_eq!(tls_max_validity_days(datetime!(2026-03-15 0:00 UTC)), 200);
        assert_eq!(tls_max_validity_days(datetime!(2027-03-15 0:00 UTC)), 100);
        assert_eq!(tls_max_validity_days(datetime!(2029-03-15 0:00 UTC)), 47);
    }
}
