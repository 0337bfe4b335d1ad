//! Certificate profiles as data: one TOML file each, validated when loaded.
//!
//! A profile says what a certificate of its kind looks like: its type and validation
//! level, the terms and keys it allows, its key usages, EKUs and policies, which subject
//! fields come from the organisation or the person, and its SAN rules. A bad profile stops
//! start-up with the file, the key and the reason (`docs/profiles.md` documents every key).

use crate::{PkiError, Result, oids};
use castellan_model::{CertificateType, Hierarchy, KeyType, ProfileId, ValidationLevel};
use const_oid::ObjectIdentifier;
use der::flagset::FlagSet;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use x509_cert::ext::pkix::KeyUsages;

/// The profiles Castellan ships, embedded so a fresh data directory gets them.
pub const DEFAULT_PROFILES: &[(&str, &str)] = &[
    ("ov-ssl.toml", include_str!("../../../profiles/ov-ssl.toml")),
    (
        "ov-multi-domain-ssl.toml",
        include_str!("../../../profiles/ov-multi-domain-ssl.toml"),
    ),
    (
        "unified-communications.toml",
        include_str!("../../../profiles/unified-communications.toml"),
    ),
    (
        "wildcard-ssl.toml",
        include_str!("../../../profiles/wildcard-ssl.toml"),
    ),
    ("ev-ssl.toml", include_str!("../../../profiles/ev-ssl.toml")),
    (
        "ev-multi-domain-ssl.toml",
        include_str!("../../../profiles/ev-multi-domain-ssl.toml"),
    ),
    (
        "igtf-multi-domain-ssl.toml",
        include_str!("../../../profiles/igtf-multi-domain-ssl.toml"),
    ),
    (
        "ev-anchor.toml",
        include_str!("../../../profiles/ev-anchor.toml"),
    ),
    (
        "personal.toml",
        include_str!("../../../profiles/personal.toml"),
    ),
    (
        "igtf-classic-robot-email.toml",
        include_str!("../../../profiles/igtf-classic-robot-email.toml"),
    ),
    (
        "igtf-mics-personal.toml",
        include_str!("../../../profiles/igtf-mics-personal.toml"),
    ),
    (
        "igtf-mics-robot-personal.toml",
        include_str!("../../../profiles/igtf-mics-robot-personal.toml"),
    ),
    (
        "code-signing.toml",
        include_str!("../../../profiles/code-signing.toml"),
    ),
];

/// The built-in profile of Castellan's own HTTPS server certificate. It is not offered to
/// requesters (its id, 0, is outside the range profile files may use). Its one term is a
/// day under the TLS limit in force at `now`, so it keeps working as the limits fall.
pub fn service_tls_profile(now: time::OffsetDateTime) -> Result<Profile> {
    const TEXT: &str = r#"
id = 1
name = "Castellan service TLS"
description = "The certificate Castellan's own HTTPS listener presents."
certificate_type = "SSL"
validation_level = "DV"
terms = [199]

[keys]
ec = ["P-256"]

[extensions]
key_usage_rsa = ["digitalSignature"]
key_usage_ec = ["digitalSignature"]
extended_key_usage = ["serverAuth"]
policies = ["2.23.140.1.2.1"]

[subject]
attributes = ["CN"]
common_name = "first-name"

[names]
kind = "dns"
min = 1
max = 100
"#;
    let mut profile = parse_profile("(built-in service TLS profile)", TEXT)?;
    profile.id = ProfileId(SERVICE_TLS_PROFILE_ID);
    profile.terms = vec![crate::lint::tls_max_validity_days(now) - 1];
    Ok(profile)
}

/// The id of [`service_tls_profile`].
pub const SERVICE_TLS_PROFILE_ID: i64 = 0;

/// Longest term any profile of a type may offer, in days (the industry maxima:
/// TLS 398 before the 2026 reductions, S/MIME 825, code signing 460). The date-dependent
/// TLS limits are enforced again by the lint `e_tls_validity_too_long` at issuance.
pub fn max_term_days(certificate_type: CertificateType) -> u32 {
    match certificate_type {
        CertificateType::Ssl => 398,
        CertificateType::Smime => 825,
        CertificateType::CodeSign => 460,
    }
}

