//! Organisations, departments, administrators, sign-in, approvals and the audit log: the
//! rules of who may do what, each refusal checked word for word.

use crate::support::*;
use castellan_model::{
    AccessMethod, AdminRole, AdminType, CertificateType, Credential, OrgId, Privilege,
};
use castellan_ra::admins::{AdministratorPatch, NewAdministrator};
use castellan_ra::clock::Clock;
use castellan_ra::organizations::OrganizationPatch;
use castellan_ra::signin::SignInError;
use castellan_ra::{Actor, Authority, RaError};
use castellan_store::EvData;
use castellan_testkit::db::TestDb;
use zeroize::Zeroizing;

const PASSWORD: &str = "a long enough password";

/// Two organisations, two departments of the first, and one administrator per role.
struct World {
    mrao: Actor,
    camford: OrgId,
    physics: OrgId,
    chemistry: OrgId,
    oxbridge: OrgId,
    rao: Actor,
    rao_other_org: Actor,
    drao_physics: Actor,
    drao_chemistry: Actor,
}

async fn actor(authority: &Authority, login: &str) -> Actor {
    let record = authority
        .store()
        .admin_by_login(login)
        .await
        .unwrap()
        .unwrap();
    Actor::admin(&record, AccessMethod::RestApi, "192.0.2.1")
}

async fn mrao(authority: &Authority) -> Actor {
    actor(authority, "admin").await
}

fn org(name: &str) -> OrganizationPatch {
    OrganizationPatch {
        name: Some(name.into()),
        address1: Some("1 High Street".into()),
        city: Some("Camford".into()),
        state_or_province: Some("Camfordshire".into()),
        postal_code: Some("CF1 1AA".into()),
        country: Some("GB".into()),
        cert_types: Some(vec![CertificateType::Ssl, CertificateType::Smime]),
        ..OrganizationPatch::default()
    }
}

fn named(name: &str) -> OrganizationPatch {
    OrganizationPatch {
        name: Some(name.into()),
        ..OrganizationPatch::default()
    }
}

fn new_admin(
    login: &str,
    role: AdminRole,
    scope: OrgId,
    privileges: &[Privilege],
) -> NewAdministrator {
    NewAdministrator {
        login: login.into(),
        email: format!("{login}@camford.ac.uk"),
        forename: "Test".into(),
        surname: login.into(),
        password: Some(Zeroizing::new(PASSWORD.into())),
        credentials: vec![Credential { role, scope }],
        privileges: privileges.to_vec(),
        ..NewAdministrator::default()
    }
}

const RAO_PRIVILEGES: &[Privilege] = &[
    Privilege::AllowCreate,
    Privilege::AllowEdit,
    Privilege::AllowDelete,
    Privilege::AddDepartments,
    Privilege::EditDepartments,
    Privilege::SslApprove,
];

async fn world(authority: &Authority) -> World {
    let mrao = mrao(authority).await;
    let camford = authority
        .create_organization(&mrao, org("University of Camford"))
        .await
        .unwrap();
    let oxbridge = authority
        .create_organization(&mrao, org("Oxbridge College"))
        .await
        .unwrap();
    let physics = authority
        .create_department(&mrao, camford, named("Physics"))
        .await
        .unwrap();
    let chemistry = authority
        .create_department(&mrao, camford, named("Chemistry"))
        .await
        .unwrap();
    for (login, role, scope, privileges) in [
        ("rao-camford", AdminRole::RaoSsl, camford, RAO_PRIVILEGES),
        ("rao-oxbridge", AdminRole::RaoSsl, oxbridge, RAO_PRIVILEGES),
        (
            "drao-physics",
            AdminRole::DraoSsl,
            physics,
            &[Privilege::AllowCreate, Privilege::AllowEdit][..],
        ),
        (
            "drao-chemistry",
            AdminRole::DraoSsl,
            chemistry,
            &[Privilege::AllowCreate, Privilege::AllowEdit][..],
        ),
    ] {
        authority
            .create_admin(&mrao, new_admin(login, role, scope, privileges))
            .await
            .unwrap();
    }
    World {
        camford,
        physics,
        chemistry,
        oxbridge,
        rao: actor(authority, "rao-camford").await,
        rao_other_org: actor(authority, "rao-oxbridge").await,
        drao_physics: actor(authority, "drao-physics").await,
        drao_chemistry: actor(authority, "drao-chemistry").await,
        mrao,
    }
}

