//! Notification rules and expiry warnings, through the outbox to a real SMTP server on
//! loopback: each threshold once per certificate and recipient, nothing for a renewed
//! certificate, nothing outside the rule's scope, and every refusal word for word.

use crate::orders::{order, ready};
use crate::support::*;
use castellan_model::{CertificateStatus, KeyType, OrgId};
use castellan_ra::clock::Clock;
use castellan_ra::notifications::{DCV_EXPIRED, DCV_EXPIRING, RuleSpec, SSL_EXPIRED, SSL_EXPIRING};
use castellan_ra::{Actor, Authority};

/// Delivers what the outbox holds to a real SMTP server on loopback, asserting that `n`
/// messages went, and returns them as received (quoted-printable soft breaks joined).
pub(crate) async fn delivered(a: &Authority, now: i64, n: usize) -> Vec<String> {
    let sink = castellan_testkit::smtp::SmtpSink::start();
    let mailer = sink_mailer(sink.port);
    assert_eq!(
        castellan_notify::deliver_due(a.store(), &mailer, now)
            .await
            .unwrap(),
        n
    );
    sink.wait_for(n, std::time::Duration::from_secs(5))
        .into_iter()
        .map(|m| m.replace("=\r\n", ""))
        .collect()
}

/// The recipients of `mails` (their `X-Envelope-To`), sorted.
pub(crate) fn recipients(mails: &[String]) -> Vec<String> {
    let mut to: Vec<String> = mails
        .iter()
        .flat_map(|m| m.lines().filter_map(|l| l.strip_prefix("X-Envelope-To: ")))
        .map(str::to_owned)
        .collect();
    to.sort();
    to
}

fn refusal<T: std::fmt::Debug>(r: castellan_ra::Result<T>) -> String {
    match r {
        Err(e) => e.to_string(),
        Ok(v) => panic!("expected a refusal, got {v:?}"),
    }
}

async fn issued(a: &Authority, requester: &Actor, approver: &Actor, org: OrgId, cn: &str) -> i64 {
    let outcome = a
        .request_certificate(requester, order(org, csr(KeyType::EcP256, cn, &[])))
        .await
        .unwrap();
    assert_eq!(outcome.status, CertificateStatus::Requested);
    a.approve_request(approver, outcome.id).await.unwrap();
    outcome.id.0
}

