//! `lab bench-docker` (`make bench-docker`): make bench-all's rows through the compose
//! files, and what the containers cost beside the same rows run natively.
//!
//! For each compose file that rows of [`crate::scenarios`] name (the article's rows;
//! `--extra` adds the c=1000 and keep-alive ones): bring it up ([`super::Project`],
//! `up -d --build`), wait until every container is healthy, send each of its rows'
//! loads ([`Plan::of`]) to the port it publishes on 127.0.0.1 (a remote [`Target`]),
//! holding the bench lock for each load, and take it down (also when it failed, and on
//! Ctrl-C). A file that does not come up fails its rows and the run goes on.
//!
//! Then the container tax: each row beside the same row's native run from the committed
//! results/bench-all.json (its own run and date, named on the page), as a second table
//! of results/bench-docker.md and a `native` object in each row of the JSON.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Build, Client, Project};
use crate::experiment::Experiment;
use crate::load::{self, Plan};
use crate::results::{self, fmt_ms, fmt_rps, Envelope, Outcome, Results};
use crate::scenarios::{Scenario, SCENARIOS};
use crate::target::{Remote, Target};

/// The nginx image the compose files run (its own binary's version is recorded: on the
/// CI machine a stand-in built from Debian's package carries the official tag).
pub const NGINX_IMAGE: &str = "nginx:1.27-bookworm";

/// What every prebuilt image of the rows' files copies besides the row's app: the slow
/// API and the health probe.
const ALWAYS_STAGED: [&str; 2] = ["slow_api", "healthcheck"];

/// What a run measures: the rows of the table that have a compose file.
pub struct BenchDockerExperiment {
    pub options: Options,
}

/// The run's shape: [`Options::rows`] picks the rows; a test runs one file, or one row.
pub struct Options {
    /// The repository: `compose/`, and target/docker-bin/ for prebuilt images.
    pub root: PathBuf,
    /// The rows, each with its compose file.
    pub rows: Vec<Scenario>,
    pub client: Client,
    pub build: Build,
    /// The native run to set beside (results/bench-all.json).
    pub native: PathBuf,
    /// How long a file may take to be healthy.
    pub healthy_within: Duration,
}

impl Options {
    /// The rows with a compose file: the article's, and with `extra` the ones beyond it;
    /// only those of `files` (compose file names) and `ids`, where given. An unknown
    /// file or id is an error naming the known ones.
    pub fn rows(extra: bool, files: &[String], ids: &[String]) -> anyhow::Result<Vec<Scenario>> {
        let composed: Vec<&Scenario> = SCENARIOS
            .iter()
            .filter(|row| row.compose.is_some())
            .collect();
        let file_of = |row: &Scenario| row.compose.map_or("", |compose| compose.file);
        for file in files {
            if !composed.iter().any(|row| file_of(row) == file) {
                let known: Vec<&str> = by_file(SCENARIOS)
                    .into_iter()
                    .map(|(file, _)| file)
                    .collect();
                anyhow::bail!(
                    "no row runs in compose file {file:?}; the files: {}",
                    known.join(", ")
                );
            }
        }
        for id in ids {
            if !composed.iter().any(|row| row.id == id) {
                let known: Vec<&str> = composed.iter().map(|row| row.id).collect();
                anyhow::bail!(
                    "no row {id:?} has a compose file; the rows: {}",
                    known.join(", ")
                );
            }
        }
        Ok(composed
            .into_iter()
            .filter(|row| extra || !row.extra || ids.iter().any(|id| id == row.id))
            .filter(|row| files.is_empty() || files.iter().any(|file| file == file_of(row)))
            .filter(|row| ids.is_empty() || ids.iter().any(|id| id == row.id))
            .copied()
            .collect())
    }
}

/// `results/bench-docker.json`: the rows, and what they ran on.
pub type BenchDockerResults = Envelope<BenchDocker>;

/// bench-docker's own part of its results file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchDocker {
    /// The compose client as typed (`docker compose`, `docker-compose`); absent from
    /// runs before it was recorded.
    #[serde(default)]
    pub compose_client: Option<String>,
    /// Its version (`1.29.2`).
    pub compose: String,
    /// `prebuilt` or `source` (`LAB_BUILD`).
    pub lab_build: String,
    /// What the nginx image's own binary says (`nginx/1.22.1`).
    pub nginx_image: String,
    /// The native run set beside: its file and when it ran (null: none could be read).
    pub native_run: Option<NativeRun>,
    pub rows: Vec<BenchDockerRow>,
}

