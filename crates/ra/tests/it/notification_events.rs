//! Events told as they happen — delegation requests and decisions, an issuance that
//! failed, administrators and ACME accounts created — to their default recipients and to
//! those rules add (never outside a rule's scope); rules edited; and the operator's
//! templates, checked as they are saved and used for the next mail, HTML part included.

use crate::domains::world;
use crate::notifications::{delivered, recipients};
use crate::orders::{order, ready};
use crate::support::*;
use castellan_model::CertificateType::Ssl;
use castellan_model::{AdminRole, CertificateStatus, Credential, KeyType};
use castellan_ra::admins::NewAdministrator;
use castellan_ra::clock::Clock;
use castellan_ra::notifications::{
    ACME_ACCOUNT_CREATED, ADMIN_CREATED, DELEGATION_REQUESTED, RuleSpec, SSL_ISSUED, Template,
};

fn refusal<T: std::fmt::Debug>(r: castellan_ra::Result<T>) -> String {
    match r {
        Err(e) => e.to_string(),
        Ok(v) => panic!("expected a refusal, got {v:?}"),
    }
}

/// The mail sent to `to`.
fn mail_to<'a>(mails: &'a [String], to: &str) -> &'a str {
    mails
        .iter()
        .find(|m| m.contains(&format!("X-Envelope-To: {to}\r\n")))
        .unwrap_or_else(|| panic!("no mail to {to} in {mails:?}"))
}

on_both!(
    delegation_requests_and_decisions_are_told,
    |fx: Fixture| async move {
        let a = &fx.authority;
        let now = fx.clock.now().unix_timestamp();
        let w = world(a).await;
        // A rule of Chemistry's adds its IT team to Chemistry's requests, and no other.
        a.create_notification_rule(
            &w.rao,
            RuleSpec {
                kind: DELEGATION_REQUESTED.into(),
                org_id: w.chemistry,
                addresses: vec!["chem-it@camford.ac.uk".into()],
                ..RuleSpec::default()
            },
        )
        .await
        .unwrap();

        // A DRAO's domain waits for the organisation's RAO, who is told (not the MRAO, not
        // the DRAO who asked, not Chemistry's team).
        let physics = a
            .create_domain(
                &w.drao,
                "*.physics.camford.ac.uk",
                "",
                &[(w.physics, vec![Ssl])],
                true,
            )
            .await
            .unwrap();
        let mails = delivered(a, now, 1).await;
        assert_eq!(recipients(&mails), ["rao@camford.ac.uk"]);
        assert!(
            mails[0].contains(
                "Subject: Delegation of *.physics.camford.ac.uk to Physics awaits approval"
            ),
            "{mails:?}"
        );
        assert!(
            mails[0].contains(
                "drao asked for *.physics.camford.ac.uk to be delegated to Physics for SSL \
                 certificates."
            ),
            "{mails:?}"
        );
        assert!(
            mails[0].contains(&format!("/customer/camford/domains/{physics}")),
            "{mails:?}"
        );

        // Approved: the DRAO who asked hears of it.
        a.decide_delegation(&w.rao, physics, w.physics, true)
            .await
            .unwrap();
        let mails = delivered(a, now, 1).await;
        assert_eq!(recipients(&mails), ["drao@camford.ac.uk"]);
        assert!(
            mails[0].contains("Subject: Delegation of *.physics.camford.ac.uk to Physics approved"),
            "{mails:?}"
        );
        assert!(
            mails[0].contains(
                "rao approved the delegation of *.physics.camford.ac.uk to Physics for SSL"
            ),
            "{mails:?}"
        );

        // Chemistry asks too (its team is told), and is rejected.
        a.add_delegation(&w.drao_sibling, physics, w.chemistry, &[Ssl])
            .await
            .unwrap();
        a.decide_delegation(&w.rao, physics, w.chemistry, false)
            .await
            .unwrap();
        let mails = delivered(a, now, 3).await;
        assert_eq!(
            recipients(&mails),
            [
                "chem-it@camford.ac.uk",
                "drao-sibling@camford.ac.uk",
                "rao@camford.ac.uk"
            ]
        );
        assert!(
            mail_to(&mails, "chem-it@camford.ac.uk").contains(
                "Subject: Delegation of *.physics.camford.ac.uk to Chemistry awaits approval"
            ),
            "{mails:?}"
        );
        assert!(
            mail_to(&mails, "drao-sibling@camford.ac.uk")
                .contains("Subject: Delegation of *.physics.camford.ac.uk to Chemistry rejected"),
            "{mails:?}"
        );
        // The RAO's own delegations need nobody's approval: nothing to tell.
        a.create_domain(
            &w.rao,
            "*.camford.ac.uk",
            "",
            &[(w.camford, vec![Ssl])],
            true,
        )
        .await
        .unwrap();
        assert!(a.store().emails(100).await.unwrap().len() == 5);
    }
);

