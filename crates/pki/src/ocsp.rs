//! OCSP (RFC 6960, with the RFC 5019 lightweight profile): reading requests, signing
//! responses, and the delegated responder certificate each issuing CA signs.
//!
//! The ASN.1 types are written here on der 0.8 rather than taken from `x509-ocsp`, which is
//! still built on der 0.7 / x509-cert 0.2 and would put a second copy of the whole X.509
//! stack into the binary (see `docs/adr/0010-ocsp-types-on-der-0-8.md`).

use crate::issue::{IssuingCa, aki, ski, validity};
use crate::keys::{self, PublicKey};
use crate::serial::Serial;
use crate::signer::Signer;
use crate::{PkiError, Result, oids, x509};
use const_oid::ObjectIdentifier;
use der::asn1::{BitString, GeneralizedTime, Null, OctetString};
use der::{Choice, Decode, Encode, Enumerated, Sequence};
use spki::AlgorithmIdentifierOwned;
use time::OffsetDateTime;
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{BasicConstraints, CrlReason, ExtendedKeyUsage, KeyUsage, KeyUsages};
use x509_cert::ext::{Extension, Extensions};
use x509_cert::serial_number::SerialNumber;

/// id-pkix-ocsp-basic
pub const OCSP_BASIC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.1");
/// id-pkix-ocsp-nonce
pub const OCSP_NONCE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.2");
/// id-pkix-ocsp-nocheck
pub const OCSP_NOCHECK: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.5");
/// id-sha1
pub const SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
/// id-sha256
pub const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");

/// The longest nonce echoed (RFC 8954 allows 1 to 32 octets; some clients send a little
/// more with the inner OCTET STRING header).
pub const MAX_NONCE_BYTES: usize = 64;

/// Version ::= INTEGER { v1(0) }
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq, Enumerated)]
#[asn1(type = "INTEGER")]
#[repr(u8)]
pub enum Version {
    /// v1
    #[default]
    V1 = 0,
}

/// CertID: which certificate a request or response is about.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct CertId {
    /// The hash algorithm of the two issuer hashes.
    pub hash_algorithm: AlgorithmIdentifierOwned,
    /// Hash of the issuer's DER subject.
    pub issuer_name_hash: OctetString,
    /// Hash of the issuer's public key (the BIT STRING contents).
    pub issuer_key_hash: OctetString,
    /// The certificate's serial.
    pub serial_number: SerialNumber,
}

/// OCSPRequest.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct OcspRequest {
    /// The request proper.
    pub tbs_request: TbsRequest,
    /// A signature, which Castellan does not require (and ignores).
    #[asn1(context_specific = "0", optional = "true", tag_mode = "EXPLICIT")]
    pub optional_signature: Option<der::Any>,
}

/// TBSRequest.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct TbsRequest {
    /// Always v1.
    #[asn1(
        context_specific = "0",
        default = "Default::default",
        tag_mode = "EXPLICIT"
    )]
    pub version: Version,
    /// Who asks (ignored).
    #[asn1(context_specific = "1", optional = "true", tag_mode = "EXPLICIT")]
    pub requestor_name: Option<GeneralName>,
    /// The certificates asked about.
    pub request_list: Vec<Request>,
    /// Request extensions (the nonce).
    #[asn1(context_specific = "2", optional = "true", tag_mode = "EXPLICIT")]
    pub request_extensions: Option<Extensions>,
}

/// Request: one CertID.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct Request {
    /// The certificate.
    pub req_cert: CertId,
    /// Per-certificate extensions (ignored).
    #[asn1(context_specific = "0", optional = "true", tag_mode = "EXPLICIT")]
    pub single_request_extensions: Option<Extensions>,
}

/// OCSPResponseStatus.
#[derive(Clone, Copy, Debug, Eq, PartialEq, Enumerated)]
#[repr(u8)]
pub enum ResponseStatus {
    /// A signed answer follows.
    Successful = 0,
    /// The request could not be read.
    MalformedRequest = 1,
    /// The responder failed.
    InternalError = 2,
    /// Try again later (the signing budget is spent).
    TryLater = 3,
    /// A signed request is required (never sent).
    SigRequired = 5,
    /// This responder does not answer for that issuer.
    Unauthorized = 6,
}

