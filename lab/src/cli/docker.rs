//! `lab check-compose` and `lab bench-docker`: the compose files against the scenario
//! table, and the table's rows measured through them.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::docker::bench::{BenchDockerExperiment, Options};
use crate::docker::{check, Build, Client, HEALTHY_WITHIN};

/// The longest a compose file may be given to become healthy.
const HOUR: Duration = Duration::from_secs(3600);
use crate::experiment;
use crate::out;
use crate::scenarios::SCENARIOS;

/// Checks compose/*.yml against the scenario table and the house rules.
#[derive(clap::Args, Debug)]
pub struct CheckComposeArgs {
    /// The repository, holding compose/ and nginx/.
    #[arg(long, env = "LAB_ROOT", default_value = ".")]
    root: PathBuf,
}

/// One line per disagreement and exit status 1, or one line saying they agree.
pub fn check_compose(args: CheckComposeArgs) -> anyhow::Result<ExitCode> {
    let checked = check::check(&args.root, SCENARIOS)?;
    if checked.errors.is_empty() {
        out!("{}", checked.summary());
        return Ok(ExitCode::SUCCESS);
    }
    for line in &checked.errors {
        out!("{line}");
    }
    Ok(ExitCode::FAILURE)
}

/// Measures the table's rows through their compose files.
#[derive(clap::Args, Debug)]
pub struct BenchDockerArgs {
    /// Directory for the results files.
    #[arg(long, default_value = "results")]
    results: PathBuf,
    /// Base name of the results files.
    #[arg(long, default_value = "bench-docker")]
    name: String,
    /// The repository, holding compose/ and target/docker-bin/.
    #[arg(long, env = "LAB_ROOT", default_value = ".")]
    root: PathBuf,
    /// Also the rows beyond the article's loads (c=1000, keep-alive); EXTRA=1 as make
    /// passes it.
    #[arg(long, env = "EXTRA", value_parser = clap::builder::BoolishValueParser::new())]
    extra: bool,
    /// Only the rows of this compose file (repeatable), e.g. sync-devserver.yml.
    #[arg(long = "only", value_name = "FILE")]
    files: Vec<String>,
    /// Only this row (repeatable; an extra row named here runs without --extra).
    #[arg(long = "scenario", short = 's', value_name = "ID")]
    scenarios: Vec<String>,
    /// Every row with this delay instead of its own (a shortened run; its ceiling follows).
    #[arg(long, value_parser = crate::runner::parse_delay)]
    delay: Option<Duration>,
    /// How the images get the binaries: prebuilt (copied from target/docker-bin/) or source.
    #[arg(long, env = "LAB_BUILD", value_enum, default_value = "prebuilt")]
    lab_build: Build,
    /// The compose client [default: `docker compose` if it answers, else `docker-compose`].
    #[arg(long, env = "COMPOSE")]
    compose: Option<String>,
    /// The native run to set each row beside.
    #[arg(long, default_value = "results/bench-all.json")]
    native: PathBuf,
    /// Seconds a compose file may take to be healthy [default: 180].
    #[arg(long, value_parser = |raw: &str| crate::runner::seconds_within(raw, false, HOUR))]
    healthy_within: Option<Duration>,
    /// Redraw NAME.md from an earlier run's JSON file, without running.
    #[arg(long, value_name = "JSON")]
    redraw: Option<PathBuf>,
}

pub fn bench_docker(args: BenchDockerArgs) -> anyhow::Result<ExitCode> {
    crate::cli::shared::check_name(&args.name)?;
    if let Some(json) = &args.redraw {
        return experiment::redraw::<BenchDockerExperiment>(json, &args.results, &args.name);
    }
    let mut rows = Options::rows(args.extra, &args.files, &args.scenarios)?;
    if rows.is_empty() {
        anyhow::bail!("no row to run: the rows of those files are extra ones (add --extra)");
    }
    if let Some(delay) = args.delay {
        for row in &mut rows {
            row.load.delay = delay;
        }
    }
    let experiment = BenchDockerExperiment {
        options: Options {
            root: args.root,
            rows,
            client: Client::new(args.compose.as_deref())?,
            build: args.lab_build,
            native: args.native,
            healthy_within: args.healthy_within.unwrap_or(HEALTHY_WITHIN),
        },
    };
    experiment::conduct(&experiment, &args.results, &args.name)
}