on_both!(
    expiry_warnings_go_once_per_threshold_and_stop_after_renewal,
    |fx: Fixture| async move {
        let a = &fx.authority;
        let (w, requester, approver) = ready(a, fx.clock.now().unix_timestamp()).await;
        let kept = issued(a, &requester, &approver, w.camford, "www1.camford.ac.uk").await;
        let renewed = issued(a, &requester, &approver, w.camford, "www2.camford.ac.uk").await;

        let rule = |org, days: Vec<i64>| RuleSpec {
            kind: SSL_EXPIRING.into(),
            org_id: org,
            requester: true,
            addresses: vec!["pki-team@camford.ac.uk".into()],
            days,
            ..RuleSpec::default()
        };
        // Refusals name the rule and the fix.
        assert_eq!(
            refusal(
                a.create_notification_rule(
                    &approver,
                    RuleSpec {
                        kind: "ssl.sometimes".into(),
                        ..rule(w.camford, vec![7])
                    }
                )
                .await
            ),
            "invalid kind: 'ssl.sometimes' is not a notification; the kinds are ssl.expiring, \
             ssl.expired, smime.expiring, smime.expired, dcv.expiring, dcv.expired, \
             ssl.awaiting-approval, ssl.issued, \
             ssl.issuance-failed, ssl.revoked, ssl.auto-renewed, domain.delegation-requested, \
             domain.delegation-approved, domain.delegation-rejected, admin.created, \
             admin.idp-awaiting-approval, acme.account-created, smime.revoked, \
             smime.recovery-awaiting-approval"
        );
        assert_eq!(
            refusal(
                a.create_notification_rule(&approver, rule(w.camford, vec![0, 7]))
                    .await
            ),
            "invalid days: give 1 to 10 numbers of days before expiry, each from 1 to 398 (for \
             example 90, 60, 30, 7, 3)"
        );
        assert_eq!(
            refusal(
                a.create_notification_rule(
                    &approver,
                    RuleSpec {
                        requester: false,
                        addresses: vec![],
                        ..rule(w.camford, vec![7])
                    }
                )
                .await
            ),
            "invalid recipients: choose who is told: the requester, the external requester, the \
             administrators, or addresses"
        );
        assert_eq!(
            refusal(
                a.create_notification_rule(&w.drao, rule(w.camford, vec![7]))
                    .await
            ),
            "you have no SSL role over organization 'University of Camford' (id 1); notification \
             rules are set by its administrators"
        );
        assert_eq!(
            refusal(
                a.create_notification_rule(
                    &approver,
                    RuleSpec {
                        departments: vec![OrgId(999)],
                        ..rule(w.camford, vec![7])
                    }
                )
                .await
            ),
            "invalid departments: organization 999 (which does not exist) is not a department of \
             organization 'University of Camford' (id 1)"
        );
        a.create_notification_rule(&approver, rule(w.camford, vec![30, 7]))
            .await
            .unwrap();
        // A rule for the Physics department only: it must not mail about the organisation's.
        a.create_notification_rule(
            &w.mrao,
            RuleSpec {
                departments: vec![w.physics],
                requester: false,
                addresses: vec!["physics-it@camford.ac.uk".into()],
                ..rule(w.camford, vec![30, 7])
            },
        )
        .await
        .unwrap();
        assert_eq!(a.notification_rules(&approver).await.unwrap().len(), 2);
        // "Send test": the pressing administrator and the fixed addresses, marked as a test.
        let first = a.notification_rules(&approver).await.unwrap()[0].id;
        assert_eq!(
            a.send_test_notification(&approver, first).await.unwrap(),
            ["approver@camford.ac.uk", "pki-team@camford.ac.uk"]
        );
        let log = a.delivery_log(&w.mrao, 10).await.unwrap();
        assert_eq!(log.len(), 4, "two requests' approvals, two tests");
        assert!(
            log[0]
                .email
                .subject
                .starts_with("[Test] SSL certificate for www.example.ac.uk")
        );
        assert_eq!(
            refusal(a.send_test_notification(&w.drao_sibling, first).await),
            format!("no notification rule {first}")
        );
        assert!(
            a.notification_rules(&w.drao_sibling)
                .await
                .unwrap()
                .is_empty()
        );

        // Today nothing is due.
        assert_eq!(a.send_expiry_warnings().await.unwrap(), 0);
        // 61 days on, 29 days are left: the 30-day warning, to both recipients, for both.
        fx.clock.set(fx.clock.now() + time::Duration::days(61));
        assert_eq!(a.send_expiry_warnings().await.unwrap(), 4);
        assert_eq!(a.send_expiry_warnings().await.unwrap(), 0, "sent once");
        // www2 is renewed; 23 days on only www1 gets its 7-day warning.
        a.renew_order(&w.mrao, castellan_model::RequestId(renewed), None)
            .await
            .unwrap();
        fx.clock.set(fx.clock.now() + time::Duration::days(23));
        assert_eq!(a.send_expiry_warnings().await.unwrap(), 2);
        assert_eq!(a.send_expiry_warnings().await.unwrap(), 0);

        // Through a real SMTP server: six warnings, each as rendered (and the two requests'
        // mails to their approver, and the two test mails, from the start).
        let mails = delivered(a, fx.clock.now().unix_timestamp(), 10).await;
        let count = |needle: &str| mails.iter().filter(|m| m.contains(needle)).count();
        assert_eq!(
            count("Subject: SSL certificate for www1.camford.ac.uk expires in 29 days"),
            2
        );
        assert_eq!(
            count("Subject: SSL certificate for www2.camford.ac.uk expires in 29 days"),
            2
        );
        assert_eq!(
            count("Subject: SSL certificate for www1.camford.ac.uk expires in 6 days"),
            2
        );
        assert_eq!(count("www2.camford.ac.uk expires in 6 days"), 0);
        assert_eq!(count("X-Envelope-To: requester@camford.ac.uk"), 3);
        assert_eq!(count("awaits approval"), 2);
        assert_eq!(
            count("X-Envelope-To: pki-team@camford.ac.uk"),
            4,
            "three warnings, one test"
        );
        assert_eq!(
            count("physics-it@camford.ac.uk"),
            0,
            "another department's rule"
        );
        assert_eq!(
            count(&format!("/customer/camford/ssl/{kept}")),
            5,
            "each www1 mail (four warnings, one approval request) links to its order"
        );

        // An "expired" rule: once www1's day has passed (it was never renewed), one notice;
        // nothing for www2, renewed. It takes no thresholds.
        let expired = RuleSpec {
            kind: SSL_EXPIRED.into(),
            org_id: w.camford,
            addresses: vec!["pki-team@camford.ac.uk".into()],
            days: vec![5],
            ..RuleSpec::default()
        };
        assert_eq!(
            refusal(a.create_notification_rule(&approver, expired.clone()).await),
            "invalid days: 'SSL certificate expired' is sent when it happens; days before \
             expiry are for the expiring kinds only"
        );
        a.create_notification_rule(
            &approver,
            RuleSpec {
                days: vec![],
                ..expired
            },
        )
        .await
        .unwrap();
        assert_eq!(
            a.send_expiry_warnings().await.unwrap(),
            0,
            "not expired yet"
        );
        fx.clock.set(fx.clock.now() + time::Duration::days(7));
        assert_eq!(a.send_expiry_warnings().await.unwrap(), 1);
        assert_eq!(a.send_expiry_warnings().await.unwrap(), 0, "sent once");
        let log = a.delivery_log(&w.mrao, 50).await.unwrap();
        assert_eq!(
            log[0].email.subject,
            "SSL certificate for www1.camford.ac.uk has expired"
        );
        assert_eq!(log[0].email.recipient, "pki-team@camford.ac.uk");
        let rules = a.notification_rules(&approver).await.unwrap();
        assert!(
            rules
                .iter()
                .any(|r| r.rule.kind == SSL_EXPIRED && r.rule.days.is_empty())
        );
    }
);

