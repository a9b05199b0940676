//! `make callgrind`: instructions per proxied request of app_async and nginx-proxy, each
//! under `valgrind --tool=callgrind` in front of a native slow API.
//!
//! A run is one build, named by its `--label`; `results/callgrind.json` keeps every
//! label's run (a run with a label already there replaces it), so the table compares
//! builds. The file's envelope (start, machine, wall time) is the newest run's.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{
    commit, fmt_thousands, run_load, start_proxy, version, NamedLoad, Server, Wrap, CALLGRIND_LOADS,
};
use crate::experiment::Experiment;
use crate::results::{self, Envelope};
use kit::procs::ScratchDir;
use kit::{nginx, stack};

/// callgrind's own part of `results/callgrind.json`: one run per label (e.g. `before`,
/// `after`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CallgrindResults {
    pub runs: Vec<CallgrindRun>,
}

/// One `make callgrind`: every proxy at every load, on one build.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallgrindRun {
    pub label: String,
    /// `git describe --always --dirty` of the measured tree.
    pub commit: String,
    pub started_at: String,
    pub valgrind: Option<String>,
    pub nginx: Option<String>,
    pub rows: Vec<CallgrindRow>,
}

/// One proxy at one load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallgrindRow {
    /// `app_async` or `nginx-proxy`.
    pub proxy: String,
    pub load: String,
    /// loadgen's flags.
    pub flags: String,
    pub requests: u64,
    pub complete: u64,
    pub failed: u64,
    /// Instructions of the whole run with the load.
    pub ir_loaded: u64,
    /// Instructions of the same start, readiness probe and stop without a load.
    pub ir_baseline: u64,
    /// (ir_loaded - ir_baseline) / complete.
    pub ir_per_request: f64,
}

/// The whole file `results/callgrind.json`.
pub type CallgrindFile = Envelope<CallgrindResults>;

/// The total `Ir` of a callgrind output file (its `totals:` or `summary:` line).
pub fn callgrind_total(text: &str) -> Option<u64> {
    let line = |prefix: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(prefix))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|value| value.parse().ok())
    };
    line("totals:").or_else(|| line("summary:"))
}

/// One proxy under callgrind: started, probed until it accepts, loaded with `load`
/// (or not), stopped; its instructions and the load's report.
fn callgrind_once(
    runtime: &tokio::runtime::Runtime,
    target: Server,
    bin_dir: &Path,
    api_port: u16,
    load: Option<&NamedLoad>,
) -> anyhow::Result<(u64, Option<loadgen::Report>)> {
    let scratch = ScratchDir::new("callgrind")?;
    let out = scratch.path().join("callgrind.out");
    let (mut proxy, port) = start_proxy(
        target,
        bin_dir,
        scratch.path(),
        api_port,
        &Wrap::Callgrind { out: &out },
    )?;
    let report = load.map(|load| run_load(runtime, load, port)).transpose()?;
    // callgrind writes its file as the process exits: a graceful stop.
    proxy.stop(Duration::from_secs(120));
    let text = std::fs::read_to_string(&out).map_err(|err| {
        anyhow::anyhow!(
            "no callgrind output from {} ({err}): {}",
            target.id(),
            proxy.log_tail(3)
        )
    })?;
    let total = callgrind_total(&text)
        .ok_or_else(|| anyhow::anyhow!("no totals in {}'s callgrind output", target.id()))?;
    Ok((total, report))
}

/// `lab callgrind`: one build's run under `label`, beside the runs already recorded.
pub struct CallgrindExperiment {
    /// Where slow_api and app_async are.
    pub bin_dir: PathBuf,
    /// This run's name in the table.
    pub label: String,
    /// The runs recorded before this one (`results/callgrind.json`), which it joins.
    pub earlier: Vec<CallgrindRun>,
}

