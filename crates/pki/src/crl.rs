//! Certificate revocation lists (RFC 5280 §5), written as a stream.
//!
//! A CRL with a million entries is tens of megabytes of DER. [`CrlWriter`] encodes each
//! entry into one byte buffer as it arrives (nothing is kept per entry but its bytes),
//! then wraps the buffer with the headers, signs the TBSCertList and returns the DER. The
//! caller feeds rows straight from a database cursor.

use crate::issue::{aki, uri};
use crate::ocsp::{crl_reason, generalized};
use crate::signer::Signer;
use crate::{PkiError, Result, x509};
use der::asn1::{BitString, OctetString};
use der::{Decode, Encode, Header, Length, Tag};
use x509_cert::Certificate;
use x509_cert::crl::RevokedCert;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::crl::dp::IssuingDistributionPoint;
use x509_cert::ext::pkix::name::DistributionPointName;
use x509_cert::ext::pkix::{CrlNumber, SubjectKeyIdentifier};
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Time;

/// issuingDistributionPoint (RFC 5280 §5.2.5).
const ISSUING_DISTRIBUTION_POINT: const_oid::ObjectIdentifier =
    const_oid::ObjectIdentifier::new_unwrap("2.5.29.28");

/// Spare bytes before the entries for the headers, the algorithm and the issuer's name.
const PREFIX: usize = 4096;
/// The longest outer SEQUENCE header (tag, 0x84, four length bytes).
const OUTER_HEADER_MAX: usize = 6;

/// invalidityDate (RFC 5280 §5.3.2).
const INVALIDITY_DATE: const_oid::ObjectIdentifier =
    const_oid::ObjectIdentifier::new_unwrap("2.5.29.24");

/// What a CRL says about itself.
#[derive(Clone, Debug)]
pub struct CrlParams {
    /// The CRL number (monotonic per CA and shard).
    pub number: u64,
    /// thisUpdate, Unix seconds.
    pub this_update: i64,
    /// nextUpdate, Unix seconds.
    pub next_update: i64,
    /// The URL this CRL is published at; it goes into the issuingDistributionPoint, which
    /// tells relying parties which certificates (the ones naming this URL) it covers.
    pub distribution_point: Option<String>,
}

/// One revoked certificate.
#[derive(Clone, Copy, Debug)]
pub struct RevokedEntry<'a> {
    /// The serial's bytes as in the certificate.
    pub serial: &'a [u8],
    /// When it was revoked, Unix seconds.
    pub revoked_at: i64,
    /// RFC 5280 reason code; 0 (unspecified) is written without a reasonCode extension.
    pub reason: u8,
    /// When the key is known or suspected to have been compromised, Unix seconds.
    pub invalidity_date: Option<i64>,
}

/// Builds one CRL from entries streamed into it.
pub struct CrlWriter {
    issuer_name: Vec<u8>,
    issuer_key_id: Vec<u8>,
    params: CrlParams,
    entries: Vec<u8>,
    count: u64,
}

impl std::fmt::Debug for CrlWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "CrlWriter(#{}, {} entries)",
            self.params.number, self.count
        )
    }
}

fn time(unix: i64) -> Result<Time> {
    let secs = u64::try_from(unix).map_err(|_| PkiError::Encoding("time before 1970".into()))?;
    let dt = der::DateTime::from_unix_duration(std::time::Duration::from_secs(secs))
        .map_err(PkiError::encoding)?;
    Ok(Time::from(dt))
}

impl CrlWriter {
    /// Starts a CRL issued by the CA whose certificate is `issuer_der`.
    pub fn new(issuer_der: &[u8], params: CrlParams) -> Result<CrlWriter> {
        let issuer = Certificate::from_der(issuer_der).map_err(PkiError::encoding)?;
        let tbs = issuer.tbs_certificate();
        let issuer_key_id = match tbs.get_extension::<SubjectKeyIdentifier>() {
            Ok(Some((_, ski))) => ski.0.as_bytes().to_vec(),
            _ => crate::keys::sha1(tbs.subject_public_key_info().subject_public_key.raw_bytes())
                .to_vec(),
        };
        Ok(CrlWriter {
            issuer_name: tbs.subject().to_der().map_err(PkiError::encoding)?,
            issuer_key_id,
            params,
            entries: vec![0; PREFIX],
            count: 0,
        })
    }

    /// How many entries so far.
    pub fn len(&self) -> u64 {
        self.count
    }

