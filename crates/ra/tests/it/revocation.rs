//! Revocation status as relying parties see it, checked with the real openssl CLI and
//! pkilint: CRLs, OCSP answers (pre-signed, nonce, unknown, errors), responder rolls,
//! sharded CRLs and key-compromise blocking.

use crate::orders::{order, ready};
use crate::support::*;
use castellan_model::{CertificateId, CertificateStatus, KeyType, RequestId};
use castellan_pki::encode::pem_encode;
use castellan_ra::clock::Clock;
use castellan_ra::revocation::RevocationSettings;
use castellan_ra::{Actor, Authority, CertificateSelector};
use castellan_testkit::tools::{self, openssl};
use std::path::{Path, PathBuf};

/// Issues an OV certificate for `cn` with `csr` through request and approval.
async fn issue(
    a: &Authority,
    org: castellan_model::OrgId,
    requester: &Actor,
    approver: &Actor,
    csr: Vec<u8>,
) -> (RequestId, CertificateId) {
    let outcome = a
        .request_certificate(requester, order(org, csr))
        .await
        .unwrap();
    let id = a
        .approve_request(approver, outcome.id)
        .await
        .unwrap()
        .expect("the approval issues the certificate");
    (outcome.id, id)
}

/// Writes the leaf, its issuer and the root (PEM) into `dir`; returns their paths.
async fn pems(
    a: &Authority,
    id: CertificateId,
    dir: &Path,
    name: &str,
) -> (PathBuf, PathBuf, PathBuf) {
    let record = a.certificate(&CertificateSelector::Id(id)).await.unwrap();
    let issuer = a
        .hierarchy()
        .into_iter()
        .find(|c| c.id == record.certificate.issuer_ca_id)
        .unwrap();
    let root = a
        .hierarchy()
        .into_iter()
        .find(|c| c.role == "root" && c.hierarchy == issuer.hierarchy)
        .unwrap();
    let write = |file: String, der: &[u8]| {
        let path = dir.join(file);
        std::fs::write(&path, pem_encode("CERTIFICATE", der)).unwrap();
        path
    };
    (
        write(format!("{name}.pem"), &record.certificate.der),
        write(
            format!("{name}-issuer.pem"),
            &a.ca_certificate(&issuer.slug).unwrap(),
        ),
        write(
            format!("{name}-root.pem"),
            &a.ca_certificate(&root.slug).unwrap(),
        ),
    )
}

/// An OCSP request made by openssl for `leaf` (SHA-1 CertID unless `digest` says).
fn ocsp_request(dir: &Path, issuer: &Path, leaf: &Path, nonce: bool, digest: &str) -> Vec<u8> {
    let out = dir.join("req.der");
    let mut cmd = openssl();
    cmd.arg("ocsp")
        .arg(digest)
        .arg("-issuer")
        .arg(issuer)
        .arg("-cert")
        .arg(leaf)
        .arg("-reqout")
        .arg(&out);
    if !nonce {
        cmd.arg("-no_nonce");
    }
    tools::run(&mut cmd);
    std::fs::read(out).unwrap()
}

/// openssl's reading of a response: verified against the root, for `leaf`.
fn ocsp_verdict(
    dir: &Path,
    response: &[u8],
    request: &[u8],
    issuer: &Path,
    root: &Path,
    leaf: &Path,
) -> String {
    ocsp_verdict_with(dir, response, request, issuer, root, leaf, "-sha1")
}

/// [`ocsp_verdict`] for a CertID made with `digest`.
fn ocsp_verdict_with(
    dir: &Path,
    response: &[u8],
    request: &[u8],
    issuer: &Path,
    root: &Path,
    leaf: &Path,
    digest: &str,
) -> String {
    let resp = dir.join("resp.der");
    let req = dir.join("asked.der");
    std::fs::write(&resp, response).unwrap();
    std::fs::write(&req, request).unwrap();
    let out = openssl()
        .arg("ocsp")
        .arg(digest)
        .arg("-no_nonce")
        .arg("-respin")
        .arg(&resp)
        .arg("-reqin")
        .arg(&req)
        .arg("-issuer")
        .arg(issuer)
        .arg("-cert")
        .arg(leaf)
        .arg("-CAfile")
        .arg(root)
        .arg("-verify_other")
        .arg(issuer)
        .output()
        .unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn crl_pem(dir: &Path, name: &str, der: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, pem_encode("X509 CRL", der)).unwrap();
    path
}

