//! `make bench-loadgen`: the lab's instrument beside the tools it stands in for.
//!
//! Every figure of the lab comes from loadgen, so loadgen must never be the slower side.
//! The same targets are loaded by loadgen and by `wrk` or `ab`, the tools taking turns
//! going first round by round (what one run leaves behind, TIME_WAIT sockets or a warm
//! server, does not always favour the same tool):
//!
//! 1. keep-alive against the slow API at `?delay=0`: `loadgen -k -c 64 -t D` against
//!    `wrk -t2 -c64 -dDs`; loadgen's requests/s at least wrk's;
//! 2. a new connection per request, `-n N -c 50`, against `ab`; at least ab's;
//! 3. app_async at `?delay=1 -r -n 2000 -c 200`, against `ab`, whose lone first request
//!    costs it one delay: loadgen's time within 2% of ab's minus that second.
//!
//! loadgen runs as its binary, a process of its own as the other tools are. A run with
//! any failure or non-2xx answer, from any tool, does not count (it did other work).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{commit, median, start_proxy, Server, Wrap};
use crate::experiment::Experiment;
use crate::results;
use kit::procs::{find_executable, ScratchDir};
use kit::stack;

/// bench-loadgen's own part of `results/bench-loadgen.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadgenBench {
    pub commit: String,
    pub comparisons: Vec<Comparison>,
}

/// The whole file `results/bench-loadgen.json`.
pub type LoadgenBenchResults = results::Envelope<LoadgenBench>;

/// One comparison: the same load from loadgen and from another tool, round by round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// `keep-alive`, `new-connection` or `app-async`.
    pub id: String,
    /// The load, in words.
    pub load: String,
    /// The other tool's command line.
    pub other: String,
    /// What each round measured: `requests/s` (more is better) or `s` (the time taken).
    pub unit: String,
    /// Every round: loadgen's figure, and the other tool's.
    pub loadgen: Vec<f64>,
    pub other_tool: Vec<f64>,
    /// Every round: loadgen's figure over the other's (for `s`, over ab's time minus
    /// its lone first request's delay).
    pub ratios: Vec<f64>,
    /// Median of the rounds' ratios.
    pub median_ratio: f64,
    /// The ratio must be at least this...
    pub min_ratio: f64,
    /// ... and at most this, when given.
    pub max_ratio: Option<f64>,
    /// Rounds in which a tool counted failures or non-2xx answers, and what they were.
    pub bad_runs: Vec<String>,
}

impl Comparison {
    /// Its criterion holds and no run had failures.
    fn met(&self) -> bool {
        self.holds() && self.bad_runs.is_empty()
    }

    fn holds(&self) -> bool {
        self.median_ratio >= self.min_ratio
            && self.max_ratio.is_none_or(|max| self.median_ratio <= max)
    }

    fn criterion(&self) -> String {
        match self.max_ratio {
            Some(max) => format!("{:.2} to {:.2}", self.min_ratio, max),
            None => format!("at least {:.2}", self.min_ratio),
        }
    }
}

/// How big each comparison is (`lab bench-loadgen`'s flags; a test's short form).
#[derive(Debug, Clone)]
pub struct Sizes {
    pub keep_alive_rounds: u32,
    pub keep_alive_duration: Duration,
    pub new_rounds: u32,
    pub new_requests: u64,
    pub app_rounds: u32,
    pub app_requests: u64,
}

/// `lab bench-loadgen`.
pub struct LoadgenBenchExperiment {
    pub bin_dir: PathBuf,
    pub sizes: Sizes,
}

impl Experiment for LoadgenBenchExperiment {
    type Run = LoadgenBench;
    const NAME: &'static str = "bench-loadgen";
    const COMMAND: &'static str = "make bench-loadgen";

    fn run(&self) -> anyhow::Result<LoadgenBenchResults> {
        bench(&self.bin_dir, &self.sizes, |line| crate::out!("{line}"))
    }

    fn table(results: &LoadgenBenchResults) -> String {
        table(results)
    }

