//! Every download format, parsed back by `openssl`, with the right certificates in the
//! right order.

use crate::profiles::profile;
use crate::support::*;
use castellan_model::{DownloadFormat, KeyType};
use castellan_pki::encode::{Chain, KeyExport, download, pem_blocks};
use castellan_pki::issue::{IssuedLeaf, LeafRequest, issue_leaf};
use castellan_pki::keys;
use castellan_pki::names::{NameRequest, apply_profile};
use castellan_pki::rand::SystemRng;
use castellan_pki::serial::Serial;
use std::path::Path;
use time::OffsetDateTime;

/// A leaf for a key generated here (so PKCS#12 has a key to carry).
fn server_key_leaf() -> (IssuedLeaf, Vec<Vec<u8>>, keys::GeneratedKey) {
    let profile = profile("OV SSL");
    let key = keys::generate(KeyType::EcP256).unwrap();
    let public = keys::check_public_key(&key.spki_der).unwrap();
    let org = organization();
    let names = apply_profile(
        &profile,
        &NameRequest {
            common_name: Some("www.camford.ac.uk".into()),
            ..NameRequest::default()
        },
        Some(&org),
        None,
    )
    .unwrap();
    let (ca, chain) = test_ca().for_key(KeyType::EcP256);
    let leaf = issue_leaf(
        ca,
        &LeafRequest {
            profile: &profile,
            public_key: &public,
            names: &names,
            organization: Some(&org),
            person: None,
            term_days: 90,
            not_before: OffsetDateTime::now_utc(),
        },
        &Serial::random(&SystemRng).unwrap(),
    )
    .unwrap();
    (leaf, chain.to_vec(), key)
}

/// SHA-256 fingerprint of one certificate as openssl prints it (upper-case hex, no colons).
fn openssl_fingerprint(dir: &Path, der: &[u8]) -> String {
    let path = dir.join("one.der");
    std::fs::write(&path, der).unwrap();
    let out = run(openssl()
        .args([
            "x509",
            "-inform",
            "DER",
            "-noout",
            "-fingerprint",
            "-sha256",
            "-in",
        ])
        .arg(&path));
    out.trim().rsplit('=').next().unwrap().replace(':', "")
}

/// Each PEM block of `bytes`, parsed by `openssl x509`, as fingerprints in file order.
fn pem_fingerprints(dir: &Path, bytes: &[u8]) -> Vec<String> {
    let text = std::str::from_utf8(bytes).expect("PEM output must be ASCII");
    assert!(text.is_ascii());
    assert!(
        text.starts_with("-----BEGIN CERTIFICATE-----"),
        "must start with the first block"
    );
    let blocks = pem_blocks(text).unwrap();
    blocks
        .iter()
        .enumerate()
        .map(|(i, (label, _))| {
            assert_eq!(label, "CERTIFICATE");
            // Let openssl read the block from the text itself.
            let single = dir.join(format!("block{i}.pem"));
            let pem = castellan_pki::encode::pem_encode("CERTIFICATE", &blocks[i].1);
            std::fs::write(&single, pem).unwrap();
            let out = run(openssl()
                .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
                .arg(&single));
            out.trim().rsplit('=').next().unwrap().replace(':', "")
        })
        .collect()
}

#[test]
fn pem_formats_hold_the_right_certificates_in_order() {
    let dir = scratch();
    let (leaf, chain, _) = server_key_leaf();
    let leaf_fp = openssl_fingerprint(dir.path(), &leaf.der);
    let issuing_fp = openssl_fingerprint(dir.path(), &chain[0]);
    let root_fp = openssl_fingerprint(dir.path(), &chain[1]);
    let chain_ref = Chain {
        leaf: &leaf.der,
        issuers: &chain,
    };
    let expect = |format: DownloadFormat, order: &[&String]| {
        let bytes = download(format, chain_ref, None).unwrap();
        let got = pem_fingerprints(dir.path(), &bytes);
        let want: Vec<String> = order.iter().map(|s| s.to_string()).collect();
        assert_eq!(got, want, "format {format}");
    };
    // Guide 7.6 and SCM spec 4.4.
    expect(DownloadFormat::PemCertOnly, &[&leaf_fp]);
    expect(DownloadFormat::X509CertOnly, &[&leaf_fp]);
    expect(DownloadFormat::PemIssuerAfter, &[&leaf_fp, &issuing_fp]);
    expect(DownloadFormat::Pem, &[&root_fp, &issuing_fp, &leaf_fp]);
    expect(DownloadFormat::X509, &[&root_fp, &issuing_fp, &leaf_fp]);
    expect(
        DownloadFormat::X509Reversed,
        &[&leaf_fp, &issuing_fp, &root_fp],
    );
    expect(DownloadFormat::X509IssuersOnly, &[&root_fp, &issuing_fp]);
    expect(
        DownloadFormat::X509IssuersOnlyReversed,
        &[&issuing_fp, &root_fp],
    );

    // x509CO + x509IOR is a leaf-first TLS chain that openssl verifies.
    let co = download(DownloadFormat::X509CertOnly, chain_ref, None).unwrap();
    let ior = download(DownloadFormat::X509IssuersOnlyReversed, chain_ref, None).unwrap();
    std::fs::write(dir.path().join("leaf.pem"), &co).unwrap();
    std::fs::write(dir.path().join("ior.pem"), &ior).unwrap();
    let root_only = dir.path().join("root-only.pem");
    write_pem(&root_only, &[&chain[1]]);
    let out = run(openssl()
        .args(["verify", "-x509_strict", "-CAfile"])
        .arg(&root_only)
        .arg("-untrusted")
        .arg(dir.path().join("ior.pem"))
        .arg(dir.path().join("leaf.pem")));
    assert!(out.trim().ends_with("OK"), "{out}");
}

