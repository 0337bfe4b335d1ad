//! `castellan-acme-load`: the ACME load generator of `scripts/bench-acme`
//! (docs/benchmarks.md, "ACME orders").
//!
//! It drives full ACME orders — new-order, authorizations, the http-01 challenge where one is
//! pending, finalize with a fresh P-256 CSR, certificate download — at a fixed concurrency for
//! a fixed window, and reports orders per second and p50/p99 latency per full order. Written
//! in Rust because a Python generator costs about 2.5 ms of CPU per order, which caps what it
//! can measure on this machine near 400 orders/s (../shared/BENCHMARKING.md).
//!
//! The ACME client is instant-acme (its JWS, nonce handling and order flow, as an ordinary
//! client would use them) over the workspace's reqwest through instant-acme's `HttpClient`
//! hook, `castellan_testkit::acme_client` (shared with the instant-acme integration test;
//! it says why not instant-acme's own HTTP client), counted by [`http`].
//!
//! Subcommands:
//!
//! - `setup`: the in-process DNS server, and Castellan made ready for pre-validated ACME
//!   orders through its SCM REST API, with one registered ACME account (External Account
//!   Binding) per worker; keeps serving DNS until stopped ([`setup`]).
//! - `run`: the measurement against one server, at each concurrency level ([`load`]).
//! - `report`: the table of a run, with the ratio between the peers ([`report`]).

mod http;
mod load;
mod report;
mod setup;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "castellan-acme-load",
    about = "ACME load generator: full orders against Castellan and Pebble"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve DNS and prepare Castellan for ACME orders; writes the accounts, runs until stopped.
    Setup(setup::SetupArgs),
    /// Measure full ACME orders against one server.
    Run(load::RunArgs),
    /// Print the table of a run's results.
    Report(report::ReportArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Setup(args) => setup::run(args).await,
        Command::Run(args) => load::run(args).await,
        Command::Report(args) => report::run(args),
    }
}