    fn unmet(results: &LoadgenBenchResults) -> Vec<String> {
        let mut unmet = Vec::new();
        for comparison in &results.run.comparisons {
            for bad in &comparison.bad_runs {
                unmet.push(format!("{}: {bad}", comparison.id));
            }
            if !comparison.holds() {
                unmet.push(format!(
                    "{}: loadgen/{} = {:.3}, outside {}",
                    comparison.id,
                    tool(&comparison.other),
                    comparison.median_ratio,
                    comparison.criterion()
                ));
            }
        }
        unmet
    }
}

/// The tool's name: the first word of its command line.
fn tool(command: &str) -> &str {
    command.split_whitespace().next().unwrap_or(command)
}

/// One run's figure, and what went wrong in it (failures, non-2xx) if anything did.
type Measured = (f64, Option<String>);

/// Runs the three comparisons; `say` gets a line per round.
pub fn bench(
    bin_dir: &Path,
    sizes: &Sizes,
    say: impl Fn(&str),
) -> anyhow::Result<LoadgenBenchResults> {
    let started = results::Started::now();
    let loadgen = super::bin(bin_dir, "loadgen")?;
    let wrk = find_executable("wrk", "WRK", &[]).ok_or_else(|| {
        anyhow::anyhow!("wrk not found: install it with `apt-get install -y wrk`")
    })?;
    let ab = find_executable("ab", "AB", &[]).ok_or_else(|| {
        anyhow::anyhow!("ab not found: install it with `apt-get install -y apache2-utils`")
    })?;
    let scratch = ScratchDir::new("bench-loadgen")?;
    let (mut slow_api, api_port) = stack::start_slow_api(bin_dir, scratch.path())?;
    let (mut app, app_port) = start_proxy(
        Server::AppAsync,
        bin_dir,
        scratch.path(),
        api_port,
        &Wrap::Native,
    )?;
    let api = format!("http://127.0.0.1:{api_port}/?delay=0");
    let app_url = format!("http://127.0.0.1:{app_port}/?delay=1");

    let seconds = sizes.keep_alive_duration.as_secs().max(1).to_string();
    let keep_alive = compare(
        Setup {
            id: "keep-alive",
            load: format!("keep-alive, c=64, {seconds} s, slow_api ?delay=0"),
            other: format!("wrk -t2 -c64 -d{seconds}s"),
            unit: "requests/s",
            rounds: sizes.keep_alive_rounds,
            bounds: (1.0, None),
        },
        || {
            run_loadgen(
                &loadgen,
                &["-k", "-c", "64", "-t", &seconds, &api],
                "requests_per_second",
            )
        },
        || run_wrk(&wrk, &["-t2", "-c64", &format!("-d{seconds}s"), &api]),
        |ours, theirs| ours / theirs,
        &say,
    )?;
    let n = sizes.new_requests.to_string();
    let new_connection = compare(
        Setup {
            id: "new-connection",
            load: format!("a new connection per request, -n {n} -c 50, slow_api ?delay=0"),
            other: format!("ab -n {n} -c 50"),
            unit: "requests/s",
            rounds: sizes.new_rounds,
            bounds: (1.0, None),
        },
        || {
            run_loadgen(
                &loadgen,
                &["-n", &n, "-c", "50", &api],
                "requests_per_second",
            )
        },
        || {
            run_ab(
                &ab,
                &["-n", &n, "-c", "50", &api],
                AbFigure::RequestsPerSecond,
            )
        },
        |ours, theirs| ours / theirs,
        &say,
    )?;
    let n = sizes.app_requests.to_string();
    let app_async = compare(
        Setup {
            id: "app-async",
            load: format!("app_async ?delay=1, -r -n {n} -c 200 (time taken)"),
            other: format!("ab -r -n {n} -c 200"),
            unit: "s",
            rounds: sizes.app_rounds,
            bounds: (0.98, Some(1.02)),
        },
        || {
            run_loadgen(
                &loadgen,
                &["-r", "-n", &n, "-c", "200", &app_url],
                "time_taken_s",
            )
        },
        || {
            run_ab(
                &ab,
                &["-r", "-n", &n, "-c", "200", &app_url],
                AbFigure::TimeTaken,
            )
        },
        // ab sends one request alone before the others: one delay (1 s) more.
        |ours, theirs| ours / (theirs - 1.0),
        &say,
    )?;
    app.stop(Duration::from_secs(5));
    slow_api.stop(Duration::from_secs(5));
    Ok(started.finish(LoadgenBench {
        commit: commit(),
        comparisons: vec![keep_alive, new_connection, app_async],
    }))
}

