//! Reading certificate signing requests (PKCS#10): PEM, bare base64 or DER; the
//! self-signature verified; the public key, subject and requested names taken out.

use crate::{PkiError, Result, encode, keys, subject::attribute_label};
use const_oid::ObjectIdentifier;
use x509_parser::error::X509Error;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::{FromDer, X509CertificationRequest};

/// Largest CSR accepted, in bytes of input (SCM accepts up to 32767 characters).
pub const MAX_CSR_LEN: usize = 32 * 1024;

/// What Castellan takes from a verified CSR.
#[derive(Clone, Debug)]
pub struct CsrInfo {
    /// The whole request as DER (kept with the request record).
    pub der: Vec<u8>,
    /// The public key, already through the key policy.
    pub public_key: keys::PublicKey,
    /// Subject attributes as `(label, value)` in DN order, e.g. `("CN", "www.example.com")`.
    pub subject: Vec<(String, String)>,
    /// The subject common name, if any.
    pub common_name: Option<String>,
    /// dNSName entries of the requested subjectAltName.
    pub dns_names: Vec<String>,
    /// rfc822Name entries of the requested subjectAltName (a subject emailAddress is left
    /// in `subject`: TLS CSRs often carry one that must not become a name).
    pub emails: Vec<String>,
    /// iPAddress entries of the requested subjectAltName, as text.
    pub ip_addresses: Vec<String>,
}

impl CsrInfo {
    /// The value of a subject attribute by label (`"O"`, `"L"`, ...), if present.
    pub fn subject_value(&self, label: &str) -> Option<&str> {
        self.subject
            .iter()
            .find(|(l, _)| l == label)
            .map(|(_, v)| v.as_str())
    }
}

fn malformed(reason: impl Into<String>) -> PkiError {
    PkiError::MalformedCsr {
        reason: reason.into(),
    }
}

/// Turns the text or bytes a user gave into CSR DER: a PEM block (any label ending in
/// `CERTIFICATE REQUEST`), bare base64, or DER as is.
pub fn csr_der_from_input(input: &[u8]) -> Result<Vec<u8>> {
    if input.len() > MAX_CSR_LEN {
        return Err(malformed(format!(
            "the CSR is {} bytes; at most {MAX_CSR_LEN} are accepted",
            input.len()
        )));
    }
    if input.first() == Some(&0x30) {
        return Ok(input.to_vec());
    }
    let text = std::str::from_utf8(input)
        .map_err(|_| malformed("it is neither PEM text nor DER"))?
        .trim();
    if text.is_empty() {
        return Err(malformed("the CSR is empty"));
    }
    if text.contains("-----BEGIN") {
        let blocks = encode::pem_blocks(text).map_err(malformed)?;
        let (label, der) = blocks
            .into_iter()
            .next()
            .ok_or_else(|| malformed("no PEM block found"))?;
        if !label.ends_with("CERTIFICATE REQUEST") {
            return Err(malformed(format!(
                "the PEM block is a '{label}', not a 'CERTIFICATE REQUEST'"
            )));
        }
        return Ok(der);
    }
    encode::base64_decode(text).map_err(|_| malformed("it is not PEM, base64 or DER"))
}

/// Parses and verifies a CSR given as PEM, base64 or DER.
pub fn parse(input: &[u8]) -> Result<CsrInfo> {
    let der = csr_der_from_input(input)?;
    let (rest, csr) = X509CertificationRequest::from_der(&der).map_err(|_| {
        malformed("it is not a PKCS#10 certificate request (the DER structure does not decode)")
    })?;
    if !rest.is_empty() {
        return Err(malformed(format!(
            "{} bytes of trailing data after the request",
            rest.len()
        )));
    }
    let info = &csr.certification_request_info;
    // The key policy first: a weak key is named as such, not as a bad signature (AWS-LC
    // will not even verify with an RSA key under 2048 bits).
    let public_key = keys::check_public_key(info.subject_pki.raw)?;
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &der);
    let checked = if verified::known(digest.as_ref()) {
        Ok(())
    } else {
        csr.verify_signature()
    };
    match checked {
        Ok(()) => verified::remember(digest.as_ref()),
        Err(X509Error::SignatureUnsupportedAlgorithm) => {
            return Err(malformed(format!(
                "its signature algorithm {} is not supported; sign with SHA-256 (RSA PKCS#1 v1.5 \
                 or ECDSA)",
                csr.signature_algorithm.algorithm
            )));
        }
        Err(_) => return Err(PkiError::CsrSignatureInvalid),
    }

    let mut subject = Vec::new();
    for rdn in info.subject.iter() {
        for atv in rdn.iter() {
            let oid = ObjectIdentifier::from_bytes(atv.attr_type().as_bytes())
                .map_err(|e| malformed(format!("bad attribute type in the subject: {e}")))?;
            let value = atv.as_str().map_err(|_| {
                malformed(format!(
                    "subject {} is not a text value",
                    attribute_label(oid)
                ))
            })?;
            subject.push((attribute_label(oid), value.to_owned()));
        }
    }
    let common_name = subject
        .iter()
        .find(|(l, _)| l == "CN")
        .map(|(_, v)| v.clone());

    let mut dns_names = Vec::new();
    let mut emails = Vec::new();
    let mut ip_addresses = Vec::new();
    if let Some(exts) = csr.requested_extensions() {
        for ext in exts {
            if let ParsedExtension::SubjectAlternativeName(san) = ext {
                for name in &san.general_names {
                    match name {
                        GeneralName::DNSName(d) => dns_names.push((*d).to_owned()),
                        GeneralName::RFC822Name(e) => emails.push((*e).to_owned()),
                        GeneralName::IPAddress(ip) => ip_addresses.push(ip_text(ip)),
                        _ => {}
                    }
                }
            }
        }
    }
    Ok(CsrInfo {
        der: der.clone(),
        public_key,
        subject,
        common_name,
        dns_names,
        emails,
        ip_addresses,
    })
}

