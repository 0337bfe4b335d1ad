//! SSL orders: request, approve, decline, auto-approval, and every refusal word for word.

use crate::domains::{validated, world};
use crate::support::*;
use castellan_model::CertificateType::Ssl;
use castellan_model::{
    AccessMethod, AdminRole, CertificateStatus, Credential, KeyType, OrgId, Privilege,
};
use castellan_ra::admins::NewAdministrator;
use castellan_ra::clock::Clock;
use castellan_ra::orders::SslOrder;
use castellan_ra::organizations::OrganizationPatch;
use castellan_ra::{Actor, Authority};
use castellan_testkit::tools;
use zeroize::Zeroizing;

pub(crate) fn order(org: OrgId, csr: Vec<u8>) -> SslOrder {
    SslOrder {
        org_id: org,
        profile: "OV SSL".into(),
        term_days: 90,
        csr,
        subject_alt_names: vec![],
        external_requester: String::new(),
        comments: "for the portal".into(),
        custom_fields: vec![],
    }
}

/// A CSR made by the openssl CLI with the given subject.
fn openssl_csr(subject: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let (csr, _key) = tools::openssl_csr(dir.path(), "req", subject);
    std::fs::read(csr).unwrap()
}

fn refusal<T: std::fmt::Debug>(r: castellan_ra::Result<T>) -> String {
    match r {
        Err(e) => e.to_string(),
        Ok(v) => panic!("expected a refusal, got {v:?}"),
    }
}

/// The world of the domains tests, with Camford validated, `*.camford.ac.uk` delegated to
/// it for SSL and validated, and two SSL requesters/approvers.
pub(crate) async fn ready(a: &Authority, now: i64) -> (crate::domains::World, Actor, Actor) {
    let w = world(a).await;
    a.update_organization(
        &w.mrao,
        w.camford,
        OrganizationPatch {
            validated: Some(true),
            city: Some("Camford".into()),
            ..OrganizationPatch::default()
        },
    )
    .await
    .unwrap();
    a.create_domain(
        &w.mrao,
        "*.camford.ac.uk",
        "",
        &[(w.camford, vec![Ssl])],
        true,
    )
    .await
    .unwrap();
    validated(a, "camford.ac.uk", now).await;
    for login in ["requester", "approver"] {
        a.create_admin(
            &w.mrao,
            NewAdministrator {
                login: login.into(),
                email: format!("{login}@camford.ac.uk"),
                password: Some(Zeroizing::new("a long enough password".into())),
                credentials: vec![Credential {
                    role: AdminRole::RaoSsl,
                    scope: w.camford,
                }],
                privileges: vec![Privilege::SslRequest, Privilege::SslApprove],
                ..NewAdministrator::default()
            },
        )
        .await
        .unwrap();
    }
    let get = |login: &'static str| async move {
        let r = a.store().admin_by_login(login).await.unwrap().unwrap();
        Actor::admin(&r, AccessMethod::RestApi, "192.0.2.3")
    };
    let requester = get("requester").await;
    let approver = get("approver").await;
    (w, requester, approver)
}

