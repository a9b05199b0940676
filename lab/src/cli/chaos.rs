//! `lab chaos`, `lab slowloris`, `lab soak`: faults during loads, slow clients beside a
//! normal load, and a million-request soak, each writing `results/NAME.{json,md}`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::cli::shared::bin_dir;
use crate::experiment::conduct;
use crate::faults::{chaos, slowloris, soak};
use crate::out;
use crate::runner::{seconds_within, TEN_MINUTES};

/// Where the fault runners write and which services they start.
#[derive(clap::Args, Debug)]
pub struct Common {
    /// Directory for the results files.
    #[arg(long, default_value = "results")]
    results: PathBuf,
    /// Directory holding the service binaries [default: this program's own directory].
    #[arg(long)]
    bin_dir: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct FaultsArgs {
    #[command(flatten)]
    common: Common,
    /// Only these rows (comma-separated ids; `--list` shows them).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// List the rows and exit.
    #[arg(long)]
    list: bool,
}

#[derive(clap::Args, Debug)]
pub struct SlowlorisArgs {
    #[command(flatten)]
    common: Common,
    #[arg(long, default_value_t = 400)]
    slow_clients: u32,
    /// Seconds the normal load lasts.
    #[arg(long, default_value = "14", value_parser = |raw: &str| seconds_within(raw, false, TEN_MINUTES))]
    duration: Duration,
}

#[derive(clap::Args, Debug)]
pub struct SoakArgs {
    #[command(flatten)]
    common: Common,
    #[arg(long, default_value_t = 1_000_000)]
    requests: u64,
    /// The slow API's delay, seconds.
    #[arg(long, default_value = "0.05", value_parser = crate::runner::parse_delay)]
    delay: Duration,
}

pub fn faults(args: FaultsArgs) -> anyhow::Result<ExitCode> {
    if args.list {
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
    let cases: Vec<chaos::Case> = if args.only.is_empty() {
        chaos::CASES.to_vec()
    } else {
        args.only
            .iter()
            .map(|id| {
                chaos::case_by_id(id)
                    .copied()
                    .ok_or_else(|| anyhow::anyhow!("no chaos row `{id}` (see --list)"))
            })
            .collect::<anyhow::Result<_>>()?
    };
    let experiment = chaos::ChaosExperiment {
        cases,
        options: chaos::Options::full(bin_dir(args.common.bin_dir)),
    };
    conduct(&experiment, &args.common.results, "chaos")
}

pub fn slowloris(args: SlowlorisArgs) -> anyhow::Result<ExitCode> {
    let experiment = slowloris::SlowlorisExperiment {
        targets: slowloris::TARGETS.to_vec(),
        options: slowloris::Options {
            slow_clients: args.slow_clients,
            duration: args.duration,
            ..slowloris::Options::full(bin_dir(args.common.bin_dir))
        },
    };
    conduct(&experiment, &args.common.results, "slowloris")
}

pub fn soak(args: SoakArgs) -> anyhow::Result<ExitCode> {
    let experiment = soak::SoakExperiment {
        options: soak::Options {
            requests: args.requests,
            delay: args.delay,
            ..soak::Options::full(bin_dir(args.common.bin_dir))
        },
    };
    conduct(&experiment, &args.common.results, "soak")
}
