//! ACME accounts an administrator makes for an organisation or department: EAB credentials,
//! who may make them, and the domains they may order for, each refusal word for word.

use crate::domains::world;
use crate::support::*;
use castellan_model::CertificateType::Ssl;
use castellan_model::OrgId;

on_both!(
    acme_accounts_carry_eab_credentials_and_delegated_domains,
    |fx: Fixture| async move {
        let a = &fx.authority;
        let w = world(a).await;
        a.create_domain(
            &w.mrao,
            "*.camford.ac.uk",
            "",
            &[(w.camford, vec![Ssl])],
            true,
        )
        .await
        .unwrap();
        a.create_domain(
            &w.mrao,
            "physics.camford.ac.uk",
            "",
            &[(w.physics, vec![Ssl])],
            true,
        )
        .await
        .unwrap();

        // The RAO makes one for the organisation: a 22-character key id, a 43-character key.
        let (id, credentials) = a
            .create_acme_account(&w.rao, "  web servers ", "OV ACME Server", w.camford)
            .await
            .unwrap();
        assert_eq!(credentials.mac_id.len(), 22);
        assert_eq!(credentials.mac_key.len(), 43);
        let view = a.acme_account(&w.rao, id).await.unwrap();
        assert_eq!(view.record.account.name, "web servers");
        assert_eq!(view.record.status, "pending");
        assert_eq!(view.server.validation_type, "OV");
        assert_eq!(
            view.directory_url,
            "https://certs.camford.ac.uk/acme/ov/directory"
        );
        assert_eq!(
            view.mac_key.as_deref().map(String::as_str),
            Some(credentials.mac_key.as_str()),
            "shown until used"
        );
        // The key is kept sealed, not in clear.
        assert_ne!(
            view.record.account.encrypted_mac_key,
            credentials.mac_key.as_bytes()
        );
        assert!(
            !view
                .record
                .account
                .encrypted_mac_key
                .windows(8)
                .any(|w| credentials.mac_key.as_bytes().windows(8).any(|k| k == w)),
            "no run of the key in the sealed blob"
        );
        // The server can be named by its directory URL too.
        let (second, other) = a
            .create_acme_account(
                &w.mrao,
                "physics",
                "https://certs.camford.ac.uk/acme/ov/directory",
                w.physics,
            )
            .await
            .unwrap();
        assert_ne!(other.mac_id, credentials.mac_id);

        // Domains: delegated names (and wildcards under them) are added; others are not,
        // with the reason.
        let refused = a
            .add_acme_domains(
                &w.rao,
                id,
                &[
                    "www.camford.ac.uk".into(),
                    "*.camford.ac.uk".into(),
                    "oxbridge.ac.uk".into(),
                    "bad name".into(),
                ],
            )
            .await
            .unwrap();
        assert_eq!(refused.len(), 2, "{refused:?}");
        assert_eq!(refused[0].0, "oxbridge.ac.uk");
        assert_eq!(
            refused[0].1,
            "it is not delegated to organization 'University of Camford' (id 1) for SSL certificates"
        );
        assert_eq!(refused[1].0, "bad name");
        assert_eq!(
            a.acme_account(&w.rao, id).await.unwrap().record.domains,
            ["*.camford.ac.uk", "www.camford.ac.uk"]
        );
        // physics.camford.ac.uk is delegated to Physics, not to Camford itself.
        let refused = a
            .add_acme_domains(&w.rao, id, &["physics.camford.ac.uk".into()])
            .await
            .unwrap();
        assert_eq!(refused.len(), 0, "*.camford.ac.uk covers it for Camford");
        let missing = a
            .remove_acme_domains(
                &w.rao,
                id,
                &["www.camford.ac.uk".into(), "nope.ac.uk".into()],
            )
            .await
            .unwrap();
        assert_eq!(missing, ["nope.ac.uk"]);

        // Scope: the department's DRAO sees only Physics' account; its sibling none.
        let seen = |actor| async move {
            a.acme_accounts(actor, None, false)
                .await
                .unwrap()
                .into_iter()
                .map(|v| v.record.id)
                .collect::<Vec<_>>()
        };
        assert_eq!(seen(&w.mrao).await, [id, second]);
        assert_eq!(seen(&w.rao).await, [id, second]);
        assert_eq!(seen(&w.drao).await, [second]);
        assert!(seen(&w.drao_sibling).await.is_empty());
        let only_org = a
            .acme_accounts(&w.mrao, Some(w.camford), true)
            .await
            .unwrap();
        assert_eq!(only_org.len(), 1, "organizationId with ,-2: no departments");
        assert_eq!(
            a.acme_account(&w.drao_sibling, id)
                .await
                .unwrap_err()
                .to_string(),
            format!("no ACME account {id}")
        );
        assert_eq!(
            a.create_acme_account(&w.drao_sibling, "x", "OV ACME Server", w.physics)
                .await
                .unwrap_err()
                .to_string(),
            "only the operator (MRAO) or an SSL administrator of department 'Physics' of \
             'University of Camford' (id 2) can create ACME accounts for it"
        );

        // Bad input, said.
        assert_eq!(
            a.create_acme_account(&w.rao, "x", "DV ACME Server", w.camford)
                .await
                .unwrap_err()
                .to_string(),
            "invalid acmeServer: 'DV ACME Server' is not an ACME server here; choose one of: \
             'OV ACME Server', 'EV ACME Server'"
        );
        assert_eq!(
            a.create_acme_account(&w.rao, " ", "OV ACME Server", w.camford)
                .await
                .unwrap_err()
                .to_string(),
            "invalid name: give the account a name of 1 to 256 characters"
        );
        assert_eq!(
            a.create_acme_account(&w.mrao, "x", "OV ACME Server", OrgId(999))
                .await
                .unwrap_err()
                .to_string(),
            "no organization or department 999"
        );

        // Rename and delete.
        a.rename_acme_account(&w.rao, id, "web farm").await.unwrap();
        assert_eq!(
            a.acme_account(&w.mrao, id)
                .await
                .unwrap()
                .record
                .account
                .name,
            "web farm"
        );
        a.delete_acme_account(&w.rao, id).await.unwrap();
        assert_eq!(
            a.acme_account(&w.mrao, id).await.unwrap_err().to_string(),
            format!("no ACME account {id}")
        );
        let trail = a.audit_entries(&w.mrao, 0, i64::MAX, 1000).await.unwrap();
        for action in [
            "acme.create",
            "acme.domains.add",
            "acme.domains.remove",
            "acme.update",
            "acme.delete",
        ] {
            assert!(
                trail.iter().any(|e| e.entry.action == action),
                "no {action} in the audit log"
            );
        }
    }
);
