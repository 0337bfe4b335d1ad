//! Behaviour of the loaded authority.

use crate::support::*;
use castellan_model::{
    CertificateStatus, DownloadFormat, Hierarchy, KeyType, ProfileId, RequestId,
};
use castellan_pki::kek::Kek;
use castellan_pki::rand::SystemRng;
use castellan_ra::clock::Clock;
use castellan_ra::{CertificateSelector, IssueCommand, KeySource, RaError};
use castellan_store::CertificateFilter;
use castellan_testkit::db::TestDb;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

on_both!(
    issuance_stores_the_request_and_the_certificate,
    |fx: Fixture| async move {
        let issued = fx
            .authority
            .issue_certificate(ov_command(
                csr(KeyType::EcP256, "www.camford.ac.uk", &[]),
                90,
            ))
            .await
            .unwrap();
        assert_eq!(issued.profile, "OV SSL");
        assert_eq!(
            issued.leaf.not_after - issued.leaf.not_before,
            90 * 86_400 - 1
        );
        let record = fx
            .authority
            .certificate(&CertificateSelector::Serial(
                issued.leaf.serial.to_colon_hex(),
            ))
            .await
            .unwrap();
        assert_eq!(record.id, issued.id);
        assert_eq!(record.certificate.status, CertificateStatus::Issued);
        assert_eq!(
            record.certificate.dns_names,
            ["camford.ac.uk", "www.camford.ac.uk"]
        );
        assert_eq!(record.certificate.key_type, "EC - P-256");
        assert!(record.certificate.encrypted_private_key.is_none());
        let request = fx
            .store
            .request_by_id(issued.request_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(request.request.status, CertificateStatus::Issued);
        assert_eq!(request.request.requested_via, "CLI");
        assert!(request.request.csr_der.is_some());
        // The ECDSA key went to the ECC hierarchy.
        let info = castellan_pki::inspect::inspect(&record.certificate.der).unwrap();
        assert!(
            info.issuer.contains("Castellan ECC Issuing CA 1"),
            "{}",
            info.issuer
        );
        // Found by SAN.
        let (by_name, _) = fx
            .store
            .search_certificates(&CertificateFilter {
                name: Some("camford.ac.uk".into()),
                ..CertificateFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(by_name.len(), 1);
    }
);

on_both!(a_refused_request_stores_nothing, |fx: Fixture| async move {
    let err = fx
        .authority
        .issue_certificate(ov_command(
            csr(KeyType::Rsa(2048), "www.camford.ac.uk", &[]),
            400,
        ))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "profile 'OV SSL' (term): a term of 400 days is not allowed; allowed terms: 90, 199 days"
    );
    assert!(err.is_refusal());
    let (certs, total) = fx
        .store
        .search_certificates(&CertificateFilter::default())
        .await
        .unwrap();
    assert_eq!((certs.len(), total), (0, 0));
    assert!(
        fx.store
            .request_by_id(RequestId(1))
            .await
            .unwrap()
            .is_none()
    );
});

on_both!(
    init_twice_refuses_and_changes_nothing,
    |fx: Fixture| async move {
        let before = fx.store.certificate_authorities().await.unwrap();
        let (kek, _) = Kek::generate(&SystemRng).unwrap();
        let err = castellan_ra::setup::initialise(
            &fx.store,
            &kek,
            &params(),
            fx.clock.as_ref(),
            &SystemRng,
        )
        .await
        .unwrap_err();
        assert!(matches!(err, RaError::AlreadyInitialised { .. }), "{err:?}");
        assert!(err.to_string().contains("is already initialised"), "{err}");
        assert!(err.to_string().contains("nothing was changed"), "{err}");
        let after = fx.store.certificate_authorities().await.unwrap();
        let fingerprints = |cas: &[castellan_store::CaRecord]| {
            cas.iter()
                .map(|c| c.ca.sha256_fingerprint.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(fingerprints(&before), fingerprints(&after));
        assert_eq!(before.len(), 4);
        // The original KEK still opens everything.
        load(
            &fx.store,
            &fx.kek_text,
            fx.clock.clone(),
            Arc::new(SystemRng),
        )
        .await
        .unwrap();
    }
);

#[tokio::test]
async fn a_wrong_kek_is_a_clear_start_up_error() {
    let (fx, _db) = sqlite_fixture().await;
    let (_, other) = Kek::generate(&SystemRng).unwrap();
    let err = load(&fx.store, &other, fx.clock.clone(), Arc::new(SystemRng))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the key-encryption key from the test KEK is not the one this CA was created with, so its \
         keys cannot be decrypted. Restore the original key (file or CASTELLAN_KEK); Castellan \
         will not create a new CA over an existing one"
    );
}

#[tokio::test]
async fn an_uninitialised_store_is_refused() {
    let db = TestDb::new_sqlite();
    let store = db.open().await;
    let err = load(
        &store,
        &Kek::generate(&SystemRng).unwrap().1,
        Arc::new(castellan_ra::clock::SystemClock),
        Arc::new(SystemRng),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, RaError::NotInitialised { .. }), "{err:?}");
    assert!(
        err.to_string()
            .ends_with("has not been initialised; run `castellan init` first"),
        "{err}"
    );
}

#[tokio::test]
async fn an_ecc_hierarchy_takes_its_curves_from_the_setup_and_refuses_rsa() {
    let db = TestDb::new_sqlite();
    let store = db.open().await;
    let (kek, _) = Kek::generate(&SystemRng).unwrap();
    let init = |params: castellan_ra::setup::InitParams| {
        let (store, kek) = (&store, &kek);
        async move {
            castellan_ra::setup::initialise(
                store,
                kek,
                &params,
                &castellan_ra::clock::SystemClock,
                &SystemRng,
            )
            .await
        }
    };
    let mut bad = params();
    bad.ca.ecc_issuing_curve = castellan_model::KeyType::Rsa(2048);
    let err = init(bad).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        RaError::InvalidInput {
            field: "ca.ecc_issuing_curve",
            reason: "RSA - 2048 is not an ECDSA curve; use P-256 or P-384".into(),
        }
        .to_string()
    );
    // A P-256 issuing CA under the P-384 root, as set (and the refused setup left nothing
    // behind: four CAs, not eight).
    let mut p256 = params();
    p256.ca.ecc_issuing_curve = castellan_model::KeyType::EcP256;
    init(p256).await.unwrap();
    let cas = store.certificate_authorities().await.unwrap();
    assert_eq!(cas.len(), 4);
    let key_of = |slug: &str| {
        cas.iter()
            .find(|c| c.ca.slug == slug)
            .map(|c| c.ca.key_type.clone())
            .unwrap()
    };
    assert_eq!(
        (key_of("ecc-root-1"), key_of("ecc-issuing-1")),
        ("p384".to_owned(), "p256".to_owned())
    );
}

#[tokio::test]
async fn a_serial_collision_is_signed_again_never_reused() {
    let taken = [0x42u8; 16];
    let rng = Arc::new(ScriptedSerials(Mutex::new(VecDeque::from([taken, taken]))));
    let db = TestDb::new_sqlite();
    let fx = fixture_with(&db, rng).await;
    let first = fx
        .authority
        .issue_certificate(ov_command(csr(KeyType::EcP256, "a.camford.ac.uk", &[]), 90))
        .await
        .unwrap();
    assert_eq!(first.leaf.serial.as_bytes(), taken);
    let second = fx
        .authority
        .issue_certificate(ov_command(csr(KeyType::EcP256, "b.camford.ac.uk", &[]), 90))
        .await
        .unwrap();
    assert_ne!(
        second.leaf.serial.as_bytes(),
        taken,
        "the taken serial was reused"
    );
    // The stored second certificate carries the serial it was signed with.
    let info = castellan_pki::inspect::inspect(
        &fx.store
            .certificate_by_id(second.id)
            .await
            .unwrap()
            .unwrap()
            .certificate
            .der,
    )
    .unwrap();
    assert_eq!(info.serial, second.leaf.serial);
    let (_, total) = fx
        .store
        .search_certificates(&CertificateFilter::default())
        .await
        .unwrap();
    assert_eq!(total, 2);
}

#[tokio::test]
async fn unknown_profiles_are_named_with_the_alternatives() {
    let (fx, _db) = sqlite_fixture().await;
    let mut cmd = ov_command(csr(KeyType::EcP256, "www.camford.ac.uk", &[]), 90);
    cmd.profile = "Gold SSL".into();
    let err = fx
        .authority
        .issue_certificate(cmd)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("no certificate profile 'Gold SSL'; the profiles are: 'OV SSL' (1), "),
        "{err}"
    );
}

