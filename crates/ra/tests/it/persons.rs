//! Persons: added, found by e-mail in any case, changed (never the e-mail), listed and
//! deleted within an administrator's S/MIME scope; SCM's limits on each field, word for word.

use crate::domains::world;
use crate::support::*;
use castellan_model::{AccessMethod, AdminRole, Credential, OrgId, PersonId};
use castellan_ra::Actor;
use castellan_ra::admins::NewAdministrator;
use castellan_ra::persons::{PersonFilter, PersonSpec};

fn refusal<T: std::fmt::Debug>(r: castellan_ra::Result<T>) -> String {
    match r {
        Err(e) => e.to_string(),
        Ok(v) => panic!("expected a refusal, got {v:?}"),
    }
}

fn ada(org: OrgId) -> PersonSpec {
    PersonSpec {
        org_id: Some(org),
        first_name: Some(" Ada ".into()),
        middle_name: Some("King".into()),
        last_name: Some("Lovelace".into()),
        email: Some("Ada.Lovelace@camford.ac.uk".into()),
        secondary_emails: Some(vec!["ada@physics.camford.ac.uk".into()]),
        phone: Some("+44 (1223) 000-000 x12".into()),
        eppn: Some("ada@camford.ac.uk".into()),
        validation_type: Some("standard".into()),
        ..PersonSpec::default()
    }
}