on_both!(
    an_issuance_that_fails_is_told_with_its_reason,
    |fx: Fixture| async move {
        let a = &fx.authority;
        let now = fx.clock.now().unix_timestamp();
        let (w, requester, approver) = ready(a, now).await;
        let outcome = a
            .request_certificate(
                &requester,
                castellan_ra::orders::SslOrder {
                    external_requester: "webmaster@camford.ac.uk".into(),
                    ..order(w.camford, csr(KeyType::EcP256, "portal.camford.ac.uk", &[]))
                },
            )
            .await
            .unwrap();
        assert_eq!(outcome.status, CertificateStatus::Requested);
        // The domain's validation is cleared before the approval: the issuance fails.
        a.dcv_clear(&w.mrao, "camford.ac.uk").await.unwrap();
        let reason = refusal(a.approve_request(&approver, outcome.id).await);
        assert_eq!(
            a.order(&w.mrao, outcome.id)
                .await
                .unwrap()
                .request
                .request
                .status,
            CertificateStatus::Invalid
        );
        // The approver heard of the request; the requester and the external requester of
        // the failure, with its reason word for word.
        let mails = delivered(a, now, 3).await;
        assert_eq!(
            recipients(&mails),
            [
                "approver@camford.ac.uk",
                "requester@camford.ac.uk",
                "webmaster@camford.ac.uk"
            ]
        );
        for to in ["requester@camford.ac.uk", "webmaster@camford.ac.uk"] {
            let mail = mail_to(&mails, to).replace("\r\n", "\n");
            assert!(
                mail.contains(
                    "Subject: SSL certificate for portal.camford.ac.uk could not be issued"
                ),
                "{mail}"
            );
            assert!(
                mail.contains(&format!("\n  {reason}\n")),
                "{reason} in {mail}"
            );
            assert!(mail.contains("The request is now Invalid."), "{mail}");
        }
    }
);