on_both!(
    an_order_waits_for_approval_then_issues_once,
    |fx: Fixture| async move {
        let a = &fx.authority;
        let (w, requester, approver) = ready(a, fx.clock.now().unix_timestamp()).await;
        let portal = csr(KeyType::EcP256, "portal.camford.ac.uk", &[]);
        let outcome = a
            .request_certificate(&requester, order(w.camford, portal))
            .await
            .unwrap();
        assert_eq!(outcome.status, CertificateStatus::Requested);
        assert_eq!(outcome.renew_id.len(), 20);
        let stored = a.order(&approver, outcome.id).await.unwrap();
        assert_eq!(
            stored.request.request.requested_names,
            ["portal.camford.ac.uk", "www.portal.camford.ac.uk"],
            "OV SSL adds www. to a single name"
        );
        assert_eq!(stored.details.comments, "for the portal");
        assert_eq!(stored.details.requester_admin_id, requester.admin_id);

        // Two approvals at once: one certificate.
        let (first, second) = tokio::join!(
            a.approve_request(&approver, outcome.id),
            a.approve_request(&requester, outcome.id)
        );
        let (ok, err) = match (first, second) {
            (Ok(Some(id)), Err(e)) | (Err(e), Ok(Some(id))) => (id, e.to_string()),
            other => panic!("exactly one approval must win: {other:?}"),
        };
        assert!(
            err.ends_with("not Requested; only requested certificates can be approved"),
            "{err}"
        );
        let stored = a.order(&approver, outcome.id).await.unwrap();
        assert_eq!(stored.request.request.status, CertificateStatus::Issued);
        assert_eq!(stored.details.certificate_id, Some(ok));
        let record = a
            .certificate(&castellan_ra::CertificateSelector::Id(ok))
            .await
            .unwrap();
        assert_eq!(record.certificate.request_id, Some(outcome.id));
        assert!(
            record
                .certificate
                .subject
                .contains("O=University of Camford")
        );
        assert_eq!(
            refusal(a.decline_request(&approver, outcome.id, "too late").await),
            format!(
                "SSL certificate {} is Issued, not Requested; only requested certificates can be \
             declined",
                outcome.id
            )
        );

        // Declined orders stay declined, with the message.
        let other = csr(KeyType::EcP256, "other.camford.ac.uk", &[]);
        let declined = a
            .request_certificate(&requester, order(w.camford, other))
            .await
            .unwrap();
        a.decline_request(&approver, declined.id, "not ours")
            .await
            .unwrap();
        let stored = a.order(&approver, declined.id).await.unwrap();
        assert_eq!(stored.request.request.status, CertificateStatus::Declined);
        assert_eq!(stored.details.decision_message, "not ours");

        // An administrator with autoApproveCertificates gets the certificate at once.
        let fast = csr(KeyType::EcP256, "fast.camford.ac.uk", &[]);
        let auto = a
            .request_certificate(&w.mrao, order(w.camford, fast))
            .await
            .unwrap();
        assert_eq!(auto.status, CertificateStatus::Issued);
        assert!(auto.certificate_id.is_some());
        // Decided by its requester when it was made, with both audit records.
        let stored = a.order(&approver, auto.id).await.unwrap();
        assert_eq!(stored.details.decided_by, w.mrao.admin_id);
        assert!(w.mrao.admin_id.is_some());
        assert_eq!(
            stored.details.decided_at,
            Some(stored.request.request.created_at)
        );
        let trail: Vec<String> = a
            .store()
            .audit_page(0, 1000)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.entry.object_type == "ssl" && e.entry.object_id == auto.id.to_string())
            .map(|e| e.entry.action)
            .collect();
        assert_eq!(trail, ["ssl.request", "ssl.auto-approve"]);

        // The list, its filters and its scope.
        use castellan_store::OrderFilter;
        let (all, total) = a
            .orders(&approver, OrderFilter::default(), 0, 10)
            .await
            .unwrap();
        assert_eq!(total, 3);
        assert_eq!(
            all.iter().map(|o| o.id).collect::<Vec<_>>(),
            [outcome.id, declined.id, auto.id]
        );
        assert!(all[0].serial.is_some() && all[1].serial.is_none());
        let (page, total) = a
            .orders(&approver, OrderFilter::default(), 1, 1)
            .await
            .unwrap();
        assert_eq!((page.len(), total), (1, 3));
        assert_eq!(page[0].id, declined.id);
        let by_status = OrderFilter {
            status: Some(CertificateStatus::Declined),
            ..OrderFilter::default()
        };
        assert_eq!(a.orders(&approver, by_status, 0, 10).await.unwrap().1, 1);
        let by_name = OrderFilter {
            subject_alt_name: Some("WWW.portal.camford.ac.uk".into()),
            ..OrderFilter::default()
        };
        let (found, _) = a.orders(&approver, by_name, 0, 10).await.unwrap();
        assert_eq!(found.iter().map(|o| o.id).collect::<Vec<_>>(), [outcome.id]);
        let by_serial = OrderFilter {
            serial: all[0].serial.clone(),
            ..OrderFilter::default()
        };
        assert_eq!(a.orders(&approver, by_serial, 0, 10).await.unwrap().1, 1);
        assert_eq!(
            a.orders(&w.drao, OrderFilter::default(), 0, 10)
                .await
                .unwrap()
                .1,
            0
        );
        let ap = &approver;
        let count = move |f: OrderFilter| async move { a.orders(ap, f, 0, 10).await.unwrap().1 };
        let sha1 = a
            .certificate(&castellan_ra::CertificateSelector::Id(ok))
            .await
            .unwrap()
            .certificate
            .sha1_fingerprint;
        assert_eq!(
            count(OrderFilter {
                sha1: Some(sha1.to_uppercase()),
                ..OrderFilter::default()
            })
            .await,
            1
        );
        assert_eq!(
            count(OrderFilter {
                key_algorithm: Some("EC".into()),
                ..OrderFilter::default()
            })
            .await,
            2
        );
        assert_eq!(
            count(OrderFilter {
                key_algorithm: Some("RSA".into()),
                ..OrderFilter::default()
            })
            .await,
            0
        );
        assert_eq!(
            count(OrderFilter {
                key_size: Some(256),
                ..OrderFilter::default()
            })
            .await,
            2
        );
        assert_eq!(
            count(OrderFilter {
                issuer: Some("ecc issuing".into()),
                ..OrderFilter::default()
            })
            .await,
            2
        );
        assert_eq!(
            count(OrderFilter {
                issuer: Some("RSA Issuing".into()),
                ..OrderFilter::default()
            })
            .await,
            0
        );
    }
);

