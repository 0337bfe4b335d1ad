//! `castellan serve`: run the service, creating the data directory on first start.

use super::init::{initialise, print_report, random_password};
use crate::cli::ServeArgs;
use crate::config::{self, Config};
use crate::datadir::{self, DirState};
use anyhow::{Result, bail};
use castellan_pki::rand::SystemRng;
use castellan_ra::setup::FirstAdmin;
use castellan_web::{Listener, TlsMaterial};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;

/// The first start: a data directory with defaults (plus `CASTELLAN_*` settings), customer
/// URI `castellan`, administrator `admin` with a random password printed once.
async fn first_start(dir: &Path, args: &ServeArgs) -> Result<()> {
    let mut config: Config = config::load(None)?;
    if let Some(url) = &args.database_url {
        config.database_url = url.clone();
    }
    if let Some(listen) = &args.listen {
        config.listen = listen.clone();
        let port = listen.rsplit_once(':').map(|(_, p)| p).unwrap_or("8443");
        if std::env::var_os("CASTELLAN_BASE_URL").is_none() && port != "0" {
            let scheme = if args.http { "http" } else { "https" };
            config.base_url = format!("{scheme}://localhost:{port}");
        }
    }
    super::init_logging(&config.log);
    println!("First start: creating {} ...", dir.display());
    let password = random_password(&SystemRng)?;
    let admin = FirstAdmin {
        login: "admin".into(),
        email: format!(
            "admin@{}",
            config.base_host().unwrap_or_else(|| "localhost".into())
        ),
        password: password.clone(),
    };
    let report = initialise(dir, &config, admin, true).await?;
    print_report(dir, &config, &report);
    println!(
        "Initial password for 'admin' (shown once; also in {}, mode 0600): {}",
        dir.join(datadir::INITIAL_PASSWORD_FILE).display(),
        password.as_str()
    );
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

/// `castellan serve`.
pub async fn run(dir: &Path, args: ServeArgs) -> Result<()> {
    match datadir::state(dir)? {
        DirState::Configured => {}
        DirState::Fresh => first_start(dir, &args).await?,
        DirState::Foreign(entries) => bail!(
            "{} is not empty ({}) and holds no castellan.toml; refusing to initialise over \
             existing files. Choose an empty or new --data-dir",
            dir.display(),
            entries.join(", ")
        ),
    }
    let config = super::read_config(dir, args.database_url.as_deref())?;
    super::init_logging(&config.log);
    let (_, authority) = super::load_authority(dir, args.database_url.as_deref()).await?;
    spawn_jobs(&authority, &config)?;
    let listen = args.listen.clone().unwrap_or_else(|| config.listen.clone());
    let listener = Listener::bind(&listen)?;
    let addr = listener.local_addr()?;

    let tls = if args.http {
        None
    } else {
        let mut names = vec!["localhost".to_owned()];
        let mut ips: Vec<IpAddr> = vec![
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
        ];
        if let Some(host) = config.base_host() {
            match host.parse::<IpAddr>() {
                Ok(ip) => ips.push(ip),
                Err(_) => names.push(host),
            }
        }
        names.extend(config.tls.extra_names.iter().cloned());
        if !addr.ip().is_unspecified() {
            ips.push(addr.ip());
        }
        ips.sort();
        ips.dedup();
        let service = authority.service_tls(&names, &ips).await?;
        tracing::info!(serial = %service.serial, "serving HTTPS with Castellan's own certificate");
        Some(TlsMaterial {
            chain: service.chain,
            key_pkcs8: service.key_pkcs8.to_vec(),
            client_roots: authority.root_certificates(),
        })
    };
    let pki_listen = args
        .pki_listen
        .clone()
        .unwrap_or_else(|| config.pki_listen.clone());
    if !pki_listen.is_empty() {
        let pki = Listener::bind(&pki_listen)?;
        println!(
            "OCSP, CRLs and CA certificates on http://{} (certificates name {})",
            display_addr(pki.local_addr()?),
            config.pki_base_url
        );
        let app = castellan_web::pki_router(authority.clone());
        tokio::spawn(async move {
            if let Err(e) = castellan_web::serve(pki, None, app, shutdown_signal()).await {
                tracing::error!(error = %e, "the PKI listener stopped");
            }
        });
    }
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!(
        "Castellan {} listening on {scheme}://{} (database: {}); portal: {}/customer/{}/",
        env!("CARGO_PKG_VERSION"),
        display_addr(addr),
        authority.store().kind(),
        config.base_url.trim_end_matches('/'),
        authority.customer_uri()
    );
    let app = castellan_web::router(authority.clone());
    castellan_web::serve(listener, tls, app, shutdown_signal()).await?;
    authority.store().close().await;
    Ok(())
}

/// The background jobs: certificate and DCV expiry warnings (daily, at
/// `notifications.scan_at`), notices that certificates are ready, DCV re-checks,
/// auto-renewal, approved orders left unissued, expiry, ACME nonces and ACME challenge
/// checks cut short (every minute), and the outbox worker when a mail server is set.
fn spawn_jobs(authority: &std::sync::Arc<castellan_ra::Authority>, config: &Config) -> Result<()> {
    let dcv = authority.clone();
    let scan_minute = config
        .notifications
        .scan_minute()
        .map_err(|reason| anyhow::anyhow!("invalid configuration: {reason}"))?;
    tokio::spawn(async move {
        let mut last_scan: Option<i64> = None;
        loop {
            // Expiry warnings once a day: each goes once, whenever it is found, so the
            // time only decides when in the day they arrive.
            let now = dcv.clock().now().unix_timestamp();
            if castellan_ra::notifications::scan_due(last_scan, now, scan_minute) {
                last_scan = Some(now);
                match dcv.send_expiry_warnings().await {
                    Ok(n) => tracing::info!(queued = n, "certificate expiry scan done"),
                    Err(e) => tracing::warn!(error = %e, "expiry warning round failed"),
                }
                match dcv.send_dcv_warnings().await {
                    Ok(n) => tracing::info!(queued = n, "DCV expiry scan done"),
                    Err(e) => tracing::warn!(error = %e, "DCV warning round failed"),
                }
            }
            match dcv.send_issued_notices().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(queued = n, "certificate ready notices queued"),
                Err(e) => tracing::warn!(error = %e, "certificate ready notices failed"),
            }
            if let Err(e) = dcv.recheck_dcv().await {
                tracing::warn!(error = %e, "DCV re-check round failed");
            }
            if let Err(e) = dcv.auto_renew().await {
                tracing::warn!(error = %e, "auto-renewal round failed");
            }
            if let Err(e) = dcv.resume_approved().await {
                tracing::warn!(error = %e, "resuming approved orders failed");
            }
            if let Err(e) = dcv.expire_certificates().await {
                tracing::warn!(error = %e, "marking expired certificates failed");
            }
            if let Err(e) = dcv.purge_acme_nonces().await {
                tracing::warn!(error = %e, "deleting expired ACME nonces failed");
            }
            if let Err(e) = dcv.acme_resume_checks().await {
                tracing::warn!(error = %e, "resuming ACME challenge checks failed");
            }
            tokio::time::sleep(std::time::Duration::from_secs(60)).await;
        }
    });
    spawn_revocation_jobs(authority, config);
    if config.smtp.host.is_empty() {
        tracing::warn!(
            "no smtp.host configured: e-mail stays queued in the outbox until one is set"
        );
        return Ok(());
    }
    let settings = castellan_notify::SmtpSettings {
        host: config.smtp.host.clone(),
        port: config.smtp.port,
        security: castellan_notify::Security::parse(&config.smtp.security)
            .unwrap_or(castellan_notify::Security::StartTls),
        username: config.smtp.username.clone(),
        password: config.smtp.password.clone(),
        from: config.smtp.from.clone(),
    };
    let mailer = castellan_notify::Mailer::new(&settings)?;
    let store = authority.store().clone();
    let clock = authority.clock().clone();
    tokio::spawn(castellan_notify::run_worker(
        store,
        mailer,
        std::time::Duration::from_secs(5),
        move || clock.now().unix_timestamp(),
        std::future::pending::<()>(),
    ));
    Ok(())
}

