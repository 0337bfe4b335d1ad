//! `castellan.toml`: every setting, its default, and `CASTELLAN_*` environment overrides.
//!
//! Precedence, lowest first: built-in defaults, the file, the environment
//! (`CASTELLAN_BASE_URL`, `CASTELLAN_CA__ORGANIZATION`, …: `__` separates sections), then
//! command-line flags. Unknown keys in the file are refused with their name, so a typo
//! never silently falls back to a default.

use anyhow::{Context, Result, bail};
use castellan_model::KeyType;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The name of the configuration file inside the data directory.
pub const CONFIG_FILE: &str = "castellan.toml";

/// The most `validation.caa_cache_seconds` may be: 8 hours, how long the Baseline
/// Requirements (§3.2.2.8) let a CA rely on a CAA answer whose TTL is shorter.
const MAX_CAA_CACHE_SECONDS: u64 = 8 * 3600;

/// Every setting Castellan reads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The customer URI: the portal lives at `/customer/<customer_uri>/`.
    pub customer_uri: String,
    /// The public URL of the portal and APIs.
    pub base_url: String,
    /// The plain-HTTP URL under which relying parties fetch CA certificates, CRLs and OCSP
    /// (put into every certificate; it must not change once certificates are issued).
    pub pki_base_url: String,
    /// Address and port the service listens on.
    pub listen: String,
    /// Address and port of the plain-HTTP listener for OCSP, CRLs and CA certificates
    /// (what pki_base_url points at); empty for none (a proxy forwards them to `listen`).
    pub pki_listen: String,
    /// PostgreSQL URL; empty for the embedded SQLite database in the data directory.
    pub database_url: String,
    /// `full` (default: every commit on disk before it is answered, by the store's group
    /// commit) or `normal` (SQLite syncs at checkpoints only).
    pub sqlite_synchronous: String,
    /// The key-encryption key file, relative to the data directory. `CASTELLAN_KEK` (base64)
    /// takes precedence.
    pub kek_file: String,
    /// The certificate profiles folder, relative to the data directory.
    pub profiles_dir: String,
    /// Log filter (`info`, `debug`, `castellan_ra=debug,info`, …); `RUST_LOG` overrides it.
    pub log: String,
    /// Castellan's own HTTPS certificate.
    pub tls: TlsConfig,
    /// The CA hierarchy created by `init` (read only then).
    pub ca: CaConfig,
    /// Domain control validation and CAA.
    #[serde(default)]
    pub validation: ValidationConfig,
    /// Outgoing e-mail.
    #[serde(default)]
    pub smtp: SmtpConfig,
    /// Notifications.
    #[serde(default)]
    pub notifications: NotificationsConfig,
    /// SSL orders.
    #[serde(default)]
    pub ssl: SslConfig,
    /// CRLs and OCSP.
    #[serde(default)]
    pub revocation: castellan_ra::revocation::RevocationSettings,
    /// ACME servers, challenges, rate limits.
    #[serde(default)]
    pub acme: castellan_ra::acme_accounts::AcmeSettings,
}

/// SSL orders.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SslConfig {
    /// The custom fields orders carry (SCM `customFields`).
    pub custom_fields: Vec<CustomFieldConfig>,
}

/// One custom field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomFieldConfig {
    /// Its name, as clients send it.
    pub name: String,
    /// Whether every order must carry a value.
    #[serde(default)]
    pub mandatory: bool,
}

/// Domain control validation and CAA.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ValidationConfig {
    /// DNS resolvers (`ip:port`) for DCV and CAA; empty for the system's.
    /// `CASTELLAN_DNS_SERVERS` (comma-separated) overrides.
    pub dns_servers: Vec<String>,
    /// Let HTTP validation contact private, loopback and link-local addresses.
    /// `CASTELLAN_ALLOW_PRIVATE_TARGETS=1` overrides.
    pub allow_private_targets: bool,
    /// The zone CNAME DCV targets live in; empty for `dcv.<host of base_url>`.
    pub dcv_zone: String,
    /// Castellan's CAA issuer domains; empty for the host of base_url.
    pub caa_identities: Vec<String>,
    /// The longest a CAA answer is reused, in seconds (it is reused for its TTL, never longer
    /// than this); 0 asks the DNS at every check.
    pub caa_cache_seconds: u64,
    /// How long a passed DCV counts, in days.
    pub validity_days: i64,
    /// How often submitted DCV orders are checked again, in minutes.
    pub recheck_minutes: i64,
    /// How long a submitted order keeps being checked, in days.
    pub order_days: i64,
    /// The port HTTP validation (the file method, http-01) connects to.
    pub http_port: u16,
    /// The port HTTPS validation (the file method over https, tls-alpn-01) connects to.
    pub https_port: u16,
}