    /// Whether no entry was added.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Appends one revoked certificate.
    pub fn push(&mut self, entry: &RevokedEntry<'_>) -> Result<()> {
        let mut extensions = Vec::new();
        if let Some(reason) = crl_reason(entry.reason)? {
            extensions.push(x509::extension(false, &reason)?);
        }
        if let Some(at) = entry.invalidity_date {
            extensions.push(Extension {
                extn_id: INVALIDITY_DATE,
                critical: false,
                extn_value: OctetString::new(
                    generalized(at)?.to_der().map_err(PkiError::encoding)?,
                )
                .map_err(PkiError::encoding)?,
            });
        }
        let revoked: RevokedCert = RevokedCert {
            serial_number: SerialNumber::new(entry.serial).map_err(PkiError::encoding)?,
            revocation_date: time(entry.revoked_at)?,
            crl_entry_extensions: if extensions.is_empty() {
                None
            } else {
                Some(extensions)
            },
        };
        revoked
            .encode_to_vec(&mut self.entries)
            .map_err(PkiError::encoding)?;
        self.count += 1;
        Ok(())
    }

    fn extensions(&self) -> Result<Vec<u8>> {
        let mut exts = vec![
            x509::extension(false, &aki(&self.issuer_key_id)?)?,
            x509::extension(
                false,
                &CrlNumber::try_from(self.params.number).map_err(PkiError::encoding)?,
            )?,
        ];
        if let Some(url) = &self.params.distribution_point {
            let idp = IssuingDistributionPoint {
                distribution_point: Some(DistributionPointName::FullName(vec![uri(url)?])),
                only_contains_user_certs: false,
                only_contains_ca_certs: false,
                only_some_reasons: None,
                indirect_crl: false,
                only_contains_attribute_certs: false,
            };
            // x509-cert 0.3.0 gives IssuingDistributionPoint the OID of
            // subjectInfoAccess, so the extension is assembled with the right one here.
            exts.push(Extension {
                extn_id: ISSUING_DISTRIBUTION_POINT,
                critical: true,
                extn_value: OctetString::new(idp.to_der().map_err(PkiError::encoding)?)
                    .map_err(PkiError::encoding)?,
            });
        }
        exts.to_der().map_err(PkiError::encoding)
    }

    /// Signs the CRL with the issuer's key and returns its DER. The entries were written
    /// after [`PREFIX`] spare bytes; the headers go into that space, right before them, so
    /// the CRL is assembled in the one buffer (a copy of tens of megabytes saved).
    pub fn finish(self, signer: &dyn Signer) -> Result<Vec<u8>> {
        let algorithm = signer
            .signature_algorithm()
            .to_der()
            .map_err(PkiError::encoding)?;
        let mut head = Vec::new();
        // version v2
        1u8.encode_to_vec(&mut head).map_err(PkiError::encoding)?;
        head.extend_from_slice(&algorithm);
        head.extend_from_slice(&self.issuer_name);
        time(self.params.this_update)?
            .encode_to_vec(&mut head)
            .map_err(PkiError::encoding)?;
        time(self.params.next_update)?
            .encode_to_vec(&mut head)
            .map_err(PkiError::encoding)?;
        let extensions = self.extensions()?;
        let mut tail = Vec::new();
        header(
            Tag::ContextSpecific {
                constructed: true,
                number: der::TagNumber(0),
            },
            extensions.len(),
        )?
        .encode_to_vec(&mut tail)
        .map_err(PkiError::encoding)?;
        tail.extend_from_slice(&extensions);

        let mut buf = self.entries;
        let entries_len = buf.len() - PREFIX;
        let revoked_header = if entries_len == 0 {
            // revokedCertificates is OPTIONAL and must be absent when empty.
            Vec::new()
        } else {
            let mut h = Vec::new();
            header(Tag::Sequence, entries_len)?
                .encode_to_vec(&mut h)
                .map_err(PkiError::encoding)?;
            h
        };
        let tbs_len = head.len() + revoked_header.len() + entries_len + tail.len();
        let mut tbs_header = Vec::new();
        header(Tag::Sequence, tbs_len)?
            .encode_to_vec(&mut tbs_header)
            .map_err(PkiError::encoding)?;
        let front = [tbs_header.as_slice(), &head, &revoked_header].concat();
        // The outer SEQUENCE header (at most 6 bytes) goes in front of the TBS later.
        if front.len() + OUTER_HEADER_MAX > PREFIX {
            return Err(PkiError::Encoding(format!(
                "the CRL issuer's name and algorithm take {} bytes; at most {} fit",
                front.len(),
                PREFIX - OUTER_HEADER_MAX
            )));
        }
        let tbs_start = PREFIX - front.len();
        buf[tbs_start..PREFIX].copy_from_slice(&front);
        buf.extend_from_slice(&tail);

        let signature = signer.sign(&buf[tbs_start..])?;
        let mut sig = Vec::new();
        BitString::from_bytes(&signature)
            .map_err(PkiError::encoding)?
            .encode_to_vec(&mut sig)
            .map_err(PkiError::encoding)?;
        let body_len = (buf.len() - tbs_start) + algorithm.len() + sig.len();
        let mut outer = Vec::new();
        header(Tag::Sequence, body_len)?
            .encode_to_vec(&mut outer)
            .map_err(PkiError::encoding)?;
        let start = tbs_start - outer.len();
        buf[start..tbs_start].copy_from_slice(&outer);
        buf.extend_from_slice(&algorithm);
        buf.extend_from_slice(&sig);
        // Moves the CRL to the front of the buffer in place (no second allocation).
        buf.drain(..start);
        Ok(buf)
    }
}

