//! What the portal rests on in `ra`: sessions (opened by the sign-in rules, ended by time,
//! sign-out, a new password and suspension), form tokens, and the dashboard's figures
//! within the administrator's scope.

use crate::domains::world;
use crate::orders::{order, ready};
use crate::support::*;
use castellan_model::CertificateType::Ssl;
use castellan_model::{AdminRole, CertificateStatus, Credential, KeyType};
use castellan_ra::admins::{AdministratorPatch, NewAdministrator};
use castellan_ra::clock::Clock;
use castellan_ra::sessions::{csrf_matches, csrf_token};
use castellan_ra::{Authority, Result};
use castellan_store::{OrderFilter, OrderSort};
use zeroize::Zeroizing;

const PASSWORD: &str = "a long enough password";

fn refusal<T: std::fmt::Debug>(r: Result<T>) -> String {
    match r {
        Err(e) => e.to_string(),
        Ok(v) => panic!("expected a refusal, got {v:?}"),
    }
}

async fn open(a: &Authority, login: &str, password: &str) -> Result<Zeroizing<String>> {
    a.open_portal_session("camford", login, password, "192.0.2.9")
        .await
        .map(|s| s.token)
}

on_both!(
    sessions_end_by_time_sign_out_new_passwords_and_suspension,
    |fx: Fixture| async move {
        let a = &fx.authority;
        let w = world(a).await;
        let advance = |minutes: i64| {
            fx.clock
                .set(fx.clock.now() + time::Duration::minutes(minutes))
        };

        // The sign-in rules apply; an initial password gives a session that must change it.
        assert_eq!(
            refusal(open(a, "drao", "not the password").await),
            "Unknown user"
        );
        let token = open(a, "drao", PASSWORD).await.unwrap();
        let actor = a.portal_session(&token, "192.0.2.9").await.unwrap();
        assert_eq!(actor.login, "drao");
        assert!(actor.must_change_password);
        // Only the digest is stored: the cookie itself is not a key of the table.
        assert_eq!(a.store().session(&token).await.unwrap(), None);

        // A new password ends every session; the next one is a normal one.
        a.change_own_password(&actor, "drao's own new password")
            .await
            .unwrap();
        assert_eq!(
            refusal(a.portal_session(&token, "192.0.2.9").await),
            "your session has ended; please sign in again"
        );
        let token = open(a, "drao", "drao's own new password").await.unwrap();
        assert!(
            !a.portal_session(&token, "")
                .await
                .unwrap()
                .must_change_password
        );

        // Form tokens belong to one session.
        let other = open(a, "drao", "drao's own new password").await.unwrap();
        assert!(csrf_matches(&token, &csrf_token(&token)));
        assert!(!csrf_matches(&token, &csrf_token(&other)));
        assert!(!csrf_matches(&token, ""));
        assert_ne!(csrf_token(&token), csrf_token(&other));

        // Used within 30 minutes, a session goes on; idle for 30, it has ended.
        advance(25);
        a.portal_session(&token, "").await.unwrap();
        advance(25);
        a.portal_session(&token, "").await.unwrap();
        assert_eq!(
            refusal(a.portal_session(&other, "").await),
            "your session has ended; please sign in again"
        );
        // However busy, 12 hours after sign-in it has ended (50 + 28 × 25 minutes = 12.5 h).
        for _ in 0..28 {
            advance(25);
            let _ = a.portal_session(&token, "").await;
        }
        assert_eq!(
            refusal(a.portal_session(&token, "").await),
            "your session has ended; please sign in again"
        );

        // Signing out ends it (twice is harmless).
        let token = open(a, "drao", "drao's own new password").await.unwrap();
        let actor = a.portal_session(&token, "").await.unwrap();
        a.close_portal_session(&token, &actor).await.unwrap();
        a.close_portal_session(&token, &actor).await.unwrap();
        assert_eq!(
            refusal(a.portal_session(&token, "").await),
            "your session has ended; please sign in again"
        );

        // Suspension takes effect on the next page; a password reset ends the session.
        let token = open(a, "drao", "drao's own new password").await.unwrap();
        let suspend = |active| AdministratorPatch {
            active: Some(active),
            ..AdministratorPatch::default()
        };
        a.update_admin(&w.mrao, w.drao.admin_id.unwrap(), suspend(false))
            .await
            .unwrap();
        assert_eq!(
            refusal(a.portal_session(&token, "").await),
            "the account is suspended; ask another administrator to activate it"
        );
        a.update_admin(&w.mrao, w.drao.admin_id.unwrap(), suspend(true))
            .await
            .unwrap();
        a.portal_session(&token, "").await.unwrap();
        let reset = AdministratorPatch {
            password: Some(Zeroizing::new("reset by the operator".into())),
            ..AdministratorPatch::default()
        };
        a.update_admin(&w.mrao, w.drao.admin_id.unwrap(), reset)
            .await
            .unwrap();
        assert_eq!(
            refusal(a.portal_session(&token, "").await),
            "your session has ended; please sign in again"
        );

        // API administrators cannot use the portal.
        a.create_admin(
            &w.mrao,
            NewAdministrator {
                login: "api-client".into(),
                email: "api@camford.ac.uk".into(),
                admin_type: Some(castellan_model::AdminType::Api),
                password: Some(Zeroizing::new(PASSWORD.into())),
                credentials: vec![Credential {
                    role: AdminRole::RaoSsl,
                    scope: w.camford,
                }],
                ..NewAdministrator::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(
            refusal(open(a, "api-client", PASSWORD).await),
            "API administrators can only use the REST API"
        );

        // Sign-in and sign-out are in the audit log.
        let now = fx.clock.now().unix_timestamp();
        let actions: Vec<String> = a
            .audit_entries(&w.mrao, 0, now, 1000)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.entry.action)
            .collect();
        assert!(actions.iter().any(|x| x == "admin.sign-in"), "{actions:?}");
        assert!(actions.iter().any(|x| x == "admin.sign-out"), "{actions:?}");
    }
);

on_both!(
    the_dashboard_counts_what_the_administrator_may_see,
    |fx: Fixture| async move {
        let a = &fx.authority;
        let start = fx.clock.now().unix_timestamp();
        let (w, requester, approver) = ready(a, start).await;
        let issued = a
            .request_certificate(
                &w.mrao,
                order(w.camford, csr(KeyType::EcP256, "www1.camford.ac.uk", &[])),
            )
            .await
            .unwrap();
        assert_eq!(issued.status, CertificateStatus::Issued);
        let pending = a
            .request_certificate(
                &requester,
                order(w.camford, csr(KeyType::EcP256, "www2.camford.ac.uk", &[])),
            )
            .await
            .unwrap();
        assert_eq!(pending.status, CertificateStatus::Requested);

        // The list's search and sorting (the portal's SSL list).
        let approver_ref = &approver;
        let names = move |filter: OrderFilter| async move {
            let (page, total) = a.orders(approver_ref, filter, 0, 10).await.unwrap();
            let names: Vec<String> = page
                .into_iter()
                .map(|o| o.common_name.unwrap_or_default())
                .collect();
            (names, total)
        };
        let search = OrderFilter {
            name_contains: Some("WWW2.camford".into()),
            ..OrderFilter::default()
        };
        assert_eq!(names(search).await, (vec!["www2.camford.ac.uk".into()], 1));
        let sorted = |sort| OrderFilter {
            sort,
            ..OrderFilter::default()
        };
        let both: Vec<String> = vec!["www1.camford.ac.uk".into(), "www2.camford.ac.uk".into()];
        assert_eq!(names(sorted(OrderSort::NameAsc)).await.0, both);
        assert_eq!(names(sorted(OrderSort::IdAsc)).await.0, both);
        let reversed: Vec<String> = both.iter().rev().cloned().collect();
        assert_eq!(names(sorted(OrderSort::NameDesc)).await.0, reversed);
        assert_eq!(names(sorted(OrderSort::IdDesc)).await.0, reversed);
        // Soonest expiry first; the unissued request last.
        assert_eq!(names(sorted(OrderSort::ExpiresAsc)).await.0, both);
        assert_eq!(
            names(sorted(OrderSort::StatusAsc)).await.0,
            both,
            "Issued < Requested"
        );

        let d = a.dashboard(&approver).await.unwrap();
        assert_eq!(d.certificates.len(), 1, "{:?}", d.certificates);
        assert_eq!(d.certificates[0].certificate_type, Ssl);
        assert_eq!(
            d.certificates[0].by_status,
            [
                (CertificateStatus::Requested, 1),
                (CertificateStatus::Issued, 1)
            ]
        );
        assert_eq!(d.certificates[0].total, 2);
        let counts: Vec<(i64, i64)> = d.expiring.iter().map(|e| (e.days, e.count)).collect();
        assert_eq!(counts, [(7, 0), (30, 0), (90, 1)], "a 90-day certificate");
        assert_eq!(d.awaiting.1, 1);
        assert_eq!(d.awaiting.0[0].id, pending.id);
        assert!(d.dcvs.is_empty(), "the DCV is good for a year");
        let newest = &d.recent[0].entry;
        assert!(
            newest.description.contains("www2.camford.ac.uk"),
            "{newest:?}"
        );

        // 70 days on: within 30 days of expiry, not 7.
        fx.clock.set(fx.clock.now() + time::Duration::days(70));
        let d = a.dashboard(&approver).await.unwrap();
        let counts: Vec<(i64, i64)> = d.expiring.iter().map(|e| (e.days, e.count)).collect();
        assert_eq!(counts, [(7, 0), (30, 1), (90, 1)]);
        // A year less 20 days after validation, the DCV is listed as expiring.
        fx.clock
            .set(time::OffsetDateTime::from_unix_timestamp(start + 345 * 86_400).unwrap());
        let d = a.dashboard(&approver).await.unwrap();
        let names: Vec<&str> = d.dcvs.iter().map(|v| v.domain.name.as_str()).collect();
        assert_eq!(names, ["*.camford.ac.uk"], "{:?}", d.dcvs);

        // A DRAO of a department sees none of the organisation's certificates.
        let d = a.dashboard(&w.drao).await.unwrap();
        assert!(d.certificates.is_empty(), "{:?}", d.certificates);
        assert_eq!(d.awaiting.1, 0);
        let counts: Vec<i64> = d.expiring.iter().map(|e| e.count).collect();
        assert_eq!(counts, [0, 0, 0]);
        assert!(
            d.recent
                .iter()
                .all(|r| !r.entry.description.contains("www2.camford.ac.uk")),
            "{:?}",
            d.recent
        );
    }
);