on_both!(
    orders_are_refused_with_the_rule_and_the_fix,
    |fx: Fixture| async move {
        let a = &fx.authority;
        let (w, requester, _) = ready(a, fx.clock.now().unix_timestamp()).await;
        assert_eq!(
            refusal(
                a.request_certificate(
                    &requester,
                    order(
                        w.camford,
                        openssl_csr(
                            "/C=GB/L=Oxford/O=University of Camford/CN=portal.camford.ac.uk"
                        )
                    )
                )
                .await
            ),
            "invalid csr: Anchor Certificate address details are different: the CSR says L=Oxford, \
         but the organization's registered city is 'Camford'. Make the CSR's subject match the \
         organization's details (or leave L out of the CSR)"
        );
        // A matching subject is fine.
        a.request_certificate(
            &requester,
            order(
                w.camford,
                openssl_csr("/C=GB/L=Camford/O=University of Camford/CN=portal.camford.ac.uk"),
            ),
        )
        .await
        .unwrap();
        assert_eq!(
            refusal(
                a.request_certificate(
                    &requester,
                    order(w.camford, csr(KeyType::EcP256, "www.oxbridge.ac.uk", &[]))
                )
                .await
            ),
            "You cannot order certificates for the following or additional domains: \
         www.oxbridge.ac.uk, www.www.oxbridge.ac.uk. www.oxbridge.ac.uk: no domain covers it; \
         add www.oxbridge.ac.uk (or a wildcard above it) under Domains; www.www.oxbridge.ac.uk: \
         no domain covers it; add www.www.oxbridge.ac.uk (or a wildcard above it) under Domains"
                .replace("www.www.oxbridge.ac.uk", "oxbridge.ac.uk")
        );
        assert_eq!(
            refusal(
                a.request_certificate(
                    &w.drao,
                    order(w.camford, csr(KeyType::EcP256, "portal.camford.ac.uk", &[]))
                )
                .await
            ),
            "you cannot order SSL certificates for organization 'University of Camford' (id 1): it \
         is outside your SSL roles"
        );
        let mut long = order(w.camford, csr(KeyType::EcP256, "portal.camford.ac.uk", &[]));
        long.term_days = 365;
        assert_eq!(
            refusal(a.request_certificate(&requester, long).await),
            "profile 'OV SSL' (term): a term of 365 days is not allowed; allowed terms: 90, 199 days"
        );
        let mut ev = order(w.camford, csr(KeyType::EcP256, "portal.camford.ac.uk", &[]));
        ev.profile = "EV SSL".into();
        assert_eq!(
            refusal(a.request_certificate(&requester, ev).await),
            "EV certificates need the organization's EV details (business category, jurisdiction, \
         registration number), which the operator (MRAO) enters"
        );
        a.update_organization(
            &w.mrao,
            w.camford,
            OrganizationPatch {
                validated: Some(false),
                ..OrganizationPatch::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(
            refusal(
                a.request_certificate(
                    &requester,
                    order(w.camford, csr(KeyType::EcP256, "portal.camford.ac.uk", &[]))
                )
                .await
            ),
            "organization 'University of Camford' is Pending validation: nothing can be issued for \
         it until the operator (MRAO) validates it"
        );
        let _ = w.physics;
    }
);

on_both!(
    renewal_keeps_the_names_and_needs_ssl_renew,
    |fx: Fixture| async move {
        let a = &fx.authority;
        let (w, requester, _) = ready(a, fx.clock.now().unix_timestamp()).await;
        let multi = SslOrder {
            profile: "OV Multi-Domain SSL".into(),
            subject_alt_names: vec!["a.camford.ac.uk".into(), "b.camford.ac.uk".into()],
            ..order(w.camford, csr(KeyType::EcP256, "portal.camford.ac.uk", &[]))
        };
        let first = a.request_certificate(&w.mrao, multi).await.unwrap();
        assert_eq!(first.status, CertificateStatus::Issued);
        assert_eq!(
            refusal(a.renew_order(&requester, first.id, None).await),
            "you need the privilege sslRenew to renew SSL certificates; ask an administrator who \
         holds it"
        );
        let renewed = a.renew_order(&w.mrao, first.id, None).await.unwrap();
        assert_ne!(renewed.id, first.id);
        assert_eq!(renewed.status, CertificateStatus::Issued);
        let before = a.order(&w.mrao, first.id).await.unwrap();
        let after = a.order(&w.mrao, renewed.id).await.unwrap();
        assert_eq!(
            after.request.request.requested_names,
            before.request.request.requested_names
        );
        assert_eq!(
            after.details.comments,
            format!("Renewal of SSL certificate {}", first.id)
        );
    }
);

on_both!(
    replacement_reissues_the_order_and_retires_the_old_certificate,
    |fx: Fixture| async move {
        let a = &fx.authority;
        let (w, requester, approver) = ready(a, fx.clock.now().unix_timestamp()).await;
        let first = a
            .request_certificate(
                &w.mrao,
                order(w.camford, csr(KeyType::EcP256, "portal.camford.ac.uk", &[])),
            )
            .await
            .unwrap();
        let old = first.certificate_id.unwrap();
        assert_eq!(
            refusal(
                a.replace_order(
                    &requester,
                    first.id,
                    csr(KeyType::EcP256, "portal.camford.ac.uk", &[]),
                    vec![],
                    "rotate"
                )
                .await
            ),
            "you need the privilege sslReplace to replace SSL certificates; ask an administrator who \
         holds it"
        );
        // Without auto-approval the order waits again; the old certificate stays valid meanwhile.
        let replacer = {
            let mut r = approver.clone();
            r.privileges.insert(Privilege::SslReplace);
            r
        };
        let status = a
            .replace_order(
                &replacer,
                first.id,
                csr(KeyType::EcP256, "portal.camford.ac.uk", &[]),
                vec![],
                "rotate",
            )
            .await
            .unwrap();
        assert_eq!(status, CertificateStatus::Requested);
        let old_record = a
            .certificate(&castellan_ra::CertificateSelector::Id(old))
            .await
            .unwrap();
        assert_eq!(old_record.certificate.status, CertificateStatus::Issued);
        let new = a
            .approve_request(&approver, first.id)
            .await
            .unwrap()
            .unwrap();
        assert_ne!(new, old);
        let old_record = a
            .certificate(&castellan_ra::CertificateSelector::Id(old))
            .await
            .unwrap();
        assert_eq!(old_record.certificate.status, CertificateStatus::Replaced);
        let order = a.order(&approver, first.id).await.unwrap();
        assert_eq!(order.request.request.status, CertificateStatus::Issued);
        assert_eq!(order.details.certificate_id, Some(new));
        // The list shows the order once, with its current certificate.
        let (listed, total) = a
            .orders(&approver, castellan_store::OrderFilter::default(), 0, 10)
            .await
            .unwrap();
        assert_eq!(total, 1, "{listed:?}");
        let new_serial = a
            .certificate(&castellan_ra::CertificateSelector::Id(new))
            .await
            .unwrap()
            .certificate
            .serial;
        assert_eq!(listed[0].serial.as_deref(), Some(new_serial.as_str()));
        assert_eq!(
            refusal(
                a.replace_order(
                    &replacer,
                    first.id,
                    csr(KeyType::EcP256, "elsewhere.oxbridge.ac.uk", &[]),
                    vec![],
                    "x"
                )
                .await
            ),
            "You cannot order certificates for the following or additional domains: \
         elsewhere.oxbridge.ac.uk, www.elsewhere.oxbridge.ac.uk. elsewhere.oxbridge.ac.uk: no \
         domain covers it; add elsewhere.oxbridge.ac.uk (or a wildcard above it) under Domains; \
         www.elsewhere.oxbridge.ac.uk: no domain covers it; add www.elsewhere.oxbridge.ac.uk (or a \
         wildcard above it) under Domains"
        );
    }
);

#[tokio::test]
async fn auto_renewal_fires_in_its_window_and_mails_the_requester() {
    let (fx, _db) = sqlite_fixture().await;
    let a = &fx.authority;
    let (w, _, _) = ready(a, fx.clock.now().unix_timestamp()).await;
    let mut first = order(w.camford, csr(KeyType::EcP256, "portal.camford.ac.uk", &[]));
    first.external_requester = "webmaster@camford.ac.uk".into();
    let first = a.request_certificate(&w.mrao, first).await.unwrap();
    assert_eq!(
        refusal(a.set_auto_renew(&w.mrao, first.id, Some(365)).await),
        "invalid daysBeforeExpiration: 365 is not between 1 and 180 days"
    );
    a.set_auto_renew(&w.mrao, first.id, Some(30)).await.unwrap();
    assert!(
        a.auto_renew().await.unwrap().is_empty(),
        "not in the window yet"
    );

    // 61 days later a 90-day certificate has 29 days left: inside the 30-day window.
    fx.clock.set(fx.clock.now() + time::Duration::days(61));
    let renewed = a.auto_renew().await.unwrap();
    assert_eq!(renewed.len(), 1);
    let new = a.order(&w.mrao, renewed[0]).await.unwrap();
    assert_eq!(new.request.request.status, CertificateStatus::Issued);
    assert_eq!(new.request.request.requested_via, "Job");
    let old = a.order(&w.mrao, first.id).await.unwrap();
    assert_eq!(old.details.renewed_by, Some(renewed[0]));
    assert!(
        a.auto_renew().await.unwrap().is_empty(),
        "renewed once only"
    );

    // The requester and the external requester are told, through the outbox.
    let sink = castellan_testkit::smtp::SmtpSink::start();
    let mailer = sink_mailer(sink.port);
    let now = fx.clock.now().unix_timestamp();
    assert_eq!(
        castellan_notify::deliver_due(a.store(), &mailer, now)
            .await
            .unwrap(),
        2
    );
    let mails = sink.wait_for(2, std::time::Duration::from_secs(5));
    let to: Vec<bool> = ["admin@camford.ac.uk", "webmaster@camford.ac.uk"]
        .iter()
        .map(|addr| {
            mails
                .iter()
                .any(|m| m.contains(&format!("X-Envelope-To: {addr}")))
        })
        .collect();
    assert_eq!(to, [true, true], "{mails:?}");
    let mail = mails[0].replace("=\r\n", "");
    assert!(
        mail.contains(
            "Subject: Certificate renewed: portal.camford.ac.uk, www.portal.camford.ac.uk"
        ),
        "{mail}"
    );
    assert!(
        mail.contains(&format!("/api/ssl/v1/collect/{}/x509CO", renewed[0])),
        "{mail}"
    );
}

on_both!(
    the_guides_scenarios_wildcard_multi_domain_and_drao,
    |fx: Fixture| async move {
        let a = &fx.authority;
        let (w, _, _) = ready(a, fx.clock.now().unix_timestamp()).await;
        // Wildcard SSL: the CN must be a wildcard, and it is covered by *.camford.ac.uk.
        let wildcard = SslOrder {
            profile: "Wildcard SSL".into(),
            ..order(w.camford, csr(KeyType::EcP256, "*.camford.ac.uk", &[]))
        };
        let issued = a.request_certificate(&w.mrao, wildcard).await.unwrap();
        let stored = a.order(&w.mrao, issued.id).await.unwrap();
        assert_eq!(stored.request.request.requested_names, ["*.camford.ac.uk"]);
        let not_wild = SslOrder {
            profile: "Wildcard SSL".into(),
            ..order(w.camford, csr(KeyType::EcP256, "www.camford.ac.uk", &[]))
        };
        assert_eq!(
            refusal(a.request_certificate(&w.mrao, not_wild).await),
            "profile 'Wildcard SSL' (wildcard-required): the common name must be a wildcard such as \
         *.camford.ac.uk, got 'www.camford.ac.uk'"
        );
        // Multi-domain: every name checked.
        let multi = SslOrder {
            profile: "OV Multi-Domain SSL".into(),
            subject_alt_names: vec!["a.camford.ac.uk".into(), "b.camford.ac.uk".into()],
            ..order(w.camford, csr(KeyType::EcP256, "portal.camford.ac.uk", &[]))
        };
        let issued = a.request_certificate(&w.mrao, multi).await.unwrap();
        let stored = a.order(&w.mrao, issued.id).await.unwrap();
        assert_eq!(
            stored.request.request.requested_names,
            ["portal.camford.ac.uk", "a.camford.ac.uk", "b.camford.ac.uk"]
        );
        // A DRAO orders only within its department's delegations.
        a.create_admin(
            &w.mrao,
            NewAdministrator {
                login: "drao-orders".into(),
                email: "drao-orders@camford.ac.uk".into(),
                password: Some(Zeroizing::new("a long enough password".into())),
                credentials: vec![Credential {
                    role: AdminRole::DraoSsl,
                    scope: w.physics,
                }],
                privileges: vec![Privilege::SslRequest],
                ..NewAdministrator::default()
            },
        )
        .await
        .unwrap();
        let record = a
            .store()
            .admin_by_login("drao-orders")
            .await
            .unwrap()
            .unwrap();
        let drao = Actor::admin(&record, AccessMethod::RestApi, "");
        assert_eq!(
            refusal(
                a.request_certificate(
                    &drao,
                    order(w.physics, csr(KeyType::EcP256, "lab.camford.ac.uk", &[]))
                )
                .await
            ),
            "You cannot order certificates for the following or additional domains: \
         lab.camford.ac.uk, www.lab.camford.ac.uk. lab.camford.ac.uk: *.camford.ac.uk is not \
         delegated to department 'Physics' of 'University of Camford' (id 2) for SSL \
         certificates; www.lab.camford.ac.uk: *.camford.ac.uk is not delegated to department \
         'Physics' of 'University of Camford' (id 2) for SSL certificates"
        );
        a.add_delegation(
            &w.mrao,
            a.domains(&w.mrao).await.unwrap()[0].domain.id,
            w.physics,
            &[castellan_model::CertificateType::Ssl],
        )
        .await
        .unwrap();
        let outcome = a
            .request_certificate(
                &drao,
                order(w.physics, csr(KeyType::EcP256, "lab.camford.ac.uk", &[])),
            )
            .await
            .unwrap();
        assert_eq!(outcome.status, CertificateStatus::Requested);
    }
);

on_both!(
    an_approval_interrupted_before_signing_is_resumed,
    |fx: Fixture| async move {
        let a = &fx.authority;
        let (w, requester, _) = ready(a, fx.clock.now().unix_timestamp()).await;
        let outcome = a
            .request_certificate(
                &requester,
                order(w.camford, csr(KeyType::EcP256, "portal.camford.ac.uk", &[])),
            )
            .await
            .unwrap();
        // The process stops right after the approval was recorded.
        let now = fx.clock.now().unix_timestamp();
        let mut tx = fx.store.begin().await.unwrap();
        assert!(
            tx.transition_request(
                outcome.id,
                CertificateStatus::Requested,
                CertificateStatus::Approved,
                w.mrao.admin_id,
                now,
                ""
            )
            .await
            .unwrap()
        );
        tx.commit().await.unwrap();
        assert!(
            a.resume_approved().await.unwrap().is_empty(),
            "not stalled yet"
        );
        fx.clock.set(fx.clock.now() + time::Duration::minutes(6));
        let issued = a.resume_approved().await.unwrap();
        assert_eq!(issued.len(), 1);
        let order = a.order(&w.mrao, outcome.id).await.unwrap();
        assert_eq!(order.request.request.status, CertificateStatus::Issued);
        assert_eq!(order.details.certificate_id, Some(issued[0]));
        assert!(a.resume_approved().await.unwrap().is_empty(), "issued once");
    }
);

on_both!(
    ev_needs_details_an_anchor_and_a_second_administrator,
    |fx: Fixture| async move {
        let a = &fx.authority;
        let (w, requester, approver) = ready(a, fx.clock.now().unix_timestamp()).await;
        a.update_organization(
            &w.mrao,
            w.camford,
            OrganizationPatch {
                ev: Some(castellan_store::EvData {
                    business_category: "Government Entity".into(),
                    jurisdiction_country: "GB".into(),
                    registration_number: "RC000123".into(),
                    ..castellan_store::EvData::default()
                }),
                ..OrganizationPatch::default()
            },
        )
        .await
        .unwrap();
        let ev_order = |cn: &str| SslOrder {
            profile: "EV SSL".into(),
            ..order(w.camford, csr(KeyType::EcP256, cn, &[]))
        };
        assert_eq!(
            refusal(
                a.request_certificate(&requester, ev_order("portal.camford.ac.uk"))
                    .await
            ),
            "EV certificates need an issued EV anchor covering their domains; order an 'EV Anchor \
         (Validation Only)' for the organization first"
        );
        // The anchor: validation only, a second administrator, never signed.
        let anchor_order = SslOrder {
            profile: "EV Anchor (Validation Only)".into(),
            term_days: 365,
            subject_alt_names: vec!["www.portal.camford.ac.uk".into()],
            ..order(w.camford, csr(KeyType::EcP256, "portal.camford.ac.uk", &[]))
        };
        let anchor = a
            .request_certificate(&w.mrao, anchor_order.clone())
            .await
            .unwrap();
        assert_eq!(
            anchor.status,
            CertificateStatus::Requested,
            "EV is never auto-approved"
        );
        assert_eq!(
            refusal(a.approve_request(&w.mrao, anchor.id).await),
            "you requested this yourself; a different administrator must approve it"
        );
        assert_eq!(a.approve_request(&approver, anchor.id).await.unwrap(), None);
        let stored = a.order(&approver, anchor.id).await.unwrap();
        assert_eq!(stored.request.request.status, CertificateStatus::Issued);
        assert_eq!(
            stored.details.certificate_id, None,
            "an anchor is never signed"
        );
        assert_eq!(
            refusal(a.request_certificate(&w.mrao, anchor_order).await),
            format!(
                "the organization already has an active EV anchor (sslId {}); replace it to change \
             its domains",
                anchor.id
            )
        );

        // EV orders: names outside the anchor refused; inside, a second administrator issues.
        assert_eq!(
            refusal(
                a.request_certificate(&requester, ev_order("lab.camford.ac.uk"))
                    .await
            ),
            format!(
                "not covered by the organization's EV anchor (sslId {}): lab.camford.ac.uk, \
             www.lab.camford.ac.uk; replace the anchor to add them",
                anchor.id
            )
        );
        let ev = a
            .request_certificate(&requester, ev_order("portal.camford.ac.uk"))
            .await
            .unwrap();
        assert_eq!(
            refusal(a.approve_request(&requester, ev.id).await),
            "you requested this yourself; a different administrator must approve it"
        );
        let certificate = a.approve_request(&approver, ev.id).await.unwrap().unwrap();
        let record = a
            .certificate(&castellan_ra::CertificateSelector::Id(certificate))
            .await
            .unwrap();
        let subject = &record.certificate.subject;
        assert!(
            subject.contains("serialNumber=RC000123")
                && subject.contains("businessCategory=Government Entity"),
            "{subject}"
        );
        // Replacing the anchor changes its names (again with a second administrator).
        a.replace_order(
            &w.mrao,
            anchor.id,
            csr(KeyType::EcP256, "portal.camford.ac.uk", &[]),
            vec!["*.camford.ac.uk".into()],
            "add the labs",
        )
        .await
        .unwrap();
        assert_eq!(a.approve_request(&approver, anchor.id).await.unwrap(), None);
        let lab = a
            .request_certificate(&requester, ev_order("lab.camford.ac.uk"))
            .await
            .unwrap();
        assert_eq!(lab.status, CertificateStatus::Requested);
        let _ = w.physics;
    }
);

#[tokio::test]
async fn custom_fields_are_enforced_and_kept() {
    let (fx, _db) = sqlite_fixture().await;
    let Fixture {
        authority,
        clock,
        dns,
        ..
    } = fx;
    let a = &authority.with_ssl_custom_fields(vec![
        castellan_ra::orders::CustomField {
            id: 1,
            name: "Cost centre".into(),
            mandatory: true,
        },
        castellan_ra::orders::CustomField {
            id: 2,
            name: "Project".into(),
            mandatory: false,
        },
    ]);
    let (w, requester, _) = ready(a, clock.now().unix_timestamp()).await;
    let with = |fields: &[(&str, &str)]| SslOrder {
        custom_fields: fields
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
        ..order(w.camford, csr(KeyType::EcP256, "portal.camford.ac.uk", &[]))
    };
    assert_eq!(
        refusal(a.request_certificate(&requester, with(&[])).await),
        "invalid customFields: Missing mandatory custom field 'Cost centre'"
    );
    assert_eq!(
        refusal(
            a.request_certificate(&requester, with(&[("Cost centre", "  ")]))
                .await
        ),
        "invalid customFields: Missing mandatory custom field 'Cost centre'"
    );
    assert_eq!(
        refusal(
            a.request_certificate(
                &requester,
                with(&[("Cost centre", "X1"), ("Colour", "red")])
            )
            .await
        ),
        "invalid customFields: 'Colour' is not a custom field; the fields are: Cost centre, Project"
    );
    let ok = a
        .request_certificate(
            &requester,
            with(&[("Cost centre", "X1"), ("Project", "Portal")]),
        )
        .await
        .unwrap();
    let stored = a.order(&requester, ok.id).await.unwrap();
    assert_eq!(
        stored.details.custom_fields,
        r#"[{"name":"Cost centre","value":"X1"},{"name":"Project","value":"Portal"}]"#
    );
    drop(dns);
}

on_both!(
    certificates_past_their_term_become_expired,
    |fx: Fixture| async move {
        let a = &fx.authority;
        let (w, _, _) = ready(a, fx.clock.now().unix_timestamp()).await;
        let issued = a
            .request_certificate(
                &w.mrao,
                order(w.camford, csr(KeyType::EcP256, "portal.camford.ac.uk", &[])),
            )
            .await
            .unwrap();
        assert_eq!(a.expire_certificates().await.unwrap(), 0);
        fx.clock.set(fx.clock.now() + time::Duration::days(91));
        assert_eq!(a.expire_certificates().await.unwrap(), 1);
        let order = a.order(&w.mrao, issued.id).await.unwrap();
        assert_eq!(order.request.request.status, CertificateStatus::Expired);
        let record = a
            .certificate(&castellan_ra::CertificateSelector::Id(
                issued.certificate_id.unwrap(),
            ))
            .await
            .unwrap();
        assert_eq!(record.certificate.status, CertificateStatus::Expired);
        let expired = castellan_store::OrderFilter {
            status: Some(CertificateStatus::Expired),
            ..castellan_store::OrderFilter::default()
        };
        assert_eq!(a.orders(&w.mrao, expired, 0, 10).await.unwrap().1, 1);
        assert_eq!(a.expire_certificates().await.unwrap(), 0, "once");
    }
);

on_both!(
    an_organisation_uses_only_its_enabled_profiles,
    |fx: Fixture| async move {
        let a = &fx.authority;
        let (w, requester, _) = ready(a, fx.clock.now().unix_timestamp()).await;
        let only_multi = OrganizationPatch {
            enabled_profiles: Some(vec![2]),
            ..OrganizationPatch::default()
        };
        assert_eq!(
            refusal(
                a.update_organization(&w.rao, w.camford, only_multi.clone())
                    .await
            ),
            "only the operator (MRAO) can choose the profiles an organization may use"
        );
        a.update_organization(&w.mrao, w.camford, only_multi)
            .await
            .unwrap();
        assert_eq!(
            refusal(
                a.request_certificate(
                    &requester,
                    order(w.camford, csr(KeyType::EcP256, "portal.camford.ac.uk", &[]))
                )
                .await
            ),
            "profile 'OV SSL' is not enabled for organization 'University of Camford'; its profiles \
         are 'OV Multi-Domain SSL'; the operator (MRAO) can enable more"
        );
        let multi = SslOrder {
            profile: "OV Multi-Domain SSL".into(),
            ..order(w.camford, csr(KeyType::EcP256, "portal.camford.ac.uk", &[]))
        };
        a.request_certificate(&requester, multi).await.unwrap();
    }
);

on_both!(
    a_client_certificate_is_not_an_ssl_order,
    |fx: Fixture| async move {
        let a = &fx.authority;
        let (w, requester, approver) = ready(a, fx.clock.now().unix_timestamp()).await;
        let outcome = a
            .request_certificate(
                &requester,
                order(w.camford, csr(KeyType::EcP256, "portal.camford.ac.uk", &[])),
            )
            .await
            .unwrap();
        a.approve_request(&approver, outcome.id).await.unwrap();
        a.update_organization(
            &w.mrao,
            w.camford,
            OrganizationPatch {
                organization_identifier: Some("LEIXG-5493001KJTIIGC8Y1R12".into()),
                ..OrganizationPatch::default()
            },
        )
        .await
        .unwrap();
        // A client certificate, issued as the command line does: same table, other type.
        let client = a
            .issue_certificate(castellan_ra::IssueCommand {
                profile: "Personal Certificate".into(),
                key: castellan_ra::KeySource::Generate(KeyType::EcP256),
                term_days: 365,
                extra_names: vec!["ada@camford.ac.uk".into()],
                organization_id: Some(w.camford),
                organization: None,
                person: Some(castellan_model::PersonDetails {
                    given_name: Some("Ada".into()),
                    surname: Some("Lovelace".into()),
                    common_name: None,
                    email: "ada@camford.ac.uk".into(),
                }),
                requested_via: "CLI".into(),
                requester: "admin".into(),
            })
            .await
            .unwrap();
        // The SSL list, its count and its detail know only the SSL order.
        let (rows, total) = a
            .orders(&w.mrao, castellan_store::OrderFilter::default(), 0, 100)
            .await
            .unwrap();
        assert_eq!(total, 1);
        assert_eq!(rows.iter().map(|r| r.id).collect::<Vec<_>>(), [outcome.id]);
        assert_eq!(
            a.order(&w.mrao, client.request_id)
                .await
                .unwrap_err()
                .to_string(),
            format!("no SSL certificate {}", client.request_id)
        );
        // Asking for the client profile by id finds nothing among SSL orders either.
        let personal = a.profile("Personal Certificate").unwrap().id;
        let (_, total) = a
            .orders(
                &w.mrao,
                castellan_store::OrderFilter {
                    profile_id: Some(personal),
                    ..castellan_store::OrderFilter::default()
                },
                0,
                100,
            )
            .await
            .unwrap();
        assert_eq!(total, 0);
    }
);