impl Default for ValidationConfig {
    fn default() -> ValidationConfig {
        ValidationConfig {
            dns_servers: Vec::new(),
            allow_private_targets: false,
            dcv_zone: String::new(),
            caa_identities: Vec::new(),
            caa_cache_seconds: castellan_ra::dcv::DEFAULT_CAA_CACHE_MAX.as_secs(),
            validity_days: 365,
            recheck_minutes: 60,
            order_days: 30,
            http_port: 80,
            https_port: 443,
        }
    }
}

/// Notifications.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotificationsConfig {
    /// When (`HH:MM`, UTC) the daily scan for certificates and DCVs near or past their
    /// expiry runs.
    pub scan_at: String,
}

impl Default for NotificationsConfig {
    fn default() -> NotificationsConfig {
        NotificationsConfig {
            scan_at: "06:00".into(),
        }
    }
}

impl NotificationsConfig {
    /// `scan_at` as minutes after midnight UTC, or why it is not a time.
    pub fn scan_minute(&self) -> std::result::Result<i64, String> {
        let bad = || {
            format!(
                "notifications.scan_at '{}' must be a time of day HH:MM (UTC), e.g. 06:00",
                self.scan_at
            )
        };
        let (h, m) = self.scan_at.trim().split_once(':').ok_or_else(bad)?;
        let (h, m): (i64, i64) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        if !(0..24).contains(&h) || !(0..60).contains(&m) {
            return Err(bad());
        }
        Ok(h * 60 + m)
    }
}

/// Outgoing e-mail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpConfig {
    /// Mail server; empty to keep mail queued (nothing is lost; it goes once set).
    pub host: String,
    /// Port.
    pub port: u16,
    /// `starttls`, `tls` or `none`.
    pub security: String,
    /// Login, if the server wants one.
    pub username: String,
    /// Password (better: `CASTELLAN_SMTP__PASSWORD` in the environment).
    pub password: String,
    /// Sender.
    pub from: String,
}

impl Default for SmtpConfig {
    fn default() -> SmtpConfig {
        SmtpConfig {
            host: String::new(),
            port: 587,
            security: "starttls".into(),
            username: String::new(),
            password: String::new(),
            from: "Castellan <castellan@localhost>".into(),
        }
    }
}

/// Castellan's own HTTPS certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// Extra DNS names for the certificate, beyond the host of `base_url` and `localhost`.
    pub extra_names: Vec<String>,
}

fn default_ecc_root_curve() -> String {
    castellan_ra::setup::CaSetup::default()
        .ecc_root_curve
        .size()
}

fn default_ecc_issuing_curve() -> String {
    castellan_ra::setup::CaSetup::default()
        .ecc_issuing_curve
        .size()
}

/// An ECDSA curve setting (`P-256`, `P-384`; `p256` and the like are read too).
fn ecc_curve(field: &str, value: &str) -> Result<KeyType> {
    match KeyType::from_short_name(value) {
        Some(curve @ (KeyType::EcP256 | KeyType::EcP384)) => Ok(curve),
        _ => bail!("invalid configuration: ca.{field} '{value}' must be P-256 or P-384"),
    }
}