fn verify_with_crl(root: &Path, issuer: &Path, crl: &Path, leaf: &Path) -> (bool, String) {
    let out = openssl()
        .args(["verify", "-crl_check", "-CAfile"])
        .arg(root)
        .arg("-untrusted")
        .arg(issuer)
        .arg("-CRLfile")
        .arg(crl)
        .arg(leaf)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn crl_text(path: &Path) -> String {
    tools::run(openssl().args(["crl", "-noout", "-text", "-in"]).arg(path))
}

/// The slug of the CA that issued `id`.
async fn issuer_slug(a: &Authority, id: CertificateId) -> String {
    let record = a.certificate(&CertificateSelector::Id(id)).await.unwrap();
    a.hierarchy()
        .into_iter()
        .find(|c| c.id == record.certificate.issuer_ca_id)
        .unwrap()
        .slug
}

on_both!(
    ocsp_and_crl_follow_a_key_compromise,
    |fx: Fixture| async move {
        let a = &fx.authority;
        let now = fx.clock.now().unix_timestamp();
        let (w, requester, approver) = ready(a, now).await;
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();

        let key = castellan_pki::keys::generate(KeyType::EcP256).unwrap();
        let signer = castellan_pki::signer::SoftwareSigner::from_pkcs8(&key.pkcs8).unwrap();
        let shared = |cn: &str| castellan_pki::csr::create(&signer, cn, &[]).unwrap();
        let (portal_order, portal) = issue(
            a,
            w.camford,
            &requester,
            &approver,
            shared("portal.camford.ac.uk"),
        )
        .await;
        let (_, wiki) = issue(
            a,
            w.camford,
            &requester,
            &approver,
            shared("wiki.camford.ac.uk"),
        )
        .await;
        let (_, mail) = issue(
            a,
            w.camford,
            &requester,
            &approver,
            csr(KeyType::EcP256, "mail.camford.ac.uk", &[]),
        )
        .await;
        let (leaf, issuer, root) = pems(a, portal, d, "portal").await;
        let (wiki_leaf, _, _) = pems(a, wiki, d, "wiki").await;
        let (mail_leaf, _, _) = pems(a, mail, d, "mail").await;
        let slug = issuer_slug(a, portal).await;

        // Before: good, from a pre-signed answer, verified through the delegated responder.
        let work = a.presign_ocsp(100).await.unwrap();
        assert!(work.signed >= 3, "{work:?}");
        let request = ocsp_request(d, &issuer, &leaf, false, "-sha1");
        let reply = a.ocsp(&request).await;
        let (this_update, next_update) = reply.cacheable.expect("a pre-signed answer");
        assert_eq!(this_update, now);
        assert_eq!(next_update, now + 96 * 3600);
        let verdict = ocsp_verdict(d, &reply.der, &request, &issuer, &root, &leaf);
        assert!(verdict.contains("Response verify OK"), "{verdict}");
        assert!(
            verdict.contains(&format!("{}: good", leaf.display())),
            "{verdict}"
        );
        let lint = tools::pkilint(d, "lint_ocsp_response", &[], &reply.der);
        assert!(
            lint.iter().all(|(s, _)| s != "ERROR" && s != "FATAL"),
            "{lint:?}"
        );

        // SHA-256 CertIDs are answered too (signed within the budget, then stored).
        let request256 = ocsp_request(d, &issuer, &leaf, false, "-sha256");
        let reply256 = a.ocsp(&request256).await;
        let verdict = ocsp_verdict_with(
            d,
            &reply256.der,
            &request256,
            &issuer,
            &root,
            &leaf,
            "-sha256",
        );
        assert!(
            verdict.contains(&format!("{}: good", leaf.display())),
            "{verdict}"
        );

        // A nonce is echoed (openssl checks it and would warn otherwise).
        let with_nonce = ocsp_request(d, &issuer, &leaf, true, "-sha1");
        let reply = a.ocsp(&with_nonce).await;
        assert!(
            reply.cacheable.is_none(),
            "an answer with a nonce is for one request"
        );
        let verdict = ocsp_verdict(d, &reply.der, &with_nonce, &issuer, &root, &leaf);
        assert!(verdict.contains("Response verify OK"), "{verdict}");
        let nonce_of = |args: &[&str], file: &str, der: &[u8]| {
            let path = d.join(file);
            std::fs::write(&path, der).unwrap();
            let text = tools::run(openssl().arg("ocsp").args(args).arg(&path));
            text.split("OCSP Nonce:")
                .nth(1)
                .and_then(|rest| rest.split_whitespace().next())
                .map(str::to_owned)
                .unwrap_or_else(|| panic!("no nonce in {text}"))
        };
        assert_eq!(
            nonce_of(
                &["-resp_text", "-noverify", "-respin"],
                "n-resp.der",
                &reply.der
            ),
            nonce_of(&["-req_text", "-reqin"], "n-req.der", &with_nonce),
            "the nonce is echoed"
        );

        // The first CRL lists nothing and lints clean.
        let crl = a
            .crl(&slug, 0)
            .await
            .unwrap()
            .expect("the CRL is published on demand");
        assert_eq!(crl.number, 1);
        let crl_path = crl_pem(d, "before.crl", &crl.der);
        let text = crl_text(&crl_path);
        assert!(text.contains("No Revoked Certificates"), "{text}");
        assert!(
            text.contains(&format!("URI:{PKI_BASE}/crl/{slug}.crl")),
            "{text}"
        );
        tools::pkilint(d, "lint_crl", &["-t", "CRL", "-p", "BR"], &crl.der);
        assert!(verify_with_crl(&root, &issuer, &crl_path, &leaf).0);

        // Revoke the portal certificate for keyCompromise.
        let compromised_at = now - 3600;
        a.revoke_order(
            &w.mrao,
            portal_order,
            1,
            "key left on a shared drive",
            Some(compromised_at),
        )
        .await
        .unwrap();

        // OCSP says revoked at once, with the reason, from memory and from the store.
        let reply = a.ocsp(&request).await;
        let verdict = ocsp_verdict(d, &reply.der, &request, &issuer, &root, &leaf);
        assert!(
            verdict.contains(&format!("{}: revoked", leaf.display())),
            "{verdict}"
        );
        assert!(verdict.contains("Reason: keyCompromise"), "{verdict}");
        let reply256 = a.ocsp(&request256).await;
        let verdict = ocsp_verdict_with(
            d,
            &reply256.der,
            &request256,
            &issuer,
            &root,
            &leaf,
            "-sha256",
        );
        assert!(
            verdict.contains("Reason: keyCompromise"),
            "the SHA-256 answer too: {verdict}"
        );
        tools::pkilint(d, "lint_ocsp_response", &[], &reply.der);

        // The other certificate with the same key was revoked with it; the third was not.
        let wiki_record = a.certificate(&CertificateSelector::Id(wiki)).await.unwrap();
        assert_eq!(wiki_record.certificate.status, CertificateStatus::Revoked);
        assert_eq!(wiki_record.revocation_reason, Some(1));
        let wiki_req = ocsp_request(d, &issuer, &wiki_leaf, false, "-sha1");
        let verdict = ocsp_verdict(
            d,
            &a.ocsp(&wiki_req).await.der,
            &wiki_req,
            &issuer,
            &root,
            &wiki_leaf,
        );
        assert!(verdict.contains("revoked"), "{verdict}");
        let mail_req = ocsp_request(d, &issuer, &mail_leaf, false, "-sha1");
        let verdict = ocsp_verdict(
            d,
            &a.ocsp(&mail_req).await.der,
            &mail_req,
            &issuer,
            &root,
            &mail_leaf,
        );
        assert!(
            verdict.contains(&format!("{}: good", mail_leaf.display())),
            "{verdict}"
        );

        // The next CRL lists both with reason and invalidity date; openssl refuses them.
        let published = a.publish_crls(false).await.unwrap();
        assert!(
            published
                .iter()
                .any(|p| p.ca == slug && p.entries == 2 && p.number == 2),
            "{published:?}"
        );
        let crl = a.crl(&slug, 0).await.unwrap().unwrap();
        let crl_path = crl_pem(d, "after.crl", &crl.der);
        let text = crl_text(&crl_path);
        assert!(text.contains("Key Compromise"), "{text}");
        assert!(text.contains("Invalidity Date"), "{text}");
        assert!(
            text.contains("X509v3 CRL Number: \n                2"),
            "{text}"
        );
        tools::pkilint(d, "lint_crl", &["-t", "CRL", "-p", "BR"], &crl.der);
        let (ok, out) = verify_with_crl(&root, &issuer, &crl_path, &leaf);
        assert!(!ok && out.contains("certificate revoked"), "{out}");
        assert!(verify_with_crl(&root, &issuer, &crl_path, &mail_leaf).0);

        // The root's CRL (the ARL the issuing CA certificate names) lints as one.
        let root_slug = a
            .hierarchy()
            .into_iter()
            .find(|c| c.role == "root" && slug.starts_with(c.hierarchy.as_str()))
            .unwrap()
            .slug;
        let arl = a.crl(&root_slug, 0).await.unwrap().unwrap();
        tools::pkilint(d, "lint_crl", &["-t", "ARL", "-p", "BR"], &arl.der);
        let arl_path = crl_pem(d, "root.crl", &arl.der);
        let verified = tools::run(
            openssl()
                .args(["verify", "-crl_check_all", "-CAfile"])
                .arg(&root)
                .arg("-untrusted")
                .arg(&issuer)
                .arg("-CRLfile")
                .arg(&arl_path)
                .arg("-CRLfile")
                .arg(&crl_path)
                .arg(&mail_leaf),
        );
        assert!(verified.trim_end().ends_with(": OK"), "{verified}");

        // A CRL is not published again until something changes or it ages.
        assert!(a.publish_crls(false).await.unwrap().is_empty());

        // The key is blocked: a new request with it is refused, naming the rule and the fix.
        let err = a
            .request_certificate(&requester, order(w.camford, shared("new.camford.ac.uk")))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("key policy (compromised-key): this public key was reported compromised when certificate "), "{err}");
        assert!(
            err.ends_with("generate a new key pair and a new CSR"),
            "{err}"
        );

        // Revoking again says so, in SCM's words.
        let again = a
            .revoke_order(&w.mrao, portal_order, 4, "again", None)
            .await
            .unwrap_err()
            .to_string();
        assert_eq!(again, "Your certificate already revoked");
    }
);

