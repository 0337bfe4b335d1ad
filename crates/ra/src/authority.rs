//! The loaded authority: the store, the profiles, and the CAs with their keys decrypted.
//!
//! Loading checks, in order: the store is initialised; the KEK is the one the CA was made
//! with (a check value, so a wrong key is a clear start-up error and never a silent new
//! CA); every CA key decrypts and matches its certificate.

use crate::clock::Clock;
use crate::setup::ca_key_purpose;
use crate::{RaError, Result, urls};
use base64::Engine as _;
use castellan_model::{CaId, Hierarchy};
use castellan_pki::issue::IssuingCa;
use castellan_pki::kek::Kek;
use castellan_pki::profile::ProfileSet;
use castellan_pki::rand::Rng;
use castellan_pki::signer::{Signer, SoftwareSigner};
use castellan_store::{CaRecord, CaRole, Store, settings};
use std::collections::HashMap;
use std::sync::Arc;

/// How the authority is wired to the outside.
#[derive(Clone, Debug)]
pub struct AuthorityOptions {
    /// Base of the AIA/CRL/OCSP URLs put into certificates (`http://…`).
    pub pki_base_url: String,
    /// Where the KEK came from, for messages (a path or `CASTELLAN_KEK`).
    pub kek_source: String,
}

/// One CA as `castellan ca show` prints it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaSummary {
    /// Row id.
    pub id: CaId,
    /// Short name used in URLs.
    pub slug: String,
    /// RSA or ECC.
    pub hierarchy: Hierarchy,
    /// Root or issuing.
    pub role: &'static str,
    /// Subject.
    pub subject: String,
    /// Key type short name.
    pub key_type: String,
    /// Serial, hex.
    pub serial: String,
    /// SHA-256 fingerprint, hex.
    pub sha256_fingerprint: String,
    /// notBefore, Unix seconds.
    pub not_before: i64,
    /// notAfter, Unix seconds.
    pub not_after: i64,
}

pub(crate) fn summaries(records: &[CaRecord]) -> Vec<CaSummary> {
    records
        .iter()
        .map(|r| CaSummary {
            id: r.id,
            slug: r.ca.slug.clone(),
            hierarchy: r.ca.hierarchy,
            role: r.ca.role.as_str(),
            subject: r.ca.subject.clone(),
            key_type: r.ca.key_type.clone(),
            serial: r.ca.serial.clone(),
            sha256_fingerprint: r.ca.sha256_fingerprint.clone(),
            not_before: r.ca.not_before,
            not_after: r.ca.not_after,
        })
        .collect()
}

pub(crate) struct LoadedCa {
    pub(crate) record: CaRecord,
    pub(crate) signer: Arc<dyn Signer>,
}

/// An issuing CA ready to sign, with the chain above it.
pub(crate) struct ActiveIssuer {
    pub(crate) id: CaId,
    /// The CA's short name (in its URLs).
    pub(crate) slug: String,
    pub(crate) ca: IssuingCa,
    /// The issuing CA's certificate then the root's, DER.
    pub(crate) chain: Vec<Vec<u8>>,
}

/// The registration authority, loaded and ready.
pub struct Authority {
    pub(crate) store: Store,
    pub(crate) committer: crate::committer::Committer,
    pub(crate) profiles: ProfileSet,
    pub(crate) cas: Vec<LoadedCa>,
    pub(crate) issuers: HashMap<Hierarchy, ActiveIssuer>,
    pub(crate) kek: Kek,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) rng: Arc<dyn Rng>,
    pub(crate) options: AuthorityOptions,
    pub(crate) customer_uri: String,
    pub(crate) validation: crate::dcv::Validation,
    pub(crate) ssl_custom_fields: Vec<crate::orders::CustomField>,
    pub(crate) revocation: crate::revocation::Revocation,
    pub(crate) acme_servers: Vec<crate::acme_accounts::AcmeServer>,
    pub(crate) acme: crate::acme_accounts::AcmeSettings,
    /// ACME nonces, when they are kept in memory (SQLite; see `acme_nonces`).
    pub(crate) acme_nonces: Option<crate::acme_nonces::NonceBook>,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Authority({:?}, {} CAs)", self.store, self.cas.len())
    }
}