on_both!(
    dcv_warnings_go_to_the_domains_administrators_once_per_threshold,
    |fx: Fixture| async move {
        let a = &fx.authority;
        let start = fx.clock.now().unix_timestamp();
        // camford.ac.uk is validated today (for a year), *.camford.ac.uk delegated to Camford.
        let (w, _requester, approver) = ready(a, start).await;
        assert_eq!(
            refusal(
                a.create_notification_rule(
                    &approver,
                    RuleSpec {
                        kind: DCV_EXPIRING.into(),
                        org_id: w.camford,
                        requester: true,
                        days: vec![30],
                        ..RuleSpec::default()
                    },
                )
                .await
            ),
            "invalid recipients: 'DCV expiring' has no requester: choose the administrators or \
             addresses"
        );
        a.create_notification_rule(
            &approver,
            RuleSpec {
                kind: DCV_EXPIRING.into(),
                org_id: w.camford,
                admins: true,
                addresses: vec!["hostmaster@camford.ac.uk".into()],
                days: vec![30, 7],
                ..RuleSpec::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(a.send_dcv_warnings().await.unwrap(), 0, "a year to go");
        // 345 days on, 20 are left: the 30-day warning to Camford's three administrators
        // (not the operator, not the departments' DRAOs) and the fixed address, once.
        fx.clock
            .set(time::OffsetDateTime::from_unix_timestamp(start + 345 * 86_400).unwrap());
        assert_eq!(a.send_dcv_warnings().await.unwrap(), 4);
        assert_eq!(a.send_dcv_warnings().await.unwrap(), 0, "sent once");
        // Validated again: a new year, nothing due.
        crate::domains::validated(a, "camford.ac.uk", fx.clock.now().unix_timestamp()).await;
        assert_eq!(a.send_dcv_warnings().await.unwrap(), 0);

        let mails = delivered(a, fx.clock.now().unix_timestamp(), 4).await;
        for to in ["rao", "requester", "approver", "hostmaster"] {
            assert_eq!(
                mails
                    .iter()
                    .filter(|m| m.contains(&format!("X-Envelope-To: {to}@camford.ac.uk")))
                    .count(),
                1,
                "{to}: {mails:?}"
            );
        }
        assert!(
            mails
                .iter()
                .all(|m| m.contains("Subject: DCV of camford.ac.uk expires in 20 days")),
            "{mails:?}"
        );

        // A "dcv.expired" rule: a day after the new validation runs out, one notice.
        a.create_notification_rule(
            &approver,
            RuleSpec {
                kind: DCV_EXPIRED.into(),
                org_id: w.camford,
                addresses: vec!["hostmaster@camford.ac.uk".into()],
                ..RuleSpec::default()
            },
        )
        .await
        .unwrap();
        fx.clock.set(fx.clock.now() + time::Duration::days(366));
        assert_eq!(a.send_dcv_warnings().await.unwrap(), 1);
        assert_eq!(a.send_dcv_warnings().await.unwrap(), 0, "sent once");
        let log = a.delivery_log(&w.mrao, 50).await.unwrap();
        assert_eq!(log[0].email.subject, "DCV of camford.ac.uk has expired");
    }
);

on_both!(
    approvers_hear_of_requests_and_requesters_of_their_certificates,
    |fx: Fixture| async move {
        let a = &fx.authority;
        let (_w, requester, approver) = ready(a, fx.clock.now().unix_timestamp()).await;
        let camford = _w.camford;
        let outcome = a
            .request_certificate(
                &requester,
                castellan_ra::orders::SslOrder {
                    external_requester: "webmaster@camford.ac.uk".into(),
                    ..order(camford, csr(KeyType::EcP256, "www3.camford.ac.uk", &[]))
                },
            )
            .await
            .unwrap();
        assert_eq!(outcome.status, CertificateStatus::Requested);
        assert_eq!(a.send_issued_notices().await.unwrap(), 0, "not issued yet");
        a.approve_request(&approver, outcome.id).await.unwrap();
        assert_eq!(a.send_issued_notices().await.unwrap(), 2);
        assert_eq!(a.send_issued_notices().await.unwrap(), 0, "told once");
        // Revoked: the requester and the external requester are told, with the reason.
        a.revoke_order(&_w.mrao, outcome.id, 4, "replaced by a new server", None)
            .await
            .unwrap();

        let mails = delivered(a, fx.clock.now().unix_timestamp(), 5).await;
        let to = |addr: &str, subject: &str| {
            mails
                .iter()
                .any(|m| m.contains(&format!("X-Envelope-To: {addr}")) && m.contains(subject))
        };
        // The approver (not the requester, who may approve too but asked; not the RAO
        // without the approval privilege; not the operator).
        let waiting = format!(
            "Subject: SSL certificate request {} for www3.camford.ac.uk awaits approval",
            outcome.id
        );
        assert!(to("approver@camford.ac.uk", &waiting), "{mails:?}");
        assert!(!to("requester@camford.ac.uk", &waiting), "{mails:?}");
        assert!(!to("rao@camford.ac.uk", &waiting), "{mails:?}");
        // The delivery log: the operator sees all three, an administrator their own; no bodies.
        let everyone = a.delivery_log(&_w.mrao, 50).await.unwrap();
        assert_eq!(everyone.len(), 5);
        assert!(
            everyone
                .iter()
                .all(|r| r.status == "SENT" && r.email.body_text.is_empty())
        );
        let mine = a.delivery_log(&approver, 50).await.unwrap();
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0].email.recipient, "approver@camford.ac.uk");
        assert!(
            mine[0].email.subject.ends_with("awaits approval"),
            "{mine:?}"
        );
        let ready = "Subject: Your SSL certificate for www3.camford.ac.uk is ready";
        assert!(to("requester@camford.ac.uk", ready), "{mails:?}");
        assert!(to("webmaster@camford.ac.uk", ready), "{mails:?}");
        let revoked = "Subject: SSL certificate for www3.camford.ac.uk revoked";
        assert!(to("requester@camford.ac.uk", revoked), "{mails:?}");
        assert!(to("webmaster@camford.ac.uk", revoked), "{mails:?}");
        assert!(
            mails
                .iter()
                .any(|m| m.contains("superseded (replaced by a new server)")),
            "{mails:?}"
        );
        assert!(
            mails
                .iter()
                .any(|m| m.contains(&format!("/customer/camford/ssl/{}", outcome.id))),
            "{mails:?}"
        );
    }
);