/// Names, key sizes and validity of the CA hierarchy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaConfig {
    /// organizationName of the CA certificates.
    pub organization: String,
    /// countryName of the CA certificates (two letters), or empty.
    pub country: String,
    /// commonName of the RSA root CA.
    pub rsa_root_name: String,
    /// commonName of the RSA issuing CA.
    pub rsa_issuing_name: String,
    /// commonName of the ECDSA root CA.
    pub ecc_root_name: String,
    /// commonName of the ECDSA issuing CA.
    pub ecc_issuing_name: String,
    /// RSA root key size in bits.
    pub rsa_root_bits: u32,
    /// RSA issuing CA key size in bits.
    pub rsa_issuing_bits: u32,
    /// ECDSA root curve (`P-256` or `P-384`); configurations written before it existed
    /// read as the default.
    #[serde(default = "default_ecc_root_curve")]
    pub ecc_root_curve: String,
    /// ECDSA issuing CA curve (`P-256` or `P-384`).
    #[serde(default = "default_ecc_issuing_curve")]
    pub ecc_issuing_curve: String,
    /// Root validity in days.
    pub root_validity_days: u32,
    /// Issuing CA validity in days.
    pub issuing_validity_days: u32,
}

impl Default for Config {
    fn default() -> Config {
        let ca = castellan_ra::setup::CaSetup::default();
        Config {
            customer_uri: "castellan".into(),
            base_url: "https://localhost:8443".into(),
            pki_base_url: "http://localhost:8080".into(),
            listen: "127.0.0.1:8443".into(),
            pki_listen: "127.0.0.1:8080".into(),
            database_url: String::new(),
            sqlite_synchronous: "full".into(),
            kek_file: "kek".into(),
            profiles_dir: "profiles".into(),
            log: "info".into(),
            tls: TlsConfig {
                extra_names: Vec::new(),
            },
            ca: CaConfig {
                organization: ca.organization,
                country: ca.country.unwrap_or_default(),
                rsa_root_name: ca.rsa_root_name,
                rsa_issuing_name: ca.rsa_issuing_name,
                ecc_root_name: ca.ecc_root_name,
                ecc_issuing_name: ca.ecc_issuing_name,
                rsa_root_bits: ca.rsa_root_bits,
                rsa_issuing_bits: ca.rsa_issuing_bits,
                ecc_root_curve: ca.ecc_root_curve.size(),
                ecc_issuing_curve: ca.ecc_issuing_curve.size(),
                root_validity_days: ca.root_validity_days,
                issuing_validity_days: ca.issuing_validity_days,
            },
            validation: ValidationConfig::default(),
            smtp: SmtpConfig::default(),
            notifications: NotificationsConfig::default(),
            ssl: SslConfig::default(),
            revocation: castellan_ra::revocation::RevocationSettings::default(),
            acme: castellan_ra::acme_accounts::AcmeSettings::default(),
        }
    }
}

/// Environment variables that are not settings (secrets and paths the CLI reads itself).
const NOT_SETTINGS: &[&str] = &[
    "data_dir",
    "kek",
    "admin_password",
    "dns_servers",
    "allow_private_targets",
];

/// Reads the configuration: defaults, then `file` (if given and present), then the
/// environment.
pub fn load(file: Option<&Path>) -> Result<Config> {
    let mut figment = Figment::from(Serialized::defaults(Config::default()));
    if let Some(path) = file {
        if !path.exists() {
            bail!("configuration file {} does not exist", path.display());
        }
        figment = figment.merge(Toml::file_exact(path));
    }
    figment = figment.merge(
        Env::prefixed("CASTELLAN_")
            .filter(|key| {
                let key = key.as_str().to_ascii_lowercase();
                !NOT_SETTINGS.contains(&key.as_str())
                    && !key.starts_with("test_")
                    && !key.starts_with("tools_")
            })
            .split("__"),
    );
    let mut config: Config = figment.extract().map_err(|e| {
        let errors: Vec<String> = e.into_iter().map(|e| e.to_string()).collect();
        anyhow::anyhow!("invalid configuration: {}", errors.join("; "))
    })?;
    // Two names the validation tests and split-horizon deployments set directly.
    if let Ok(servers) = std::env::var("CASTELLAN_DNS_SERVERS") {
        config.validation.dns_servers = servers
            .split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
    }
    if let Ok(allow) = std::env::var("CASTELLAN_ALLOW_PRIVATE_TARGETS") {
        config.validation.allow_private_targets = matches!(allow.trim(), "1" | "true" | "yes");
    }
    check(&config)?;
    Ok(config)
}