/// What a comparison is, before its rounds.
struct Setup {
    id: &'static str,
    load: String,
    other: String,
    unit: &'static str,
    rounds: u32,
    /// The median ratio's bounds: at least, and at most when given.
    bounds: (f64, Option<f64>),
}

/// `setup.rounds` rounds of one comparison, the other tool first in odd rounds.
fn compare(
    setup: Setup,
    mut ours: impl FnMut() -> anyhow::Result<Measured>,
    mut theirs: impl FnMut() -> anyhow::Result<Measured>,
    ratio: impl Fn(f64, f64) -> f64,
    say: &impl Fn(&str),
) -> anyhow::Result<Comparison> {
    let name = tool(&setup.other).to_owned();
    let mut comparison = Comparison {
        id: setup.id.to_owned(),
        load: setup.load,
        other: setup.other,
        unit: setup.unit.to_owned(),
        loadgen: Vec::new(),
        other_tool: Vec::new(),
        ratios: Vec::new(),
        median_ratio: 0.0,
        min_ratio: setup.bounds.0,
        max_ratio: setup.bounds.1,
        bad_runs: Vec::new(),
    };
    say(&format!(
        "== {}: {} ({} rounds)",
        comparison.id, comparison.load, setup.rounds
    ));
    for number in 1..=setup.rounds {
        let ((mine, my_trouble), (other, other_trouble)) = if number % 2 == 1 {
            let other = theirs()?;
            (ours()?, other)
        } else {
            let mine = ours()?;
            (mine, theirs()?)
        };
        for (who, trouble) in [("loadgen", my_trouble), (name.as_str(), other_trouble)] {
            if let Some(trouble) = trouble {
                comparison
                    .bad_runs
                    .push(format!("round {number}, {who}: {trouble}"));
            }
        }
        comparison.loadgen.push(mine);
        comparison.other_tool.push(other);
        comparison.ratios.push(ratio(mine, other));
        say(&format!(
            "   round {number}: loadgen {mine:.1}, {name} {other:.1} {}",
            comparison.unit
        ));
    }
    comparison.median_ratio = median(&comparison.ratios);
    Ok(comparison)
}

/// The loadgen binary with `-q --json`: the report's `field`, and its failures.
fn run_loadgen(loadgen: &Path, args: &[&str], field: &str) -> anyhow::Result<Measured> {
    let output = Command::new(loadgen)
        .args(["-q", "--json"])
        .args(args)
        .output()?;
    anyhow::ensure!(
        output.status.success(),
        "loadgen {} exited with {}: {}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stderr).trim()
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout)
        .map_err(|err| anyhow::anyhow!("loadgen --json printed no report: {err}"))?;
    let count = |key: &str| report[key].as_u64().unwrap_or(0);
    let figure = report[field]
        .as_f64()
        .ok_or_else(|| anyhow::anyhow!("loadgen's report has no {field}"))?;
    let trouble = (count("failed") + count("non_2xx") > 0)
        .then(|| format!("{} failed, {} non-2xx", count("failed"), count("non_2xx")));
    Ok((figure, trouble))
}

/// Runs `program args` and returns what it printed, stdout and stderr together.
fn output_of(program: &Path, args: &[&str]) -> anyhow::Result<String> {
    let output = Command::new(program).args(args).output()?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    anyhow::ensure!(
        output.status.success(),
        "{} {} exited with {}: {}",
        program.display(),
        args.join(" "),
        output.status,
        text.lines().last().unwrap_or_default()
    );
    Ok(text)
}

/// `wrk`: its `Requests/sec`, and its socket errors and non-2xx/3xx answers.
fn run_wrk(wrk: &Path, args: &[&str]) -> anyhow::Result<Measured> {
    parse_wrk(&output_of(wrk, args)?)
}

/// wrk's summary: `Requests/sec:  39103.79`, and the lines it prints only when something
/// went wrong (`Socket errors: ...`, `Non-2xx or 3xx responses: N`).
fn parse_wrk(text: &str) -> anyhow::Result<Measured> {
    let figure = value_after(text, "Requests/sec:")
        .ok_or_else(|| anyhow::anyhow!("wrk printed no Requests/sec line"))?;
    let trouble: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|line| line.starts_with("Socket errors:") || line.starts_with("Non-2xx"))
        .collect();
    Ok((figure, (!trouble.is_empty()).then(|| trouble.join("; "))))
}

