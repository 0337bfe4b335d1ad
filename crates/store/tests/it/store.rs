//! The store's behaviour, identical on SQLite and PostgreSQL.

use castellan_model::{
    AdminRole, AdminType, CaId, CertificateStatus, Credential, Hierarchy, OrgId, Privilege,
    ProfileId,
};
use castellan_store::{
    AdminData, CaRole, CertificateFilter, NewCa, NewCertificate, NewRequest, Store, StoreError,
};
use castellan_testkit::both;

fn ca(slug: &str, role: CaRole, parent: Option<CaId>) -> NewCa {
    NewCa {
        slug: slug.into(),
        hierarchy: Hierarchy::Ecc,
        role,
        parent_id: parent,
        subject: format!("CN={slug}"),
        key_type: "p384".into(),
        key_storage: "software".into(),
        encrypted_key: vec![1, 2, 3],
        certificate_der: vec![0x30, 0x00],
        serial: format!("{:032x}", slug.len()),
        not_before: 1_700_000_000,
        not_after: 1_900_000_000,
        sha256_fingerprint: format!("fp-{slug}"),
        spki_sha256: format!("spki-{slug}"),
        created_at: 1_700_000_000,
    }
}

fn certificate(
    issuer: CaId,
    serial: &str,
    cn: &str,
    sans: &[&str],
    not_after: i64,
) -> NewCertificate {
    NewCertificate {
        request_id: None,
        issuer_ca_id: issuer,
        profile_id: ProfileId(1),
        serial: serial.into(),
        status: CertificateStatus::Issued,
        subject: format!("CN={cn},O=University of Camford,C=GB"),
        common_name: Some(cn.into()),
        key_type: "EC - P-256".into(),
        spki_sha256: format!("spki-{serial}"),
        not_before: not_after - 90 * 86_400,
        not_after,
        sha256_fingerprint: format!("sha256-{serial}-{cn}"),
        sha1_fingerprint: format!("sha1-{serial}"),
        der: serial.as_bytes().to_vec(),
        encrypted_private_key: None,
        issued_at: not_after - 90 * 86_400,
        crl_shard: 0,
        dns_names: sans.iter().map(|s| s.to_string()).collect(),
        emails: vec![],
    }
}

async fn issuing_ca(store: &Store) -> CaId {
    let mut tx = store.begin().await.unwrap();
    let root = tx
        .insert_ca(&ca("ecc-root-1", CaRole::Root, None))
        .await
        .unwrap();
    let issuing = tx
        .insert_ca(&ca("ecc-issuing-1", CaRole::Issuing, Some(root)))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    issuing
}

/// A fixed sequence of writes and searches; returns what the searches saw, as text.
async fn scripted_session(store: &Store) -> Vec<String> {
    let issuer = issuing_ca(store).await;
    let mut tx = store.begin().await.unwrap();
    let request = tx
        .insert_request(&NewRequest {
            renew_id: "yAfoV1n2iu0aVsgZUyHW".into(),
            profile_id: ProfileId(2),
            status: CertificateStatus::Requested,
            requested_via: "CLI".into(),
            requester: "admin".into(),
            term_days: 90,
            common_name: Some("www.camford.ac.uk".into()),
            requested_names: vec!["www.camford.ac.uk".into(), "mail.camford.ac.uk".into()],
            csr_der: Some(vec![0x30, 0x01]),
            key_generated: false,
            created_at: 1_800_000_000,
        })
        .await
        .unwrap();
    let mut first = certificate(
        issuer,
        "0a0b0c",
        "www.camford.ac.uk",
        &["www.camford.ac.uk", "mail.camford.ac.uk"],
        1_810_000_000,
    );
    first.request_id = Some(request);
    tx.insert_certificate(&first).await.unwrap();
    tx.set_request_status(request, CertificateStatus::Issued, 1_800_000_001)
        .await
        .unwrap();
    tx.insert_certificate(&certificate(
        issuer,
        "0d0e0f",
        "WIKI.camford.ac.uk",
        &["wiki.camford.ac.uk"],
        1_820_000_000,
    ))
    .await
    .unwrap();
    tx.insert_certificate(&certificate(
        issuer,
        "101112",
        "vpn.camford.ac.uk",
        &["vpn.camford.ac.uk", "mail.camford.ac.uk"],
        1_830_000_000,
    ))
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let mut seen = Vec::new();
    let mut show = |label: &str, found: (Vec<castellan_store::CertificateRecord>, i64)| {
        let serials: Vec<String> = found
            .0
            .iter()
            .map(|c| c.certificate.serial.clone())
            .collect();
        seen.push(format!("{label}: {} {:?}", found.1, serials));
    };
    show(
        "all",
        store
            .search_certificates(&CertificateFilter::default())
            .await
            .unwrap(),
    );
    show(
        "by cn (case-insensitive)",
        store
            .search_certificates(&CertificateFilter {
                common_name: Some("wiki.CAMFORD.ac.uk".into()),
                ..CertificateFilter::default()
            })
            .await
            .unwrap(),
    );
    show(
        "by san",
        store
            .search_certificates(&CertificateFilter {
                name: Some("Mail.camford.ac.uk".into()),
                ..CertificateFilter::default()
            })
            .await
            .unwrap(),
    );
    show(
        "by serial",
        store
            .search_certificates(&CertificateFilter {
                serial: Some("0D0E0F".into()),
                ..CertificateFilter::default()
            })
            .await
            .unwrap(),
    );
    show(
        "expiring before",
        store
            .search_certificates(&CertificateFilter {
                expires_before: Some(1_825_000_000),
                ..CertificateFilter::default()
            })
            .await
            .unwrap(),
    );
    show(
        "paged",
        store
            .search_certificates(&CertificateFilter {
                limit: Some(2),
                offset: Some(1),
                ..CertificateFilter::default()
            })
            .await
            .unwrap(),
    );
    let by_serial = store
        .certificate_by_serial("0A0B0C")
        .await
        .unwrap()
        .unwrap();
    seen.push(format!(
        "detail: {} {:?} {:?} request={:?}",
        by_serial.certificate.subject,
        by_serial.certificate.dns_names,
        by_serial.certificate.status,
        store
            .request_by_id(by_serial.certificate.request_id.unwrap())
            .await
            .unwrap()
            .map(|r| (r.request.status, r.request.requested_names))
    ));
    seen
}

