//! `setup`: makes a freshly initialised Castellan ready for pre-validated ACME orders, through
//! its SCM REST API only (the same calls as crates/castellan/tests/it/scm_client.rs and
//! acme_clients.rs), and serves the DNS it validates against.
//!
//! 1. Starts the in-process authoritative DNS server (`castellan_testkit::dns::TestDns`) and
//!    writes its address to `--dns-addr-file`: Castellan must be started with
//!    `CASTELLAN_DNS_SERVERS` set to it (DCV and every new-order's CAA check ask it).
//! 2. Waits for `GET /health`, then: the first administrator changes the password `init`
//!    gave it; an organisation, validated; the domain `--domain` delegated to it for SSL
//!    and its DCV passed by CNAME (the record published in the DNS above); `*.<domain>`
//!    delegated (it covers `o17.w3.<domain>`); `--accounts` ACME accounts on the OV server,
//!    each with `*.<domain>` on its domain list, each registered over ACME with its External
//!    Account Binding.
//! 3. Writes the registered accounts (instant-acme credentials: key, account URL,
//!    directory) to `--out`, prints `ready`, and keeps serving DNS until SIGTERM or SIGINT.

use crate::http::Http;
use anyhow::{Context, Result, anyhow, bail, ensure};
use base64::Engine;
use instant_acme::{AccountCredentials, ExternalAccountKey};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug)]
pub struct SetupArgs {
    /// Castellan's base URL (its `base_url`), e.g. http://127.0.0.1:8443.
    #[arg(long)]
    base_url: String,
    /// The first administrator's login, as given to `castellan init --admin-login`.
    #[arg(long, default_value = "admin")]
    login: String,
    /// The file given to `castellan init --admin-password-file`.
    #[arg(long)]
    password_file: PathBuf,
    /// The customer URI given to `castellan init --customer-uri`.
    #[arg(long, default_value = "bench")]
    customer_uri: String,
    /// The domain whose names are ordered (`o<n>.w<worker>.<domain>`).
    #[arg(long, default_value = "bench.example")]
    domain: String,
    /// How many ACME accounts to register (one per concurrent worker: the highest level).
    #[arg(long, default_value_t = 64)]
    accounts: usize,
    /// Where to write the DNS server's address (ip:port), as soon as it listens.
    #[arg(long)]
    dns_addr_file: PathBuf,
    /// Where to write the registered accounts (JSON).
    #[arg(long)]
    out: PathBuf,
}

/// Writes `text` to `path` atomically (a reader polling for the file sees all or nothing).
fn write_atomic(path: &std::path::Path, text: &str) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))
}

/// An SCM REST API session with header authentication.
struct Scm {
    http: reqwest::Client,
    base: String,
    login: String,
    password: String,
    customer_uri: String,
}

impl Scm {
    /// Sends `method path` with `body`; returns the status, `Location` and JSON body (Null
    /// when empty). Any status outside `expect` is an error carrying the answer.
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        expect: &[u16],
    ) -> Result<(Option<String>, Value)> {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        };
        let mut request = self
            .http
            .request(method.clone(), &url)
            .header("login", &self.login)
            .header("password", &self.password)
            .header("customerUri", &self.customer_uri);
        if let Some(body) = &body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("{method} {url}"))?;
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .map(str::to_owned);
        let text = response
            .text()
            .await
            .with_context(|| format!("reading the answer to {method} {url}"))?;
        ensure!(
            expect.contains(&status),
            "{method} {url} -> {status}: {text}"
        );
        let value = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)
                .with_context(|| format!("{method} {url} -> {status}: not JSON: {text}"))?
        };
        Ok((location, value))
    }
}

/// The id at the end of a `Location` such as `/api/organization/v1/12`.
fn location_id(location: Option<&str>) -> Result<i64> {
    let location = location.ok_or_else(|| anyhow!("201 without a Location header"))?;
    location
        .rsplit('/')
        .next()
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| anyhow!("Location {location} does not end in an id"))
}

fn text<'a>(value: &'a Value, key: &str) -> Result<&'a str> {
    value[key]
        .as_str()
        .ok_or_else(|| anyhow!("no string '{key}' in {value}"))
}

async fn wait_for_health(http: &reqwest::Client, base: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        match http.get(format!("{base}/health")).send().await {
            Ok(r) if r.status().is_success() => return Ok(()),
            _ if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(200)).await,
            Ok(r) => bail!("{base}/health answers {}", r.status()),
            Err(e) => return Err(e).context(format!("{base}/health does not answer")),
        }
    }
}

