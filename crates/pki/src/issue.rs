//! Issuing a leaf certificate from a checked request: subject from the profile's rules,
//! extensions from the profile, validity from the term, the pre-issuance lints, then the
//! signature. Everything is checked before anything is signed.

use crate::keys::{self, PublicKey};
use crate::lint;
use crate::names::CertificateNames;
use crate::profile::Profile;
use crate::serial::Serial;
use crate::signer::Signer;
use crate::subject::{self, SubjectInputs};
use crate::{PkiError, Result, oids, x509};
use castellan_model::{KeyType, OrganizationDetails, PersonDetails};
use der::asn1::{Ia5String, OctetString};
use der::{Decode, Encode};
use spki::SubjectPublicKeyInfoOwned;
use std::sync::Arc;
use time::OffsetDateTime;
use x509_cert::builder::CertificateBuilder;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::certificate::TbsCertificate;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::crl::dp::DistributionPoint;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{
    AccessDescription, AuthorityInfoAccessSyntax, AuthorityKeyIdentifier, BasicConstraints,
    CertificatePolicies, CrlDistributionPoints, ExtendedKeyUsage, KeyUsage, SubjectAltName,
    SubjectKeyIdentifier, certpolicy::PolicyInformation,
};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

/// Where relying parties find a CA's revocation status and certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaUrls {
    /// The OCSP responder (AIA id-ad-ocsp).
    pub ocsp: String,
    /// The CA certificate (AIA id-ad-caIssuers).
    pub ca_issuers: String,
    /// The CRL (cRLDistributionPoints).
    pub crl: String,
}

/// An issuing CA ready to sign: its signer, certificate and URLs.
pub struct IssuingCa {
    signer: Arc<dyn Signer>,
    certificate_der: Vec<u8>,
    subject: Name,
    key_identifier: Vec<u8>,
    not_after: i64,
    urls: CaUrls,
    ca_key_hashes: Vec<[u8; 32]>,
}

impl std::fmt::Debug for IssuingCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IssuingCa({})", self.subject)
    }
}

impl IssuingCa {
    /// Wraps a CA certificate and the signer of its key. `ca_key_hashes` are the SHA-256
    /// SPKI hashes of every CA key Castellan holds: subscribers may not present any of them.
    pub fn new(
        signer: Arc<dyn Signer>,
        certificate_der: Vec<u8>,
        urls: CaUrls,
        ca_key_hashes: Vec<[u8; 32]>,
    ) -> Result<IssuingCa> {
        let cert =
            x509_cert::Certificate::from_der(&certificate_der).map_err(PkiError::encoding)?;
        let tbs = cert.tbs_certificate();
        let cert_spki = tbs
            .subject_public_key_info()
            .to_der()
            .map_err(PkiError::encoding)?;
        if cert_spki != signer.spki_der() {
            return Err(PkiError::KeyEncryption(format!(
                "the key for CA '{}' does not match its certificate",
                tbs.subject()
            )));
        }
        let key_identifier = match tbs.get_extension::<SubjectKeyIdentifier>() {
            Ok(Some((_, ski))) => ski.0.as_bytes().to_vec(),
            _ => PublicKey {
                key_type: signer.key_type(),
                spki_der: cert_spki.clone(),
            }
            .key_identifier()?,
        };
        let not_after = tbs.validity().not_after.to_unix_duration().as_secs() as i64;
        Ok(IssuingCa {
            subject: tbs.subject().clone(),
            signer,
            certificate_der,
            key_identifier,
            not_after,
            urls,
            ca_key_hashes,
        })
    }

    /// The CA certificate, DER.
    pub fn certificate_der(&self) -> &[u8] {
        &self.certificate_der
    }

    /// The CA's subject.
    pub fn subject(&self) -> &Name {
        &self.subject
    }

    /// The signer.
    pub fn signer(&self) -> &Arc<dyn Signer> {
        &self.signer
    }

    /// notAfter of the CA certificate, Unix seconds.
    pub fn not_after(&self) -> i64 {
        self.not_after
    }

    /// Its URLs.
    pub fn urls(&self) -> &CaUrls {
        &self.urls
    }

    /// Refuses a subscriber key that is one of Castellan's CA keys.
    pub fn refuse_ca_key(&self, key: &PublicKey) -> Result<()> {
        if self.ca_key_hashes.contains(&key.spki_sha256()) {
            return Err(PkiError::KeyPolicy {
                rule: "ca-key-reuse",
                detail: "the request's public key is a key of this certificate authority; \
                         generate a new key pair for the certificate"
                    .into(),
            });
        }
        Ok(())
    }
}