on_both!(
    rules_tell_of_administrators_and_acme_accounts_as_they_are_made,
    |fx: Fixture| async move {
        let a = &fx.authority;
        let now = fx.clock.now().unix_timestamp();
        let w = world(a).await;
        // Refusals name the rule and the fix.
        let admins_rule = RuleSpec {
            kind: ADMIN_CREATED.into(),
            org_id: w.camford,
            addresses: vec!["it-security@camford.ac.uk".into()],
            ..RuleSpec::default()
        };
        assert_eq!(
            refusal(
                a.create_notification_rule(
                    &w.rao,
                    RuleSpec {
                        requester: true,
                        ..admins_rule.clone()
                    }
                )
                .await
            ),
            "invalid recipients: 'Administrator created' has no requester: choose the \
             administrators or addresses"
        );
        assert_eq!(
            refusal(
                a.create_notification_rule(
                    &w.rao,
                    RuleSpec {
                        days: vec![30],
                        ..admins_rule.clone()
                    }
                )
                .await
            ),
            "invalid days: 'Administrator created' is sent when it happens; days before expiry \
             are for the expiring kinds only"
        );
        let admins_rule = a
            .create_notification_rule(&w.rao, admins_rule)
            .await
            .unwrap();
        // Physics's ACME accounts are told to Physics's administrators.
        a.create_notification_rule(
            &w.rao,
            RuleSpec {
                kind: ACME_ACCOUNT_CREATED.into(),
                org_id: w.physics,
                admins: true,
                ..RuleSpec::default()
            },
        )
        .await
        .unwrap();

        a.create_admin(
            &w.mrao,
            NewAdministrator {
                login: "newdrao".into(),
                email: "newdrao@camford.ac.uk".into(),
                forename: "New".into(),
                surname: "Drao".into(),
                password: Some(zeroize::Zeroizing::new("a long enough password".into())),
                credentials: vec![Credential {
                    role: AdminRole::DraoSsl,
                    scope: w.physics,
                }],
                ..NewAdministrator::default()
            },
        )
        .await
        .unwrap();
        let mails = delivered(a, now, 1).await;
        assert_eq!(recipients(&mails), ["it-security@camford.ac.uk"]);
        let mail = mails[0].replace("\r\n", "\n");
        assert!(
            mail.contains("Subject: Administrator newdrao created for Physics"),
            "{mail}"
        );
        assert!(
            mail.contains(
                "admin created the STANDARD administrator newdrao (New Drao, \
                 newdrao@camford.ac.uk) with the roles DRAO_SSL of Physics."
            ),
            "{mail}"
        );

        // An account of the organisation is outside the Physics rule; one of Physics is not.
        a.create_acme_account(&w.rao, "org servers", "OV ACME Server", w.camford)
            .await
            .unwrap();
        let (physics_account, eab) = a
            .create_acme_account(&w.rao, "physics servers", "OV ACME Server", w.physics)
            .await
            .unwrap();
        let mails = delivered(a, now, 3).await;
        assert_eq!(
            recipients(&mails),
            [
                "drao@camford.ac.uk",
                "newdrao@camford.ac.uk",
                "rao@camford.ac.uk"
            ]
        );
        let mail = mails[0].replace("\r\n", "\n");
        assert!(
            mail.contains("Subject: ACME account physics servers created for Physics"),
            "{mail}"
        );
        assert!(mail.contains(&eab.mac_id), "the key ID is named: {mail}");
        assert!(
            !mail.contains(eab.mac_key.as_str()),
            "the MAC key is never mailed"
        );
        assert!(
            mail.contains(&format!("/customer/camford/acme/{physics_account}")),
            "{mail}"
        );

        // Edited, the rule tells another address; out of scope, it cannot be seen.
        let mut edited = a.notification_rule(&w.rao, admins_rule).await.unwrap();
        assert_eq!(edited.rule.addresses, ["it-security@camford.ac.uk"]);
        edited.rule.addresses = vec!["pki@camford.ac.uk".into()];
        let spec = |addresses: Vec<String>| RuleSpec {
            kind: ADMIN_CREATED.into(),
            org_id: w.camford,
            addresses,
            ..RuleSpec::default()
        };
        assert_eq!(
            refusal(
                a.update_notification_rule(&w.drao_sibling, admins_rule, spec(vec![]))
                    .await
            ),
            format!("no notification rule {admins_rule}")
        );
        assert_eq!(
            refusal(
                a.update_notification_rule(&w.rao, admins_rule, spec(vec![]))
                    .await
            ),
            "invalid recipients: choose who is told: the requester, the external requester, the \
             administrators, or addresses"
        );
        a.update_notification_rule(&w.rao, admins_rule, spec(edited.rule.addresses.clone()))
            .await
            .unwrap();
        let after = a.notification_rule(&w.rao, admins_rule).await.unwrap();
        assert_eq!(after.rule.addresses, ["pki@camford.ac.uk"]);
        assert_eq!(after.rule.created_at, edited.rule.created_at);
        a.create_admin(
            &w.mrao,
            NewAdministrator {
                login: "another".into(),
                email: "another@camford.ac.uk".into(),
                password: Some(zeroize::Zeroizing::new("a long enough password".into())),
                credentials: vec![Credential {
                    role: AdminRole::RaoSsl,
                    scope: w.camford,
                }],
                ..NewAdministrator::default()
            },
        )
        .await
        .unwrap();
        let mails = delivered(a, now, 1).await;
        assert_eq!(recipients(&mails), ["pki@camford.ac.uk"]);

        // A rule for two departments: each one's DRAO sees it, neither may change it alone.
        let shared = a
            .create_notification_rule(
                &w.rao,
                RuleSpec {
                    kind: ADMIN_CREATED.into(),
                    org_id: w.camford,
                    departments: vec![w.physics, w.chemistry],
                    addresses: vec!["science@camford.ac.uk".into()],
                    ..RuleSpec::default()
                },
            )
            .await
            .unwrap();
        assert!(
            a.notification_rules(&w.drao)
                .await
                .unwrap()
                .iter()
                .any(|r| r.id == shared)
        );
        let outside = "this rule also covers department \
                       'Chemistry' of 'University of Camford' (id 3), which your roles do not \
                       reach; ask an administrator of organization 'University of Camford' (id \
                       1) to change it";
        assert_eq!(
            refusal(a.delete_notification_rule(&w.drao, shared).await),
            outside
        );
        assert_eq!(
            refusal(
                a.update_notification_rule(
                    &w.drao,
                    shared,
                    RuleSpec {
                        kind: ADMIN_CREATED.into(),
                        org_id: w.physics,
                        addresses: vec!["science@camford.ac.uk".into()],
                        ..RuleSpec::default()
                    }
                )
                .await
            ),
            outside
        );
        a.delete_notification_rule(&w.rao, shared).await.unwrap();
        let audit = a.audit_entries(&w.mrao, 0, i64::MAX, 1000).await.unwrap();
        assert!(
            audit.iter().any(|e| e.entry.action == "notification.update"
                && e.entry.object_id == admins_rule.to_string()),
            "the change is audited"
        );
    }
);

