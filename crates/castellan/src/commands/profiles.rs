//! `castellan profiles list`.

use anyhow::Result;
use std::path::Path;

/// Lists the profiles.
pub async fn list(dir: &Path) -> Result<()> {
    let config = super::read_config(dir, None)?;
    let profiles = crate::datadir::load_profiles(&config, dir)?;
    println!(
        "{:>4}  {:<36} {:<9} {:<12} {:<18} keys",
        "id", "name", "type", "level", "terms (days)"
    );
    for p in profiles.iter() {
        let terms: Vec<String> = p.terms.iter().map(u32::to_string).collect();
        let keys: Vec<String> = p.allowed_keys().iter().map(|k| k.short_name()).collect();
        println!(
            "{:>4}  {:<36} {:<9} {:<12} {:<18} {}",
            p.id.0,
            p.name,
            p.certificate_type.as_str(),
            p.validation_level.as_str(),
            terms.join(", "),
            keys.join(" ")
        );
    }
    Ok(())
}