/// On a multi-threaded runtime, as `castellan serve` runs, the statements marked as scans (the
/// certificate search and its count) run in `block_in_place`: the scripted session sees the
/// same there as on a one-thread runtime, where they run in place.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_scans_on_a_multi_threaded_runtime_see_the_same() {
    let (store, _db) = castellan_testkit::db::sqlite().await;
    let threaded = scripted_session(&store).await;
    let in_place = std::thread::spawn(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let (store, _db) = castellan_testkit::db::sqlite().await;
            scripted_session(&store).await
        })
    })
    .join()
    .unwrap();
    assert_eq!(threaded, in_place);
    assert!(threaded[0].starts_with("all: 3 "), "{threaded:?}");
}

#[tokio::test]
async fn sqlite_and_postgres_give_the_same_results() {
    let (sqlite, _a) = castellan_testkit::db::sqlite().await;
    let (postgres, _b) = castellan_testkit::db::postgres().await;
    let from_sqlite = scripted_session(&sqlite).await;
    let from_postgres = scripted_session(&postgres).await;
    assert_eq!(from_sqlite, from_postgres);
    // And the answers are the right ones, not just equal.
    assert_eq!(from_sqlite[0], r#"all: 3 ["101112", "0d0e0f", "0a0b0c"]"#);
    assert_eq!(from_sqlite[1], r#"by cn (case-insensitive): 1 ["0d0e0f"]"#);
    assert_eq!(from_sqlite[2], r#"by san: 2 ["101112", "0a0b0c"]"#);
    assert_eq!(from_sqlite[3], r#"by serial: 1 ["0d0e0f"]"#);
    assert_eq!(from_sqlite[4], r#"expiring before: 2 ["0d0e0f", "0a0b0c"]"#);
    assert_eq!(from_sqlite[5], r#"paged: 3 ["0d0e0f", "0a0b0c"]"#);
    assert_eq!(
        from_sqlite[6],
        r#"detail: CN=www.camford.ac.uk,O=University of Camford,C=GB ["mail.camford.ac.uk", "www.camford.ac.uk"] Issued request=Some((Issued, ["www.camford.ac.uk", "mail.camford.ac.uk"]))"#
    );
}

#[tokio::test]
async fn the_two_migration_folders_are_in_step() {
    let (sqlite, _a) = castellan_testkit::db::sqlite().await;
    let (postgres, _b) = castellan_testkit::db::postgres().await;
    let a = sqlite.schema().await.unwrap();
    let b = postgres.schema().await.unwrap();
    assert!(a.iter().any(|(t, _)| t == "certificates"), "{a:?}");
    assert_eq!(a, b);
}

both!(
    a_taken_serial_is_refused_and_nothing_is_half_written,
    |store: Store| async move {
        let issuer = issuing_ca(&store).await;
        let mut tx = store.begin().await.unwrap();
        tx.insert_certificate(&certificate(
            issuer,
            "abcd",
            "a.camford.ac.uk",
            &["a.camford.ac.uk"],
            1_900_000_000,
        ))
        .await
        .unwrap();
        tx.commit().await.unwrap();

        let mut tx = store.begin().await.unwrap();
        tx.insert_certificate(&certificate(
            issuer,
            "beef",
            "c.camford.ac.uk",
            &["c.camford.ac.uk"],
            1_900_000_000,
        ))
        .await
        .unwrap();
        let err = tx
            .insert_certificate(&certificate(
                issuer,
                "abcd",
                "b.camford.ac.uk",
                &["b.camford.ac.uk"],
                1_900_000_000,
            ))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::Duplicate {
                    what: "certificate serial",
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(err.to_string(), "certificate serial 'abcd' already exists");
        drop(tx); // rolled back: "beef" must not survive either
        let (all, total) = store
            .search_certificates(&CertificateFilter::default())
            .await
            .unwrap();
        assert_eq!(total, 1);
        assert_eq!(
            all[0].certificate.common_name.as_deref(),
            Some("a.camford.ac.uk")
        );
        assert!(store.certificate_by_serial("beef").await.unwrap().is_none());
        assert!(
            store
                .search_certificates(&CertificateFilter {
                    name: Some("c.camford.ac.uk".into()),
                    ..CertificateFilter::default()
                })
                .await
                .unwrap()
                .0
                .is_empty()
        );
    }
);

both!(
    settings_and_migrations_are_idempotent,
    |store: Store| async move {
        assert!(!store.is_initialised().await.unwrap());
        let mut tx = store.begin().await.unwrap();
        tx.set_setting("customer_uri", "camford").await.unwrap();
        tx.set_setting("customer_uri", "jisc").await.unwrap();
        tx.set_setting(castellan_store::settings::INITIALISED_AT, "1800000000")
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(
            store.setting("customer_uri").await.unwrap().as_deref(),
            Some("jisc")
        );
        assert!(store.is_initialised().await.unwrap());
        store.migrate().await.unwrap();
        assert_eq!(
            store.setting("customer_uri").await.unwrap().as_deref(),
            Some("jisc")
        );
    }
);

both!(
    administrators_round_trip_and_logins_are_unique,
    |store: Store| async move {
        let admin = AdminData {
            login: "admin".into(),
            email: "admin@camford.ac.uk".into(),
            forename: "First".into(),
            surname: "Admin".into(),
            title: String::new(),
            telephone: String::new(),
            relationship: String::new(),
            admin_type: AdminType::Standard,
            password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
            must_change_password: true,
            active: true,
            approved: true,
            auth_cert_serial: String::new(),
            idp_person_id: String::new(),
            credentials: vec![Credential {
                role: AdminRole::Mrao,
                scope: OrgId(0),
            }],
            privileges: vec![Privilege::SslApprove, Privilege::AllowCreate],
            created_by: None,
        };
        let mut tx = store.begin().await.unwrap();
        let id = tx.insert_admin(&admin, 1_800_000_000).await.unwrap();
        tx.commit().await.unwrap();
        let back = store.admin_by_login("admin").await.unwrap().unwrap();
        assert_eq!(back.id, id);
        let mut expected = admin.clone();
        expected.privileges.sort();
        assert_eq!(back.data, expected);
        assert_eq!(back.created_at, 1_800_000_000);
        assert_eq!(back.password_changed_at, Some(1_800_000_000));
        let mut tx = store.begin().await.unwrap();
        let err = tx.insert_admin(&admin, 1_800_000_001).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "administrator login 'admin' already exists"
        );
        assert!(store.admin_by_login("nobody").await.unwrap().is_none());
    }
);

both!(
    certificate_authorities_round_trip,
    |store: Store| async move {
        issuing_ca(&store).await;
        let cas = store.certificate_authorities().await.unwrap();
        let slugs: Vec<&str> = cas.iter().map(|c| c.ca.slug.as_str()).collect();
        assert_eq!(slugs, ["ecc-root-1", "ecc-issuing-1"]);
        assert_eq!(cas[1].ca.parent_id, Some(cas[0].id));
        assert_eq!(cas[1].ca.encrypted_key, vec![1, 2, 3]);
        let mut tx = store.begin().await.unwrap();
        let mut again = ca("ecc-root-1", CaRole::Root, None);
        again.sha256_fingerprint = "another certificate".into();
        let err = tx.insert_ca(&again).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "certificate authority 'ecc-root-1' already exists"
        );
    }
);

fn request(renew_id: &str) -> NewRequest {
    NewRequest {
        renew_id: renew_id.into(),
        profile_id: ProfileId(1),
        status: CertificateStatus::Issued,
        requested_via: "CLI".into(),
        requester: "admin".into(),
        term_days: 90,
        common_name: Some("x.camford.ac.uk".into()),
        requested_names: vec!["x.camford.ac.uk".into()],
        csr_der: None,
        key_generated: false,
        created_at: 1_800_000_000,
    }
}

both!(
    a_batch_stores_every_pair_and_skips_taken_serials,
    |store: Store| async move {
        let issuer = issuing_ca(&store).await;
        let mut tx = store.begin().await.unwrap();
        tx.insert_certificate(&certificate(
            issuer,
            "0001",
            "old.camford.ac.uk",
            &["old.camford.ac.uk"],
            1_900_000_000,
        ))
        .await
        .unwrap();
        tx.commit().await.unwrap();

        let requests = [request("r1"), request("r2"), request("r3")];
        let certs = [
            certificate(
                issuer,
                "1001",
                "a.camford.ac.uk",
                &["a.camford.ac.uk", "www.a.camford.ac.uk"],
                1_900_000_000,
            ),
            certificate(
                issuer,
                "0001",
                "clash.camford.ac.uk",
                &["clash.camford.ac.uk"],
                1_900_000_000,
            ),
            certificate(
                issuer,
                "1003",
                "c.camford.ac.uk",
                &["c.camford.ac.uk"],
                1_900_000_000,
            ),
        ];
        let pairs: Vec<_> = requests.iter().zip(certs.iter()).collect();
        let mut tx = store.begin().await.unwrap();
        let outcomes = tx.insert_issued_batch(&pairs).await.unwrap();
        tx.commit().await.unwrap();
        assert!(outcomes[0].is_some() && outcomes[2].is_some());
        assert!(outcomes[1].is_none(), "serial 0001 was taken");
        let (request_a, cert_a) = outcomes[0].unwrap();
        let stored = store.certificate_by_id(cert_a).await.unwrap().unwrap();
        assert_eq!(stored.certificate.request_id, Some(request_a));
        assert_eq!(
            stored.certificate.dns_names,
            ["a.camford.ac.uk", "www.a.camford.ac.uk"]
        );
        assert_eq!(
            store
                .request_by_id(request_a)
                .await
                .unwrap()
                .unwrap()
                .request
                .renew_id,
            "r1"
        );
        // The clashing pair left nothing: no request, no names.
        let (_, total) = store
            .search_certificates(&CertificateFilter::default())
            .await
            .unwrap();
        assert_eq!(total, 3);
        let (clash, _) = store
            .search_certificates(&CertificateFilter {
                name: Some("clash.camford.ac.uk".into()),
                ..CertificateFilter::default()
            })
            .await
            .unwrap();
        assert!(clash.is_empty());
        let (request_c, _) = outcomes[2].unwrap();
        for id in 1..=request_c.0 {
            if let Some(r) = store
                .request_by_id(castellan_model::RequestId(id))
                .await
                .unwrap()
            {
                assert_ne!(r.request.renew_id, "r2", "the clashing request was kept");
            }
        }
    }
);

/// SQLite with `SqliteSync::Full` (the default): every transaction, alone or among 40 made
/// at once, returns only once an fsync of the WAL has covered its COMMIT, never with more
/// fsyncs than COMMITs; the 40 share COMMITs (ADR 0022: those that commit while an fsync
/// runs are COMMITted together before the next); `settle` leaves every COMMIT covered. (How
/// many they share depends on timing, so only that they share is asserted.)
#[tokio::test]
async fn sqlite_commits_return_only_once_synced() {
    let (store, _db) = castellan_testkit::db::sqlite().await;
    let (committed, synced, syncs) = store
        .group_commit_counts()
        .expect("a SQLite store on SqliteSync::Full has a group commit");
    assert_eq!((committed, synced, syncs), (0, 0, 0));
    let mut tx = store.begin().await.unwrap();
    tx.set_setting("alone", "1").await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.group_commit_counts(), Some((1, 1, 1)));

    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let (before, _, _) = store.group_commit_counts().unwrap();
                let mut tx = store.begin().await.unwrap();
                tx.set_setting(&format!("together-{i}"), "1").await.unwrap();
                tx.commit().await.unwrap();
                // Returned: this commit (counted after `before`) is covered by a finished
                // fsync.
                let (committed, synced, _) = store.group_commit_counts().unwrap();
                assert!(
                    synced > before && synced <= committed,
                    "{synced} of {committed}, {before} before"
                );
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let (committed, synced, syncs) = store.group_commit_counts().unwrap();
    assert_eq!(synced, committed);
    assert!(
        (2..41).contains(&committed),
        "{committed} COMMITs for 41 transactions"
    );
    assert!(
        (2..=committed).contains(&syncs),
        "{syncs} fsyncs for {committed} COMMITs"
    );
    store.settle().await.unwrap();
    assert_eq!(
        store.group_commit_counts(),
        Some((committed, committed, syncs))
    );
    for i in 0..40 {
        assert_eq!(
            store
                .setting(&format!("together-{i}"))
                .await
                .unwrap()
                .as_deref(),
            Some("1")
        );
    }
}

/// SQLite: the COMMIT that brings the WAL past 4,000 frames checkpoints it into the database
/// file (the store's WAL hook, in place of SQLite's automatic checkpoint): a copy of the
/// database file alone, without its WAL, then holds that transaction's rows. On a
/// multi-threaded runtime the checkpoint hands the thread's other tasks over first
/// (`block_in_place`); on a current-thread runtime it runs in place.
async fn a_large_commit_reaches_the_database_file() {
    let (store, db) = castellan_testkit::db::sqlite().await;
    let path = db.sqlite_path().expect("an SQLite test database");
    // One page each: 4,100 pages, so more than 4,000 frames in one COMMIT.
    let value = "x".repeat(4000);
    let mut tx = store.begin().await.unwrap();
    for i in 0..4100 {
        tx.set_setting(&format!("bulk-{i:04}"), &value)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();

    let copy = tempfile::tempdir().unwrap();
    let copied = copy.path().join("copy.db");
    std::fs::copy(&path, &copied).unwrap();
    let conn = rusqlite::Connection::open(&copied).unwrap();
    let rows: i64 = conn
        .query_row(
            "SELECT count(*) FROM settings WHERE name LIKE 'bulk-%'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(rows, 4100, "the database file lacks the checkpointed rows");
}

#[tokio::test]
async fn sqlite_a_large_commit_is_checkpointed_on_a_current_thread_runtime() {
    a_large_commit_reaches_the_database_file().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn sqlite_a_large_commit_is_checkpointed_on_a_multi_threaded_runtime() {
    a_large_commit_reaches_the_database_file().await;
}

/// A writer that finds the SQLite write lock taken by another process (here a second store
/// on the same file) waits for it without blocking its thread: on this one-thread runtime the
/// test goes on reading meanwhile, and the waiting transaction starts and commits once the
/// other one has committed.
#[tokio::test]
async fn a_sqlite_writer_waits_for_another_process_without_blocking_its_thread() {
    let (store, db) = castellan_testkit::db::sqlite().await;
    let other = db.open().await;
    let mut held = other.begin().await.unwrap();
    held.set_setting("held", "1").await.unwrap();
    let waiting = tokio::spawn({
        let store = store.clone();
        async move {
            let mut tx = store.begin().await?;
            tx.set_setting("after", "1").await?;
            tx.commit().await
        }
    });
    for _ in 0..20 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        assert_eq!(store.setting("held").await.unwrap(), None);
        assert!(
            !waiting.is_finished(),
            "began while another writer held the lock"
        );
    }
    held.commit().await.unwrap();
    waiting.await.unwrap().unwrap();
    assert_eq!(store.setting("held").await.unwrap().as_deref(), Some("1"));
    assert_eq!(store.setting("after").await.unwrap().as_deref(), Some("1"));
}

// A transaction dropped without commit leaves nothing behind on either engine, and its
// connection serves the next transaction.
both!(
    a_dropped_transaction_is_rolled_back,
    |store: Store| async move {
        let mut tx = store.begin().await.unwrap();
        tx.set_setting("dropped", "1").await.unwrap();
        drop(tx);
        assert_eq!(store.setting("dropped").await.unwrap(), None);
        let mut tx = store.begin().await.unwrap();
        tx.set_setting("kept", "1").await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(store.setting("dropped").await.unwrap(), None);
        assert_eq!(store.setting("kept").await.unwrap().as_deref(), Some("1"));
    }
);

both!(
    a_name_check_reads_only_the_domains_and_validations_it_names,
    |store: Store| async move {
        use castellan_store::DcvRecord;
        let mut tx = store.begin().await.unwrap();
        let org = camford(&mut tx).await;
        for name in [
            "camford.ac.uk",
            "*.camford.ac.uk",
            "oxbridge.ac.uk",
            "*.ac.uk",
        ] {
            let id = tx
                .insert_domain(name, "", true, None, 1_800_000_000)
                .await
                .unwrap();
            delegate_for_ssl(&mut tx, id, org).await;
        }
        for domain in ["camford.ac.uk", "oxbridge.ac.uk", "www.camford.ac.uk"] {
            tx.save_dcv(&DcvRecord {
                domain: domain.into(),
                order_status: "SUBMITTED".into(),
                ..DcvRecord::default()
            })
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();

        let named = store
            .domains_named(&[
                "*.camford.ac.uk".into(),
                "www.camford.ac.uk".into(),
                "*.ac.uk".into(),
            ])
            .await
            .unwrap();
        let names: Vec<(&str, usize)> = named
            .iter()
            .map(|d| (d.name.as_str(), d.delegations.len()))
            .collect();
        assert_eq!(names, [("*.ac.uk", 1), ("*.camford.ac.uk", 1)]);
        assert!(store.domains_named(&[]).await.unwrap().is_empty());
        // A name given twice is one domain; quotes and backslashes are values, not syntax.
        let odd = store
            .domains_named(&["*.ac.uk".into(), "x\"y\\z'".into(), "*.ac.uk".into()])
            .await
            .unwrap();
        assert_eq!(odd.len(), 1);
        assert_eq!(odd[0].name, "*.ac.uk");

        let dcvs = store
            .dcvs_of(&[
                "www.camford.ac.uk".into(),
                "camford.ac.uk".into(),
                "ac.uk".into(),
            ])
            .await
            .unwrap();
        let domains: Vec<&str> = dcvs.iter().map(|d| d.domain.as_str()).collect();
        assert_eq!(domains, ["camford.ac.uk", "www.camford.ac.uk"]);
        assert_eq!(store.domains().await.unwrap().len(), 4);
    }
);

/// Asserts what a store's copies answered: `on_sqlite` (from memory, from the database) on
/// SQLite; nothing on PostgreSQL, where nothing is kept.
fn kept_answers(store: &Store, counts: Option<(u64, u64)>, on_sqlite: (u64, u64)) {
    let expected = (store.kind() == castellan_model::DatabaseKind::Sqlite).then_some(on_sqlite);
    assert_eq!(counts, expected, "(from memory, read)");
}

/// Delegates `domain` to `org` for SSL certificates, active at once.
async fn delegate_for_ssl(
    tx: &mut castellan_store::Tx,
    domain: castellan_model::DomainId,
    org: OrgId,
) {
    let delegation = castellan_store::Delegation {
        org_id: org,
        cert_type: castellan_model::CertificateType::Ssl,
        active: true,
        requested_by: None,
    };
    tx.put_delegation(domain, &delegation, 1_800_000_000)
        .await
        .unwrap();
}

/// Stores the organisation the tests below work in.
async fn camford(tx: &mut castellan_store::Tx) -> OrgId {
    organization(tx, "University of Camford").await
}

/// Stores an organisation with only a name.
async fn organization(tx: &mut castellan_store::Tx, name: &str) -> OrgId {
    tx.insert_organization(
        None,
        &castellan_store::OrganizationData {
            name: name.into(),
            ..castellan_store::OrganizationData::default()
        },
        1_800_000_000,
    )
    .await
    .unwrap()
}

/// An ACME account for the tests below, with one domain and one registered key; returns
/// (account, registration).
async fn acme_account_with_registration(store: &Store) -> (castellan_model::AcmeAccountId, i64) {
    use castellan_store::{AcmeRegistration, NewAcmeAccount};
    let mut tx = store.begin().await.unwrap();
    let org = camford(&mut tx).await;
    let account = tx
        .insert_acme_account(&NewAcmeAccount {
            name: "Physics web servers".into(),
            org_id: org,
            server: "ov".into(),
            mac_id: "mac-1".into(),
            encrypted_mac_key: vec![1, 2, 3],
            created_by: None,
            created_at: 1_800_000_000,
        })
        .await
        .unwrap();
    tx.add_acme_domain(account, "physics.camford.ac.uk")
        .await
        .unwrap();
    let registration = tx
        .insert_acme_registration(&AcmeRegistration {
            id: 0,
            acme_account_id: account,
            thumbprint: "thumb-1".into(),
            jwk: "{\"key\":1}".into(),
            status: "valid".into(),
            contacts: String::new(),
            created_at: 1_800_000_000,
        })
        .await
        .unwrap();
    tx.commit().await.unwrap();
    (account, registration)
}

// An ACME order is read with one of its authorizations in one query: the order with the
// authorization of that index; with none when the order has no such index; nothing for an
// order that does not exist.
both!(
    an_acme_order_is_read_with_its_authorization,
    |store: Store| async move {
        use castellan_store::{AcmeAuthorization, AcmeOrder};
        let (_, registration) = acme_account_with_registration(&store).await;
        let names = ["a.physics.camford.ac.uk", "b.physics.camford.ac.uk"];
        let mut order = AcmeOrder {
            id: 0,
            registration_id: registration,
            status: "pending".into(),
            identifiers: names.iter().map(|n| (*n).to_owned()).collect(),
            profile: "OV".into(),
            expires_at: 1_800_086_400,
            request_id: None,
            certificate_id: None,
            error: String::new(),
            created_at: 1_800_000_000,
            replaces: None,
            replaces_id: String::new(),
        };
        let mut tx = store.begin().await.unwrap();
        order.id = tx.insert_acme_order(&order).await.unwrap();
        let authorizations: Vec<AcmeAuthorization> = (0i64..)
            .zip(names)
            .map(|(index, name)| AcmeAuthorization {
                order_id: order.id,
                index,
                identifier: name.into(),
                registered_domain: "camford.ac.uk".into(),
                status: if index == 0 { "valid" } else { "pending" }.into(),
                token: format!("token-{index}"),
                challenge: String::new(),
                attempted_at: None,
                validated_at: (index == 0).then_some(1_800_000_001),
                error: String::new(),
                created_at: 1_800_000_000,
            })
            .collect();
        tx.insert_acme_authorizations(&authorizations)
            .await
            .unwrap();
        tx.commit().await.unwrap();

        for (index, expected) in (0i64..).zip(&authorizations) {
            let (read, authorization) = store
                .acme_order_with_authorization(order.id, index)
                .await
                .unwrap()
                .expect("the order exists");
            assert_eq!(read, order);
            assert_eq!(authorization.as_ref(), Some(expected));
        }
        let (read, none) = store
            .acme_order_with_authorization(order.id, 2)
            .await
            .unwrap()
            .expect("the order exists");
        assert_eq!((read, none), (order.clone(), None));
        assert_eq!(
            store
                .acme_order_with_authorization(order.id + 1, 0)
                .await
                .unwrap(),
            None
        );
    }
);

// Every committed change to an ACME registration or account is seen by the next read, on
// both engines (SQLite keeps copies in memory, `acme_cache.rs`, and must never answer from
// one made before the change): key rollover, deactivation, renaming, domains added and
// removed, the account deleted (its registrations go with it).
both!(
    acme_registrations_and_accounts_read_after_a_change_show_it,
    |store: Store| async move {
        let (account, id) = acme_account_with_registration(&store).await;
        let registration = |store: Store| async move {
            let (r, server) = store.acme_registration_on(id).await.unwrap().unwrap();
            (r.status, r.jwk, server)
        };
        let account_of = |store: Store| async move {
            let a = store.acme_account(account).await.unwrap().unwrap();
            (a.account.name, a.domains, a.status)
        };
        for _ in 0..2 {
            assert_eq!(
                registration(store.clone()).await,
                ("valid".into(), "{\"key\":1}".into(), "ov".into())
            );
            assert_eq!(
                account_of(store.clone()).await,
                (
                    "Physics web servers".into(),
                    vec!["physics.camford.ac.uk".into()],
                    "valid".into()
                )
            );
        }
        kept_answers(&store, store.acme_cache_counts(), (2, 2));

        let mut tx = store.begin().await.unwrap();
        tx.set_acme_registration_key(id, "{\"key\":2}", "thumb-2")
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(registration(store.clone()).await.1, "{\"key\":2}");

        let mut tx = store.begin().await.unwrap();
        tx.update_acme_registration(id, "deactivated", "")
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(registration(store.clone()).await.0, "deactivated");

        let mut tx = store.begin().await.unwrap();
        tx.rename_acme_account(account, "Chemistry").await.unwrap();
        tx.add_acme_domain(account, "chem.camford.ac.uk")
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(
            account_of(store.clone()).await,
            (
                "Chemistry".into(),
                vec!["chem.camford.ac.uk".into(), "physics.camford.ac.uk".into()],
                "valid".into()
            )
        );
        let mut tx = store.begin().await.unwrap();
        tx.remove_acme_domain(account, "physics.camford.ac.uk")
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(
            account_of(store.clone()).await.1,
            vec!["chem.camford.ac.uk".to_owned()]
        );

        let mut tx = store.begin().await.unwrap();
        assert!(tx.delete_acme_account(account).await.unwrap());
        tx.commit().await.unwrap();
        assert_eq!(store.acme_account(account).await.unwrap(), None);
        assert_eq!(store.acme_registration_on(id).await.unwrap(), None);
    }
);

/// SQLite: a registration read while a change to it is written but not yet committed shows
/// the old row, and that copy is not used once the change commits; a change rolled back
/// leaves the row as it was.
#[tokio::test]
async fn sqlite_acme_copies_read_during_an_uncommitted_change_are_not_used_after_it() {
    let (store, _db) = castellan_testkit::db::sqlite().await;
    let (_, id) = acme_account_with_registration(&store).await;
    let status = |store: Store| async move {
        store
            .acme_registration_on(id)
            .await
            .unwrap()
            .unwrap()
            .0
            .status
    };
    assert_eq!(status(store.clone()).await, "valid");

    let mut tx = store.begin().await.unwrap();
    tx.update_acme_registration(id, "deactivated", "")
        .await
        .unwrap();
    // Read (and read again) while the change is uncommitted: the committed row.
    assert_eq!(status(store.clone()).await, "valid");
    assert_eq!(status(store.clone()).await, "valid");
    tx.commit().await.unwrap();
    assert_eq!(status(store.clone()).await, "deactivated");
    assert_eq!(status(store.clone()).await, "deactivated");

    let mut tx = store.begin().await.unwrap();
    tx.update_acme_registration(id, "valid", "").await.unwrap();
    drop(tx);
    assert_eq!(status(store.clone()).await, "deactivated");
    // Answered from memory: the second read of each pair above; every other read went to
    // the database.
    assert_eq!(
        store.acme_cache_counts(),
        Some((2, 4)),
        "(from memory, read)"
    );
}

/// What an order and its name check read of the directory, as text: (every organisation's
/// name, by id; the city of `org`, or "gone"; camford.ac.uk and *.camford.ac.uk with their
/// state and number of delegations; the DCVs of camford.ac.uk and www.camford.ac.uk with
/// their order status).
async fn directory(store: &Store, org: OrgId) -> (Vec<String>, String, Vec<String>, Vec<String>) {
    let organizations = store.organizations().await.unwrap();
    let city = store
        .organization(org)
        .await
        .unwrap()
        .map(|o| o.data.city)
        .unwrap_or_else(|| "gone".into());
    let domains = store
        .domains_named(&[
            "*.camford.ac.uk".into(),
            "camford.ac.uk".into(),
            "*.camford.ac.uk".into(),
        ])
        .await
        .unwrap()
        .iter()
        .map(|d| {
            format!(
                "{} {} {}",
                d.name,
                if d.active { "active" } else { "suspended" },
                d.delegations.len()
            )
        })
        .collect::<Vec<_>>();
    let dcvs = store
        .dcvs_of(&["camford.ac.uk".into(), "www.camford.ac.uk".into()])
        .await
        .unwrap()
        .iter()
        .map(|d| format!("{} {}", d.domain, d.order_status))
        .collect();
    (
        organizations.iter().map(|o| o.data.name.clone()).collect(),
        city,
        domains,
        dcvs,
    )
}

// Every committed change to an organisation, a domain, a delegation or a DCV is seen by the
// next read, on both engines (SQLite keeps them in memory, `directory_cache.rs`, and must
// never answer from a copy made before the change).
both!(
    the_directory_read_after_a_change_shows_it,
    |store: Store| async move {
        use castellan_model::CertificateType;
        use castellan_store::DcvRecord;
        let mut tx = store.begin().await.unwrap();
        let org = camford(&mut tx).await;
        let domain = tx
            .insert_domain("camford.ac.uk", "", true, None, 1_800_000_000)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let before = (
            vec!["University of Camford".to_owned()],
            String::new(),
            vec!["camford.ac.uk active 0".to_owned()],
            Vec::<String>::new(),
        );
        assert_eq!(directory(&store, org).await, before);
        assert_eq!(directory(&store, org).await, before);
        // The first round read the three tables (`organization` found the organisations
        // `organizations` had just read); the second read none.
        kept_answers(&store, store.directory_cache_counts(), (5, 3));

        let mut tx = store.begin().await.unwrap();
        let mut data = tx.organization(org).await.unwrap().unwrap().data;
        data.city = "Camford".into();
        tx.update_organization(org, &data, 1_800_000_001)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(directory(&store, org).await.1, "Camford");

        let mut tx = store.begin().await.unwrap();
        let wildcard = tx
            .insert_domain("*.camford.ac.uk", "", true, None, 1_800_000_000)
            .await
            .unwrap();
        delegate_for_ssl(&mut tx, wildcard, org).await;
        tx.commit().await.unwrap();
        assert_eq!(
            directory(&store, org).await.2,
            ["*.camford.ac.uk active 1", "camford.ac.uk active 0"]
        );

        let mut tx = store.begin().await.unwrap();
        tx.set_domain_active(domain, false, 1_800_000_002)
            .await
            .unwrap();
        assert!(
            tx.remove_delegation(wildcard, org, CertificateType::Ssl)
                .await
                .unwrap()
        );
        tx.commit().await.unwrap();
        assert_eq!(
            directory(&store, org).await.2,
            ["*.camford.ac.uk active 0", "camford.ac.uk suspended 0"]
        );

        let mut tx = store.begin().await.unwrap();
        tx.save_dcv(&DcvRecord {
            domain: "camford.ac.uk".into(),
            order_status: "SUBMITTED".into(),
            ..DcvRecord::default()
        })
        .await
        .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(directory(&store, org).await.3, ["camford.ac.uk SUBMITTED"]);
        assert_eq!(store.dcvs().await.unwrap().len(), 1);

        let mut tx = store.begin().await.unwrap();
        tx.delete_dcv("camford.ac.uk").await.unwrap();
        assert!(tx.delete_domain(wildcard).await.unwrap());
        organization(&mut tx, "University of Oxbridge").await;
        tx.commit().await.unwrap();
        assert_eq!(
            directory(&store, org).await,
            (
                vec![
                    "University of Camford".to_owned(),
                    "University of Oxbridge".to_owned()
                ],
                "Camford".into(),
                vec!["camford.ac.uk suspended 0".to_owned()],
                Vec::new()
            )
        );
        assert_eq!(store.domains().await.unwrap().len(), 1);
        assert!(store.dcvs().await.unwrap().is_empty());

        let mut tx = store.begin().await.unwrap();
        assert!(tx.delete_domain(domain).await.unwrap());
        assert!(tx.delete_organization(org).await.unwrap());
        tx.commit().await.unwrap();
        let after = directory(&store, org).await;
        assert_eq!(
            (after.0, after.1, after.2),
            (
                vec!["University of Oxbridge".to_owned()],
                "gone".into(),
                Vec::new()
            )
        );
    }
);

/// SQLite: the directory read while a change to it is written but not yet committed shows
/// what was committed, and that copy is not used once the change commits; a change rolled
/// back leaves it as it was.
#[tokio::test]
async fn sqlite_directory_copies_read_during_an_uncommitted_change_are_not_used_after_it() {
    let (store, _db) = castellan_testkit::db::sqlite().await;
    let mut tx = store.begin().await.unwrap();
    let org = camford(&mut tx).await;
    let domain = tx
        .insert_domain("camford.ac.uk", "", true, None, 1_800_000_000)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let state = |store: Store| async move {
        let d = directory(&store, org).await;
        (d.1, d.2)
    };
    let committed = (String::new(), vec!["camford.ac.uk active 0".to_owned()]);
    assert_eq!(state(store.clone()).await, committed);

    let mut tx = store.begin().await.unwrap();
    tx.set_domain_active(domain, false, 1_800_000_001)
        .await
        .unwrap();
    let mut data = tx.organization(org).await.unwrap().unwrap().data;
    data.city = "Camford".into();
    tx.update_organization(org, &data, 1_800_000_001)
        .await
        .unwrap();
    // Read (and read again) while the change is uncommitted: what was committed.
    assert_eq!(state(store.clone()).await, committed);
    assert_eq!(state(store.clone()).await, committed);
    tx.commit().await.unwrap();
    let changed = (
        "Camford".to_owned(),
        vec!["camford.ac.uk suspended 0".to_owned()],
    );
    assert_eq!(state(store.clone()).await, changed);
    assert_eq!(state(store.clone()).await, changed);

    let mut tx = store.begin().await.unwrap();
    tx.set_domain_active(domain, true, 1_800_000_002)
        .await
        .unwrap();
    drop(tx);
    assert_eq!(state(store.clone()).await, changed);
    // A round asks four times: the organisations, one of them, domains, DCVs. From the
    // database: the first round all three tables; the first round during the change and
    // the first after its commit the two changed (organisations, domains); the round after
    // the rollback the domains (the rolled-back write moved their generation on). From
    // memory, every other answer.
    assert_eq!(
        store.directory_cache_counts(),
        Some((1 + 2 + 4 + 2 + 4 + 3, 3 + 2 + 2 + 1)),
        "(from memory, read)"
    );
}

// A key blocked after a key compromise is seen by the next issuance's check on both engines
// (SQLite keeps the blocked keys in memory, `kept.rs`), with the serial of the certificate
// whose revocation blocked it; read while the block is not yet committed, it is not.
both!(
    a_blocked_key_is_seen_once_the_block_commits,
    |store: Store| async move {
        let issuer = issuing_ca(&store).await;
        let mut tx = store.begin().await.unwrap();
        let certificate = tx
            .insert_certificate(&certificate(
                issuer,
                "0a0b0c",
                "www.camford.ac.uk",
                &["www.camford.ac.uk"],
                1_810_000_000,
            ))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(store.blocked_key("spki-0a0b0c").await.unwrap(), None);
        assert_eq!(store.blocked_key("spki-0a0b0c").await.unwrap(), None);

        let mut tx = store.begin().await.unwrap();
        assert!(
            tx.block_key("spki-0a0b0c", certificate, 1_800_000_000)
                .await
                .unwrap()
        );
        assert_eq!(store.blocked_key("spki-0a0b0c").await.unwrap(), None);
        tx.commit().await.unwrap();
        let blocked = Some(castellan_store::BlockedKey {
            serial: Some("0a0b0c".into()),
            blocked_at: 1_800_000_000,
        });
        assert_eq!(store.blocked_key("spki-0a0b0c").await.unwrap(), blocked);
        assert_eq!(store.blocked_key("spki-0a0b0c").await.unwrap(), blocked);
        assert_eq!(store.blocked_key("spki-other").await.unwrap(), None);
    }
);