on_both!(
    the_responder_refuses_what_it_cannot_answer,
    |fx: Fixture| async move {
        let a = &fx.authority;
        let now = fx.clock.now().unix_timestamp();
        let (w, requester, approver) = ready(a, now).await;
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let (_, id) = issue(
            a,
            w.camford,
            &requester,
            &approver,
            csr(KeyType::Rsa(2048), "portal.camford.ac.uk", &[]),
        )
        .await;
        let (leaf, issuer, root) = pems(a, id, d, "portal").await;
        let status = |der: &[u8]| {
            let path = d.join("status.der");
            std::fs::write(&path, der).unwrap();
            // openssl exits non-zero for error statuses; what it prints is the point.
            let out = openssl()
                .args(["ocsp", "-resp_text", "-noverify", "-respin"])
                .arg(&path)
                .output()
                .unwrap();
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        };

        // Garbage and truncation: malformedRequest, unsigned.
        let reply = a.ocsp(b"not DER at all").await;
        assert_eq!(reply.der.as_ref(), [0x30, 0x03, 0x0a, 0x01, 0x01]);
        assert!(status(&reply.der).contains("malformedrequest"));
        let good = ocsp_request(d, &issuer, &leaf, false, "-sha1");
        assert_eq!(
            a.ocsp(&good[..good.len() - 3]).await.der.as_ref(),
            [0x30, 0x03, 0x0a, 0x01, 0x01]
        );

        // An issuer Castellan does not run: unauthorized. (The root is not an issuing CA.)
        let foreign = ocsp_request(d, &root, &leaf, false, "-sha1");
        let reply = a.ocsp(&foreign).await;
        assert!(
            status(&reply.der).contains("unauthorized"),
            "{}",
            status(&reply.der)
        );

        // A serial this CA never issued: signed "unknown".
        let unknown = d.join("unknown.der");
        tools::run(
            openssl()
                .args(["ocsp", "-no_nonce", "-issuer"])
                .arg(&issuer)
                .args(["-serial", "0x1234567890abcdef", "-reqout"])
                .arg(&unknown),
        );
        let reply = a.ocsp(&std::fs::read(&unknown).unwrap()).await;
        assert!(reply.cacheable.is_none());
        let resp = d.join("unknown-resp.der");
        std::fs::write(&resp, &reply.der).unwrap();
        let out = openssl()
            .args(["ocsp", "-no_nonce", "-issuer"])
            .arg(&issuer)
            .args(["-serial", "0x1234567890abcdef", "-CAfile"])
            .arg(&root)
            .arg("-verify_other")
            .arg(&issuer)
            .arg("-respin")
            .arg(&resp)
            .output()
            .unwrap();
        let verdict = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(verdict.contains("Response verify OK"), "{verdict}");
        assert!(verdict.contains("0x1234567890abcdef: unknown"), "{verdict}");
    }
);

