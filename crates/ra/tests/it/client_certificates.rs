//! Client certificates: issued to persons (found by e-mail or added), listed, renewed,
//! replaced and revoked within an administrator's S/MIME scope; every refusal word for word.

use crate::domains::{validated, world};
use crate::support::*;
use castellan_model::CertificateType::{Smime, Ssl};
use castellan_model::{
    AccessMethod, AdminRole, CertificateStatus, Credential, DownloadFormat, KeyType, OrgId,
    Privilege,
};
use castellan_ra::admins::NewAdministrator;
use castellan_ra::client_certificates::{ClientKey, ClientOrder};
use castellan_ra::clock::Clock;
use castellan_ra::organizations::OrganizationPatch;
use castellan_ra::persons::PersonSpec;
use castellan_ra::{Actor, Authority, CertificateSelector};
use castellan_store::OrderFilter;
use zeroize::Zeroizing;

fn refusal<T: std::fmt::Debug>(r: castellan_ra::Result<T>) -> String {
    match r {
        Err(e) => e.to_string(),
        Ok(v) => panic!("expected a refusal, got {v:?}"),
    }
}

fn ada(org: OrgId, key: ClientKey) -> ClientOrder {
    ClientOrder {
        org_id: org,
        profile: "Personal Certificate".into(),
        term_days: 365,
        person: PersonSpec {
            first_name: Some("Ada".into()),
            middle_name: Some("King".into()),
            last_name: Some("Lovelace".into()),
            email: Some("Ada.Lovelace@camford.ac.uk".into()),
            ..PersonSpec::default()
        },
        key,
        comments: "for signed mail".into(),
    }
}

/// A CSR for a fresh key, as a mail client makes it (no names: the person's are used).
fn client_csr() -> ClientKey {
    ClientKey::Csr(csr(KeyType::EcP256, "ignored", &[]))
}

pub(crate) async fn admin(
    a: &Authority,
    mrao: &Actor,
    login: &str,
    credential: Credential,
    privileges: Vec<Privilege>,
) -> Actor {
    a.create_admin(
        mrao,
        NewAdministrator {
            login: login.into(),
            email: format!("{login}@camford.ac.uk"),
            password: Some(Zeroizing::new("a long enough password".into())),
            credentials: vec![credential],
            privileges,
            ..NewAdministrator::default()
        },
    )
    .await
    .unwrap();
    let record = a.store().admin_by_login(login).await.unwrap().unwrap();
    Actor::admin(&record, AccessMethod::RestApi, "192.0.2.7")
}

/// The domains world with Camford validated for client certificates, camford.ac.uk
/// delegated to it for S/MIME and validated, and a client certificate RAO.
pub(crate) async fn ready(a: &Authority, now: i64) -> (crate::domains::World, Actor) {
    let w = world(a).await;
    a.update_organization(
        &w.mrao,
        w.camford,
        OrganizationPatch {
            validated: Some(true),
            organization_identifier: Some("NTRGB-RC000123".into()),
            ..OrganizationPatch::default()
        },
    )
    .await
    .unwrap();
    a.create_domain(
        &w.mrao,
        "camford.ac.uk",
        "",
        &[(w.camford, vec![Smime]), (w.physics, vec![Smime])],
        true,
    )
    .await
    .unwrap();
    validated(a, "camford.ac.uk", now).await;
    let rao = admin(
        a,
        &w.mrao,
        "smime-rao",
        Credential {
            role: AdminRole::RaoSmime,
            scope: w.camford,
        },
        vec![
            Privilege::ClientCertRequest,
            Privilege::ClientCertRevoke,
            Privilege::ClientCertManage,
        ],
    )
    .await;
    (w, rao)
}

