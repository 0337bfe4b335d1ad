//! The tls-alpn-01 check (RFC 8737): a TLS handshake with ALPN `acme-tls/1` and SNI set to
//! the name, and a look at the one certificate the server presents.
//!
//! The certificate is not verified against any trust anchor (it is self-signed by design);
//! the handshake signature is still checked, so the server holds the key of the certificate
//! it shows. What proves control is the critical `id-pe-acmeIdentifier` extension holding
//! SHA-256 of the key authorization, with the name as the only subjectAltName.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use rustls::DigitallySignedStruct;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio::net::TcpStream;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::key_authorization_digest;
use crate::dcv::Check;
use crate::dns::Resolver;
use crate::fetch::{FetchSettings, non_public_rule};
use crate::names::normalize;

/// The ALPN protocol name of tls-alpn-01.
pub const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";

/// `id-pe-acmeIdentifier` (RFC 8737 §6.1).
const ACME_IDENTIFIER_OID: &str = "1.3.6.1.5.5.7.1.31";

/// Longest wait for the connection and handshake together.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Passes when `<domain>:<https_port>` (443 outside tests) completes a handshake for
/// `acme-tls/1` and presents a certificate for exactly `<domain>` whose critical
/// acmeIdentifier extension holds SHA-256(`key_authorization`).
pub async fn check_tls_alpn_01(
    resolver: &Resolver,
    settings: &FetchSettings,
    domain: &str,
    key_authorization: &str,
) -> Check {
    let domain = normalize(domain);
    let port = settings.https_port;
    let mut transcript = vec![format!(
        "TLS to {domain}:{port}, ALPN acme-tls/1, SNI {domain}"
    )];
    let found = match resolver.ips(&domain).await {
        Ok(found) => found,
        Err(e) => {
            transcript.extend(e.transcript().iter().cloned());
            return Check::unanswered(
                format!("the addresses of {domain} could not be looked up ({e})"),
                transcript,
            );
        }
    };
    transcript.extend(found.transcript);
    let Some(ip) = found.value.first().copied() else {
        return Check::fail(format!("{domain} has no A or AAAA record"), transcript);
    };
    if !settings.allow_private_targets
        && let Some(rule) = non_public_rule(ip)
    {
        return Check::fail(
            format!(
                "refusing to connect to {ip} ({rule}): validation only contacts public \
                 addresses; set allow_private_targets to allow it"
            ),
            transcript,
        );
    }
    let presented = tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake(ip, port, &domain)).await;
    let der = match presented {
        Err(_) => {
            return Check::unanswered(
                format!(
                    "{domain} ({ip}:{port}) did not complete a TLS handshake within {} s",
                    HANDSHAKE_TIMEOUT.as_secs()
                ),
                transcript,
            );
        }
        Ok(Err(Handshake::Unanswered(reason))) => {
            transcript.push(format!("  failed: {reason}"));
            return Check::unanswered(
                format!("{domain} ({ip}:{port}) could not be reached: {reason}"),
                transcript,
            );
        }
        Ok(Err(Handshake::Refused(reason))) => {
            transcript.push(format!("  failed: {reason}"));
            return Check::fail(format!("{domain} ({ip}:{port}) {reason}"), transcript);
        }
        Ok(Ok(der)) => der,
    };
    transcript.push(format!(
        "  answered by {ip}:{port} with acme-tls/1 and a certificate of {} bytes",
        der.len()
    ));
    let expected = key_authorization_digest(key_authorization);
    match inspect(&der, &domain, &expected) {
        Ok(()) => Check::pass(
            format!("{domain} presented the acme-tls/1 certificate for this challenge"),
            transcript,
        ),
        Err(reason) => Check::fail(
            format!("the certificate {domain} presented for acme-tls/1 {reason}"),
            transcript,
        ),
    }
}

/// Why a handshake gave no certificate.
enum Handshake {
    /// Nothing (or nothing complete) answered: worth trying again.
    Unanswered(String),
    /// The server answered, but not as tls-alpn-01 asks.
    Refused(String),
}