/// Everything about a leaf except the serial and the CA.
#[derive(Clone, Copy, Debug)]
pub struct LeafRequest<'a> {
    /// The profile.
    pub profile: &'a Profile,
    /// The subscriber key (already through the key policy).
    pub public_key: &'a PublicKey,
    /// The names, after the profile's SAN rules.
    pub names: &'a CertificateNames,
    /// The organisation (subject fields, per the profile).
    pub organization: Option<&'a OrganizationDetails>,
    /// The person (client certificates).
    pub person: Option<&'a PersonDetails>,
    /// The term in days.
    pub term_days: u32,
    /// notBefore.
    pub not_before: OffsetDateTime,
}

/// A signed leaf.
#[derive(Clone, Debug)]
pub struct IssuedLeaf {
    /// The certificate, DER.
    pub der: Vec<u8>,
    /// Its serial.
    pub serial: Serial,
    /// The subject as RFC 4514 text.
    pub subject: String,
    /// notBefore, Unix seconds.
    pub not_before: i64,
    /// notAfter, Unix seconds.
    pub not_after: i64,
    /// The key type.
    pub key_type: KeyType,
    /// SHA-256 of the SubjectPublicKeyInfo, hex.
    pub spki_sha256: String,
    /// SHA-256 fingerprint of the certificate, hex.
    pub sha256_fingerprint: String,
    /// SHA-1 fingerprint of the certificate, hex (SCM shows it).
    pub sha1_fingerprint: String,
}

/// Checks everything about `request` that does not need the CA: profile, term, key.
pub fn check_request(request: &LeafRequest<'_>) -> Result<()> {
    let profile = request.profile;
    if profile.validation_only {
        return Err(PkiError::ProfileRule {
            profile: profile.name.clone(),
            rule: "validation-only",
            detail: "this profile records which domains are covered by EV validation and never \
                     produces a usable certificate; choose an EV SSL profile to get a certificate"
                .into(),
        });
    }
    profile.check_term(request.term_days)?;
    profile.check_key(request.public_key.key_type)?;
    Ok(())
}

/// The builder profile Castellan uses: issuer, subject and extensions precomputed.
pub(crate) struct CertificateLayout {
    pub(crate) issuer: Name,
    pub(crate) subject: Name,
    pub(crate) extensions: Vec<Extension>,
}

impl BuilderProfile for CertificateLayout {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        _spk: spki::SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: spki::SubjectPublicKeyInfoRef<'_>,
        _tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        Ok(self.extensions.clone())
    }
}

pub(crate) fn validity(not_before: OffsetDateTime, days: u32) -> Result<(Validity, i64, i64)> {
    let start = not_before.unix_timestamp();
    // The validity period counts both ends (RFC 5280), so `days` days end one second early.
    let end = start + i64::from(days) * 86_400 - 1;
    let to_time = |secs: i64| -> Result<Time> {
        let secs =
            u64::try_from(secs).map_err(|_| PkiError::Encoding("time before 1970".into()))?;
        let dt = der::DateTime::from_unix_duration(std::time::Duration::from_secs(secs))
            .map_err(PkiError::encoding)?;
        Ok(Time::from(dt))
    };
    Ok((Validity::new(to_time(start)?, to_time(end)?), start, end))
}

pub(crate) fn ia5(s: &str) -> Result<Ia5String> {
    Ia5String::new(s).map_err(|_| PkiError::Encoding(format!("'{s}' is not ASCII")))
}

pub(crate) fn uri(s: &str) -> Result<GeneralName> {
    Ok(GeneralName::UniformResourceIdentifier(ia5(s)?))
}

pub(crate) fn aki(key_identifier: &[u8]) -> Result<AuthorityKeyIdentifier> {
    Ok(AuthorityKeyIdentifier {
        key_identifier: Some(OctetString::new(key_identifier).map_err(PkiError::encoding)?),
        authority_cert_issuer: None,
        authority_cert_serial_number: None,
    })
}

pub(crate) fn ski(key: &PublicKey) -> Result<SubjectKeyIdentifier> {
    Ok(SubjectKeyIdentifier(
        OctetString::new(key.key_identifier()?).map_err(PkiError::encoding)?,
    ))
}

pub(crate) fn crl_dp(url: &str) -> Result<CrlDistributionPoints> {
    Ok(CrlDistributionPoints(vec![DistributionPoint {
        distribution_point: Some(DistributionPointName::FullName(vec![uri(url)?])),
        reasons: None,
        crl_issuer: None,
    }]))
}