/// Revocation status: CRLs every `crl_delay_seconds` (published only when due), OCSP
/// responders rolled and answers pre-signed every ten seconds, and the in-memory answers
/// kept in step with the store (for revocations made on other nodes).
fn spawn_revocation_jobs(authority: &std::sync::Arc<castellan_ra::Authority>, config: &Config) {
    let crl = authority.clone();
    let period = std::time::Duration::from_secs(config.revocation.crl_delay_seconds);
    tokio::spawn(async move {
        loop {
            if let Err(e) = crl.publish_crls(false).await {
                tracing::warn!(error = %e, "publishing CRLs failed");
            }
            tokio::time::sleep(period).await;
        }
    });
    let ocsp = authority.clone();
    tokio::spawn(async move {
        let mut since = ocsp.clock().now().unix_timestamp();
        loop {
            if let Err(e) = ocsp.roll_ocsp_responders().await {
                tracing::warn!(error = %e, "rolling OCSP responders failed");
            }
            match ocsp.presign_ocsp(2_000).await {
                Ok(work) if work.signed > 0 => {
                    tracing::info!(signed = work.signed, "OCSP answers pre-signed")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "pre-signing OCSP answers failed"),
            }
            match ocsp.follow_ocsp_changes(since).await {
                Ok(next) => since = next,
                Err(e) => tracing::warn!(error = %e, "reading new OCSP answers failed"),
            }
            tokio::time::sleep(std::time::Duration::from_secs(10)).await;
        }
    });
}

fn display_addr(addr: SocketAddr) -> String {
    addr.to_string()
}
