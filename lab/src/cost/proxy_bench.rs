//! `make proxy-bench`: the slow API alone (direct), nginx-proxy and app_async, one worker
//! each, side by side at the loads of [`BENCH_LOADS`], interleaved round by round:
//! requests/s, CPU, context switches and threads of each server's process tree, and the
//! system calls per request under the small loads of [`CALLGRIND_LOADS`].

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::{
    commit, median, run_load, start_proxy, NamedLoad, Server, Wrap, BENCH_LOADS, CALLGRIND_LOADS,
};
use crate::experiment::Experiment;
use crate::results::{self, fmt_rps};
use kit::procs::{find_executable, ScratchDir, Service};
use kit::{procfs, stack};

/// proxy-bench's own part of `results/proxy-bench.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProxyBench {
    pub commit: String,
    pub rounds: u32,
    pub rows: Vec<BenchRow>,
}

/// The whole file `results/proxy-bench.json`.
pub type BenchResults = results::Envelope<ProxyBench>;

/// One target at one load, each round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchRow {
    pub target: String,
    pub load: String,
    pub flags: String,
    /// Median of the rounds.
    pub requests_per_second: f64,
    /// CPU ms per request of the target's process tree (the slow API's for direct).
    pub cpu_ms_per_request: f64,
    /// CPU ms per request of the slow API behind it.
    pub upstream_cpu_ms_per_request: f64,
    pub failed: u64,
    pub non_2xx: u64,
    /// Every round: requests/s.
    pub rounds_rps: Vec<f64>,
    /// Every round: CPU ms per request.
    pub rounds_cpu_ms: Vec<f64>,
    /// Median of the rounds: voluntary + involuntary context switches per request, every
    /// thread of the target's process tree (`/proc/PID/task/*/status`).
    #[serde(default)]
    pub context_switches_per_request: f64,
    /// Threads of the target's process tree before the load, and at most during it.
    #[serde(default)]
    pub threads_idle: u64,
    #[serde(default)]
    pub threads_loaded: u64,
    /// System calls per request of the target's process tree (`strace -c -f`), under
    /// the small load of [`CALLGRIND_LOADS`] with the same keep-alive; none for direct.
    #[serde(default)]
    pub syscalls_per_request: Option<f64>,
    /// The same, by system call.
    #[serde(default)]
    pub syscalls: std::collections::BTreeMap<String, f64>,
}

/// One measured load against one target: requests/s, CPU ticks of the target's tree and
/// of the slow API's.
struct Sample {
    report: loadgen::Report,
    cpu_ticks: u64,
    upstream_ticks: u64,
    context_switches: u64,
    threads_idle: u64,
    threads_loaded: u64,
}

/// Voluntary + involuntary context switches so far of every thread of the tree rooted at
/// `root` (a thread that ends takes its count with it).
fn context_switches(root: i32) -> u64 {
    let mut total = 0;
    for process in procfs::tree(&procfs::processes(), root) {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{}/task", process.pid)) else {
            continue;
        };
        for task in tasks.filter_map(Result::ok) {
            let status = std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
            total += status
                .lines()
                .filter(|line| line.contains("ctxt_switches:"))
                .filter_map(|line| line.split_whitespace().nth(1)?.parse::<u64>().ok())
                .sum::<u64>();
        }
    }
    total
}

/// `strace -c -U calls,name` output: calls by system call (the total row left out).
pub fn parse_strace_counts(text: &str) -> std::collections::BTreeMap<String, u64> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let calls = fields.next()?.parse::<u64>().ok()?;
            let name = fields.next()?;
            (name != "total").then(|| (name.to_owned(), calls))
        })
        .collect()
}

