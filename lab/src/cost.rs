//! What one proxied request costs: app_async against nginx doing the same job
//! ([`kit::nginx::PROXY`]: nginx straight to the slow API with a keep-alive pool).
//!
//! Two yardsticks, both run by `lab` (`make callgrind`, `make proxy-bench`):
//!
//! - [`callgrind`]: instructions per proxied request. Each proxy runs under
//!   `valgrind --tool=callgrind` (one worker; nginx with `master_process off`) in front
//!   of a native slow API, once without load and once per load of [`CALLGRIND_LOADS`];
//!   (Ir with the load - Ir without) / requests is what a request costs, start-up and
//!   shutdown excluded. Instructions do not change with the machine's noise, so one run
//!   compares builds. Written to `results/callgrind.{md,json}`, one run per `--label`.
//! - [`bench()`]: throughput and CPU per request, natively, side by side in one run:
//!   the slow API alone (direct), nginx-proxy and app_async, one worker each, at the
//!   loads of [`BENCH_LOADS`], interleaved round by round. Written to
//!   `results/proxy-bench.{md,json}`.
//!
//! Every process is started through [`kit::procs`] (own process group, stopped on
//! drop and on Ctrl-C), binds 127.0.0.1 only, and each load is bounded (`-n`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::load::Plan;
use crate::results::{self, fmt_rps};
use crate::scenarios;
use kit::procs::{find_executable, ScratchDir, Service};
use kit::{nginx, procfs, stack};

/// One of the scenario table's loads ([`scenarios::Load`]: `-n`, `-c`, `-k`,
/// `?delay=`) under the name the cost tables give it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NamedLoad {
    pub name: &'static str,
    pub load: scenarios::Load,
}

impl NamedLoad {
    /// The loadgen command line it stands for (`-r`: socket errors are counted).
    pub fn flags(&self) -> String {
        self.load.ab_flags()
    }

    /// The load against the proxy on `port`.
    fn plan(&self, port: u16) -> Plan {
        let url = format!("http://127.0.0.1:{port}/?delay={}", self.load.delay);
        Plan::of(&self.load, url)
    }
}

/// The loads under callgrind: a new connection per request (as ab), and keep-alive.
/// Small and without delay: under valgrind a proxy runs some 50 times slower.
pub const CALLGRIND_LOADS: [NamedLoad; 2] = [
    NamedLoad {
        name: "new connection per request",
        load: scenarios::Load {
            requests: 2000,
            concurrency: 50,
            delay: 0.0,
            keep_alive: false,
        },
    },
    NamedLoad {
        name: "keep-alive",
        load: scenarios::Load {
            requests: 2000,
            concurrency: 50,
            delay: 0.0,
            keep_alive: true,
        },
    },
];

/// The loads of bench-all's reference rows (`nginx-proxy` and `nginx-proxy-keepalive`):
/// all clients at once, a one-second upstream.
pub const BENCH_LOADS: [NamedLoad; 2] = [
    NamedLoad {
        name: "new connection per request",
        load: scenarios::HUGE,
    },
    NamedLoad {
        name: "keep-alive",
        load: scenarios::KEEPALIVE,
    },
];

/// The two proxies, and the slow API alone (bench only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Direct,
    NginxProxy,
    AppAsync,
}

impl Target {
    pub fn id(self) -> &'static str {
        match self {
            Target::Direct => "direct",
            Target::NginxProxy => "nginx-proxy",
            Target::AppAsync => "app_async",
        }
    }
}

// --- results -------------------------------------------------------------------------

/// `results/callgrind.json`: one run per label (e.g. `before`, `after`).
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

// --- processes -------------------------------------------------------------------------

fn bin(bin_dir: &Path, name: &str) -> anyhow::Result<PathBuf> {
    let path = bin_dir.join(name);
    anyhow::ensure!(
        path.exists(),
        "{} not built: run `cargo build --release -p {name}`",
        path.display()
    );
    Ok(path)
}