on_both!(
    persons_are_kept_within_smime_scope,
    |fx: Fixture| async move {
        let a = &fx.authority;
        let w = world(a).await;
        // Client-certificate administrators: one for Physics, one for Chemistry.
        let mut smime = Vec::new();
        for (login, scope) in [
            ("physics-smime", w.physics),
            ("chemistry-smime", w.chemistry),
        ] {
            a.create_admin(
                &w.mrao,
                NewAdministrator {
                    login: login.into(),
                    email: format!("{login}@camford.ac.uk"),
                    password: Some(zeroize::Zeroizing::new("a long enough password".into())),
                    credentials: vec![Credential {
                        role: AdminRole::DraoSmime,
                        scope,
                    }],
                    ..NewAdministrator::default()
                },
            )
            .await
            .unwrap();
            let record = a.store().admin_by_login(login).await.unwrap().unwrap();
            smime.push(Actor::admin(&record, AccessMethod::RestApi, "192.0.2.9"));
        }
        let (physics, chemistry) = (&smime[0], &smime[1]);

        // An SSL-only administrator manages no persons.
        assert_eq!(
            refusal(a.create_person(&w.drao, ada(w.physics)).await),
            "you have no S/MIME role over department 'Physics' of 'University of Camford' (id \
             2); persons are managed by its client certificate administrators"
        );
        let id = a.create_person(physics, ada(w.physics)).await.unwrap();
        let stored = a.person(physics, id).await.unwrap();
        assert_eq!(stored.data.first_name, "Ada", "trimmed");
        assert_eq!(stored.data.validation_type, "STANDARD", "upper-cased");
        assert_eq!(stored.data.email, "Ada.Lovelace@camford.ac.uk");
        assert_eq!(stored.created_by, physics.admin_id);

        // Found by e-mail in any case; invisible outside the scope.
        assert_eq!(
            a.person_by_email(physics, "ada.lovelace@CAMFORD.ac.uk")
                .await
                .unwrap()
                .id,
            id
        );
        assert_eq!(
            refusal(
                a.person_by_email(chemistry, "ada.lovelace@camford.ac.uk")
                    .await
            ),
            "no person with e-mail ada.lovelace@camford.ac.uk"
        );
        assert_eq!(
            refusal(a.person(chemistry, id).await),
            format!("no person {id}")
        );
        assert!(
            a.persons(chemistry, &PersonFilter::default())
                .await
                .unwrap()
                .is_empty()
        );

        // Refusals name the field and the limit.
        let cases: Vec<(PersonSpec, String)> = vec![
            (
                PersonSpec {
                    last_name: Some(" ".into()),
                    ..ada(w.physics)
                },
                "invalid lastName: the last name must not be empty".into(),
            ),
            (
                PersonSpec {
                    first_name: Some("A".repeat(40)),
                    last_name: Some("B".repeat(21)),
                    ..ada(w.physics)
                },
                "invalid lastName: first, middle and last name together are 65 characters; at \
                 most 64"
                    .into(),
            ),
            (
                PersonSpec {
                    email: Some("ada".into()),
                    ..ada(w.physics)
                },
                "invalid email: 'ada' is not an e-mail address of at most 128 characters".into(),
            ),
            (
                PersonSpec {
                    email: Some("bob@camford.ac.uk".into()),
                    phone: Some("call me".into()),
                    ..ada(w.physics)
                },
                "invalid phone: 'call me' is not a phone number: at most 32 of the characters \
                 0-9 # ( ) - + x and space"
                    .into(),
            ),
            (
                PersonSpec {
                    email: Some("bob@camford.ac.uk".into()),
                    validation_type: Some("MEDIUM".into()),
                    ..ada(w.physics)
                },
                "invalid validationType: 'MEDIUM' is not a validation type; give STANDARD or \
                 HIGH"
                    .into(),
            ),
            (
                PersonSpec {
                    email: Some("bob@camford.ac.uk".into()),
                    validation_type: None,
                    ..ada(w.physics)
                },
                "invalid validationType: give the validation type: STANDARD or HIGH".into(),
            ),
            (
                PersonSpec {
                    email: Some("bob@camford.ac.uk".into()),
                    upn: Some("u".repeat(257)),
                    ..ada(w.physics)
                },
                "invalid upn: at most 256 characters, not 257".into(),
            ),
            (
                PersonSpec {
                    org_id: None,
                    ..ada(w.physics)
                },
                "invalid organizationId: give the person's organization or department".into(),
            ),
            (
                ada(w.physics),
                format!(
                    "a person with the e-mail Ada.Lovelace@camford.ac.uk exists already (person \
                     {id})"
                ),
            ),
        ];
        for (spec, expected) in cases {
            assert_eq!(refusal(a.create_person(physics, spec).await), expected);
        }

        // Changed: the fields given; the e-mail never; a move out of scope refused.
        a.update_person(
            physics,
            id,
            PersonSpec {
                first_name: Some("Augusta Ada".into()),
                email: Some("other@camford.ac.uk".into()),
                common_name: Some("Ada Lovelace".into()),
                ..PersonSpec::default()
            },
        )
        .await
        .unwrap();
        let changed = a.person(physics, id).await.unwrap();
        assert_eq!(changed.data.first_name, "Augusta Ada");
        assert_eq!(changed.data.common_name, "Ada Lovelace");
        assert_eq!(changed.data.middle_name, "King", "unchanged when not given");
        assert_eq!(changed.data.email, "Ada.Lovelace@camford.ac.uk");
        assert_eq!(
            refusal(
                a.update_person(
                    physics,
                    id,
                    PersonSpec {
                        org_id: Some(w.chemistry),
                        ..PersonSpec::default()
                    }
                )
                .await
            ),
            "you have no S/MIME role over department 'Chemistry' of 'University of Camford' (id \
             3); persons are managed by its client certificate administrators"
        );

        // Listed with filters (the operator sees everyone).
        let mrao = &w.mrao;
        let found = |filter: PersonFilter| async move {
            a.persons(mrao, &filter)
                .await
                .unwrap()
                .into_iter()
                .map(|p| p.id)
                .collect::<Vec<PersonId>>()
        };
        assert_eq!(
            found(PersonFilter {
                name: Some("augusta".into()),
                ..PersonFilter::default()
            })
            .await,
            [id]
        );
        assert_eq!(
            found(PersonFilter {
                org_id: Some(w.camford),
                ..PersonFilter::default()
            })
            .await,
            [id],
            "an organisation's filter includes its departments"
        );
        assert_eq!(
            found(PersonFilter {
                secondary_email: Some("ADA@physics.camford.ac.uk".into()),
                ..PersonFilter::default()
            })
            .await,
            [id]
        );
        assert!(
            found(PersonFilter {
                org_id: Some(w.chemistry),
                ..PersonFilter::default()
            })
            .await
            .is_empty()
        );

        // Deleted, and audited all along.
        assert_eq!(
            refusal(a.delete_person(chemistry, id).await),
            format!("no person {id}")
        );
        a.delete_person(physics, id).await.unwrap();
        assert_eq!(
            refusal(a.person(&w.mrao, id).await),
            format!("no person {id}")
        );
        let trail = a.audit_entries(&w.mrao, 0, i64::MAX, 1000).await.unwrap();
        for action in ["person.create", "person.update", "person.delete"] {
            assert!(
                trail.iter().any(|e| e.entry.action == action),
                "no {action} in the audit log"
            );
        }
    }
);
