//! Domains: creation, delegation and its approval, visibility, and the name check made
//! before issuance, each refusal word for word.

use crate::support::*;
use castellan_model::{AccessMethod, AdminRole, CertificateType, Credential, OrgId, Privilege};
use castellan_ra::admins::NewAdministrator;
use castellan_ra::organizations::OrganizationPatch;
use castellan_ra::{Actor, Authority};
use castellan_store::DcvRecord;
use zeroize::Zeroizing;

use CertificateType::{Smime, Ssl};

pub(crate) struct World {
    pub(crate) mrao: Actor,
    pub(crate) rao: Actor,
    pub(crate) drao: Actor,
    pub(crate) drao_sibling: Actor,
    pub(crate) camford: OrgId,
    pub(crate) physics: OrgId,
    pub(crate) chemistry: OrgId,
}

async fn actor(a: &Authority, login: &str) -> Actor {
    let record = a.store().admin_by_login(login).await.unwrap().unwrap();
    Actor::admin(&record, AccessMethod::RestApi, "192.0.2.1")
}

pub(crate) async fn world(a: &Authority) -> World {
    let mrao = actor(a, "admin").await;
    let named = |n: &str| OrganizationPatch {
        name: Some(n.into()),
        country: Some("GB".into()),
        cert_types: Some(vec![Ssl, Smime]),
        ..OrganizationPatch::default()
    };
    let camford = a
        .create_organization(&mrao, named("University of Camford"))
        .await
        .unwrap();
    let physics = a
        .create_department(&mrao, camford, named("Physics"))
        .await
        .unwrap();
    let chemistry = a
        .create_department(&mrao, camford, named("Chemistry"))
        .await
        .unwrap();
    let all_domain_privileges = vec![
        Privilege::AllowManageDomains,
        Privilege::ApproveDomainDelegation,
    ];
    for (login, role, scope, privileges) in [
        (
            "rao",
            AdminRole::RaoSsl,
            camford,
            all_domain_privileges.clone(),
        ),
        (
            "drao",
            AdminRole::DraoSsl,
            physics,
            vec![Privilege::AllowManageDomains],
        ),
        (
            "drao-sibling",
            AdminRole::DraoSsl,
            chemistry,
            vec![Privilege::AllowManageDomains],
        ),
    ] {
        a.create_admin(
            &mrao,
            NewAdministrator {
                login: login.into(),
                email: format!("{login}@camford.ac.uk"),
                password: Some(Zeroizing::new("a long enough password".into())),
                credentials: vec![Credential { role, scope }],
                privileges,
                ..NewAdministrator::default()
            },
        )
        .await
        .unwrap();
    }
    World {
        rao: actor(a, "rao").await,
        drao: actor(a, "drao").await,
        drao_sibling: actor(a, "drao-sibling").await,
        mrao,
        camford,
        physics,
        chemistry,
    }
}

fn refusal<T: std::fmt::Debug>(r: castellan_ra::Result<T>) -> String {
    match r {
        Err(e) => e.to_string(),
        Ok(v) => panic!("expected a refusal, got {v:?}"),
    }
}