/// Connects, completes the handshake, and returns the end-entity certificate.
async fn handshake(ip: IpAddr, port: u16, domain: &str) -> Result<Vec<u8>, Handshake> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = Arc::new(AnyCertificate {
        algorithms: provider.signature_verification_algorithms,
    });
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Handshake::Refused(format!("TLS could not be set up: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![ACME_TLS_ALPN.to_vec()];
    let name = ServerName::try_from(domain.to_owned())
        .map_err(|e| Handshake::Refused(format!("is not a name TLS can ask for: {e}")))?;
    let tcp = TcpStream::connect(SocketAddr::new(ip, port))
        .await
        .map_err(|e| Handshake::Unanswered(e.to_string()))?;
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| Handshake::Refused(format!("failed the TLS handshake for acme-tls/1: {e}")))?;
    let (_, session) = tls.get_ref();
    if session.alpn_protocol() != Some(ACME_TLS_ALPN) {
        return Err(Handshake::Refused(
            "did not negotiate the ALPN protocol acme-tls/1; the ACME client must answer \
             the challenge on port 443"
                .into(),
        ));
    }
    session
        .peer_certificates()
        .and_then(|chain| chain.first())
        .map(|c| c.as_ref().to_vec())
        .ok_or_else(|| Handshake::Refused("presented no certificate".into()))
}

/// Checks the presented certificate: exactly one subjectAltName, the name; the
/// acmeIdentifier extension critical and holding `expected`.
fn inspect(der: &[u8], domain: &str, expected: &[u8; 32]) -> Result<(), String> {
    let (_, cert) = X509Certificate::from_der(der).map_err(|e| format!("cannot be read ({e})"))?;
    let sans: Vec<String> = match cert.subject_alternative_name() {
        Ok(Some(san)) => san
            .value
            .general_names
            .iter()
            .map(|n| match n {
                GeneralName::DNSName(d) => d.to_ascii_lowercase(),
                other => format!("{other:?}"),
            })
            .collect(),
        Ok(None) => Vec::new(),
        Err(e) => return Err(format!("has an unreadable subjectAltName ({e})")),
    };
    if sans != [domain] {
        return Err(format!(
            "must name exactly {domain} in its subjectAltName, but names [{}]",
            sans.join(", ")
        ));
    }
    let extension = cert
        .extensions()
        .iter()
        .find(|e| e.oid.to_id_string() == ACME_IDENTIFIER_OID)
        .ok_or("has no acmeIdentifier extension (1.3.6.1.5.5.7.1.31)")?;
    if !extension.critical {
        return Err("has an acmeIdentifier extension that is not critical".into());
    }
    // The extension's value is the DER of `Authorization ::= OCTET STRING (SIZE (32))`.
    let value = extension.value;
    let digest = match value {
        [0x04, 0x20, rest @ ..] if rest.len() == 32 => rest,
        _ => return Err("has an acmeIdentifier that is not a 32-byte OCTET STRING".into()),
    };
    if digest != expected {
        return Err(
            "holds an acmeIdentifier for another key authorization (another token or \
             another account key)"
                .into(),
        );
    }
    Ok(())
}

/// Accepts any certificate (see the module documentation), still checking the handshake
/// signature against the presented key.
#[derive(Debug)]
struct AnyCertificate {
    algorithms: WebPkiSupportedAlgorithms,
}

impl AnyCertificate {
    /// Checks the handshake signature with the key of the presented certificate. rustls's
    /// own helpers parse the certificate with webpki, which refuses the critical extension
    /// tls-alpn-01 requires, so the key is taken out with x509-parser and each algorithm the
    /// signature scheme may stand for is tried (TLS 1.2 does not name the curve).
    fn verify_with_presented_key(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let (_, parsed) = X509Certificate::from_der(cert.as_ref())
            .map_err(|e| rustls::Error::General(format!("the certificate cannot be read: {e}")))?;
        let key = parsed.public_key().subject_public_key.data.as_ref();
        let candidates = self
            .algorithms
            .mapping
            .iter()
            .filter(|(scheme, _)| *scheme == dss.scheme)
            .flat_map(|(_, algs)| algs.iter());
        if candidates
            .into_iter()
            .any(|alg| alg.verify_signature(key, message, dss.signature()).is_ok())
        {
            Ok(HandshakeSignatureValid::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::BadSignature,
            ))
        }
    }
}

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.verify_with_presented_key(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.verify_with_presented_key(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