/// How a proxy's command is wrapped: natively, or under callgrind writing `out`.
enum Wrap<'a> {
    Native,
    Callgrind { out: &'a Path },
}

fn command(program: &Path, wrap: &Wrap) -> anyhow::Result<Command> {
    Ok(match wrap {
        Wrap::Native => stack::service_command(program),
        Wrap::Callgrind { out } => {
            let valgrind = find_executable("valgrind", "VALGRIND", &["/usr/bin"])
                .ok_or_else(|| anyhow::anyhow!(VALGRIND_HINT))?;
            let mut command = stack::service_command(valgrind);
            command
                .arg("--tool=callgrind")
                .arg(format!("--callgrind-out-file={}", out.display()))
                .arg(program);
            command
        }
    })
}

/// What to install when valgrind is missing.
pub const VALGRIND_HINT: &str =
    "valgrind not found: install it with `apt-get install -y valgrind` (or set VALGRIND=/path/to/valgrind)";

/// Starts a proxy on a free port in front of the slow API on `api_port`, and waits
/// until it accepts. One worker each.
fn start_proxy(
    target: Target,
    bin_dir: &Path,
    dir: &Path,
    api_port: u16,
    wrap: &Wrap,
) -> anyhow::Result<(Service, u16)> {
    let port = stack::free_port()?;
    let log = dir.join(format!("{}.log", target.id()));
    let mut service = match target {
        Target::Direct => anyhow::bail!("direct is not a proxy"),
        Target::AppAsync => {
            let mut command = command(&bin(bin_dir, "app_async")?, wrap)?;
            command.env("WORKERS", "1").env("SHUTDOWN_TIMEOUT", "2");
            command.args([
                "--host",
                "127.0.0.1",
                "--port-app",
                &port.to_string(),
                "--port-api",
                &api_port.to_string(),
            ]);
            Service::spawn("app_async", command, &log, libc::SIGTERM)?
        }
        Target::NginxProxy => {
            let program = nginx::find().ok_or_else(|| anyhow::anyhow!(nginx::PACKAGE_HINT))?;
            let mut command = command(&program, wrap)?;
            // One worker, as app_async runs one event loop.
            command.args(nginx::prepare(
                nginx::PROXY,
                nginx::Workers::Exactly(1),
                dir,
                port,
                api_port,
            )?);
            // Under callgrind the worker is the process itself: no master to fork it.
            let globals = match wrap {
                Wrap::Native => "daemon off;",
                Wrap::Callgrind { .. } => "daemon off; master_process off;",
            };
            command.args(["-g", globals]);
            Service::spawn("nginx", command, &log, libc::SIGQUIT)?
        }
    };
    let within = match wrap {
        Wrap::Native => Duration::from_secs(30),
        Wrap::Callgrind { .. } => Duration::from_secs(120),
    };
    stack::wait_accepting(&mut service, port, within)?;
    Ok((service, port))
}

fn run_load(
    runtime: &tokio::runtime::Runtime,
    load: &NamedLoad,
    port: u16,
) -> anyhow::Result<loadgen::Report> {
    let report = load.plan(port).run(runtime)?;
    if let Some(reason) = &report.aborted {
        anyhow::bail!("the load was aborted: {reason}");
    }
    Ok(report)
}

/// `git describe --always --dirty`, or `unknown`.
pub fn commit() -> String {
    Command::new("git")
        .args(["describe", "--always", "--dirty"])
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".to_owned())
}

fn version(program: &str, flag: &str) -> Option<String> {
    let output = Command::new(program).arg(flag).output().ok()?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    text.lines().next().map(|line| line.trim().to_owned())
}

// --- callgrind -------------------------------------------------------------------------

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
    target: Target,
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