on_both!(
    client_certificates_are_issued_to_persons_in_scope,
    |fx: Fixture| async move {
        let a = &fx.authority;
        let (w, rao) = ready(a, fx.clock.now().unix_timestamp()).await;

        // Issued at once; the person is added on the way, found by e-mail afterwards.
        let first = a
            .enroll_client_certificate(&rao, ada(w.camford, client_csr()))
            .await
            .unwrap();
        let person = a.person(&rao, first.person_id).await.unwrap();
        assert_eq!(person.data.email, "Ada.Lovelace@camford.ac.uk");
        assert_eq!(person.data.validation_type, "STANDARD");
        let order = a.client_certificate(&rao, first.id).await.unwrap();
        assert_eq!(order.request.request.status, CertificateStatus::Issued);
        assert_eq!(order.details.person_id, Some(first.person_id));
        assert_eq!(order.details.certificate_id, Some(first.certificate.id));
        let info = castellan_pki::inspect::inspect(&first.certificate.leaf.der).unwrap();
        assert_eq!(
            info.emails,
            ["Ada.Lovelace@camford.ac.uk"],
            "as the person gave it"
        );
        assert!(
            info.subject.contains("CN=Ada King Lovelace"),
            "the full name is the common name: {}",
            info.subject
        );

        // The same person, by e-mail in another case: no second person.
        let second = a
            .enroll_client_certificate(
                &rao,
                ClientOrder {
                    person: PersonSpec {
                        email: Some("ADA.LOVELACE@camford.ac.uk".into()),
                        ..PersonSpec::default()
                    },
                    ..ada(w.camford, ClientKey::Generate(KeyType::Rsa(2048)))
                },
            )
            .await
            .unwrap();
        assert_eq!(second.person_id, first.person_id);
        // A key Castellan generated is handed over once, then kept in escrow only.
        assert!(second.certificate.escrowed_key.is_some());
        assert!(
            a.store()
                .escrowed_key(second.certificate.id)
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            refusal(
                a.download(
                    &CertificateSelector::Id(second.certificate.id),
                    DownloadFormat::Pkcs12,
                    Some("a passphrase"),
                )
                .await
            )
            .contains("is in escrow")
        );

        // Lists: the client list has both, the SSL list neither; by e-mail, both.
        let (rows, total) = a
            .client_certificates(&rao, OrderFilter::default(), 0, 100)
            .await
            .unwrap();
        assert_eq!(total, 2);
        assert_eq!(
            rows.iter().map(|r| r.id).collect::<Vec<_>>(),
            [first.id, second.id]
        );
        assert_eq!(
            a.orders(&w.mrao, OrderFilter::default(), 0, 100)
                .await
                .unwrap()
                .1,
            0
        );
        assert_eq!(
            a.client_certificates_of(&rao, "ada.lovelace@CAMFORD.ac.uk")
                .await
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            refusal(a.order(&w.mrao, first.id).await),
            format!("no SSL certificate {}", first.id)
        );

        // Outside the S/MIME roles: nothing seen, nothing issued.
        assert_eq!(
            refusal(a.client_certificate(&w.rao, first.id).await),
            format!(
                "client certificate {} is outside your organizations and departments",
                first.id
            )
        );
        assert_eq!(
            a.client_certificates(&w.rao, OrderFilter::default(), 0, 100)
                .await
                .unwrap()
                .1,
            0
        );
        assert!(
            a.client_certificates_of(&w.rao, "ada.lovelace@camford.ac.uk")
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            refusal(
                a.enroll_client_certificate(&w.rao, ada(w.camford, client_csr()))
                    .await
            ),
            "you cannot issue client certificates for organization 'University of Camford' \
             (id 1): it is outside your S/MIME roles"
        );

        // Renewal: a new order for the same person and key kind; the old one is marked.
        let renewed = a.renew_client_certificate(&rao, second.id).await.unwrap();
        assert_ne!(renewed.id, second.id);
        assert_eq!(renewed.person_id, first.person_id);
        assert_eq!(renewed.certificate.leaf.key_type.to_string(), "RSA - 2048");
        assert_eq!(
            a.client_certificate(&rao, second.id)
                .await
                .unwrap()
                .details
                .renewed_by,
            Some(renewed.id)
        );

        // Replacement with a new CSR revokes the old certificate (superseded).
        let replaced = a
            .replace_client_certificate(
                &rao,
                first.id,
                csr(KeyType::EcP384, "x", &[]),
                "new laptop",
                true,
            )
            .await
            .unwrap();
        let old = a.client_certificate(&rao, first.id).await.unwrap();
        assert_eq!(old.request.request.status, CertificateStatus::Revoked);
        let revoked = a
            .store()
            .certificate_by_id(first.certificate.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(revoked.revocation_reason, Some(4));
        assert_eq!(
            refusal(
                a.replace_client_certificate(
                    &rao,
                    first.id,
                    csr(KeyType::EcP256, "x", &[]),
                    "",
                    true
                )
                .await
            ),
            format!(
                "client certificate {} is Revoked, not Issued; only issued certificates can be \
                 replaced",
                first.id
            )
        );

        // Revocation: one with a reason, then all of the person's that remain.
        assert_eq!(
            refusal(
                a.revoke_client_certificate(&rao, replaced.id, 2, "lost")
                    .await
            ),
            "invalid reasonCode: 2 is not accepted; use 0 (unspecified), 1 (keyCompromise), 3 \
             (affiliationChanged), 4 (superseded), 5 (cessationOfOperation), 9 \
             (privilegeWithdrawn)"
        );
        a.revoke_client_certificate(&rao, replaced.id, 3, "left the department")
            .await
            .unwrap();
        assert_eq!(
            refusal(
                a.revoke_client_certificate(&rao, replaced.id, 0, "again")
                    .await
            ),
            "Your certificate already revoked"
        );
        assert_eq!(
            a.revoke_client_certificates_of(&rao, "ada.lovelace@camford.ac.uk", 0, "left")
                .await
                .unwrap(),
            2,
            "the renewed order and its predecessor"
        );
        assert_eq!(
            refusal(
                a.revoke_client_certificates_of(&rao, "ada.lovelace@camford.ac.uk", 0, "left")
                    .await
            ),
            "Ada.Lovelace@camford.ac.uk has no issued client certificates to revoke"
        );
        let audit: Vec<String> = a
            .store()
            .audit_page(0, 1000)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.entry.action)
            .collect();
        assert_eq!(audit.iter().filter(|x| *x == "smime.enroll").count(), 4);
        assert_eq!(audit.iter().filter(|x| *x == "smime.revoke").count(), 4);
    }
);