/// OCSPResponse.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct OcspResponse {
    /// The status.
    pub response_status: ResponseStatus,
    /// The signed answer when successful.
    #[asn1(context_specific = "0", optional = "true", tag_mode = "EXPLICIT")]
    pub response_bytes: Option<ResponseBytes>,
}

/// ResponseBytes.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct ResponseBytes {
    /// id-pkix-ocsp-basic.
    pub response_type: ObjectIdentifier,
    /// The DER BasicOCSPResponse.
    pub response: OctetString,
}

/// BasicOCSPResponse.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct BasicOcspResponse {
    /// What is signed.
    pub tbs_response_data: ResponseData,
    /// The responder's signature algorithm.
    pub signature_algorithm: AlgorithmIdentifierOwned,
    /// The signature over `tbs_response_data`.
    pub signature: BitString,
    /// The responder certificate, so clients can check the delegation.
    #[asn1(context_specific = "0", optional = "true", tag_mode = "EXPLICIT")]
    pub certs: Option<Vec<Certificate>>,
}

/// ResponderID.
#[derive(Clone, Debug, Eq, PartialEq, Choice)]
pub enum ResponderId {
    /// By subject name.
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", constructed = "true")]
    ByName(x509_cert::name::Name),
    /// By SHA-1 of the responder's public key (RFC 5019's choice, and Castellan's).
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", constructed = "true")]
    ByKey(OctetString),
}

/// ResponseData.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct ResponseData {
    /// Always v1.
    #[asn1(
        context_specific = "0",
        default = "Default::default",
        tag_mode = "EXPLICIT"
    )]
    pub version: Version,
    /// Who signed.
    pub responder_id: ResponderId,
    /// When it was signed.
    pub produced_at: GeneralizedTime,
    /// One answer per certificate asked about.
    pub responses: Vec<SingleResponse>,
    /// Response extensions (the echoed nonce).
    #[asn1(context_specific = "1", optional = "true", tag_mode = "EXPLICIT")]
    pub response_extensions: Option<Extensions>,
}

/// SingleResponse.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct SingleResponse {
    /// The certificate.
    pub cert_id: CertId,
    /// Good, revoked or unknown.
    pub cert_status: CertStatus,
    /// When this status was known to be right.
    pub this_update: GeneralizedTime,
    /// When a newer status will be available.
    #[asn1(context_specific = "0", optional = "true", tag_mode = "EXPLICIT")]
    pub next_update: Option<GeneralizedTime>,
    /// Per-certificate extensions (none).
    #[asn1(context_specific = "1", optional = "true", tag_mode = "EXPLICIT")]
    pub single_extensions: Option<Extensions>,
}

/// CertStatus.
#[derive(Clone, Debug, Eq, PartialEq, Choice)]
pub enum CertStatus {
    /// Not revoked.
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT")]
    Good(Null),
    /// Revoked.
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", constructed = "true")]
    Revoked(RevokedInfo),
    /// Not a certificate this responder knows.
    #[asn1(context_specific = "2", tag_mode = "IMPLICIT")]
    Unknown(Null),
}

/// RevokedInfo.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct RevokedInfo {
    /// When.
    pub revocation_time: GeneralizedTime,
    /// Why (absent for unspecified).
    #[asn1(context_specific = "0", optional = "true", tag_mode = "EXPLICIT")]
    pub revocation_reason: Option<CrlReason>,
}

/// The hash algorithms a CertID may use.
#[derive(Clone, Copy, Debug, Eq, PartialEq, Hash)]
pub enum HashAlgorithm {
    /// SHA-1 (RFC 5019 and most clients).
    Sha1,
    /// SHA-256.
    Sha256,
}

