//! Downloads in every format of the guide's section 7.6 and the SCM API.

use crate::authority::Authority;
use crate::issuance::certificate_key_purpose;
use crate::{RaError, Result};
use castellan_model::{CertificateId, CertificateStatus, DownloadFormat};
use castellan_pki::encode::{Chain, KeyExport, download};
use castellan_pki::serial::Serial;
use castellan_store::CertificateRecord;

/// How a caller names a certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CertificateSelector {
    /// By id (SCM `sslId`).
    Id(CertificateId),
    /// By serial, hex with or without colons.
    Serial(String),
}

/// A file to hand over.
#[derive(Clone, Debug)]
pub struct Download {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// A file name for `Content-Disposition` or `--out`.
    pub file_name: String,
    /// The format.
    pub format: DownloadFormat,
}

impl Authority {
    /// The stored certificate a selector names.
    pub async fn certificate(&self, selector: &CertificateSelector) -> Result<CertificateRecord> {
        let found = match selector {
            CertificateSelector::Id(id) => self.store.certificate_by_id(*id).await?,
            CertificateSelector::Serial(text) => {
                let serial = Serial::from_hex(text).map_err(|_| RaError::InvalidInput {
                    field: "serial",
                    reason: format!("'{text}' is not a hexadecimal serial number"),
                })?;
                self.store.certificate_by_serial(&serial.to_hex()).await?
            }
        };
        found.ok_or_else(|| RaError::NotFound {
            what: "certificate",
            key: match selector {
                CertificateSelector::Id(id) => format!("with id {id}"),
                CertificateSelector::Serial(s) => format!("with serial {s}"),
            },
        })
    }

    /// The certificate in `format`. PKCS#12 needs the server-held key and a passphrase.
    pub async fn download(
        &self,
        selector: &CertificateSelector,
        format: DownloadFormat,
        passphrase: Option<&str>,
    ) -> Result<Download> {
        let record = self.certificate(selector).await?;
        let cert = &record.certificate;
        if cert.status == CertificateStatus::Revoked {
            return Err(RaError::InvalidInput {
                field: "certificate",
                reason: "the certificate has been revoked and cannot be downloaded".into(),
            });
        }
        let key = if format.needs_private_key() {
            match &cert.encrypted_private_key {
                Some(sealed) => {
                    let serial = Serial::from_hex(&cert.serial)?;
                    Some(self.kek.open(sealed, &certificate_key_purpose(&serial))?)
                }
                None if self.store.escrowed_key(record.id).await?.is_some() => {
                    return Err(RaError::Conflict(format!(
                        "the private key of certificate {} is in escrow: it is handed out \
                         only through a key recovery that a second administrator approves",
                        cert.serial
                    )));
                }
                None => None,
            }
        } else {
            None
        };
        self.package(cert, format, key.as_ref().map(|k| k.as_slice()), passphrase)
    }

    /// `cert` in `format`, with `key` (PKCS#8) for the PKCS#12 formats, which need a
    /// passphrase.
    pub(crate) fn package(
        &self,
        cert: &castellan_store::NewCertificate,
        format: DownloadFormat,
        key: Option<&[u8]>,
        passphrase: Option<&str>,
    ) -> Result<Download> {
        let issuers = self.chain_of(cert.issuer_ca_id)?;
        let chain = Chain {
            leaf: &cert.der,
            issuers: &issuers,
        };
        if format.needs_private_key() && key.is_some() && passphrase.is_none_or(str::is_empty) {
            return Err(RaError::InvalidInput {
                field: "passphrase",
                reason: format!(
                    "the '{format}' format needs a passphrase to protect the private key"
                ),
            });
        }
        let friendly = cert
            .common_name
            .clone()
            .unwrap_or_else(|| cert.serial.clone());
        let bytes = download(
            format,
            chain,
            key.map(|pkcs8| KeyExport {
                pkcs8,
                passphrase: passphrase.unwrap_or_default(),
                friendly_name: &friendly,
            }),
        )?;
        let stem = cert
            .common_name
            .as_deref()
            .unwrap_or(&cert.serial)
            .replace('*', "star")
            .replace(
                |c: char| !c.is_ascii_alphanumeric() && c != '.' && c != '-',
                "_",
            );
        Ok(Download {
            bytes,
            file_name: format!("{stem}.{}", format.file_extension()),
            format,
        })
    }
}