/// Which of ab's figures a comparison reads.
#[derive(Debug, Clone, Copy)]
enum AbFigure {
    RequestsPerSecond,
    TimeTaken,
}

fn run_ab(ab: &Path, args: &[&str], figure: AbFigure) -> anyhow::Result<Measured> {
    let mut all = vec!["-q"];
    all.extend_from_slice(args);
    parse_ab(&output_of(ab, &all)?, figure)
}

/// ab's summary: `Requests per second:  13373.40 [#/sec] (mean)` or `Time taken for
/// tests:  11.090 seconds`, and its `Failed requests` and `Non-2xx responses`.
fn parse_ab(text: &str, figure: AbFigure) -> anyhow::Result<Measured> {
    let label = match figure {
        AbFigure::RequestsPerSecond => "Requests per second:",
        AbFigure::TimeTaken => "Time taken for tests:",
    };
    let value =
        value_after(text, label).ok_or_else(|| anyhow::anyhow!("ab printed no `{label}` line"))?;
    let failed = value_after(text, "Failed requests:").unwrap_or(0.0);
    let non_2xx = value_after(text, "Non-2xx responses:").unwrap_or(0.0);
    let trouble = (failed + non_2xx > 0.0).then(|| format!("{failed} failed, {non_2xx} non-2xx"));
    Ok((value, trouble))
}

/// The number after `label` at the start of a line.
fn value_after(text: &str, label: &str) -> Option<f64> {
    text.lines()
        .map(str::trim)
        .find_map(|line| line.strip_prefix(label))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|number| number.parse().ok())
}

/// The table of `make bench-loadgen`: a line per comparison.
pub fn table(results: &LoadgenBenchResults) -> String {
    let mut out = String::from(
        "| load | against | loadgen (median) | the other tool (median) | loadgen / the other, median of the rounds | criterion | rounds |\n\
         |---|---|--:|--:|--:|---|--:|\n",
    );
    for comparison in &results.run.comparisons {
        let fmt = |values: &[f64]| match comparison.unit.as_str() {
            "s" => format!("{:.3} s", median(values)),
            _ => format!("{} requests/s", results::fmt_rps(median(values))),
        };
        let ratio = if comparison.unit == "s" {
            format!("loadgen / (ab - 1 s) = {:.3}", comparison.median_ratio)
        } else {
            format!("{:.3}", comparison.median_ratio)
        };
        let verdict = if comparison.met() { "met" } else { "not met" };
        out.push_str(&format!(
            "| {} | `{}` | {} | {} | {ratio} | {} ({verdict}) | {} |\n",
            comparison.load,
            comparison.other,
            fmt(&comparison.loadgen),
            fmt(&comparison.other_tool),
            comparison.criterion(),
            comparison.ratios.len()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrk_and_ab_summaries_are_read_with_their_troubles() {
        let wrk = "Running 5s test @ http://127.0.0.1:1/\n  2 threads and 64 connections\n  \
                   196000 requests in 5.00s, 25.1MB read\nRequests/sec:  39103.79\nTransfer/sec: 5.0MB\n";
        assert_eq!(parse_wrk(wrk).expect("wrk"), (39103.79, None));
        let bad = format!("{wrk}  Socket errors: connect 0, read 3, write 0, timeout 0\n");
        assert!(parse_wrk(&bad)
            .expect("wrk")
            .1
            .is_some_and(|t| t.contains("read 3")));
        let ab = "Time taken for tests:   11.090 seconds\nComplete requests:      2000\n\
                  Failed requests:        0\nRequests per second:    180.34 [#/sec] (mean)\n";
        assert_eq!(
            parse_ab(ab, AbFigure::TimeTaken).expect("ab"),
            (11.09, None)
        );
        assert_eq!(
            parse_ab(ab, AbFigure::RequestsPerSecond).expect("ab"),
            (180.34, None)
        );
        let failed = ab.replace("Failed requests:        0", "Failed requests:        4");
        assert!(parse_ab(&failed, AbFigure::TimeTaken)
            .expect("ab")
            .1
            .is_some());
        assert!(parse_wrk("no summary").is_err());
    }
}
