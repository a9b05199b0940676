//! `lab compare`: the article's Python servers beside the Rust rows, in one run.
//!
//! Prepares the pinned venv (`python/requirements.lock`, under `target/`), then for each
//! pair of [`crate::compare::PAIRS`] runs the Rust row and the Python server in its place
//! with the same load, upstream and measurements, and writes `results/NAME.{md,json,svg}`.
//! `make bench-python` runs it under the bench lock (after `lab compare --prepare`, which
//! builds the venv outside it).

use std::path::PathBuf;
use std::process::ExitCode;

use crate::compare::{self, CompareExperiment, Pair, PAIRS};
use crate::experiment;
use crate::out;
use crate::runner::Ui;

/// Runs the article's Python servers beside the Rust rows and writes the comparison.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Run only this pair (repeatable); default: all of them.
    #[arg(long = "pair", short = 'p', value_name = "ID")]
    pairs: Vec<String>,

    /// Directory for the results files.
    #[arg(long, default_value = "results")]
    results: PathBuf,

    /// Base name of the results files.
    #[arg(long, default_value = "compare")]
    name: String,

    #[command(flatten)]
    shape: crate::runner::ShapeArgs,

    /// List the pairs and their Python command lines, and exit.
    #[arg(long)]
    list: bool,

    /// Only prepare the Python venv (exit 1 if it cannot be made), without a run.
    #[arg(long)]
    prepare: bool,

    /// Redraw NAME.md and NAME.svg from an earlier run's JSON file, without running.
    #[arg(long, value_name = "JSON")]
    redraw: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.list {
        for pair in PAIRS {
            let rust = pair.rust_scenario();
            out!(
                "{:<38} {:<20} ab {:<28} {}",
                pair.id,
                pair.rust,
                rust.load.ab_flags(),
                pair.python.command_line()
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    crate::cli::shared::check_name(&args.name)?;
    if let Some(json) = &args.redraw {
        return experiment::redraw::<CompareExperiment>(json, &args.results, &args.name);
    }
    let selected: Vec<Pair> = if args.pairs.is_empty() {
        PAIRS.to_vec()
    } else {
        args.pairs
            .iter()
            .map(|id| {
                compare::by_id(id)
                    .copied()
                    .ok_or_else(|| anyhow::anyhow!("no pair {id:?}; known: {}", compare::ids()))
            })
            .collect::<anyhow::Result<_>>()?
    };
    let ui = Ui::default();
    let (venv, python) = compare::prepare_python(&ui);
    if args.prepare {
        return Ok(match (&venv, &python.skipped) {
            (Some(venv), _) => {
                eprintln!(
                    "lab compare: the Python venv is ready: {} ({})",
                    venv.dir.display(),
                    venv.version
                );
                ExitCode::SUCCESS
            }
            (None, reason) => {
                eprintln!(
                    "lab compare: error: no Python venv: {}",
                    reason.as_deref().unwrap_or("unknown")
                );
                ExitCode::from(1)
            }
        });
    }
    let experiment = CompareExperiment {
        pairs: selected,
        options: args.shape.options(),
        venv,
        python,
    };
    experiment::conduct(&experiment, &args.results, &args.name)
}