/// A subject attribute a profile may ask for, with the source it is filled from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SubjectAttribute {
    /// `C` from the organisation.
    Country,
    /// `ST` from the organisation.
    State,
    /// `L` from the organisation.
    Locality,
    /// `street` from the organisation.
    Street,
    /// `postalCode` from the organisation.
    PostalCode,
    /// `O` from the organisation (its secondary name when the profile says so).
    Organization,
    /// `CN`, by the profile's common-name rule.
    CommonName,
    /// `serialNumber` from the organisation's EV details (registration number).
    SerialNumber,
    /// `businessCategory` from the EV details.
    BusinessCategory,
    /// `jurisdictionC` from the EV details.
    JurisdictionCountry,
    /// `jurisdictionST` from the EV details.
    JurisdictionState,
    /// `jurisdictionL` from the EV details.
    JurisdictionLocality,
    /// `givenName` from the person.
    GivenName,
    /// `SN` (surname) from the person.
    Surname,
    /// `emailAddress` from the person.
    EmailAddress,
    /// `organizationIdentifier` from the organisation (e.g. `NTRGB-RC000123`).
    OrganizationIdentifier,
    /// `pseudonym`: the robot name chosen as common name (IGTF robots).
    Pseudonym,
}

impl SubjectAttribute {
    const ALL: [SubjectAttribute; 17] = [
        SubjectAttribute::Country,
        SubjectAttribute::State,
        SubjectAttribute::Locality,
        SubjectAttribute::Street,
        SubjectAttribute::PostalCode,
        SubjectAttribute::Organization,
        SubjectAttribute::CommonName,
        SubjectAttribute::SerialNumber,
        SubjectAttribute::BusinessCategory,
        SubjectAttribute::JurisdictionCountry,
        SubjectAttribute::JurisdictionState,
        SubjectAttribute::JurisdictionLocality,
        SubjectAttribute::GivenName,
        SubjectAttribute::Surname,
        SubjectAttribute::EmailAddress,
        SubjectAttribute::OrganizationIdentifier,
        SubjectAttribute::Pseudonym,
    ];

    /// The short name used in profiles (as OpenSSL writes DNs).
    pub fn short_name(self) -> &'static str {
        match self {
            SubjectAttribute::Country => "C",
            SubjectAttribute::State => "ST",
            SubjectAttribute::Locality => "L",
            SubjectAttribute::Street => "street",
            SubjectAttribute::PostalCode => "postalCode",
            SubjectAttribute::Organization => "O",
            SubjectAttribute::CommonName => "CN",
            SubjectAttribute::SerialNumber => "serialNumber",
            SubjectAttribute::BusinessCategory => "businessCategory",
            SubjectAttribute::JurisdictionCountry => "jurisdictionC",
            SubjectAttribute::JurisdictionState => "jurisdictionST",
            SubjectAttribute::JurisdictionLocality => "jurisdictionL",
            SubjectAttribute::GivenName => "givenName",
            SubjectAttribute::Surname => "SN",
            SubjectAttribute::EmailAddress => "emailAddress",
            SubjectAttribute::OrganizationIdentifier => "organizationIdentifier",
            SubjectAttribute::Pseudonym => "pseudonym",
        }
    }

    /// The attribute type OID.
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            SubjectAttribute::Country => oids::COUNTRY_NAME,
            SubjectAttribute::State => oids::STATE_OR_PROVINCE_NAME,
            SubjectAttribute::Locality => oids::LOCALITY_NAME,
            SubjectAttribute::Street => oids::STREET_ADDRESS,
            SubjectAttribute::PostalCode => oids::POSTAL_CODE,
            SubjectAttribute::Organization => oids::ORGANIZATION_NAME,
            SubjectAttribute::CommonName => oids::COMMON_NAME,
            SubjectAttribute::SerialNumber => oids::SERIAL_NUMBER,
            SubjectAttribute::BusinessCategory => oids::BUSINESS_CATEGORY,
            SubjectAttribute::JurisdictionCountry => oids::JURISDICTION_COUNTRY,
            SubjectAttribute::JurisdictionState => oids::JURISDICTION_STATE,
            SubjectAttribute::JurisdictionLocality => oids::JURISDICTION_LOCALITY,
            SubjectAttribute::GivenName => oids::GIVEN_NAME,
            SubjectAttribute::Surname => oids::SURNAME,
            SubjectAttribute::EmailAddress => oids::EMAIL_ADDRESS,
            SubjectAttribute::OrganizationIdentifier => oids::ORGANIZATION_IDENTIFIER,
            SubjectAttribute::Pseudonym => oids::PSEUDONYM,
        }
    }

    fn parse(s: &str) -> Option<SubjectAttribute> {
        SubjectAttribute::ALL
            .into_iter()
            .find(|a| a.short_name().eq_ignore_ascii_case(s))
    }
}

