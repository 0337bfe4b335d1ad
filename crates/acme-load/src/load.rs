//! `run`: full ACME orders against one server at one or more concurrency levels.
//!
//! Each worker has its own ACME account (registered before any timed window) and runs one
//! order after another: new-order for one DNS name of its own (`o<n>.w<worker>.<tag>.<domain>`,
//! never ordered before), each authorization fetched, the http-01 challenge of a `pending`
//! one answered (Pebble with `PEBBLE_VA_ALWAYS_VALID`; Castellan's pre-validated server hands
//! out `valid` authorizations), the order polled until `ready`, finalized with a CSR, polled
//! until `valid`, and the certificate chain downloaded.
//!
//! **Keys and CSRs.** Every order gets a fresh P-256 key and a CSR for its name (rcgen on
//! aws-lc-rs), made by the worker just before the order's clock starts: the key generation
//! is outside every latency, and its cost on the generator's core is the same for both
//! peers (`csr_us` in the results says how much).
//!
//! **The window.** After `--warmup` untimed orders per worker, every worker starts at the
//! same instant and starts orders until `--seconds` have passed. Orders/s counts the orders
//! completed inside the window; p50/p99 are over those orders' whole duration (new-order to
//! certificate). Orders still running at the end finish (and must succeed) but are not
//! counted. `first` is the rate over the first `--first-seconds` only (Pebble slows down as
//! its in-memory state grows).
//!
//! **Polling.** Between polls of an order the worker sleeps `--poll-ms` (1 ms), doubling up
//! to 64 ms; `Retry-After` is not waited for (loopback, and the same rule for both peers).
//! The polls per order are reported.
//!
//! **Errors** are never dropped: any failed order stops the level, and the run fails with
//! the server's problem document (and the first non-success answers seen on the wire).

use crate::http::Http;
use anyhow::{Context, Result, anyhow, bail, ensure};
use instant_acme::{
    Account, AccountCredentials, AuthorizationStatus, ChallengeType, Identifier, NewAccount,
    NewOrder, OrderStatus,
};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The steps of one order, timed separately.
pub const STEPS: [&str; 7] = [
    "new-order",
    "authz",
    "challenge",
    "until ready",
    "finalize",
    "until valid",
    "certificate",
];
const POLL_MAX: Duration = Duration::from_millis(64);
const POLL_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// The name of the server under test in the results (castellan, pebble).
    #[arg(long)]
    peer: String,
    /// Accounts registered by `setup` (JSON). Without it, fresh accounts are registered on
    /// `--directory` (no External Account Binding: Pebble).
    #[arg(long, conflicts_with = "directory")]
    accounts: Option<PathBuf>,
    /// The ACME directory URL, to register fresh accounts on.
    #[arg(long, required_unless_present = "accounts")]
    directory: Option<String>,
    /// The only CA trusted for HTTPS (Pebble's listener certificate's CA), PEM.
    #[arg(long)]
    ca: Option<PathBuf>,
    /// Concurrency levels (workers), measured one after the other.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
    concurrency: Vec<usize>,
    /// The timed window per level, in seconds.
    #[arg(long, env = "ACME_LOAD_SECONDS", default_value_t = 15.0)]
    seconds: f64,
    /// The early part of the window whose rate is reported as well, in seconds.
    #[arg(long, env = "ACME_LOAD_FIRST_SECONDS", default_value_t = 3.0)]
    first_seconds: f64,
    /// Untimed orders per worker before the window (connections, caches).
    #[arg(long, env = "ACME_LOAD_WARMUP", default_value_t = 2)]
    warmup: usize,
    /// The first wait before polling an order, in milliseconds (doubling up to 64).
    #[arg(long, env = "ACME_LOAD_POLL_MS", default_value_t = 1.0)]
    poll_ms: f64,
    /// The domain the names are under (setup's `--domain`).
    #[arg(long, default_value = "bench.example")]
    domain: String,
    /// The server's process id, to report its CPU time per order.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Appends one JSON line per level here (for `report`).
    #[arg(long)]
    results: Option<PathBuf>,
}