impl HashAlgorithm {
    /// From the CertID's algorithm OID.
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<HashAlgorithm> {
        if *oid == SHA1 {
            Some(HashAlgorithm::Sha1)
        } else if *oid == SHA256 {
            Some(HashAlgorithm::Sha256)
        } else {
            None
        }
    }

    /// The short name stored with pre-signed responses.
    pub fn as_str(self) -> &'static str {
        match self {
            HashAlgorithm::Sha1 => "sha1",
            HashAlgorithm::Sha256 => "sha256",
        }
    }

    /// Parses [`HashAlgorithm::as_str`].
    pub fn parse(s: &str) -> Option<HashAlgorithm> {
        match s {
            "sha1" => Some(HashAlgorithm::Sha1),
            "sha256" => Some(HashAlgorithm::Sha256),
            _ => None,
        }
    }

    fn oid(self) -> ObjectIdentifier {
        match self {
            HashAlgorithm::Sha1 => SHA1,
            HashAlgorithm::Sha256 => SHA256,
        }
    }

    fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            HashAlgorithm::Sha1 => keys::sha1(data).to_vec(),
            HashAlgorithm::Sha256 => keys::sha256(data).to_vec(),
        }
    }
}

/// The two hashes that identify an issuer in a CertID, for one algorithm.
#[derive(Clone, Debug, Eq, PartialEq, Hash)]
pub struct IssuerHashes {
    /// The algorithm.
    pub algorithm: HashAlgorithm,
    /// Hash of the issuer's subject DER.
    pub name_hash: Vec<u8>,
    /// Hash of the issuer's public key bits.
    pub key_hash: Vec<u8>,
}

/// The CertID hashes of the CA certificate `ca_der`, for SHA-1 and SHA-256.
pub fn issuer_hashes(ca_der: &[u8]) -> Result<[IssuerHashes; 2]> {
    let cert = Certificate::from_der(ca_der).map_err(PkiError::encoding)?;
    let tbs = cert.tbs_certificate();
    let name = tbs.subject().to_der().map_err(PkiError::encoding)?;
    let key = tbs.subject_public_key_info().subject_public_key.raw_bytes();
    let make = |algorithm: HashAlgorithm| IssuerHashes {
        algorithm,
        name_hash: algorithm.digest(&name),
        key_hash: algorithm.digest(key),
    };
    Ok([make(HashAlgorithm::Sha1), make(HashAlgorithm::Sha256)])
}

/// One certificate a request asks about.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Question {
    /// The CertID as sent (echoed in the answer).
    pub cert_id: CertId,
    /// Its hash algorithm, when it is one Castellan knows.
    pub algorithm: Option<HashAlgorithm>,
    /// The serial's bytes as encoded.
    pub serial: Vec<u8>,
}

/// A parsed OCSP request.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct ParsedRequest {
    /// The certificates asked about (at least one).
    pub questions: Vec<Question>,
    /// The nonce extension's value as sent, to echo.
    pub nonce: Option<Vec<u8>>,
}

/// Why a request could not be read; it is answered `malformedRequest`.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Malformed(pub String);

/// The most certificates one request may ask about.
pub const MAX_QUESTIONS: usize = 16;

/// Reads an OCSP request (DER).
pub fn parse_request(der: &[u8]) -> std::result::Result<ParsedRequest, Malformed> {
    let request = OcspRequest::from_der(der).map_err(|e| Malformed(e.to_string()))?;
    let list = request.tbs_request.request_list;
    if list.is_empty() {
        return Err(Malformed("the request asks about no certificate".into()));
    }
    if list.len() > MAX_QUESTIONS {
        return Err(Malformed(format!(
            "the request asks about {} certificates; at most {MAX_QUESTIONS} are answered at once",
            list.len()
        )));
    }
    let questions = list
        .into_iter()
        .map(|r| Question {
            algorithm: HashAlgorithm::from_oid(&r.req_cert.hash_algorithm.oid),
            serial: r.req_cert.serial_number.as_bytes().to_vec(),
            cert_id: r.req_cert,
        })
        .collect();
    let nonce = request
        .tbs_request
        .request_extensions
        .iter()
        .flatten()
        .find(|e| e.extn_id == OCSP_NONCE)
        .map(|e| e.extn_value.as_bytes().to_vec());
    if let Some(n) = &nonce
        && (n.is_empty() || n.len() > MAX_NONCE_BYTES)
    {
        return Err(Malformed(format!(
            "the nonce is {} bytes; 1 to {MAX_NONCE_BYTES} are accepted",
            n.len()
        )));
    }
    Ok(ParsedRequest { questions, nonce })
}

