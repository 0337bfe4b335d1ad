//! Every refusal of "Bad input", each with its exact error.

use crate::profiles::{issue_with_openssl, profile};
use crate::support::*;
use castellan_pki::csr;
use castellan_pki::issue::{LeafRequest, issue_leaf};
use castellan_pki::keys::PublicKey;
use castellan_pki::names::{NameRequest, apply_profile};
use castellan_pki::profile::parse_profile;
use castellan_pki::rand::SystemRng;
use castellan_pki::serial::Serial;
use time::OffsetDateTime;

fn csr_error(input: &[u8]) -> String {
    csr::parse(input).unwrap_err().to_string()
}

#[test]
fn malformed_csr_is_refused() {
    assert_eq!(
        csr_error(
            b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"
        ),
        "malformed CSR: it is not a PKCS#10 certificate request (the DER structure does not \
         decode). Paste the whole PEM block, including the -----BEGIN CERTIFICATE REQUEST----- and -----END CERTIFICATE \
         REQUEST----- lines"
    );
    assert!(csr_error(b"hello world").starts_with("malformed CSR: it is not PEM, base64 or DER."));
    assert!(csr_error(b"").starts_with("malformed CSR: the CSR is empty."));
    let cert_pem = castellan_pki::encode::pem_encode("CERTIFICATE", &test_ca().rsa_chain[1]);
    assert!(csr_error(cert_pem.as_bytes()).starts_with(
        "malformed CSR: the PEM block is a 'CERTIFICATE', not a 'CERTIFICATE REQUEST'."
    ),);
}

#[test]
fn csr_whose_signature_does_not_verify_is_refused() {
    let dir = scratch();
    let (pem, _) = openssl_csr(dir.path(), "P-256", "/CN=www.camford.ac.uk", &[]);
    let mut der = csr::csr_der_from_input(&pem).unwrap();
    // The untouched CSR verifies, twice (the second time from the digests of CSRs verified
    // lately); what it verified does not carry over to altered bytes.
    let original = der.clone();
    csr::parse(&original).unwrap();
    csr::parse(&original).unwrap();
    // Change one byte of the subject's CN ("www" -> "wwx"): the signature no longer matches.
    let at = der.windows(3).position(|w| w == b"www").unwrap();
    der[at + 2] = b'x';
    assert_eq!(
        csr_error(&der),
        "CSR signature does not verify: the request was altered, or was not signed by the private \
         key whose public key it carries. Generate the CSR again from the private key"
    );
    assert_eq!(
        csr::parse(&original).unwrap().common_name.as_deref(),
        Some("www.camford.ac.uk")
    );
}

fn openssl_key_csr(genpkey_args: &[&str]) -> Vec<u8> {
    let dir = scratch();
    let key = dir.path().join("k.pem");
    let csr = dir.path().join("r.csr");
    run(openssl()
        .arg("genpkey")
        .args(genpkey_args)
        .arg("-out")
        .arg(&key));
    run(openssl()
        .args(["req", "-new", "-subj", "/CN=www.camford.ac.uk", "-key"])
        .arg(&key)
        .arg("-out")
        .arg(&csr));
    std::fs::read(csr).unwrap()
}

#[test]
fn weak_and_unsupported_keys_are_refused() {
    let rsa1024 = openssl_key_csr(&["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"]);
    assert_eq!(
        csr_error(&rsa1024),
        "key policy (rsa-modulus-size): RSA key of 1024 bits is too weak; use 2048 to 8192 bits \
         (e.g. openssl req -newkey rsa:2048)"
    );
    let exponent3 = openssl_key_csr(&[
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-pkeyopt",
        "rsa_keygen_pubexp:3",
    ]);
    assert_eq!(
        csr_error(&exponent3),
        "key policy (rsa-public-exponent): RSA public exponent is 3, only 65537 is accepted"
    );
    let p521 = openssl_key_csr(&["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521"]);
    assert_eq!(
        csr_error(&p521),
        "key policy (ecdsa-curve): ECDSA curve P-521 is not accepted; use P-256 or P-384"
    );
    let ed25519 = openssl_key_csr(&["-algorithm", "ED25519"]);
    assert_eq!(
        csr_error(&ed25519),
        "key policy (key-algorithm): Ed25519 keys are not accepted for certificates; use RSA or \
         ECDSA P-256/P-384"
    );
}

fn names_error(profile_name: &str, cn: &str, sans: &[String]) -> String {
    let profile = profile(profile_name);
    apply_profile(
        &profile,
        &NameRequest {
            common_name: Some(cn.into()),
            dns_names: sans.to_vec(),
            ..NameRequest::default()
        },
        Some(&organization()),
        None,
    )
    .unwrap_err()
    .to_string()
}

#[test]
fn wildcard_in_a_profile_that_forbids_it_is_refused() {
    assert_eq!(
        names_error("OV SSL", "*.camford.ac.uk", &[]),
        "profile 'OV SSL' (wildcard-forbidden): wildcard names are not allowed (*.camford.ac.uk); \
         use the Wildcard SSL profile or name each host"
    );
    assert_eq!(
        names_error("Wildcard SSL", "www.camford.ac.uk", &[]),
        "profile 'Wildcard SSL' (wildcard-required): the common name must be a wildcard such as \
         *.camford.ac.uk, got 'www.camford.ac.uk'"
    );
}

#[test]
fn too_many_sans_are_refused() {
    let sans: Vec<String> = (0..101).map(|i| format!("host{i}.camford.ac.uk")).collect();
    assert_eq!(
        names_error("OV Multi-Domain SSL", "host0.camford.ac.uk", &sans),
        "profile 'OV Multi-Domain SSL' (max-names): 101 names requested, at most 100 allowed"
    );
}