on_both!(
    an_ev_request_mails_its_approvers_for_a_second_approval,
    |fx: Fixture| async move {
        use castellan_model::{AdminRole, CertificateType, Credential, Privilege};
        use castellan_ra::admins::NewAdministrator;
        use castellan_ra::organizations::OrganizationPatch;
        let a = &fx.authority;
        let now = fx.clock.now().unix_timestamp();
        let (w, requester, _approver) = ready(a, now).await;
        // EV needs the organisation's EV details (the operator's) and an issued anchor.
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
        // Who else there is: a second approver of Camford; a Physics administrator who may
        // approve (a department's, not Camford's); an approver of another organisation.
        let oxbridge = a
            .create_organization(
                &w.mrao,
                OrganizationPatch {
                    name: Some("University of Oxbridge".into()),
                    country: Some("GB".into()),
                    cert_types: Some(vec![CertificateType::Ssl]),
                    ..OrganizationPatch::default()
                },
            )
            .await
            .unwrap();
        for (login, email, role, scope) in [
            (
                "approver2",
                "approver2@camford.ac.uk",
                AdminRole::RaoSsl,
                w.camford,
            ),
            (
                "physics-approver",
                "physics-approver@camford.ac.uk",
                AdminRole::DraoSsl,
                w.physics,
            ),
            (
                "oxbridge-approver",
                "approver@oxbridge.ac.uk",
                AdminRole::RaoSsl,
                oxbridge,
            ),
        ] {
            a.create_admin(
                &w.mrao,
                NewAdministrator {
                    login: login.into(),
                    email: email.into(),
                    password: Some(zeroize::Zeroizing::new("a long enough password".into())),
                    credentials: vec![Credential { role, scope }],
                    privileges: vec![Privilege::SslRequest, Privilege::SslApprove],
                    ..NewAdministrator::default()
                },
            )
            .await
            .unwrap();
        }
        let approver2 = {
            let r = a
                .store()
                .admin_by_login("approver2")
                .await
                .unwrap()
                .unwrap();
            Actor::admin(&r, castellan_model::AccessMethod::RestApi, "192.0.2.3")
        };
        let anchor = a
            .request_certificate(
                &w.mrao,
                castellan_ra::orders::SslOrder {
                    profile: "EV Anchor (Validation Only)".into(),
                    term_days: 365,
                    subject_alt_names: vec!["www.portal.camford.ac.uk".into()],
                    ..order(w.camford, csr(KeyType::EcP256, "portal.camford.ac.uk", &[]))
                },
            )
            .await
            .unwrap();
        a.approve_request(&approver2, anchor.id).await.unwrap();
        // The anchor's own request went to Camford's three approvers; out of the way.
        let anchor_mails = delivered(a, now, 3).await;
        assert!(
            anchor_mails
                .iter()
                .all(|m| m.contains(&format!("Subject: SSL certificate request {}", anchor.id))),
            "{anchor_mails:?}"
        );

        // The EV request waits, and is stored with its mail to the approvers in scope.
        let ev = a
            .request_certificate(
                &requester,
                castellan_ra::orders::SslOrder {
                    profile: "EV SSL".into(),
                    ..order(w.camford, csr(KeyType::EcP256, "portal.camford.ac.uk", &[]))
                },
            )
            .await
            .unwrap();
        assert_eq!(ev.status, CertificateStatus::Requested);
        let mails = delivered(a, now, 2).await;
        let to = recipients(&mails);
        // Camford's approvers, each once; not the requester (who may approve, but asked), not
        // the operator (MRAO), not the RAO without the approval privilege, not a department's
        // administrator, not another organisation's.
        assert_eq!(
            to,
            ["approver2@camford.ac.uk", "approver@camford.ac.uk"],
            "{mails:?}"
        );
        for nobody in [
            "requester@camford.ac.uk",
            "admin@camford.ac.uk",
            "rao@camford.ac.uk",
            "physics-approver@camford.ac.uk",
            "approver@oxbridge.ac.uk",
        ] {
            assert!(!to.iter().any(|t| t == nobody), "{nobody}: {mails:?}");
        }
        for m in &mails {
            assert!(
                m.contains(&format!(
                    "Subject: SSL certificate request {} for portal.camford.ac.uk awaits approval",
                    ev.id
                )),
                "{m}"
            );
            assert!(
                m.contains(
                    "requester requested an SSL certificate (EV SSL) for University of Camford; \
                     it awaits a second administrator's approval."
                ),
                "{m}"
            );
            assert!(
                m.contains("Names: portal.camford.ac.uk, www.portal.camford.ac.uk"),
                "{m}"
            );
            assert!(
                m.contains(&format!("/customer/camford/ssl/{}", ev.id)),
                "{m}"
            );
        }
        // The outbox holds exactly those two for this request, both sent.
        let log = a.delivery_log(&w.mrao, 50).await.unwrap();
        let waiting: Vec<_> = log
            .iter()
            .filter(|r| r.email.subject.contains(&format!("request {} ", ev.id)))
            .collect();
        assert_eq!(waiting.len(), 2);
        assert!(waiting.iter().all(|r| r.status == "SENT"));
    }
);
