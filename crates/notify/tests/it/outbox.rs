//! Nothing is lost while the mail server is down; retries back off; a message is queued
//! once per idempotency key; a server that dies during a send and comes back gets every
//! message exactly once; after too many failures it is given up, visibly.

use castellan_notify::{
    FIRST_BACKOFF_SECONDS, MAX_ATTEMPTS, Mailer, Security, SmtpSettings, deliver_due,
};
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
        assert_eq!(
            (e.email.body_text.as_str(), e.email.body_html.as_str()),
            ("", ""),
            "a sent message's body is erased"
        );
        assert!(!e.email.subject.is_empty(), "the subject stays for the log");
    }
}

/// The values of header `name` in the header section of a raw message as the sink keeps it
/// (its `X-Envelope-To:` lines included).
fn header(message: &str, name: &str) -> Vec<String> {
    message
        .lines()
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim().to_owned())
        .collect()
}

/// What `sink` has received: each message's Message-ID and envelope recipient, in order.
fn received(sink: &SmtpSink) -> Vec<(String, String)> {
    sink.messages()
        .iter()
        .map(|m| {
            let (ids, to) = (header(m, "Message-ID"), header(m, "X-Envelope-To"));
            assert_eq!((ids.len(), to.len()), (1, 1), "{m}");
            (ids[0].clone(), to[0].clone())
        })
        .collect()
}

async fn mail_server_dying_mid_send_loses_and_duplicates_nothing(store: Store) {
    const QUEUED: usize = 12;
    const ACCEPTED: usize = 5;
    let port = free_port();
    // Two nodes delivering from the same outbox, each with its own mailer (and pool).
    let node_a = Mailer::new(&settings(port)).unwrap();
    let node_b = Mailer::new(&settings(port)).unwrap();
    // Keys of letters, digits and dashes appear unchanged in the Message-ID.
    let mut expected = Vec::new();
    for i in 1..=QUEUED {
        let (key, to) = (format!("crash-{i:02}"), format!("user{i:02}@camford.ac.uk"));
        assert!(queue(&store, &email(&key, &to)).await);
        expected.push((format!("<{key}@camford.ac.uk>"), to));
    }
    // Each outbox row as (Message-ID, recipient) and the row.
    let rows = || async {
        let rows = store.emails(100).await.unwrap();
        assert_eq!(rows.len(), QUEUED);
        rows.into_iter()
            .map(|e| {
                let id = format!("<{}@camford.ac.uk>", e.email.idempotency_key);
                ((id, e.email.recipient.clone()), e)
            })
            .collect::<Vec<_>>()
    };

    // The server takes five messages and dies while the sixth is being sent (after its
    // data, before its reply); both nodes deliver at once.
    let dying = SmtpSink::start_dying_after(port, ACCEPTED);
    let now = 1_800_000_000;
    let (a, b) = tokio::join!(
        deliver_due(&store, &node_a, now),
        deliver_due(&store, &node_b, now)
    );
    assert_eq!(a.unwrap() + b.unwrap(), ACCEPTED);
    let mut first = received(&dying);
    first.sort();
    assert_eq!(first.len(), ACCEPTED);
    // Exactly what the server took is SENT; everything else, the one cut off included, is
    // PENDING with its failure recorded and a retry a minute on.
    let mut sent = Vec::new();
    for (message, e) in rows().await {
        if e.status == "SENT" {
            assert_eq!((e.attempts, e.sent_at), (1, Some(now)), "{e:?}");
            assert_eq!(e.last_error, "", "{e:?}");
            sent.push(message);
        } else {
            assert_eq!(e.status, "PENDING", "{e:?}");
            assert_eq!(e.attempts, 1, "{e:?}");
            assert_eq!(e.next_attempt_at, now + FIRST_BACKOFF_SECONDS, "{e:?}");
            assert_eq!(e.sent_at, None, "{e:?}");
            assert!(!e.last_error.is_empty(), "{e:?}");
        }
    }
    sent.sort();
    assert_eq!(sent, first);
    // Before the retry is due a node sends nothing and tries nothing.
    assert_eq!(deliver_due(&store, &node_b, now + 30).await.unwrap(), 0);
    assert!(rows().await.iter().all(|(_, e)| e.attempts == 1));

    // The server is back on the same port: the rest go, once, whichever node takes them.
    let back = SmtpSink::start_on(port);
    let later = now + FIRST_BACKOFF_SECONDS + 1;
    let (a, b) = tokio::join!(
        deliver_due(&store, &node_a, later),
        deliver_due(&store, &node_b, later)
    );
    assert_eq!(a.unwrap() + b.unwrap(), QUEUED - ACCEPTED);
    assert_eq!(deliver_due(&store, &node_a, later + 3600).await.unwrap(), 0);
    let second = received(&back);
    assert_eq!(second.len(), QUEUED - ACCEPTED);
    assert_eq!(
        dying.messages().len(),
        ACCEPTED,
        "the dead server got nothing more"
    );
    // Across both servers every queued message arrived exactly once, to its recipient.
    let mut all = [first.clone(), second].concat();
    all.sort();
    expected.sort();
    assert_eq!(all, expected);
    for (message, e) in rows().await {
        assert_eq!(e.status, "SENT", "{e:?}");
        assert_eq!(e.last_error, "", "{e:?}");
        if first.contains(&message) {
            assert_eq!((e.attempts, e.sent_at), (1, Some(now)), "{e:?}");
        } else {
            assert_eq!((e.attempts, e.sent_at), (2, Some(later)), "{e:?}");
        }
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
async fn mail_server_dying_mid_send_loses_and_duplicates_nothing_sqlite() {
    let (store, _db) = castellan_testkit::db::sqlite().await;
    mail_server_dying_mid_send_loses_and_duplicates_nothing(store).await;
}

#[tokio::test]
async fn mail_server_dying_mid_send_loses_and_duplicates_nothing_postgres() {
    let (store, _db) = castellan_testkit::db::postgres().await;
    mail_server_dying_mid_send_loses_and_duplicates_nothing(store).await;
}

#[tokio::test]
async fn undeliverable_mail_is_given_up_visibly_sqlite() {
    let (store, _db) = castellan_testkit::db::sqlite().await;
    undeliverable_mail_is_given_up_visibly(store).await;
}