fn refusal(result: castellan_ra::Result<impl std::fmt::Debug>) -> String {
    match result {
        Err(e) => e.to_string(),
        Ok(v) => panic!("expected a refusal, got {v:?}"),
    }
}

on_both!(
    organisations_validation_and_ev_details_belong_to_the_mrao,
    |fx: Fixture| async move {
        let a = &fx.authority;
        let w = world(a).await;
        let view = a.organization(&w.rao, w.camford).await.unwrap();
        assert!(
            !view.organization.data.validated,
            "new organisations are Pending"
        );
        assert_eq!(
            view.departments
                .iter()
                .map(|d| d.data.name.as_str())
                .collect::<Vec<_>>(),
            ["Physics", "Chemistry"]
        );

        let validate = OrganizationPatch {
            validated: Some(true),
            ..OrganizationPatch::default()
        };
        assert_eq!(
            refusal(
                a.update_organization(&w.rao, w.camford, validate.clone())
                    .await
            ),
            "only the operator (MRAO) can change an organization's validation status"
        );
        let updated = a
            .update_organization(&w.mrao, w.camford, validate)
            .await
            .unwrap();
        assert!(updated.data.validated);

        let ev = OrganizationPatch {
            ev: Some(EvData {
                business_category: "Government Entity".into(),
                jurisdiction_country: "GB".into(),
                registration_number: "RC000123".into(),
                ..EvData::default()
            }),
            ..OrganizationPatch::default()
        };
        assert_eq!(
            refusal(a.update_organization(&w.rao, w.camford, ev.clone()).await),
            "only the operator (MRAO) can edit EV details (RAOs can read them)"
        );
        a.update_organization(&w.mrao, w.camford, ev).await.unwrap();
        let read = a.organization(&w.rao, w.camford).await.unwrap();
        assert_eq!(read.organization.data.ev.registration_number, "RC000123");

        // The guide's 5.2: a change of name or address needs validating again.
        let moved = OrganizationPatch {
            address1: Some("2 New Road".into()),
            ..OrganizationPatch::default()
        };
        let after = a
            .update_organization(&w.rao, w.camford, moved)
            .await
            .unwrap();
        assert!(
            !after.data.validated,
            "an address change sends it back to Pending"
        );
        assert_eq!(after.data.address1, "2 New Road");

        assert_eq!(
            refusal(
                a.update_organization(&w.rao_other_org, w.camford, named("Mine now"))
                    .await
            ),
            "only the operator (MRAO) or an RAO of organization 'University of Camford' (id 1) \
         can edit it"
        );
        assert_eq!(
            refusal(a.organization(&w.rao_other_org, w.camford).await),
            "organization 'University of Camford' (id 1) is outside your organizations and departments"
        );
        assert_eq!(
            refusal(a.create_organization(&w.rao, org("Another")).await),
            "only the operator (MRAO) can create organizations"
        );
        assert_eq!(
            refusal(
                a.create_organization(&w.mrao, org("university of camford"))
                    .await
            ),
            "organization or department name 'university of camford' already exists"
        );
        let bad_country = OrganizationPatch {
            country: Some("England".into()),
            ..org("Bad Country")
        };
        assert_eq!(
            refusal(a.create_organization(&w.mrao, bad_country).await),
            "invalid country: 'ENGLAND' is not a two-letter ISO 3166 country code such as GB"
        );
    }
);

