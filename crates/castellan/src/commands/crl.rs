//! `castellan crl publish`: publish the CRLs that are due (or, with `--force`, all of them)
//! now, instead of waiting for the serve job's next round. Operators use it after an
//! incident; the revocation benchmark (`scripts/bench-revocation`) uses it as its measuring
//! point, which is why it reports the time taken and the process's peak memory.

use anyhow::Result;
use std::path::Path;
use std::time::Instant;

/// Publishes the due CRLs (every CRL with `force`) and prints one line per CRL, the time
/// the round took and the peak resident memory of this process.
pub async fn publish(dir: &Path, force: bool) -> Result<()> {
    super::init_logging("warn");
    let (_, authority) = super::load_authority(dir, None).await?;
    let started = Instant::now();
    let published = authority.publish_crls(force).await;
    let elapsed = started.elapsed();
    authority.store().close().await;
    let published = published?;
    for crl in &published {
        println!(
            "CRL {} shard {}: number {}, {} entries, {} bytes",
            crl.ca, crl.shard, crl.number, crl.entries, crl.bytes
        );
    }
    if published.is_empty() {
        println!("No CRL was due; none published (--force publishes every CRL anew).");
    } else {
        // The authority reports no time per CRL, so the round is timed as a whole.
        println!(
            "Published {} CRLs in {:.2} s.",
            published.len(),
            elapsed.as_secs_f64()
        );
    }
    match std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| peak_resident_kib(&status))
    {
        Some(kib) => println!("peak memory: {} MB", kib_to_mb(kib)),
        None => println!("peak memory: unknown"),
    }
    Ok(())
}

/// The `VmHWM` (peak resident set size) of a `/proc/<pid>/status` text, in KiB.
fn peak_resident_kib(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().strip_suffix("kB"))
        .and_then(|n| n.trim().parse().ok())
}

/// KiB to decimal megabytes (10^6 bytes), rounded: the unit the benchmark targets use.
fn kib_to_mb(kib: u64) -> u64 {
    kib.saturating_mul(1024).saturating_add(500_000) / 1_000_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_peak_from_proc_status() {
        let status =
            "Name:\tcastellan\nVmPeak:\t  400000 kB\nVmHWM:\t  123456 kB\nVmRSS:\t 1000 kB\n";
        assert_eq!(peak_resident_kib(status), Some(123_456));
        assert_eq!(peak_resident_kib("Name:\tcastellan\n"), None);
        assert_eq!(peak_resident_kib("VmHWM:\t lots kB\n"), None);
    }

    #[test]
    fn megabytes_are_decimal_and_rounded() {
        assert_eq!(kib_to_mb(0), 0);
        assert_eq!(kib_to_mb(292_969), 300); // 299,999,256 bytes
        assert_eq!(kib_to_mb(488), 0); // 499,712 bytes
        assert_eq!(kib_to_mb(489), 1); // 500,736 bytes
    }
}
