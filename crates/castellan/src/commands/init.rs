//! `castellan init`, and the automatic first start of `castellan serve`.

use crate::cli::InitArgs;
use crate::config::{self, Config};
use crate::datadir::{self, Staging};
use anyhow::{Context, Result};
use castellan_pki::kek::Kek;
use castellan_pki::rand::{Rng, SystemRng};
use castellan_ra::clock::SystemClock;
use castellan_ra::setup::{FirstAdmin, InitParams, InitReport};
use std::path::Path;
use zeroize::Zeroizing;

/// Creates the data directory `dir` for `config` with `admin` as the first MRAO. When
/// `password_file` is set, the password is also written there (mode 0600).
pub async fn initialise(
    dir: &Path,
    config: &Config,
    admin: FirstAdmin,
    write_password_file: bool,
) -> Result<InitReport> {
    datadir::ensure_fresh(dir)?;
    castellan_ra::password::check_strength(&admin.password)?;
    let staging = Staging::new(dir)?;
    let rng = SystemRng;
    let kek = if std::env::var_os(datadir::KEK_ENV).is_some() {
        datadir::load_kek(config, dir)?
    } else {
        let (kek, text) = Kek::generate(&rng)?;
        datadir::write_private(
            &config.path_in(staging.path(), &config.kek_file),
            text.as_bytes(),
        )?;
        kek
    };
    staging.write_profiles(config)?;
    if write_password_file {
        datadir::write_private(
            &staging.path().join(datadir::INITIAL_PASSWORD_FILE),
            format!("{}\n", admin.password.as_str()).as_bytes(),
        )?;
    }
    let store = datadir::open_store(config, staging.path(), true).await?;
    let params = InitParams {
        customer_uri: config.customer_uri.clone(),
        pki_base_url: config.pki_base_url.clone(),
        ca: config.ca_setup()?,
        admin,
    };
    let report = castellan_ra::setup::initialise(&store, &kek, &params, &SystemClock, &rng).await;
    store.close().await;
    let report = report?;
    staging.finish(&config.to_documented_toml()?)?;
    Ok(report)
}

/// Prints what `init` made.
pub fn print_report(dir: &Path, config: &Config, report: &InitReport) {
    let database = if config.database_url.is_empty() {
        format!("SQLite {}", dir.join(datadir::DATABASE_FILE).display())
    } else {
        castellan_store::redact_url(&config.database_url)
    };
    println!("Initialised {} (database: {database})", dir.display());
    println!("Certificate authorities:");
    super::print_hierarchy(&report.hierarchy);
    println!(
        "First administrator (MRAO): '{}'; the password must be changed at first sign-in.",
        report.admin_login
    );
    if std::env::var_os(datadir::KEK_ENV).is_none() {
        println!(
            "Keep a copy of {} somewhere safe: without it the CA keys cannot be used.",
            config.path_in(dir, &config.kek_file).display()
        );
    }
}

/// `castellan init`.
pub async fn run(dir: &Path, args: InitArgs) -> Result<()> {
    super::init_logging("warn");
    // Refuse before reading anything else, so a second `init` changes nothing.
    datadir::ensure_fresh(dir)?;
    let password = std::fs::read_to_string(&args.admin_password_file).with_context(|| {
        format!(
            "cannot read the password file {}",
            args.admin_password_file.display()
        )
    })?;
    let password = Zeroizing::new(password.trim_end_matches(['\r', '\n']).to_owned());
    let mut config: Config = config::load(args.config.as_deref())?;
    if let Some(uri) = args.customer_uri {
        config.customer_uri = uri;
    }
    if let Some(url) = args.base_url {
        config.base_url = url;
    }
    if let Some(url) = args.pki_base_url {
        config.pki_base_url = url;
    }
    if let Some(url) = args.database_url {
        config.database_url = url;
    }
    let email = args.admin_email.unwrap_or_else(|| {
        format!(
            "{}@{}",
            args.admin_login,
            config.base_host().unwrap_or_else(|| "localhost".into())
        )
    });
    let admin = FirstAdmin {
        login: args.admin_login,
        email,
        password,
    };
    let report = initialise(dir, &config, admin, false).await?;
    print_report(dir, &config, &report);
    Ok(())
}

/// A random password for the first administrator: 24 characters from an alphabet without
/// look-alikes (about 136 bits).
pub fn random_password(rng: &dyn Rng) -> Result<Zeroizing<String>> {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut out = Zeroizing::new(String::with_capacity(24));
    let mut byte = [0u8; 1];
    while out.len() < 24 {
        rng.fill(&mut byte)?;
        // Rejection sampling keeps every character equally likely.
        let limit = 256 - (256 % ALPHABET.len());
        if usize::from(byte[0]) < limit {
            out.push(char::from(ALPHABET[usize::from(byte[0]) % ALPHABET.len()]));
        }
    }
    Ok(out)
}
