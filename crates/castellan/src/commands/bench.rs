//! `castellan bench`: leaf issuances per second through the full path (CSR parse and
//! signature check, key policy, profile rules, lints, signing, storing request and
//! certificate), set against the raw signing rate of the same issuing key measured in the
//! same run with the same concurrency. The ratio is the figure (`docs/benchmarks.md`).

use super::init::initialise;
use crate::cli::BenchArgs;
use crate::config::Config;
use anyhow::{Context, Result, bail};
use castellan_model::{Hierarchy, KeyType, OrganizationDetails};
use castellan_pki::signer::SoftwareSigner;
use castellan_ra::setup::FirstAdmin;
use castellan_ra::{Authority, IssueCommand, KeySource};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// Measurement rounds per leaf type.
const ROUNDS: usize = 3;
/// Issuances before the first round (caches, connections, the allocator).
const WARM_UP: usize = 20;

struct Row {
    leaf: &'static str,
    issuing_key: String,
    issuance_rate: f64,
    signing_rate: f64,
    ratio: f64,
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

fn command(csr: Vec<u8>) -> IssueCommand {
    IssueCommand {
        profile: "OV SSL".into(),
        key: KeySource::Csr(csr),
        term_days: 90,
        extra_names: Vec::new(),
        organization_id: None,
        organization: Some(OrganizationDetails {
            name: "Castellan Benchmark".into(),
            locality: Some("Bristol".into()),
            country: "GB".into(),
            ..OrganizationDetails::default()
        }),
        person: None,
        requested_via: "Benchmark".into(),
        requester: "bench".into(),
    }
}

/// Runs `count` jobs over `concurrency` tasks; returns jobs per second.
async fn rate<F, Fut>(count: usize, concurrency: usize, job: F) -> Result<f64>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<()>> + Send,
{
    let job = Arc::new(job);
    let per_task = count.div_ceil(concurrency);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let job = job.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..per_task {
                job().await?;
            }
            Ok::<(), anyhow::Error>(())
        }));
    }
    for task in tasks {
        task.await.context("a benchmark task failed")??;
    }
    let elapsed = start.elapsed().max(Duration::from_micros(1));
    Ok((per_task * concurrency) as f64 / elapsed.as_secs_f64())
}

async fn measure(
    authority: &Arc<Authority>,
    leaf: &'static str,
    key_type: KeyType,
    args: &BenchArgs,
) -> Result<Row> {
    let key = castellan_pki::keys::generate(key_type)?;
    let signer = SoftwareSigner::from_pkcs8(&key.pkcs8)?;
    let per_round = args.count.div_ceil(ROUNDS);
    // A CSR of its own for every issuance, made before anything is timed (one key, a name
    // each): a CSR whose exact bytes verified lately is not verified again (`pki::csr`), and
    // real traffic does not send the same CSR over and over.
    let issuances = WARM_UP + ROUNDS * per_round.div_ceil(args.concurrency) * args.concurrency;
    let csrs = Arc::new(
        (0..issuances)
            .map(|i| castellan_pki::csr::create(&signer, &format!("www{i}.bench.example.com"), &[]))
            .collect::<std::result::Result<Vec<_>, _>>()?,
    );
    let next = Arc::new(AtomicUsize::new(0));
    let take = move || csrs[next.fetch_add(1, Ordering::Relaxed) % csrs.len()].clone();
    let hierarchy = if key_type.is_rsa() {
        Hierarchy::Rsa
    } else {
        Hierarchy::Ecc
    };
    let issuing = authority
        .issuing_signer(hierarchy)
        .context("no issuing CA loaded")?;

    // Warm up caches, connections and the allocator.
    for _ in 0..WARM_UP {
        authority.issue_certificate(command(take())).await?;
    }
    // Issuance and raw signing take turns, so a noisy neighbour on the machine weighs on
    // both; the median of the rounds is reported.
    let mut issuance = Vec::new();
    let mut signing = Vec::new();
    let take = Arc::new(take);
    for _ in 0..ROUNDS {
        let a = authority.clone();
        let take = take.clone();
        issuance.push(
            rate(per_round, args.concurrency, move || {
                let a = a.clone();
                let csr = take();
                async move {
                    a.issue_certificate(command(csr)).await?;
                    Ok(())
                }
            })
            .await?,
        );
        // The same key signing a message the size of a TBSCertificate, same concurrency.
        let message = Arc::new(vec![0x5au8; 700]);
        let s = issuing.clone();
        signing.push(
            rate(per_round, args.concurrency, move || {
                let s = s.clone();
                let m = message.clone();
                async move {
                    s.sign(&m)?;
                    Ok(())
                }
            })
            .await?,
        );
    }
    let ratios: Vec<f64> = issuance.iter().zip(&signing).map(|(i, s)| i / s).collect();
    let issuance_rate = median(issuance);
    let signing_rate = median(signing);
    let ratio = median(ratios);
    Ok(Row {
        leaf,
        issuing_key: issuing.key_type().to_string(),
        issuance_rate,
        signing_rate,
        ratio,
    })
}

/// `castellan bench`.
pub async fn run(args: BenchArgs) -> Result<()> {
    super::init_logging("warn");
    if args.count == 0 || args.concurrency == 0 {
        bail!("--count and --concurrency must be at least 1");
    }
    let scratch = std::env::temp_dir().join(format!("castellan-bench-{}", std::process::id()));
    if scratch.exists() {
        std::fs::remove_dir_all(&scratch)?;
    }
    let config = Config {
        sqlite_synchronous: args.sqlite_synchronous.clone(),
        ..Config::default()
    };
    eprintln!(
        "Creating a CA with the production defaults in {} ...",
        scratch.display()
    );
    let admin = FirstAdmin {
        login: "bench".into(),
        email: "bench@localhost".into(),
        password: Zeroizing::new("benchmark password".into()),
    };
    let result = async {
        initialise(&scratch, &config, admin, false).await?;
        let (_, authority) = super::load_authority(&scratch, None).await?;
        let mut rows = Vec::new();
        for (leaf, key_type) in [
            ("ECDSA P-256", KeyType::EcP256),
            ("RSA-2048", KeyType::Rsa(2048)),
        ] {
            if !args.leaves.is_empty() && !args.leaves.contains(&key_type.short_name()) {
                continue;
            }
            eprintln!(
                "Measuring {leaf} leaves ({} issuances, {} tasks) ...",
                args.count, args.concurrency
            );
            rows.push(measure(&authority, leaf, key_type, &args).await?);
        }
        authority.store().close().await;
        Ok::<_, anyhow::Error>(rows)
    }
    .await;
    let _ = std::fs::remove_dir_all(&scratch);
    let rows = result?;

    println!(
        "castellan bench: {} issuances per row, {} concurrent tasks, {} cores, SQLite synchronous={}",
        args.count,
        args.concurrency,
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        args.sqlite_synchronous
    );
    println!(
        "{:<12} {:<14} {:>14} {:>14} {:>8}",
        "leaf key", "issuing key", "issued/s", "signed/s", "ratio"
    );
    println!(
        "(medians of {ROUNDS} rounds in which issuance and raw signing with the issuing key take turns)"
    );
    for row in &rows {
        println!(
            "{:<12} {:<14} {:>14.0} {:>14.0} {:>7.1}%",
            row.leaf,
            row.issuing_key,
            row.issuance_rate,
            row.signing_rate,
            100.0 * row.ratio
        );
    }
    Ok(())
}