impl Authority {
    /// Loads the authority from an initialised store.
    pub async fn load(
        store: Store,
        kek: Kek,
        profiles: ProfileSet,
        options: AuthorityOptions,
        clock: Arc<dyn Clock>,
        rng: Arc<dyn Rng>,
    ) -> Result<Authority> {
        store.migrate().await?;
        if !store.is_initialised().await? {
            return Err(RaError::NotInitialised {
                target: store.target().to_owned(),
            });
        }
        let check = store
            .setting(settings::KEK_CHECK)
            .await?
            .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
            .ok_or_else(|| {
                RaError::Internal("the KEK check value is missing from the database".into())
            })?;
        if !kek.matches_check_value(&check) {
            return Err(RaError::KekMismatch {
                source_name: options.kek_source.clone(),
            });
        }
        let customer_uri = store
            .setting(settings::CUSTOMER_URI)
            .await?
            .unwrap_or_else(|| "castellan".into());

        let mut cas = Vec::new();
        for record in store.certificate_authorities().await? {
            let pkcs8 = kek.open(&record.ca.encrypted_key, &ca_key_purpose(&record.ca.slug))?;
            let signer: Arc<dyn Signer> = Arc::new(SoftwareSigner::from_pkcs8(&pkcs8)?);
            cas.push(LoadedCa { record, signer });
        }
        let ca_key_hashes: Vec<[u8; 32]> = cas
            .iter()
            .map(|c| castellan_pki::keys::sha256(c.signer.spki_der()))
            .collect();

        let mut issuers = HashMap::new();
        for hierarchy in [Hierarchy::Rsa, Hierarchy::Ecc] {
            let issuing = cas
                .iter()
                .filter(|c| {
                    c.record.active
                        && c.record.ca.hierarchy == hierarchy
                        && c.record.ca.role == CaRole::Issuing
                })
                .max_by_key(|c| c.record.ca.not_after)
                .ok_or_else(|| {
                    RaError::Internal(format!("no active {hierarchy} issuing CA in the database"))
                })?;
            let root = cas
                .iter()
                .find(|c| Some(c.record.id) == issuing.record.ca.parent_id)
                .ok_or_else(|| {
                    RaError::Internal(format!(
                        "the {hierarchy} issuing CA has no root in the database"
                    ))
                })?;
            let ca = IssuingCa::new(
                issuing.signer.clone(),
                issuing.record.ca.certificate_der.clone(),
                urls::ca_urls(&options.pki_base_url, &issuing.record.ca.slug),
                ca_key_hashes.clone(),
            )?;
            issuers.insert(
                hierarchy,
                ActiveIssuer {
                    id: issuing.record.id,
                    slug: issuing.record.ca.slug.clone(),
                    ca,
                    chain: vec![
                        issuing.record.ca.certificate_der.clone(),
                        root.record.ca.certificate_der.clone(),
                    ],
                },
            );
        }
        let revocation = crate::revocation::Revocation::new(
            crate::revocation::RevocationSettings::default(),
            crate::revocation::issuer_ids(&cas)?,
        );
        Ok(Authority {
            revocation,
            acme_servers: crate::acme_accounts::default_servers(),
            acme: crate::acme_accounts::AcmeSettings::default(),
            acme_nonces: (store.kind() == castellan_model::DatabaseKind::Sqlite)
                .then(crate::acme_nonces::NonceBook::default),
            committer: crate::committer::Committer::start(store.clone()),
            store,
            profiles,
            cas,
            issuers,
            kek,
            clock,
            rng,
            options,
            customer_uri,
            validation: crate::dcv::Validation::new(crate::dcv::ValidationSettings::default())?,
            ssl_custom_fields: Vec::new(),
        })
    }