/// The native run the rows are set beside.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NativeRun {
    pub file: String,
    pub started_at: String,
}

/// One row through its compose file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchDockerRow {
    pub id: String,
    pub compose_file: String,
    pub port: u16,
    pub requests: u64,
    pub concurrency: u32,
    pub delay_s: f64,
    /// loadgen's `-k`, as sent (absent in runs before it was recorded: off).
    #[serde(default)]
    pub keep_alive: bool,
    pub complete: u64,
    pub failed: u64,
    pub non_2xx: u64,
    pub requests_per_second: f64,
    /// Little's law for loadgen: `min(c, capacity) / delay`.
    pub ceiling_rps: f64,
    /// 2xx answers per second / `ceiling_rps`.
    pub efficiency: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// The same row natively, from `native_run` (null: it has no such row).
    pub native: Option<NativeRow>,
    /// Measured, or why not (`skipped`, `error`: null when measured; absent from runs
    /// before they were recorded).
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// A row of the native run, what the container tax compares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NativeRow {
    pub requests: u64,
    pub concurrency: u32,
    pub delay_s: f64,
    pub requests_per_second: f64,
    pub efficiency: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// What a load's report says that a row keeps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measured {
    pub complete: u64,
    pub failed: u64,
    pub non_2xx: u64,
    pub time_taken_s: f64,
    pub requests_per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

impl From<&loadgen::Report> for Measured {
    fn from(report: &loadgen::Report) -> Measured {
        Measured {
            complete: report.complete,
            failed: report.failed,
            non_2xx: report.non_2xx,
            time_taken_s: report.time_taken_s,
            requests_per_second: report.requests_per_second,
            p50_ms: report.latency_ms.p50,
            p99_ms: report.latency_ms.p99,
        }
    }
}

impl BenchDockerRow {
    /// `scenario` through its compose file, not measured yet (zeros).
    pub fn new(scenario: &Scenario) -> BenchDockerRow {
        let (file, port) = scenario
            .compose
            .map_or(("", 0), |compose| (compose.file, compose.port));
        BenchDockerRow {
            id: scenario.id.to_owned(),
            compose_file: file.to_owned(),
            port,
            requests: scenario.load.requests,
            concurrency: scenario.load.concurrency,
            delay_s: scenario.load.delay.as_secs_f64(),
            keep_alive: scenario.load.keep_alive,
            complete: 0,
            failed: 0,
            non_2xx: 0,
            requests_per_second: 0.0,
            ceiling_rps: scenario.ceiling_rps(),
            efficiency: 0.0,
            p50_ms: 0.0,
            p99_ms: 0.0,
            native: None,
            outcome: Outcome::Measured,
        }
    }

    /// `scenario` as `measured`: its efficiency is the 2xx answers per second over
    /// Little's ceiling (a 502 is no throughput).
    pub fn measured(scenario: &Scenario, measured: Measured) -> BenchDockerRow {
        let ceiling = scenario.ceiling_rps();
        let ok_per_second = measured.complete.saturating_sub(measured.non_2xx) as f64
            / measured.time_taken_s.max(1e-9);
        BenchDockerRow {
            complete: measured.complete,
            failed: measured.failed,
            non_2xx: measured.non_2xx,
            requests_per_second: measured.requests_per_second,
            efficiency: ok_per_second / ceiling,
            p50_ms: measured.p50_ms,
            p99_ms: measured.p99_ms,
            ..BenchDockerRow::new(scenario)
        }
    }

    /// `scenario`, which could not run: why.
    pub fn failed(scenario: &Scenario, why: String) -> BenchDockerRow {
        BenchDockerRow {
            outcome: Outcome::Failed(why),
            ..BenchDockerRow::new(scenario)
        }
    }

    /// The load as the tables print it: `-k -n 25000 -c 5000 delay=1`.
    fn load(&self) -> String {
        format!(
            "{}-n {} -c {} delay={}",
            if self.keep_alive { "-k " } else { "" },
            self.requests,
            self.concurrency,
            self.delay_s
        )
    }
}

