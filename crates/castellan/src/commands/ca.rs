//! `castellan ca show`.

use anyhow::Result;
use std::path::Path;

/// Prints the hierarchy (and with `pem`, every CA certificate).
pub async fn show(dir: &Path, pem: bool) -> Result<()> {
    super::init_logging("warn");
    let (_, authority) = super::load_authority(dir, None).await?;
    let cas = authority.hierarchy();
    println!(
        "Certificate authorities of /customer/{}/:",
        authority.customer_uri()
    );
    super::print_hierarchy(&cas);
    if pem {
        for ca in &cas {
            if let Some(der) = authority.ca_certificate(&ca.slug) {
                print!("{}", castellan_pki::encode::pem_encode("CERTIFICATE", &der));
            }
        }
    }
    Ok(())
}
