//! Shared fixtures: a test CA hierarchy, CSRs made by the real `openssl` CLI, and the
//! external oracles (`openssl verify`, `pkilint`).

use castellan_model::{EvDetails, KeyType, OrganizationDetails, PersonDetails};
use castellan_pki::hierarchy::{self, CaName};
use castellan_pki::issue::{CaUrls, IssuingCa};
use castellan_pki::keys;
use castellan_pki::rand::SystemRng;
use castellan_pki::serial::Serial;
use castellan_pki::signer::{Signer, SoftwareSigner};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use time::OffsetDateTime;

pub use castellan_testkit::tools::{openssl, run, tool};

/// The two test hierarchies, made once per test binary.
pub struct TestCa {
    pub rsa: IssuingCa,
    pub ecc: IssuingCa,
    /// Issuing CA then root, DER.
    pub rsa_chain: Vec<Vec<u8>>,
    pub ecc_chain: Vec<Vec<u8>>,
}

impl TestCa {
    pub fn for_key(&self, key_type: KeyType) -> (&IssuingCa, &[Vec<u8>]) {
        if key_type.is_rsa() {
            (&self.rsa, &self.rsa_chain)
        } else {
            (&self.ecc, &self.ecc_chain)
        }
    }
}

fn signer(key_type: KeyType) -> Arc<SoftwareSigner> {
    let key = keys::generate(key_type).unwrap();
    Arc::new(SoftwareSigner::from_pkcs8(&key.pkcs8).unwrap())
}

fn name(cn: &str) -> CaName {
    CaName {
        country: Some("GB".into()),
        organization: "Castellan Test".into(),
        common_name: cn.into(),
    }
}

fn urls(slug: &str) -> CaUrls {
    CaUrls {
        ocsp: "http://pki.camford.ac.uk/ocsp".into(),
        ca_issuers: format!("http://pki.camford.ac.uk/ca/{slug}.crt"),
        crl: format!("http://pki.camford.ac.uk/crl/{slug}.crl"),
    }
}

fn build_hierarchy(
    root_key: KeyType,
    issuing_key: KeyType,
    label: &str,
) -> (IssuingCa, Vec<Vec<u8>>, [u8; 32], [u8; 32]) {
    let now = OffsetDateTime::now_utc() - time::Duration::hours(1);
    let root = signer(root_key);
    let root_der = hierarchy::root_certificate(
        root.as_ref(),
        &name(&format!("Castellan Test {label} Root")),
        now,
        3650,
        &Serial::random(&SystemRng).unwrap(),
    )
    .unwrap();
    let issuing = signer(issuing_key);
    let root_slug = format!("{}-root-1", label.to_lowercase());
    let issuing_der = hierarchy::issuing_certificate(
        root.as_ref(),
        &root_der,
        &urls(&root_slug).ca_issuers,
        &urls(&root_slug).crl,
        issuing.spki_der(),
        &name(&format!("Castellan Test {label} Issuing CA")),
        now,
        1825,
        &Serial::random(&SystemRng).unwrap(),
    )
    .unwrap();
    let root_hash = keys::sha256(root.spki_der());
    let issuing_hash = keys::sha256(issuing.spki_der());
    let ca = IssuingCa::new(
        issuing,
        issuing_der.clone(),
        urls(&format!("{}-issuing-1", label.to_lowercase())),
        vec![root_hash, issuing_hash],
    )
    .unwrap();
    (ca, vec![issuing_der, root_der], root_hash, issuing_hash)
}

pub fn test_ca() -> &'static TestCa {
    static CA: OnceLock<TestCa> = OnceLock::new();
    CA.get_or_init(|| {
        let (rsa, rsa_chain, _, _) = build_hierarchy(KeyType::Rsa(4096), KeyType::Rsa(3072), "RSA");
        let (ecc, ecc_chain, _, _) = build_hierarchy(KeyType::EcP384, KeyType::EcP384, "ECC");
        TestCa {
            rsa,
            ecc,
            rsa_chain,
            ecc_chain,
        }
    })
}