/// Where the certificate's common name comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CommonNameRule {
    /// The first requested name (the CSR's CN when it is one of the names): TLS.
    FirstName,
    /// The person's full name: personal client certificates.
    Person,
    /// "Robot - " and the person's name: IGTF robot certificates.
    Robot,
    /// The organisation's name: code signing.
    Organization,
}

/// What kind of names go into the subjectAltName.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NameKind {
    /// DNS names (TLS).
    Dns,
    /// E-mail addresses (S/MIME).
    Email,
    /// No subjectAltName (code signing).
    None,
}

/// What a profile says about wildcard names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WildcardRule {
    /// No `*.` names.
    Forbidden,
    /// `*.` names may be among the names.
    Allowed,
    /// The first name (the CN) must be a `*.` name.
    Required,
}

/// Which CA hierarchy signs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IssuerChoice {
    /// RSA keys go to the RSA hierarchy, ECDSA keys to the ECC one.
    KeyType,
    /// Always the RSA hierarchy.
    Rsa,
    /// Always the ECC hierarchy.
    Ecc,
}

/// SAN rules of a profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameRules {
    /// Kind of names.
    pub kind: NameKind,
    /// Fewest names a request must carry.
    pub min: usize,
    /// Most names a request may carry (before the automatic `www.` name).
    pub max: usize,
    /// Wildcards.
    pub wildcard: WildcardRule,
    /// For a single hostname, add `www.<name>` (or the bare name for `www.` names), as SCM
    /// does for OV SSL and EV SSL.
    pub add_www: bool,
}

/// A validated certificate profile.
#[derive(Clone, Debug)]
pub struct Profile {
    /// SCM `certType` id (unique).
    pub id: ProfileId,
    /// Name shown everywhere (unique).
    pub name: String,
    /// One line for the portal and `/ssl/v1/types`.
    pub description: String,
    /// SSL / SMIME / CodeSign.
    pub certificate_type: CertificateType,
    /// OV / EV / IGTF / sponsor / organization.
    pub validation_level: ValidationLevel,
    /// Allowed terms in days, ascending.
    pub terms: Vec<u32>,
    /// Allowed RSA modulus sizes in bits.
    pub rsa_sizes: Vec<u32>,
    /// Allowed ECDSA curves.
    pub ec_curves: Vec<KeyType>,
    /// keyUsage bits for RSA keys.
    pub key_usage_rsa: FlagSet<KeyUsages>,
    /// keyUsage bits for ECDSA keys.
    pub key_usage_ec: FlagSet<KeyUsages>,
    /// extendedKeyUsage OIDs.
    pub extended_key_usage: Vec<ObjectIdentifier>,
    /// certificatePolicies OIDs.
    pub policies: Vec<ObjectIdentifier>,
    /// Subject attributes, in DN order; each is included when its source has a value.
    pub subject: Vec<SubjectAttribute>,
    /// Subject attributes whose absence refuses the request.
    pub subject_required: Vec<SubjectAttribute>,
    /// Use the organisation's secondary name for `O` (IGTF).
    pub use_secondary_org_name: bool,
    /// Where `CN` comes from.
    pub common_name: CommonNameRule,
    /// SAN rules.
    pub names: NameRules,
    /// Requests wait for an administrator's approval even when the requester could
    /// auto-approve.
    pub approval_required: bool,
    /// Approval needs a second administrator (EV and the EV Anchor).
    pub second_approval_required: bool,
    /// A validation record only (the EV Anchor): never produces a usable certificate.
    pub validation_only: bool,
    /// Which hierarchy signs.
    pub issuer: IssuerChoice,
    /// The file the profile came from, for error messages.
    pub source: String,
}