fn check(config: &Config) -> Result<()> {
    castellan_ra::setup::check_customer_uri(&config.customer_uri)?;
    if !(config.base_url.starts_with("https://") || config.base_url.starts_with("http://")) {
        bail!(
            "invalid configuration: base_url '{}' must start with https:// or http://",
            config.base_url
        );
    }
    if !config.pki_base_url.starts_with("http://") {
        bail!(
            "invalid configuration: pki_base_url '{}' must start with http:// (relying parties \
             fetch CRLs, OCSP and CA certificates without TLS)",
            config.pki_base_url
        );
    }
    for server in &config.validation.dns_servers {
        if server.parse::<std::net::SocketAddr>().is_err() {
            bail!(
                "invalid configuration: validation.dns_servers entry '{server}' is not ip:port \
                 (e.g. 127.0.0.1:53)"
            );
        }
    }
    if config.validation.caa_cache_seconds > MAX_CAA_CACHE_SECONDS {
        bail!(
            "invalid configuration: validation.caa_cache_seconds is {}; it must be 0 to \
             {MAX_CAA_CACHE_SECONDS} (8 hours, the Baseline Requirements' limit for a CAA answer \
             whose TTL is shorter)",
            config.validation.caa_cache_seconds
        );
    }
    if !config.pki_listen.is_empty() && config.pki_listen.parse::<std::net::SocketAddr>().is_err() {
        bail!(
            "invalid configuration: pki_listen '{}' is not ip:port (e.g. 0.0.0.0:80), or empty \
             for no plain-HTTP listener",
            config.pki_listen
        );
    }
    if let Err(reason) = config.revocation.check() {
        bail!("invalid configuration: {reason}");
    }
    if castellan_notify::Security::parse(&config.smtp.security).is_none() {
        bail!(
            "invalid configuration: smtp.security '{}' must be starttls, tls or none",
            config.smtp.security
        );
    }
    if let Err(reason) = config.notifications.scan_minute() {
        bail!("invalid configuration: {reason}");
    }
    // The CA settings `init` would read (the curves) are refused at load, not at `init`.
    config.ca_setup()?;
    if !["full", "normal"].contains(&config.sqlite_synchronous.as_str()) {
        bail!(
            "invalid configuration: sqlite_synchronous '{}' must be 'full' or 'normal'",
            config.sqlite_synchronous
        );
    }
    Ok(())
}

impl Config {
    /// The CA setup for `init`.
    pub fn ca_setup(&self) -> Result<castellan_ra::setup::CaSetup> {
        let ca = &self.ca;
        Ok(castellan_ra::setup::CaSetup {
            organization: ca.organization.clone(),
            country: (!ca.country.is_empty()).then(|| ca.country.clone()),
            rsa_root_name: ca.rsa_root_name.clone(),
            rsa_issuing_name: ca.rsa_issuing_name.clone(),
            ecc_root_name: ca.ecc_root_name.clone(),
            ecc_issuing_name: ca.ecc_issuing_name.clone(),
            rsa_root_bits: ca.rsa_root_bits,
            rsa_issuing_bits: ca.rsa_issuing_bits,
            ecc_root_curve: ecc_curve("ecc_root_curve", &ca.ecc_root_curve)?,
            ecc_issuing_curve: ecc_curve("ecc_issuing_curve", &ca.ecc_issuing_curve)?,
            root_validity_days: ca.root_validity_days,
            issuing_validity_days: ca.issuing_validity_days,
        })
    }

