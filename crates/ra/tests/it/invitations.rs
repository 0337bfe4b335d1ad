//! Invitations (guide 8.2.1 "Send Invitation"): the mail through a real SMTP server, the
//! one-time link, a key made on the server and handed over as a PKCS#12 that the openssl CLI
//! opens and signs mail with; the legacy variant, a CSR instead, and every refusal.

use crate::client_certificates::ready;
use crate::notifications::{delivered, recipients};
use crate::support::*;
use castellan_model::{CertificateStatus, DownloadFormat, KeyType};
use castellan_ra::clock::Clock;
use castellan_ra::invitations::{InvitationKey, InvitationSpec};
use castellan_ra::persons::PersonSpec;
use castellan_ra::{Authority, CertificateSelector};
use castellan_testkit::tools;
use std::path::Path;
use zeroize::Zeroizing;

fn refusal<T: std::fmt::Debug>(r: castellan_ra::Result<T>) -> String {
    match r {
        Err(e) => e.to_string(),
        Ok(v) => panic!("expected a refusal, got {v:?}"),
    }
}

const DEAD: &str = "no invitation for this link: it is unknown, already used or expired; ask \
                    your administrator to send a new invitation";

/// The token of the invitation link in a delivered mail.
fn token_in(mail: &str) -> String {
    token_after(mail, "/invitation/")
}