on_both!(
    departments_are_managed_by_the_organisations_raos,
    |fx: Fixture| async move {
        let a = &fx.authority;
        let w = world(a).await;
        let biology = a
            .create_department(&w.rao, w.camford, named("Biology"))
            .await
            .unwrap();
        assert_eq!(
            refusal(
                a.create_department(&w.rao_other_org, w.camford, named("Law"))
                    .await
            ),
            "only the operator (MRAO) or an RAO of organization 'University of Camford' (id 1) \
         can add departments to it"
        );
        assert_eq!(
            refusal(
                a.create_department(&w.drao_physics, w.camford, named("Law"))
                    .await
            ),
            "only the operator (MRAO) or an RAO of organization 'University of Camford' (id 1) \
         can add departments to it"
        );
        assert_eq!(
            refusal(
                a.create_department(&w.mrao, w.physics, named("Optics"))
                    .await
            ),
            "invalid parentId: department 'Physics' of 'University of Camford' (id 3) is a \
         department; departments belong to an organization"
        );
        // Departments share the organisations' id space.
        assert!(biology.0 > w.chemistry.0);
        // A department in use cannot be deleted.
        assert_eq!(
            refusal(a.delete_organization(&w.rao, w.physics).await),
            "department 'Physics' of 'University of Camford' (id 3) cannot be deleted while it is \
         still used by 1 administrator roles; remove those first"
        );
        a.delete_organization(&w.rao, biology).await.unwrap();
        assert!(a.store().organization(biology).await.unwrap().is_none());
        assert_eq!(
            refusal(a.delete_organization(&w.rao, w.camford).await),
            "only the operator (MRAO) can delete organizations"
        );
        assert_eq!(
            refusal(a.delete_organization(&w.mrao, w.camford).await),
            "organization 'University of Camford' (id 1) cannot be deleted while it is still used \
         by 2 departments, 1 administrator roles; remove those first"
        );
        // The DRAO sees its organisation with only its own department.
        let views = a.organizations(&w.drao_physics).await.unwrap();
        assert_eq!(views.len(), 1);
        assert_eq!(
            views[0]
                .departments
                .iter()
                .map(|d| d.id)
                .collect::<Vec<_>>(),
            [w.physics]
        );
        assert_eq!(a.organizations(&w.mrao).await.unwrap().len(), 2);
        let _ = w.oxbridge;
    }
);

