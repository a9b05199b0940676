//! `lab docs`, `lab postgres`, `lab callgrind`, `lab proxy-bench`: the generated docs,
//! the throwaway PostgreSQL of `make pg-up`, and what a proxied request costs.
//!
//! - `lab docs [--check]`: rewrite the generated tables of README.md and docs/ from the
//!   committed `results/*.json` (`make docs`); `--check` only says which pages disagree.
//! - `lab postgres [--port 5432]`: in the foreground until Ctrl-C (`make pg-up`).
//! - `lab callgrind [--label L]`: instructions per proxied request of app_async and
//!   nginx-proxy under callgrind (`make callgrind`; results/callgrind.{md,json}).
//! - `lab proxy-bench [--rounds N]`: app_async, nginx-proxy and the slow API alone side by
//!   side, requests/s and CPU per request (`make proxy-bench`; results/proxy-bench.*).
//! - `lab bench-loadgen`: loadgen beside wrk and ab on the same loads, round by round
//!   (`make bench-loadgen`; results/bench-loadgen.*).
//! - `lab first-round [--rounds N]`: the keep-alive burst's first round, app_async beside
//!   nginx-proxy and the slow API alone, round by round (`make first-round`;
//!   results/first-round.*).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::cli::shared::bin_dir;
use crate::cost::callgrind::CallgrindExperiment;
use crate::cost::first_round::FirstRoundExperiment;
use crate::cost::loadgen_bench::{LoadgenBenchExperiment, Sizes};
use crate::cost::proxy_bench::ProxyBenchExperiment;
use crate::docs;
use crate::experiment::{self, Experiment};

#[derive(clap::Args, Debug)]
pub struct DocsArgs {
    /// Only check: exit 1 and name the pages that disagree with the results.
    #[arg(long)]
    check: bool,
    /// The repository's root (holds README.md, docs/ and results/).
    #[arg(long, default_value = ".")]
    root: PathBuf,
}

#[derive(clap::Args, Debug)]
pub struct PostgresArgs {
    /// Port to listen on.
    #[arg(long, env = "PG_PORT", default_value_t = 5432)]
    port: u16,
    /// max_connections.
    #[arg(long, default_value_t = 100)]
    max_connections: u32,
}

/// What callgrind, proxy-bench and bench-loadgen share: where the binaries they start
/// are, where the results go, and the redraw that runs nothing.
#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// Directory holding the binaries it starts (slow_api, app_async, loadgen)
    /// [default: this program's own directory].
    #[arg(long)]
    bin_dir: Option<PathBuf>,
    /// Directory for the results files.
    #[arg(long, default_value = "results")]
    results: PathBuf,
    /// Run nothing: rewrite the page from an earlier run's JSON file.
    #[arg(long, value_name = "FILE.json")]
    redraw: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct CallgrindArgs {
    /// Name of this run in results/callgrind.json (a run with the same name is replaced).
    #[arg(long, default_value = "current")]
    label: String,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(clap::Args, Debug)]
pub struct ProxyBenchArgs {
    /// Rounds of each target at each load, interleaved; medians are reported.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=20))]
    rounds: u32,
    /// Also run the app_async binary of this directory in the same rounds (another build).
    #[arg(long, value_name = "DIR")]
    compare_bin_dir: Option<PathBuf>,
    /// The name of that row.
    #[arg(long, default_value = "app_async before")]
    compare_label: String,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(clap::Args, Debug)]
pub struct LoadgenBenchArgs {
    /// Rounds of the keep-alive comparison (loadgen -k against wrk).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=50))]
    rounds: u32,
    /// Seconds of each keep-alive run.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=60))]
    duration: u64,
    /// Rounds of the new-connection comparison (against ab).
    #[arg(long, default_value_t = 9, value_parser = clap::value_parser!(u32).range(1..=50))]
    new_rounds: u32,
    /// Requests of each new-connection run.
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(100..=1_000_000))]
    new_requests: u64,
    /// Rounds of the app_async comparison (against ab, time taken).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=50))]
    app_rounds: u32,
    /// Requests of each app_async run (c=200, 1 s each).
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(200..=100_000))]
    app_requests: u64,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(clap::Args, Debug)]
