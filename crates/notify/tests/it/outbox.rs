//! Nothing is lost while the mail server is down; retries back off; a message is queued
//! once per idempotency key; after too many failures it is given up, visibly.

use castellan_notify::{MAX_ATTEMPTS, Mailer, Security, SmtpSettings, deliver_due};
use castellan_store::{NewEmail, Store};
use castellan_testkit::smtp::{SmtpSink, free_port};
use std::time::Duration;

fn settings(port: u16) -> SmtpSettings {
    SmtpSettings {
        host: "127.0.0.1".into(),
        port,
        security: Security::None,
        username: String::new(),
        password: String::new(),
        from: "Castellan <certs@camford.ac.uk>".into(),
    }
}

fn email(key: &str, to: &str) -> NewEmail {
    NewEmail {
        idempotency_key: key.into(),
        recipient: to.into(),
        subject: format!("Test {key}"),
        body_text: format!("Hello {to}, this is {key}.\n"),
        body_html: String::new(),
        created_at: 1_800_000_000,
    }
}

async fn queue(store: &Store, e: &NewEmail) -> bool {
    let mut tx = store.begin().await.unwrap();
    let queued = tx.enqueue_email(e).await.unwrap();
    tx.commit().await.unwrap();
    queued
}

async fn outbox_survives_a_mail_server_outage(store: Store) {
    let port = free_port();
    let mailer = Mailer::new(&settings(port)).unwrap();
    assert!(
        queue(
            &store,
            &email("dcv-1:hostmaster@camford.ac.uk", "hostmaster@camford.ac.uk")
        )
        .await
    );
    assert!(
        !queue(
            &store,
            &email("dcv-1:hostmaster@camford.ac.uk", "hostmaster@camford.ac.uk")
        )
        .await
    );
    assert!(
        queue(
            &store,
            &email("dcv-2:admin@camford.ac.uk", "admin@camford.ac.uk")
        )
        .await
    );

    // The server is down: nothing is sent, nothing is lost, the retry waits a minute.
    let now = 1_800_000_000;
    assert_eq!(deliver_due(&store, &mailer, now).await.unwrap(), 0);
    let queued = store.emails(10).await.unwrap();
    assert_eq!(queued.len(), 2);
    for e in &queued {
        assert_eq!(e.status, "PENDING");
        assert_eq!(e.attempts, 1);
        assert_eq!(e.next_attempt_at, now + 60);
        assert!(!e.last_error.is_empty());
    }
    // Not due yet: no attempt.
    assert_eq!(deliver_due(&store, &mailer, now + 30).await.unwrap(), 0);
    assert_eq!(store.emails(10).await.unwrap()[0].attempts, 1);

    // The server comes back: both go, once.
    let sink = SmtpSink::start_on(port);
    assert_eq!(deliver_due(&store, &mailer, now + 61).await.unwrap(), 2);
    assert_eq!(deliver_due(&store, &mailer, now + 999).await.unwrap(), 0);
    let messages = sink.wait_for(2, Duration::from_secs(5));
    assert_eq!(messages.len(), 2);
    assert!(messages[0].contains("X-Envelope-To: hostmaster@camford.ac.uk"));
    assert!(messages[0].contains("Subject: Test dcv-1:hostmaster@camford.ac.uk"));
    assert!(messages[0].contains("Hello hostmaster@camford.ac.uk, this is dcv-1"));
    assert!(messages[0].contains("From: Castellan <certs@camford.ac.uk>"));
    for e in store.emails(10).await.unwrap() {
        assert_eq!(e.status, "SENT");
        assert_eq!(e.sent_at, Some(now + 61));
    }
}

async fn undeliverable_mail_is_given_up_visibly(store: Store) {
    let mailer = Mailer::new(&settings(free_port())).unwrap();
    queue(
        &store,
        &email("x:webmaster@camford.ac.uk", "webmaster@camford.ac.uk"),
    )
    .await;
    let mut now = 1_800_000_000;
    for _ in 0..MAX_ATTEMPTS {
        deliver_due(&store, &mailer, now).await.unwrap();
        now += 7200;
    }
    let e = &store.emails(1).await.unwrap()[0];
    assert_eq!(e.status, "DEAD");
    assert_eq!(e.attempts, MAX_ATTEMPTS);
    assert!(!e.last_error.is_empty());
}

#[tokio::test]
async fn outbox_survives_a_mail_server_outage_sqlite() {
    let (store, _db) = castellan_testkit::db::sqlite().await;
    outbox_survives_a_mail_server_outage(store).await;
}

#[tokio::test]
async fn outbox_survives_a_mail_server_outage_postgres() {
    let (store, _db) = castellan_testkit::db::postgres().await;
    outbox_survives_a_mail_server_outage(store).await;
}

#[tokio::test]
async fn undeliverable_mail_is_given_up_visibly_sqlite() {
    let (store, _db) = castellan_testkit::db::sqlite().await;
    undeliverable_mail_is_given_up_visibly(store).await;
}