/// The CertID Castellan puts into a response it signs ahead of any request.
pub fn cert_id(issuer: &IssuerHashes, serial: &[u8]) -> Result<CertId> {
    Ok(CertId {
        hash_algorithm: AlgorithmIdentifierOwned {
            oid: issuer.algorithm.oid(),
            parameters: Some(Null.into()),
        },
        issuer_name_hash: OctetString::new(issuer.name_hash.clone()).map_err(PkiError::encoding)?,
        issuer_key_hash: OctetString::new(issuer.key_hash.clone()).map_err(PkiError::encoding)?,
        serial_number: SerialNumber::new(serial).map_err(PkiError::encoding)?,
    })
}

/// What the responder says about one certificate.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Status {
    /// Issued and not revoked.
    Good,
    /// Revoked at (Unix seconds), with the RFC 5280 reason code (0 is sent without one).
    Revoked {
        /// When.
        at: i64,
        /// Why.
        reason: u8,
    },
    /// Not issued by this CA as far as Castellan knows.
    Unknown,
}

/// One answer to sign.
#[derive(Clone, Debug)]
pub struct Answer {
    /// The CertID (as asked, or [`cert_id`]).
    pub cert_id: CertId,
    /// The status.
    pub status: Status,
    /// thisUpdate, Unix seconds.
    pub this_update: i64,
    /// nextUpdate, Unix seconds.
    pub next_update: i64,
}

/// A delegated OCSP responder: its key and the certificate its CA signed for it.
pub struct Responder {
    signer: std::sync::Arc<dyn Signer>,
    certificate: Certificate,
    key_hash: Vec<u8>,
}

impl std::fmt::Debug for Responder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Responder({})",
            self.certificate.tbs_certificate().subject()
        )
    }
}

impl Responder {
    /// Pairs a responder certificate with the signer of its key.
    pub fn new(signer: std::sync::Arc<dyn Signer>, certificate_der: &[u8]) -> Result<Responder> {
        let certificate = Certificate::from_der(certificate_der).map_err(PkiError::encoding)?;
        let spki = certificate
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .map_err(PkiError::encoding)?;
        if spki != signer.spki_der() {
            return Err(PkiError::KeyEncryption(
                "the OCSP responder key does not match its certificate".into(),
            ));
        }
        let key_hash = keys::sha1(
            certificate
                .tbs_certificate()
                .subject_public_key_info()
                .subject_public_key
                .raw_bytes(),
        )
        .to_vec();
        Ok(Responder {
            signer,
            certificate,
            key_hash,
        })
    }