on_both!(
    templates_are_the_operators_and_are_checked_before_use,
    |fx: Fixture| async move {
        let a = &fx.authority;
        let now = fx.clock.now().unix_timestamp();
        let (w, requester, approver) = ready(a, now).await;
        let mine = Template {
            subject: "Ready: {{ common_name }}".into(),
            text: "{{ common_name }} of {{ organization }} is ready: {{ link }}\n".into(),
            html: "<p>{{ common_name }} of <b>{{ organization }}</b> is ready</p>".into(),
        };
        assert_eq!(
            refusal(
                a.set_notification_template(&w.rao, SSL_ISSUED, mine.clone())
                    .await
            ),
            "only the operator (MRAO) can change the notification templates"
        );
        assert_eq!(
            refusal(
                a.set_notification_template(&w.mrao, "ssl.sometimes", mine.clone())
                    .await
            ),
            "no notification kind ssl.sometimes"
        );
        let typo = refusal(
            a.set_notification_template(
                &w.mrao,
                SSL_ISSUED,
                Template {
                    subject: "Ready: {{ comon_name }}".into(),
                    ..mine.clone()
                },
            )
            .await,
        );
        assert!(
            typo.starts_with("invalid template: the subject of the 'ssl.issued' template: "),
            "{typo}"
        );
        let preview = a
            .set_notification_template(&w.mrao, SSL_ISSUED, mine.clone())
            .await
            .unwrap();
        assert_eq!(preview.subject, "Ready: www.example.ac.uk");
        let views = a.notification_templates().await.unwrap();
        let issued = views.iter().find(|v| v.kind == SSL_ISSUED).unwrap();
        assert!(issued.custom);
        assert_eq!(issued.template, mine);
        assert!(issued.variables.contains(&"common_name"));

        // The next certificate's mail is in the operator's words, with its HTML part.
        let outcome = a
            .request_certificate(
                &requester,
                order(w.camford, csr(KeyType::EcP256, "portal.camford.ac.uk", &[])),
            )
            .await
            .unwrap();
        a.approve_request(&approver, outcome.id).await.unwrap();
        assert_eq!(a.send_issued_notices().await.unwrap(), 1);
        let mails = delivered(a, now, 2).await;
        let mail = mail_to(&mails, "requester@camford.ac.uk");
        assert!(
            mail.contains("Subject: Ready: portal.camford.ac.uk"),
            "{mail}"
        );
        assert!(mail.contains("multipart/alternative"), "{mail}");
        assert!(
            mail.contains("portal.camford.ac.uk of University of Camford is ready: https://"),
            "{mail}"
        );
        assert!(
            mail.contains("<p>portal.camford.ac.uk of <b>University of Camford</b> is ready</p>"),
            "{mail}"
        );
        // The default mail has an HTML part made from its text.
        let approval = mail_to(&mails, "approver@camford.ac.uk");
        assert!(approval.contains("Content-Type: text/html"), "{approval}");

        a.reset_notification_template(&w.mrao, SSL_ISSUED)
            .await
            .unwrap();
        let views = a.notification_templates().await.unwrap();
        assert!(!views.iter().any(|v| v.custom));
        let audit = a.audit_entries(&w.mrao, 0, i64::MAX, 1000).await.unwrap();
        let actions: Vec<&str> = audit
            .iter()
            .filter(|e| e.entry.object_type == "notification_template")
            .map(|e| e.entry.action.as_str())
            .collect();
        assert_eq!(
            actions,
            ["notification.template-reset", "notification.template"]
        );
    }
);

on_both!(
    mail_given_up_is_shown_to_the_operator,
    |fx: Fixture| async move {
        let a = &fx.authority;
        let mut now = fx.clock.now().unix_timestamp();
        let w = world(a).await;
        assert_eq!(a.dashboard(&w.mrao).await.unwrap().given_up_emails, 0);
        // A delegation request, for a mail server that never answers.
        a.create_domain(
            &w.drao,
            "*.physics.camford.ac.uk",
            "",
            &[(w.physics, vec![Ssl])],
            true,
        )
        .await
        .unwrap();
        let nowhere = sink_mailer(castellan_testkit::smtp::free_port());
        for _ in 0..castellan_notify::MAX_ATTEMPTS {
            castellan_notify::deliver_due(a.store(), &nowhere, now)
                .await
                .unwrap();
            now += 7200;
        }
        assert_eq!(a.dashboard(&w.mrao).await.unwrap().given_up_emails, 1);
        assert_eq!(
            a.dashboard(&w.rao).await.unwrap().given_up_emails,
            0,
            "the operators run the mail server settings; others are not told"
        );
        let log = a.delivery_log(&w.rao, 10).await.unwrap();
        assert_eq!(log.len(), 1, "the RAO sees the mail addressed to them");
        assert_eq!(log[0].status, "DEAD");
    }
);
