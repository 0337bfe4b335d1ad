//! A small initialised authority on a fresh database.

use castellan_model::{KeyType, OrganizationDetails};
use castellan_pki::kek::Kek;
use castellan_pki::profile::ProfileSet;
use castellan_pki::rand::{Rng, SystemRng};
use castellan_pki::signer::SoftwareSigner;
use castellan_ra::clock::{Clock, FixedClock};
use castellan_ra::setup::{CaSetup, FirstAdmin, InitParams};
use castellan_ra::{Authority, AuthorityOptions, IssueCommand, KeySource};
use castellan_store::Store;
use castellan_testkit::db::TestDb;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use time::OffsetDateTime;
use zeroize::Zeroizing;

pub const PKI_BASE: &str = "http://pki.camford.ac.uk";

pub fn params() -> InitParams {
    InitParams {
        customer_uri: "camford".into(),
        pki_base_url: PKI_BASE.into(),
        ca: CaSetup {
            // Small RSA keys keep the suite fast; production defaults are 4096/3072.
            rsa_root_bits: 2048,
            rsa_issuing_bits: 2048,
            country: Some("GB".into()),
            ..CaSetup::default()
        },
        admin: FirstAdmin {
            login: "admin".into(),
            email: "admin@camford.ac.uk".into(),
            password: Zeroizing::new("correct horse battery".into()),
        },
    }
}

/// An initialised authority. The database it runs on is returned beside it by the
/// constructors, so a test body that moves only some fields cannot drop it early.
pub struct Fixture {
    pub authority: Authority,
    pub store: Store,
    pub kek_text: String,
    pub clock: Arc<FixedClock>,
    /// The DNS server validation asks (CAA at issuance, DCV): real, on loopback, empty.
    pub dns: Arc<castellan_testkit::dns::TestDns>,
}

/// Validation settings that ask `dns` and allow loopback targets.
pub fn validation(dns: &castellan_testkit::dns::TestDns) -> castellan_ra::dcv::ValidationSettings {
    castellan_ra::dcv::ValidationSettings {
        dns_servers: vec![dns.addr()],
        dns_timeout: std::time::Duration::from_secs(2),
        allow_private_targets: true,
        dcv_zone: "dcv.castellan.test".into(),
        caa_identities: vec!["castellan.test".into()],
        // The tests change CAA records between checks; reuse is va's tests' subject.
        caa_cache_max: std::time::Duration::ZERO,
        base_url: "https://certs.camford.ac.uk".into(),
        ..castellan_ra::dcv::ValidationSettings::default()
    }
}

pub async fn fixture_with(db: &TestDb, rng: Arc<dyn Rng>) -> Fixture {
    let store = db.open().await;
    let (kek, text) = Kek::generate(&SystemRng).unwrap();
    let clock = Arc::new(FixedClock::new(
        OffsetDateTime::now_utc().replace_nanosecond(0).unwrap(),
    ));
    castellan_ra::setup::initialise(&store, &kek, &params(), clock.as_ref(), &SystemRng)
        .await
        .unwrap();
    let dns = Arc::new(castellan_testkit::dns::TestDns::start().await);
    let authority = load(&store, &text, clock.clone(), rng)
        .await
        .unwrap()
        .with_validation(validation(&dns))
        .unwrap();
    Fixture {
        authority,
        store,
        kek_text: text.to_string(),
        clock,
        dns,
    }
}

pub async fn load(
    store: &Store,
    kek_text: &str,
    clock: Arc<dyn Clock>,
    rng: Arc<dyn Rng>,
) -> castellan_ra::Result<Authority> {
    Authority::load(
        store.clone(),
        Kek::from_base64(kek_text).unwrap(),
        ProfileSet::defaults().unwrap(),
        AuthorityOptions {
            pki_base_url: PKI_BASE.into(),
            kek_source: "the test KEK".into(),
        },
        clock,
        rng,
    )
    .await
}

pub async fn sqlite_fixture() -> (Fixture, TestDb) {
    let db = TestDb::new_sqlite();
    (fixture_with(&db, Arc::new(SystemRng)).await, db)
}

pub async fn postgres_fixture() -> (Fixture, TestDb) {
    let db = TestDb::new_postgres().await;
    (fixture_with(&db, Arc::new(SystemRng)).await, db)
}

pub fn organization() -> OrganizationDetails {
    OrganizationDetails {
        name: "University of Camford".into(),
        locality: Some("Camford".into()),
        country: "GB".into(),
        ..OrganizationDetails::default()
    }
}

/// A CSR for a fresh key of `key_type`.
pub fn csr(key_type: KeyType, cn: &str, sans: &[&str]) -> Vec<u8> {
    let key = castellan_pki::keys::generate(key_type).unwrap();
    let signer = SoftwareSigner::from_pkcs8(&key.pkcs8).unwrap();
    let sans: Vec<String> = sans.iter().map(|s| s.to_string()).collect();
    castellan_pki::csr::create(&signer, cn, &sans).unwrap()
}

pub fn ov_command(csr: Vec<u8>, term: u32) -> IssueCommand {
    IssueCommand {
        profile: "OV SSL".into(),
        key: KeySource::Csr(csr),
        term_days: term,
        extra_names: vec![],
        organization_id: None,
        organization: Some(organization()),
        person: None,
        requested_via: "CLI".into(),
        requester: "test".into(),
    }
}

/// Hands out scripted 16-byte values (serials) first, then system randomness.
pub struct ScriptedSerials(pub Mutex<VecDeque<[u8; 16]>>);

impl Rng for ScriptedSerials {
    fn fill(&self, dest: &mut [u8]) -> castellan_pki::Result<()> {
        if dest.len() == 16
            && let Some(next) = self.0.lock().unwrap().pop_front()
        {
            dest.copy_from_slice(&next);
            return Ok(());
        }
        SystemRng.fill(dest)
    }
}

/// A mailer that delivers to the SMTP sink on `port` (plain SMTP on loopback).
pub fn sink_mailer(port: u16) -> castellan_notify::Mailer {
    castellan_notify::Mailer::new(&castellan_notify::SmtpSettings {
        host: "127.0.0.1".into(),
        port,
        security: castellan_notify::Security::None,
        username: String::new(),
        password: String::new(),
        from: "Castellan <certs@camford.ac.uk>".into(),
    })
    .unwrap()
}
