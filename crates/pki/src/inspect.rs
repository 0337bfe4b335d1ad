//! Reading a stored certificate back: subject, issuer, serial, dates, key, names.

use crate::keys::{self, PublicKey};
use crate::serial::Serial;
use crate::{PkiError, Result};
use der::{Decode, Encode};
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;

/// What `castellan cert show` and the APIs show about a certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateInfo {
    /// Subject, RFC 4514.
    pub subject: String,
    /// Issuer, RFC 4514.
    pub issuer: String,
    /// Serial.
    pub serial: Serial,
    /// notBefore, Unix seconds.
    pub not_before: i64,
    /// notAfter, Unix seconds.
    pub not_after: i64,
    /// The subject key.
    pub public_key: PublicKey,
    /// dNSName entries.
    pub dns_names: Vec<String>,
    /// rfc822Name entries.
    pub emails: Vec<String>,
    /// SHA-256 fingerprint, hex.
    pub sha256_fingerprint: String,
    /// The authorityKeyIdentifier's key identifier (ARI's certificate identifier uses it).
    pub authority_key_id: Option<Vec<u8>>,
}

/// Reads a DER certificate.
pub fn inspect(der: &[u8]) -> Result<CertificateInfo> {
    let cert = x509_cert::Certificate::from_der(der).map_err(PkiError::encoding)?;
    let tbs = cert.tbs_certificate();
    let spki = tbs
        .subject_public_key_info()
        .to_der()
        .map_err(PkiError::encoding)?;
    let mut dns_names = Vec::new();
    let mut emails = Vec::new();
    if let Ok(Some((_, san))) = tbs.get_extension::<SubjectAltName>() {
        for name in san.0 {
            match name {
                GeneralName::DnsName(d) => dns_names.push(d.to_string()),
                GeneralName::Rfc822Name(e) => emails.push(e.to_string()),
                _ => {}
            }
        }
    }
    Ok(CertificateInfo {
        subject: crate::subject::name_to_string(tbs.subject()),
        issuer: crate::subject::name_to_string(tbs.issuer()),
        serial: Serial::from_bytes(tbs.serial_number().as_bytes())?,
        not_before: tbs.validity().not_before.to_unix_duration().as_secs() as i64,
        not_after: tbs.validity().not_after.to_unix_duration().as_secs() as i64,
        public_key: PublicKey {
            key_type: keys::check_public_key(&spki)?.key_type,
            spki_der: spki,
        },
        dns_names,
        emails,
        sha256_fingerprint: hex::encode(keys::sha256(der)),
        authority_key_id: match tbs.get_extension::<x509_cert::ext::pkix::AuthorityKeyIdentifier>()
        {
            Ok(Some((_, aki))) => aki.key_identifier.map(|k| k.as_bytes().to_vec()),
            _ => None,
        },
    })
}

/// Whether the certificate's subjectAltName has the IP address `ip` (text form).
pub fn has_ip(der: &[u8], ip: &str) -> bool {
    let Ok(wanted) = ip.parse::<std::net::IpAddr>() else {
        return false;
    };
    let Ok(cert) = x509_cert::Certificate::from_der(der) else {
        return false;
    };
    let Ok(Some((_, san))) = cert.tbs_certificate().get_extension::<SubjectAltName>() else {
        return false;
    };
    san.0.iter().any(|name| match name {
        GeneralName::IpAddress(octets) => match wanted {
            std::net::IpAddr::V4(v4) => octets.as_bytes() == v4.octets(),
            std::net::IpAddr::V6(v6) => octets.as_bytes() == v6.octets(),
        },
        _ => false,
    })
}
