//! Every profile, issued for an RSA and an ECDSA P-256 key made by the `openssl` CLI.

use crate::support::*;
use castellan_model::CertificateType;
use castellan_pki::csr;
use castellan_pki::issue::{IssuedLeaf, LeafRequest, issue_leaf};
use castellan_pki::names::{NameRequest, apply_profile};
use castellan_pki::profile::{Profile, ProfileSet};
use castellan_pki::rand::SystemRng;
use castellan_pki::serial::Serial;
use std::path::Path;
use time::OffsetDateTime;

pub fn profile(name: &str) -> Profile {
    ProfileSet::defaults()
        .unwrap()
        .by_name(name)
        .unwrap()
        .clone()
}

/// The CSR subject and SANs a requester of this profile would send.
fn csr_for(profile: &Profile) -> (&'static str, Vec<&'static str>) {
    match (
        profile.certificate_type,
        profile.names.max,
        profile.name.as_str(),
    ) {
        (CertificateType::Ssl, _, "Wildcard SSL") => (
            "/C=GB/O=University of Camford/CN=*.camford.ac.uk",
            vec!["DNS:*.camford.ac.uk"],
        ),
        (CertificateType::Ssl, 1, _) => {
            ("/C=GB/O=University of Camford/CN=www.camford.ac.uk", vec![])
        }
        (CertificateType::Ssl, _, _) => (
            "/C=GB/O=University of Camford/CN=www.camford.ac.uk",
            vec![
                "DNS:www.camford.ac.uk",
                "DNS:mail.camford.ac.uk",
                "DNS:camford.ac.uk",
            ],
        ),
        (CertificateType::Smime, _, _) => (
            "/CN=Jo Bloggs/emailAddress=jo.bloggs@camford.ac.uk",
            vec!["email:jo.bloggs@camford.ac.uk"],
        ),
        (CertificateType::CodeSign, _, _) => ("/CN=University of Camford", vec![]),
    }
}

/// Issues `profile` for a key made by `openssl` (`rsa:2048`, `P-256`, ...).
pub fn issue_with_openssl(dir: &Path, profile: &Profile, key: &str) -> (IssuedLeaf, Vec<Vec<u8>>) {
    let (subject, sans) = csr_for(profile);
    let (csr_pem, _key) = openssl_csr(dir, key, subject, &sans);
    let info = csr::parse(&csr_pem).unwrap();
    let org = organization();
    let person = person();
    let person = (profile.certificate_type == CertificateType::Smime).then_some(&person);
    let names = apply_profile(
        profile,
        &NameRequest {
            common_name: info
                .common_name
                .clone()
                .filter(|_| profile.certificate_type == CertificateType::Ssl),
            dns_names: info.dns_names.clone(),
            emails: info.emails.clone(),
            ip_addresses: info.ip_addresses.clone(),
        },
        Some(&org),
        person,
    )
    .unwrap();
    let (ca, chain) = test_ca().for_key(info.public_key.key_type);
    let term = *profile.terms.last().unwrap();
    let leaf = issue_leaf(
        ca,
        &LeafRequest {
            profile,
            public_key: &info.public_key,
            names: &names,
            organization: Some(&org),
            person,
            term_days: term,
            not_before: OffsetDateTime::now_utc(),
        },
        &Serial::random(&SystemRng).unwrap(),
    )
    .unwrap();
    (leaf, chain.to_vec())
}

fn check_profile(name: &str) {
    let profile = profile(name);
    let keys: &[&str] = match profile.certificate_type {
        CertificateType::CodeSign => &["rsa:3072", "P-256"],
        _ => &["rsa:2048", "P-256"],
    };
    for key in keys {
        let dir = scratch();
        let (leaf, chain) = issue_with_openssl(dir.path(), &profile, key);
        let (purpose, linter) = match profile.certificate_type {
            CertificateType::Ssl => (Some("sslserver"), "lint_cabf_serverauth_cert"),
            CertificateType::Smime => (Some("smimesign"), "lint_cabf_smime_cert"),
            CertificateType::CodeSign => (None, "lint_pkix_cert"),
        };
        openssl_verify(dir.path(), &leaf.der, &chain, purpose);
        let findings = if linter == "lint_pkix_cert" {
            pkilint_pkix(dir.path(), &leaf.der)
        } else {
            pkilint(dir.path(), linter, &leaf.der)
        };
        let documented = crate::support::documented_warnings();
        for (severity, code) in findings {
            assert!(
                documented.contains(&code),
                "{name} ({key}): {severity} {code} is not listed in docs/profiles.md"
            );
        }
    }
}

macro_rules! profile_tests {
    ($($test:ident => $name:expr),* $(,)?) => {
        $(#[test] fn $test() { check_profile($name); })*
    };
}

profile_tests! {
    ov_ssl => "OV SSL",
    ov_multi_domain_ssl => "OV Multi-Domain SSL",
    unified_communications => "Unified Communications Certificate",
    wildcard_ssl => "Wildcard SSL",
    ev_ssl => "EV SSL",
    ev_multi_domain_ssl => "EV Multi-Domain SSL",
    igtf_multi_domain_ssl => "IGTF Multi-Domain SSL",
    personal => "Personal Certificate",
    igtf_classic_robot_email => "IGTF-Classic-Robot Email",
    igtf_mics_personal => "IGTF-MICS-Personal",
    igtf_mics_robot_personal => "IGTF-MICS-Robot Personal",
    code_signing => "Code Signing",
}

#[test]
fn every_shipped_profile_has_a_test() {
    let tested = [
        "OV SSL",
        "OV Multi-Domain SSL",
        "Unified Communications Certificate",
        "Wildcard SSL",
        "EV SSL",
        "EV Multi-Domain SSL",
        "IGTF Multi-Domain SSL",
        "Personal Certificate",
        "IGTF-Classic-Robot Email",
        "IGTF-MICS-Personal",
        "IGTF-MICS-Robot Personal",
        "Code Signing",
        // Validation-only: refused by refusals::ev_anchor_never_produces_a_certificate.
        "EV Anchor (Validation Only)",
    ];
    for p in ProfileSet::defaults().unwrap().iter() {
        assert!(
            tested.contains(&p.name.as_str()),
            "profile {} has no test",
            p.name
        );
    }
}