impl Profile {
    /// Whether `key_type` is allowed by this profile.
    pub fn allows_key(&self, key_type: KeyType) -> bool {
        match key_type {
            KeyType::Rsa(bits) => self.rsa_sizes.contains(&bits),
            other => self.ec_curves.contains(&other),
        }
    }

    /// The allowed key types, for messages and SCM's `keyTypes`.
    pub fn allowed_keys(&self) -> Vec<KeyType> {
        self.rsa_sizes
            .iter()
            .map(|bits| KeyType::Rsa(*bits))
            .chain(self.ec_curves.iter().copied())
            .collect()
    }

    /// The hierarchy that signs a key of `key_type` under this profile.
    pub fn hierarchy_for(&self, key_type: KeyType) -> Hierarchy {
        match self.issuer {
            IssuerChoice::Rsa => Hierarchy::Rsa,
            IssuerChoice::Ecc => Hierarchy::Ecc,
            IssuerChoice::KeyType if key_type.is_rsa() => Hierarchy::Rsa,
            IssuerChoice::KeyType => Hierarchy::Ecc,
        }
    }

    /// The keyUsage bits for a key of `key_type`.
    pub fn key_usage_for(&self, key_type: KeyType) -> FlagSet<KeyUsages> {
        if key_type.is_rsa() {
            self.key_usage_rsa
        } else {
            self.key_usage_ec
        }
    }

    /// Refuses a term the profile does not offer.
    pub fn check_term(&self, term_days: u32) -> Result<()> {
        if self.terms.contains(&term_days) {
            return Ok(());
        }
        Err(PkiError::ProfileRule {
            profile: self.name.clone(),
            rule: "term",
            detail: format!(
                "a term of {term_days} days is not allowed; allowed terms: {} days",
                join(&self.terms)
            ),
        })
    }

    /// Refuses a key type the profile does not allow.
    pub fn check_key(&self, key_type: KeyType) -> Result<()> {
        if self.allows_key(key_type) {
            return Ok(());
        }
        let allowed: Vec<String> = self.allowed_keys().iter().map(|k| k.to_string()).collect();
        Err(PkiError::ProfileRule {
            profile: self.name.clone(),
            rule: "key-type",
            detail: format!(
                "a key of type {key_type} is not allowed; allowed keys: {}",
                allowed.join(", ")
            ),
        })
    }
}

fn join<T: ToString>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

// ---------------------------------------------------------------------------------------
// The file format.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    id: i64,
    name: String,
    #[serde(default)]
    description: String,
    certificate_type: CertificateType,
    validation_level: ValidationLevel,
    terms: Vec<u32>,
    #[serde(default)]
    approval_required: bool,
    #[serde(default)]
    second_approval_required: bool,
    #[serde(default)]
    validation_only: bool,
    #[serde(default = "default_issuer")]
    issuer: IssuerChoice,
    keys: RawKeys,
    extensions: RawExtensions,
    subject: RawSubject,
    names: RawNames,
}