/// One (peer, concurrency) measurement.
#[derive(Debug, Serialize, Deserialize)]
pub struct LevelResult {
    pub peer: String,
    pub concurrency: usize,
    pub seconds: f64,
    /// Orders completed inside the window.
    pub orders: u64,
    pub orders_per_s: f64,
    pub first_seconds: f64,
    pub first_orders_per_s: f64,
    /// Orders completed in each second of the window.
    pub per_second: Vec<u64>,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub mean_ms: f64,
    pub max_ms: f64,
    /// Orders that failed (any failure also fails the run).
    pub errors: u64,
    /// Orders started in the window that finished after it (not counted).
    pub late: u64,
    /// Every order completed at this level: warm-up, counted and late.
    pub all_orders: u64,
    /// HTTP requests per order (nonce fetches and polls included), over every order of the
    /// level (warm-up and late ones too).
    pub requests_per_order: f64,
    pub polls_per_order: f64,
    /// badNonce answers (instant-acme retries them) and other non-success answers.
    pub bad_nonce: u64,
    pub http_failures: u64,
    /// Mean milliseconds per order in each of [`STEPS`].
    pub steps_ms: Vec<f64>,
    /// Microseconds to make one key and CSR (outside the latencies).
    pub csr_us: f64,
    /// CPU of this generator over the window, percent of one core.
    pub generator_cpu_pct: f64,
    /// CPU used by other processes over the window (user and system time; the `setup`
    /// process serving DNS counts here too), percent of one core. More than a few percent
    /// means the measurement was disturbed.
    pub other_cpu_pct: f64,
    /// CPU of the server over the window (with `--server-pid`).
    pub server_cpu_pct: Option<f64>,
    pub server_cpu_ms_per_order: Option<f64>,
    /// The first failures, with the server's problem documents.
    pub failures: Vec<String>,
}

/// An instant-acme error with the server's problem document spelled out, and the first
/// non-success answers the HTTP client saw (which hold bodies instant-acme could not parse).
/// Registers a new account at `directory` (with External Account Binding when `eab` is
/// given), as a client that agrees to the terms and gives no contact.
pub async fn register(
    http: &Http,
    directory: &str,
    eab: Option<&instant_acme::ExternalAccountKey>,
) -> Result<(Account, AccountCredentials)> {
    Account::builder_with_http(http.acme())
        .create(
            &NewAccount {
                contact: &[],
                terms_of_service_agreed: true,
                only_return_existing: false,
            },
            directory.to_owned(),
            eab,
        )
        .await
        .map_err(|e| acme_error(e, http))
}

pub fn acme_error(e: instant_acme::Error, http: &Http) -> anyhow::Error {
    let mut message = match &e {
        instant_acme::Error::Api(p) => {
            let mut m = format!(
                "problem document: status {}, type {}, detail {}",
                p.status.map_or("-".into(), |s| s.to_string()),
                p.r#type.as_deref().unwrap_or("-"),
                p.detail.as_deref().unwrap_or("-"),
            );
            for s in &p.subproblems {
                m.push_str(&format!("; subproblem {s}"));
            }
            m
        }
        other => format!("{other}"),
    };
    let kept = http.counters.kept_failures();
    if !kept.is_empty() {
        message.push_str("\nnon-success answers seen so far:");
        for k in kept {
            message.push_str("\n  ");
            message.push_str(&k);
        }
    }
    anyhow!(message)
}

/// A fresh P-256 key and a CSR (DER) for `name`: CN and the one SAN.
fn make_csr(name: &str) -> Result<Vec<u8>> {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
        .context("generating a P-256 key")?;
    let mut params =
        rcgen::CertificateParams::new(vec![name.to_owned()]).context("CSR parameters")?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    let csr = params.serialize_request(&key).context("signing the CSR")?;
    Ok(csr.der().to_vec())
}

/// What one worker measured.
#[derive(Default)]
struct WorkerOut {
    /// Duration of each counted order, microseconds.
    latencies_us: Vec<u64>,
    /// When each counted order completed, milliseconds after the window's start.
    completed_ms: Vec<u64>,
    late: u64,
    /// Every order this worker completed.
    completed: u64,
    steps: [Duration; STEPS.len()],
    polls: u64,
    csr: Duration,
    csrs: u64,
    failure: Option<String>,
}

