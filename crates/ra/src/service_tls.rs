//! Castellan's own HTTPS server certificate, issued by its own CA at start-up.
//!
//! The certificate is reused while it covers the configured names and has more than 30
//! days left; otherwise a new one is issued (a P-256 key generated and kept encrypted like
//! any server-held key). It goes through the same signing, lints and store as every other
//! certificate, with the built-in DV profile, which allows `localhost` and IP addresses.

use crate::authority::Authority;
use crate::issuance::{CheckedRequest, IssueCommand, KeySource, certificate_key_purpose};
use crate::{RaError, Result, requested_via};
use castellan_model::{CertificateStatus, KeyType};
use castellan_pki::keys;
use castellan_pki::names::CertificateNames;
use castellan_pki::profile::{SERVICE_TLS_PROFILE_ID, service_tls_profile};
use castellan_pki::serial::Serial;
use castellan_store::CertificateFilter;
use std::net::IpAddr;
use zeroize::Zeroizing;

/// Renew the service certificate when fewer days than this are left (or a third of its
/// term, when terms get short).
const RENEW_BEFORE_DAYS: i64 = 30;

/// The HTTPS listener's certificate chain and key.
pub struct ServiceTls {
    /// Leaf, then the issuing CA, DER (the root is left out, as TLS servers do).
    pub chain: Vec<Vec<u8>>,
    /// The private key, PKCS#8 DER.
    pub key_pkcs8: Zeroizing<Vec<u8>>,
    /// The leaf's serial, hex.
    pub serial: String,
    /// The leaf's notAfter, Unix seconds.
    pub not_after: i64,
}

impl Authority {
    /// The service certificate for `dns_names` and `ips`, reused or newly issued.
    pub async fn service_tls(&self, dns_names: &[String], ips: &[IpAddr]) -> Result<ServiceTls> {
        let profile = service_tls_profile(self.clock.now())?;
        let term = profile.terms[0];
        let renew_before = RENEW_BEFORE_DAYS.min(i64::from(term) / 3) * 86_400;
        let mut names: Vec<String> = dns_names.iter().map(|n| n.trim().to_lowercase()).collect();
        names.sort();
        names.dedup();
        if names.is_empty() {
            return Err(RaError::InvalidInput {
                field: "tls names",
                reason: "the service certificate needs at least one DNS name".into(),
            });
        }
        let now = self.clock.now().unix_timestamp();
        let (candidates, _) = self
            .store
            .search_certificates(&CertificateFilter {
                status: Some(CertificateStatus::Issued),
                profile_id: Some(castellan_model::ProfileId(SERVICE_TLS_PROFILE_ID)),
                limit: Some(20),
                ..CertificateFilter::default()
            })
            .await?;
        for record in candidates {
            let cert = &record.certificate;
            if cert.not_after - now < renew_before {
                continue;
            }
            let info = castellan_pki::inspect::inspect(&cert.der)?;
            let covers = names.iter().all(|n| info.dns_names.contains(n));
            let ip_text: Vec<String> = ips.iter().map(IpAddr::to_string).collect();
            let covers_ips = ip_text
                .iter()
                .all(|ip| castellan_pki::inspect::has_ip(&cert.der, ip));
            if let (true, true, Some(sealed)) = (covers, covers_ips, &cert.encrypted_private_key) {
                let serial = Serial::from_hex(&cert.serial)?;
                let key = self.kek.open(sealed, &certificate_key_purpose(&serial))?;
                let mut chain = vec![cert.der.clone()];
                chain.extend(self.chain_of(cert.issuer_ca_id)?.into_iter().take(1));
                return Ok(ServiceTls {
                    chain,
                    key_pkcs8: key,
                    serial: cert.serial.clone(),
                    not_after: cert.not_after,
                });
            }
        }

        let generated = tokio::task::spawn_blocking(|| keys::generate(KeyType::EcP256))
            .await
            .map_err(|e| RaError::Internal(format!("key generation task failed: {e}")))??;
        let public_key = keys::check_public_key(&generated.spki_der)?;
        let checked = CheckedRequest {
            public_key,
            names: CertificateNames {
                common_name: names.first().cloned(),
                dns_names: names,
                emails: Vec::new(),
                ip_addresses: ips.to_vec(),
            },
            csr_der: None,
            private_key: Some(generated.pkcs8.clone()),
        };
        let cmd = IssueCommand {
            profile: profile.name.clone(),
            key: KeySource::Generate(KeyType::EcP256),
            term_days: term,
            extra_names: Vec::new(),
            organization_id: None,
            organization: None,
            person: None,
            requested_via: requested_via::SERVICE.into(),
            requester: "castellan".into(),
        };
        let issued = self.sign_and_store(&profile, &cmd, checked, None).await?;
        let mut chain = vec![issued.leaf.der.clone()];
        chain.extend(issued.chain.into_iter().take(1));
        Ok(ServiceTls {
            chain,
            key_pkcs8: generated.pkcs8,
            serial: issued.leaf.serial.to_hex(),
            not_after: issued.leaf.not_after,
        })
    }
}
