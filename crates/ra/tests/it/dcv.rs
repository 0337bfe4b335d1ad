//! Domain control validation against a real DNS server, a real web server and a real SMTP
//! server on loopback: every method, the background re-check, single-use HTTP files, the
//! troubleshooting record, the CAA warning and the e-mail link.

use crate::domains::world;
use crate::support::*;
use castellan_model::CertificateType::Ssl;
use castellan_ra::Authority;
use castellan_ra::clock::Clock;
use castellan_ra::dcv::{DcvMethod, ValidationSettings};
use castellan_testkit::dns::TestDns;
use castellan_testkit::smtp::SmtpSink;
use std::net::Ipv4Addr;
use std::time::Duration;

fn settings(dns: &TestDns, http_port: u16) -> ValidationSettings {
    ValidationSettings {
        http_port,
        https_port: http_port,
        ..validation(dns)
    }
}

fn refusal<T: std::fmt::Debug>(r: castellan_ra::Result<T>) -> String {
    match r {
        Err(e) => e.to_string(),
        Ok(v) => panic!("expected a refusal, got {v:?}"),
    }
}

/// A web server on loopback answering `path` with `body`.
async fn web(path: String, body: String) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = axum::Router::new().route(&path, axum::routing::get(move || async move { body }));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    port
}

/// The fixture's authority, validating with `settings`; the fixture keeps the database,
/// clock and DNS server alive.
async fn authority(fx: Fixture, settings: ValidationSettings) -> (Authority, Fixture) {
    let a = load(
        &fx.store,
        &fx.kek_text,
        fx.clock.clone(),
        std::sync::Arc::new(castellan_pki::rand::SystemRng),
    )
    .await
    .unwrap()
    .with_validation(settings)
    .unwrap();
    (a, fx)
}

#[tokio::test]
async fn cname_validation_passes_on_recheck_once_published() {
    let (fx, _db) = sqlite_fixture().await;
    let dns = TestDns::start().await;
    let (a, fx) = authority(fx, settings(&dns, 80)).await;
    let w = world(&a).await;
    a.create_domain(
        &w.rao,
        "*.camford.ac.uk",
        "",
        &[(w.camford, vec![Ssl])],
        true,
    )
    .await
    .unwrap();

    let start = a
        .dcv_start(&w.rao, "camford.ac.uk", DcvMethod::Cname)
        .await
        .unwrap();
    assert!(
        start.host.starts_with('_') && start.host.ends_with(".camford.ac.uk"),
        "{start:?}"
    );
    assert!(start.point.ends_with(".dcv.castellan.test"), "{start:?}");
    assert_eq!(start.host.len(), "_".len() + 32 + ".camford.ac.uk".len());

    // Submitted before the record exists: not yet, and the record says what was seen.
    let first = a
        .dcv_submit(&w.rao, "camford.ac.uk", DcvMethod::Cname, None)
        .await
        .unwrap();
    assert_eq!(first.status.as_str(), "NOT_VALIDATED");
    assert_eq!(first.record.order_status, "SUBMITTED");
    assert!(
        first.message.starts_with("Not validated yet: "),
        "{}",
        first.message
    );
    assert!(first.message.contains(&start.host), "{}", first.message);
    assert!(!first.record.transcript.is_empty());
    assert!(
        first.record.transcript.contains(&dns.addr().to_string()),
        "{}",
        first.record.transcript
    );
    let now = fx.clock.now().unix_timestamp();
    assert_eq!(first.record.next_check, Some(now + 3600));

    // Published; the hourly job finds it.
    dns.add_cname(&start.host, &start.point).await;
    assert_eq!(a.recheck_dcv().await.unwrap(), 0, "not due before the hour");
    fx.clock.set(fx.clock.now() + time::Duration::seconds(3600));
    assert_eq!(a.recheck_dcv().await.unwrap(), 1);
    let (record, status) = a.dcv_state(&w.rao, "camford.ac.uk").await.unwrap();
    assert_eq!(status.as_str(), "VALIDATED");
    assert_eq!(record.validated_method, "CNAME");
    assert_eq!(record.expires_at, Some(now + 3600 + 365 * 86_400));
    a.check_names(w.physics, Ssl, &["www.camford.ac.uk".to_string()])
        .await
        .unwrap_err(); // delegated to the organisation, not to Physics
    a.check_names(w.camford, Ssl, &["www.camford.ac.uk".to_string()])
        .await
        .unwrap();

    // Cleared: Action Required again.
    a.dcv_clear(&w.rao, "camford.ac.uk").await.unwrap();
    let (_, status) = a.dcv_state(&w.rao, "camford.ac.uk").await.unwrap();
    assert_eq!(status.as_str(), "NOT_VALIDATED");
}

#[tokio::test]
async fn txt_validation_and_the_caa_warning() {
    let (fx, _db) = sqlite_fixture().await;
    let dns = TestDns::start().await;
    let (a, _fx) = authority(fx, settings(&dns, 80)).await;
    let w = world(&a).await;
    a.create_domain(&w.rao, "camford.ac.uk", "", &[(w.camford, vec![Ssl])], true)
        .await
        .unwrap();
    dns.add_caa("camford.ac.uk", 0, "issue", "letsencrypt.org")
        .await;
    let first = a
        .dcv_submit(&w.rao, "camford.ac.uk", DcvMethod::Txt, None)
        .await
        .unwrap();
    assert_eq!(first.record.host, "_pki-validation.camford.ac.uk");
    assert_eq!(first.status.as_str(), "NOT_VALIDATED");
    let warning = first
        .caa_warning
        .expect("CAA for someone else is a warning at submit");
    assert!(
        warning.contains("letsencrypt.org") && warning.contains("castellan.test"),
        "{warning}"
    );
    dns.add_txt("_pki-validation.camford.ac.uk", &first.record.point)
        .await;
    let second = a
        .dcv_submit(&w.rao, "camford.ac.uk", DcvMethod::Txt, None)
        .await
        .unwrap();
    assert_eq!(second.status.as_str(), "VALIDATED", "{}", second.message);
}