async fn poll_until(
    order: &mut instant_acme::Order,
    name: &str,
    wanted: OrderStatus,
    waiting: &[OrderStatus],
    poll: Duration,
    polls: &mut u64,
) -> Result<(), PollError> {
    let deadline = Instant::now() + POLL_TIMEOUT;
    let mut delay = poll;
    let mut polled = false;
    loop {
        let url = order.url().to_owned();
        let state = order.state();
        if state.status == wanted {
            return Ok(());
        }
        if !waiting.contains(&state.status) {
            return Err(PollError::Plain(anyhow!(
                "order {url} for {name} is {:?} while waiting for {wanted:?}; its error: {:?}",
                state.status,
                state.error
            )));
        }
        if Instant::now() >= deadline {
            return Err(PollError::Plain(anyhow!(
                "order {url} for {name} still {:?} after {POLL_TIMEOUT:?}",
                state.status
            )));
        }
        // The first poll at once, then after `poll`, doubling.
        if polled {
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(POLL_MAX);
        }
        polled = true;
        order.refresh().await.map_err(PollError::Acme)?;
        *polls += 1;
    }
}

enum PollError {
    Acme(instant_acme::Error),
    Plain(anyhow::Error),
}

/// One full order; adds each step's time to `steps`.
async fn one_order(
    account: &Account,
    http: &Http,
    name: &str,
    csr: &[u8],
    poll: Duration,
    steps: &mut [Duration; STEPS.len()],
    polls: &mut u64,
) -> Result<()> {
    let e = |e| acme_error(e, http);
    let poll_error = |p: PollError| match p {
        PollError::Acme(a) => acme_error(a, http),
        PollError::Plain(p) => p,
    };
    let t = Instant::now();
    let identifiers = [Identifier::Dns(name.to_owned())];
    let mut order = account
        .new_order(&NewOrder::new(&identifiers))
        .await
        .map_err(e)
        .with_context(|| format!("new-order for {name}"))?;
    steps[0] += t.elapsed();
    {
        let mut authorizations = order.authorizations();
        loop {
            let t = Instant::now();
            let Some(next) = authorizations.next().await else {
                break;
            };
            let mut authz = next
                .map_err(e)
                .with_context(|| format!("an authorization for {name}"))?;
            steps[1] += t.elapsed();
            match authz.status {
                AuthorizationStatus::Valid => {}
                AuthorizationStatus::Pending => {
                    let t = Instant::now();
                    let mut challenge = authz
                        .challenge(ChallengeType::Http01)
                        .ok_or_else(|| anyhow!("no http-01 challenge for {name}"))?;
                    challenge
                        .set_ready()
                        .await
                        .map_err(e)
                        .with_context(|| format!("the http-01 challenge for {name}"))?;
                    steps[2] += t.elapsed();
                }
                other => bail!("the authorization for {name} is {other:?}"),
            }
        }
    }
    let t = Instant::now();
    poll_until(
        &mut order,
        name,
        OrderStatus::Ready,
        &[OrderStatus::Pending, OrderStatus::Processing],
        poll,
        polls,
    )
    .await
    .map_err(poll_error)?;
    steps[3] += t.elapsed();
    let t = Instant::now();
    order
        .finalize_csr(csr)
        .await
        .map_err(e)
        .with_context(|| format!("finalize of {} for {name}", order.url()))?;
    steps[4] += t.elapsed();
    let t = Instant::now();
    poll_until(
        &mut order,
        name,
        OrderStatus::Valid,
        &[OrderStatus::Ready, OrderStatus::Processing],
        poll,
        polls,
    )
    .await
    .map_err(poll_error)?;
    steps[5] += t.elapsed();
    let t = Instant::now();
    let chain = order
        .certificate()
        .await
        .map_err(e)
        .with_context(|| format!("the certificate of {} for {name}", order.url()))?
        .ok_or_else(|| anyhow!("order {} for {name}: no certificate", order.url()))?;
    steps[6] += t.elapsed();
    ensure!(
        chain.contains("-----BEGIN CERTIFICATE-----"),
        "the certificate of {} for {name} is not PEM: {chain:.200}",
        order.url()
    );
    Ok(())
}

/// Process CPU time (user + system) of `pid` (`self` or a number), from /proc.
fn cpu_time(pid: &str) -> Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat"))?;
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    // After the command name: state is field 3 (index 0), utime 14 and stime 15.
    let ticks = |i: usize| -> Result<u64> {
        fields
            .get(i)
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| anyhow!("/proc/{pid}/stat has no field {}", i + 3))
    };
    // USER_HZ is 100 on Linux.
    Ok(Duration::from_millis((ticks(11)? + ticks(12)?) * 10))
}