on_both!(
    administrators_grant_only_what_they_hold,
    |fx: Fixture| async move {
        let a = &fx.authority;
        let w = world(a).await;
        // An RAO can make a DRAO of its own department.
        let id = a
            .create_admin(
                &w.rao,
                new_admin(
                    "new-drao",
                    AdminRole::DraoSsl,
                    w.physics,
                    &[Privilege::SslApprove],
                ),
            )
            .await
            .unwrap();
        let created = a.admin(&w.rao, id).await.unwrap();
        assert!(
            created.data.must_change_password,
            "local admins change the initial password"
        );
        assert_eq!(created.data.created_by, w.rao.admin_id);

        assert_eq!(
            refusal(
                a.create_admin(&w.rao, new_admin("x-1", AdminRole::RaoSsl, w.oxbridge, &[]))
                    .await
            ),
            "you cannot grant the role RAO_SSL for organization 'Oxbridge College' (id 2): you hold \
         no RAO_SSL role for organization 'Oxbridge College' (id 2)"
        );
        assert_eq!(
            refusal(
                a.create_admin(
                    &w.rao,
                    new_admin("x-2", AdminRole::RaoSmime, w.camford, &[])
                )
                .await
            ),
            "you cannot grant the role RAO_SMIME for organization 'University of Camford' (id 1): \
         you hold no RAO_SMIME role for organization 'University of Camford' (id 1)"
        );
        assert_eq!(
            refusal(
                a.create_admin(
                    &w.rao,
                    new_admin(
                        "x-3",
                        AdminRole::DraoSsl,
                        w.physics,
                        &[Privilege::SslRevoke]
                    )
                )
                .await
            ),
            "you cannot grant the privilege sslRevoke: you do not hold it yourself; ask the \
         operator (MRAO) to grant it"
        );
        assert_eq!(
            refusal(
                a.create_admin(
                    &w.drao_physics,
                    new_admin("x-4", AdminRole::DraoSsl, w.chemistry, &[])
                )
                .await
            ),
            "you cannot grant the role DRAO_SSL for department 'Chemistry' of 'University of \
         Camford' (id 4): you hold neither RAO_SSL for its organization nor DRAO_SSL for \
         department 'Chemistry' of 'University of Camford' (id 4)"
        );
        assert_eq!(
            refusal(
                a.create_admin(&w.rao, new_admin("x-5", AdminRole::RaoSsl, w.physics, &[]))
                    .await
            ),
            "invalid credentials: RAO_SSL is an organization role, but department 'Physics' of \
         'University of Camford' (id 3) is a department; use DRAO_SSL for departments"
        );
        assert_eq!(
            refusal(
                a.create_admin(&w.rao, new_admin("x-6", AdminRole::Mrao, OrgId(0), &[]))
                    .await
            ),
            "you cannot grant the role MRAO for the whole service: only an MRAO can grant MRAO"
        );
        let mut short = new_admin("x-7", AdminRole::DraoSsl, w.physics, &[]);
        short.password = Some(Zeroizing::new("short".into()));
        assert_eq!(
            refusal(a.create_admin(&w.rao, short).await),
            "invalid password: a password must be at least 12 characters long"
        );
        let mut bad_login = new_admin("x 8", AdminRole::DraoSsl, w.physics, &[]);
        bad_login.email = "x8@camford.ac.uk".into();
        assert_eq!(
            refusal(a.create_admin(&w.rao, bad_login).await),
            "invalid login: 'x 8' must be 3 to 128 characters of letters, digits and ! @ _ . - + '"
        );
        assert_eq!(
            refusal(
                a.create_admin(
                    &w.rao,
                    new_admin("new-drao", AdminRole::DraoSsl, w.physics, &[])
                )
                .await
            ),
            "administrator login 'new-drao' already exists"
        );

        // Nobody edits their own roles; a DRAO cannot manage an RAO.
        let own = AdministratorPatch {
            privileges: Some(vec![Privilege::SslRevoke]),
            ..AdministratorPatch::default()
        };
        let rao_id = w.rao.admin_id.unwrap();
        assert_eq!(
            refusal(a.update_admin(&w.rao, rao_id, own).await),
            "you cannot change your own roles or privileges; ask another administrator"
        );
        assert_eq!(
            refusal(
                a.update_admin(&w.drao_physics, rao_id, AdministratorPatch::default())
                    .await
            ),
            "administrator 2 is outside your organizations and departments"
        );
        let drao_chem_id = w.drao_chemistry.admin_id.unwrap();
        assert_eq!(
            refusal(a.delete_admin(&w.drao_physics, drao_chem_id).await),
            "administrator 5 is outside your organizations and departments"
        );
        assert_eq!(
            refusal(a.delete_admin(&w.drao_physics, id).await),
            "you need the privilege allowDelete to delete administrators; ask an administrator who \
         holds it"
        );
        a.delete_admin(&w.rao, id).await.unwrap();
        assert_eq!(
            refusal(a.delete_admin(&w.mrao, w.mrao.admin_id.unwrap()).await),
            "you cannot delete your own account; ask another administrator"
        );

        // Visibility: the RAO sees its org's admins, not the other org's.
        let logins: Vec<String> = a
            .admins(&w.rao)
            .await
            .unwrap()
            .into_iter()
            .map(|x| x.data.login)
            .collect();
        assert_eq!(logins, ["rao-camford", "drao-physics", "drao-chemistry"]);
    }
);