/// The native row of `id` in `native`, as the container tax compares it.
pub fn native_row(native: &Results, id: &str) -> Option<NativeRow> {
    native
        .scenarios
        .iter()
        .find(|row| row.id == id && row.ran())
        .map(|row| NativeRow {
            requests: row.load.requests,
            concurrency: row.load.concurrency,
            delay_s: row.load.delay_s,
            requests_per_second: row.requests_per_second,
            efficiency: row.efficiency,
            p50_ms: row.latency_ms.p50,
            p99_ms: row.latency_ms.p99,
        })
}

/// The rows grouped by compose file, files in the order their first row comes.
fn by_file(rows: &[Scenario]) -> Vec<(&'static str, Vec<Scenario>)> {
    let mut groups: Vec<(&'static str, Vec<Scenario>)> = Vec::new();
    for row in rows {
        let Some(compose) = row.compose else { continue };
        match groups.iter_mut().find(|(file, _)| *file == compose.file) {
            Some((_, group)) => group.push(*row),
            None => groups.push((compose.file, vec![*row])),
        }
    }
    groups
}

/// The version nginx's image says it runs (`nginx/1.22.1`).
fn nginx_version() -> String {
    let output = std::process::Command::new("docker")
        .args(["run", "--rm", "--entrypoint", "nginx", NGINX_IMAGE, "-v"])
        .stdin(std::process::Stdio::null())
        .output();
    let said = output
        .map(|output| {
            String::from_utf8_lossy(&output.stderr).into_owned()
                + &String::from_utf8_lossy(&output.stdout)
        })
        .unwrap_or_default();
    said.lines()
        .find_map(|line| line.strip_prefix("nginx version: "))
        .map_or_else(|| "unknown".to_owned(), |version| version.trim().to_owned())
}

impl BenchDockerExperiment {
    /// One compose file's rows: up, healthy, each load, down. A file that does not come
    /// up fails its rows, each saying why.
    fn run_file(
        &self,
        file: &str,
        rows: &[Scenario],
        runtime: &tokio::runtime::Runtime,
    ) -> Vec<BenchDockerRow> {
        let options = &self.options;
        let name = format!("lab-bench-{}", file.trim_end_matches(".yml"));
        eprintln!(
            "\n== compose/{file} ({}, LAB_BUILD={})",
            options.client.name(),
            options.build.as_str()
        );
        let project = Project::up(&options.client, &options.root, &name, file, options.build)
            .and_then(|project| {
                let took = project.wait_healthy(options.healthy_within)?;
                eprintln!("   healthy after {:.0} s", took.as_secs_f64());
                Ok(project)
            });
        let project = match project {
            Ok(project) => project,
            Err(err) => {
                eprintln!("   {err:#}");
                return rows
                    .iter()
                    .map(|row| BenchDockerRow::failed(row, format!("{err:#}")))
                    .collect();
            }
        };
        let mut out = Vec::new();
        for row in rows {
            if kit::procs::interrupted() {
                break;
            }
            let port = row.compose.map_or(0, |compose| compose.port);
            let target = Target::Remote(Remote {
                url: format!("http://127.0.0.1:{port}/"),
                metrics: None,
            });
            let plan = Plan::of(&row.load, target.url(row.load.delay));
            // The bench lock per load, as the native runs take it: the builds and the
            // health waits do not hold it.
            let report = kit::procs::FileLock::acquire(&kit::procs::bench_lock_path())
                .and_then(|_lock| plan.run(runtime));
            let measured = match report {
                Ok(report) => BenchDockerRow::measured(row, Measured::from(&report)),
                Err(err) => BenchDockerRow::failed(row, format!("{err:#}")),
            };
            eprint!("{}", run_line(&measured));
            out.push(measured);
        }
        if let Err(err) = project.down() {
            eprintln!("lab: cannot take down compose/{file}: {err:#}");
        }
        out
    }
}

impl Experiment for BenchDockerExperiment {
    type Run = BenchDocker;
    const NAME: &'static str = "bench-docker";
    const COMMAND: &'static str = "make bench-docker";

    fn run(&self) -> anyhow::Result<BenchDockerResults> {
        let options = &self.options;
        let started = results::Started::now();
        let mut staged: Vec<&str> = ALWAYS_STAGED.to_vec();
        staged.extend(options.rows.iter().map(|row| row.app.binary()));
        staged.sort_unstable();
        staged.dedup();
        options.build.check_staged(&options.root, &staged)?;
        // The native run as it was when this one began.
        let native: Option<Results> =
            match results::read_json(&options.native, "a bench-all result") {
                Ok(native) => Some(native),
                Err(err) => {
                    eprintln!("lab bench-docker: no native rows to set beside: {err:#}");
                    None
                }
            };
        let compose = options.client.version()?;
        let nginx_image = nginx_version();
        let runtime = load::runtime()?;
        let mut rows = Vec::new();
        for (file, group) in by_file(&options.rows) {
            if kit::procs::interrupted() {
                break;
            }
            rows.extend(self.run_file(file, &group, &runtime));
        }
        for row in &mut rows {
            row.native = native
                .as_ref()
                .and_then(|native| native_row(native, &row.id));
        }
        Ok(started.finish(BenchDocker {
            compose_client: Some(options.client.name()),
            compose,
            lab_build: options.build.as_str().to_owned(),
            nginx_image,
            native_run: native.map(|native| NativeRun {
                file: options.native.display().to_string(),
                started_at: native.started_at,
            }),
            rows,
        }))
    }

    fn table(results: &BenchDockerResults) -> String {
        run_table(&results.rows)
    }

    fn report(results: &BenchDockerResults) -> String {
        format!("{}\n{}", run_table(&results.rows), tax_table(&results.rows))
    }

    fn pages(results: &BenchDockerResults, name: &str) -> Vec<(String, String)> {
        let run = &results.run;
        let engine = format!(
            "compose client {} {}; image {NGINX_IMAGE} runs {}; LAB_BUILD={}",
            run.compose_client.as_deref().unwrap_or("compose"),
            run.compose,
            run.nginx_image,
            run.lab_build
        );
        let native = match &run.native_run {
            Some(native) => format!(
                "Native: `make bench-all`, {}, as {} held when this run began, the same load \
                 from the same loadgen on the same machine, but not side by side: the two \
                 runs' noise differs.",
                native.started_at, native.file
            ),
            None => "Native: no native run could be read (results/bench-all.json).".to_owned(),
        };
        let page = format!(
            "# {}\n\n{}\nCeiling: loadgen's, min(c, capacity) / delay.\n\n{}\n\
             ## The container tax: each row beside its native run\n\n\
             Docker: this run ({}). {native} docker/native: the requests/s ratio; p99 ms: the \
             99th-percentile latency, native then Docker.\n\n{}",
            Self::COMMAND,
            results.provenance_with(Self::COMMAND, &engine),
            run_table(&run.rows),
            results.started_at,
            tax_table(&run.rows)
        );
        vec![(format!("{name}.md"), page)]
    }

    fn unmet(results: &BenchDockerResults) -> Vec<String> {
        results
            .rows
            .iter()
            .filter_map(|row| match &row.outcome {
                Outcome::Measured if row.failed + row.non_2xx > 0 => Some(format!(
                    "{}: {} failed and {} non-2xx of {} requests",
                    row.id, row.failed, row.non_2xx, row.requests
                )),
                Outcome::Measured => None,
                outcome => outcome
                    .why()
                    .map(|(what, why)| format!("{}: {what}: {why}", row.id)),
            })
            .collect()
    }
}

/// One row of the run table.
fn run_line(row: &BenchDockerRow) -> String {
    let head = format!(
        "| {} | {} ({}) | {} |",
        row.id,
        row.compose_file,
        row.port,
        row.load()
    );
    match row.outcome.why() {
        Some((what, why)) => format!(
            "{head} {what}: {} | - | - | - | - | - | - | - |\n",
            why.replace('|', "/")
        ),
        None => format!(
            "{head} {} | {} | {} | {} | {} | {:.0}% | {} | {} |\n",
            row.complete,
            row.failed,
            row.non_2xx,
            fmt_rps(row.requests_per_second),
            fmt_rps(row.ceiling_rps),
            row.efficiency * 100.0,
            fmt_ms(row.p50_ms),
            fmt_ms(row.p99_ms),
        ),
    }
}

/// The run table: each row through its compose file (the docs' `bench-docker-table`).
pub fn run_table(rows: &[BenchDockerRow]) -> String {
    let mut out = String::from(
        "| scenario | compose file (port) | load | complete | failed | non-2xx | requests/s | ceiling | efficiency | p50 ms | p99 ms |\n\
         |---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|\n",
    );
    for row in rows {
        out.push_str(&run_line(row));
    }
    out
}

/// One row of the container tax: beside its native row, or why it cannot be.
pub fn tax_line(row: &BenchDockerRow) -> String {
    let head = format!("| {} | {} |", row.id, row.load());
    if let Some((what, why)) = row.outcome.why() {
        return format!(
            "{head} {what}: {} | - | - | - | - | - | - | - |\n",
            why.replace('|', "/")
        );
    }
    let docker_only = |native: String| {
        format!(
            "{head} {native} | {} | - | - | {:.0}% | - | {} |\n",
            fmt_rps(row.requests_per_second),
            row.efficiency * 100.0,
            fmt_ms(row.p99_ms)
        )
    };
    match &row.native {
        None => docker_only("no native row".to_owned()),
        Some(native)
            if native.requests != row.requests
                || native.concurrency != row.concurrency
                || native.delay_s != row.delay_s =>
        {
            docker_only(format!(
                "native load differs (-n {} -c {} delay={})",
                native.requests, native.concurrency, native.delay_s
            ))
        }
        Some(native) => format!(
            "{head} {} | {} | {} | {:.0}% | {:.0}% | {} | {} |\n",
            fmt_rps(native.requests_per_second),
            fmt_rps(row.requests_per_second),
            if native.requests_per_second > 0.0 {
                format!(
                    "{:.3}",
                    row.requests_per_second / native.requests_per_second
                )
            } else {
                "-".to_owned()
            },
            native.efficiency * 100.0,
            row.efficiency * 100.0,
            fmt_ms(native.p99_ms),
            fmt_ms(row.p99_ms),
        ),
    }
}

/// The container tax: every row beside its native run.
pub fn tax_table(rows: &[BenchDockerRow]) -> String {
    let mut out = String::from(
        "| scenario | load | native requests/s | Docker requests/s | docker/native | native efficiency | Docker efficiency | native p99 ms | Docker p99 ms |\n\
         |---|---|--:|--:|--:|--:|--:|--:|--:|\n",
    );
    for row in rows {
        out.push_str(&tax_line(row));
    }
    out
}

/// The docs' `bench-docker-table` block: where and how it ran, then the run table.
pub fn docs_block(results: &BenchDockerResults) -> String {
    format!(
        "Measured by `make bench-docker` on {} ({} CPUs, compose {}, LAB_BUILD={}).\n\n{}",
        results.started_at,
        results.machine.cpus,
        results.compose,
        results.lab_build,
        run_table(&results.rows)
    )
}

/// Reads `results/bench-docker.json`.
pub fn read(results_dir: &Path) -> anyhow::Result<BenchDockerResults> {
    results::read_json(
        &results_dir.join("bench-docker.json"),
        "a bench-docker result",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenarios::by_id;

    fn row(id: &str) -> &'static Scenario {
        by_id(id).expect("a row")
    }

    fn measured(complete: u64, non_2xx: u64, time_taken_s: f64) -> Measured {
        Measured {
            complete,
            failed: 0,
            non_2xx,
            time_taken_s,
            requests_per_second: complete as f64 / time_taken_s,
            p50_ms: 1010.0,
            p99_ms: 1200.0,
        }
    }

    #[test]
    fn a_rows_efficiency_is_its_2xx_answers_over_the_ceiling() {
        // 2000 answers in 10 s against async's 200 requests/s ceiling: all of it.
        let full = BenchDockerRow::measured(row("async"), measured(2000, 0, 10.0));
        assert_eq!(full.ceiling_rps, 200.0);
        assert_eq!(full.efficiency, 1.0);
        assert_eq!(
            (full.compose_file.as_str(), full.port),
            ("async-gevent.yml", 3000)
        );
        // A 502 is no throughput: half of them 502s, half the efficiency.
        let half = BenchDockerRow::measured(row("async"), measured(2000, 1000, 10.0));
        assert_eq!(half.efficiency, 0.5);
        assert_eq!(half.requests_per_second, 200.0);
        // pg-async-c1000's stage caps it at 32 requests/s.
        let pool = BenchDockerRow::measured(row("pg-async-c1000"), measured(2000, 0, 62.5));
        assert_eq!(pool.ceiling_rps, 32.0);
        assert_eq!(pool.efficiency, 1.0);
        // Nothing answered within the time: no division by zero.
        let none = BenchDockerRow::measured(row("async"), measured(0, 0, 0.0));
        assert_eq!(none.efficiency, 0.0);
    }

    fn native(requests: u64, concurrency: u32, rps: f64) -> NativeRow {
        NativeRow {
            requests,
            concurrency,
            delay_s: 1.0,
            requests_per_second: rps,
            efficiency: rps / 200.0,
            p50_ms: 1005.0,
            p99_ms: 1050.0,
        }
    }

    #[test]
    fn the_container_tax_sets_each_row_beside_its_native_run() {
        let mut docker = BenchDockerRow::measured(row("async"), measured(2000, 0, 10.0));
        docker.native = Some(native(2000, 200, 250.0));
        assert_eq!(
            tax_line(&docker),
            "| async | -n 2000 -c 200 delay=1 | 250.0 | 200.0 | 0.800 | 125% | 100% | 1050 | 1200 |\n"
        );
        docker.native = None;
        assert_eq!(
            tax_line(&docker),
            "| async | -n 2000 -c 200 delay=1 | no native row | 200.0 | - | - | 100% | - | 1200 |\n"
        );
        docker.native = Some(native(200, 20, 20.0));
        assert_eq!(
            tax_line(&docker),
            "| async | -n 2000 -c 200 delay=1 | native load differs (-n 200 -c 20 delay=1) | 200.0 | - | - | 100% | - | 1200 |\n"
        );
        let failed = BenchDockerRow::failed(row("async"), "not healthy | after 180 s".into());
        assert!(tax_line(&failed).contains("| error: not healthy / after 180 s |"));
        assert_eq!(tax_table(std::slice::from_ref(&failed)).lines().count(), 3);
        assert!(run_line(&failed)
            .starts_with("| async | async-gevent.yml (3000) | -n 2000 -c 200 delay=1 | error: "));
    }

    #[test]
    fn rows_are_the_composed_ones_grouped_by_file() {
        let article = Options::rows(false, &[], &[]).expect("rows");
        assert!(article
            .iter()
            .all(|row| row.compose.is_some() && !row.extra));
        let all = Options::rows(true, &[], &[]).expect("rows");
        assert!(all.len() > article.len());
        let one_file = Options::rows(true, &["sync-devserver.yml".into()], &[]).expect("rows");
        assert!(one_file
            .iter()
            .all(|row| row.compose.is_some_and(|c| c.file == "sync-devserver.yml")));
        // A row named is run even when it is an extra one.
        let one = Options::rows(false, &[], &["async-c1000".into()]).expect("rows");
        assert_eq!(
            one.iter().map(|row| row.id).collect::<Vec<_>>(),
            ["async-c1000"]
        );
        assert!(Options::rows(false, &["nope.yml".into()], &[]).is_err());
        assert!(Options::rows(false, &[], &["direct".into()]).is_err());
        // Files in the order of their first row; each file's rows together.
        let groups = by_file(&all);
        let files: Vec<&str> = groups.iter().map(|(file, _)| *file).collect();
        let mut unique = files.clone();
        unique.dedup();
        assert_eq!(files, unique);
        assert_eq!(
            groups.iter().map(|(_, rows)| rows.len()).sum::<usize>(),
            all.len()
        );
    }

    #[test]
    fn a_row_with_failures_or_an_error_is_unmet() {
        let ok = BenchDockerRow::measured(row("async"), measured(2000, 0, 10.0));
        let non_2xx = BenchDockerRow::measured(row("nginx-async"), measured(2000, 26, 10.0));
        let failed = BenchDockerRow::failed(row("devserver"), "not healthy".into());
        let results = results::Started::now().finish(BenchDocker {
            compose_client: Some("docker-compose".into()),
            compose: "1.29.2".into(),
            lab_build: "prebuilt".into(),
            nginx_image: "nginx/1.22.1".into(),
            native_run: None,
            rows: vec![ok, non_2xx, failed],
        });
        assert_eq!(
            BenchDockerExperiment::unmet(&results),
            [
                "nginx-async: 0 failed and 26 non-2xx of 2000 requests",
                "devserver: error: not healthy"
            ]
        );
        let page = &BenchDockerExperiment::pages(&results, "bench-docker")[0].1;
        assert!(page.contains("compose client docker-compose 1.29.2; image nginx:1.27-bookworm runs nginx/1.22.1; LAB_BUILD=prebuilt"), "{page}");
        assert!(page.contains("## The container tax"), "{page}");
        assert!(docs_block(&results).starts_with(&format!(
            "Measured by `make bench-docker` on {} ({} CPUs, compose 1.29.2, LAB_BUILD=prebuilt).\n\n| scenario |",
            results.started_at, results.machine.cpus
        )));
    }
}
