//! ACME orders on a server in challenge mode: authorizations pending until a challenge
//! passes (http-01 against a real web server on loopback, dns-01 against the test DNS),
//! failures with the VA's words, reuse of a proven name, a check cut short and taken up
//! again, `replaces` honoured once, the rate limits (renewals exempt) and open
//! registration; and on a pre-validated server, CAA checked at finalize rather than at
//! new-order.

use crate::domains::{World, world};
use crate::support::*;
use castellan_model::CertificateType::Ssl;
use castellan_model::KeyType;
use castellan_ra::acme_accounts::{AcmeSettings, AuthorizationMode, default_servers};
use castellan_ra::clock::Clock;
use castellan_ra::organizations::OrganizationPatch;
use castellan_ra::{Authority, RaError};
use castellan_store::AcmeRegistration;
use castellan_va::challenge::{dns_01_value, key_authorization};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

const SERVER: &str = "ovc";
/// The name of the ACME server at [`SERVER`].
const CHALLENGES: &str = "OV ACME Server (challenges)";

/// The default servers plus one in challenge mode at `/acme/ovc/`, with small rate limits.
fn settings(open_account: &str) -> AcmeSettings {
    let mut servers = default_servers();
    let mut challenges = servers[0].clone();
    challenges.name = CHALLENGES.into();
    challenges.path = SERVER.into();
    challenges.authorization = AuthorizationMode::Challenges;
    challenges.open_registration_account = open_account.into();
    servers.push(challenges);
    AcmeSettings {
        servers,
        challenge_attempts: 2,
        challenge_retry_seconds: 0,
        orders_per_account_per_hour: 5,
        orders_per_domain_per_week: 7,
        ..AcmeSettings::default()
    }
}