/// The token that follows `page` (`/invitation/`, `/recovery/`) in a link of a mail.
pub(crate) fn token_after(mail: &str, page: &str) -> String {
    let at = mail.find(page).expect("the mail has the link") + page.len();
    mail[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

fn generate(passphrase: &str, legacy: bool) -> InvitationKey {
    InvitationKey::Generate {
        key_type: KeyType::Rsa(2048),
        passphrase: Zeroizing::new(passphrase.into()),
        legacy,
    }
}

/// Opens `p12` with the openssl CLI, signs a message with its key and certificate, and
/// verifies the signature against Castellan's root for S/MIME signing. Returns
/// `openssl pkcs12 -info`'s description of the encryption.
fn sign_and_verify(dir: &Path, a_chain: &str, p12: &[u8], passphrase: &str) -> String {
    let path = |n: &str| dir.join(n).to_str().unwrap().to_owned();
    std::fs::write(path("id.p12"), p12).unwrap();
    let pass = format!("pass:{passphrase}");
    // `-info` describes the encryption on stderr.
    let out = tools::openssl()
        .args(["pkcs12", "-info", "-noout", "-passin", &pass, "-in"])
        .arg(path("id.p12"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let info = String::from_utf8_lossy(&out.stderr).into_owned();
    tools::run(tools::openssl().args([
        "pkcs12",
        "-nodes",
        "-passin",
        &pass,
        "-in",
        &path("id.p12"),
        "-out",
        &path("id.pem"),
    ]));
    let blocks: Vec<&str> = a_chain
        .split_inclusive("-----END CERTIFICATE-----")
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .collect();
    std::fs::write(path("root.pem"), blocks[0]).unwrap();
    std::fs::write(path("issuing.pem"), blocks[1..].join("\n")).unwrap();
    std::fs::write(
        path("message.txt"),
        "Signed with a key made by Castellan.\n",
    )
    .unwrap();
    tools::run(tools::openssl().args([
        "cms",
        "-sign",
        "-in",
        &path("message.txt"),
        "-signer",
        &path("id.pem"),
        "-certfile",
        &path("issuing.pem"),
        "-out",
        &path("signed.eml"),
    ]));
    // `tools::run` fails the test unless openssl says the signature verifies.
    tools::run(tools::openssl().args([
        "cms",
        "-verify",
        "-purpose",
        "smimesign",
        "-in",
        &path("signed.eml"),
        "-CAfile",
        &path("root.pem"),
        "-out",
        &path("out.txt"),
    ]));
    assert_eq!(
        std::fs::read_to_string(path("out.txt"))
            .unwrap()
            .replace("\r\n", "\n"),
        "Signed with a key made by Castellan.\n"
    );
    info
}

async fn chain(a: &Authority, certificate: castellan_model::CertificateId) -> String {
    String::from_utf8(
        a.download(
            &CertificateSelector::Id(certificate),
            DownloadFormat::X509IssuersOnly,
            None,
        )
        .await
        .unwrap()
        .bytes,
    )
    .unwrap()
}

on_both!(
    an_invitation_link_issues_a_pkcs12_once,
    |fx: Fixture| async move {
        let a = &fx.authority;
        let now = fx.clock.now().unix_timestamp();
        let (w, rao) = ready(a, now).await;
        let person = a
            .create_person(
                &rao,
                PersonSpec {
                    org_id: Some(w.camford),
                    first_name: Some("Grace".into()),
                    last_name: Some("Hopper".into()),
                    email: Some("grace@camford.ac.uk".into()),
                    validation_type: Some("STANDARD".into()),
                    ..PersonSpec::default()
                },
            )
            .await
            .unwrap();
        let spec = |term: u32| InvitationSpec {
            person,
            profile: "Personal Certificate".into(),
            term_days: term,
        };

        // Refused: outside the S/MIME roles; a term the profile lacks; an SSL profile.
        assert_eq!(
            refusal(a.send_invitation(&w.rao, spec(365)).await),
            format!("no person {person}")
        );
        assert!(
            refusal(a.send_invitation(&rao, spec(90)).await).contains("90"),
            "the term is named"
        );
        assert!(
            refusal(
                a.send_invitation(
                    &rao,
                    InvitationSpec {
                        profile: "OV SSL".into(),
                        ..spec(365)
                    }
                )
                .await
            )
            .starts_with("invalid certType: 'OV SSL' is not a client certificate profile")
        );

        let sent = a.send_invitation(&rao, spec(365)).await.unwrap();
        assert_eq!(sent.email, "grace@camford.ac.uk");
        assert_eq!(sent.expires_at, now + 7 * 86_400);
        let mails = delivered(a, now, 1).await;
        assert_eq!(
            recipients(&mails),
            ["grace@camford.ac.uk"],
            "the person alone"
        );
        assert!(
            mails[0].contains("Subject: Create your client certificate (Personal Certificate)"),
            "{}",
            mails[0]
        );
        let token = token_in(&mails[0]);
        assert_eq!(token.len(), 43, "32 random bytes, base64url: {token}");
        // Once sent, the outbox keeps no copy of the link.
        assert!(
            a.store().emails(100).await.unwrap().iter().all(|e| !e
                .email
                .body_text
                .contains(&token)
                && !e.email.body_html.contains(&token))
        );

        let view = a.invitation(&token).await.unwrap();
        assert_eq!(view.email, "grace@camford.ac.uk");
        assert_eq!(view.name, "Grace Hopper");
        assert_eq!(view.profile, "Personal Certificate");
        assert_eq!(view.term_days, 365);
        assert!(view.key_types.contains(&KeyType::Rsa(2048)));
        assert!(view.key_types.contains(&KeyType::EcP256));

        // A short passphrase is refused and the link stays usable.
        assert_eq!(
            refusal(
                a.accept_invitation(&token, generate("short", false), "192.0.2.4")
                    .await
            ),
            "invalid passphrase: choose a passphrase of at least 8 characters: it protects \
             your private key"
        );
        // A key type the profile does not allow is refused too, and the link survives it.
        assert!(
            refusal(
                a.accept_invitation(
                    &token,
                    InvitationKey::Generate {
                        key_type: KeyType::Rsa(8192),
                        passphrase: Zeroizing::new("correct horse battery".into()),
                        legacy: false,
                    },
                    "192.0.2.4"
                )
                .await
            )
            .contains("8192")
        );
        a.invitation(&token).await.unwrap();

        let (order, p12) = a
            .accept_invitation(
                &token,
                generate("correct horse battery", false),
                "192.0.2.4",
            )
            .await
            .unwrap();
        assert_eq!(p12.format, DownloadFormat::Pkcs12);
        assert_eq!(p12.file_name, "Grace_Hopper.p12");
        let stored = a.client_certificate(&rao, order).await.unwrap();
        assert_eq!(stored.request.request.status, CertificateStatus::Issued);
        assert_eq!(stored.details.person_id, Some(person));
        assert!(stored.request.request.key_generated);
        assert_eq!(
            stored.request.request.requester, "smime-rao",
            "the inviter's enrolment"
        );
        let certificate = stored.details.certificate_id.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let info = sign_and_verify(
            dir.path(),
            &chain(a, certificate).await,
            &p12.bytes,
            "correct horse battery",
        );
        assert!(info.contains("AES-256-CBC"), "{info}");

        // The link works once.
        assert_eq!(
            refusal(
                a.accept_invitation(
                    &token,
                    generate("correct horse battery", false),
                    "192.0.2.4"
                )
                .await
            ),
            DEAD
        );
        assert_eq!(refusal(a.invitation(&token).await), DEAD);
        assert_eq!(refusal(a.invitation("not-a-token").await), DEAD);

        // The legacy variant, for old mail clients: 3DES.
        a.send_invitation(&rao, spec(730)).await.unwrap();
        let token = token_in(&delivered(a, now, 1).await[0]);
        let (_, legacy) = a
            .accept_invitation(&token, generate("correct horse battery", true), "192.0.2.4")
            .await
            .unwrap();
        assert_eq!(legacy.format, DownloadFormat::Pkcs12Legacy);
        let dir = tempfile::tempdir().unwrap();
        let info = sign_and_verify(
            dir.path(),
            &chain(a, certificate).await,
            &legacy.bytes,
            "correct horse battery",
        );
        assert!(info.contains("3-KeyTripleDES-CBC"), "{info}");

        // The person's own CSR: the certificate alone, PEM with its chain.
        a.send_invitation(&rao, spec(365)).await.unwrap();
        let token = token_in(&delivered(a, now, 1).await[0]);
        refusal(
            a.accept_invitation(&token, InvitationKey::Csr(b"not a csr".to_vec()), "x")
                .await,
        );
        a.invitation(&token).await.unwrap();
        let (order, pem) = a
            .accept_invitation(
                &token,
                InvitationKey::Csr(csr(KeyType::EcP256, "ignored", &[])),
                "192.0.2.4",
            )
            .await
            .unwrap();
        assert_eq!(pem.format, DownloadFormat::Pem);
        let text = String::from_utf8(pem.bytes).unwrap();
        assert_eq!(text.matches("BEGIN CERTIFICATE").count(), 3, "{text}");
        assert!(!text.contains("PRIVATE KEY"));
        assert!(
            !a.client_certificate(&rao, order)
                .await
                .unwrap()
                .request
                .request
                .key_generated
        );

        // An unused link expires after seven days.
        a.send_invitation(&rao, spec(365)).await.unwrap();
        let token = token_in(&delivered(a, now, 1).await[0]);
        fx.clock
            .set(fx.clock.now() + time::Duration::days(7) + time::Duration::minutes(1));
        assert_eq!(refusal(a.invitation(&token).await), DEAD);
        assert_eq!(
            refusal(
                a.accept_invitation(&token, generate("correct horse battery", false), "x")
                    .await
            ),
            DEAD
        );
    }
);