fn default_issuer() -> IssuerChoice {
    IssuerChoice::KeyType
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKeys {
    #[serde(default)]
    rsa: Vec<u32>,
    #[serde(default)]
    ec: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExtensions {
    key_usage_rsa: Vec<String>,
    key_usage_ec: Vec<String>,
    extended_key_usage: Vec<String>,
    policies: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSubject {
    attributes: Vec<String>,
    #[serde(default)]
    required: Vec<String>,
    #[serde(default)]
    use_secondary_org_name: bool,
    common_name: CommonNameRule,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNames {
    kind: NameKind,
    #[serde(default)]
    min: usize,
    #[serde(default)]
    max: usize,
    #[serde(default = "default_wildcard")]
    wildcard: WildcardRule,
    #[serde(default)]
    add_www: bool,
}

fn default_wildcard() -> WildcardRule {
    WildcardRule::Forbidden
}

/// Parses and validates one profile file's text.
pub fn parse_profile(source: &str, text: &str) -> Result<Profile> {
    let invalid = |key: &str, reason: String| PkiError::InvalidProfile {
        file: source.to_owned(),
        key: key.to_owned(),
        reason,
    };
    let raw: RawProfile = toml::from_str(text)
        .map_err(|e| invalid("(file)", e.to_string().replace('\n', " ").trim().to_owned()))?;

    if raw.id <= 0 {
        return Err(invalid(
            "id",
            format!("must be a positive number, got {}", raw.id),
        ));
    }
    if raw.name.trim().is_empty() {
        return Err(invalid("name", "must not be empty".into()));
    }
    let ty = raw.certificate_type;

    // Terms.
    let mut terms = raw.terms.clone();
    terms.sort_unstable();
    terms.dedup();
    if terms.is_empty() {
        return Err(invalid(
            "terms",
            "must list at least one term in days".into(),
        ));
    }
    let max = max_term_days(ty);
    if let Some(bad) = terms.iter().find(|t| **t == 0 || **t > max) {
        return Err(invalid(
            "terms",
            format!(
                "{bad} days is outside 1..={max}, the longest term a {ty} certificate may have"
            ),
        ));
    }

    // Keys.
    let mut rsa_sizes = raw.keys.rsa.clone();
    rsa_sizes.sort_unstable();
    rsa_sizes.dedup();
    if let Some(bad) = rsa_sizes.iter().find(|b| {
        **b < crate::keys::RSA_MIN_BITS || **b > crate::keys::RSA_MAX_BITS || !b.is_multiple_of(8)
    }) {
        return Err(invalid(
            "keys.rsa",
            format!("{bad} is not an RSA size Castellan accepts (2048 to 8192, a multiple of 8)"),
        ));
    }
    let mut ec_curves = Vec::new();
    for curve in &raw.keys.ec {
        match curve.to_ascii_uppercase().as_str() {
            "P-256" | "P256" => ec_curves.push(KeyType::EcP256),
            "P-384" | "P384" => ec_curves.push(KeyType::EcP384),
            _ => {
                return Err(invalid(
                    "keys.ec",
                    format!("'{curve}' is not a supported curve (P-256, P-384)"),
                ));
            }
        }
    }
    ec_curves.dedup();
    if rsa_sizes.is_empty() && ec_curves.is_empty() {
        return Err(invalid(
            "keys",
            "must allow at least one RSA size or EC curve".into(),
        ));
    }

    // Extensions.
    let key_usage_rsa = parse_key_usage(&raw.extensions.key_usage_rsa)
        .map_err(|r| invalid("extensions.key_usage_rsa", r))?;
    let key_usage_ec = parse_key_usage(&raw.extensions.key_usage_ec)
        .map_err(|r| invalid("extensions.key_usage_ec", r))?;
    for (key, usage) in [
        ("extensions.key_usage_rsa", key_usage_rsa),
        ("extensions.key_usage_ec", key_usage_ec),
    ] {
        if usage.is_empty() {
            return Err(invalid(key, "must list at least one key usage".into()));
        }
        if usage.contains(KeyUsages::KeyCertSign) || usage.contains(KeyUsages::CRLSign) {
            return Err(invalid(
                key,
                "keyCertSign and cRLSign are for CA certificates, not for leaves".into(),
            ));
        }
    }
    if key_usage_ec.contains(KeyUsages::KeyEncipherment) {
        return Err(invalid(
            "extensions.key_usage_ec",
            "keyEncipherment is meaningless for ECDSA keys; use keyAgreement".into(),
        ));
    }
    let extended_key_usage = raw
        .extensions
        .extended_key_usage
        .iter()
        .map(|s| parse_eku(s))
        .collect::<std::result::Result<Vec<_>, String>>()
        .map_err(|r| invalid("extensions.extended_key_usage", r))?;
    if extended_key_usage.contains(&oids::ANY_EXTENDED_KEY_USAGE) {
        return Err(invalid(
            "extensions.extended_key_usage",
            "anyExtendedKeyUsage is not allowed in leaves".into(),
        ));
    }
    let needed_eku = match ty {
        CertificateType::Ssl => ("serverAuth", oids::KP_SERVER_AUTH),
        CertificateType::Smime => ("emailProtection", oids::KP_EMAIL_PROTECTION),
        CertificateType::CodeSign => ("codeSigning", oids::KP_CODE_SIGNING),
    };
    if !extended_key_usage.contains(&needed_eku.1) {
        return Err(invalid(
            "extensions.extended_key_usage",
            format!("a {ty} profile must include {}", needed_eku.0),
        ));
    }
    let policies = raw
        .extensions
        .policies
        .iter()
        .map(|s| ObjectIdentifier::new(s.trim()).map_err(|_| format!("'{s}' is not a dotted OID")))
        .collect::<std::result::Result<Vec<_>, String>>()
        .map_err(|r| invalid("extensions.policies", r))?;
    check_policies(ty, raw.validation_level, &policies)
        .map_err(|r| invalid("extensions.policies", r))?;

    // Subject.
    let subject =
        parse_attributes(&raw.subject.attributes).map_err(|r| invalid("subject.attributes", r))?;
    let subject_required =
        parse_attributes(&raw.subject.required).map_err(|r| invalid("subject.required", r))?;
    if let Some(missing) = subject_required.iter().find(|a| !subject.contains(a)) {
        return Err(invalid(
            "subject.required",
            format!(
                "'{}' is required but not in subject.attributes",
                missing.short_name()
            ),
        ));
    }
    if raw.subject.use_secondary_org_name && !subject.contains(&SubjectAttribute::Organization) {
        return Err(invalid(
            "subject.use_secondary_org_name",
            "is set but subject.attributes has no 'O'".into(),
        ));
    }

    // Names.
    let expected_kind = match ty {
        CertificateType::Ssl => NameKind::Dns,
        CertificateType::Smime => NameKind::Email,
        CertificateType::CodeSign => NameKind::None,
    };
    if raw.names.kind != expected_kind {
        return Err(invalid(
            "names.kind",
            format!(
                "a {ty} profile must use names.kind = \"{}\"",
                kind_name(expected_kind)
            ),
        ));
    }
    let (min, max) = (raw.names.min, raw.names.max);
    if raw.names.kind != NameKind::None && (min == 0 || max < min) {
        return Err(invalid(
            "names",
            format!("min ({min}) must be at least 1 and max ({max}) at least min"),
        ));
    }
    if raw.names.kind != NameKind::Dns
        && (raw.names.add_www || raw.names.wildcard != WildcardRule::Forbidden)
    {
        return Err(invalid(
            "names",
            "add_www and wildcard apply only to DNS names".into(),
        ));
    }
    if raw.names.add_www && max != 1 {
        return Err(invalid(
            "names.add_www",
            "applies only to single-name profiles (max = 1)".into(),
        ));
    }
    if raw.validation_only
        && !(ty == CertificateType::Ssl && raw.validation_level == ValidationLevel::Ev)
    {
        return Err(invalid(
            "validation_only",
            "only an SSL EV profile (the EV Anchor) can be validation-only".into(),
        ));
    }

    Ok(Profile {
        id: ProfileId(raw.id),
        name: raw.name.trim().to_owned(),
        description: raw.description.trim().to_owned(),
        certificate_type: ty,
        validation_level: raw.validation_level,
        terms,
        rsa_sizes,
        ec_curves,
        key_usage_rsa,
        key_usage_ec,
        extended_key_usage,
        policies,
        subject,
        subject_required,
        use_secondary_org_name: raw.subject.use_secondary_org_name,
        common_name: raw.subject.common_name,
        names: NameRules {
            kind: raw.names.kind,
            min,
            max,
            wildcard: raw.names.wildcard,
            add_www: raw.names.add_www,
        },
        approval_required: raw.approval_required || raw.second_approval_required,
        second_approval_required: raw.second_approval_required,
        validation_only: raw.validation_only,
        issuer: raw.issuer,
        source: source.to_owned(),
    })
}

fn kind_name(kind: NameKind) -> &'static str {
    match kind {
        NameKind::Dns => "dns",
        NameKind::Email => "email",
        NameKind::None => "none",
    }
}

fn parse_key_usage(names: &[String]) -> std::result::Result<FlagSet<KeyUsages>, String> {
    let mut set = FlagSet::<KeyUsages>::default();
    for name in names {
        set |= match name.as_str() {
            "digitalSignature" => KeyUsages::DigitalSignature,
            "nonRepudiation" | "contentCommitment" => KeyUsages::NonRepudiation,
            "keyEncipherment" => KeyUsages::KeyEncipherment,
            "dataEncipherment" => KeyUsages::DataEncipherment,
            "keyAgreement" => KeyUsages::KeyAgreement,
            "keyCertSign" => KeyUsages::KeyCertSign,
            "cRLSign" => KeyUsages::CRLSign,
            other => {
                return Err(format!(
                    "'{other}' is not a key usage (digitalSignature, nonRepudiation, \
                     keyEncipherment, dataEncipherment, keyAgreement)"
                ));
            }
        };
    }
    Ok(set)
}

fn parse_eku(name: &str) -> std::result::Result<ObjectIdentifier, String> {
    Ok(match name {
        "serverAuth" => oids::KP_SERVER_AUTH,
        "clientAuth" => oids::KP_CLIENT_AUTH,
        "codeSigning" => oids::KP_CODE_SIGNING,
        "emailProtection" => oids::KP_EMAIL_PROTECTION,
        other => ObjectIdentifier::new(other).map_err(|_| {
            format!(
                "'{other}' is neither a known EKU name (serverAuth, clientAuth, codeSigning, \
                 emailProtection) nor a dotted OID"
            )
        })?,
    })
}

fn parse_attributes(names: &[String]) -> std::result::Result<Vec<SubjectAttribute>, String> {
    let mut out = Vec::new();
    for name in names {
        let attr = SubjectAttribute::parse(name).ok_or_else(|| {
            let known: Vec<&str> = SubjectAttribute::ALL
                .iter()
                .map(|a| a.short_name())
                .collect();
            format!("'{name}' is not a subject attribute ({})", known.join(", "))
        })?;
        if out.contains(&attr) {
            return Err(format!("'{name}' is listed twice"));
        }
        out.push(attr);
    }
    Ok(out)
}

/// TLS profiles must carry exactly the CA/B Forum policy OID of their validation level, so
/// relying parties (and pkilint) see the level that was actually checked.
fn check_policies(
    ty: CertificateType,
    level: ValidationLevel,
    policies: &[ObjectIdentifier],
) -> std::result::Result<(), String> {
    if policies.is_empty() {
        return Err("must list at least one policy OID".into());
    }
    match ty {
        CertificateType::Ssl => {
            let reserved = [oids::CABF_DV, oids::CABF_OV, oids::CABF_IV, oids::CABF_EV];
            let present: Vec<_> = policies.iter().filter(|p| reserved.contains(p)).collect();
            let expected = match level {
                ValidationLevel::Dv => oids::CABF_DV,
                ValidationLevel::Ev => oids::CABF_EV,
                ValidationLevel::Ov | ValidationLevel::Igtf => oids::CABF_OV,
                other => {
                    return Err(format!(
                        "validation level {} is not a TLS level (DV, OV, EV, IGTF)",
                        other.display_name()
                    ));
                }
            };
            if present.as_slice() != [&expected] {
                return Err(format!(
                    "a {} TLS profile must carry exactly one CA/B Forum policy OID, {expected}",
                    level.display_name()
                ));
            }
        }
        CertificateType::Smime => {
            let validation = match level {
                ValidationLevel::SponsorValidated => 3,
                ValidationLevel::OrganizationValidated => 2,
                other => {
                    return Err(format!(
                        "validation level {} is not an S/MIME level (sponsor, organization)",
                        other.display_name()
                    ));
                }
            };
            let ok = policies.iter().any(|p| {
                (1..=3)
                    .any(|generation| oids::cabf_smime(validation, generation).as_ref() == Some(p))
            });
            if !ok {
                return Err(format!(
                    "a {} S/MIME profile must carry a CA/B Forum policy 2.23.140.1.5.{validation}.x",
                    level.display_name()
                ));
            }
        }
        CertificateType::CodeSign => {
            if !policies.contains(&oids::CABF_CODE_SIGNING) {
                return Err(format!(
                    "a code signing profile must carry {}",
                    oids::CABF_CODE_SIGNING
                ));
            }
        }
    }
    Ok(())
}

/// Every loaded profile, looked up by id or name.
#[derive(Clone, Debug, Default)]
pub struct ProfileSet {
    by_id: BTreeMap<ProfileId, Profile>,
}

impl ProfileSet {
    /// Builds a set from `(source, text)` pairs, refusing duplicate ids or names.
    pub fn from_sources<'a>(
        sources: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<ProfileSet> {
        let mut set = ProfileSet::default();
        for (source, text) in sources {
            set.insert(parse_profile(source, text)?)?;
        }
        if set.by_id.is_empty() {
            return Err(PkiError::InvalidProfile {
                file: "(profiles)".into(),
                key: "(none)".into(),
                reason: "no certificate profiles were found".into(),
            });
        }
        Ok(set)
    }

    /// The profiles Castellan ships.
    pub fn defaults() -> Result<ProfileSet> {
        ProfileSet::from_sources(DEFAULT_PROFILES.iter().copied())
    }

    /// Loads every `*.toml` file in `dir`.
    pub fn load_dir(dir: &Path) -> Result<ProfileSet> {
        let unreadable = |reason: String| PkiError::InvalidProfile {
            file: dir.display().to_string(),
            key: "(directory)".into(),
            reason,
        };
        let entries = std::fs::read_dir(dir).map_err(|e| unreadable(e.to_string()))?;
        let mut files = Vec::new();
        for entry in entries {
            let path = entry.map_err(|e| unreadable(e.to_string()))?.path();
            if path.extension().is_some_and(|ext| ext == "toml") {
                let text =
                    std::fs::read_to_string(&path).map_err(|e| PkiError::InvalidProfile {
                        file: path.display().to_string(),
                        key: "(file)".into(),
                        reason: e.to_string(),
                    })?;
                files.push((path.display().to_string(), text));
            }
        }
        files.sort();
        ProfileSet::from_sources(files.iter().map(|(p, t)| (p.as_str(), t.as_str())))
    }

    fn insert(&mut self, profile: Profile) -> Result<()> {
        if let Some(existing) = self.by_id.get(&profile.id) {
            return Err(PkiError::InvalidProfile {
                file: profile.source.clone(),
                key: "id".into(),
                reason: format!("id {} is already used by {}", profile.id, existing.source),
            });
        }
        if let Some(existing) = self.by_name(&profile.name) {
            return Err(PkiError::InvalidProfile {
                file: profile.source.clone(),
                key: "name".into(),
                reason: format!(
                    "name '{}' is already used by {}",
                    profile.name, existing.source
                ),
            });
        }
        self.by_id.insert(profile.id, profile);
        Ok(())
    }

    /// The profile with this id.
    pub fn by_id(&self, id: ProfileId) -> Option<&Profile> {
        self.by_id.get(&id)
    }

    /// The profile with this name (case-insensitive).
    pub fn by_name(&self, name: &str) -> Option<&Profile> {
        self.by_id
            .values()
            .find(|p| p.name.eq_ignore_ascii_case(name.trim()))
    }

    /// Looks a profile up by name, or by id when `key` is a number.
    pub fn find(&self, key: &str) -> Option<&Profile> {
        self.by_name(key).or_else(|| {
            key.trim()
                .parse::<i64>()
                .ok()
                .and_then(|id| self.by_id(ProfileId(id)))
        })
    }

    /// Every profile, by id.
    pub fn iter(&self) -> impl Iterator<Item = &Profile> {
        self.by_id.values()
    }

    /// Number of profiles.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_profiles_load() {
        let set = ProfileSet::defaults().unwrap();
        assert_eq!(set.len(), DEFAULT_PROFILES.len());
        let ov = set.by_name("ov ssl").unwrap();
        assert!(ov.names.add_www);
        assert_eq!(set.find(&ov.id.to_string()).unwrap().name, ov.name);
    }

    fn ov_text() -> &'static str {
        DEFAULT_PROFILES[0].1
    }

    #[test]
    fn bad_values_name_the_key() {
        let text = ov_text().replace("terms = [", "terms = [9999, ");
        let err = parse_profile("bad.toml", &text).unwrap_err().to_string();
        assert!(
            err.contains("bad.toml") && err.contains("terms") && err.contains("9999"),
            "{err}"
        );

        let text = ov_text().replace("\"serverAuth\"", "\"flyingAuth\"");
        let err = parse_profile("bad.toml", &text).unwrap_err().to_string();
        assert!(
            err.contains("extensions.extended_key_usage") && err.contains("flyingAuth"),
            "{err}"
        );

        let text = format!("{}\nsurprise = 1\n", ov_text());
        let err = parse_profile("bad.toml", &text).unwrap_err().to_string();
        assert!(err.contains("surprise"), "{err}");
    }

    #[test]
    fn duplicate_ids_are_refused() {
        let err = ProfileSet::from_sources([("a.toml", ov_text()), ("b.toml", ov_text())])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("b.toml") && err.contains("already used by a.toml"),
            "{err}"
        );
    }
}