#[tokio::test]
async fn a_ca_key_cannot_be_certified() {
    let (fx, _db) = sqlite_fixture().await;
    let signer = fx.authority.issuing_signer(Hierarchy::Ecc).unwrap();
    let der = castellan_pki::csr::create(signer.as_ref(), "www.camford.ac.uk", &[]).unwrap();
    let err = fx
        .authority
        .issue_certificate(ov_command(der, 90))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "key policy (ca-key-reuse): the request's public key is a key of this certificate authority; generate a new key pair for the certificate"
    );
}

#[tokio::test]
async fn server_held_keys_download_as_pkcs12_only_with_a_passphrase() {
    let (fx, _db) = sqlite_fixture().await;
    let issued = fx
        .authority
        .issue_certificate(IssueCommand {
            key: KeySource::Generate(KeyType::EcP256),
            ..ov_command(vec![], 90)
        })
        .await
        .unwrap_err();
    // A generated key still needs a name: the command above gave none.
    assert_eq!(
        issued.to_string(),
        "profile 'OV SSL' (min-names): at least 1 name(s) needed, got 0"
    );

    let issued = with_generated_key(&fx).await;
    let selector = CertificateSelector::Id(issued.id);
    let record = fx.authority.certificate(&selector).await.unwrap();
    assert!(record.certificate.encrypted_private_key.is_some());
    let p12 = fx
        .authority
        .download(&selector, DownloadFormat::Pkcs12, Some("a long passphrase"))
        .await
        .unwrap();
    assert_eq!(p12.file_name, "www.camford.ac.uk.p12");
    assert!(p12.bytes.len() > 500);
    let err = fx
        .authority
        .download(&selector, DownloadFormat::Pkcs12, None)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid passphrase: the 'pkcs12' format needs a passphrase to protect the private key"
    );

    // A CSR-based certificate has no key here.
    let from_csr = fx
        .authority
        .issue_certificate(ov_command(
            csr(KeyType::EcP256, "mail.camford.ac.uk", &[]),
            90,
        ))
        .await
        .unwrap();
    let err = fx
        .authority
        .download(
            &CertificateSelector::Id(from_csr.id),
            DownloadFormat::Pkcs12,
            Some("a long passphrase"),
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("format 'pkcs12' is not available for this certificate"),
        "{err}"
    );

    let err = fx
        .authority
        .download(
            &CertificateSelector::Serial("0badc0de".into()),
            DownloadFormat::Pem,
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "no certificate with serial 0badc0de");
}

