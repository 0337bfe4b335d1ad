//! Creating the CA hierarchy: a self-signed root and an issuing CA under it, for each of
//! the two algorithms (RSA and ECDSA), as Sectigo offers both.
//!
//! The issuing CA carries no extendedKeyUsage: Castellan's own CA is a private CA that
//! issues TLS, S/MIME and code signing certificates from one intermediate per algorithm
//! (see `docs/adr/0003-one-issuing-ca-per-algorithm.md`). Its path length is 0.

use crate::issue::{CertificateLayout, aki, crl_dp, ski, uri, validity};
use crate::keys::PublicKey;
use crate::serial::Serial;
use crate::signer::Signer;
use crate::subject::encode_pairs;
use crate::{PkiError, Result, oids, x509};
use der::{Decode, Encode};
use spki::SubjectPublicKeyInfoOwned;
use time::OffsetDateTime;
use x509_cert::builder::CertificateBuilder;
use x509_cert::ext::pkix::certpolicy::PolicyInformation;
use x509_cert::ext::pkix::{
    AccessDescription, AuthorityInfoAccessSyntax, BasicConstraints, CertificatePolicies, KeyUsage,
    KeyUsages,
};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;

/// The distinguished name of a CA: C, O, CN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaName {
    /// countryName (two letters), optional.
    pub country: Option<String>,
    /// organizationName.
    pub organization: String,
    /// commonName.
    pub common_name: String,
}

impl CaName {
    fn to_name(&self) -> Result<Name> {
        let mut pairs = Vec::new();
        if let Some(c) = &self.country {
            pairs.push((oids::COUNTRY_NAME, c.as_str()));
        }
        pairs.push((oids::ORGANIZATION_NAME, self.organization.as_str()));
        pairs.push((oids::COMMON_NAME, self.common_name.as_str()));
        encode_pairs(&pairs)
    }
}

fn public_key_of(signer: &dyn Signer) -> PublicKey {
    PublicKey {
        key_type: signer.key_type(),
        spki_der: signer.spki_der().to_vec(),
    }
}

/// Creates a self-signed root certificate for `signer`'s key.
pub fn root_certificate(
    signer: &dyn Signer,
    name: &CaName,
    not_before: OffsetDateTime,
    validity_days: u32,
    serial: &Serial,
) -> Result<Vec<u8>> {
    let subject = name.to_name()?;
    let key = public_key_of(signer);
    let key_id = key.key_identifier()?;
    let extensions = vec![
        x509::extension(
            true,
            &BasicConstraints {
                ca: true,
                path_len_constraint: None,
            },
        )?,
        x509::extension(
            true,
            &KeyUsage(KeyUsages::DigitalSignature | KeyUsages::KeyCertSign | KeyUsages::CRLSign),
        )?,
        x509::extension(false, &ski(&key)?)?,
        x509::extension(false, &aki(&key_id)?)?,
    ];
    build_certificate(
        signer,
        subject.clone(),
        subject,
        extensions,
        &key,
        not_before,
        validity_days,
        serial,
    )
}

/// Creates an issuing CA certificate for `issuing_spki`, signed by the root.
#[allow(clippy::too_many_arguments)]
pub fn issuing_certificate(
    root_signer: &dyn Signer,
    root_certificate_der: &[u8],
    root_ca_issuers_url: &str,
    root_crl_url: &str,
    issuing_spki: &[u8],
    name: &CaName,
    not_before: OffsetDateTime,
    validity_days: u32,
    serial: &Serial,
) -> Result<Vec<u8>> {
    let root =
        x509_cert::Certificate::from_der(root_certificate_der).map_err(PkiError::encoding)?;
    let root_subject = root.tbs_certificate().subject().clone();
    let root_key = public_key_of(root_signer);
    let key = crate::keys::check_public_key(issuing_spki)?;
    let extensions = vec![
        x509::extension(
            true,
            &BasicConstraints {
                ca: true,
                path_len_constraint: Some(0),
            },
        )?,
        x509::extension(
            true,
            &KeyUsage(KeyUsages::DigitalSignature | KeyUsages::KeyCertSign | KeyUsages::CRLSign),
        )?,
        x509::extension(false, &ski(&key)?)?,
        x509::extension(false, &aki(&root_key.key_identifier()?)?)?,
        x509::extension(
            false,
            &CertificatePolicies(vec![PolicyInformation {
                policy_identifier: oids::ANY_POLICY,
                policy_qualifiers: None,
            }]),
        )?,
        x509::extension(false, &crl_dp(root_crl_url)?)?,
        x509::extension(
            false,
            &AuthorityInfoAccessSyntax(vec![AccessDescription {
                access_method: oids::AD_CA_ISSUERS,
                access_location: uri(root_ca_issuers_url)?,
            }]),
        )?,
    ];
    build_certificate(
        root_signer,
        root_subject,
        name.to_name()?,
        extensions,
        &key,
        not_before,
        validity_days,
        serial,
    )
}

/// Builds and signs a certificate with precomputed subject and extensions (CA and OCSP
/// responder certificates: no profile, no leaf lints).
#[allow(clippy::too_many_arguments)]
pub(crate) fn build_certificate(
    signer: &dyn Signer,
    issuer: Name,
    subject: Name,
    extensions: Vec<x509_cert::ext::Extension>,
    key: &PublicKey,
    not_before: OffsetDateTime,
    validity_days: u32,
    serial: &Serial,
) -> Result<Vec<u8>> {
    let (validity, _, _) = validity(not_before, validity_days)?;
    let layout = CertificateLayout {
        issuer,
        subject,
        extensions,
    };
    let spki = SubjectPublicKeyInfoOwned::from_der(&key.spki_der).map_err(PkiError::encoding)?;
    let serial_number = SerialNumber::new(serial.as_bytes()).map_err(PkiError::encoding)?;
    let builder = CertificateBuilder::new(layout, serial_number, validity, spki)
        .map_err(PkiError::encoding)?;
    let cert = x509::sign(builder, signer, |_| Ok(()))?;
    cert.to_der().map_err(PkiError::encoding)
}
