//! Key escrow and recovery (guide 8.2): a key Castellan makes for a person is sealed to the
//! escrow key; its recovery is refused without approval and with self-approval, works with
//! a second administrator holding keyRecovery, and — once the escrow key is split — with M
//! custodians' shares; the recovered key is the certificate's; no key is on disk in clear.

use crate::client_certificates::ready;
use crate::notifications::{delivered, recipients};
use crate::support::*;
use castellan_model::{AdminRole, Credential, DownloadFormat, KeyType, Privilege};
use castellan_ra::client_certificates::{ClientKey, ClientOrder};
use castellan_ra::clock::Clock;
use castellan_ra::escrow::status;
use castellan_ra::persons::PersonSpec;
use castellan_ra::{Actor, Authority, CertificateSelector};
use castellan_testkit::tools;
use std::path::Path;
use zeroize::Zeroizing;

fn refusal<T: std::fmt::Debug>(r: castellan_ra::Result<T>) -> String {
    match r {
        Err(e) => e.to_string(),
        Ok(v) => panic!("expected a refusal, got {v:?}"),
    }
}

/// An RAO_SMIME of `org` with `privileges`.
async fn admin(
    a: &Authority,
    mrao: &Actor,
    login: &str,
    org: castellan_model::OrgId,
    privileges: Vec<Privilege>,
) -> Actor {
    let credential = Credential {
        role: AdminRole::RaoSmime,
        scope: org,
    };
    crate::client_certificates::admin(a, mrao, login, credential, privileges).await
}

fn order(org: castellan_model::OrgId, key: ClientKey) -> ClientOrder {
    ClientOrder {
        org_id: org,
        profile: "Personal Certificate".into(),
        term_days: 365,
        person: PersonSpec {
            first_name: Some("Ada".into()),
            last_name: Some("Lovelace".into()),
            email: Some("ada@camford.ac.uk".into()),
            ..PersonSpec::default()
        },
        key,
        comments: String::new(),
    }
}

/// The token of the recovery link in a delivered mail.
fn token_in(mail: &str) -> String {
    crate::invitations::token_after(mail, "/recovery/")
}

/// The public key (SPKI, PEM) of the private key in `p12`, and of the certificate in it.
fn public_keys(dir: &Path, p12: &[u8], passphrase: &str) -> (String, String) {
    let path = |n: &str| dir.join(n).to_str().unwrap().to_owned();
    std::fs::write(path("r.p12"), p12).unwrap();
    let pass = format!("pass:{passphrase}");
    tools::run(tools::openssl().args([
        "pkcs12",
        "-in",
        &path("r.p12"),
        "-passin",
        &pass,
        "-nodes",
        "-out",
        &path("r.pem"),
    ]));
    let from_key = tools::run(tools::openssl().args(["pkey", "-in", &path("r.pem"), "-pubout"]));
    let from_cert =
        tools::run(tools::openssl().args(["x509", "-in", &path("r.pem"), "-noout", "-pubkey"]));
    (from_key, from_cert)
}

/// The pending approval of key recovery `id`.
async fn approval_of(a: &Authority, decider: &Actor, id: i64) -> castellan_model::ApprovalId {
    a.pending_approvals(decider)
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.approval.action == "smime.key-recovery" && p.approval.object_id == id)
        .expect("the recovery awaits approval")
        .id
}