#[tokio::test]
async fn the_service_certificate_is_reused_then_renewed() {
    let (fx, _db) = sqlite_fixture().await;
    let names = vec!["localhost".to_owned(), "ca.camford.ac.uk".to_owned()];
    let ips = vec!["127.0.0.1".parse().unwrap()];
    let first = fx.authority.service_tls(&names, &ips).await.unwrap();
    assert_eq!(first.chain.len(), 2, "leaf and issuing CA");
    let info = castellan_pki::inspect::inspect(&first.chain[0]).unwrap();
    assert_eq!(info.dns_names, ["ca.camford.ac.uk", "localhost"]);
    assert!(castellan_pki::inspect::has_ip(&first.chain[0], "127.0.0.1"));
    let record = fx
        .store
        .certificate_by_serial(&first.serial)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.certificate.profile_id, ProfileId(0));

    let again = fx.authority.service_tls(&names, &ips).await.unwrap();
    assert_eq!(again.serial, first.serial, "reused while valid");

    let more = vec![
        "localhost".to_owned(),
        "ca.camford.ac.uk".to_owned(),
        "pki.camford.ac.uk".to_owned(),
    ];
    let widened = fx.authority.service_tls(&more, &ips).await.unwrap();
    assert_ne!(
        widened.serial, first.serial,
        "a new name needs a new certificate"
    );

    fx.clock.set(fx.clock.now() + time::Duration::days(180));
    let renewed = fx.authority.service_tls(&more, &ips).await.unwrap();
    assert_ne!(
        renewed.serial, widened.serial,
        "renewed when fewer than 30 days are left"
    );
}