fn header(tag: Tag, len: usize) -> Result<Header> {
    let length = Length::try_from(len).map_err(PkiError::encoding)?;
    Ok(Header::new(tag, length))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::hierarchy::{CaName, root_certificate};
    use crate::rand::SystemRng;
    use crate::serial::Serial;
    use crate::signer::SoftwareSigner;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1, UnparsedPublicKey};
    use castellan_model::KeyType;
    use x509_cert::crl::CertificateList;

    fn ca() -> (SoftwareSigner, Vec<u8>) {
        let key = crate::keys::generate(KeyType::EcP256).unwrap();
        let signer = SoftwareSigner::from_pkcs8(&key.pkcs8).unwrap();
        let name = CaName {
            country: Some("GB".into()),
            organization: "Castellan".into(),
            common_name: "Test CA".into(),
        };
        let der = root_certificate(
            &signer,
            &name,
            time::OffsetDateTime::now_utc(),
            30,
            &Serial::random(&SystemRng).unwrap(),
        )
        .unwrap();
        (signer, der)
    }

    fn params(url: Option<&str>) -> CrlParams {
        CrlParams {
            number: 7,
            this_update: 1_800_000_000,
            next_update: 1_800_000_000 + 7 * 86_400,
            distribution_point: url.map(str::to_owned),
        }
    }

    #[test]
    fn entries_carry_reason_and_invalidity_date_only_when_known() {
        let (signer, ca_der) = ca();
        let mut writer =
            CrlWriter::new(&ca_der, params(Some("http://pki.example/crl/x.crl"))).unwrap();
        for (serial, reason, invalid) in [
            (&[0x01, 0x02][..], 0, None),
            (&[0x81, 0x02, 0x03][..], 1, Some(1_799_990_000)),
            (&[0x7f][..], 4, None),
        ] {
            writer
                .push(&RevokedEntry {
                    serial,
                    revoked_at: 1_799_999_000,
                    reason,
                    invalidity_date: invalid,
                })
                .unwrap();
        }
        assert_eq!(writer.len(), 3);
        let der = writer.finish(&signer).unwrap();
        let crl: CertificateList = CertificateList::from_der(&der).unwrap();
        let entries = crl.tbs_cert_list.revoked_certificates.clone().unwrap();
        assert_eq!(entries.len(), 3);
        assert!(
            entries[0].crl_entry_extensions.is_none(),
            "unspecified: no reasonCode"
        );
        assert_eq!(entries[1].crl_entry_extensions.as_ref().unwrap().len(), 2);
        assert_eq!(
            entries[1].serial_number.as_bytes(),
            [0x00, 0x81, 0x02, 0x03]
        );
        let exts = crl.tbs_cert_list.crl_extensions.clone().unwrap();
        let ids: Vec<String> = exts.iter().map(|e| e.extn_id.to_string()).collect();
        assert_eq!(ids, ["2.5.29.35", "2.5.29.20", "2.5.29.28"]);
        assert!(exts[2].critical, "the issuingDistributionPoint is critical");
        // The signature covers exactly the TBSCertList bytes.
        let tbs = crl.tbs_cert_list.to_der().unwrap();
        let spki = spki::SubjectPublicKeyInfoRef::try_from(signer.spki_der()).unwrap();
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, spki.subject_public_key.raw_bytes())
            .verify(&tbs, crl.signature.raw_bytes())
            .unwrap();
    }

    #[test]
    fn an_empty_crl_has_no_revoked_certificates_field() {
        let (signer, ca_der) = ca();
        let writer = CrlWriter::new(&ca_der, params(None)).unwrap();
        assert!(writer.is_empty());
        let crl: CertificateList =
            CertificateList::from_der(&writer.finish(&signer).unwrap()).unwrap();
        assert!(crl.tbs_cert_list.revoked_certificates.is_none());
        assert_eq!(
            crl.tbs_cert_list.crl_extensions.unwrap().len(),
            2,
            "AKI and number only"
        );
    }

    #[test]
    fn unknown_reason_codes_are_refused() {
        let (_, ca_der) = ca();
        let mut writer = CrlWriter::new(&ca_der, params(None)).unwrap();
        let err = writer
            .push(&RevokedEntry {
                serial: &[1],
                revoked_at: 1_799_999_000,
                reason: 7,
                invalidity_date: None,
            })
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "encoding failed: 7 is not an RFC 5280 revocation reason code"
        );
    }
}