on_both!(
    escrowed_keys_are_recovered_with_a_second_administrator_and_m_of_n_custodians,
    |fx: Fixture| async move {
        let a = &fx.authority;
        let now = fx.clock.now().unix_timestamp();
        let (w, rao) = ready(a, now).await;
        let recoverer = admin(
            a,
            &w.mrao,
            "recoverer",
            w.camford,
            vec![Privilege::KeyRecovery],
        )
        .await;
        let custodian = admin(
            a,
            &w.mrao,
            "custodian",
            w.camford,
            vec![Privilege::KeyRecovery],
        )
        .await;
        let bystander = admin(a, &w.mrao, "bystander", w.camford, vec![]).await;

        // A key Castellan makes is escrowed, not kept under the KEK.
        let made = a
            .enroll_client_certificate(&rao, order(w.camford, ClientKey::Generate(KeyType::EcP256)))
            .await
            .unwrap();
        assert!(made.certificate.escrowed_key.is_some(), "handed over once");
        let stored = a
            .store()
            .certificate_by_id(made.certificate.id)
            .await
            .unwrap()
            .unwrap();
        assert!(stored.certificate.encrypted_private_key.is_none());
        assert!(
            a.store()
                .escrowed_key(made.certificate.id)
                .await
                .unwrap()
                .is_some()
        );
        assert_eq!(
            refusal(
                a.download(
                    &CertificateSelector::Id(made.certificate.id),
                    DownloadFormat::Pkcs12,
                    Some("a passphrase")
                )
                .await
            ),
            format!(
                "the private key of certificate {} is in escrow: it is handed out only through \
                 a key recovery that a second administrator approves",
                stored.certificate.serial
            )
        );
        // A key its owner made is not Castellan's to recover.
        let own = a
            .enroll_client_certificate(
                &rao,
                order(w.camford, ClientKey::Csr(csr(KeyType::EcP256, "x", &[]))),
            )
            .await
            .unwrap();
        assert_eq!(
            refusal(
                a.request_key_recovery(&rao, own.id, "ada@camford.ac.uk", "lost")
                    .await
            ),
            format!(
                "client certificate {} has no key in escrow: its key was made by its owner, not \
                 by Castellan, so there is nothing to recover",
                own.id
            )
        );
        assert_eq!(
            refusal(
                a.request_key_recovery(&recoverer, made.id, "ada@camford.ac.uk", "lost")
                    .await
            ),
            "you need the privilege clientCertManage to ask for a key recovery; ask an \
             administrator who holds it"
        );

        // Asked for: nothing happens without approval.
        let first = a
            .request_key_recovery(&rao, made.id, "ada.backup@camford.ac.uk", "laptop stolen")
            .await
            .unwrap();
        assert_eq!(
            a.key_recovery(&rao, first).await.unwrap().status,
            status::PENDING_APPROVAL
        );
        // Those who may approve it are told; the requester and the bystander are not, and
        // no link goes anywhere before approval.
        let told = delivered(a, now, 2).await;
        assert_eq!(
            recipients(&told),
            ["custodian@camford.ac.uk", "recoverer@camford.ac.uk"]
        );
        assert!(
            told[0].contains(&format!(
                "Subject: Key recovery {first} awaits your approval"
            )),
            "{}",
            told[0]
        );
        assert!(
            told.iter()
                .all(|m| m.contains("ada.backup@camford.ac.uk") && !m.contains("/customer/")),
            "no link before approval"
        );
        // The requester cannot approve it; nor can an administrator without keyRecovery.
        let pending = approval_of(a, &recoverer, first).await;
        assert_eq!(
            refusal(a.decide_approval(&rao, pending, true, "").await),
            "you requested this yourself; a different administrator must approve it"
        );
        assert_eq!(
            refusal(a.decide_approval(&bystander, pending, true, "").await),
            "you need the privilege keyRecovery to decide this approval; ask an administrator \
             who holds it"
        );
        a.decide_approval(&recoverer, pending, true, "identity checked")
            .await
            .unwrap();
        assert_eq!(
            a.key_recovery(&rao, first).await.unwrap().status,
            status::READY
        );
        let mails = delivered(a, now, 1).await;
        assert_eq!(recipients(&mails), ["ada.backup@camford.ac.uk"]);
        let token = token_in(&mails[0]);
        assert_eq!(
            refusal(a.accept_recovery(&token, "short", false).await),
            "invalid passphrase: choose a passphrase of at least 8 characters: it protects the \
             private key"
        );
        let p12 = a
            .accept_recovery(&token, "a recovery passphrase", false)
            .await
            .unwrap();
        assert_eq!(p12.format, DownloadFormat::Pkcs12);
        let dir = tempfile::tempdir().unwrap();
        let (key, cert) = public_keys(dir.path(), &p12.bytes, "a recovery passphrase");
        assert_eq!(key, cert, "the recovered key is the certificate's");
        assert!(key.contains("BEGIN PUBLIC KEY"));
        let dead = "no key recovery for this link: it is unknown, already used or expired; ask \
                    your administrators for a new recovery";
        assert_eq!(
            refusal(
                a.accept_recovery(&token, "a recovery passphrase", false)
                    .await
            ),
            dead
        );
        assert_eq!(
            a.key_recovery(&rao, first).await.unwrap().status,
            status::DELIVERED
        );

        // A rejected recovery ends there.
        let rejected = a
            .request_key_recovery(&rao, made.id, "ada.backup@camford.ac.uk", "again")
            .await
            .unwrap();
        assert_eq!(
            delivered(a, now, 2).await.len(),
            2,
            "the approvers are told"
        );
        let pending = approval_of(a, &recoverer, rejected).await;
        a.decide_approval(&recoverer, pending, false, "not verified")
            .await
            .unwrap();
        assert_eq!(
            a.key_recovery(&rao, rejected).await.unwrap().status,
            status::REJECTED
        );

        // The operator splits the escrow key 2-of-3; the escrowed key moves to the new one.
        assert_eq!(
            refusal(a.split_escrow_key(&rao, 2, 3).await),
            "only the operator (MRAO) can split the escrow key among custodians"
        );
        assert!(refusal(a.split_escrow_key(&w.mrao, 4, 3).await).starts_with("invalid threshold:"));
        let shares = a.split_escrow_key(&w.mrao, 2, 3).await.unwrap();
        assert_eq!(shares.len(), 3);
        let split = a.store().current_escrow_key().await.unwrap().unwrap();
        assert!(
            split.sealed_private.is_none(),
            "the service no longer holds it"
        );
        assert_eq!((split.threshold, split.custodians), (2, 3));
        assert!(shares[0].starts_with(&format!("castellan-escrow-{}-1-of-3-need-2:", split.id)));
        assert_eq!(
            a.store()
                .escrowed_key(made.certificate.id)
                .await
                .unwrap()
                .unwrap()
                .0,
            split.id
        );

        // Approved, the recovery now waits for two custodians' shares.
        let second = a
            .request_key_recovery(&rao, made.id, "ada@camford.ac.uk", "new laptop")
            .await
            .unwrap();
        assert_eq!(
            delivered(a, now, 2).await.len(),
            2,
            "the approvers are told"
        );
        assert_eq!(
            refusal(
                a.submit_recovery_share(&recoverer, second, &shares[0])
                    .await
            ),
            format!("key recovery {second} is pending approval, not waiting for shares")
        );
        let pending = approval_of(a, &recoverer, second).await;
        a.decide_approval(&recoverer, pending, true, "")
            .await
            .unwrap();
        assert_eq!(
            a.key_recovery(&rao, second).await.unwrap().status,
            status::AWAITING_SHARES
        );
        assert_eq!(
            refusal(
                a.submit_recovery_share(&bystander, second, &shares[0])
                    .await
            ),
            "you need the privilege keyRecovery to hand in an escrow key share; ask an \
             administrator who holds it"
        );
        assert!(
            refusal(
                a.submit_recovery_share(&recoverer, second, "castellan-escrow-1-1")
                    .await
            )
            .starts_with("invalid share: not a custodian's share")
        );
        let progress = a
            .submit_recovery_share(&recoverer, second, &shares[0])
            .await
            .unwrap();
        assert_eq!(progress.shares, (1, 2));
        assert_eq!(progress.status, status::AWAITING_SHARES);
        assert_eq!(
            refusal(
                a.submit_recovery_share(&recoverer, second, &shares[1])
                    .await
            ),
            "you have handed in a share for this recovery already; each custodian hands in their \
             own"
        );
        assert_eq!(
            refusal(
                a.submit_recovery_share(&custodian, second, &shares[0])
                    .await
            ),
            "share 1 was handed in already, by another custodian"
        );
        assert!(
            delivered(a, now, 0).await.is_empty(),
            "one share opens nothing"
        );
        let done = a
            .submit_recovery_share(&custodian, second, &shares[2])
            .await
            .unwrap();
        assert_eq!((done.status.as_str(), done.shares), (status::READY, (2, 2)));
        let token = token_in(&delivered(a, now, 1).await[0]);
        let legacy = a
            .accept_recovery(&token, "another passphrase", true)
            .await
            .unwrap();
        assert_eq!(legacy.format, DownloadFormat::Pkcs12Legacy);
        let dir = tempfile::tempdir().unwrap();
        let (key, cert) = public_keys(dir.path(), &legacy.bytes, "another passphrase");
        assert_eq!(key, cert, "recovered through the custodians' shares");

        // A wrong share spoils the set, which is discarded.
        let third = a
            .request_key_recovery(&rao, made.id, "ada@camford.ac.uk", "once more")
            .await
            .unwrap();
        assert_eq!(
            delivered(a, now, 2).await.len(),
            2,
            "the approvers are told"
        );
        let pending = approval_of(a, &recoverer, third).await;
        a.decide_approval(&recoverer, pending, true, "")
            .await
            .unwrap();
        a.submit_recovery_share(&recoverer, third, &shares[0])
            .await
            .unwrap();
        let (head, value) = shares[1].split_once(':').unwrap();
        let altered = format!(
            "{head}:{}{}",
            if value.starts_with('A') { "B" } else { "A" },
            &value[1..]
        );
        assert_eq!(
            refusal(a.submit_recovery_share(&custodian, third, &altered).await),
            "the shares handed in do not give the escrow key back: one of them is wrong or \
             altered; they were discarded, so the custodians must hand theirs in again"
        );
        assert_eq!(a.key_recovery(&rao, third).await.unwrap().shares, (0, 2));
        // The custodians start again, and their right shares open it.
        let again = a
            .submit_recovery_share(&recoverer, third, &shares[0])
            .await
            .unwrap();
        assert_eq!(again.shares, (1, 2));
        let done = a
            .submit_recovery_share(&custodian, third, &shares[1])
            .await
            .unwrap();
        assert_eq!(done.status, status::READY);

        // The audit log tells the story without a share or a key in it.
        let audit: Vec<String> = a
            .store()
            .audit_page(0, 10_000)
            .await
            .unwrap()
            .into_iter()
            .map(|e| format!("{} {}", e.entry.action, e.entry.description))
            .collect();
        for action in [
            "escrow.split",
            "smime.recovery-share",
            "smime.recovery-delivered",
            "approval.approve",
            "approval.reject",
        ] {
            assert!(
                audit.iter().any(|l| l.starts_with(action)),
                "{action} audited: {audit:?}"
            );
        }
        for share in &shares {
            let value = share.split_once(':').unwrap().1;
            assert!(
                !audit.iter().any(|l| l.contains(value)),
                "a share in the audit log"
            );
        }
    }
);