/// System calls of `target`'s process tree while it serves `load`: `strace -c -f`
/// attached to each of its processes (all their threads) just for the load.
fn syscalls_once(
    runtime: &tokio::runtime::Runtime,
    target: Server,
    bin_dir: &Path,
    proxy_bin_dir: &Path,
    load: &NamedLoad,
) -> anyhow::Result<(std::collections::BTreeMap<String, u64>, u64)> {
    let strace = find_executable("strace", "STRACE", &["/usr/bin"]).ok_or_else(|| {
        anyhow::anyhow!("strace not found: install it with `apt-get install -y strace`")
    })?;
    let scratch = ScratchDir::new("proxy-bench-strace")?;
    let (mut slow_api, api_port) = stack::start_slow_api(bin_dir, scratch.path())?;
    let (mut proxy, port) = start_proxy(
        target,
        proxy_bin_dir,
        scratch.path(),
        api_port,
        &Wrap::Native,
    )?;
    let out = scratch.path().join("strace.txt");
    let pids: Vec<i32> = procfs::tree(&procfs::processes(), proxy.pid())
        .iter()
        .filter(|process| process.state != 'Z')
        .map(|process| process.pid)
        .collect();
    let mut command = Command::new(strace);
    command
        .args(["-c", "-f", "-U", "calls,name", "-o"])
        .arg(&out);
    for pid in &pids {
        command.args(["-p", &pid.to_string()]);
    }
    // SIGINT is how strace detaches and writes its summary.
    let mut tracer = Service::spawn(
        "strace",
        command,
        &scratch.path().join("strace.log"),
        libc::SIGINT,
    )?;
    // Attached once every process names a tracer.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !pids.iter().all(|pid| {
        std::fs::read_to_string(format!("/proc/{pid}/status")).is_ok_and(|status| {
            status.lines().any(|line| {
                line.starts_with("TracerPid:") && line.split_whitespace().nth(1) != Some("0")
            })
        })
    }) {
        anyhow::ensure!(
            Instant::now() < deadline,
            "strace did not attach within 10 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let report = run_load(runtime, load, port);
    tracer.stop(Duration::from_secs(30));
    proxy.stop(Duration::from_secs(5));
    slow_api.stop(Duration::from_secs(5));
    let report = report?;
    Ok((
        parse_strace_counts(&std::fs::read_to_string(&out)?),
        report.complete,
    ))
}

/// One round of `target` at `load`: the slow API from `bin_dir`, the proxy's binary (for
/// app_async) from `proxy_bin_dir`, so a compare row changes nothing but the proxy.
fn bench_once(
    runtime: &tokio::runtime::Runtime,
    target: Server,
    bin_dir: &Path,
    proxy_bin_dir: &Path,
    load: &NamedLoad,
) -> anyhow::Result<Sample> {
    let scratch = ScratchDir::new("proxy-bench")?;
    let (mut slow_api, api_port) = stack::start_slow_api(bin_dir, scratch.path())?;
    let mut proxy = match target {
        Server::Direct => None,
        _ => Some(start_proxy(
            target,
            proxy_bin_dir,
            scratch.path(),
            api_port,
            &Wrap::Native,
        )?),
    };
    let (pid, port) = match &proxy {
        Some((service, port)) => (service.pid(), *port),
        None => (slow_api.pid(), api_port),
    };
    // Each client connection is two tracked connections behind a proxy.
    let _ = kit::kernel::make_room(u64::from(load.load.concurrency) * 2 + 1024);
    let threads_idle = procfs::usage(pid).threads;
    let switches = context_switches(pid);
    let before = (
        procfs::usage(pid).cpu_ticks,
        procfs::usage(slow_api.pid()).cpu_ticks,
    );
    let sampler = procfs::Sampler::start(pid, Duration::from_millis(100));
    let report = run_load(runtime, load, port)?;
    let after = (
        procfs::usage(pid).cpu_ticks,
        procfs::usage(slow_api.pid()).cpu_ticks,
    );
    let context_switches = context_switches(pid).saturating_sub(switches);
    let threads_loaded = sampler.finish().threads;
    if let Some((service, _)) = proxy.as_mut() {
        service.stop(Duration::from_secs(5));
    }
    slow_api.stop(Duration::from_secs(5));
    Ok(Sample {
        report,
        cpu_ticks: after.0.saturating_sub(before.0),
        upstream_ticks: after.1.saturating_sub(before.1),
        context_switches,
        threads_idle,
        threads_loaded,
    })
}

/// `lab proxy-bench`: every server at every load, `rounds` times in turn.
pub struct ProxyBenchExperiment {
    /// Where slow_api and app_async are.
    pub bin_dir: PathBuf,
    /// Rounds of each server at each load; medians are reported.
    pub rounds: u32,
    /// The timed loads, one per kind of [`BENCH_LOADS`] and by its name ([`BENCH_LOADS`]
    /// itself; smaller in tests). System calls are counted under [`CALLGRIND_LOADS`].
    pub loads: [NamedLoad; 2],
    /// Another build's app_async run in the same rounds, under this name (e.g. the build
    /// before an optimization: `("app_async before", dir)`).
    pub compare: Option<(String, PathBuf)>,
}

impl Experiment for ProxyBenchExperiment {
    type Run = ProxyBench;
    const NAME: &'static str = "proxy-bench";
    const COMMAND: &'static str = "make proxy-bench";

    fn run(&self) -> anyhow::Result<BenchResults> {
        let compare = self
            .compare
            .as_ref()
            .map(|(label, dir)| (label.as_str(), dir.as_path()));
        bench(&self.bin_dir, self.rounds, &self.loads, compare, |line| {
            crate::out!("{line}")
        })
    }

    fn table(results: &BenchResults) -> String {
        bench_table(results)
    }

    fn pages(results: &BenchResults, name: &str) -> Vec<(String, String)> {
        let page = format!(
            "# app_async against nginx-proxy and the slow API alone\n\n\
             Written by `make proxy-bench` (`lab proxy-bench`).\n\n{}",
            bench_table(results)
        );
        vec![(format!("{name}.md"), page)]
    }

    /// A server that dropped or refused requests did less work than the others: its
    /// CPU per request does not compare.
    fn unmet(results: &BenchResults) -> Vec<String> {
        results
            .run
            .rows
            .iter()
            .filter(|row| row.failed + row.non_2xx > 0)
            .map(|row| {
                format!(
                    "{} at {}: {} failed, {} non-2xx",
                    row.target, row.flags, row.failed, row.non_2xx
                )
            })
            .collect()
    }
}

/// `make proxy-bench`: direct, nginx-proxy and app_async side by side, `rounds` times
/// each in turn, at each of `loads` ([`BENCH_LOADS`] in `make proxy-bench`), and each
/// proxy's system calls under the [`CALLGRIND_LOADS`] load of the same kind.
///
/// `compare` adds an app_async row from other binaries, run in the same rounds in front
/// of the same slow API (e.g. the build before an optimization: `("app_async before",
/// dir)`).
pub fn bench(
    bin_dir: &Path,
    rounds: u32,
    loads: &[NamedLoad; 2],
    compare: Option<(&str, &Path)>,
    say: impl Fn(&str),
) -> anyhow::Result<BenchResults> {
    let started = results::Started::now();
    let runtime = crate::load::runtime()?;
    let mut targets: Vec<(Server, String, &Path)> =
        [Server::Direct, Server::NginxProxy, Server::AppAsync]
            .into_iter()
            .map(|target| (target, target.id().to_owned(), bin_dir))
            .collect();
    if let Some((label, dir)) = compare {
        targets.push((Server::AppAsync, label.to_owned(), dir));
    }
    let mut rows = Vec::new();
    for (load, small) in loads.iter().zip(&CALLGRIND_LOADS) {
        let mut samples: Vec<Vec<Sample>> = targets.iter().map(|_| Vec::new()).collect();
        for round in 1..=rounds {
            for (index, (target, label, dir)) in targets.iter().enumerate() {
                let sample = bench_once(&runtime, *target, bin_dir, dir, load)?;
                say(&format!(
                    "{} round {round}: {label:<11} {} requests/s, {:.3} CPU ms per request",
                    load.flags(),
                    fmt_rps(sample.report.requests_per_second),
                    procfs::ms_per_request(sample.cpu_ticks, sample.report.complete)
                ));
                samples[index].push(sample);
            }
        }
        for ((target, label, dir), samples) in targets.iter().zip(samples) {
            let rps: Vec<f64> = samples
                .iter()
                .map(|s| s.report.requests_per_second)
                .collect();
            let cpu: Vec<f64> = samples
                .iter()
                .map(|s| procfs::ms_per_request(s.cpu_ticks, s.report.complete))
                .collect();
            let upstream: Vec<f64> = samples
                .iter()
                .map(|s| procfs::ms_per_request(s.upstream_ticks, s.report.complete))
                .collect();
            let (syscalls_per_request, syscalls) = if *target == Server::Direct {
                (None, Default::default())
            } else {
                say(&format!("{label}: strace -c -f over {}", small.flags()));
                let (counts, complete) = syscalls_once(&runtime, *target, bin_dir, dir, small)?;
                let per = |calls: u64| calls as f64 / complete.max(1) as f64;
                (
                    Some(per(counts.values().sum())),
                    counts
                        .into_iter()
                        .map(|(name, calls)| (name, per(calls)))
                        .collect(),
                )
            };
            rows.push(BenchRow {
                target: label.clone(),
                load: load.name.to_owned(),
                flags: load.flags(),
                requests_per_second: median(&rps),
                cpu_ms_per_request: median(&cpu),
                upstream_cpu_ms_per_request: median(&upstream),
                failed: samples.iter().map(|s| s.report.failed).sum(),
                non_2xx: samples
                    .iter()
                    .map(|s| {
                        s.report
                            .status_codes
                            .iter()
                            .filter(|(code, _)| !(200..300).contains(*code))
                            .map(|(_, count)| count)
                            .sum::<u64>()
                    })
                    .sum(),
                rounds_rps: rps,
                rounds_cpu_ms: cpu,
                context_switches_per_request: median(
                    &samples
                        .iter()
                        .map(|s| s.context_switches as f64 / s.report.complete.max(1) as f64)
                        .collect::<Vec<_>>(),
                ),
                threads_idle: samples.iter().map(|s| s.threads_idle).max().unwrap_or(0),
                threads_loaded: samples.iter().map(|s| s.threads_loaded).max().unwrap_or(0),
                syscalls_per_request,
                syscalls,
            });
        }
    }
    Ok(started.finish(ProxyBench {
        commit: commit(),
        rounds,
        rows,
    }))
}

/// System calls per request by name, the proxies side by side at each strace load
/// (every call that any of them makes at least 0.05 times per request).
fn syscall_table(run: &BenchResults) -> String {
    let mut out = String::new();
    for (bench, small) in BENCH_LOADS.iter().zip(&CALLGRIND_LOADS) {
        let rows: Vec<&BenchRow> = run
            .rows
            .iter()
            .filter(|row| row.load == bench.name && row.syscalls_per_request.is_some())
            .collect();
        if rows.is_empty() {
            continue;
        }
        let mut names: Vec<&String> = rows
            .iter()
            .flat_map(|row| row.syscalls.iter())
            .filter(|(_, per)| **per >= 0.05)
            .map(|(name, _)| name)
            .collect();
        names.sort();
        names.dedup();
        out.push_str(&format!(
            "\nSystem calls per request under `{}` (strace -c -f):\n\n| syscall |",
            small.flags()
        ));
        for row in &rows {
            out.push_str(&format!(" {} |", row.target));
        }
        out.push_str("\n|---|");
        out.push_str(&"--:|".repeat(rows.len()));
        out.push('\n');
        for name in names {
            out.push_str(&format!("| {name} |"));
            for row in &rows {
                let per = row.syscalls.get(name).copied().unwrap_or(0.0);
                out.push_str(&format!(" {per:.2} |"));
            }
            out.push('\n');
        }
    }
    out
}

/// The docs' `proxy-bench-table` block.
pub fn bench_table(run: &BenchResults) -> String {
    let mut out = String::from(
        "| load (loadgen) | target | requests/s | vs direct | CPU ms per request | vs nginx-proxy | context switches per request | syscalls per request (strace) | threads idle / loaded | failed | non-2xx |\n\
         |---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n",
    );
    for row in &run.rows {
        let find = |target: Server| {
            run.rows
                .iter()
                .find(|other| other.target == target.id() && other.load == row.load)
        };
        let vs_direct = find(Server::Direct)
            .filter(|direct| direct.requests_per_second > 0.0)
            .map(|direct| {
                format!(
                    "{:.1}%",
                    row.requests_per_second / direct.requests_per_second * 100.0
                )
            })
            .unwrap_or_default();
        let vs_nginx = find(Server::NginxProxy)
            .filter(|nginx| nginx.cpu_ms_per_request > 0.0 && row.target != "direct")
            .map(|nginx| format!("{:.2}x", row.cpu_ms_per_request / nginx.cpu_ms_per_request))
            .unwrap_or_default();
        let syscalls = row
            .syscalls_per_request
            .map(|calls| format!("{calls:.1}"))
            .unwrap_or_default();
        out.push_str(&format!(
            "| `{}` | {} | {} | {vs_direct} | {:.3} | {vs_nginx} | {:.2} | {syscalls} | {} / {} | {} | {} |\n",
            row.flags,
            row.target,
            fmt_rps(row.requests_per_second),
            row.cpu_ms_per_request,
            row.context_switches_per_request,
            row.threads_idle,
            row.threads_loaded,
            row.failed,
            row.non_2xx
        ));
    }
    out.push_str(&syscall_table(run));
    out.push_str(&format!(
        "\nMedians of {} interleaved rounds, measured {} at {}: {}. CPU is the target's \
         process tree (utime + stime from /proc; the slow API's own for direct); context \
         switches are every thread's in that tree (/proc/PID/task/*/status); system calls \
         are counted by `strace -c -f` attached to the tree for one run of the small load \
         each per-call table names, not during the timed rounds.\n",
        run.rounds,
        run.started_at,
        run.commit,
        results::machine_line(&run.machine)
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_with_lost_requests_fails_the_run() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../results/proxy-bench.json"
        ))
        .expect("the committed proxy-bench.json");
        let mut results: BenchResults =
            serde_json::from_str(&text).expect("the committed proxy-bench.json reads");
        assert!(ProxyBenchExperiment::unmet(&results).is_empty());
        results.run.rows[1].non_2xx = 3;
        let unmet = ProxyBenchExperiment::unmet(&results);
        assert_eq!(unmet.len(), 1);
        assert!(unmet[0].ends_with("0 failed, 3 non-2xx"), "{unmet:?}");
    }

    #[test]
    fn reads_strace_counts() {
        let text = "    calls syscall\n--------- ----------------\n        7 read\n       23 epoll_wait\n--------- ----------------\n       30 total\n";
        let counts = parse_strace_counts(text);
        assert_eq!(counts.len(), 2);
        assert_eq!(counts["read"], 7);
        assert_eq!(counts["epoll_wait"], 23);
    }
}