#[tokio::test]
async fn http_validation_is_single_use() {
    let (fx, _db) = sqlite_fixture().await;
    let dns = TestDns::start().await;
    let (probe, _) = authority(fx, settings(&dns, 80)).await;
    let w = world(&probe).await;
    probe
        .create_domain(
            &w.rao,
            "www.camford.ac.uk",
            "",
            &[(w.camford, vec![Ssl])],
            true,
        )
        .await
        .unwrap();
    let start = probe
        .dcv_start(&w.rao, "www.camford.ac.uk", DcvMethod::Http)
        .await
        .unwrap();
    let path = start.host.split_once("camford.ac.uk").unwrap().1.to_owned();
    assert!(
        path.starts_with("/.well-known/pki-validation/") && path.ends_with(".txt"),
        "{path}"
    );
    let port = web(path, format!("{}\n{}\n", start.point, start.second_line)).await;
    dns.add_a("www.camford.ac.uk", Ipv4Addr::LOCALHOST).await;
    // The same database, now validating against the test web server's port.
    let a = probe.with_validation(settings(&dns, port)).unwrap();
    let outcome = a
        .dcv_submit(&w.rao, "www.camford.ac.uk", DcvMethod::Http, None)
        .await
        .unwrap();
    assert_eq!(outcome.status.as_str(), "VALIDATED", "{}", outcome.message);
    assert!(
        outcome.record.transcript.contains("200"),
        "{}",
        outcome.record.transcript
    );
    assert_eq!(
        refusal(
            a.dcv_submit(&w.rao, "www.camford.ac.uk", DcvMethod::Http, None)
                .await
        ),
        "no HTTP order is waiting for www.camford.ac.uk; start one first to get the values to \
         publish"
    );
    let again = a
        .dcv_start(&w.rao, "www.camford.ac.uk", DcvMethod::Http)
        .await
        .unwrap();
    assert_ne!(again.point, start.point, "a new file each time");
}

#[tokio::test]
async fn email_validation_follows_the_link() {
    let (fx, _db) = sqlite_fixture().await;
    let dns = TestDns::start().await;
    let (a, fx) = authority(fx, settings(&dns, 80)).await;
    let w = world(&a).await;
    a.create_domain(&w.rao, "camford.ac.uk", "", &[(w.camford, vec![Ssl])], true)
        .await
        .unwrap();
    let start = a
        .dcv_start(&w.rao, "camford.ac.uk", DcvMethod::Email)
        .await
        .unwrap();
    assert_eq!(
        start.emails,
        [
            "admin@camford.ac.uk",
            "administrator@camford.ac.uk",
            "hostmaster@camford.ac.uk",
            "postmaster@camford.ac.uk",
            "webmaster@camford.ac.uk"
        ]
    );
    assert_eq!(
        refusal(
            a.dcv_submit(
                &w.rao,
                "camford.ac.uk",
                DcvMethod::Email,
                Some("bob@camford.ac.uk")
            )
            .await
        ),
        "invalid email: 'bob@camford.ac.uk' is not one of the addresses DCV may use: \
         admin@camford.ac.uk, administrator@camford.ac.uk, hostmaster@camford.ac.uk, \
         postmaster@camford.ac.uk, webmaster@camford.ac.uk"
    );
    let outcome = a
        .dcv_submit(
            &w.rao,
            "camford.ac.uk",
            DcvMethod::Email,
            Some("Hostmaster@camford.ac.uk"),
        )
        .await
        .unwrap();
    assert_eq!(outcome.record.order_status, "SUBMITTED");

    // The outbox worker delivers it to a real SMTP server; the test follows the link.
    let sink = SmtpSink::start();
    let mailer = sink_mailer(sink.port);
    let now = fx.clock.now().unix_timestamp();
    assert_eq!(
        castellan_notify::deliver_due(a.store(), &mailer, now)
            .await
            .unwrap(),
        1
    );
    let messages = sink.wait_for(1, Duration::from_secs(5));
    // Undo quoted-printable soft line breaks: the link is longer than a mail line.
    let mail = &messages[0].replace("=\r\n", "").replace("=\n", "");
    assert!(
        mail.contains("X-Envelope-To: hostmaster@camford.ac.uk"),
        "{mail}"
    );
    assert!(
        mail.contains("Subject: Domain control validation for camford.ac.uk"),
        "{mail}"
    );
    let link_start = mail
        .find("https://certs.camford.ac.uk/customer/camford/dcv/email/")
        .unwrap();
    let link: String = mail[link_start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    let token = link.rsplit('/').next().unwrap();
    assert_eq!(
        a.dcv_confirm_email(token, "192.0.2.50").await.unwrap(),
        "camford.ac.uk"
    );
    let (record, status) = a.dcv_state(&w.rao, "camford.ac.uk").await.unwrap();
    assert_eq!(status.as_str(), "VALIDATED");
    assert_eq!(record.validated_method, "EMAIL");
    assert_eq!(
        refusal(a.dcv_confirm_email(token, "192.0.2.50").await),
        "this validation link is unknown, already used or replaced by a newer one"
    );
}