/// Whether `needle` occurs in `haystack`.
fn holds(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn the_escrow_tables_hold_no_private_key_in_clear() {
    let (fx, db) = sqlite_fixture().await;
    let a = &fx.authority;
    let (w, rao) = ready(a, fx.clock.now().unix_timestamp()).await;
    let made = a
        .enroll_client_certificate(&rao, order(w.camford, ClientKey::Generate(KeyType::EcP256)))
        .await
        .unwrap();
    let pkcs8 = made.certificate.escrowed_key.clone().unwrap();
    let pkcs8 = format!("{pkcs8:?}");
    assert_eq!(pkcs8, "ServerKey(..)", "a key never prints");
    // The key as its owner gets it, through openssl: PKCS#8 DER and the private scalar.
    let (_, p12) = {
        a.send_invitation(
            &rao,
            castellan_ra::invitations::InvitationSpec {
                person: made.person_id,
                profile: "Personal Certificate".into(),
                term_days: 365,
            },
        )
        .await
        .unwrap();
        let mail = &delivered(a, fx.clock.now().unix_timestamp(), 1).await[0];
        let token = crate::invitations::token_after(mail, "/invitation/");
        a.accept_invitation(
            &token,
            castellan_ra::invitations::InvitationKey::Generate {
                key_type: KeyType::EcP256,
                passphrase: Zeroizing::new("a long passphrase".into()),
                legacy: false,
            },
            "192.0.2.1",
        )
        .await
        .unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let path = |n: &str| dir.path().join(n).to_str().unwrap().to_owned();
    std::fs::write(path("k.p12"), &p12.bytes).unwrap();
    tools::run(tools::openssl().args([
        "pkcs12",
        "-in",
        &path("k.p12"),
        "-passin",
        "pass:a long passphrase",
        "-nodes",
        "-out",
        &path("k.pem"),
    ]));
    tools::run(tools::openssl().args([
        "pkey",
        "-in",
        &path("k.pem"),
        "-outform",
        "DER",
        "-out",
        &path("k.der"),
    ]));
    tools::run(tools::openssl().args([
        "x509",
        "-in",
        &path("k.pem"),
        "-outform",
        "DER",
        "-out",
        &path("c.der"),
    ]));
    let der = std::fs::read(path("k.der")).unwrap();
    let at = der
        .windows(5)
        .position(|w| w == [0x02, 0x01, 0x01, 0x04, 0x20])
        .expect("an EC private key");
    let scalar = der[at + 5..at + 37].to_vec();
    let cert = std::fs::read(path("c.der")).unwrap();
    // Split the escrow key; bring it together here to know what must not be on disk.
    let shares = a.split_escrow_key(&w.mrao, 2, 2).await.unwrap();
    let parse = |s: &str| {
        use base64::Engine as _;
        let (head, value) = s.split_once(':').unwrap();
        let x: u8 = head.split('-').nth(3).unwrap().parse().unwrap();
        castellan_pki::shamir::Share {
            x,
            y: Zeroizing::new(
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(value)
                    .unwrap(),
            ),
        }
    };
    let escrow_private =
        castellan_pki::shamir::combine(&[parse(&shares[0]), parse(&shares[1])], 2).unwrap();

    fx.store.close().await;
    let castellan_testkit::db::TestDb::Sqlite(ref folder) = db else {
        panic!("a SQLite fixture")
    };
    let mut disk = Vec::new();
    for entry in std::fs::read_dir(folder.path()).unwrap() {
        disk.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    assert!(holds(&disk, &cert), "the scan must see stored data");
    assert!(
        !holds(&disk, &scalar),
        "the client key's scalar is on disk in clear"
    );
    assert!(
        !holds(&disk, &der),
        "the client key's PKCS#8 is on disk in clear"
    );
    assert!(
        !holds(&disk, &escrow_private),
        "the split escrow key is on disk"
    );
}