pub struct FirstRoundArgs {
    /// Rounds: each runs async-keepalive, nginx-proxy-keepalive and direct-keepalive in turn.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=20))]
    rounds: u32,
    /// Replace the rows' delay (seconds), for a quick run.
    #[arg(long, value_parser = crate::runner::parse_delay)]
    delay: Option<std::time::Duration>,
    /// Divide -n and -c by this, for a quick run.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    scale: u32,
    #[command(flatten)]
    run: RunArgs,
}

pub fn docs(args: DocsArgs) -> anyhow::Result<ExitCode> {
    let root = args.root;
    if args.check {
        let outcome = docs::check(&root)?;
        if outcome.changed.is_empty() {
            println!("docs agree with results/*.json");
            return Ok(ExitCode::SUCCESS);
        }
        for page in &outcome.changed {
            eprintln!(
                "{}: generated tables differ from results/*.json",
                page.display()
            );
        }
        eprintln!("run `make docs` to rewrite them");
        return Ok(ExitCode::FAILURE);
    }
    let outcome = docs::write(&root)?;
    for page in &outcome.changed {
        println!("rewrote the generated tables of {}", page.display());
    }
    if outcome.changed.is_empty() {
        println!("docs already agree with results/*.json");
    }
    Ok(ExitCode::SUCCESS)
}

pub fn postgres(args: PostgresArgs) -> anyhow::Result<ExitCode> {
    let db = kit::postgres::Postgres::start(kit::postgres::Settings {
        port: args.port,
        max_connections: args.max_connections,
    })?;
    println!("PostgreSQL ready: DATABASE_URL={}", db.url());
    println!("(Ctrl-C stops it and deletes its data)");
    loop {
        std::thread::park();
    }
}

impl RunArgs {
    /// `--redraw`: rewrites E's pages from the JSON file. Otherwise makes the experiment
    /// from the binaries' directory and the results directory, and conducts it.
    fn conduct<E: Experiment>(
        self,
        make: impl FnOnce(PathBuf, &Path) -> anyhow::Result<E>,
    ) -> anyhow::Result<ExitCode> {
        if let Some(json) = &self.redraw {
            return experiment::redraw::<E>(json, &self.results, E::NAME);
        }
        let experiment = make(bin_dir(self.bin_dir), &self.results)?;
        experiment::conduct(&experiment, &self.results, E::NAME)
    }
}

pub fn callgrind(args: CallgrindArgs) -> anyhow::Result<ExitCode> {
    let label = args.label;
    args.run
        .conduct(|bin_dir, results| CallgrindExperiment::joining(bin_dir, label, results))
}

pub fn proxy_bench(args: ProxyBenchArgs) -> anyhow::Result<ExitCode> {
    let compare = args.compare_bin_dir.map(|dir| (args.compare_label, dir));
    args.run.conduct(|bin_dir, _| {
        Ok(ProxyBenchExperiment {
            bin_dir,
            rounds: args.rounds,
            loads: crate::cost::BENCH_LOADS,
            compare,
        })
    })
}

pub fn bench_loadgen(args: LoadgenBenchArgs) -> anyhow::Result<ExitCode> {
    let sizes = Sizes {
        keep_alive_rounds: args.rounds,
        keep_alive_duration: std::time::Duration::from_secs(args.duration),
        new_rounds: args.new_rounds,
        new_requests: args.new_requests,
        app_rounds: args.app_rounds,
        app_requests: args.app_requests,
    };
    args.run
        .conduct(|bin_dir, _| Ok(LoadgenBenchExperiment { bin_dir, sizes }))
}

pub fn first_round(args: FirstRoundArgs) -> anyhow::Result<ExitCode> {
    let (rounds, delay, scale) = (args.rounds, args.delay, args.scale);
    args.run.conduct(|bin_dir, _| {
        Ok(FirstRoundExperiment {
            rounds,
            options: crate::runner::Options {
                bin_dir,
                delay,
                scale,
            },
        })
    })
}