on_both!(
    sign_in_locks_out_and_forces_password_changes,
    |fx: Fixture| async move {
        let a = &fx.authority;
        let w = world(a).await;
        let signin = |login: &'static str, password: &'static str| async move {
            a.sign_in(
                "camford",
                login,
                password,
                AccessMethod::RestApi,
                "192.0.2.7",
            )
            .await
        };
        let actor = signin("drao-physics", PASSWORD).await.unwrap();
        assert!(actor.must_change_password);
        a.change_own_password(&actor, "a brand new password")
            .await
            .unwrap();
        assert!(
            !signin("drao-physics", "a brand new password")
                .await
                .unwrap()
                .must_change_password
        );
        assert_eq!(
            refusal(a.change_own_password(&actor, "a brand new password").await),
            "invalid newPassword: choose a password different from the current one"
        );

        assert_eq!(refusal(signin("nobody", PASSWORD).await), "Unknown user");
        assert_eq!(
            refusal(
                a.sign_in(
                    "oxford",
                    "drao-physics",
                    PASSWORD,
                    AccessMethod::RestApi,
                    ""
                )
                .await
            ),
            "Customer oxford cannot be found"
        );
        for _ in 0..5 {
            assert_eq!(
                refusal(signin("drao-physics", "wrong password!").await),
                "Unknown user"
            );
        }
        let locked = refusal(signin("drao-physics", "a brand new password").await);
        assert!(
            locked.starts_with("the account is locked after 5 failed sign-ins; try again after "),
            "{locked}"
        );
        let record = a
            .admin(&w.mrao, w.drao_physics.admin_id.unwrap())
            .await
            .unwrap();
        assert_eq!(
            record.failed_attempts, 5,
            "failedAttempts is visible to other admins"
        );
        // After the lockout period the right password works again and clears the count.
        fx.clock.set(fx.clock.now() + time::Duration::minutes(16));
        signin("drao-physics", "a brand new password")
            .await
            .unwrap();
        let record = a
            .admin(&w.mrao, w.drao_physics.admin_id.unwrap())
            .await
            .unwrap();
        assert_eq!(record.failed_attempts, 0);

        // A reset by another administrator forces a change again.
        let reset = AdministratorPatch {
            password: Some(Zeroizing::new("reset by the rao 1".into())),
            ..AdministratorPatch::default()
        };
        a.update_admin(&w.rao, w.drao_physics.admin_id.unwrap(), reset)
            .await
            .unwrap();
        assert!(
            signin("drao-physics", "reset by the rao 1")
                .await
                .unwrap()
                .must_change_password
        );

        // Suspended: said only to someone with the right password.
        let suspend = AdministratorPatch {
            active: Some(false),
            ..AdministratorPatch::default()
        };
        a.update_admin(&w.rao, w.drao_chemistry.admin_id.unwrap(), suspend)
            .await
            .unwrap();
        assert_eq!(
            refusal(signin("drao-chemistry", PASSWORD).await),
            "the account is suspended; ask another administrator to activate it"
        );
        assert_eq!(
            refusal(signin("drao-chemistry", "wrong password!").await),
            "Unknown user"
        );
        assert_eq!(
            refusal(
                a.update_admin(
                    &w.rao,
                    w.rao.admin_id.unwrap(),
                    AdministratorPatch {
                        active: Some(false),
                        ..AdministratorPatch::default()
                    }
                )
                .await
            ),
            "you cannot suspend or activate your own account"
        );
        assert!(matches!(
            signin("drao-chemistry", PASSWORD).await,
            Err(RaError::SignIn(SignInError::Suspended))
        ));
    }
);

