//! chaos: faults during loads (`make chaos`), slow clients (`make slowloris`) and a
//! million-request soak (`make soak`), each writing `results/NAME.{json,md}`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use lab::faults::{self, chaos, slowloris, soak};
use lab::{out, procs};

// The load runs in this process: the same allocator as the `loadgen` binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(
    version,
    about = "Faults, slow clients and a soak, during loads on loopback"
)]
struct Args {
    #[command(subcommand)]
    command: Command,
    /// Directory for the results files.
    #[arg(long, global = true, default_value = "results")]
    results: PathBuf,
    /// Directory holding the service binaries [default: this program's own directory].
    #[arg(long, global = true)]
    bin_dir: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Each fault of the table during a load: results/chaos.{json,md}.
    Faults {
        /// Only these rows (comma-separated ids; `--list` shows them).
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
        /// List the rows and exit.
        #[arg(long)]
        list: bool,
    },
    /// Slow clients beside a normal load: results/slowloris.{json,md}.
    Slowloris {
        #[arg(long, default_value_t = 400)]
        slow_clients: u32,
        /// Seconds the normal load lasts.
        #[arg(long, default_value_t = 14.0)]
        duration: f64,
    },
    /// A million requests through app_async at c=1000: results/soak.{json,md}.
    Soak {
        #[arg(long, default_value_t = 1_000_000)]
        requests: u64,
        /// The slow API's delay, seconds.
        #[arg(long, default_value_t = 0.05)]
        delay: f64,
    },
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("chaos: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> anyhow::Result<ExitCode> {
    procs::install_interrupt_handler()?;
    procs::raise_open_files(65_536);
    let bin_dir = args
        .bin_dir
        .unwrap_or_else(lab::runner::Options::default_bin_dir);
    match args.command {
        Command::Faults { only, list } => {
            if list {
                for case in chaos::CASES {
                    out!(
                        "{:<28} {:<14} {}",
                        case.id,
                        case.scenario,
                        case.fault.describe()
                    );
                }
                return Ok(ExitCode::SUCCESS);
            }
            let cases: Vec<chaos::Case> = if only.is_empty() {
                chaos::CASES.to_vec()
            } else {
                only.iter()
                    .map(|id| {
                        chaos::case_by_id(id)
                            .copied()
                            .ok_or_else(|| anyhow::anyhow!("no chaos row `{id}` (see --list)"))
                    })
                    .collect::<anyhow::Result<_>>()?
            };
            let run = chaos::run_all(&cases, &chaos::Options::full(bin_dir))?;
            let table = chaos::markdown_table(&run);
            let line =
                faults::provenance("make chaos", &run.started_at, &run.machine, run.wall_time_s);
            faults::write_results(&args.results, "chaos", "make chaos", &run, &line, &table)?;
            out!("{table}");
            Ok(exit_code(run.rows.iter().all(|row| row.error.is_none())))
        }
        Command::Slowloris {
            slow_clients,
            duration,
        } => {
            let options = slowloris::Options {
                slow_clients,
                duration,
                ..slowloris::Options::full(bin_dir)
            };
            let run = slowloris::run_all(slowloris::TARGETS, &options)?;
            let table = slowloris::markdown_table(&run);
            let line = faults::provenance(
                "make slowloris",
                &run.started_at,
                &run.machine,
                run.wall_time_s,
            );
            faults::write_results(
                &args.results,
                "slowloris",
                "make slowloris",
                &run,
                &line,
                &table,
            )?;
            out!("{table}");
            Ok(exit_code(run.rows.iter().all(|row| row.error.is_none())))
        }
        Command::Soak { requests, delay } => {
            let options = soak::Options {
                requests,
                delay,
                ..soak::Options::full(bin_dir)
            };
            let run = soak::run(&options)?;
            out!("{}", soak::summary(&run));
            let table = soak::markdown_table(&run);
            faults::write_results(&args.results, "soak", "make soak", &run, "", &table)?;
            Ok(exit_code(run.errors == 0))
        }
    }
}

fn exit_code(ok: bool) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