    /// Signs a successful response with `answers`, echoing `nonce` when given.
    pub fn sign(
        &self,
        answers: &[Answer],
        produced_at: i64,
        nonce: Option<&[u8]>,
    ) -> Result<Vec<u8>> {
        let responses = answers
            .iter()
            .map(|a| {
                Ok(SingleResponse {
                    cert_id: a.cert_id.clone(),
                    cert_status: match a.status {
                        Status::Good => CertStatus::Good(Null),
                        Status::Unknown => CertStatus::Unknown(Null),
                        Status::Revoked { at, reason } => CertStatus::Revoked(RevokedInfo {
                            revocation_time: generalized(at)?,
                            revocation_reason: crl_reason(reason)?,
                        }),
                    },
                    this_update: generalized(a.this_update)?,
                    next_update: Some(generalized(a.next_update)?),
                    single_extensions: None,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let response_extensions = match nonce {
            Some(value) => Some(vec![Extension {
                extn_id: OCSP_NONCE,
                critical: false,
                extn_value: OctetString::new(value).map_err(PkiError::encoding)?,
            }]),
            None => None,
        };
        let data = ResponseData {
            version: Version::V1,
            responder_id: ResponderId::ByKey(
                OctetString::new(self.key_hash.clone()).map_err(PkiError::encoding)?,
            ),
            produced_at: generalized(produced_at)?,
            responses,
            response_extensions,
        };
        let tbs = data.to_der().map_err(PkiError::encoding)?;
        let signature = self.signer.sign(&tbs)?;
        let basic = BasicOcspResponse {
            tbs_response_data: data,
            signature_algorithm: self.signer.signature_algorithm(),
            signature: BitString::from_bytes(&signature).map_err(PkiError::encoding)?,
            certs: Some(vec![self.certificate.clone()]),
        };
        OcspResponse {
            response_status: ResponseStatus::Successful,
            response_bytes: Some(ResponseBytes {
                response_type: OCSP_BASIC,
                response: OctetString::new(basic.to_der().map_err(PkiError::encoding)?)
                    .map_err(PkiError::encoding)?,
            }),
        }
        .to_der()
        .map_err(PkiError::encoding)
    }

    /// notAfter of the responder certificate, Unix seconds.
    pub fn not_after(&self) -> i64 {
        self.certificate
            .tbs_certificate()
            .validity()
            .not_after
            .to_unix_duration()
            .as_secs() as i64
    }
}

/// An unsigned response carrying only an error status (`malformedRequest`,
/// `unauthorized`, `tryLater`, `internalError`).
pub fn status_only(status: ResponseStatus) -> Vec<u8> {
    // SEQUENCE { ENUMERATED status }: five fixed bytes, so this cannot fail.
    vec![0x30, 0x03, 0x0a, 0x01, status as u8]
}

/// The reason code as it goes into a response or CRL entry: none for unspecified (0),
/// as the CA/Browser Forum requires.
pub(crate) fn crl_reason(code: u8) -> Result<Option<CrlReason>> {
    Ok(match code {
        0 => None,
        1 => Some(CrlReason::KeyCompromise),
        2 => Some(CrlReason::CaCompromise),
        3 => Some(CrlReason::AffiliationChanged),
        4 => Some(CrlReason::Superseded),
        5 => Some(CrlReason::CessationOfOperation),
        6 => Some(CrlReason::CertificateHold),
        8 => Some(CrlReason::RemoveFromCRL),
        9 => Some(CrlReason::PrivilegeWithdrawn),
        10 => Some(CrlReason::AaCompromise),
        other => {
            return Err(PkiError::Encoding(format!(
                "{other} is not an RFC 5280 revocation reason code"
            )));
        }
    })
}

pub(crate) fn generalized(unix: i64) -> Result<GeneralizedTime> {
    let secs = u64::try_from(unix).map_err(|_| PkiError::Encoding("time before 1970".into()))?;
    GeneralizedTime::from_unix_duration(std::time::Duration::from_secs(secs))
        .map_err(PkiError::encoding)
}

/// The certificate of a delegated OCSP responder for `ca`: `key` (the responder's own),
/// id-kp-OCSPSigning only, digitalSignature, id-pkix-ocsp-nocheck (relying parties do not
/// check a responder's own status; it is short-lived instead), the CA's subject with
/// "OCSP Responder" in the common name.
pub fn responder_certificate(
    ca: &IssuingCa,
    key: &PublicKey,
    serial: &Serial,
    not_before: OffsetDateTime,
    days: u32,
) -> Result<Vec<u8>> {
    let (_, _, not_after) = validity(not_before, days)?;
    if not_after > ca.not_after() {
        return Err(PkiError::Encoding(
            "the issuing CA expires before its OCSP responder certificate would".into(),
        ));
    }
    let ca_cert = Certificate::from_der(ca.certificate_der()).map_err(PkiError::encoding)?;
    let ca_key = PublicKey {
        key_type: ca.signer().key_type(),
        spki_der: ca.signer().spki_der().to_vec(),
    };
    let ca_cn = crate::subject::name_to_string(ca.subject());
    let cn = ca_cn
        .split(',')
        .find_map(|part| part.trim().strip_prefix("CN="))
        .unwrap_or("Castellan");
    let subject =
        crate::subject::encode_pairs(&[(oids::COMMON_NAME, &format!("{cn} OCSP Responder"))])?;
    let extensions = vec![
        x509::extension(
            true,
            &BasicConstraints {
                ca: false,
                path_len_constraint: None,
            },
        )?,
        x509::extension(true, &KeyUsage(KeyUsages::DigitalSignature.into()))?,
        x509::extension(false, &ExtendedKeyUsage(vec![oids::KP_OCSP_SIGNING]))?,
        x509::extension(false, &aki(&ca_key.key_identifier()?)?)?,
        x509::extension(false, &ski(key)?)?,
        Extension {
            extn_id: OCSP_NOCHECK,
            critical: false,
            extn_value: OctetString::new(Null.to_der().map_err(PkiError::encoding)?)
                .map_err(PkiError::encoding)?,
        },
    ];
    crate::hierarchy::build_certificate(
        ca.signer().as_ref(),
        ca_cert.tbs_certificate().subject().clone(),
        subject,
        extensions,
        key,
        not_before,
        days,
        serial,
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn request(count: usize, nonce: Option<Vec<u8>>) -> Vec<u8> {
        let hashes = IssuerHashes {
            algorithm: HashAlgorithm::Sha1,
            name_hash: vec![1; 20],
            key_hash: vec![2; 20],
        };
        let list = (0..count)
            .map(|i| Request {
                req_cert: cert_id(&hashes, &[1, i as u8 + 1]).unwrap(),
                single_request_extensions: None,
            })
            .collect();
        OcspRequest {
            tbs_request: TbsRequest {
                version: Version::V1,
                requestor_name: None,
                request_list: list,
                request_extensions: nonce.map(|n| {
                    vec![Extension {
                        extn_id: OCSP_NONCE,
                        critical: false,
                        extn_value: OctetString::new(n).unwrap(),
                    }]
                }),
            },
            optional_signature: None,
        }
        .to_der()
        .unwrap()
    }

    #[test]
    fn a_request_is_read_with_its_nonce() {
        let parsed = parse_request(&request(2, Some(vec![4, 2, 9, 9]))).unwrap();
        assert_eq!(parsed.questions.len(), 2);
        assert_eq!(parsed.questions[1].serial, [1, 2]);
        assert_eq!(parsed.questions[0].algorithm, Some(HashAlgorithm::Sha1));
        assert_eq!(parsed.nonce, Some(vec![4, 2, 9, 9]));
    }

    #[test]
    fn bad_requests_say_why() {
        assert_eq!(
            parse_request(&request(0, None)).unwrap_err().0,
            "the request asks about no certificate"
        );
        assert_eq!(
            parse_request(&request(17, None)).unwrap_err().0,
            "the request asks about 17 certificates; at most 16 are answered at once"
        );
        assert_eq!(
            parse_request(&request(1, Some(vec![0; 65]))).unwrap_err().0,
            "the nonce is 65 bytes; 1 to 64 are accepted"
        );
        assert!(parse_request(b"\x30\x00").is_err());
    }

    #[test]
    fn error_statuses_are_five_fixed_bytes() {
        for status in [
            ResponseStatus::MalformedRequest,
            ResponseStatus::InternalError,
            ResponseStatus::TryLater,
            ResponseStatus::Unauthorized,
        ] {
            let der = status_only(status);
            let parsed = OcspResponse::from_der(&der).unwrap();
            assert_eq!(parsed.response_status, status);
            assert!(parsed.response_bytes.is_none());
        }
    }
}