on_both!(
    idp_administrators_wait_for_a_different_administrator,
    |fx: Fixture| async move {
        let a = &fx.authority;
        let w = world(a).await;
        a.create_admin(
            &w.mrao,
            new_admin(
                "rao-camford-2",
                AdminRole::RaoSsl,
                w.camford,
                RAO_PRIVILEGES,
            ),
        )
        .await
        .unwrap();
        let second_rao = actor(a, "rao-camford-2").await;
        let mut idp = new_admin("jo.bloggs@camford.ac.uk", AdminRole::RaoSsl, w.camford, &[]);
        idp.admin_type = Some(AdminType::Idp);
        idp.password = None;
        idp.email = "jo.bloggs@camford.ac.uk".into();
        idp.idp_person_id = Some("jo.bloggs@camford.ac.uk".into());
        let id = a.create_admin(&w.rao, idp).await.unwrap();
        assert!(!a.admin(&w.rao, id).await.unwrap().data.approved);

        assert_eq!(
            refusal(a.approve_idp_admin(&w.rao, id).await),
            "you requested this yourself; a different administrator must approve it"
        );
        assert_eq!(
            refusal(a.approve_idp_admin(&w.rao_other_org, id).await),
            "only an administrator with a role over organization 'University of Camford' (id 1) \
         can decide this"
        );
        assert_eq!(
            refusal(a.approve_idp_admin(&w.drao_physics, id).await),
            "only an administrator with a role over organization 'University of Camford' (id 1) \
         can decide this"
        );
        assert!(a.pending_approvals(&w.rao).await.unwrap().is_empty());
        assert_eq!(a.pending_approvals(&second_rao).await.unwrap().len(), 1);
        let decided = a.approve_idp_admin(&second_rao, id).await.unwrap();
        assert_eq!(decided.status, "APPROVED");
        assert_eq!(decided.decided_by, second_rao.admin_id);
        assert!(a.admin(&w.rao, id).await.unwrap().data.approved);
        assert_eq!(
            refusal(a.decide_approval(&w.mrao, decided.id, true, "").await),
            format!("approval {} was already decided (approved)", decided.id)
        );

        let entries = a
            .audit_entries(&w.mrao, 0, i64::MAX / 2, 100)
            .await
            .unwrap();
        let actions: Vec<(&str, &str)> = entries
            .iter()
            .rev()
            .filter(|e| e.entry.object_id == id.to_string())
            .map(|e| (e.entry.action.as_str(), e.entry.actor.as_str()))
            .collect();
        assert_eq!(
            actions,
            [
                ("admin.create", "rao-camford"),
                ("approval.request", "rao-camford"),
                ("approval.approve", "rao-camford-2"),
            ]
        );
    }
);

on_both!(
    idp_invitations_link_a_federated_login_then_force_a_reset,
    |fx: Fixture| async move {
        let a = &fx.authority;
        let w = world(a).await;
        let drao = w.drao_physics.admin_id.unwrap();
        assert_eq!(
            refusal(a.send_idp_invitation(&w.drao_physics, drao).await),
            "you cannot send an IdP invitation to your own account; another administrator must send it"
        );
        let token = a.send_idp_invitation(&w.rao, drao).await.unwrap();
        let linked = a
            .accept_idp_invitation(&token, "drao@camford.ac.uk", "192.0.2.9")
            .await
            .unwrap();
        assert_eq!(linked, drao);
        let record = a.admin(&w.rao, drao).await.unwrap();
        assert_eq!(record.data.idp_person_id, "drao@camford.ac.uk");
        assert!(
            record.data.must_change_password,
            "the next local login must reset the password"
        );
        assert_eq!(
            refusal(
                a.accept_idp_invitation(&token, "other@camford.ac.uk", "")
                    .await
            ),
            "this invitation link is unknown, expired or already used; ask an administrator to send \
         a new one"
        );
    }
);