    /// A path setting resolved against the data directory.
    pub fn path_in(&self, data_dir: &Path, setting: &str) -> PathBuf {
        let p = Path::new(setting);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            data_dir.join(p)
        }
    }

    /// The SSL custom fields `ra` enforces.
    pub fn custom_fields(&self) -> Vec<castellan_ra::orders::CustomField> {
        self.ssl
            .custom_fields
            .iter()
            .zip(1..)
            .map(|(f, id)| castellan_ra::orders::CustomField {
                id,
                name: f.name.clone(),
                mandatory: f.mandatory,
            })
            .collect()
    }

    /// The validation settings `ra` runs with.
    pub fn validation_settings(&self) -> castellan_ra::dcv::ValidationSettings {
        let v = &self.validation;
        let host = self.base_host().unwrap_or_else(|| "localhost".into());
        castellan_ra::dcv::ValidationSettings {
            dns_servers: v
                .dns_servers
                .iter()
                .filter_map(|s| s.parse().ok())
                .collect(),
            allow_private_targets: v.allow_private_targets,
            dcv_zone: if v.dcv_zone.is_empty() {
                format!("dcv.{host}")
            } else {
                v.dcv_zone.clone()
            },
            caa_identities: if v.caa_identities.is_empty() {
                vec![host]
            } else {
                v.caa_identities.clone()
            },
            caa_cache_max: std::time::Duration::from_secs(v.caa_cache_seconds),
            validity_days: v.validity_days,
            recheck_seconds: v.recheck_minutes * 60,
            order_days: v.order_days,
            http_port: v.http_port,
            https_port: v.https_port,
            base_url: self.base_url.clone(),
            ..castellan_ra::dcv::ValidationSettings::default()
        }
    }

    /// The host part of `base_url`, for the service certificate.
    pub fn base_host(&self) -> Option<String> {
        let rest = self.base_url.split_once("://")?.1;
        let authority = rest.split('/').next()?;
        let host = if let Some(v6) = authority.strip_prefix('[') {
            v6.split(']').next()?
        } else {
            authority.rsplit_once(':').map_or(authority, |(h, _)| h)
        };
        (!host.is_empty()).then(|| host.to_ascii_lowercase())
    }

    /// The file text `init` writes: every key with its meaning.
    pub fn to_documented_toml(&self) -> Result<String> {
        let s = |v: &str| toml::Value::String(v.to_owned()).to_string();
        let list = |v: &[String]| {
            toml::Value::Array(v.iter().map(|x| toml::Value::String(x.clone())).collect())
                .to_string()
        };
        let ca = &self.ca;
        Ok(format!(
            r#"# Castellan configuration. Every key can also be set in the environment as
# CASTELLAN_<KEY> (sections with a double underscore: CASTELLAN_CA__ORGANIZATION).
# Precedence: command-line flags, then the environment, then this file.

# The portal lives at /customer/<customer_uri>/ (as SCM's does).
customer_uri = {customer_uri}

# The public URL of the portal and the REST APIs.
base_url = {base_url}

# The plain-HTTP URL under which relying parties fetch CA certificates (/ca/<ca>.crt),
# CRLs (/crl/<ca>.crl) and OCSP (/ocsp). It goes into every certificate: choose the public
# name before issuing real certificates, and never change it afterwards.
pki_base_url = {pki_base_url}

# Address and port to listen on ("0.0.0.0:8443" for every interface).
listen = {listen}

# The plain-HTTP listener relying parties reach at pki_base_url (OCSP, CRLs, CA
# certificates): "0.0.0.0:80" in production, empty when a proxy forwards them to listen.
pki_listen = {pki_listen}

# PostgreSQL URL (postgres://user:password@host/db) for several nodes; empty for the
# embedded SQLite database castellan.db in the data directory.
database_url = {database_url}

# SQLite durability: "full" forces every commit to disk (nothing committed is lost on a
# power cut); "normal" is faster and survives a crash of Castellan but not of the machine.
sqlite_synchronous = {sqlite_synchronous}

# The key-encryption key (AES-256) that protects every private key in the database,
# relative to the data directory. Keep a copy somewhere safe: without it the CA keys are
# lost. The environment variable CASTELLAN_KEK (base64) takes precedence.
kek_file = {kek_file}

# The certificate profiles, one TOML file each (docs/profiles.md), relative to the data
# directory. Checked at every start.
profiles_dir = {profiles_dir}

# Log filter: error, warn, info, debug, or per module (castellan_ra=debug,info).
# RUST_LOG takes precedence.
log = {log}

[tls]
# Castellan serves HTTPS with a certificate it issues to itself for the host of base_url,
# localhost, 127.0.0.1 and ::1. Extra DNS names for it:
extra_names = {extra_names}

[ca]
# The CA hierarchy `castellan init` created. Changing these later has no effect.
organization = {organization}
country = {country}
rsa_root_name = {rsa_root_name}
rsa_issuing_name = {rsa_issuing_name}
ecc_root_name = {ecc_root_name}
ecc_issuing_name = {ecc_issuing_name}
rsa_root_bits = {rsa_root_bits}
rsa_issuing_bits = {rsa_issuing_bits}
# ECDSA curves (P-256 or P-384). A P-256 issuing CA signs several times faster.
ecc_root_curve = {ecc_root_curve}
ecc_issuing_curve = {ecc_issuing_curve}
root_validity_days = {root_validity_days}
issuing_validity_days = {issuing_validity_days}

[validation]
# DNS resolvers (ip:port) for domain control validation and CAA; empty for the system's.
# CASTELLAN_DNS_SERVERS (comma-separated) overrides.
dns_servers = {dns_servers}
# Let HTTP validation reach private, loopback and link-local addresses (internal-only
# deployments). CASTELLAN_ALLOW_PRIVATE_TARGETS=1 overrides.
allow_private_targets = {allow_private_targets}
# The zone CNAME DCV targets point into; empty for dcv.<host of base_url>.
dcv_zone = {dcv_zone}
# Castellan's CAA issuer domains (issue "<identity>"); empty for the host of base_url.
caa_identities = {caa_identities}
# The longest (seconds) a CAA answer is reused: each is reused for its TTL, never longer than
# this (the Baseline Requirements allow the TTL or 8 hours); 0 asks the DNS at every check.
caa_cache_seconds = {caa_cache_seconds}
# How long a passed DCV counts (days), how often submitted orders are checked again
# (minutes), and how long an order keeps being checked (days).
validity_days = {validity_days}
recheck_minutes = {recheck_minutes}
order_days = {order_days}
# The ports HTTP validation (file method, ACME http-01) and HTTPS validation (file method
# over https, ACME tls-alpn-01) connect to. The Baseline Requirements allow only 80 and 443.
http_port = {http_port}
https_port = {https_port}

[smtp]
# The mail server for DCV e-mail and notifications; empty keeps mail queued until set.
host = {smtp_host}
port = {smtp_port}
# starttls, tls or none.
security = {smtp_security}
username = {smtp_username}
# Better set in the environment: CASTELLAN_SMTP__PASSWORD.
password = {smtp_password}
from = {smtp_from}

[notifications]
# When (HH:MM, UTC) the daily scan for certificates and DCVs near or past their expiry runs
# (and at start, if today's time has passed). Each warning goes once, however often it runs.
scan_at = {scan_at}

[ssl]
# Custom fields SSL orders carry, e.g. [{{ name = "Cost centre", mandatory = true }}].
custom_fields = {custom_fields}

[revocation]
# CRLs: shards new certificates are spread over (1: one CRL per CA; a certificate keeps
# the shard it was issued in), nextUpdate - thisUpdate (hours), age at which a CRL is
# published again anyway (hours), and how soon after a revocation the CRL lists it (s).
crl_shards = {crl_shards}
crl_validity_hours = {crl_validity_hours}
crl_refresh_hours = {crl_refresh_hours}
crl_delay_seconds = {crl_delay_seconds}
# OCSP: response lifetime and when it is signed again (hours), the delegated responder
# certificate's lifetime and when it is replaced (days), signatures per second for
# requests without a pre-signed answer (above it: tryLater), answers kept in memory.
ocsp_validity_hours = {ocsp_validity_hours}
ocsp_refresh_hours = {ocsp_refresh_hours}
ocsp_responder_days = {ocsp_responder_days}
ocsp_responder_roll_days = {ocsp_responder_roll_days}
ocsp_signatures_per_second = {ocsp_signatures_per_second}
ocsp_cache_entries = {ocsp_cache_entries}
# A keyCompromise revocation blocks the key for good; also revoke the other certificates
# that share it?
revoke_same_key_on_compromise = {revoke_same_key_on_compromise}

[acme]
# The ACME servers (docs/acme.md); empty for the two defaults: "OV ACME Server" (path ov)
# and "EV ACME Server" (path ev), both pre-validated. A server is
# {{ name = "OV ACME Server (challenges)", path = "ov-challenges", validation_type = "OV",
#   profiles = ["OV Multi-Domain SSL", "Wildcard SSL"], authorization = "challenges",
#   challenge_types = ["http-01", "dns-01", "tls-alpn-01"], open_registration_account = "" }}
# authorization: "pre-validated" (names need a valid DCV, the SCM model) or "challenges".
# open_registration_account: the macId of the ACME account clients registering without
# External Account Binding are bound to; empty to require EAB.
servers = {acme_servers}
# How long a name proven by a challenge stays proven for the same ACME account (days).
authorization_reuse_days = {authorization_reuse_days}
# Checks of a challenge that got no answer (DNS failure, connection refused), and the
# seconds between them.
challenge_attempts = {challenge_attempts}
challenge_retry_seconds = {challenge_retry_seconds}
# Rate limits on new orders (renewals with 'replaces' are exempt); 0 for no limit.
orders_per_account_per_hour = {orders_per_account_per_hour}
orders_per_domain_per_week = {orders_per_domain_per_week}
"#,
            customer_uri = s(&self.customer_uri),
            base_url = s(&self.base_url),
            pki_base_url = s(&self.pki_base_url),
            listen = s(&self.listen),
            pki_listen = s(&self.pki_listen),
            database_url = s(&self.database_url),
            sqlite_synchronous = s(&self.sqlite_synchronous),
            kek_file = s(&self.kek_file),
            profiles_dir = s(&self.profiles_dir),
            log = s(&self.log),
            extra_names = list(&self.tls.extra_names),
            organization = s(&ca.organization),
            country = s(&ca.country),
            rsa_root_name = s(&ca.rsa_root_name),
            rsa_issuing_name = s(&ca.rsa_issuing_name),
            ecc_root_name = s(&ca.ecc_root_name),
            ecc_issuing_name = s(&ca.ecc_issuing_name),
            rsa_root_bits = ca.rsa_root_bits,
            rsa_issuing_bits = ca.rsa_issuing_bits,
            ecc_root_curve = s(&ca.ecc_root_curve),
            ecc_issuing_curve = s(&ca.ecc_issuing_curve),
            root_validity_days = ca.root_validity_days,
            issuing_validity_days = ca.issuing_validity_days,
            dns_servers = list(&self.validation.dns_servers),
            allow_private_targets = self.validation.allow_private_targets,
            dcv_zone = s(&self.validation.dcv_zone),
            caa_identities = list(&self.validation.caa_identities),
            caa_cache_seconds = self.validation.caa_cache_seconds,
            validity_days = self.validation.validity_days,
            recheck_minutes = self.validation.recheck_minutes,
            order_days = self.validation.order_days,
            http_port = self.validation.http_port,
            https_port = self.validation.https_port,
            smtp_host = s(&self.smtp.host),
            smtp_port = self.smtp.port,
            smtp_security = s(&self.smtp.security),
            smtp_username = s(&self.smtp.username),
            smtp_password = s(&self.smtp.password),
            smtp_from = s(&self.smtp.from),
            scan_at = s(&self.notifications.scan_at),
            custom_fields = toml::Value::try_from(&self.ssl.custom_fields)
                .map(|v| v.to_string())
                .unwrap_or_else(|_| "[]".into()),
            crl_shards = self.revocation.crl_shards,
            crl_validity_hours = self.revocation.crl_validity_hours,
            crl_refresh_hours = self.revocation.crl_refresh_hours,
            crl_delay_seconds = self.revocation.crl_delay_seconds,
            ocsp_validity_hours = self.revocation.ocsp_validity_hours,
            ocsp_refresh_hours = self.revocation.ocsp_refresh_hours,
            ocsp_responder_days = self.revocation.ocsp_responder_days,
            ocsp_responder_roll_days = self.revocation.ocsp_responder_roll_days,
            ocsp_signatures_per_second = self.revocation.ocsp_signatures_per_second,
            ocsp_cache_entries = self.revocation.ocsp_cache_entries,
            revoke_same_key_on_compromise = self.revocation.revoke_same_key_on_compromise,
            acme_servers = toml::Value::try_from(&self.acme.servers)
                .map(|v| v.to_string())
                .unwrap_or_else(|_| "[]".into()),
            authorization_reuse_days = self.acme.authorization_reuse_days,
            challenge_attempts = self.acme.challenge_attempts,
            challenge_retry_seconds = self.acme.challenge_retry_seconds,
            orders_per_account_per_hour = self.acme.orders_per_account_per_hour,
            orders_per_domain_per_week = self.acme.orders_per_domain_per_week,
        ))
        .and_then(|text| {
            // The documented file must read back to exactly this configuration.
            let back: Config =
                toml::from_str(&text).context("the generated configuration does not parse")?;
            anyhow::ensure!(
                back == *self,
                "the generated configuration does not read back"
            );
            Ok(text)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_file_reads_back() {
        let mut config = Config::default();
        config.tls.extra_names = vec!["ca.camford.ac.uk".into()];
        config.ca.organization = "University of \"Camford\"".into();
        config.ssl.custom_fields = vec![CustomFieldConfig {
            name: "Cost centre".into(),
            mandatory: true,
        }];
        config.validation.dns_servers = vec!["127.0.0.1:5353".into()];
        config.acme.servers = castellan_ra::acme_accounts::default_servers();
        config.acme.servers[0].authorization =
            castellan_ra::acme_accounts::AuthorizationMode::Challenges;
        let text = config.to_documented_toml().unwrap();
        assert_eq!(toml::from_str::<Config>(&text).unwrap(), config);
    }

    #[test]
    fn the_scan_time_is_a_time_of_day() {
        let at = |t: &str| NotificationsConfig { scan_at: t.into() }.scan_minute();
        assert_eq!(at("06:00"), Ok(360));
        assert_eq!(at("23:59"), Ok(1439));
        assert_eq!(at(" 0:05 "), Ok(5));
        for bad in ["24:00", "6", "06:60", "six", ""] {
            assert_eq!(
                at(bad),
                Err(format!(
                    "notifications.scan_at '{bad}' must be a time of day HH:MM (UTC), e.g. 06:00"
                ))
            );
        }
    }

    #[test]
    fn the_ecc_curves_are_p256_or_p384() {
        let mut config = Config::default();
        let setup = config.ca_setup().unwrap();
        assert_eq!(
            (setup.ecc_root_curve, setup.ecc_issuing_curve),
            (KeyType::EcP384, KeyType::EcP384)
        );
        config.ca.ecc_issuing_curve = "p256".into();
        assert_eq!(
            config.ca_setup().unwrap().ecc_issuing_curve,
            KeyType::EcP256
        );
        for bad in ["P-521", "rsa2048", ""] {
            config.ca.ecc_issuing_curve = bad.into();
            assert_eq!(
                check(&config).unwrap_err().to_string(),
                format!(
                    "invalid configuration: ca.ecc_issuing_curve '{bad}' must be P-256 or P-384"
                )
            );
        }
        // A configuration written before the curves were settings reads as the defaults.
        let text = Config::default().to_documented_toml().unwrap();
        let old: String = text
            .lines()
            .filter(|l| !l.starts_with("ecc_root_curve") && !l.starts_with("ecc_issuing_curve"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_ne!(old, text);
        assert_eq!(toml::from_str::<Config>(&old).unwrap(), Config::default());
    }

    #[test]
    fn base_host_is_taken_from_the_url() {
        let mut config = Config::default();
        assert_eq!(config.base_host().as_deref(), Some("localhost"));
        config.base_url = "https://CA.Camford.ac.uk/portal".into();
        assert_eq!(config.base_host().as_deref(), Some("ca.camford.ac.uk"));
        config.base_url = "https://[::1]:8443".into();
        assert_eq!(config.base_host().as_deref(), Some("::1"));
    }
}