impl CallgrindExperiment {
    /// A run named `label` that joins the runs of `dir/callgrind.json`, if there is one.
    pub fn joining(bin_dir: PathBuf, label: String, dir: &Path) -> anyhow::Result<Self> {
        let json = dir.join("callgrind.json");
        let earlier = if json.exists() {
            // Only the runs: they are what this run joins; the envelope becomes its own.
            let file: CallgrindResults = results::read_json(&json, "a callgrind result")?;
            file.runs
        } else {
            Vec::new()
        };
        Ok(CallgrindExperiment {
            bin_dir,
            label,
            earlier,
        })
    }
}

impl Experiment for CallgrindExperiment {
    type Run = CallgrindResults;
    const NAME: &'static str = "callgrind";
    const COMMAND: &'static str = "make callgrind";

    fn run(&self) -> anyhow::Result<Envelope<CallgrindResults>> {
        let started = results::Started::now();
        let run = measure(&self.bin_dir, &self.label, started.started_at())?;
        let mut runs = self.earlier.clone();
        match runs.iter_mut().find(|old| old.label == run.label) {
            Some(old) => *old = run,
            None => runs.push(run),
        }
        Ok(started.finish(CallgrindResults { runs }))
    }

    fn table(results: &Envelope<CallgrindResults>) -> String {
        callgrind_table(&results.run)
    }

    fn pages(results: &Envelope<CallgrindResults>, name: &str) -> Vec<(String, String)> {
        let page = format!(
            "# Instructions per proxied request\n\n\
             Written by `make callgrind` (`lab callgrind`): each proxy under \
             `valgrind --tool=callgrind`, one worker, in front of a native slow API; \
             (instructions with the load - instructions of the same start and stop without \
             it) / requests.\n\n{}",
            callgrind_table(&results.run)
        );
        vec![(format!("{name}.md"), page)]
    }

    /// A load that lost requests measures less than it says: this run's rows must have
    /// every request answered.
    fn unmet(results: &Envelope<CallgrindResults>) -> Vec<String> {
        results
            .run
            .runs
            .iter()
            .filter(|run| run.started_at == results.started_at)
            .flat_map(|run| &run.rows)
            .filter(|row| row.complete != row.requests || row.failed > 0)
            .map(|row| {
                format!(
                    "{} at {}: {} of {} requests complete, {} failed",
                    row.proxy, row.flags, row.complete, row.requests, row.failed
                )
            })
            .collect()
    }
}

/// Instructions per proxied request of app_async and nginx-proxy on this build.
fn measure(bin_dir: &Path, label: &str, started_at: &str) -> anyhow::Result<CallgrindRun> {
    let say = |line: &str| crate::out!("{line}");
    let runtime = crate::load::runtime()?;
    let scratch = ScratchDir::new("callgrind-api")?;
    let (_slow_api, api_port) = stack::start_slow_api(bin_dir, scratch.path())?;
    let mut rows = Vec::new();
    for server in [Server::AppAsync, Server::NginxProxy] {
        say(&format!("{}: no load (baseline)", server.id()));
        let (baseline, _) = callgrind_once(&runtime, server, bin_dir, api_port, None)?;
        for load in &CALLGRIND_LOADS {
            say(&format!("{}: {}", server.id(), load.flags()));
            let (loaded, report) = callgrind_once(&runtime, server, bin_dir, api_port, Some(load))?;
            let report = report.ok_or_else(|| anyhow::anyhow!("no report"))?;
            let ir_per_request = per_request(loaded, baseline, report.complete);
            say(&format!("  {ir_per_request:.0} instructions per request"));
            rows.push(CallgrindRow {
                proxy: server.id().to_owned(),
                load: load.name.to_owned(),
                flags: load.flags(),
                requests: load.load.requests,
                complete: report.complete,
                failed: report.failed,
                ir_loaded: loaded,
                ir_baseline: baseline,
                ir_per_request,
            });
        }
    }
    Ok(CallgrindRun {
        label: label.to_owned(),
        commit: commit(),
        started_at: started_at.to_owned(),
        valgrind: version("valgrind", "--version"),
        nginx: nginx::find().and_then(|path| version(&path.to_string_lossy(), "-v")),
        rows,
    })
}