/// Subjects openssl prints for a PKCS#7 file.
fn pkcs7_subjects(dir: &Path, bytes: &[u8], inform: &str) -> Vec<String> {
    let path = dir.join("bundle.p7");
    std::fs::write(&path, bytes).unwrap();
    let out = run(openssl()
        .args(["pkcs7", "-print_certs", "-noout", "-inform", inform, "-in"])
        .arg(&path));
    let mut subjects: Vec<String> = out
        .lines()
        .filter_map(|l| l.strip_prefix("subject="))
        .map(|s| s.trim().to_owned())
        .collect();
    subjects.sort();
    subjects
}

fn openssl_subject(dir: &Path, der: &[u8]) -> String {
    let path = dir.join("s.der");
    std::fs::write(&path, der).unwrap();
    let out = run(openssl()
        .args(["x509", "-inform", "DER", "-noout", "-subject", "-in"])
        .arg(&path));
    out.trim().trim_start_matches("subject=").trim().to_owned()
}

#[test]
fn pkcs7_formats_hold_the_full_chain() {
    let dir = scratch();
    let (leaf, chain, _) = server_key_leaf();
    let chain_ref = Chain {
        leaf: &leaf.der,
        issuers: &chain,
    };
    let mut want = vec![
        openssl_subject(dir.path(), &leaf.der),
        openssl_subject(dir.path(), &chain[0]),
        openssl_subject(dir.path(), &chain[1]),
    ];
    want.sort();
    let der = download(DownloadFormat::Pkcs7Der, chain_ref, None).unwrap();
    assert_eq!(pkcs7_subjects(dir.path(), &der, "DER"), want);
    let pem = download(DownloadFormat::Pkcs7Pem, chain_ref, None).unwrap();
    assert!(pem.starts_with(b"-----BEGIN PKCS7-----\n"));
    assert_eq!(pkcs7_subjects(dir.path(), &pem, "PEM"), want);
}

fn pkcs12_info(dir: &Path, bytes: &[u8], pass: &str) -> std::process::Output {
    let path = dir.join("bundle.p12");
    std::fs::write(&path, bytes).unwrap();
    openssl()
        .args([
            "pkcs12",
            "-info",
            "-nodes",
            "-passin",
            &format!("pass:{pass}"),
            "-in",
        ])
        .arg(&path)
        .output()
        .unwrap()
}

#[test]
fn pkcs12_formats_hold_the_key_and_the_chain() {
    let dir = scratch();
    let (leaf, chain, key) = server_key_leaf();
    let chain_ref = Chain {
        leaf: &leaf.der,
        issuers: &chain,
    };
    for (format, algorithm) in [
        (DownloadFormat::Pkcs12, "PBES2, PBKDF2, AES-256-CBC"),
        (
            DownloadFormat::Pkcs12Legacy,
            "pbeWithSHA1And3-KeyTripleDES-CBC",
        ),
    ] {
        let bytes = download(
            format,
            chain_ref,
            Some(KeyExport {
                pkcs8: &key.pkcs8,
                passphrase: "correct horse",
                friendly_name: "www.camford.ac.uk",
            }),
        )
        .unwrap();
        let out = pkcs12_info(dir.path(), &bytes, "correct horse");
        assert!(
            out.status.success(),
            "{format}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(algorithm), "{format}: {stderr}");
        assert_eq!(
            stdout.matches("-----BEGIN CERTIFICATE-----").count(),
            3,
            "{format}: {stdout}"
        );
        assert_eq!(
            stdout.matches("-----BEGIN PRIVATE KEY-----").count(),
            1,
            "{format}"
        );
        assert!(
            stdout.contains("friendlyName: www.camford.ac.uk"),
            "{format}: {stdout}"
        );
        // The key inside is the key of the leaf.
        let key_pem = &stdout[stdout.find("-----BEGIN PRIVATE KEY-----").unwrap()..];
        std::fs::write(dir.path().join("k.pem"), key_pem).unwrap();
        let spki = std::process::Command::new(tool("openssl"))
            .args(["pkey", "-pubout", "-outform", "DER", "-in"])
            .arg(dir.path().join("k.pem"))
            .output()
            .unwrap()
            .stdout;
        assert_eq!(
            spki, key.spki_der,
            "{format}: the key does not match the leaf"
        );

        let wrong = pkcs12_info(dir.path(), &bytes, "wrong");
        assert!(
            !wrong.status.success(),
            "{format}: a wrong passphrase must fail"
        );
    }
}

#[test]
fn pkcs12_is_refused_without_a_server_held_key() {
    let (leaf, chain, _) = server_key_leaf();
    let err = download(
        DownloadFormat::Pkcs12,
        Chain {
            leaf: &leaf.der,
            issuers: &chain,
        },
        None,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "format 'pkcs12' is not available for this certificate: the private key was generated by \
         the requester and never reached Castellan; download a PEM or PKCS#7 format and combine \
         it with your key"
    );
}
