//! The commands, and what they share: loading the configuration and the authority.

mod audit;
mod bench;
mod ca;
mod cert;
mod crl;
mod init;
mod profiles;
mod serve;

use crate::cli::{AuditCommand, CaCommand, CertCommand, Cli, Command, CrlCommand, ProfilesCommand};
use crate::config::{self, CONFIG_FILE, Config};
use crate::datadir;
use anyhow::{Context, Result, bail};
use castellan_ra::clock::SystemClock;
use castellan_ra::{Authority, AuthorityOptions};
use std::path::Path;
use std::sync::Arc;

/// Runs one command.
pub async fn run(cli: Cli) -> Result<()> {
    let dir = cli.data_dir.as_path();
    match cli.command {
        Command::Init(args) => init::run(dir, args).await,
        Command::Serve(args) => serve::run(dir, args).await,
        Command::Ca(CaCommand::Show { pem }) => ca::show(dir, pem).await,
        Command::Cert(CertCommand::Issue(args)) => cert::issue(dir, args).await,
        Command::Cert(CertCommand::Show { serial }) => cert::show(dir, &serial).await,
        Command::Cert(CertCommand::Download(args)) => cert::download(dir, args).await,
        Command::Crl(CrlCommand::Publish { force }) => crl::publish(dir, force).await,
        Command::Profiles(ProfilesCommand::List) => profiles::list(dir).await,
        Command::Bench(args) => bench::run(args).await,
        Command::Audit(AuditCommand::Verify) => audit::verify(dir).await,
    }
}

/// Starts logging to standard error with `filter` unless `RUST_LOG` says otherwise.
pub fn init_logging(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(filter))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}

/// Reads the data directory's configuration (which must exist).
pub fn read_config(dir: &Path, database_url: Option<&str>) -> Result<Config> {
    let file = dir.join(CONFIG_FILE);
    if !file.exists() {
        bail!(
            "{} is not a Castellan data directory ({CONFIG_FILE} is missing); run `castellan init \
             --data-dir {}` or `castellan serve --data-dir {}` first",
            dir.display(),
            dir.display(),
            dir.display()
        );
    }
    let mut config = config::load(Some(&file))?;
    if let Some(url) = database_url {
        config.database_url = url.to_owned();
    }
    Ok(config)
}

/// Loads the configuration, profiles, store, KEK and CA keys.
pub async fn load_authority(
    dir: &Path,
    database_url: Option<&str>,
) -> Result<(Config, Arc<Authority>)> {
    let config = read_config(dir, database_url)?;
    let profiles = datadir::load_profiles(&config, dir)?;
    let kek = datadir::load_kek(&config, dir)?;
    let store = datadir::open_store(&config, dir, false).await?;
    let authority = Authority::load(
        store,
        kek,
        profiles,
        AuthorityOptions {
            pki_base_url: config.pki_base_url.clone(),
            kek_source: datadir::kek_source(&config, dir),
        },
        Arc::new(SystemClock),
        Arc::new(castellan_pki::rand::SystemRng),
    )
    .await
    .context("cannot load the certificate authority")?
    .with_validation(config.validation_settings())?
    .with_revocation(config.revocation.clone())?
    .with_acme(config.acme.clone())?
    .with_ssl_custom_fields(config.custom_fields());
    Ok((config, Arc::new(authority)))
}

/// `2026-11-25 09:21:24 UTC` from Unix seconds.
pub fn format_time(unix: i64) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| unix.to_string())
}

/// `AB:CD:…` from lower-case hex.
pub fn colon_hex(hex: &str) -> String {
    hex.as_bytes()
        .chunks(2)
        .map(|pair| String::from_utf8_lossy(pair).to_ascii_uppercase())
        .collect::<Vec<_>>()
        .join(":")
}

/// Prints the CA hierarchy.
pub fn print_hierarchy(cas: &[castellan_ra::CaSummary]) {
    for ca in cas {
        println!(
            "  {} ({} {}, {})",
            ca.slug, ca.hierarchy, ca.role, ca.key_type
        );
        println!("    subject:     {}", ca.subject);
        println!(
            "    valid:       {} to {}",
            format_time(ca.not_before),
            format_time(ca.not_after)
        );
        println!("    serial:      {}", colon_hex(&ca.serial));
        println!("    SHA-256:     {}", colon_hex(&ca.sha256_fingerprint));
    }
}