/// An SQLite authority with `settings`, Camford ready, and one OV certificate (P-256) for
/// portal.camford.ac.uk written out with its chain.
struct OneCertificate {
    a: Authority,
    clock: std::sync::Arc<castellan_ra::clock::FixedClock>,
    mrao: Actor,
    order: RequestId,
    id: CertificateId,
    dir: tempfile::TempDir,
    leaf: PathBuf,
    issuer: PathBuf,
    root: PathBuf,
    _keep: (
        castellan_testkit::db::TestDb,
        std::sync::Arc<castellan_testkit::dns::TestDns>,
    ),
}

async fn one_certificate(settings: RevocationSettings) -> OneCertificate {
    let (fx, db) = sqlite_fixture().await;
    let dns = fx.dns.clone();
    let a = fx.authority.with_revocation(settings).unwrap();
    let (w, requester, approver) = ready(&a, fx.clock.now().unix_timestamp()).await;
    let dir = tempfile::tempdir().unwrap();
    let (order, id) = issue(
        &a,
        w.camford,
        &requester,
        &approver,
        csr(KeyType::EcP256, "portal.camford.ac.uk", &[]),
    )
    .await;
    let (leaf, issuer, root) = pems(&a, id, dir.path(), "portal").await;
    OneCertificate {
        a,
        clock: fx.clock,
        mrao: w.mrao,
        order,
        id,
        dir,
        leaf,
        issuer,
        root,
        _keep: (db, dns),
    }
}

