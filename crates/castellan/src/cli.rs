//! The command line.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Castellan: a self-hosted certificate service.
#[derive(Debug, Parser)]
#[command(name = "castellan", version, about, long_about = None)]
pub struct Cli {
    /// The data directory (configuration, SQLite database, key-encryption key, profiles).
    #[arg(
        long,
        global = true,
        env = "CASTELLAN_DATA_DIR",
        default_value = "data"
    )]
    pub data_dir: PathBuf,

    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a data directory: configuration, database, CA hierarchy, first administrator.
    Init(InitArgs),
    /// Run the service (initialising the data directory first if it does not exist).
    Serve(ServeArgs),
    /// The certificate authorities.
    #[command(subcommand)]
    Ca(CaCommand),
    /// Certificates: issue, show, download.
    #[command(subcommand)]
    Cert(CertCommand),
    /// Certificate revocation lists.
    #[command(subcommand)]
    Crl(CrlCommand),
    /// The certificate profiles.
    #[command(subcommand)]
    Profiles(ProfilesCommand),
    /// Measure issuance throughput against the raw signing rate of the issuing key.
    Bench(BenchArgs),
    /// The audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
}

/// `castellan audit …`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the audit log's hash chain; exits 1 and names the first broken entry if any
    /// entry was edited, removed or reordered.
    Verify,
}

/// `castellan init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Login of the first operator administrator (MRAO).
    #[arg(long)]
    pub admin_login: String,
    /// File holding the first administrator's initial password (at least 12 characters).
    #[arg(long)]
    pub admin_password_file: PathBuf,
    /// E-mail address of the first administrator.
    #[arg(long)]
    pub admin_email: Option<String>,
    /// The customer URI: the portal lives at /customer/<URI>/.
    #[arg(long)]
    pub customer_uri: Option<String>,
    /// The public URL of the portal and APIs.
    #[arg(long)]
    pub base_url: Option<String>,
    /// The plain-HTTP URL for CA certificates, CRLs and OCSP (goes into every certificate).
    #[arg(long)]
    pub pki_base_url: Option<String>,
    /// PostgreSQL URL instead of the embedded SQLite database.
    #[arg(long, env = "CASTELLAN_DATABASE_URL")]
    pub database_url: Option<String>,
    /// A configuration file to start from (CA names, key sizes, validity, ...).
    #[arg(long)]
    pub config: Option<PathBuf>,
}

/// `castellan serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (e.g. 0.0.0.0:8443; port 0 picks a free port).
    #[arg(long)]
    pub listen: Option<String>,
    /// Serve plain HTTP instead of HTTPS (for loopback and tests).
    #[arg(long)]
    pub http: bool,
    /// Address of the plain-HTTP OCSP/CRL/CA-certificate listener (overrides pki_listen;
    /// port 0 picks a free port; empty for none).
    #[arg(long)]
    pub pki_listen: Option<String>,
    /// PostgreSQL URL instead of the embedded SQLite database.
    #[arg(long, env = "CASTELLAN_DATABASE_URL")]
    pub database_url: Option<String>,
}

/// `castellan ca …`.
#[derive(Debug, Subcommand)]
pub enum CaCommand {
    /// Show the hierarchy: subjects, keys, fingerprints, expiry.
    Show {
        /// Also print each CA certificate in PEM.
        #[arg(long)]
        pem: bool,
    },
}

/// `castellan crl …`.
#[derive(Debug, Subcommand)]
pub enum CrlCommand {
    /// Publish now every CRL that is due (missing, behind a revocation, or past its
    /// refresh period), without waiting for the running service's next round.
    Publish {
        /// Publish every CRL anew, due or not.
        #[arg(long)]
        force: bool,
    },
}

/// `castellan cert …`.
#[derive(Debug, Subcommand)]
pub enum CertCommand {
    /// Issue a certificate from a CSR (or a key Castellan generates) under a profile.
    Issue(IssueArgs),
    /// Show a certificate by serial number.
    Show {
        /// Serial number, hex (colons allowed).
        serial: String,
    },
    /// Download a certificate in one of the SCM formats.
    Download(DownloadArgs),
}

/// `castellan cert issue`.
#[derive(Debug, Args)]
pub struct IssueArgs {
    /// Profile name (e.g. "OV SSL") or id.
    #[arg(long)]
    pub profile: String,
    /// The CSR file (PEM, base64 or DER).
    #[arg(
        long,
        conflicts_with = "generate_key",
        required_unless_present = "generate_key"
    )]
    pub csr: Option<PathBuf>,
    /// Generate the key pair on the server instead (rsa2048, rsa3072, rsa4096, p256, p384);
    /// it is kept encrypted for a PKCS#12 download.
    #[arg(long)]
    pub generate_key: Option<String>,
    /// Term in days (one of the profile's terms).
    #[arg(long)]
    pub term: u32,
    /// Extra names: DNS names (or e-mail addresses for client certificates).
    #[arg(long = "name")]
    pub names: Vec<String>,
    /// The organisation or department (its id) the certificate is for: its stored details
    /// go into the subject, and it must be Validated and enabled for the certificate type.
    #[arg(long, conflicts_with = "organization")]
    pub org_id: Option<i64>,
    /// The organisation's details (TOML: name, locality, state, country, ev, ...), for an
    /// organisation not kept in Castellan.
    #[arg(long)]
    pub organization: Option<PathBuf>,
    /// The person's details for client certificates (TOML: given_name, surname, email).
    #[arg(long)]
    pub person: Option<PathBuf>,
    /// Output format: pem, pemco, pemia, x509, x509CO, x509IO, x509IOR, x509R, base64, bin,
    /// pkcs12, pkcs12-legacy.
    #[arg(long, default_value = "x509CO")]
    pub format: String,
    /// Write the output here instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// File holding the PKCS#12 passphrase.
    #[arg(long)]
    pub passphrase_file: Option<PathBuf>,
}

/// `castellan cert download`.
#[derive(Debug, Args)]
pub struct DownloadArgs {
    /// Serial number, hex (colons allowed).
    pub serial: String,
    /// Format (see `cert issue --help`).
    #[arg(long, default_value = "x509CO")]
    pub format: String,
    /// Write here instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// File holding the PKCS#12 passphrase.
    #[arg(long)]
    pub passphrase_file: Option<PathBuf>,
}

/// `castellan profiles …`.
#[derive(Debug, Subcommand)]
pub enum ProfilesCommand {
    /// List the profiles with their terms and keys.
    List,
}

/// `castellan bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Issuances (and signatures) per leaf type, spread over the rounds.
    #[arg(long, default_value_t = 12000)]
    pub count: usize,
    /// Concurrent tasks (requests in flight), for issuance and signing alike.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// SQLite durability for the benchmark database: full or normal.
    #[arg(long, default_value = "full")]
    pub sqlite_synchronous: String,
    /// Which leaf keys to measure: p256, rsa2048 (repeat the flag; default both).
    #[arg(long = "leaf")]
    pub leaves: Vec<String>,
}