pub async fn run(args: SetupArgs) -> Result<()> {
    let dns = castellan_testkit::dns::TestDns::start().await;
    write_atomic(&args.dns_addr_file, &dns.addr().to_string())?;
    eprintln!("acme-load setup: DNS on {}", dns.addr());

    let http = Http::new(None)?;
    let base = args.base_url.trim_end_matches('/').to_owned();
    wait_for_health(http.client(), &base).await?;
    let initial = std::fs::read_to_string(&args.password_file)
        .with_context(|| format!("reading {}", args.password_file.display()))?
        .trim_end_matches(['\r', '\n'])
        .to_owned();
    let changed = format!("{initial} (changed by the ACME benchmark)");
    let mut scm = Scm {
        http: http.client().clone(),
        base: base.clone(),
        login: args.login.clone(),
        password: initial,
        customer_uri: args.customer_uri.clone(),
    };
    use reqwest::Method;
    scm.call(
        Method::POST,
        "/api/admin/v1/changepassword",
        Some(json!({ "newPassword": changed })),
        &[200, 204],
    )
    .await
    .context("the first administrator's password change")?;
    scm.password = changed;

    let (location, _) = scm
        .call(
            Method::POST,
            "/api/organization/v1",
            Some(json!({
                "name": "Castellan Benchmark University",
                "address1": "1 High Street",
                "city": "Camford",
                "stateOrProvince": "Camfordshire",
                "postalCode": "CF1 1AA",
                "country": "GB",
                "certTypes": ["SSL"],
            })),
            &[201],
        )
        .await?;
    let org = location_id(location.as_deref())?;
    scm.call(
        Method::PUT,
        &format!("/api/organization/v1/{org}"),
        Some(json!({"validationStatus": "Validated"})),
        &[200],
    )
    .await?;
    let delegation = json!([{"orgId": org, "certTypes": ["SSL"]}]);
    scm.call(
        Method::POST,
        "/api/domain/v1",
        Some(json!({"name": args.domain, "delegations": delegation})),
        &[201],
    )
    .await?;
    let (_, started) = scm
        .call(
            Method::POST,
            "/api/dcv/v1/validation/start/domain/cname",
            Some(json!({"domain": args.domain})),
            &[200],
        )
        .await?;
    let host = text(&started, "host")?.trim_end_matches('.');
    dns.add_cname(host, text(&started, "point")?).await;
    let (_, submitted) = scm
        .call(
            Method::POST,
            "/api/dcv/v1/validation/submit/domain/cname",
            Some(json!({"domain": args.domain})),
            &[200],
        )
        .await?;
    ensure!(
        submitted["status"] == "VALIDATED",
        "the DCV of {} did not pass: {submitted}",
        args.domain
    );
    let wildcard = format!("*.{}", args.domain);
    scm.call(
        Method::POST,
        "/api/domain/v1",
        Some(json!({"name": wildcard, "delegations": delegation})),
        &[201],
    )
    .await?;
    eprintln!(
        "acme-load setup: organisation {org} validated, {} (DCV by CNAME) and {wildcard} delegated",
        args.domain
    );

    let mut credentials: Vec<AccountCredentials> = Vec::with_capacity(args.accounts);
    for i in 0..args.accounts {
        let (location, account) = scm
            .call(
                Method::POST,
                "/api/acme/v1/account",
                Some(
                    json!({"name": format!("bench worker {i}"), "acmeServer": "OV ACME Server",
                            "organizationId": org, "evDetails": {}}),
                ),
                &[201],
            )
            .await?;
        let location = location.ok_or_else(|| anyhow!("201 without Location: {account}"))?;
        let (_, added) = scm
            .call(
                Method::POST,
                &format!("{location}/domains"),
                Some(json!({"domains": [{"name": wildcard}]})),
                &[200],
            )
            .await?;
        ensure!(
            added == json!({}),
            "{wildcard} not added to ACME account {i}: {added}"
        );
        let mac_key = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text(&account, "macKey")?)
            .context("macKey is not base64url")?;
        let eab = ExternalAccountKey::new(text(&account, "macId")?.to_owned(), &mac_key);
        let directory = text(&account, "acmeServerUrl")?.to_owned();
        let (_, registered) = crate::load::register(&http, &directory, Some(&eab))
            .await
            .with_context(|| format!("registering ACME account {i} at {directory}"))?;
        credentials.push(registered);
    }
    write_atomic(
        &args.out,
        &serde_json::to_string(&credentials).context("serialising the accounts")?,
    )?;
    eprintln!(
        "acme-load setup: {} ACME accounts registered with External Account Binding; serving DNS until stopped",
        credentials.len()
    );
    println!("ready");

    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    tokio::select! {
        _ = term.recv() => {}
        r = tokio::signal::ctrl_c() => r.context("waiting for SIGINT")?,
    }
    drop(dns);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_come_from_the_end_of_a_location() {
        assert_eq!(location_id(Some("/api/organization/v1/12")).unwrap(), 12);
        assert!(location_id(Some("/api/organization/v1/")).is_err());
        assert!(location_id(None).is_err());
    }
}
