//! lab: the lab's housekeeping commands.
//!
//! - `lab docs [--check]`: rewrite the generated tables of README.md and docs/ from the
//!   committed `results/*.json` (`make docs`); `--check` only says which pages disagree.
//! - `lab postgres [--port 5432]`: the throwaway PostgreSQL the runner and the tests use,
//!   in the foreground until Ctrl-C (`make pg-up`), for `make run-pg`.
//! - `lab callgrind [--label L]`: instructions per proxied request of app_async and
//!   nginx-proxy under callgrind (`make callgrind`; results/callgrind.{md,json}).
//! - `lab proxy-bench [--rounds N]`: app_async, nginx-proxy and the slow API alone side by
//!   side, requests/s and CPU per request (`make proxy-bench`; results/proxy-bench.{md,json}).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use lab::{cost, docs, postgres, procs};

// The loads run in this process: the same allocator as the `loadgen` binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(
    version,
    about = "The lab's housekeeping: generated docs, a throwaway PostgreSQL"
)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Rewrite the generated tables of README.md and docs/*.md from results/*.json.
    Docs {
        /// Only check: exit 1 and name the pages that disagree with the results.
        #[arg(long)]
        check: bool,
        /// The repository's root (holds README.md, docs/ and results/).
        #[arg(long, default_value = ".")]
        root: PathBuf,
    },
    /// Run a throwaway PostgreSQL on 127.0.0.1 until Ctrl-C (role and database `example`).
    Postgres {
        /// Port to listen on.
        #[arg(long, env = "PG_PORT", default_value_t = 5432)]
        port: u16,
        /// max_connections.
        #[arg(long, default_value_t = 100)]
        max_connections: u32,
    },
    /// Instructions per proxied request, app_async and nginx-proxy, under callgrind.
    Callgrind {
        /// Name of this run in results/callgrind.json (a run with the same name is replaced).
        #[arg(long, default_value = "current")]
        label: String,
        /// Directory holding slow_api and app_async [default: this program's own directory].
        #[arg(long)]
        bin_dir: Option<PathBuf>,
        /// Directory for the results files.
        #[arg(long, default_value = "results")]
        results: PathBuf,
    },
    /// app_async, nginx-proxy and the slow API alone side by side: requests/s, CPU per request.
    ProxyBench {
        /// Rounds of each target at each load, interleaved; medians are reported.
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=20))]
        rounds: u32,
        /// Directory holding slow_api and app_async [default: this program's own directory].
        #[arg(long)]
        bin_dir: Option<PathBuf>,
        /// Also run the app_async binary of this directory in the same rounds (another build).
        #[arg(long, value_name = "DIR")]
        compare_bin_dir: Option<PathBuf>,
        /// The name of that row.
        #[arg(long, default_value = "app_async before")]
        compare_label: String,
        /// Directory for the results files.
        #[arg(long, default_value = "results")]
        results: PathBuf,
    },
}

/// `--bin-dir`, or the directory this program runs from (target/release).
fn bin_dir(given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    match given {
        Some(dir) => Ok(dir),
        None => Ok(std::env::current_exe()?
            .parent()
            .ok_or_else(|| anyhow::anyhow!("no directory for this program"))?
            .to_owned()),
    }
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("lab: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::Docs { check: true, root } => {
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
            Ok(ExitCode::FAILURE)
        }
        Command::Docs { check: false, root } => {
            let outcome = docs::write(&root)?;
            for page in &outcome.changed {
                println!("rewrote the generated tables of {}", page.display());
            }
            if outcome.changed.is_empty() {
                println!("docs already agree with results/*.json");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Postgres {
            port,
            max_connections,
        } => {
            procs::install_interrupt_handler()?;
            let db = postgres::Postgres::start(postgres::Settings {
                port,
                max_connections,
            })?;
            println!("PostgreSQL ready: DATABASE_URL={}", db.url());
            println!("(Ctrl-C stops it and deletes its data)");
            loop {
                std::thread::park();
            }
        }
        Command::Callgrind {
            label,
            bin_dir: dir,
            results,
        } => {
            procs::install_interrupt_handler()?;
            let run = cost::callgrind(&bin_dir(dir)?, &label, |line| lab::out!("{line}"))?;
            cost::write_callgrind(&results, run)?;
            lab::out!("wrote {}/callgrind.{{md,json}}", results.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::ProxyBench {
            rounds,
            bin_dir: dir,
            compare_bin_dir,
            compare_label,
            results,
        } => {
            procs::install_interrupt_handler()?;
            procs::raise_open_files(65_536);
            let compare = compare_bin_dir
                .as_deref()
                .map(|dir| (compare_label.as_str(), dir));
            let run = cost::bench(&bin_dir(dir)?, rounds, compare, |line| lab::out!("{line}"))?;
            cost::write_bench(&results, &run)?;
            lab::out!("{}", cost::bench_table(&run));
            lab::out!("wrote {}/proxy-bench.{{md,json}}", results.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}