/// Time the whole machine (every core) spent running processes (user, nice and system time
/// from /proc/stat). Interrupt time is left out: most of it is this benchmark's own network
/// and disk I/O completions, which no process is charged for.
fn machine_busy() -> Result<Duration> {
    let stat = std::fs::read_to_string("/proc/stat").context("reading /proc/stat")?;
    let ticks: Vec<u64> = stat
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("cpu "))
        .map(|l| {
            l.split_whitespace()
                .filter_map(|f| f.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    ensure!(ticks.len() >= 3, "/proc/stat has no cpu line");
    // user nice system idle iowait irq softirq steal …
    Ok(Duration::from_millis(ticks[..3].iter().sum::<u64>() * 10))
}

struct Shared {
    http: Http,
    tag: String,
    domain: String,
    poll: Duration,
    abort: AtomicBool,
}

/// Runs orders on `account` as worker `w`: `count` of them (warm-up) or, with a window,
/// until it closes.
async fn worker(
    shared: Arc<Shared>,
    account: Account,
    w: usize,
    first_n: u64,
    count: Option<u64>,
    window: Option<(Instant, Instant)>,
) -> WorkerOut {
    let mut out = WorkerOut::default();
    let mut n = first_n;
    loop {
        if shared.abort.load(Ordering::Relaxed) {
            break;
        }
        match (count, window) {
            (Some(c), _) if n - first_n >= c => break,
            (_, Some((_, end))) if Instant::now() >= end => break,
            _ => {}
        }
        let name = format!("o{n}.w{w}.{}.{}", shared.tag, shared.domain);
        n += 1;
        let t = Instant::now();
        let csr = match make_csr(&name) {
            Ok(csr) => csr,
            Err(e) => {
                out.failure = Some(format!("{e:#}"));
                shared.abort.store(true, Ordering::Relaxed);
                break;
            }
        };
        out.csr += t.elapsed();
        out.csrs += 1;
        let mut steps = [Duration::ZERO; STEPS.len()];
        let mut polls = 0;
        let started = Instant::now();
        let result = one_order(
            &account,
            &shared.http,
            &name,
            &csr,
            shared.poll,
            &mut steps,
            &mut polls,
        )
        .await;
        let done = Instant::now();
        if let Err(e) = result {
            out.failure = Some(format!("{e:#}"));
            shared.abort.store(true, Ordering::Relaxed);
            break;
        }
        out.completed += 1;
        if let Some((start, end)) = window {
            if done <= end {
                out.latencies_us
                    .push(u64::try_from((done - started).as_micros()).unwrap_or(u64::MAX));
                out.completed_ms
                    .push(u64::try_from((done - start).as_millis()).unwrap_or(u64::MAX));
                for (sum, step) in out.steps.iter_mut().zip(steps) {
                    *sum += step;
                }
                out.polls += polls;
            } else {
                out.late += 1;
            }
        }
    }
    out
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    // Nearest rank.
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1] as f64 / 1000.0
}

async fn run_level(
    args: &RunArgs,
    shared: &Arc<Shared>,
    accounts: &[Account],
    c: usize,
) -> Result<LevelResult> {
    ensure!(
        accounts.len() >= c,
        "{} accounts for {c} workers: setup --accounts must be at least the highest level",
        accounts.len()
    );
    let (requests0, bad_nonce0, http_failures0) = shared.http.counters.snapshot();
    // Warm-up, untimed; names go on from where it stops.
    let warm = args.warmup as u64;
    let mut tasks = Vec::new();
    for (w, account) in accounts.iter().take(c).enumerate() {
        tasks.push(tokio::spawn(worker(
            Arc::clone(shared),
            account.clone(),
            w,
            0,
            Some(warm),
            None,
        )));
    }
    let mut failures = Vec::new();
    let mut warmed = 0;
    for t in tasks {
        let out = t.await.context("a warm-up worker panicked")?;
        warmed += out.completed;
        if let Some(f) = out.failure {
            failures.push(f);
        }
    }
    if !failures.is_empty() {
        bail!(
            "{} warm-up orders failed against {}:\n{}",
            failures.len(),
            args.peer,
            failures.join("\n")
        );
    }

    let cpu0 = cpu_time("self")?;
    let machine0 = machine_busy()?;
    let server0 = args
        .server_pid
        .map(|p| cpu_time(&p.to_string()))
        .transpose()?;
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(args.seconds);
    let mut tasks = Vec::new();
    for (w, account) in accounts.iter().take(c).enumerate() {
        tasks.push(tokio::spawn(worker(
            Arc::clone(shared),
            account.clone(),
            w,
            warm,
            None,
            Some((start, end)),
        )));
    }
    let mut outs = Vec::new();
    for t in tasks {
        outs.push(t.await.context("a worker panicked")?);
    }
    let elapsed = start.elapsed();
    let (requests1, bad_nonce1, http_failures1) = shared.http.counters.snapshot();
    let cpu = cpu_time("self")?.saturating_sub(cpu0);
    let machine = machine_busy()?.saturating_sub(machine0);
    let server = match (args.server_pid, server0) {
        (Some(p), Some(before)) => Some(cpu_time(&p.to_string())?.saturating_sub(before)),
        _ => None,
    };

    let mut latencies: Vec<u64> = outs
        .iter()
        .flat_map(|o| o.latencies_us.iter().copied())
        .collect();
    latencies.sort_unstable();
    let orders = latencies.len() as u64;
    let first_ms = (args.first_seconds * 1000.0) as u64;
    let mut per_second = vec![0u64; args.seconds.ceil() as usize];
    let mut first = 0u64;
    for ms in outs.iter().flat_map(|o| o.completed_ms.iter().copied()) {
        if ms < first_ms {
            first += 1;
        }
        if let Some(slot) = per_second.get_mut((ms / 1000) as usize) {
            *slot += 1;
        }
    }
    let mut steps = [Duration::ZERO; STEPS.len()];
    let (mut polls, mut csr, mut csrs, mut late, mut all) = (0, Duration::ZERO, 0, 0, warmed);
    for o in &outs {
        for (sum, step) in steps.iter_mut().zip(o.steps) {
            *sum += step;
        }
        polls += o.polls;
        csr += o.csr;
        csrs += o.csrs;
        late += o.late;
        all += o.completed;
    }
    let failures: Vec<String> = outs.iter().filter_map(|o| o.failure.clone()).collect();
    let per_order = |x: f64| if orders > 0 { x / orders as f64 } else { 0.0 };
    let window = args.seconds;
    Ok(LevelResult {
        peer: args.peer.clone(),
        concurrency: c,
        seconds: window,
        orders,
        orders_per_s: orders as f64 / window,
        first_seconds: args.first_seconds,
        first_orders_per_s: first as f64 / args.first_seconds,
        per_second,
        p50_ms: percentile(&latencies, 50.0),
        p99_ms: percentile(&latencies, 99.0),
        mean_ms: per_order(latencies.iter().sum::<u64>() as f64) / 1000.0,
        max_ms: latencies.last().map_or(0.0, |m| *m as f64 / 1000.0),
        errors: failures.len() as u64,
        late,
        all_orders: all,
        requests_per_order: if all > 0 {
            (requests1 - requests0) as f64 / all as f64
        } else {
            0.0
        },
        polls_per_order: per_order(polls as f64),
        bad_nonce: bad_nonce1 - bad_nonce0,
        http_failures: http_failures1 - http_failures0,
        steps_ms: steps
            .iter()
            .map(|s| per_order(s.as_secs_f64() * 1000.0))
            .collect(),
        csr_us: if csrs > 0 {
            csr.as_secs_f64() * 1e6 / csrs as f64
        } else {
            0.0
        },
        generator_cpu_pct: cpu.as_secs_f64() * 100.0 / elapsed.as_secs_f64(),
        other_cpu_pct: machine
            .saturating_sub(cpu)
            .saturating_sub(server.unwrap_or_default())
            .as_secs_f64()
            * 100.0
            / elapsed.as_secs_f64(),
        server_cpu_pct: server.map(|s| s.as_secs_f64() * 100.0 / elapsed.as_secs_f64()),
        server_cpu_ms_per_order: server.map(|s| per_order(s.as_secs_f64() * 1000.0)),
        failures,
    })
}

pub async fn run(args: RunArgs) -> Result<()> {
    let ca = args
        .ca
        .as_ref()
        .map(|p| std::fs::read(p).with_context(|| format!("reading {}", p.display())))
        .transpose()?;
    let http = Http::new(ca.as_deref())?;
    let highest = args.concurrency.iter().copied().max().unwrap_or(1);
    ensure!(
        args.concurrency.iter().all(|&c| c > 0) && args.seconds > 0.0,
        "concurrency levels and --seconds must be positive"
    );
    let mut accounts = Vec::with_capacity(highest);
    if let Some(path) = &args.accounts {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let credentials: Vec<AccountCredentials> = serde_json::from_str(&text)
            .with_context(|| format!("{} does not hold setup's accounts", path.display()))?;
        for c in credentials.into_iter().take(highest) {
            accounts.push(
                Account::builder_with_http(http.acme())
                    .from_credentials(c)
                    .await
                    .map_err(|e| acme_error(e, &http))
                    .context("restoring an account registered by setup")?,
            );
        }
    } else {
        let directory = args
            .directory
            .clone()
            .ok_or_else(|| anyhow!("--directory or --accounts is required"))?;
        for i in 0..highest {
            let (account, _) = register(&http, &directory, None)
                .await
                .with_context(|| format!("registering account {i} at {directory}"))?;
            accounts.push(account);
        }
    }
    let mut failed = false;
    for (i, &c) in args.concurrency.iter().enumerate() {
        // Names never repeat: the level and this process's id are in each.
        let shared = Arc::new(Shared {
            http: http.clone(),
            tag: format!("c{c}l{i}p{}", std::process::id()),
            domain: args.domain.clone(),
            poll: Duration::from_secs_f64(args.poll_ms / 1000.0),
            abort: AtomicBool::new(false),
        });
        let result = run_level(&args, &shared, &accounts, c).await?;
        eprintln!(
            "acme-load: {:<10} c={:<3} {:>6} orders in {} s: {:>8.1} orders/s (first {} s: {:.1}/s), p50 {:.2} ms, p99 {:.2} ms, {} errors, {:.1} requests/order, generator CPU {:.0}%, other CPU {:.0}%{}",
            result.peer,
            c,
            result.orders,
            result.seconds,
            result.orders_per_s,
            result.first_seconds,
            result.first_orders_per_s,
            result.p50_ms,
            result.p99_ms,
            result.errors,
            result.requests_per_order,
            result.generator_cpu_pct,
            result.other_cpu_pct,
            result
                .server_cpu_ms_per_order
                .map(|ms| format!(
                    ", server CPU {:.0}% ({ms:.2} ms/order)",
                    result.server_cpu_pct.unwrap_or_default()
                ))
                .unwrap_or_default(),
        );
        if let Some(path) = &args.results {
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("opening {}", path.display()))?;
            writeln!(
                file,
                "{}",
                serde_json::to_string(&result).context("serialising a result")?
            )
            .with_context(|| format!("writing {}", path.display()))?;
        }
        if result.errors > 0 {
            eprintln!(
                "acme-load: {} orders FAILED against {} at concurrency {c}:",
                result.errors, result.peer
            );
            for f in &result.failures {
                eprintln!("  {f}");
            }
            failed = true;
            break;
        }
    }
    if failed {
        bail!("failed orders (see above)");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank_in_milliseconds() {
        let sorted: Vec<u64> = (1..=100).map(|i| i * 1000).collect();
        assert_eq!(percentile(&sorted, 50.0), 50.0);
        assert_eq!(percentile(&sorted, 99.0), 99.0);
        assert_eq!(percentile(&[7000], 99.0), 7.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
    }

    #[test]
    fn a_csr_names_the_order_and_nothing_else() {
        let name = "o1.w2.c16l0p3.bench.example";
        let a = make_csr(name).unwrap();
        let b = make_csr(name).unwrap();
        assert_eq!(a[0], 0x30, "DER SEQUENCE");
        // CN and the one SAN.
        let hits = a
            .windows(name.len())
            .filter(|w| *w == name.as_bytes())
            .count();
        assert_eq!(hits, 2);
        assert_ne!(a, b, "a fresh key for every CSR");
    }

    #[test]
    fn cpu_times_are_read_from_proc() {
        let t = cpu_time("self").unwrap();
        assert!(t < Duration::from_secs(3600));
        machine_busy().unwrap();
    }
}