/// A web server answering `/.well-known/acme-challenge/<token>` from `files`; its port.
async fn challenge_server(files: Arc<Mutex<HashMap<String, String>>>) -> u16 {
    use axum::extract::Path;
    let app = axum::Router::new().route(
        "/.well-known/acme-challenge/{token}",
        axum::routing::get(move |Path(token): Path<String>| {
            let body = files.lock().unwrap().get(&token).cloned();
            async move {
                match body {
                    Some(body) => (axum::http::StatusCode::OK, body),
                    None => (
                        axum::http::StatusCode::NOT_FOUND,
                        "no such token".to_owned(),
                    ),
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    port
}

/// Camford validated, and `*.camford.ac.uk` delegated to it for SSL but with no DCV.
async fn camford(a: &Authority) -> World {
    let w = world(a).await;
    a.update_organization(
        &w.mrao,
        w.camford,
        OrganizationPatch {
            validated: Some(true),
            city: Some("Camford".into()),
            ..OrganizationPatch::default()
        },
    )
    .await
    .unwrap();
    a.create_domain(
        &w.mrao,
        "*.camford.ac.uk",
        "",
        &[(w.camford, vec![Ssl])],
        true,
    )
    .await
    .unwrap();
    w
}

/// An ACME account of Camford on ACME server `server` (its name) with `*.camford.ac.uk`,
/// and a registration with `thumbprint`; with the account's key id.
async fn account(
    a: &Authority,
    w: &World,
    server: &str,
    name: &str,
    thumbprint: &str,
) -> (AcmeRegistration, String) {
    let (id, credentials) = a
        .create_acme_account(&w.rao, name, server, w.camford)
        .await
        .unwrap();
    a.add_acme_domains(&w.rao, id, &["*.camford.ac.uk".to_owned()])
        .await
        .unwrap();
    let record = a.store().acme_account(id).await.unwrap().unwrap();
    let registration = a
        .acme_register(&record, "{\"kty\":\"test\"}", thumbprint, &[])
        .await
        .unwrap();
    (registration, credentials.mac_id.clone())
}

fn dns(name: &str) -> Vec<(String, String)> {
    vec![("dns".to_owned(), name.to_owned())]
}

fn refusal<T: std::fmt::Debug>(r: castellan_ra::Result<T>) -> RaError {
    match r {
        Err(e) => e,
        Ok(v) => panic!("expected a refusal, got {v:?}"),
    }
}

/// The ARI identifier of a certificate: base64url(AKI) "." base64url(serial).
fn ari_id(der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let info = castellan_pki::inspect::inspect(der).unwrap();
    format!(
        "{}.{}",
        b64(&info.authority_key_id.unwrap()),
        b64(info.serial.as_bytes())
    )
}

on_both!(
    challenges_authorise_names_then_the_order_issues,
    |fx: Fixture| async move {
        let files = Arc::new(Mutex::new(HashMap::new()));
        let port = challenge_server(files.clone()).await;
        let a = fx
            .authority
            .with_validation(castellan_ra::dcv::ValidationSettings {
                http_port: port,
                ..validation(&fx.dns)
            })
            .unwrap()
            .with_acme(settings(""))
            .unwrap();
        let a = Arc::new(a);
        let w = camford(&a).await;
        let (reg, _) = account(&a, &w, CHALLENGES, "web servers", "thumb-1").await;
        for host in ["www.camford.ac.uk", "vpn.camford.ac.uk"] {
            fx.dns.add_a(host, std::net::Ipv4Addr::LOCALHOST).await;
        }
        assert_eq!(a.acme_open_account(SERVER).await.unwrap(), None);

        // www by http-01: pending, three challenge types offered, one token.
        let www = a
            .acme_new_order(&reg, SERVER, &dns("www.camford.ac.uk"), None, None)
            .await
            .unwrap();
        assert_eq!(www.status, "pending");
        let (_, authz) = a.acme_authorization(&reg, www.id, 0).await.unwrap();
        assert_eq!((authz.status.as_str(), authz.token.len()), ("pending", 43));
        assert_eq!(
            a.acme_challenge_types(SERVER, &authz),
            ["http-01", "dns-01", "tls-alpn-01"]
        );
        files.lock().unwrap().insert(
            authz.token.clone(),
            key_authorization(&authz.token, "thumb-1"),
        );
        // Finalizing before the names are proven is refused.
        let early = refusal(
            a.acme_finalize(
                &reg,
                www.id,
                &csr(KeyType::EcP256, "www.camford.ac.uk", &[]),
                &|_| false,
            )
            .await,
        );
        assert_eq!(early.to_string(), "the order is pending, not ready");
        // Nor is there a certificate to download yet.
        assert_eq!(
            refusal(a.acme_certificate_chain(&reg, www.id).await).to_string(),
            format!(
                "order {} is pending, it has no certificate yet; poll the order until it is \
                 valid, then download the certificate",
                www.id
            )
        );
        // A type not offered is refused; answering twice starts one check.
        let wrong = refusal(
            a.acme_answer_challenge(&reg, SERVER, www.id, 0, "http-02")
                .await,
        );
        assert_eq!(
            wrong.to_string(),
            "this authorization offers no http-02 challenge (offered: http-01, dns-01, \
             tls-alpn-01)"
        );
        let (_, started) = a
            .acme_answer_challenge(&reg, SERVER, www.id, 0, "http-01")
            .await
            .unwrap();
        assert!(started);
        let (answered, again) = a
            .acme_answer_challenge(&reg, SERVER, www.id, 0, "http-01")
            .await
            .unwrap();
        assert!(!again);
        assert_eq!(answered.challenge, "http-01");
        a.acme_check_challenge(www.id, 0).await.unwrap();
        let (order, authz) = a.acme_authorization(&reg, www.id, 0).await.unwrap();
        assert_eq!(
            (order.status.as_str(), authz.status.as_str()),
            ("ready", "valid")
        );
        let issued = a
            .acme_finalize(
                &reg,
                www.id,
                &csr(KeyType::EcP256, "www.camford.ac.uk", &[]),
                &|_| false,
            )
            .await
            .unwrap();
        assert_eq!(issued.status, "valid", "{issued:?}");
        let certificate = a
            .store()
            .certificate_by_id(issued.certificate_id.unwrap())
            .await
            .unwrap()
            .unwrap();
        // The download: the leaf first, then the issuing CA; another ACME account's
        // registration is told there is no such order of its own.
        let chain = a.acme_certificate_chain(&reg, www.id).await.unwrap();
        assert!(
            chain.starts_with(&castellan_pki::encode::pem_encode(
                "CERTIFICATE",
                &certificate.certificate.der
            )),
            "{chain}"
        );
        assert_eq!(chain.matches("-----BEGIN CERTIFICATE-----").count(), 2);
        let (other, _) = account(&a, &w, CHALLENGES, "mail servers", "thumb-9").await;
        assert_eq!(
            refusal(a.acme_certificate_chain(&other, www.id).await).to_string(),
            format!("no order {} of this account", www.id)
        );

        // mail by dns-01, checked after a restart cut the first check short.
        let mail = a
            .acme_new_order(&reg, SERVER, &dns("mail.camford.ac.uk"), None, None)
            .await
            .unwrap();
        let (_, authz) = a.acme_authorization(&reg, mail.id, 0).await.unwrap();
        fx.dns
            .add_txt(
                "_acme-challenge.mail.camford.ac.uk",
                &dns_01_value(&key_authorization(&authz.token, "thumb-1")),
            )
            .await;
        a.acme_answer_challenge(&reg, SERVER, mail.id, 0, "dns-01")
            .await
            .unwrap();
        assert_eq!(a.acme_resume_checks().await.unwrap(), 0, "not stalled yet");
        let later = fx.clock.now() + time::Duration::seconds(121);
        fx.clock.set(later);
        assert_eq!(a.acme_resume_checks().await.unwrap(), 1);
        let (order, authz) = a.acme_authorization(&reg, mail.id, 0).await.unwrap();
        assert_eq!(
            (order.status.as_str(), authz.status.as_str()),
            ("ready", "valid")
        );

        // vpn by http-01 with the wrong content: invalid, the order too, with the reason.
        let vpn = a
            .acme_new_order(&reg, SERVER, &dns("vpn.camford.ac.uk"), None, None)
            .await
            .unwrap();
        let (_, authz) = a.acme_authorization(&reg, vpn.id, 0).await.unwrap();
        files
            .lock()
            .unwrap()
            .insert(authz.token.clone(), "someone else's".into());
        a.acme_answer_challenge(&reg, SERVER, vpn.id, 0, "http-01")
            .await
            .unwrap();
        a.acme_check_challenge(vpn.id, 0).await.unwrap();
        let (order, authz) = a.acme_authorization(&reg, vpn.id, 0).await.unwrap();
        let expected = format!(
            "http://vpn.camford.ac.uk:{port}/.well-known/acme-challenge/{} does not hold the \
             key authorization: expected \"{}.thumb-1\", found \"someone else's\"",
            authz.token, authz.token
        );
        assert_eq!(authz.status, "invalid");
        assert_eq!(authz.error, expected);
        assert_eq!(order.status, "invalid");
        assert_eq!(order.error, format!("vpn.camford.ac.uk: {expected}"));

        // www again: proven by the earlier challenge, so ready at once.
        let again = a
            .acme_new_order(&reg, SERVER, &dns("www.camford.ac.uk"), None, None)
            .await
            .unwrap();
        assert_eq!(again.status, "ready");
        let (_, authz) = a.acme_authorization(&reg, again.id, 0).await.unwrap();
        assert!(a.acme_challenge_types(SERVER, &authz).is_empty());
        assert_eq!(
            (authz.status.as_str(), authz.challenge.as_str()),
            ("valid", "http-01"),
            "it shows the challenge that proved it"
        );

        // replaces: honoured once, then alreadyReplaced.
        let cert_id = ari_id(&certificate.certificate.der);
        let renewal = a
            .acme_new_order(
                &reg,
                SERVER,
                &dns("www.camford.ac.uk"),
                None,
                Some(&cert_id),
            )
            .await
            .unwrap();
        assert_eq!(renewal.replaces, Some(certificate.id));
        match refusal(
            a.acme_new_order(
                &reg,
                SERVER,
                &dns("www.camford.ac.uk"),
                None,
                Some(&cert_id),
            )
            .await,
        ) {
            RaError::Acme { kind, detail } => {
                assert_eq!(kind, "alreadyReplaced");
                assert_eq!(
                    detail,
                    format!(
                        "order {} already replaces this certificate; finalize that order, or \
                         leave out replaces",
                        renewal.id
                    )
                );
            }
            other => panic!("{other:?}"),
        }

        // Rate limits: four new orders so far (the renewal is not counted); the fifth is
        // taken, the sixth is not, with Retry-After when the oldest leaves the hour.
        let fifth = a
            .acme_new_order(&reg, SERVER, &dns("ftp.camford.ac.uk"), None, None)
            .await
            .unwrap();
        assert_eq!(fifth.status, "pending");
        // The client gives the authorization up: the order is invalid; twice is refused.
        let given_up = a
            .acme_deactivate_authorization(&reg, fifth.id, 0)
            .await
            .unwrap();
        assert_eq!(given_up.status, "deactivated");
        let (order, _) = a.acme_authorization(&reg, fifth.id, 0).await.unwrap();
        assert_eq!(
            (order.status.as_str(), order.error.as_str()),
            (
                "invalid",
                "ftp.camford.ac.uk: the client deactivated its authorization"
            )
        );
        assert_eq!(
            refusal(a.acme_deactivate_authorization(&reg, fifth.id, 0).await).to_string(),
            "the authorization is deactivated; only a pending or valid one can be deactivated"
        );
        match refusal(
            a.acme_new_order(&reg, SERVER, &dns("ftp.camford.ac.uk"), None, None)
                .await,
        ) {
            RaError::AcmeRateLimited {
                detail,
                retry_after,
            } => {
                assert_eq!(
                    detail,
                    "this ACME account placed 5 new orders in the last hour, the limit is 5; \
                     renewals (orders with 'replaces', or for the names of a certificate the \
                     account holds) are not limited"
                );
                assert_eq!(
                    retry_after,
                    3600 - 121,
                    "the first order was placed 121 s ago"
                );
            }
            other => panic!("{other:?}"),
        }
        // The names of a certificate the account holds: a renewal, even without replaces.
        a.acme_new_order(&reg, SERVER, &dns("www.camford.ac.uk"), None, None)
            .await
            .unwrap();

        // Another account of the same organisation: the seventh order under the domain is
        // taken, the eighth is not.
        let (other, mac_id) = account(&a, &w, CHALLENGES, "mail servers", "thumb-2").await;
        let smtp = a
            .acme_new_order(&other, SERVER, &dns("smtp.camford.ac.uk"), None, None)
            .await
            .unwrap();
        match refusal(
            a.acme_new_order(&other, SERVER, &dns("imap.camford.ac.uk"), None, None)
                .await,
        ) {
            RaError::AcmeRateLimited { detail, .. } => assert_eq!(
                detail,
                "7 new orders named names under *.camford.ac.uk in the last week, the limit \
                 is 7; renewals (orders with 'replaces', or for the names of a certificate the \
                 account holds) are not limited"
            ),
            other => panic!("{other:?}"),
        }
        // Deactivating the account cancels its unfinished orders (RFC 8555 §7.3.6).
        let smtp = a.store().acme_order(smtp.id).await.unwrap().unwrap();
        assert_eq!(smtp.status, "pending");
        a.acme_update_registration(&other, None, true)
            .await
            .unwrap();
        let smtp = a.store().acme_order(smtp.id).await.unwrap().unwrap();
        assert_eq!(
            (smtp.status.as_str(), smtp.error.as_str()),
            ("invalid", "the account was deactivated")
        );

        // Open registration binds to the configured account of this server only.
        let open = Arc::try_unwrap(a)
            .unwrap()
            .with_acme(settings(&mac_id))
            .unwrap();
        let bound = open.acme_open_account(SERVER).await.unwrap().unwrap();
        assert_eq!(bound.account.name, "mail servers");
        assert_eq!(open.acme_open_account("ov").await.unwrap(), None);
    }
);

on_both!(
    a_pre_validated_order_is_ready_and_its_names_and_caa_are_checked_at_finalize,
    |fx: Fixture| async move {
        let a = fx.authority.with_acme(settings("")).unwrap();
        let w = camford(&a).await;
        crate::domains::validated(&a, "camford.ac.uk", fx.clock.now().unix_timestamp()).await;
        let (reg, _) = account(&a, &w, "OV ACME Server", "web servers", "thumb-1").await;
        // A CAA record for another CA: the order is still ready (its names are delegated
        // and validated), and finalize refuses the certificate with the caa problem type.
        fx.dns
            .add_caa("camford.ac.uk", 0, "issue", "letsencrypt.org")
            .await;
        let order = a
            .acme_new_order(&reg, "ov", &dns("www.camford.ac.uk"), None, None)
            .await
            .unwrap();
        assert_eq!(order.status, "ready");
        let www = || csr(KeyType::EcP256, "www.camford.ac.uk", &[]);
        match refusal(a.acme_finalize(&reg, order.id, &www(), &|_| false).await) {
            RaError::Acme { kind, detail } => assert_eq!(
                (kind, detail.as_str()),
                (
                    "caa",
                    "You cannot order certificates for the following or additional domains: \
                     www.camford.ac.uk. www.camford.ac.uk: CAA record at camford.ac.uk (0 issue \
                     \"letsencrypt.org\") does not allow castellan.test to issue; add: \
                     camford.ac.uk. CAA 0 issue \"castellan.test\""
                )
            ),
            other => panic!("{other:?}"),
        }
        let refused = a.acme_order(&reg, order.id).await.unwrap();
        assert_eq!(refused.status, "invalid");
        assert!(
            refused.error.contains("CAA record at camford.ac.uk"),
            "{refused:?}"
        );
        // Castellan added to the record: the next order issues.
        fx.dns
            .add_caa("camford.ac.uk", 0, "issue", "castellan.test")
            .await;
        let order = a
            .acme_new_order(&reg, "ov", &dns("www.camford.ac.uk"), None, None)
            .await
            .unwrap();
        let issued = a
            .acme_finalize(&reg, order.id, &www(), &|_| false)
            .await
            .unwrap();
        assert_eq!(issued.status, "valid", "{issued:?}");
        // The DCV lapses between new-order and finalize: the name is refused as an
        // identifier, not as a CSR.
        let order = a
            .acme_new_order(&reg, "ov", &dns("www.camford.ac.uk"), None, None)
            .await
            .unwrap();
        let now = fx.clock.now().unix_timestamp();
        crate::domains::validated(&a, "camford.ac.uk", now - 366 * 86_400).await;
        match refusal(a.acme_finalize(&reg, order.id, &www(), &|_| false).await) {
            RaError::Acme { kind, detail } => assert_eq!(
                (kind, detail.as_str()),
                (
                    "rejectedIdentifier",
                    "You cannot order certificates for the following or additional domains: \
                     www.camford.ac.uk. www.camford.ac.uk: control of camford.ac.uk is no \
                     longer validated (the DCV expired); validate it under Domains (DCV)"
                )
            ),
            other => panic!("{other:?}"),
        }
    }
);
