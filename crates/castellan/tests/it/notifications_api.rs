//! `/api/notification/v1` on a running server: rules added, read, edited (refusals word for
//! word), tested and deleted; an event (an administrator created) mailed by the server's own
//! outbox worker to a real SMTP server on loopback; the delivery log; the templates.

use crate::scm_client::{NEW_PASSWORD, create_organization, operator_password, scm, send};
use crate::support::*;
use castellan_testkit::smtp::{SmtpSink, free_port};
use serde_json::{Value, json};
use std::time::Duration;

fn parsed(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[tokio::test]
async fn notification_rules_and_templates_over_the_api() {
    let ws = Workspace::new();
    ok(ws.init("data", &["--customer-uri", "camford"]));
    let sink = SmtpSink::start();
    let smtp_port = sink.port.to_string();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let server = Server::start(
        &ws.path("data"),
        &["--http", "--listen", &format!("127.0.0.1:{port}")],
        &[
            ("CASTELLAN_BASE_URL", &base),
            ("CASTELLAN_SMTP__HOST", "127.0.0.1"),
            ("CASTELLAN_SMTP__PORT", &smtp_port),
            ("CASTELLAN_SMTP__SECURITY", "none"),
            ("CASTELLAN_SMTP__FROM", "Castellan <certs@camford.ac.uk>"),
            ("CASTELLAN_NOTIFICATIONS__SCAN_AT", "23:59"),
        ],
    );
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    operator_password(&http, &base).await;
    let org = create_organization(
        &http,
        &base,
        json!({"name": "University of Camford", "country": "GB", "certTypes": ["SSL"]}),
        &server,
    )
    .await;
    let api = |path: &str| format!("{base}/api/notification/v1{path}");

    // Unauthenticated: refused.
    let (status, _, _) = send(http.get(api(""))).await;
    assert_eq!(status, 401);

    // The kinds.
    let (status, _, text) = send(scm(http.get(api("/types")), NEW_PASSWORD)).await;
    assert_eq!(status, 200, "{text}");
    let types = parsed(&text);
    assert_eq!(types.as_array().unwrap().len(), 19, "{text}");
    assert_eq!(types[0]["type"], "ssl.expiring");
    assert_eq!(types[0]["days"], true);
    let issued = types
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["type"] == "ssl.issued")
        .unwrap();
    assert_eq!(
        issued["defaultRecipients"],
        "the requester and the external requester (portal and REST API orders)"
    );

    // Refusals name the field and the fix.
    for (body, status_code, code, description) in [
        (
            json!({"orgId": org}),
            400,
            -1601,
            "type is required but missing".to_owned(),
        ),
        (
            json!({"type": "ssl.sometimes", "orgId": org, "addresses": ["a@camford.ac.uk"]}),
            400,
            -1601,
            "invalid kind: 'ssl.sometimes' is not a notification; the kinds are".to_owned(),
        ),
        (
            json!({"type": "admin.created", "orgId": org, "days": [30],
                   "addresses": ["it-security@camford.ac.uk"]}),
            400,
            -1601,
            "invalid days: 'Administrator created' is sent when it happens; days before expiry \
             are for the expiring kinds only"
                .to_owned(),
        ),
        (
            json!({"type": "admin.created", "orgId": 999, "addresses": ["a@camford.ac.uk"]}),
            404,
            -1023,
            "no organization 999".to_owned(),
        ),
    ] {
        let (status, _, text) = send(scm(http.post(api("")), NEW_PASSWORD).json(&body)).await;
        assert_eq!(status, status_code, "{body}: {text}");
        let error = parsed(&text);
        assert_eq!(error["code"], code, "{text}");
        assert!(
            error["description"]
                .as_str()
                .unwrap()
                .starts_with(&description),
            "{text}"
        );
    }

    // Added: 201 and Location; read back.
    let (status, location, text) = send(scm(http.post(api("")), NEW_PASSWORD).json(&json!({
        "type": "admin.created",
        "orgId": org,
        "addresses": ["it-security@camford.ac.uk"],
    })))
    .await;
    assert_eq!(status, 201, "{text}");
    let location = location.unwrap();
    let id: i64 = location.rsplit('/').next().unwrap().parse().unwrap();
    assert!(location.ends_with(&format!("/api/notification/v1/{id}")));
    let (status, _, text) = send(scm(http.get(api(&format!("/{id}"))), NEW_PASSWORD)).await;
    assert_eq!(status, 200, "{text}");
    let rule = parsed(&text);
    assert_eq!(rule["type"], "admin.created");
    assert_eq!(rule["orgId"], org);
    assert_eq!(rule["addresses"], json!(["it-security@camford.ac.uk"]));
    assert_eq!(rule["notifyAdmins"], false);
    let (_, _, text) = send(scm(http.get(api("")), NEW_PASSWORD)).await;
    assert_eq!(parsed(&text).as_array().unwrap().len(), 1, "{text}");

    // Edited.
    let (status, _, text) = send(scm(http.put(api(&format!("/{id}"))), NEW_PASSWORD).json(
        &json!({
            "type": "admin.created",
            "orgId": org,
            "addresses": ["pki@camford.ac.uk"],
        }),
    ))
    .await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(parsed(&text)["addresses"], json!(["pki@camford.ac.uk"]));

    // The event: an administrator created through the SCM API is mailed by the server's
    // worker to the rule's address.
    let (status, _, text) = send(
        scm(http.post(format!("{base}/api/admin/v1")), NEW_PASSWORD).json(&json!({
            "login": "newrao",
            "email": "newrao@camford.ac.uk",
            "forename": "New",
            "surname": "Rao",
            "password": "a long enough password",
            "credentials": [{"role": "RAO_SSL", "orgId": org}],
        })),
    )
    .await;
    assert_eq!(status, 201, "{text}\n{}", server.log());
    let mails = sink.wait_for(1, Duration::from_secs(30));
    assert_eq!(mails.len(), 1, "server log:\n{}", server.log());
    assert!(
        mails[0].contains("X-Envelope-To: pki@camford.ac.uk"),
        "{}",
        mails[0]
    );
    assert!(
        mails[0].contains("Subject: Administrator newrao created for University of Camford"),
        "{}",
        mails[0]
    );

    // Send test: to the caller and the rule's address.
    let (status, _, text) = send(scm(http.post(api(&format!("/{id}/test"))), NEW_PASSWORD)).await;
    assert_eq!(status, 200, "{text}");
    let to = parsed(&text)["recipients"].clone();
    assert_eq!(to.as_array().unwrap().len(), 2, "{text}");
    assert!(to.as_array().unwrap().contains(&json!("pki@camford.ac.uk")));
    let mails = sink.wait_for(3, Duration::from_secs(30));
    assert_eq!(mails.len(), 3, "server log:\n{}", server.log());
    assert!(
        mails[1..]
            .iter()
            .all(|m| m.contains("Subject: [Test] Administrator jbloggs created")),
        "{mails:?}"
    );

    // The delivery log (the operator sees every message), newest first. The server marks a
    // message SENT just after the mail server took it, so the log may lag the sink a little.
    let started = std::time::Instant::now();
    let (log, text) = loop {
        let (status, _, text) = send(scm(http.get(api("/log?size=10")), NEW_PASSWORD)).await;
        assert_eq!(status, 200, "{text}");
        let log = parsed(&text);
        let all_sent = log
            .as_array()
            .is_some_and(|l| l.iter().all(|m| m["status"] == "SENT"));
        if all_sent || started.elapsed() > Duration::from_secs(30) {
            break (log, text);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(log.as_array().unwrap().len(), 3, "{text}");
    assert!(
        log.as_array()
            .unwrap()
            .iter()
            .all(|m| m["status"] == "SENT"),
        "{text}"
    );
    assert_eq!(
        log[2]["subject"],
        "Administrator newrao created for University of Camford"
    );
    let (status, _, text) = send(scm(http.get(api("/log?size=0")), NEW_PASSWORD)).await;
    assert_eq!(status, 400);
    assert_eq!(
        parsed(&text)["description"],
        "size '0' is not a number from 1 to 1000"
    );

    // Templates: refused with the problem named, then saved, shown, and reset.
    let template = |subject: &str| json!({"subject": subject, "text": "{{ login }} joined {{ organization }}.\n"});
    let (status, _, text) = send(
        scm(http.put(api("/template/admin.created")), NEW_PASSWORD)
            .json(&template("New: {{ logn }}")),
    )
    .await;
    assert_eq!(status, 400, "{text}");
    assert!(
        parsed(&text)["description"]
            .as_str()
            .unwrap()
            .starts_with("invalid template: the subject of the 'admin.created' template: "),
        "{text}"
    );
    let (status, _, text) = send(
        scm(http.put(api("/template/admin.created")), NEW_PASSWORD)
            .json(&template("New: {{ login }}")),
    )
    .await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(parsed(&text)["preview"]["subject"], "New: jbloggs");
    let (_, _, text) = send(scm(http.get(api("/template/admin.created")), NEW_PASSWORD)).await;
    let shown = parsed(&text);
    assert_eq!(shown["custom"], true);
    assert_eq!(shown["subject"], "New: {{ login }}");
    assert!(
        shown["variables"]
            .as_array()
            .unwrap()
            .contains(&json!("login"))
    );
    let (status, _, _) = send(scm(
        http.delete(api("/template/admin.created")),
        NEW_PASSWORD,
    ))
    .await;
    assert_eq!(status, 204);
    let (_, _, text) = send(scm(http.get(api("/template")), NEW_PASSWORD)).await;
    assert!(
        parsed(&text)
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["custom"] == false),
        "{text}"
    );
    let (status, _, text) = send(scm(http.get(api("/template/no.such")), NEW_PASSWORD)).await;
    assert_eq!(status, 404, "{text}");

    // Deleted.
    let (status, _, _) = send(scm(http.delete(api(&format!("/{id}"))), NEW_PASSWORD)).await;
    assert_eq!(status, 204);
    let (status, _, text) = send(scm(http.get(api(&format!("/{id}"))), NEW_PASSWORD)).await;
    assert_eq!(status, 404);
    assert_eq!(
        parsed(&text)["description"],
        format!("no notification rule {id}")
    );
}
