//! `report`: the table of a run's results (the JSON lines `run --results` appended), one row
//! per (peer, concurrency), the ratio of the first peer's orders/s to the second's at each
//! concurrency, and the target's verdict.

use crate::load::{LevelResult, STEPS};
use anyhow::{Context, Result, bail};
use std::collections::BTreeSet;
use std::path::PathBuf;

/// Other processes' CPU (percent of one core) above which a level's figures are suspect.
const DISTURBED_PCT: f64 = 10.0;

#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    /// The results file `run --results` appended to.
    #[arg(long)]
    results: PathBuf,
    /// The peer whose orders/s is the numerator of the ratio.
    #[arg(long, default_value = "castellan")]
    ours: String,
    /// The peer it is compared with.
    #[arg(long, default_value = "pebble")]
    peer: String,
    /// The target ratio …
    #[arg(long, default_value_t = 3.0)]
    target: f64,
    /// … at these concurrency levels.
    #[arg(long, value_delimiter = ',', default_value = "16,64")]
    target_levels: Vec<usize>,
}

pub fn run(args: ReportArgs) -> Result<()> {
    let text = std::fs::read_to_string(&args.results)
        .with_context(|| format!("reading {}", args.results.display()))?;
    let mut results = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let r: LevelResult = serde_json::from_str(line)
            .with_context(|| format!("{} line {}", args.results.display(), i + 1))?;
        results.push(r);
    }
    if results.is_empty() {
        bail!("{} holds no results", args.results.display());
    }
    let levels: BTreeSet<usize> = results.iter().map(|r| r.concurrency).collect();
    let find = |peer: &str, c: usize| {
        results
            .iter()
            .rev()
            .find(|r| r.peer == peer && r.concurrency == c)
    };
    let first = &results[0];
    println!(
        "castellan-acme-load: full ACME orders (new-order, authorizations, [http-01 challenge], finalize, \
         certificate), {} s per level",
        first.seconds
    );
    let first_head = format!("first {} s", first.first_seconds);
    println!(
        "{:<10} {:>4} {:>7} {:>9} {:>10} {:>8} {:>8} {:>6} {:>9} {:>8} {:>11} {:>10} {:>9} {:>8}",
        "peer",
        "conc",
        "orders",
        "orders/s",
        first_head,
        "p50 ms",
        "p99 ms",
        "errors",
        "req/order",
        "polls/o",
        "srv CPU ms/o",
        "srv CPU %",
        "gen CPU %",
        "other %"
    );
    for &c in &levels {
        for peer in [&args.peer, &args.ours] {
            let Some(r) = find(peer, c) else { continue };
            println!(
                "{:<10} {:>4} {:>7} {:>9.1} {:>10.1} {:>8.2} {:>8.2} {:>6} {:>9.1} {:>8.2} {:>11} {:>10} {:>9.0} {:>8.0}",
                r.peer,
                r.concurrency,
                r.orders,
                r.orders_per_s,
                r.first_orders_per_s,
                r.p50_ms,
                r.p99_ms,
                r.errors,
                r.requests_per_order,
                r.polls_per_order,
                r.server_cpu_ms_per_order
                    .map_or("-".into(), |v| format!("{v:.2}")),
                r.server_cpu_pct.map_or("-".into(), |v| format!("{v:.0}")),
                r.generator_cpu_pct,
                r.other_cpu_pct,
            );
        }
    }
    println!();
    println!("mean ms per order in each step:");
    print!("{:<10} {:>4}", "peer", "conc");
    for s in STEPS {
        print!(" {s:>12}");
    }
    println!(" {:>9}", "CSR µs");
    for &c in &levels {
        for peer in [&args.peer, &args.ours] {
            let Some(r) = find(peer, c) else { continue };
            print!("{:<10} {:>4}", r.peer, r.concurrency);
            for v in &r.steps_ms {
                print!(" {v:>12.2}");
            }
            println!(" {:>9.0}", r.csr_us);
        }
    }
    println!();
    // A target level without both peers' figures is not met.
    let mut verdict = args
        .target_levels
        .iter()
        .all(|&c| find(&args.ours, c).is_some() && find(&args.peer, c).is_some());
    let mut ratios = Vec::new();
    for &c in &levels {
        let (Some(ours), Some(peer)) = (find(&args.ours, c), find(&args.peer, c)) else {
            continue;
        };
        let ratio = if peer.orders_per_s > 0.0 {
            ours.orders_per_s / peer.orders_per_s
        } else {
            f64::INFINITY
        };
        let first = if peer.first_orders_per_s > 0.0 {
            ours.first_orders_per_s / peer.first_orders_per_s
        } else {
            f64::INFINITY
        };
        ratios.push(format!(
            "c={c}: {ratio:.2}× (first {} s: {first:.2}×)",
            ours.first_seconds
        ));
        if args.target_levels.contains(&c) && ratio < args.target {
            verdict = false;
        }
    }
    // No level measured for both (`PEBBLE=0`, `CALLGRIND=1`): there is no ratio to judge.
    let compared = !ratios.is_empty();
    println!(
        "ratio {}/{} orders/s: {}",
        args.ours,
        args.peer,
        if compared {
            ratios.join(", ")
        } else {
            format!(
                "not measured (no level has figures for both {} and {})",
                args.ours, args.peer
            )
        }
    );
    let errors: u64 = results.iter().map(|r| r.errors).sum();
    let bad_nonce: u64 = results.iter().map(|r| r.bad_nonce).sum();
    println!("failed orders: {errors}; badNonce answers retried: {bad_nonce}");
    // The rows shown: the last result of each (peer, concurrency), as a repeated level
    // replaces the one before it.
    let shown: Vec<&LevelResult> = levels
        .iter()
        .flat_map(|&c| [find(&args.peer, c), find(&args.ours, c)])
        .flatten()
        .collect();
    let repeated = results.len() - shown.len();
    if repeated > 0 {
        println!(
            "{repeated} earlier measurements of a level were replaced by a repeat of that level"
        );
    }
    let disturbed: Vec<String> = shown
        .iter()
        .filter(|r| r.other_cpu_pct > DISTURBED_PCT)
        .map(|r| format!("{} c={} ({:.0}%)", r.peer, r.concurrency, r.other_cpu_pct))
        .collect();
    if !disturbed.is_empty() {
        println!(
            "DISTURBED: other processes used more than {DISTURBED_PCT}% of a core during: {}; run again on a quiet machine",
            disturbed.join(", ")
        );
    }
    println!(
        "target: {} >= {}× {}'s orders/s at concurrency {}: {}",
        args.ours,
        args.target,
        args.peer,
        args.target_levels
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(" and "),
        match (compared, verdict) {
            (false, _) => "not measured",
            (true, true) => "met",
            (true, false) => "MISSED",
        }
    );
    Ok(())
}