async fn audit_chain(fx: Fixture, db: TestDb) {
    let a = &fx.authority;
    let _w = world(a).await;
    let ok = a.verify_audit().await.unwrap();
    assert!(ok.rows >= 9, "init, 4 organisations, 4 admins: {ok:?}");
    assert_eq!(ok.first_broken, None);

    // No secret reaches the log.
    let rows = a
        .audit_entries(&mrao(a).await, 0, i64::MAX / 2, 1000)
        .await
        .unwrap();
    for row in &rows {
        let text = format!("{:?}", row.entry);
        assert!(
            !text.contains(PASSWORD) && !text.contains("argon2"),
            "{text}"
        );
    }

    // The database refuses edits; an intruder who drops the guard is still caught.
    let original = fx.store.audit_page(2, 1).await.unwrap()[0]
        .entry
        .description
        .clone();
    let err = db
        .execute("UPDATE audit_log SET description = 'x' WHERE id = 3")
        .await
        .unwrap_err();
    assert!(err.contains("the audit log is append-only"), "{err}");
    db.drop_audit_guard().await;
    db.execute("UPDATE audit_log SET description = 'nothing happened' WHERE id = 3")
        .await
        .unwrap();
    let broken = a.verify_audit().await.unwrap();
    assert_eq!(
        broken.first_broken,
        Some((
            3,
            "its content does not match its hash: the row was edited".into()
        ))
    );
    // Put the row back: the chain is whole again.
    db.execute(&format!(
        "UPDATE audit_log SET description = '{}' WHERE id = 3",
        original.replace('\'', "''")
    ))
    .await
    .unwrap();
    assert_eq!(a.verify_audit().await.unwrap().first_broken, None);
    // Removing the newest row (whose hash nothing later names) is caught by the head.
    let last = ok.rows;
    db.execute(&format!("DELETE FROM audit_log WHERE id = {last}"))
        .await
        .unwrap();
    assert_eq!(
        a.verify_audit().await.unwrap().first_broken,
        Some((
            last,
            format!(
                "the chain's head records {last} entries but only {} are present: rows after {} \
                 were removed",
                last - 1,
                last - 1
            )
        ))
    );
    // Removing one in the middle breaks the sequence.
    db.execute("DELETE FROM audit_log WHERE id = 4")
        .await
        .unwrap();
    assert_eq!(
        a.verify_audit().await.unwrap().first_broken,
        Some((
            5,
            "expected entry 4 but found 5: entries 4..4 were removed".into()
        ))
    );
}

#[tokio::test]
async fn the_audit_chain_detects_edits_and_removals_sqlite() {
    let (fx, db) = sqlite_fixture().await;
    audit_chain(fx, db).await;
}

#[tokio::test]
async fn the_audit_chain_detects_edits_and_removals_postgres() {
    let (fx, db) = postgres_fixture().await;
    audit_chain(fx, db).await;
}

on_both!(
    nothing_is_issued_for_a_pending_organisation,
    |fx: Fixture| async move {
        let a = &fx.authority;
        let w = world(a).await;
        let command = |org: OrgId| castellan_ra::IssueCommand {
            organization_id: Some(org),
            organization: None,
            ..ov_command(
                csr(castellan_model::KeyType::EcP256, "www.camford.ac.uk", &[]),
                90,
            )
        };
        assert_eq!(
            refusal(a.issue_certificate(command(w.physics)).await),
            "organization 'University of Camford' is Pending validation: nothing can be issued for \
         it until the operator (MRAO) validates it"
        );
        let validate = OrganizationPatch {
            validated: Some(true),
            ..OrganizationPatch::default()
        };
        a.update_organization(&w.mrao, w.camford, validate)
            .await
            .unwrap();
        // A department's certificate carries its organisation's registered details.
        let issued = a.issue_certificate(command(w.physics)).await.unwrap();
        let subject = castellan_pki::inspect::inspect(&issued.leaf.der)
            .unwrap()
            .subject;
        assert_eq!(
            subject,
            "CN=www.camford.ac.uk,O=University of Camford,L=Camford,ST=Camfordshire,C=GB"
        );
        let code_signing = castellan_ra::IssueCommand {
            profile: "Code Signing".into(),
            key: castellan_ra::KeySource::Generate(castellan_model::KeyType::EcP256),
            term_days: 365,
            ..command(w.camford)
        };
        assert_eq!(
            refusal(a.issue_certificate(code_signing).await),
            "organization 'University of Camford' is not enabled for CodeSign certificates; the \
         operator (MRAO) can enable them"
        );
    }
);
