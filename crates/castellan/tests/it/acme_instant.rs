//! instant-acme, the Rust ACME client, against a server in challenge mode, at the protocol's
//! edges: External Account Binding (required, refused with a wrong key, then accepted),
//! dns-01 answered through the test DNS, key rollover (RFC 8555 §7.3.5), authorization
//! deactivation (§7.5.2), ARI (RFC 9773) before and after revocation (§7.6), `replaces`
//! (RFC 9773 §5) and account deactivation (§7.3.6), one test each on a server of its own.
//! Every refusal is checked by its problem type and detail and by the HTTP status the server
//! sent, which the client's HTTP hook keeps (`castellan_testkit::acme_client::Transcript`).

use crate::acme_challenges::{SERVERS, challenge_account};
use crate::scm_client::CUSTOMER_URI;
use crate::support::{Server, Workspace, ok};
use base64::Engine as _;
use castellan_testkit::acme_client::{AcmeHttp, Transcript};
use castellan_testkit::dns::TestDns;
use castellan_testkit::smtp::free_port;
use instant_acme::{
    Account, AccountBuilder, AccountCredentials, AuthorizationStatus, CertificateIdentifier,
    ChallengeStatus, ChallengeType, Error, ExternalAccountKey, Identifier, Key, NewAccount,
    NewOrder, Order, OrderStatus, Problem, RetryPolicy, RevocationReason, RevocationRequest,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::sync::Arc;
use std::time::Duration;
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

const ERROR: &str = "urn:ietf:params:acme:error:";

const NEW_ACCOUNT: NewAccount<'static> = NewAccount {
    contact: &["mailto:it@camford.ac.uk"],
    terms_of_service_agreed: true,
    only_return_existing: false,
};

/// instant-acme over the shared reqwest client, with the transcript of every answer.
struct Client {
    http: AcmeHttp,
    transcript: Arc<Transcript>,
    directory: String,
}

impl Client {
    fn builder(&self) -> AccountBuilder {
        Account::builder_with_http(Box::new(self.http.clone()))
    }

    /// The account of an existing key (newAccount with onlyReturnExisting).
    async fn with_key(&self, key: &PrivatePkcs8KeyDer<'_>) -> Result<Account, Error> {
        let pair = (
            Key::from_pkcs8_der(key.clone_key()).unwrap(),
            PrivateKeyDer::Pkcs8(key.clone_key()),
        );
        let (account, _) = self
            .builder()
            .from_key(pair, self.directory.clone())
            .await?;
        Ok(account)
    }