#[test]
fn invalid_names_are_refused() {
    assert_eq!(
        names_error(
            "OV Multi-Domain SSL",
            "www.camford.ac.uk",
            &["bad_name.camford.ac.uk".into()]
        ),
        "invalid name 'bad_name.camford.ac.uk': label 'bad_name' has characters other than \
         letters, digits and '-'"
    );
    assert_eq!(
        names_error(
            "OV Multi-Domain SSL",
            "www.camford.ac.uk",
            &["192.0.2.7".into()]
        ),
        "invalid name '192.0.2.7': IP addresses are not accepted; certificates are issued for DNS \
         names only"
    );
}

/// A request for `profile` with `key`, using names that pass.
fn request_error(profile_name: &str, key: &PublicKey, term: u32) -> String {
    let profile = profile(profile_name);
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
    let (ca, _) = test_ca().for_key(key.key_type);
    issue_leaf(
        ca,
        &LeafRequest {
            profile: &profile,
            public_key: key,
            names: &names,
            organization: Some(&org),
            person: None,
            term_days: term,
            not_before: OffsetDateTime::now_utc(),
        },
        &Serial::random(&SystemRng).unwrap(),
    )
    .unwrap_err()
    .to_string()
}

fn fresh_key(key_type: castellan_model::KeyType) -> PublicKey {
    let key = castellan_pki::keys::generate(key_type).unwrap();
    castellan_pki::keys::check_public_key(&key.spki_der).unwrap()
}

#[test]
fn a_term_the_profile_does_not_allow_is_refused() {
    let key = fresh_key(castellan_model::KeyType::EcP256);
    assert_eq!(
        request_error("OV SSL", &key, 400),
        "profile 'OV SSL' (term): a term of 400 days is not allowed; allowed terms: 90, 199 days"
    );
}

#[test]
fn a_key_the_profile_does_not_allow_is_refused() {
    let key = fresh_key(castellan_model::KeyType::Rsa(2048));
    let profile = profile("Code Signing");
    let err = profile.check_key(key.key_type).unwrap_err().to_string();
    assert_eq!(
        err,
        "profile 'Code Signing' (key-type): a key of type RSA - 2048 is not allowed; allowed \
         keys: RSA - 3072, RSA - 4096, EC - P-256, EC - P-384"
    );
}

#[test]
fn a_ca_key_is_refused_as_a_subscriber_key() {
    let ca_key = PublicKey {
        key_type: test_ca().ecc.signer().key_type(),
        spki_der: test_ca().ecc.signer().spki_der().to_vec(),
    };
    assert_eq!(
        request_error("OV SSL", &ca_key, 90),
        "key policy (ca-key-reuse): the request's public key is a key of this certificate \
         authority; generate a new key pair for the certificate"
    );
}

#[test]
fn ev_anchor_never_produces_a_certificate() {
    let key = fresh_key(castellan_model::KeyType::EcP256);
    assert_eq!(
        request_error("EV Anchor (Validation Only)", &key, 365),
        "profile 'EV Anchor (Validation Only)' (validation-only): this profile records which \
         domains are covered by EV validation and never produces a usable certificate; choose an \
         EV SSL profile to get a certificate"
    );
}

#[test]
fn the_pre_issuance_lint_refuses_a_tls_term_over_the_industry_limit() {
    // A profile may list 398 days (the old limit); issuing it today breaks ballot SC-081.
    let text = castellan_pki::profile::DEFAULT_PROFILES[0]
        .1
        .replace("terms = [90, 199]", "terms = [398]");
    let long = parse_profile("long.toml", &text).unwrap();
    let org = organization();
    let names = apply_profile(
        &long,
        &NameRequest {
            common_name: Some("www.camford.ac.uk".into()),
            ..NameRequest::default()
        },
        Some(&org),
        None,
    )
    .unwrap();
    let key = fresh_key(castellan_model::KeyType::EcP256);
    let now = OffsetDateTime::now_utc();
    let err = issue_leaf(
        &test_ca().ecc,
        &LeafRequest {
            profile: &long,
            public_key: &key,
            names: &names,
            organization: Some(&org),
            person: None,
            term_days: 398,
            not_before: now,
        },
        &Serial::random(&SystemRng).unwrap(),
    )
    .unwrap_err();
    assert_eq!(err.rule(), "e_tls_validity_too_long");
    let limit = castellan_pki::lint::tls_max_validity_days(now);
    assert_eq!(
        err.to_string(),
        format!(
            "pre-issuance lint e_tls_validity_too_long failed: a SSL certificate issued on {} may \
             be valid for at most {limit} days, this one is 398; choose a shorter term (and \
             shorten the profile's terms)",
            now.date()
        )
    );
}

#[test]
fn missing_organisation_details_are_named() {
    let dir = scratch();
    let profile = profile("OV SSL");
    let (csr_pem, _) = openssl_csr(dir.path(), "P-256", "/CN=www.camford.ac.uk", &[]);
    let info = csr::parse(&csr_pem).unwrap();
    let names = apply_profile(
        &profile,
        &NameRequest {
            common_name: info.common_name.clone(),
            ..NameRequest::default()
        },
        None,
        None,
    )
    .unwrap();
    let err = issue_leaf(
        &test_ca().ecc,
        &LeafRequest {
            profile: &profile,
            public_key: &info.public_key,
            names: &names,
            organization: None,
            person: None,
            term_days: 90,
            not_before: OffsetDateTime::now_utc(),
        },
        &Serial::random(&SystemRng).unwrap(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "profile 'OV SSL' (subject-field-missing): the subject needs C from the organisation, \
         which has none; fill it in and request again"
    );
    // And the same request with the organisation passes.
    let _ = issue_with_openssl(dir.path(), &profile, "P-256");
}