#[tokio::test]
async fn on_demand_signing_stops_at_the_budget() {
    let one = one_certificate(RevocationSettings {
        ocsp_signatures_per_second: 2,
        ..RevocationSettings::default()
    })
    .await;
    let (a, d, leaf, issuer) = (&one.a, one.dir.path(), &one.leaf, &one.issuer);
    // Nonces ask for a signature each: two pass, then tryLater (or the pre-signed answer
    // without the nonce once one exists).
    let with_nonce = ocsp_request(d, issuer, leaf, true, "-sha1");
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let reply = a.ocsp(&with_nonce).await;
        statuses.push(reply.der.len() > 5);
    }
    assert_eq!(statuses[..2], [true, true], "{statuses:?}");
    // Third: no budget for the nonce, none for signing the missing answer either.
    let reply = a.ocsp(&with_nonce).await;
    assert_eq!(
        reply.der.as_ref(),
        [0x30, 0x03, 0x0a, 0x01, 0x03],
        "tryLater"
    );
    // Once the answer is pre-signed it is served whatever the budget.
    a.presign_ocsp(10).await.unwrap();
    let plain = ocsp_request(d, issuer, leaf, false, "-sha1");
    for _ in 0..50 {
        assert!(a.ocsp(&plain).await.cacheable.is_some());
    }
}