/// What a request costs: the loaded run's instructions less the unloaded run's, per
/// request answered (0 when none was).
fn per_request(loaded: u64, baseline: u64, complete: u64) -> f64 {
    if complete == 0 {
        return 0.0;
    }
    loaded.saturating_sub(baseline) as f64 / complete as f64
}

/// The docs' `callgrind-table` block: every run, app_async against nginx-proxy.
pub fn callgrind_table(all: &CallgrindResults) -> String {
    let mut out = String::from(
        "| build | proxy | load (loadgen) | instructions per request | vs nginx-proxy |\n\
         |---|---|---|--:|--:|\n",
    );
    for run in &all.runs {
        for row in &run.rows {
            let nginx = run
                .rows
                .iter()
                .find(|other| other.proxy == Server::NginxProxy.id() && other.load == row.load)
                .map(|nginx| nginx.ir_per_request);
            let ratio = match nginx {
                Some(nginx) if nginx > 0.0 => format!("{:.2}x", row.ir_per_request / nginx),
                _ => String::new(),
            };
            out.push_str(&format!(
                "| {} ({}) | {} | `{}` | {} | {ratio} |\n",
                run.label,
                run.commit,
                row.proxy,
                row.flags,
                fmt_thousands(row.ir_per_request),
            ));
        }
    }
    if let Some(run) = all.runs.last() {
        out.push_str(&format!(
            "\nLast run {} ({}, {}).\n",
            run.started_at,
            run.valgrind.as_deref().unwrap_or("valgrind"),
            run.nginx.as_deref().unwrap_or("nginx")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_costs_the_difference_per_answer() {
        assert_eq!(per_request(3_000, 1_000, 100), 20.0);
        // A baseline above the loaded run (impossible, but read from files) costs 0.
        assert_eq!(per_request(900, 1_000, 100), 0.0);
        assert_eq!(per_request(3_000, 1_000, 0), 0.0);
    }

    #[test]
    fn only_this_runs_lost_requests_fail_it() {
        let row = |complete| CallgrindRow {
            proxy: "app_async".into(),
            load: "keep-alive".into(),
            flags: "-k -r -n 2000 -c 50 ?delay=0".into(),
            requests: 2000,
            complete,
            failed: 0,
            ir_loaded: 0,
            ir_baseline: 0,
            ir_per_request: 0.0,
        };
        let run = |label: &str, at: &str, complete| CallgrindRun {
            label: label.into(),
            commit: "abc".into(),
            started_at: at.into(),
            valgrind: None,
            nginx: None,
            rows: vec![row(complete)],
        };
        let mut results = results::Started::now().finish(CallgrindResults {
            runs: vec![run("old", "2026-01-01T00:00:00Z", 1999)],
        });
        results.started_at = "2026-02-01T00:00:00Z".into();
        results
            .run
            .runs
            .push(run("new", "2026-02-01T00:00:00Z", 2000));
        assert!(CallgrindExperiment::unmet(&results).is_empty());
        results.run.runs[1].rows[0].complete = 1990;
        assert_eq!(
            CallgrindExperiment::unmet(&results),
            vec!["app_async at -k -r -n 2000 -c 50 ?delay=0: 1990 of 2000 requests complete, 0 failed"]
        );
    }

    #[test]
    fn reads_callgrind_totals() {
        let text = "events: Ir\nsummary: 1234\nfl=x\n0 5\ntotals: 1234\n";
        assert_eq!(callgrind_total(text), Some(1234));
        assert_eq!(callgrind_total("events: Ir\nsummary: 77\n"), Some(77));
        assert_eq!(callgrind_total("nothing"), None);
    }
}
