//! `castellan audit verify`: walks the audit log's hash chain.

use anyhow::{Result, bail};
use std::path::Path;

/// Verifies the chain; an error (exit status 1) names the first broken entry.
pub async fn verify(dir: &Path) -> Result<()> {
    super::init_logging("warn");
    let (_, authority) = super::load_authority(dir, None).await?;
    let report = authority.verify_audit().await?;
    match report.first_broken {
        None => {
            println!(
                "audit log intact: {} entries, every hash and link checked",
                report.rows
            );
            Ok(())
        }
        Some((entry, problem)) => bail!(
            "audit log broken at entry {entry}: {problem} ({} entries read). Restore the \
             database from a backup and investigate who had write access",
            report.rows
        ),
    }
}