pub fn organization() -> OrganizationDetails {
    OrganizationDetails {
        name: "University of Camford".into(),
        secondary_name: Some("Camford University".into()),
        street: Some("1 King's Parade".into()),
        locality: Some("Camford".into()),
        state: Some("Camfordshire".into()),
        postal_code: Some("CF1 1AA".into()),
        country: "GB".into(),
        organization_identifier: Some("NTRGB-RC000123".into()),
        ev: Some(EvDetails {
            business_category: "Private Organization".into(),
            jurisdiction_country: "GB".into(),
            jurisdiction_state: None,
            jurisdiction_locality: None,
            registration_number: "RC000123".into(),
        }),
    }
}

pub fn person() -> PersonDetails {
    PersonDetails {
        given_name: Some("Jo".into()),
        surname: Some("Bloggs".into()),
        common_name: None,
        email: "jo.bloggs@camford.ac.uk".into(),
    }
}

/// A scratch directory that lives as long as the value.
pub fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// Makes a key and CSR with the openssl CLI. `key` is `rsa:2048`, `rsa:3072` or `P-256`.
pub fn openssl_csr(dir: &Path, key: &str, subject: &str, sans: &[&str]) -> (Vec<u8>, PathBuf) {
    let key_path = dir.join(format!("{}.key", key.replace(':', "-")));
    let csr_path = dir.join(format!("{}.csr", key.replace(':', "-")));
    let mut cmd = openssl();
    cmd.args(["req", "-new", "-nodes", "-keyout"])
        .arg(&key_path);
    if let Some(curve) = key.strip_prefix("P-") {
        cmd.args([
            "-newkey",
            "ec",
            "-pkeyopt",
            &format!("ec_paramgen_curve:P-{curve}"),
        ]);
    } else {
        cmd.args(["-newkey", key]);
    }
    cmd.args(["-subj", subject, "-out"]).arg(&csr_path);
    if !sans.is_empty() {
        cmd.args(["-addext", &format!("subjectAltName={}", sans.join(","))]);
    }
    run(&mut cmd);
    (std::fs::read(&csr_path).unwrap(), key_path)
}

/// Writes DER certificates as one PEM file.
pub fn write_pem(path: &Path, certs: &[&[u8]]) {
    let pem: String = certs
        .iter()
        .map(|der| castellan_pki::encode::pem_encode("CERTIFICATE", der))
        .collect();
    std::fs::write(path, pem).unwrap();
}

/// `openssl verify -x509_strict` of `leaf` against `chain` (issuing CA, root).
pub fn openssl_verify(dir: &Path, leaf: &[u8], chain: &[Vec<u8>], purpose: Option<&str>) {
    let root = dir.join("root.pem");
    let untrusted = dir.join("untrusted.pem");
    let leaf_path = dir.join("leaf.pem");
    write_pem(&root, &[chain.last().unwrap()]);
    write_pem(
        &untrusted,
        &chain[..chain.len() - 1]
            .iter()
            .map(Vec::as_slice)
            .collect::<Vec<_>>(),
    );
    write_pem(&leaf_path, &[leaf]);
    let mut cmd = openssl();
    cmd.args(["verify", "-x509_strict", "-CAfile"])
        .arg(&root)
        .arg("-untrusted")
        .arg(&untrusted);
    if let Some(p) = purpose {
        cmd.args(["-purpose", p]);
    }
    let out = run(cmd.arg(&leaf_path));
    assert!(out.trim_end().ends_with(": OK"), "openssl verify: {out}");
}

/// Runs a pkilint linter (with `-d`, document type detection) on a DER certificate; returns
/// the findings at WARNING or above and panics on ERROR or FATAL.
pub fn pkilint(dir: &Path, linter: &str, der: &[u8]) -> Vec<(String, String)> {
    castellan_testkit::tools::pkilint(dir, linter, &["-d"], der)
}

/// `lint_pkix_cert` (RFC 5280 only), for profiles outside the CA/B Forum linters.
pub fn pkilint_pkix(dir: &Path, der: &[u8]) -> Vec<(String, String)> {
    castellan_testkit::tools::pkilint(dir, "lint_pkix_cert", &[], der)
}

/// The pkilint warning codes `docs/profiles.md` lists with a reason.
pub fn documented_warnings() -> Vec<String> {
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/profiles.md"),
    )
    .unwrap_or_default();
    doc.lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_owned)
        .collect()
}