on_both!(
    client_certificate_refusals_name_the_rule,
    |fx: Fixture| async move {
        let a = &fx.authority;
        let (w, rao) = ready(a, fx.clock.now().unix_timestamp()).await;

        // An SSL profile is not a client certificate profile.
        let message = refusal(
            a.enroll_client_certificate(
                &rao,
                ClientOrder {
                    profile: "OV SSL".into(),
                    ..ada(w.camford, client_csr())
                },
            )
            .await,
        );
        assert!(
            message.starts_with(
                "invalid certType: 'OV SSL' is not a client certificate profile; the client \
                 certificate profiles are 'Personal Certificate' (9)"
            ),
            "{message}"
        );
        // A mistyped LEI is refused when the operator enters it, naming the check digits.
        assert_eq!(
            refusal(
                a.update_organization(
                    &w.mrao,
                    w.camford,
                    OrganizationPatch {
                        organization_identifier: Some("LEIXG-213800ABCDEFGHIJ1234".into()),
                        ..OrganizationPatch::default()
                    },
                )
                .await
            ),
            "invalid organizationIdentifier: 'LEIXG-213800ABCDEFGHIJ1234' has \
             '213800ABCDEFGHIJ1234', which is not an LEI: 20 letters and digits whose last two \
             are ISO 17442 check digits; give the scheme, the country, '-' and the reference, \
             for example NTRGB-RC000123 (a national trade register number), VATGB-123456789 or \
             LEIXG-5493001KJTIIGC8Y1R12"
        );
        // A term the profile does not offer.
        let message = refusal(
            a.enroll_client_certificate(
                &rao,
                ClientOrder {
                    term_days: 90,
                    ..ada(w.camford, client_csr())
                },
            )
            .await,
        );
        assert!(message.contains("90"), "{message}");
        // A mailbox whose domain is not delegated to the organisation for S/MIME.
        let outsider = |email: &str| ClientOrder {
            person: PersonSpec {
                first_name: Some("Grace".into()),
                last_name: Some("Hopper".into()),
                email: Some(email.into()),
                ..PersonSpec::default()
            },
            ..ada(w.camford, client_csr())
        };
        assert_eq!(
            refusal(
                a.enroll_client_certificate(&rao, outsider("grace@oxbridge.ac.uk"))
                    .await
            ),
            "You cannot order certificates for the following or additional domains: \
             oxbridge.ac.uk. oxbridge.ac.uk: no domain covers it; add oxbridge.ac.uk (or a \
             wildcard above it) under Domains"
        );
        // Delegated for SSL only: not for client certificates.
        a.create_domain(
            &w.mrao,
            "dept.camford.org",
            "",
            &[(w.camford, vec![Ssl])],
            true,
        )
        .await
        .unwrap();
        assert_eq!(
            refusal(
                a.enroll_client_certificate(&rao, outsider("grace@dept.camford.org"))
                    .await
            ),
            "You cannot order certificates for the following or additional domains: \
             dept.camford.org. dept.camford.org: dept.camford.org is not delegated to \
             organization 'University of Camford' (id 1) for SMIME certificates"
        );
        // Nothing was stored for the refusals, not even the person.
        assert!(
            a.store()
                .person_by_email("grace@oxbridge.ac.uk")
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(
            a.client_certificates(&rao, OrderFilter::default(), 0, 100)
                .await
                .unwrap()
                .1,
            0
        );

        // A person of another department is issued certificates there, not here.
        let physics = admin(
            a,
            &w.mrao,
            "physics-smime",
            Credential {
                role: AdminRole::DraoSmime,
                scope: w.physics,
            },
            vec![Privilege::ClientCertRequest],
        )
        .await;
        a.enroll_client_certificate(&physics, ada(w.physics, client_csr()))
            .await
            .unwrap();
        assert_eq!(
            refusal(
                a.enroll_client_certificate(&rao, ada(w.camford, client_csr()))
                    .await
            ),
            "Ada.Lovelace@camford.ac.uk is a person of department 'Physics' of 'University of \
             Camford' (id 2), not of organization 'University of Camford' (id 1); issue their \
             certificate there, or move the person first"
        );
        // Without clientCertRevoke, no revocation.
        let (rows, _) = a
            .client_certificates(&physics, OrderFilter::default(), 0, 10)
            .await
            .unwrap();
        assert_eq!(
            refusal(
                a.revoke_client_certificate(&physics, rows[0].id, 0, "left")
                    .await
            ),
            "you need the privilege clientCertRevoke to revoke client certificates; ask an \
             administrator who holds it"
        );
        // Without clientCertRequest, no enrolment.
        let viewer = admin(
            a,
            &w.mrao,
            "smime-viewer",
            Credential {
                role: AdminRole::RaoSmime,
                scope: w.camford,
            },
            vec![],
        )
        .await;
        assert_eq!(
            refusal(
                a.enroll_client_certificate(&viewer, ada(w.physics, client_csr()))
                    .await
            ),
            "you need the privilege clientCertRequest to issue client certificates; ask an \
             administrator who holds it"
        );
    }
);

on_both!(
    igtf_subjects_use_the_secondary_name_and_never_change_on_renewal,
    |fx: Fixture| async move {
        let a = &fx.authority;
        let (w, rao) = ready(a, fx.clock.now().unix_timestamp()).await;
        // Grid certificate subjects are user names elsewhere: the organisation's secondary
        // name, exactly as configured (guide 8.2.3).
        a.update_organization(
            &w.mrao,
            w.camford,
            OrganizationPatch {
                secondary_name: Some("Univ. of Camford".into()),
                ..OrganizationPatch::default()
            },
        )
        .await
        .unwrap();
        let igtf = a
            .enroll_client_certificate(
                &rao,
                ClientOrder {
                    profile: "IGTF-MICS-Personal".into(),
                    ..ada(w.camford, client_csr())
                },
            )
            .await
            .unwrap();
        let subject = castellan_pki::inspect::inspect(&igtf.certificate.leaf.der)
            .unwrap()
            .subject;
        assert!(subject.contains("O=Univ. of Camford"), "{subject}");
        assert!(!subject.contains("University of Camford"), "{subject}");
        // The Personal Certificate keeps the organisation's name.
        let personal = a
            .enroll_client_certificate(&rao, ada(w.camford, client_csr()))
            .await
            .unwrap();
        let personal_subject = castellan_pki::inspect::inspect(&personal.certificate.leaf.der)
            .unwrap()
            .subject;
        assert!(
            personal_subject.contains("O=University of Camford"),
            "{personal_subject}"
        );
        // Renewed, the grid subject is the same, every attribute in the same order.
        let renewed = a.renew_client_certificate(&rao, igtf.id).await.unwrap();
        let again = castellan_pki::inspect::inspect(&renewed.certificate.leaf.der)
            .unwrap()
            .subject;
        assert_eq!(again, subject);
    }
);

on_both!(
    client_certificate_expiry_warnings_go_to_the_person,
    |fx: Fixture| async move {
        use castellan_ra::notifications::{RuleSpec, SMIME_EXPIRING, SSL_EXPIRING};
        let a = &fx.authority;
        let now = fx.clock.now().unix_timestamp();
        let (w, rao) = ready(a, now).await;
        a.enroll_client_certificate(&rao, ada(w.camford, client_csr()))
            .await
            .unwrap();
        // An S/MIME rule telling the certificate's person; an SSL rule that must stay quiet.
        let smime_rule = RuleSpec {
            kind: SMIME_EXPIRING.into(),
            org_id: w.camford,
            external_requester: true,
            days: vec![30],
            ..RuleSpec::default()
        };
        a.create_notification_rule(&rao, smime_rule.clone())
            .await
            .unwrap();
        assert_eq!(
            refusal(
                a.create_notification_rule(
                    &rao,
                    RuleSpec {
                        kind: SSL_EXPIRING.into(),
                        ..smime_rule
                    }
                )
                .await
            ),
            "you have no SSL role over organization 'University of Camford' (id 1); \
             notification rules are set by its administrators"
        );
        a.create_notification_rule(
            &w.mrao,
            RuleSpec {
                kind: SSL_EXPIRING.into(),
                org_id: w.camford,
                addresses: vec!["ssl-team@camford.ac.uk".into()],
                days: vec![30],
                ..RuleSpec::default()
            },
        )
        .await
        .unwrap();
        // 340 days on, 25 are left: the person is warned once, the SSL team not at all.
        fx.clock.set(fx.clock.now() + time::Duration::days(340));
        let later = fx.clock.now().unix_timestamp();
        assert_eq!(a.send_expiry_warnings().await.unwrap(), 1);
        let mails = crate::notifications::delivered(a, later, 1).await;
        assert_eq!(
            crate::notifications::recipients(&mails),
            ["Ada.Lovelace@camford.ac.uk"]
        );
        assert!(
            mails[0]
                .contains("Subject: Client certificate for Ada King Lovelace expires in 25 days"),
            "{}",
            mails[0]
        );
        assert_eq!(a.send_expiry_warnings().await.unwrap(), 0, "once");
    }
);

on_both!(
    a_revoked_client_certificate_is_told_to_its_person_and_requester,
    |fx: Fixture| async move {
        let a = &fx.authority;
        let now = fx.clock.now().unix_timestamp();
        let (w, rao) = ready(a, now).await;
        let issued = a
            .enroll_client_certificate(&rao, ada(w.camford, client_csr()))
            .await
            .unwrap();
        // Whatever the set-up queued goes first.
        let sink = castellan_testkit::smtp::SmtpSink::start();
        castellan_notify::deliver_due(a.store(), &sink_mailer(sink.port), now)
            .await
            .unwrap();
        a.revoke_client_certificate(&rao, issued.id, 3, "left the department")
            .await
            .unwrap();
        let mails = crate::notifications::delivered(a, now, 2).await;
        assert_eq!(
            crate::notifications::recipients(&mails),
            ["Ada.Lovelace@camford.ac.uk", "smime-rao@camford.ac.uk"]
        );
        assert!(
            mails[0].contains("Subject: Client certificate for Ada King Lovelace revoked"),
            "{}",
            mails[0]
        );
        assert!(
            mails[0].contains("affiliationChanged (left the department)"),
            "{}",
            mails[0]
        );
    }
);