    /// Replaces the validation settings (resolvers, network rules, DCV zone, periods).
    pub fn with_validation(
        mut self,
        settings: crate::dcv::ValidationSettings,
    ) -> Result<Authority> {
        self.validation = crate::dcv::Validation::new(settings)?;
        Ok(self)
    }

    /// Replaces the CRL and OCSP settings (refused with the setting's name if unusable).
    pub fn with_revocation(
        mut self,
        settings: crate::revocation::RevocationSettings,
    ) -> Result<Authority> {
        settings.check().map_err(|reason| RaError::InvalidInput {
            field: "revocation",
            reason,
        })?;
        self.revocation =
            crate::revocation::Revocation::new(settings, crate::revocation::issuer_ids(&self.cas)?);
        Ok(self)
    }

    /// The store (for health checks and the jobs that share it).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Returns once every commit made so far is on disk: what an answer waits for before it
    /// hands out what it read (see `Store::settle`, ADR 0019).
    pub async fn settle(&self) -> Result<()> {
        Ok(self.store.settle().await?)
    }

    /// The certificate profiles.
    pub fn profiles(&self) -> &ProfileSet {
        &self.profiles
    }

    /// The customer URI (`/customer/<uri>/`).
    pub fn customer_uri(&self) -> &str {
        &self.customer_uri
    }

    /// A page of the portal, for links in mail: `<base_url>/customer/<uri><path>`.
    pub(crate) fn portal_url(&self, path: &str) -> String {
        format!(
            "{}/customer/{}{path}",
            self.validation.settings.base_url.trim_end_matches('/'),
            self.customer_uri
        )
    }

    /// Base of the AIA/CRL/OCSP URLs.
    pub fn pki_base_url(&self) -> &str {
        &self.options.pki_base_url
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The root CA certificates (DER), which administrators' client certificates for
    /// `/private/api` must chain to.
    pub fn root_certificates(&self) -> Vec<Vec<u8>> {
        self.cas
            .iter()
            .filter(|c| c.record.ca.role == castellan_store::CaRole::Root)
            .map(|c| c.record.ca.certificate_der.clone())
            .collect()
    }

    /// The CA hierarchy, roots first.
    pub fn hierarchy(&self) -> Vec<CaSummary> {
        let records: Vec<CaRecord> = self.cas.iter().map(|c| c.record.clone()).collect();
        summaries(&records)
    }

    /// The certificate of the CA with `slug`, DER.
    pub fn ca_certificate(&self, slug: &str) -> Option<Vec<u8>> {
        self.cas
            .iter()
            .find(|c| c.record.ca.slug == slug)
            .map(|c| c.record.ca.certificate_der.clone())
    }

    /// The signer of the active issuing CA of `hierarchy` (the benchmark compares
    /// issuance with this key's raw signing rate).
    pub fn issuing_signer(&self, hierarchy: Hierarchy) -> Option<Arc<dyn Signer>> {
        self.issuers
            .get(&hierarchy)
            .map(|issuer| issuer.ca.signer().clone())
    }

    /// A loaded CA by id.
    pub(crate) fn loaded_ca(&self, id: CaId) -> Result<&LoadedCa> {
        self.cas
            .iter()
            .find(|c| c.record.id == id)
            .ok_or_else(|| RaError::Internal(format!("certificate authority {id} is unknown")))
    }

    /// The certificate chain above a CA: the CA's certificate, then its parents' up to the
    /// root, DER.
    pub(crate) fn chain_of(&self, ca_id: CaId) -> Result<Vec<Vec<u8>>> {
        let mut chain = Vec::new();
        let mut next = Some(ca_id);
        while let Some(id) = next {
            let ca = self.cas.iter().find(|c| c.record.id == id).ok_or_else(|| {
                RaError::Internal(format!("certificate authority {id} is unknown"))
            })?;
            chain.push(ca.record.ca.certificate_der.clone());
            next = ca.record.ca.parent_id;
            if chain.len() > 8 {
                return Err(RaError::Internal("the CA chain loops".into()));
            }
        }
        Ok(chain)
    }
}