fn ip_text(bytes: &[u8]) -> String {
    match bytes.len() {
        4 => std::net::Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]).to_string(),
        16 => {
            let mut octets = [0u8; 16];
            octets.copy_from_slice(bytes);
            std::net::Ipv6Addr::from(octets).to_string()
        }
        _ => hex::encode(bytes),
    }
}

/// Makes a PKCS#10 request for `signer`'s key with a CN and DNS names (for the benchmark
/// and tests; subscribers bring their own CSRs).
pub fn create(
    signer: &dyn crate::signer::Signer,
    common_name: &str,
    dns_names: &[String],
) -> Result<Vec<u8>> {
    use der::Encode;
    use x509_cert::ext::pkix::SubjectAltName;
    use x509_cert::ext::pkix::name::GeneralName;
    let subject = crate::subject::encode_pairs(&[(crate::oids::COMMON_NAME, common_name)])?;
    let mut builder =
        x509_cert::request::RequestBuilder::new(subject).map_err(PkiError::encoding)?;
    if !dns_names.is_empty() {
        let names = dns_names
            .iter()
            .map(|n| {
                der::asn1::Ia5String::new(n)
                    .map(GeneralName::DnsName)
                    .map_err(PkiError::encoding)
            })
            .collect::<Result<Vec<_>>>()?;
        builder
            .add_extension(crate::x509::extension(false, &SubjectAltName(names))?)
            .map_err(PkiError::encoding)?;
    }
    let request = crate::x509::sign(builder, signer, |_| Ok(()))?;
    request.to_der().map_err(PkiError::encoding)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signer::SoftwareSigner;
    use castellan_model::KeyType;

    #[test]
    fn created_requests_parse_and_verify() {
        for key_type in [KeyType::EcP256, KeyType::Rsa(2048)] {
            let key = crate::keys::generate(key_type).unwrap();
            let signer = SoftwareSigner::from_pkcs8(&key.pkcs8).unwrap();
            let der = create(&signer, "www.camford.ac.uk", &["www.camford.ac.uk".into()]).unwrap();
            let info = parse(&der).unwrap();
            assert_eq!(info.common_name.as_deref(), Some("www.camford.ac.uk"));
            assert_eq!(info.dns_names, ["www.camford.ac.uk"]);
            assert_eq!(info.public_key.key_type, key_type);
        }
    }
}

/// The CSRs whose signature verified lately, by the SHA-256 of their DER.
///
/// One request's CSR is read several times on its way (the front door's checks, the order,
/// the issuance), and its signature check is by far the costliest part of reading it (an
/// ECDSA or RSA verification, against about a microsecond for the digest). Whether a
/// signature verifies depends on the bytes alone, so a CSR whose exact bytes verified once
/// need not be verified again. Direct-mapped: a digest takes the slot its first bytes name,
/// replacing whatever was there; a miss only means verifying again.
mod verified {
    use std::sync::Mutex;

    const SLOTS: usize = 1024;

    static DIGESTS: Mutex<[[u8; 32]; SLOTS]> = Mutex::new([[0; 32]; SLOTS]);

    fn slot(digest: &[u8]) -> usize {
        usize::from(u16::from_be_bytes([digest[0], digest[1]])) % SLOTS
    }

    /// Whether a CSR with this digest verified lately.
    pub(super) fn known(digest: &[u8]) -> bool {
        DIGESTS
            .lock()
            .is_ok_and(|slots| slots[slot(digest)].as_slice() == digest)
    }

    /// Remembers that a CSR with this digest verified.
    pub(super) fn remember(digest: &[u8]) {
        if let Ok(mut slots) = DIGESTS.lock() {
            slots[slot(digest)].copy_from_slice(digest);
        }
    }
}
