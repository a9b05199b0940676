//! `lab sweep`: throughput, p99 latency, memory and threads against concurrency (1 to
//! 10,000 clients) for a thread-capped topology and its event-loop twins.
//!
//! Writes `results/sweep.{json,svg,md}`. `make sweep` builds the services in release
//! mode and runs this.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::experiment;
use crate::runner::{seconds_within, TEN_MINUTES};
use crate::sweep::{self, SweepExperiment, SweepOptions};

/// Loads each topology with 1 to 10,000 clients and charts what it serves.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Scenarios to sweep (comma-separated ids).
    #[arg(long, value_delimiter = ',', default_values_t = sweep::DEFAULT_IDS.iter().map(|id| id.to_string()))]
    scenarios: Vec<String>,

    /// Client counts (comma-separated).
    #[arg(long, value_delimiter = ',', default_values_t = sweep::DEFAULT_CONCURRENCY.to_vec(),
          value_parser = clap::value_parser!(u32).range(1..=20000))]
    concurrency: Vec<u32>,

    /// The slow API's delay, seconds.
    #[arg(long, default_value = "1", value_parser = parse_positive_seconds)]
    delay: Duration,

    /// Seconds each point lasts.
    #[arg(long, default_value = "4.5", value_parser = parse_positive_seconds)]
    duration: Duration,

    /// Seconds at the start of each point that are not counted [default: 1.5 x delay].
    #[arg(long, value_parser = parse_positive_seconds)]
    warmup: Option<Duration>,

    /// Seconds over which each point's clients start; 0 starts them all at once, as
    /// bench-all and ab do [default: the delay].
    #[arg(long, value_parser = parse_seconds_or_zero)]
    ramp_up: Option<Duration>,

    /// Directory for the results files.
    #[arg(long, default_value = "results")]
    results: PathBuf,

    /// Directory holding the service binaries [default: this program's own directory].
    #[arg(long)]
    bin_dir: Option<PathBuf>,

    /// Run nothing: redraw the table and chart from an earlier sweep's JSON file.
    #[arg(long, value_name = "FILE.json")]
    redraw: Option<PathBuf>,
}

fn parse_positive_seconds(raw: &str) -> Result<Duration, String> {
    seconds_within(raw, false, TEN_MINUTES)
}

fn parse_seconds_or_zero(raw: &str) -> Result<Duration, String> {
    seconds_within(raw, true, TEN_MINUTES)
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if let Some(json) = &args.redraw {
        return experiment::redraw::<SweepExperiment>(json, &args.results, "sweep");
    }
    let warmup = args.warmup.unwrap_or(args.delay.mul_f64(1.5));
    if warmup >= args.duration {
        anyhow::bail!(
            "--warmup ({} s) must be shorter than --duration ({} s)",
            warmup.as_secs_f64(),
            args.duration.as_secs_f64()
        );
    }
    let options = SweepOptions {
        bin_dir: crate::cli::shared::bin_dir(args.bin_dir),
        ids: args.scenarios,
        concurrency: args.concurrency,
        delay: args.delay,
        duration: args.duration,
        warmup,
        ramp_up: args.ramp_up.unwrap_or(args.delay),
    };
    experiment::conduct(&SweepExperiment { options }, &args.results, "sweep")
}