/// A validation of `domain` that passed at `at` and lasts a year.
pub(crate) async fn validated(a: &Authority, domain: &str, at: i64) {
    let mut tx = a.store().begin().await.unwrap();
    tx.save_dcv(&DcvRecord {
        domain: domain.into(),
        order_status: "NOT_INITIATED".into(),
        validated_method: "CNAME".into(),
        validated_at: Some(at),
        expires_at: Some(at + 365 * 86_400),
        updated_at: at,
        ..DcvRecord::default()
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

on_both!(
    domains_are_delegated_and_department_requests_wait,
    |fx: Fixture| async move {
        let a = &fx.authority;
        let w = world(a).await;
        let id = a
            .create_domain(
                &w.rao,
                "Camford.AC.UK.",
                "main",
                &[(w.camford, vec![Ssl])],
                true,
            )
            .await
            .unwrap();
        let view = a.domain(&w.rao, id).await.unwrap();
        assert_eq!(view.domain.name, "camford.ac.uk");
        assert_eq!(view.status.display(), "Action Required");
        assert!(view.domain.delegations.iter().all(|d| d.active));

        assert_eq!(
            refusal(
                a.create_domain(&w.rao, "camford.ac.uk", "", &[(w.camford, vec![Ssl])], true)
                    .await
            ),
            "domain 'camford.ac.uk' already exists"
        );
        assert_eq!(
            refusal(
                a.create_domain(&w.rao, "physics.camford.ac.uk", "", &[], true)
                    .await
            ),
            "invalid delegations: Please delegate domain to at least one organization or department"
        );
        assert_eq!(
            refusal(
                a.create_domain(
                    &w.rao,
                    "x.camford.ac.uk",
                    "",
                    &[(w.camford, vec![Smime])],
                    true
                )
                .await
            ),
            "you cannot delegate domains to organization 'University of Camford' (id 1) for SMIME \
         certificates: it is outside your SMIME roles"
        );

        // A DRAO's delegation to its own department waits for the organisation's RAO.
        let physics_domain = a
            .create_domain(
                &w.drao,
                "*.physics.camford.ac.uk",
                "",
                &[(w.physics, vec![Ssl])],
                true,
            )
            .await
            .unwrap();
        let view = a.domain(&w.drao, physics_domain).await.unwrap();
        assert!(view.domain.delegations.iter().all(|d| !d.active));
        assert_eq!(
            refusal(
                a.decide_delegation(&w.drao, physics_domain, w.physics, true)
                    .await
            ),
            "only an RAO of organization 'University of Camford' (id 1) can decide delegation \
         requests of its departments"
        );
        assert_eq!(
            refusal(a.domain(&w.drao_sibling, physics_domain).await),
            "domain *.physics.camford.ac.uk is not delegated to your organizations or departments"
        );
        a.decide_delegation(&w.rao, physics_domain, w.physics, true)
            .await
            .unwrap();
        assert!(
            a.domain(&w.drao, physics_domain)
                .await
                .unwrap()
                .domain
                .delegations[0]
                .active
        );
        assert_eq!(
            refusal(
                a.decide_delegation(&w.rao, physics_domain, w.physics, true)
                    .await
            ),
            "the delegation of *.physics.camford.ac.uk to department 'Physics' of 'University of \
         Camford' (id 2) is not awaiting approval"
        );
        // Rejecting removes the request.
        a.add_delegation(&w.drao_sibling, physics_domain, w.chemistry, &[Ssl])
            .await
            .unwrap();
        a.decide_delegation(&w.rao, physics_domain, w.chemistry, false)
            .await
            .unwrap();
        let view = a.domain(&w.rao, physics_domain).await.unwrap();
        assert_eq!(view.domain.delegations.len(), 1);

        // Visibility.
        let names = |views: Vec<castellan_ra::domains::DomainView>| {
            views.into_iter().map(|v| v.domain.name).collect::<Vec<_>>()
        };
        assert_eq!(
            names(a.domains(&w.drao).await.unwrap()),
            ["*.physics.camford.ac.uk"]
        );
        assert!(a.domains(&w.drao_sibling).await.unwrap().is_empty());
        assert_eq!(a.domains(&w.rao).await.unwrap().len(), 2);

        assert_eq!(
            refusal(a.delete_domain(&w.rao, id).await),
            "only the operator (MRAO) can delete domains"
        );
        // A department with a delegation cannot be deleted.
        assert_eq!(
            refusal(a.delete_organization(&w.mrao, w.physics).await),
            "department 'Physics' of 'University of Camford' (id 2) cannot be deleted while it is \
         still used by 1 administrator roles, 1 domain delegations; remove those first"
        );
        a.delete_domain(&w.mrao, id).await.unwrap();
        assert!(a.store().domain(id).await.unwrap().is_none());
    }
);

on_both!(
    names_need_a_delegated_active_validated_domain,
    |fx: Fixture| async move {
        use castellan_ra::clock::Clock;
        let a = &fx.authority;
        let w = world(a).await;
        let now = fx.clock.now().unix_timestamp();
        let wild = a
            .create_domain(
                &w.rao,
                "*.camford.ac.uk",
                "",
                &[(w.physics, vec![Ssl])],
                true,
            )
            .await
            .unwrap();
        a.create_domain(
            &w.drao_sibling,
            "chem.camford.ac.uk",
            "",
            &[(w.chemistry, vec![Ssl])],
            true,
        )
        .await
        .unwrap();
        let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();

        assert_eq!(
            refusal(
                a.check_names(
                    w.physics,
                    Ssl,
                    &names(&["www.camford.ac.uk", "badcamford.ac.uk"])
                )
                .await
            ),
            "You cannot order certificates for the following or additional domains: \
         www.camford.ac.uk, badcamford.ac.uk. www.camford.ac.uk: control of camford.ac.uk is \
         not validated; validate it under Domains (DCV); badcamford.ac.uk: no domain covers \
         it; add badcamford.ac.uk (or a wildcard above it) under Domains"
        );
        validated(a, "camford.ac.uk", now).await;
        a.check_names(
            w.physics,
            Ssl,
            &names(&["www.camford.ac.uk", "a.b.c.camford.ac.uk"]),
        )
        .await
        .unwrap();
        assert_eq!(
            refusal(
                a.check_names(w.physics, Ssl, &names(&["a.b.c.d.camford.ac.uk"]))
                    .await
            ),
            "You cannot order certificates for the following or additional domains: \
         a.b.c.d.camford.ac.uk. a.b.c.d.camford.ac.uk: no domain covers it; add \
         a.b.c.d.camford.ac.uk (or a wildcard above it) under Domains"
        );
        assert_eq!(
            refusal(
                a.check_names(w.chemistry, Ssl, &names(&["www.camford.ac.uk"]))
                    .await
            ),
            "You cannot order certificates for the following or additional domains: \
         www.camford.ac.uk. www.camford.ac.uk: *.camford.ac.uk is not delegated to department \
         'Chemistry' of 'University of Camford' (id 3) for SSL certificates"
        );
        assert_eq!(
            refusal(
                a.check_names(w.physics, Smime, &names(&["www.camford.ac.uk"]))
                    .await
            ),
            "You cannot order certificates for the following or additional domains: \
         www.camford.ac.uk. www.camford.ac.uk: *.camford.ac.uk is not delegated to department \
         'Physics' of 'University of Camford' (id 2) for SMIME certificates"
        );
        // The sibling's own request is pending.
        assert_eq!(
            refusal(
                a.check_names(w.chemistry, Ssl, &names(&["chem.camford.ac.uk"]))
                    .await
            ),
            "You cannot order certificates for the following or additional domains: \
         chem.camford.ac.uk. chem.camford.ac.uk: *.camford.ac.uk, chem.camford.ac.uk is not \
         delegated to department 'Chemistry' of 'University of Camford' (id 3) for SSL \
         certificates (the delegation request awaits an RAO's approval)"
        );
        a.set_domain_active(&w.rao, wild, false).await.unwrap();
        assert_eq!(
            refusal(
                a.check_names(w.physics, Ssl, &names(&["www.camford.ac.uk"]))
                    .await
            ),
            "You cannot order certificates for the following or additional domains: \
         www.camford.ac.uk. www.camford.ac.uk: domain *.camford.ac.uk is suspended"
        );
        a.set_domain_active(&w.rao, wild, true).await.unwrap();
        // CAA is a hard rule at issuance: a record for another CA blocks, and says what to add.
        fx.dns
            .add_caa("camford.ac.uk", 0, "issue", "letsencrypt.org")
            .await;
        assert_eq!(
            refusal(
                a.check_names(w.physics, Ssl, &names(&["www.camford.ac.uk"]))
                    .await
            ),
            "You cannot order certificates for the following or additional domains: \
             www.camford.ac.uk. www.camford.ac.uk: CAA record at camford.ac.uk (0 issue \
             \"letsencrypt.org\") does not allow castellan.test to issue; add: camford.ac.uk. \
             CAA 0 issue \"castellan.test\""
        );
        fx.dns
            .add_caa("camford.ac.uk", 0, "issue", "castellan.test")
            .await;
        a.check_names(w.physics, Ssl, &names(&["www.camford.ac.uk"]))
            .await
            .unwrap();
        // A year and a day later the validation has expired: Action Required again.
        fx.clock.set(fx.clock.now() + time::Duration::days(366));
        assert_eq!(
            refusal(
                a.check_names(w.physics, Ssl, &names(&["www.camford.ac.uk"]))
                    .await
            ),
            "You cannot order certificates for the following or additional domains: \
         www.camford.ac.uk. www.camford.ac.uk: control of camford.ac.uk is no longer validated \
         (the DCV expired); validate it under Domains (DCV)"
        );
        let view = a.domain(&w.rao, wild).await.unwrap();
        assert_eq!(view.status.as_str(), "EXPIRED");
        assert_eq!(view.status.display(), "Action Required");
        let _ = w.mrao;
    }
);