/// `make callgrind`: instructions per proxied request of app_async and nginx-proxy.
pub fn callgrind(bin_dir: &Path, label: &str, say: impl Fn(&str)) -> anyhow::Result<CallgrindRun> {
    let started_at = results::now_utc();
    let runtime = crate::load::runtime()?;
    let scratch = ScratchDir::new("callgrind-api")?;
    let (_slow_api, api_port) = stack::start_slow_api(bin_dir, scratch.path())?;
    let mut rows = Vec::new();
    for target in [Target::AppAsync, Target::NginxProxy] {
        say(&format!("{}: no load (baseline)", target.id()));
        let (baseline, _) = callgrind_once(&runtime, target, bin_dir, api_port, None)?;
        for load in &CALLGRIND_LOADS {
            say(&format!("{}: {}", target.id(), load.flags()));
            let (loaded, report) = callgrind_once(&runtime, target, bin_dir, api_port, Some(load))?;
            let report = report.ok_or_else(|| anyhow::anyhow!("no report"))?;
            anyhow::ensure!(
                report.complete == load.load.requests && report.failed == 0,
                "{} at {}: {} of {} requests complete, {} failed",
                target.id(),
                load.flags(),
                report.complete,
                load.load.requests,
                report.failed
            );
            let ir_per_request = loaded.saturating_sub(baseline) as f64 / report.complete as f64;
            say(&format!("  {ir_per_request:.0} instructions per request"));
            rows.push(CallgrindRow {
                proxy: target.id().to_owned(),
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
        started_at,
        valgrind: version("valgrind", "--version"),
        nginx: nginx::find().and_then(|path| version(&path.to_string_lossy(), "-v")),
        rows,
    })
}

/// Replaces the run with the same label (or appends it) and writes
/// `results/callgrind.{json,md}`.
pub fn write_callgrind(results_dir: &Path, run: CallgrindRun) -> anyhow::Result<()> {
    let json = results_dir.join("callgrind.json");
    let mut all: CallgrindResults = if json.exists() {
        results::read_json(&json, "a callgrind result")?
    } else {
        CallgrindResults::default()
    };
    match all.runs.iter_mut().find(|old| old.label == run.label) {
        Some(old) => *old = run,
        None => all.runs.push(run),
    }
    results::write_json(&json, &all)?;
    let md = format!(
        "# Instructions per proxied request\n\n\
         Written by `make callgrind` (`lab callgrind`): each proxy under \
         `valgrind --tool=callgrind`, one worker, in front of a native slow API; \
         (instructions with the load - instructions of the same start and stop without \
         it) / requests.\n\n{}",
        callgrind_table(&all)
    );
    results::write_atomically(&results_dir.join("callgrind.md"), &md)
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
                .find(|other| other.proxy == Target::NginxProxy.id() && other.load == row.load)
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

/// `123456.7` as `123,457`.
pub fn fmt_thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

// --- side by side ------------------------------------------------------------------

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
    target: Target,
    bin_dir: &Path,
    load: &NamedLoad,
) -> anyhow::Result<(std::collections::BTreeMap<String, u64>, u64)> {
    let strace = find_executable("strace", "STRACE", &["/usr/bin"]).ok_or_else(|| {
        anyhow::anyhow!("strace not found: install it with `apt-get install -y strace`")
    })?;
    let scratch = ScratchDir::new("proxy-bench-strace")?;
    let (mut slow_api, api_port) = stack::start_slow_api(bin_dir, scratch.path())?;
    let (mut proxy, port) = start_proxy(target, bin_dir, scratch.path(), api_port, &Wrap::Native)?;
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

fn bench_once(
    runtime: &tokio::runtime::Runtime,
    target: Target,
    bin_dir: &Path,
    load: &NamedLoad,
) -> anyhow::Result<Sample> {
    let scratch = ScratchDir::new("proxy-bench")?;
    let (mut slow_api, api_port) = stack::start_slow_api(bin_dir, scratch.path())?;
    let mut proxy = match target {
        Target::Direct => None,
        _ => Some(start_proxy(
            target,
            bin_dir,
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

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// `make proxy-bench`: direct, nginx-proxy and app_async side by side, `rounds` times
/// each in turn, at every load of [`BENCH_LOADS`].
///
/// `compare` adds an app_async row from other binaries, run in the same rounds (e.g. the
/// build before an optimization: `("app_async before", dir)`).
pub fn bench(
    bin_dir: &Path,
    rounds: u32,
    compare: Option<(&str, &Path)>,
    say: impl Fn(&str),
) -> anyhow::Result<BenchResults> {
    let started = results::Started::now();
    let runtime = crate::load::runtime()?;
    let mut targets: Vec<(Target, String, &Path)> =
        [Target::Direct, Target::NginxProxy, Target::AppAsync]
            .into_iter()
            .map(|target| (target, target.id().to_owned(), bin_dir))
            .collect();
    if let Some((label, dir)) = compare {
        targets.push((Target::AppAsync, label.to_owned(), dir));
    }
    let mut rows = Vec::new();
    for (load, small) in BENCH_LOADS.iter().zip(&CALLGRIND_LOADS) {
        let mut samples: Vec<Vec<Sample>> = targets.iter().map(|_| Vec::new()).collect();
        for round in 1..=rounds {
            for (index, (target, label, dir)) in targets.iter().enumerate() {
                let sample = bench_once(&runtime, *target, dir, load)?;
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
            let (syscalls_per_request, syscalls) = if *target == Target::Direct {
                (None, Default::default())
            } else {
                say(&format!("{label}: strace -c -f over {}", small.flags()));
                let (counts, complete) = syscalls_once(&runtime, *target, dir, small)?;
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

/// Writes `results/proxy-bench.{json,md}`.
pub fn write_bench(results_dir: &Path, run: &BenchResults) -> anyhow::Result<()> {
    results::write_json(&results_dir.join("proxy-bench.json"), run)?;
    let md = format!(
        "# app_async against nginx-proxy and the slow API alone\n\n\
         Written by `make proxy-bench` (`lab proxy-bench`).\n\n{}",
        bench_table(run)
    );
    results::write_atomically(&results_dir.join("proxy-bench.md"), &md)
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
        let find = |target: Target| {
            run.rows
                .iter()
                .find(|other| other.target == target.id() && other.load == row.load)
        };
        let vs_direct = find(Target::Direct)
            .filter(|direct| direct.requests_per_second > 0.0)
            .map(|direct| {
                format!(
                    "{:.1}%",
                    row.requests_per_second / direct.requests_per_second * 100.0
                )
            })
            .unwrap_or_default();
        let vs_nginx = find(Target::NginxProxy)
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
    fn reads_callgrind_totals() {
        let text = "events: Ir\nsummary: 1234\nfl=x\n0 5\ntotals: 1234\n";
        assert_eq!(callgrind_total(text), Some(1234));
        assert_eq!(callgrind_total("events: Ir\nsummary: 77\n"), Some(77));
        assert_eq!(callgrind_total("nothing"), None);
    }

    #[test]
    fn thousands() {
        assert_eq!(fmt_thousands(0.0), "0");
        assert_eq!(fmt_thousands(999.4), "999");
        assert_eq!(fmt_thousands(1000.0), "1,000");
        assert_eq!(fmt_thousands(1_234_567.8), "1,234,568");
    }

    #[test]
    fn reads_strace_counts() {
        let text = "    calls syscall\n--------- ----------------\n        7 read\n       23 epoll_wait\n--------- ----------------\n       30 total\n";
        let counts = parse_strace_counts(text);
        assert_eq!(counts.len(), 2);
        assert_eq!(counts["read"], 7);
        assert_eq!(counts["epoll_wait"], 23);
    }

    #[test]
    fn flags_read_as_loadgen() {
        assert_eq!(CALLGRIND_LOADS[1].flags(), "-k -r -n 2000 -c 50 ?delay=0");
        assert_eq!(BENCH_LOADS[0].flags(), "-r -n 5000 -c 1000 ?delay=1");
    }
}