#[tokio::test]
async fn sharded_crls_and_responder_rolls() {
    let one = one_certificate(RevocationSettings {
        crl_shards: 4,
        ..RevocationSettings::default()
    })
    .await;
    let (a, d, id, order_id) = (&one.a, one.dir.path(), one.id, one.order);
    let (leaf, issuer, root) = (&one.leaf, &one.issuer, &one.root);
    let now = one.clock.now().unix_timestamp();
    let slug = issuer_slug(a, id).await;
    let text = tools::run(
        openssl()
            .args(["x509", "-noout", "-ext", "crlDistributionPoints", "-in"])
            .arg(leaf),
    );
    let shard: i64 = text
        .split(&format!("/crl/{slug}/"))
        .nth(1)
        .and_then(|rest| rest.split(".crl").next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no shard URL in {text}"));
    assert!((1..=4).contains(&shard), "{text}");

    a.revoke_order(&one.mrao, order_id, 5, "service closed", None)
        .await
        .unwrap();
    let published = a.publish_crls(false).await.unwrap();
    // Shard 0 and 1..=4 for each issuing CA, plus the two roots.
    assert_eq!(published.len(), 12, "{published:?}");
    let crl = a.crl(&slug, shard).await.unwrap().unwrap();
    let path = crl_pem(d, "shard.crl", &crl.der);
    let text = crl_text(&path);
    assert!(
        text.contains(&format!("URI:{PKI_BASE}/crl/{slug}/{shard}.crl")),
        "{text}"
    );
    assert!(text.contains("Cessation Of Operation"), "{text}");
    let (ok, out) = verify_with_crl(root, issuer, &path, leaf);
    assert!(!ok && out.contains("certificate revoked"), "{out}");
    // Another shard's CRL does not cover this certificate (its IDP names another URL).
    let other = if shard == 1 { 2 } else { 1 };
    let other_crl = a.crl(&slug, other).await.unwrap().unwrap();
    let other_path = crl_pem(d, "other.crl", &other_crl.der);
    assert!(!crl_text(&other_path).contains("Cessation"));
    assert!(
        a.crl(&slug, 5).await.unwrap().is_none(),
        "no certificate names shard 5"
    );
    assert!(a.crl("no-such-ca", 0).await.unwrap().is_none());

    // The responder is rolled when fewer than the roll days are left.
    a.roll_ocsp_responders().await.unwrap();
    let ca = a
        .certificate(&CertificateSelector::Id(id))
        .await
        .unwrap()
        .certificate
        .issuer_ca_id;
    let before = a.store().ocsp_responders(ca, now).await.unwrap();
    assert_eq!(before.len(), 1);
    one.clock.set(one.clock.now() + time::Duration::days(16));
    a.roll_ocsp_responders().await.unwrap();
    let later = one.clock.now().unix_timestamp();
    let after = a.store().ocsp_responders(ca, later).await.unwrap();
    assert_eq!(after.len(), 2, "the old one stays valid beside the new one");
    assert!(after[0].not_after > before[0].not_after);
    let request = ocsp_request(d, issuer, leaf, false, "-sha1");
    a.presign_ocsp(100).await.unwrap();
    let resp = d.join("rolled.der");
    std::fs::write(&resp, a.ocsp(&request).await.der).unwrap();
    // Verified as of the moved clock (the new responder's notBefore is 16 days ahead).
    let out = openssl()
        .args([
            "ocsp",
            "-no_nonce",
            "-attime",
            &later.to_string(),
            "-issuer",
        ])
        .arg(issuer)
        .arg("-cert")
        .arg(leaf)
        .arg("-CAfile")
        .arg(root)
        .arg("-verify_other")
        .arg(issuer)
        .arg("-respin")
        .arg(&resp)
        .arg("-resp_text")
        .output()
        .unwrap();
    let verdict =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(verdict.contains("Response verify OK"), "{verdict}");
    let new_responder = castellan_pki::inspect::inspect(&after[0].certificate_der)
        .unwrap()
        .serial
        .to_colon_hex();
    assert!(
        verdict
            .to_lowercase()
            .contains(&new_responder.to_lowercase()),
        "signed by the new responder ({new_responder}): {verdict}"
    );
    assert!(
        verdict.contains("Reason: cessationOfOperation"),
        "{verdict}"
    );
}