/// An OV certificate for www.camford.ac.uk whose P-256 key Castellan generated and keeps.
async fn with_generated_key(fx: &Fixture) -> castellan_ra::IssuedCertificate {
    fx.authority
        .issue_certificate(IssueCommand {
            key: KeySource::Generate(KeyType::EcP256),
            extra_names: vec!["www.camford.ac.uk".into()],
            ..ov_command(vec![], 90)
        })
        .await
        .unwrap()
}

/// Whether `needle` occurs in `haystack`.
fn holds(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn no_server_held_private_key_is_in_the_database_file_in_clear() {
    let (fx, db) = sqlite_fixture().await;
    let issued = with_generated_key(&fx).await;
    // The key and the certificate, as their owner gets them: out of the PKCS#12, through
    // the openssl CLI.
    let p12 = fx
        .authority
        .download(
            &CertificateSelector::Id(issued.id),
            DownloadFormat::Pkcs12,
            Some("a long passphrase"),
        )
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p12_path = dir.path().join("key.p12");
    std::fs::write(&p12_path, &p12.bytes).unwrap();
    let pem_path = dir.path().join("key-and-certificate.pem");
    castellan_testkit::tools::run(castellan_testkit::tools::openssl().args([
        "pkcs12",
        "-in",
        p12_path.to_str().unwrap(),
        "-clcerts",
        "-noenc",
        "-passin",
        "pass:a long passphrase",
        "-out",
        pem_path.to_str().unwrap(),
    ]));
    let der_path = dir.path().join("key.der");
    castellan_testkit::tools::run(castellan_testkit::tools::openssl().args([
        "pkey",
        "-in",
        pem_path.to_str().unwrap(),
        "-outform",
        "DER",
        "-out",
        der_path.to_str().unwrap(),
    ]));
    let der = std::fs::read(&der_path).unwrap();
    // ECPrivateKey: version 1, then the 32-byte private scalar.
    let at = der
        .windows(5)
        .position(|w| w == [0x02, 0x01, 0x01, 0x04, 0x20])
        .expect("an EC private key");
    let scalar = &der[at + 5..at + 37];

    // Everything the database holds on disk: the file and its write-ahead log.
    fx.store.close().await;
    let castellan_testkit::db::TestDb::Sqlite(ref folder) = db else {
        panic!("a SQLite fixture")
    };
    let mut disk = Vec::new();
    for entry in std::fs::read_dir(folder.path()).unwrap() {
        disk.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    // The scan reads what is stored (the certificate is there in DER) …
    let cert_path = dir.path().join("cert.der");
    castellan_testkit::tools::run(castellan_testkit::tools::openssl().args([
        "x509",
        "-in",
        pem_path.to_str().unwrap(),
        "-outform",
        "DER",
        "-out",
        cert_path.to_str().unwrap(),
    ]));
    let cert_der = std::fs::read(&cert_path).unwrap();
    assert!(
        holds(&disk, &cert_der),
        "the scan must see stored data: the certificate's DER is not found"
    );
    // … and finds no private key: neither the scalar nor its PKCS#8 encoding.
    assert!(
        !holds(&disk, scalar),
        "the private scalar is in the database in clear"
    );
    assert!(
        !holds(&disk, &der),
        "the PKCS#8 key is in the database in clear"
    );
}