fn leaf_extensions(
    ca: &IssuingCa,
    request: &LeafRequest<'_>,
    subject_empty: bool,
    crl_url: &str,
) -> Result<Vec<Extension>> {
    let profile = request.profile;
    let key_type = request.public_key.key_type;
    let mut exts = vec![
        x509::extension(
            true,
            &BasicConstraints {
                ca: false,
                path_len_constraint: None,
            },
        )?,
        x509::extension(true, &KeyUsage(profile.key_usage_for(key_type)))?,
        x509::extension(false, &ExtendedKeyUsage(profile.extended_key_usage.clone()))?,
        x509::extension(false, &aki(&ca.key_identifier)?)?,
        x509::extension(false, &ski(request.public_key)?)?,
        x509::extension(
            false,
            &AuthorityInfoAccessSyntax(vec![
                AccessDescription {
                    access_method: oids::AD_OCSP,
                    access_location: uri(&ca.urls.ocsp)?,
                },
                AccessDescription {
                    access_method: oids::AD_CA_ISSUERS,
                    access_location: uri(&ca.urls.ca_issuers)?,
                },
            ]),
        )?,
        x509::extension(false, &crl_dp(crl_url)?)?,
        x509::extension(
            false,
            &CertificatePolicies(
                profile
                    .policies
                    .iter()
                    .map(|oid| PolicyInformation {
                        policy_identifier: *oid,
                        policy_qualifiers: None,
                    })
                    .collect(),
            ),
        )?,
    ];
    let mut san = Vec::new();
    for name in &request.names.dns_names {
        san.push(GeneralName::DnsName(ia5(name)?));
    }
    for email in &request.names.emails {
        san.push(GeneralName::Rfc822Name(ia5(email)?));
    }
    for ip in &request.names.ip_addresses {
        san.push(GeneralName::from(*ip));
    }
    if !san.is_empty() {
        // An empty subject makes the SAN the only identity, so it must be critical.
        exts.push(x509::extension(subject_empty, &SubjectAltName(san))?);
    }
    Ok(exts)
}

/// Issues a leaf for `request` from `ca` with `serial`, naming the CA's CRL.
pub fn issue_leaf(
    ca: &IssuingCa,
    request: &LeafRequest<'_>,
    serial: &Serial,
) -> Result<IssuedLeaf> {
    issue_leaf_in_shard(ca, request, serial, &ca.urls.crl)
}

/// Issues a leaf whose cRLDistributionPoints names `crl_url` (one shard of the CA's
/// partitioned CRL).
pub fn issue_leaf_in_shard(
    ca: &IssuingCa,
    request: &LeafRequest<'_>,
    serial: &Serial,
    crl_url: &str,
) -> Result<IssuedLeaf> {
    check_request(request)?;
    ca.refuse_ca_key(request.public_key)?;
    let profile = request.profile;
    let (validity, not_before, not_after) = validity(request.not_before, request.term_days)?;
    if not_after > ca.not_after {
        return Err(PkiError::ProfileRule {
            profile: profile.name.clone(),
            rule: "ca-expiry",
            detail: format!(
                "the issuing CA '{}' expires before a {}-day term would end; choose a shorter \
                 term or roll the issuing CA",
                subject::name_to_string(&ca.subject),
                request.term_days
            ),
        });
    }
    let (subject, _) = subject::build_subject(
        profile,
        &SubjectInputs {
            organization: request.organization,
            person: request.person,
            common_name: request.names.common_name.as_deref(),
        },
    )?;
    let extensions = leaf_extensions(ca, request, subject.is_empty(), crl_url)?;
    let layout = CertificateLayout {
        issuer: ca.subject.clone(),
        subject,
        extensions,
    };
    let spki = SubjectPublicKeyInfoOwned::from_der(&request.public_key.spki_der)
        .map_err(PkiError::encoding)?;
    let serial_number = SerialNumber::new(serial.as_bytes()).map_err(PkiError::encoding)?;
    let builder = CertificateBuilder::new(layout, serial_number, validity, spki)
        .map_err(PkiError::encoding)?;
    let cert = x509::sign(builder, ca.signer.as_ref(), |tbs| {
        lint::lint_leaf(tbs, profile, request.term_days)
    })?;
    let der = cert.to_der().map_err(PkiError::encoding)?;
    Ok(IssuedLeaf {
        subject: subject::name_to_string(cert.tbs_certificate().subject()),
        serial: serial.clone(),
        not_before,
        not_after,
        key_type: request.public_key.key_type,
        spki_sha256: hex::encode(request.public_key.spki_sha256()),
        sha256_fingerprint: hex::encode(keys::sha256(&der)),
        sha1_fingerprint: hex::encode(keys::sha1(&der)),
        der,
    })
}
