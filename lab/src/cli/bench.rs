//! `lab bench`: every scenario of the table on this machine, one table, one chart.
//!
//! For each scenario: start the slow API, the app (and nginx, or a throwaway
//! PostgreSQL) on free loopback ports, wait for `/healthz`, send the article's `ab`
//! load with loadgen's engine, measure the app's CPU and memory, stop everything (also
//! on Ctrl-C). Then print the table and write `results/NAME.{md,json,svg}`. `make
//! bench-all` builds the services in release mode and runs this; `make bench
//! SCENARIO=id` runs one row; `--list --json` is the whole table, for tools outside the lab.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::experiment;
use crate::out;
use crate::runner::{self, BenchExperiment};
use crate::scenarios::{self, Scenario, SCENARIOS};

/// Runs the lab's scenarios and writes the results table, JSON and chart.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Run only this scenario (repeatable); default: all of them.
    #[arg(long = "scenario", short = 's', value_name = "ID")]
    scenarios: Vec<String>,

    /// Directory for the results files.
    #[arg(long, default_value = "results")]
    results: PathBuf,

    /// Base name of the results files [default: bench-all, or bench-ID for one scenario].
    #[arg(long)]
    name: Option<String>,

    #[command(flatten)]
    shape: runner::ShapeArgs,

    /// List the scenarios and exit.
    #[arg(long)]
    list: bool,

    /// With --list: the whole table as JSON (for tools outside the lab).
    #[arg(long, requires = "list")]
    json: bool,

    /// Redraw NAME.md and NAME.svg from an earlier run's JSON file, without running.
    #[arg(long, value_name = "JSON")]
    redraw: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.list && args.json {
        let table: Vec<serde_json::Value> = SCENARIOS
            .iter()
            .map(|scenario| {
                let mut row = serde_json::to_value(scenario)?;
                row["ceiling_rps"] = scenario.ceiling_rps().into();
                row["ab_ceiling_rps"] = scenario.ab_ceiling_rps().into();
                row["app_env"] = scenario
                    .app
                    .env()
                    .into_iter()
                    .map(|(name, value)| (name.to_owned(), serde_json::Value::from(value)))
                    .collect::<serde_json::Map<_, _>>()
                    .into();
                Ok(row)
            })
            .collect::<Result<_, serde_json::Error>>()?;
        out!("{}", serde_json::to_string_pretty(&table)?);
        return Ok(ExitCode::SUCCESS);
    }
    if args.list {
        for scenario in SCENARIOS {
            out!(
                "{:<20} {:<55} ab {:<28} ceiling {} rps",
                scenario.id,
                scenario.topology,
                scenario.load.ab_flags(),
                scenario.ceiling_rps()
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let selected: Vec<Scenario> = if args.scenarios.is_empty() {
        SCENARIOS.to_vec()
    } else {
        args.scenarios
            .iter()
            .map(|id| {
                scenarios::by_id(id).copied().ok_or_else(|| {
                    anyhow::anyhow!("no scenario {id:?}; known: {}", scenarios::ids())
                })
            })
            .collect::<anyhow::Result<_>>()?
    };
    let name = args
        .name
        .unwrap_or_else(|| match args.scenarios.as_slice() {
            [] => "bench-all".to_owned(),
            [one] => format!("bench-{one}"),
            _ => "bench-selection".to_owned(),
        });
    crate::cli::shared::check_name(&name)?;
    if let Some(json) = &args.redraw {
        return experiment::redraw::<BenchExperiment>(json, &args.results, &name);
    }
    let experiment = BenchExperiment {
        scenarios: selected,
        options: args.shape.options(),
    };
    experiment::conduct(&experiment, &args.results, &name)
}