    /// Asserts that `result` is the server's refusal of type `kind`, with `status` both in
    /// the problem document and on the wire; returns the problem.
    fn refused<T>(&self, result: Result<T, Error>, kind: &str, status: u16) -> Problem {
        let last = self.transcript.last();
        let problem = match result {
            Err(Error::Api(problem)) => problem,
            Err(other) => panic!("expected {kind}, got {other}\nlast answer: {last:?}"),
            Ok(_) => panic!("expected {kind}, the server accepted\nlast answer: {last:?}"),
        };
        assert_eq!(
            (problem.r#type.as_deref(), problem.status),
            (Some(format!("{ERROR}{kind}").as_str()), Some(status)),
            "{problem:?}"
        );
        let last = last.unwrap();
        assert_eq!(last.status, status, "{last:?}");
        problem
    }
}

fn dns_id(name: &str) -> Identifier {
    Identifier::Dns(name.to_owned())
}

fn polling() -> RetryPolicy {
    RetryPolicy::new()
        .initial_delay(Duration::from_millis(200))
        .backoff(1.5)
        .timeout(Duration::from_secs(30))
}

/// Answers every pending authorization of `order` with dns-01, the TXT record written straight
/// into the test DNS, and waits for the order to be ready. Returns the names it proved.
async fn prove(order: &mut Order, dns: &TestDns) -> Vec<String> {
    let mut proved = Vec::new();
    {
        let mut authorizations = order.authorizations();
        while let Some(authorization) = authorizations.next().await {
            let mut authorization = authorization.unwrap();
            match authorization.status {
                AuthorizationStatus::Valid => continue,
                AuthorizationStatus::Pending => {}
                other => panic!("authorization {} is {other:?}", authorization.url()),
            }
            let name = authorization.identifier().to_string();
            let mut offered: Vec<String> = authorization
                .challenges
                .iter()
                .map(|c| format!("{:?}", c.r#type))
                .collect();
            offered.sort();
            assert_eq!(offered, ["Dns01", "Http01", "TlsAlpn01"], "{name}");
            let mut challenge = authorization
                .challenge(ChallengeType::Dns01)
                .expect("a dns-01 challenge");
            dns.add_txt(
                &format!("_acme-challenge.{name}"),
                &challenge.key_authorization().dns_value(),
            )
            .await;
            challenge.set_ready().await.unwrap();
            proved.push(name);
        }
    }
    assert_eq!(
        order.poll_ready(&polling()).await.unwrap(),
        OrderStatus::Ready
    );
    proved
}

/// Finalizes a ready order with a fresh P-256 key's CSR for `name` and downloads the chain:
/// the DER of each certificate, leaf first. The leaf names exactly `name` and is signed by
/// the next certificate.
async fn finalize(order: &mut Order, name: &str) -> Vec<Vec<u8>> {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::new(vec![name.to_owned()]).unwrap();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    let csr = params.serialize_request(&key).unwrap();
    order.finalize_csr(csr.der()).await.unwrap();
    let pem = order.poll_certificate(&polling()).await.unwrap();
    assert_eq!(order.state().status, OrderStatus::Valid);
    let chain: Vec<Vec<u8>> = x509_parser::pem::Pem::iter_from_buffer(pem.as_bytes())
        .map(|p| p.unwrap())
        .inspect(|p| assert_eq!(p.label, "CERTIFICATE"))
        .map(|p| p.contents)
        .collect();
    assert!(chain.len() >= 2, "the leaf and its issuing CA: {pem}");
    let (leaf, issuer) = (parse(&chain[0]), parse(&chain[1]));
    let names: Vec<String> = leaf
        .subject_alternative_name()
        .unwrap()
        .unwrap()
        .value
        .general_names
        .iter()
        .map(|n| match n {
            GeneralName::DNSName(d) => (*d).to_owned(),
            other => panic!("a SAN that is not a DNS name: {other:?}"),
        })
        .collect();
    assert_eq!(names, [name]);
    assert_eq!(leaf.issuer(), issuer.subject());
    leaf.verify_signature(Some(issuer.public_key())).unwrap();
    chain
}

fn parse(der: &[u8]) -> X509Certificate<'_> {
    X509Certificate::from_der(der).unwrap().1
}

/// The last path segment of a URL (an order's number).
fn last_segment(url: &str) -> &str {
    url.rsplit('/').next().unwrap()
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A running server with the challenge server, `*.camford.ac.uk` delegated to the
/// organisation (no DCV: only challenges prove names), an ACME account for it with its
/// External Account Binding credentials, the test DNS the server resolves with, and the
/// client.
struct Camford {
    server: Server,
    dns: TestDns,
    base: String,
    client: Client,
    mac_id: String,
    mac_key: Vec<u8>,
    _ws: Workspace,
}

impl Camford {
    async fn start() -> Camford {
        Camford::start_with(&[]).await
    }

    /// [`Camford::start`] with more environment for the server.
    async fn start_with(extra: &[(&str, &str)]) -> Camford {
        let ws = Workspace::new();
        ok(ws.init("data", &["--customer-uri", CUSTOMER_URI]));
        let config_file = ws.path("data").join("castellan.toml");
        let config = std::fs::read_to_string(&config_file).unwrap();
        assert!(config.contains("\nservers = []\n"), "{config}");
        std::fs::write(
            &config_file,
            config.replace("\nservers = []\n", &format!("\n{SERVERS}\n")),
        )
        .unwrap();
        let dns = TestDns::start().await;
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let dns_servers = dns.addr().to_string();
        let env = [
            ("CASTELLAN_BASE_URL", base.as_str()),
            ("CASTELLAN_DNS_SERVERS", dns_servers.as_str()),
            (
                "CASTELLAN_VALIDATION__CAA_IDENTITIES",
                "[\"castellan.test\"]",
            ),
            ("CASTELLAN_ACME__CHALLENGE_RETRY_SECONDS", "1"),
        ];
        let env: Vec<(&str, &str)> = env.iter().chain(extra).copied().collect();
        let server = Server::start(
            &ws.path("data"),
            &["--http", "--listen", &format!("127.0.0.1:{port}")],
            &env,
        );

        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let account = challenge_account(&http, &base, &server, "instant-acme").await;
        let directory = account.directory.clone();
        let transcript = Arc::new(Transcript::default());
        Camford {
            server,
            dns,
            client: Client {
                http: AcmeHttp::new(None)
                    .unwrap()
                    .with_observer(transcript.clone()),
                transcript,
                directory,
            },
            mac_id: account.mac_id,
            mac_key: base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(&account.mac_key)
                .unwrap(),
            base,
            _ws: ws,
        }
    }

    /// The ACME account's External Account Binding (the `macId`, `macKey` pair).
    fn eab(&self) -> ExternalAccountKey {
        ExternalAccountKey::new(self.mac_id.clone(), &self.mac_key)
    }

    /// A new registration (a fresh key) bound with the ACME account's credentials.
    async fn register(&self) -> (Account, AccountCredentials) {
        let (account, credentials) = self
            .client
            .builder()
            .create(
                &NEW_ACCOUNT,
                self.client.directory.clone(),
                Some(&self.eab()),
            )
            .await
            .unwrap_or_else(|e| panic!("{e}\n{}", self.server.log()));
        let last = self.client.transcript.last().unwrap();
        assert_eq!(
            (last.method.as_str(), last.status),
            ("POST", 201),
            "{last:?}"
        );
        assert!(
            account.id().starts_with(&self.url("acct/")),
            "{}",
            account.id()
        );
        (account, credentials)
    }

    /// `name` by dns-01 for `account`: the chain, leaf first.
    async fn issue(&self, account: &Account, name: &str) -> Vec<Vec<u8>> {
        let mut order = account
            .new_order(&NewOrder::new(&[dns_id(name)]))
            .await
            .unwrap();
        assert_eq!(order.state().status, OrderStatus::Pending);
        assert_eq!(prove(&mut order, &self.dns).await, [name]);
        finalize(&mut order, name).await
    }

    /// The URL of `rest` on the challenge server.
    fn url(&self, rest: &str) -> String {
        format!("{}/acme/ovc/{rest}", self.base)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instant_acme_registers_with_eab_and_rolls_its_key_over() {
    let camford = Camford::start().await;
    let (client, directory) = (&camford.client, &camford.client.directory);

    // External Account Binding: required, checked, then accepted.
    let problem = client.refused(
        client
            .builder()
            .create(&NEW_ACCOUNT, directory.clone(), None)
            .await,
        "externalAccountRequired",
        400,
    );
    assert!(
        problem
            .detail
            .unwrap()
            .starts_with("this server needs an external account binding"),
    );
    let wrong = ExternalAccountKey::new(camford.mac_id.clone(), b"not the MAC key of this key id");
    let problem = client.refused(
        client
            .builder()
            .create(&NEW_ACCOUNT, directory.clone(), Some(&wrong))
            .await,
        "unauthorized",
        403,
    );
    assert_eq!(
        problem.detail.as_deref(),
        Some("the external account binding's MAC does not verify with that key id's MAC key")
    );
    let (mut account, credentials) = camford.register().await;
    let mut profiles: Vec<&str> = account.profiles().map(|p| p.name).collect();
    profiles.sort_unstable();
    assert_eq!(profiles, ["OV Multi-Domain SSL", "Wildcard SSL"]);

    // www by dns-01: pending, the three challenge types offered, ready once proven.
    let www = [dns_id("www.camford.ac.uk")];
    let mut order = account.new_order(&NewOrder::new(&www)).await.unwrap();
    assert_eq!(order.state().status, OrderStatus::Pending);
    assert_eq!(
        order.state().profile.as_deref(),
        Some("OV Multi-Domain SSL")
    );
    assert_eq!(prove(&mut order, &camford.dns).await, ["www.camford.ac.uk"]);
    // The answer to the challenge: processing, poll in a second, the authorization "up".
    let answered = client
        .transcript
        .answers()
        .into_iter()
        .find(|e| e.url.contains("/chall/"))
        .expect("the challenge was answered");
    let body: serde_json::Value = serde_json::from_str(&answered.body).unwrap();
    assert_eq!(body["status"], "processing", "{body}");
    assert_eq!(answered.header("retry-after"), ["1"]);
    let authz = answered.url.replace("/chall/", "/authz/");
    let authz = authz.trim_end_matches("/dns-01");
    assert!(
        answered
            .header("link")
            .contains(&format!("<{authz}>;rel=\"up\"").as_str()),
        "{:?}",
        answered.headers
    );
    let first = finalize(&mut order, "www.camford.ac.uk").await;

    // Key rollover: the old key signs nothing any more and finds no account; the new key's
    // credentials are the same account, which orders on (www is proven for the account).
    let old_key = credentials.private_key().clone_key();
    let before = account.clone();
    let rolled = account.update_key().await.unwrap();
    let last = client.transcript.last().unwrap();
    assert_eq!(
        (last.url.as_str(), last.status),
        (camford.url("key-change").as_str(), 200),
        "{last:?}"
    );
    let new_key = rolled.private_key().clone_key();
    assert_ne!(new_key.secret_pkcs8_der(), old_key.secret_pkcs8_der());
    let problem = client.refused(
        before.new_order(&NewOrder::new(&www)).await,
        "malformed",
        400,
    );
    assert_eq!(
        problem.detail.as_deref(),
        Some("the JWS signature does not verify")
    );
    let problem = client.refused(client.with_key(&old_key).await, "accountDoesNotExist", 400);
    assert_eq!(
        problem.detail.as_deref(),
        Some("no account is registered with this key")
    );
    assert_eq!(
        client.with_key(&new_key).await.unwrap().id(),
        account.id(),
        "the new key finds the same account"
    );
    let restored = client.builder().from_credentials(rolled).await.unwrap();
    assert_eq!(restored.id(), account.id());
    let mut order = restored.new_order(&NewOrder::new(&www)).await.unwrap();
    assert_eq!(
        order.state().status,
        OrderStatus::Ready,
        "www was proven for this account: the authorization is reused"
    );
    let second = finalize(&mut order, "www.camford.ac.uk").await;
    assert_ne!(first[0], second[0]);
    camford.server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instant_acme_deactivates_authorizations() {
    let camford = Camford::start().await;
    let (account, _) = camford.register().await;

    // A pending authorization: deactivated, the order invalid with the reason, and the
    // order cannot be finalized.
    let ftp = [dns_id("ftp.camford.ac.uk")];
    let mut order = account.new_order(&NewOrder::new(&ftp)).await.unwrap();
    assert_eq!(order.state().status, OrderStatus::Pending);
    {
        let mut authorizations = order.authorizations();
        let mut authorization = authorizations.next().await.unwrap().unwrap();
        assert_eq!(authorization.status, AuthorizationStatus::Pending);
        let state = authorization.deactivate().await.unwrap();
        assert_eq!(state.status, AuthorizationStatus::Deactivated);
        assert!(state.challenges.is_empty(), "{state:?}");
        assert!(authorizations.next().await.is_none());
    }
    let state = order.refresh().await.unwrap();
    assert_eq!(state.status, OrderStatus::Invalid);
    let error = state.error.clone().unwrap();
    assert_eq!(
        (error.r#type.as_deref(), error.detail.as_deref()),
        (
            Some(format!("{ERROR}unauthorized").as_str()),
            Some("ftp.camford.ac.uk: the client deactivated its authorization")
        )
    );
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let csr = rcgen::CertificateParams::new(vec!["ftp.camford.ac.uk".to_owned()])
        .unwrap()
        .serialize_request(&key)
        .unwrap();
    let problem = camford
        .client
        .refused(order.finalize_csr(csr.der()).await, "orderNotReady", 400);
    assert_eq!(
        problem.detail.as_deref(),
        Some("the order is invalid, not ready")
    );

    // A valid one (mail, just proven by dns-01): deactivated, its challenge still the valid
    // dns-01; the ready order becomes invalid, and the next order for mail must prove it again.
    let mail = [dns_id("mail.camford.ac.uk")];
    let mut order = account.new_order(&NewOrder::new(&mail)).await.unwrap();
    assert_eq!(
        prove(&mut order, &camford.dns).await,
        ["mail.camford.ac.uk"]
    );
    {
        let mut authorizations = order.authorizations();
        let mut authorization = authorizations.next().await.unwrap().unwrap();
        assert_eq!(authorization.status, AuthorizationStatus::Valid);
        let state = authorization.deactivate().await.unwrap_or_else(|e| {
            panic!(
                "deactivating a valid authorization: {e}\nthe server's answer: {:?}",
                camford.client.transcript.last()
            )
        });
        assert_eq!(state.status, AuthorizationStatus::Deactivated);
        let challenges: Vec<_> = state
            .challenges
            .iter()
            .map(|c| (c.r#type.clone(), c.status))
            .collect();
        assert_eq!(challenges, [(ChallengeType::Dns01, ChallengeStatus::Valid)]);
    }
    let state = order.refresh().await.unwrap();
    assert_eq!(state.status, OrderStatus::Invalid);
    assert_eq!(
        state.error.as_ref().and_then(|e| e.detail.as_deref()),
        Some("mail.camford.ac.uk: the client deactivated its authorization")
    );
    let mut order = account.new_order(&NewOrder::new(&mail)).await.unwrap();
    assert_eq!(
        order.state().status,
        OrderStatus::Pending,
        "a deactivated authorization is not reused"
    );
    let mut authorizations = order.authorizations();
    let authorization = authorizations.next().await.unwrap().unwrap();
    assert_eq!(authorization.status, AuthorizationStatus::Pending);
    camford.server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instant_acme_reads_renewal_info_before_and_after_revocation() {
    let camford = Camford::start().await;
    let client = &camford.client;
    let (account, _) = camford.register().await;
    let chain = camford.issue(&account, "www.camford.ac.uk").await;

    // The window is the last third of the certificate's life up to three quarters, asked
    // again in six hours.
    let leaf = CertificateDer::from(chain[0].clone());
    let id = CertificateIdentifier::try_from(&leaf).unwrap();
    let validity = parse(&chain[0]).validity().clone();
    let (not_before, not_after) = (
        validity.not_before.timestamp(),
        validity.not_after.timestamp(),
    );
    let life = not_after - not_before;
    let (info, ask_again) = account.renewal_info(&id).await.unwrap();
    let last = client.transcript.last().unwrap();
    assert_eq!(
        (last.method.as_str(), last.url.as_str(), last.status),
        (
            "GET",
            camford.url(&format!("renewal-info/{id}")).as_str(),
            200
        ),
    );
    let window = &info.suggested_window;
    assert_eq!(
        (window.start.unix_timestamp(), window.end.unix_timestamp()),
        (not_before + life * 2 / 3, not_before + life * 3 / 4),
        "validity {not_before}..{not_after}"
    );
    assert!(not_before < window.start.unix_timestamp() && window.end.unix_timestamp() < not_after);
    assert!(
        (21_500..=21_600).contains(&ask_again.as_secs()),
        "{ask_again:?}"
    );

    // Revocation: a reason the CA does not take, then superseded, then again.
    let problem = client.refused(
        account
            .revoke(&RevocationRequest {
                certificate: &leaf,
                reason: Some(RevocationReason::CertificateHold),
            })
            .await,
        "badRevocationReason",
        400,
    );
    assert!(
        problem
            .detail
            .unwrap()
            .starts_with("6 is not accepted; use 0 (unspecified)"),
        "certificateHold"
    );
    let revoked_from = now();
    account
        .revoke(&RevocationRequest {
            certificate: &leaf,
            reason: Some(RevocationReason::Superseded),
        })
        .await
        .unwrap();
    let revoked_by = now();
    let problem = client.refused(
        account
            .revoke(&RevocationRequest {
                certificate: &leaf,
                reason: Some(RevocationReason::Superseded),
            })
            .await,
        "alreadyRevoked",
        400,
    );
    assert_eq!(
        problem.detail.as_deref(),
        Some("the certificate is revoked already")
    );

    // Revoked: the window is the hour before the revocation, in the past.
    let (info, _) = account.renewal_info(&id).await.unwrap();
    let (start, end) = (
        info.suggested_window.start.unix_timestamp(),
        info.suggested_window.end.unix_timestamp(),
    );
    assert!(
        (revoked_from..=revoked_by).contains(&end) && end <= now(),
        "the window ends at the revocation: {start}..{end}, revoked in {revoked_from}..{revoked_by}"
    );
    assert_eq!(end - start, 3600);
    camford.server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instant_acme_renews_with_replaces_once() {
    let camford = Camford::start().await;
    let (account, _) = camford.register().await;
    let chain = camford.issue(&account, "www.camford.ac.uk").await;
    let id = CertificateIdentifier::try_from(&CertificateDer::from(chain[0].clone()))
        .unwrap()
        .into_owned();

    // A renewal naming the certificate is accepted and reflects `replaces` (instant-acme
    // checks that it does); a second renewal of it is refused with alreadyReplaced (409).
    let www = [dns_id("www.camford.ac.uk")];
    let mut renewal = account
        .new_order(&NewOrder::new(&www).replaces(id.clone()))
        .await
        .unwrap_or_else(|e| {
            panic!(
                "the renewal with replaces {id} failed: {e}\nthe server's answer: {:?}",
                camford.client.transcript.last()
            )
        });
    assert_eq!(renewal.state().replaces.as_ref(), Some(&id));
    assert_eq!(renewal.state().status, OrderStatus::Ready);
    let problem = camford.client.refused(
        account
            .new_order(&NewOrder::new(&www).replaces(id.clone()))
            .await,
        "alreadyReplaced",
        409,
    );
    assert_eq!(
        problem.detail.unwrap(),
        format!(
            "order {} already replaces this certificate; finalize that order, or leave out \
             replaces",
            last_segment(renewal.url())
        )
    );
    let renewed = finalize(&mut renewal, "www.camford.ac.uk").await;
    assert_ne!(renewed[0], chain[0]);
    camford.server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instant_acme_deactivates_its_account() {
    let camford = Camford::start().await;
    let client = &camford.client;
    let (account, credentials) = camford.register().await;
    let chain = camford.issue(&account, "www.camford.ac.uk").await;

    let kept = account.clone();
    account.deactivate().await.unwrap();
    // instant-acme does not read the answer to a deactivation: the transcript does.
    let last = client.transcript.last().unwrap();
    assert_eq!(
        (last.url.as_str(), last.status),
        (kept.id(), 200),
        "{last:?}"
    );
    let body: serde_json::Value = serde_json::from_str(&last.body).unwrap();
    assert_eq!(body["status"], "deactivated", "{body}");

    // Every request the account signs afterwards is refused.
    let www = [dns_id("www.camford.ac.uk")];
    let leaf = CertificateDer::from(chain[0].clone());
    for refusal in [
        client.refused(
            kept.new_order(&NewOrder::new(&www)).await,
            "unauthorized",
            403,
        ),
        client.refused(
            kept.update_contacts(&["mailto:web@camford.ac.uk"]).await,
            "unauthorized",
            403,
        ),
        client.refused(
            kept.revoke(&RevocationRequest {
                certificate: &leaf,
                reason: None,
            })
            .await,
            "unauthorized",
            403,
        ),
    ] {
        assert_eq!(
            refusal.detail.as_deref(),
            Some("this account is deactivated; register a new one")
        );
    }

    // The deactivated key cannot come back through newAccount either.
    let stored: serde_json::Value = serde_json::to_value(&credentials).unwrap();
    let pkcs8 = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(stored["key_pkcs8"].as_str().unwrap().trim_end_matches('='))
        .unwrap();
    let key = Key::from_pkcs8_der(PrivatePkcs8KeyDer::from(pkcs8.clone())).unwrap();
    let refusal = client.refused(
        client
            .builder()
            .from_key(
                (key, PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pkcs8))),
                client.directory.clone(),
            )
            .await,
        "unauthorized",
        403,
    );
    assert_eq!(
        refusal.detail.as_deref(),
        Some("the account of this key is deactivated; register with a new key")
    );

    // The ACME account's credentials still bind a new key, which orders on.
    let (again, _) = camford.register().await;
    assert_ne!(again.id(), kept.id());
    let mut order = again.new_order(&NewOrder::new(&www)).await.unwrap();
    assert_eq!(order.state().status, OrderStatus::Ready);
    finalize(&mut order, "www.camford.ac.uk").await;
    camford.server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instant_acme_is_told_when_to_come_back_after_a_rate_limit() {
    let camford =
        Camford::start_with(&[("CASTELLAN_ACME__ORDERS_PER_ACCOUNT_PER_HOUR", "1")]).await;
    let client = &camford.client;
    let (account, _) = camford.register().await;
    let mut order = account
        .new_order(&NewOrder::new(&[dns_id("www.camford.ac.uk")]))
        .await
        .unwrap();
    assert_eq!(order.state().status, OrderStatus::Pending);
    let problem = client.refused(
        account
            .new_order(&NewOrder::new(&[dns_id("ftp.camford.ac.uk")]))
            .await,
        "rateLimited",
        429,
    );
    assert_eq!(
        problem.detail.as_deref(),
        Some(
            "this ACME account placed 1 new orders in the last hour, the limit is 1; renewals \
             (orders with 'replaces', or for the names of a certificate the account holds) are \
             not limited"
        )
    );
    let last = client.transcript.last().unwrap();
    let seconds: i64 = last.header("retry-after")[0].parse().unwrap();
    assert!(
        (3590..=3600).contains(&seconds),
        "Retry-After {seconds}: the first order leaves the hour then"
    );
    camford.server.stop();
}
