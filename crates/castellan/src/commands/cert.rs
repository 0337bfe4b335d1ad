//! `castellan cert issue | show | download`: the operator's way to the same `ra` functions
//! the APIs use.

use crate::cli::{DownloadArgs, IssueArgs};
use anyhow::{Context, Result, anyhow, bail};
use castellan_model::{DownloadFormat, KeyType, OrganizationDetails, PersonDetails};
use castellan_ra::{CertificateSelector, IssueCommand, KeySource, requested_via};
use std::io::Write;
use std::path::Path;
use zeroize::Zeroizing;

fn parse_format(name: &str) -> Result<DownloadFormat> {
    DownloadFormat::from_scm_name(name).ok_or_else(|| {
        let names: Vec<&str> = DownloadFormat::ALL.iter().map(|f| f.scm_name()).collect();
        anyhow!(
            "unknown format '{name}'; the formats are: {}",
            names.join(", ")
        )
    })
}

fn read_toml<T: serde::de::DeserializeOwned>(path: &Path, what: &str) -> Result<T> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    toml::from_str(&text)
        .map_err(|e| anyhow!("{what} file {}: {}", path.display(), e.to_string().trim()))
}

fn read_passphrase(path: Option<&Path>) -> Result<Option<Zeroizing<String>>> {
    path.map(|p| {
        std::fs::read_to_string(p)
            .map(|s| Zeroizing::new(s.trim_end_matches(['\r', '\n']).to_owned()))
            .with_context(|| format!("cannot read the passphrase file {}", p.display()))
    })
    .transpose()
}

fn write_output(out: Option<&Path>, bytes: &[u8], private: bool) -> Result<()> {
    match out {
        Some(path) => {
            if private {
                crate::datadir::write_private(path, bytes)
            } else {
                std::fs::write(path, bytes)
                    .with_context(|| format!("cannot write {}", path.display()))
            }
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(bytes)
                .and_then(|()| stdout.flush())
                .context("cannot write to standard output")
        }
    }
}

/// Downloads a certificate in `format` and writes it to `out` (0600 when it carries a key)
/// or to standard output.
async fn save_download(
    authority: &castellan_ra::Authority,
    selector: &CertificateSelector,
    format: DownloadFormat,
    passphrase: Option<&str>,
    out: Option<&Path>,
) -> Result<()> {
    let download = authority.download(selector, format, passphrase).await?;
    write_output(out, &download.bytes, format.needs_private_key())
}

/// `castellan cert issue`.
pub async fn issue(dir: &Path, args: IssueArgs) -> Result<()> {
    super::init_logging("warn");
    let format = parse_format(&args.format)?;
    let passphrase = read_passphrase(args.passphrase_file.as_deref())?;
    let key = match (&args.csr, &args.generate_key) {
        (Some(path), None) => KeySource::Csr(
            std::fs::read(path)
                .with_context(|| format!("cannot read the CSR {}", path.display()))?,
        ),
        (None, Some(kind)) => {
            KeySource::Generate(KeyType::from_short_name(kind).ok_or_else(|| {
                anyhow!("unknown key type '{kind}'; use rsa2048, rsa3072, rsa4096, p256 or p384")
            })?)
        }
        _ => bail!("give either --csr FILE or --generate-key TYPE"),
    };
    if format.needs_private_key() {
        if !matches!(key, KeySource::Generate(_)) {
            bail!(
                "format '{format}' carries the private key, which only exists here with \
                 --generate-key; with a CSR, the key never leaves the requester"
            );
        }
        if passphrase.is_none() {
            bail!("format '{format}' needs --passphrase-file to protect the private key");
        }
    }
    let organization: Option<OrganizationDetails> = args
        .organization
        .as_deref()
        .map(|p| read_toml(p, "organization"))
        .transpose()?;
    let person: Option<PersonDetails> = args
        .person
        .as_deref()
        .map(|p| read_toml(p, "person"))
        .transpose()?;

    let (_, authority) = super::load_authority(dir, None).await?;
    let issued = authority
        .issue_certificate(IssueCommand {
            profile: args.profile,
            key,
            term_days: args.term,
            extra_names: args.names,
            organization_id: args.org_id.map(castellan_model::OrgId),
            organization,
            person,
            requested_via: requested_via::CLI.into(),
            requester: whoami(),
        })
        .await?;
    save_download(
        &authority,
        &CertificateSelector::Id(issued.id),
        format,
        passphrase.as_ref().map(|p| p.as_str()),
        args.out.as_deref(),
    )
    .await?;
    eprintln!(
        "Issued certificate {} (id {}) under '{}' for {}, valid until {}",
        issued.leaf.serial.to_colon_hex(),
        issued.id,
        issued.profile,
        issued.leaf.subject,
        super::format_time(issued.leaf.not_after)
    );
    Ok(())
}

fn whoami() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .map(|u| format!("cli:{u}"))
        .unwrap_or_else(|_| "cli".into())
}

/// `castellan cert show`.
pub async fn show(dir: &Path, serial: &str) -> Result<()> {
    super::init_logging("warn");
    let (_, authority) = super::load_authority(dir, None).await?;
    let record = authority
        .certificate(&CertificateSelector::Serial(serial.to_owned()))
        .await?;
    let cert = &record.certificate;
    let info = castellan_pki::inspect::inspect(&cert.der)?;
    let profile = authority
        .profiles()
        .by_id(cert.profile_id)
        .map(|p| p.name.clone())
        .unwrap_or_else(|| format!("(profile {})", cert.profile_id));
    println!("Certificate {}", info.serial.to_colon_hex());
    println!("  id:          {}", record.id);
    println!("  status:      {}", cert.status);
    println!("  profile:     {profile}");
    println!("  subject:     {}", info.subject);
    println!("  issuer:      {}", info.issuer);
    println!(
        "  names:       {}",
        info.dns_names
            .iter()
            .chain(info.emails.iter())
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("  key:         {}", cert.key_type);
    println!(
        "  valid:       {} to {}",
        super::format_time(info.not_before),
        super::format_time(info.not_after)
    );
    println!(
        "  SHA-256:     {}",
        super::colon_hex(&cert.sha256_fingerprint)
    );
    println!(
        "  SHA-1:       {}",
        super::colon_hex(&cert.sha1_fingerprint)
    );
    println!(
        "  private key: {}",
        if cert.encrypted_private_key.is_some() {
            "held by Castellan (encrypted)"
        } else {
            "held by the requester"
        }
    );
    if let Some(request_id) = cert.request_id
        && let Some(request) = authority.store().request_by_id(request_id).await?
    {
        println!(
            "  requested:   {} via {} by {}",
            super::format_time(request.request.created_at),
            request.request.requested_via,
            request.request.requester
        );
    }
    Ok(())
}

/// `castellan cert download`.
pub async fn download(dir: &Path, args: DownloadArgs) -> Result<()> {
    super::init_logging("warn");
    let format = parse_format(&args.format)?;
    let passphrase = read_passphrase(args.passphrase_file.as_deref())?;
    let (_, authority) = super::load_authority(dir, None).await?;
    save_download(
        &authority,
        &CertificateSelector::Serial(args.serial),
        format,
        passphrase.as_ref().map(|p| p.as_str()),
        args.out.as_deref(),
    )
    .await
}
