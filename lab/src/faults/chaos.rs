//! `make chaos`: a fault injected in the middle of a load, one row per fault and
//! topology, each saying how many requests failed, with what, and how long it took
//! until a new client was served again.
//!
//! Every row starts its scenario's topology ([`kit::stack`]), sends a time-limited
//! closed-loop load with [`loadgen`], and meanwhile probes the front port with one
//! `GET /?delay=0` at a time on a fresh connection. At `fault_at` the fault strikes:
//!
//! - **upstream restart**: the slow API is SIGKILLed and started again on its port at once;
//! - **PostgreSQL restart**: the server is stopped (fast shutdown) for `down`, then started;
//! - **worker kill**: one of app_sync's worker processes is SIGKILLed; the master replaces it;
//! - **nginx reload**: nginx's master gets SIGHUP (`nginx -s reload`).
//!
//! The load's counters over time come from loadgen's timeline ([`super::samples_of`],
//! intervals of a few milliseconds), so a
//! row can say how many errors came before the fault (none expected), and after the
//! topology recovered (none expected): recovery is when the first probe succeeded after
//! the last one that failed, or the moment the broken piece was back if no probe failed.
//!
//! Each row states its criteria ([`criteria`]): nothing fails before the fault or after
//! recovery, only the errors the fault explains (502 for a dead upstream, 503 for a
//! stopped database, a reset for a killed worker, none for a reload), and no more of
//! them than it can explain. A fault fails what it caught in flight and, where the
//! piece was down for a while, what the clients sent meanwhile: a closed-loop client
//! that gets a fast 502 asks again at once. So the bound is the clients in flight plus
//! the requests sent while the piece was down (counted from the load's live counters);
//! a killed worker may fail only its own threads' requests (the others serve the rest);
//! a reload may fail nothing.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::{sample_after, sample_at, Criterion, Sample};
use crate::experiment::Experiment;
use crate::load::{Plan, REQUEST_TIMEOUT};
use crate::results::{self, Outcome};
use crate::runner::{fmt_duration, Ui};
use crate::scenarios::{self, App, Scenario};
use kit::stack::{self, Stack, StartError};
use kit::{kernel, procfs};

/// What breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// The slow API is SIGKILLed and restarted at once on the same port.
    UpstreamRestart,
    /// PostgreSQL stops (fast shutdown) for a while, then starts again.
    PostgresRestart,
    /// One app_sync worker process is SIGKILLed.
    WorkerKill,
    /// nginx's master gets SIGHUP: new configuration, new workers, old ones drain.
    NginxReload,
}

impl Fault {
    pub fn describe(self) -> &'static str {
        match self {
            Fault::UpstreamRestart => "slow_api SIGKILLed, restarted at once",
            Fault::PostgresRestart => "PostgreSQL stopped, started again",
            Fault::WorkerKill => "one worker SIGKILLed",
            Fault::NginxReload => "nginx reloaded (SIGHUP)",
        }
    }
}

/// One row: a fault, the scenario whose topology it strikes, and the load meanwhile.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Case {
    pub id: &'static str,
    pub scenario: &'static str,
    pub fault: Fault,
    pub concurrency: u32,
    pub delay: Duration,
}

const fn case(
    id: &'static str,
    scenario: &'static str,
    fault: Fault,
    c: u32,
    delay_ms: u64,
) -> Case {
    Case {
        id,
        scenario,
        fault,
        concurrency: c,
        delay: Duration::from_millis(delay_ms),
    }
}

/// The rows of `make chaos`.
pub const CASES: &[Case] = &[
    case(
        "upstream-restart-async",
        "async-c1000",
        Fault::UpstreamRestart,
        1000,
        1000,
    ),
    case(
        "upstream-restart-sync",
        "sync-workers",
        Fault::UpstreamRestart,
        200,
        1000,
    ),
    case(
        "postgres-restart-async",
        "pg-async",
        Fault::PostgresRestart,
        50,
        200,
    ),
    case(
        "postgres-restart-blocking",
        "pg-blocking",
        Fault::PostgresRestart,
        5,
        200,
    ),
    case(
        "worker-kill-sync",
        "sync-workers",
        Fault::WorkerKill,
        200,
        1000,
    ),
    case(
        "nginx-reload-async",
        "nginx-async",
        Fault::NginxReload,
        200,
        1000,
    ),
    case(
        "nginx-reload-sync",
        "nginx-sync",
        Fault::NginxReload,
        200,
        1000,
    ),
];

/// The row `id`.
pub fn case_by_id(id: &str) -> Option<&'static Case> {
    CASES.iter().find(|case| case.id == id)
}

/// How long after recovery the answers to requests caught in flight may still be
/// arriving (1,000 resets answered by one event loop take a while).
pub const GRACE: Duration = Duration::from_millis(500);

/// How a run is shaped.
#[derive(Debug, Clone)]
pub struct Options {
    pub bin_dir: PathBuf,
    /// How long each load lasts.
    pub duration: Duration,
    /// How far into the load the fault strikes.
    pub fault_at: Duration,
    /// How long PostgreSQL stays down.
    pub down: Duration,
    /// Replaces every row's delay (shortened runs, tests).
    pub delay: Option<Duration>,
    /// Divides every row's clients (shortened runs, tests); 1 = as the table.
    pub scale: u32,
}

impl Options {
    /// `make chaos`'s shape.
    pub fn full(bin_dir: PathBuf) -> Options {
        Options {
            bin_dir,
            duration: Duration::from_secs(10),
            fault_at: Duration::from_secs(4),
            down: Duration::from_secs(2),
            delay: None,
            scale: 1,
        }
    }
}

/// One row of `results/chaos.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChaosRow {
    pub id: String,
    pub scenario: String,
    pub topology: String,
    pub fault: Fault,
    pub concurrency: u32,
    pub delay_s: f64,
    pub duration_s: f64,
    /// Requests sent that ended (complete or failed) within the load's time.
    pub sent: u64,
    pub ok_2xx: u64,
    /// Errors by status code (`502`, `503`) or failure (`receive`, `connect`, `timeout`).
    pub errors: BTreeMap<String, u64>,
    pub errors_total: u64,
    /// The most requests the fault can catch in flight: the clients (closed loop), or
    /// the killed worker's threads.
    pub in_flight_bound: u64,
    pub errors_before_fault: u64,
    /// Errors that ended more than [`GRACE`] after the topology had recovered (none
    /// expected).
    pub errors_after_recovery: u64,
    /// Requests the load sent while the broken piece was down: those that finished
    /// between the fault and its return, since a closed loop sends one for each (to the
    /// sampling interval).
    #[serde(default)]
    pub sent_while_down: u64,
    /// From the fault until the broken piece was back (restarted, replaced, reloaded).
    pub down_ms: f64,
    /// From the fault until a new client was served again (0: no probe ever failed).
    pub recover_ms: f64,
    /// From the fault until the last error the load saw (0: none after the fault).
    pub last_error_ms: f64,
    pub probes: u64,
    pub probes_failed: u64,
    /// Requests still in flight when the load's time ran out (neither ok nor failed).
    pub unfinished: u64,
    /// Measured, skipped (what to install) or failed (why).
    #[serde(flatten)]
    pub outcome: Outcome,
    /// What the row must keep ([`criteria`]); the run fails when one does not hold.
    #[serde(default)]
    pub criteria: Vec<Criterion>,
}

/// chaos's own part of `results/chaos.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chaos {
    pub duration_s: f64,
    pub fault_at_s: f64,
    pub postgres_down_s: f64,
    pub rows: Vec<ChaosRow>,
}

/// The whole file `results/chaos.json`.
pub type ChaosResults = results::Envelope<Chaos>;

impl ChaosRow {
    fn new(case: &Case, scenario: &Scenario, options: &Options) -> ChaosRow {
        ChaosRow {
            id: case.id.to_owned(),
            scenario: case.scenario.to_owned(),
            topology: scenario.topology.to_owned(),
            fault: case.fault,
            concurrency: scaled(case.concurrency, options.scale),
            delay_s: options.delay.unwrap_or(case.delay).as_secs_f64(),
            duration_s: options.duration.as_secs_f64(),
            sent: 0,
            ok_2xx: 0,
            errors: BTreeMap::new(),
            errors_total: 0,
            in_flight_bound: 0,
            errors_before_fault: 0,
            errors_after_recovery: 0,
            sent_while_down: 0,
            down_ms: 0.0,
            recover_ms: 0.0,
            last_error_ms: 0.0,
            probes: 0,
            probes_failed: 0,
            unfinished: 0,
            outcome: Outcome::Measured,
            criteria: Vec::new(),
        }
    }

    /// Whether the row ran to the end.
    pub fn ran(&self) -> bool {
        self.outcome.is_measured()
    }
}

fn scaled(concurrency: u32, scale: u32) -> u32 {
    concurrency.div_ceil(scale.max(1)).max(1)
}

/// `lab chaos`: these cases, one after another, shaped by the options.
pub struct ChaosExperiment {
    pub cases: Vec<Case>,
    pub options: Options,
}

impl Experiment for ChaosExperiment {
    type Run = Chaos;
    const NAME: &'static str = "chaos";
    const COMMAND: &'static str = "make chaos";

    fn run(&self) -> anyhow::Result<ChaosResults> {
        run_all(&self.cases, &self.options)
    }

    fn table(results: &ChaosResults) -> String {
        markdown_table(results)
    }

    fn unmet(results: &ChaosResults) -> Vec<String> {
        failures(results)
    }
}

/// Runs `cases` one after another.
pub fn run_all(cases: &[Case], options: &Options) -> anyhow::Result<ChaosResults> {
    let started = results::Started::now();
    let ui = Ui::default();
    let runtime = crate::load::runtime()?;
    let per_row = options.duration.as_secs_f64() + 2.0;
    ui.line(&format!(
        "chaos: {} fault(s), about {}",
        cases.len(),
        fmt_duration(per_row * cases.len() as f64)
    ));
    let mut rows = Vec::with_capacity(cases.len());
    for (index, case) in cases.iter().enumerate() {
        let label = format!("[{}/{}] {}", index + 1, cases.len(), case.id);
        ui.line(&format!(
            "{label}: {} during a load ...",
            case.fault.describe()
        ));
        let row = run_case(&runtime, case, options);
        ui.line(&format!("{label}: {}", summary(&row)));
        rows.push(row);
    }
    Ok(started.finish(Chaos {
        duration_s: options.duration.as_secs_f64(),
        fault_at_s: options.fault_at.as_secs_f64(),
        postgres_down_s: options.down.as_secs_f64(),
        rows,
    }))
}

/// One line about a row.
pub fn summary(row: &ChaosRow) -> String {
    if let Some((what, reason)) = row.outcome.why() {
        return format!("{what}: {reason}");
    }
    format!(
        "{} sent, {} 2xx, errors {} ({} before the fault, {} after recovery; in flight {}, sent while down {}), down {:.0} ms, recovered after {:.0} ms, last error after {:.0} ms; criteria: {}",
        row.sent,
        row.ok_2xx,
        fmt_errors(&row.errors),
        row.errors_before_fault,
        row.errors_after_recovery,
        row.in_flight_bound,
        row.sent_while_down,
        row.down_ms,
        row.recover_ms,
        row.last_error_ms,
        super::verdict(&row.criteria).replace("**", "")
    )
}

/// `502: 1000, receive: 3`, or `none`.
pub fn fmt_errors(errors: &BTreeMap<String, u64>) -> String {
    if errors.values().all(|count| *count == 0) {
        return "none".to_owned();
    }
    errors
        .iter()
        .filter(|(_, count)| **count > 0)
        .map(|(kind, count)| format!("{kind}: {count}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs one row and checks its [`criteria`]; never panics on a service's failure: the
/// row says what happened.
pub fn run_case(runtime: &tokio::runtime::Runtime, case: &Case, options: &Options) -> ChaosRow {
    let mut row = measure_case(runtime, case, options);
    row.criteria = criteria(&row);
    row
}

/// The errors a fault explains, by kind (status code or failure).
pub fn expected_errors(fault: Fault) -> &'static [&'static str] {
    match fault {
        Fault::UpstreamRestart => &["502"],
        Fault::PostgresRestart => &["503"],
        Fault::WorkerKill => &["receive"],
        Fault::NginxReload => &[],
    }
}

/// What a row must keep, from its figures (see the module's documentation).
pub fn criteria(row: &ChaosRow) -> Vec<Criterion> {
    if let Some(reason) = row.outcome.why().map(|(_, reason)| reason) {
        return vec![Criterion::ran(Some(reason))];
    }
    let (name, bound, expected) = match row.fault {
        Fault::UpstreamRestart | Fault::PostgresRestart => {
            let bound = row.in_flight_bound + row.sent_while_down;
            (
                "fails only what was in flight or sent while it was down",
                bound,
                format!(
                    "<= {} in flight + {} sent while down = {bound}",
                    row.in_flight_bound, row.sent_while_down
                ),
            )
        }
        Fault::WorkerKill => (
            "fails only the killed worker's requests",
            row.in_flight_bound,
            format!("<= {} (its threads)", row.in_flight_bound),
        ),
        Fault::NginxReload => ("fails nothing", 0, "0".to_owned()),
    };
    let allowed = expected_errors(row.fault);
    let unexplained: Vec<&str> = row
        .errors
        .iter()
        .filter(|(kind, count)| **count > 0 && !allowed.contains(&kind.as_str()))
        .map(|(kind, _)| kind.as_str())
        .collect();
    vec![
        Criterion::new(
            "nothing fails before the fault",
            "0 errors",
            format!("{} errors", row.errors_before_fault),
            row.errors_before_fault == 0,
        ),
        Criterion::new(
            name,
            expected,
            format!("{} errors", row.errors_total),
            row.errors_total <= bound,
        ),
        Criterion::new(
            "only the errors the fault explains",
            if allowed.is_empty() {
                "none".to_owned()
            } else {
                allowed.join(", ")
            },
            fmt_errors(&row.errors),
            unexplained.is_empty(),
        ),
        Criterion::new(
            "nothing fails after recovery",
            format!("0 errors from {} ms after recovery", GRACE.as_millis()),
            format!("{} errors", row.errors_after_recovery),
            row.errors_after_recovery == 0,
        ),
    ]
}

/// Every criterion of `run` that failed, one line each (empty: the run passed).
pub fn failures(run: &ChaosResults) -> Vec<String> {
    super::failures(
        run.rows
            .iter()
            .map(|row| (row.id.clone(), row.criteria.as_slice())),
    )
}

fn measure_case(runtime: &tokio::runtime::Runtime, case: &Case, options: &Options) -> ChaosRow {
    let Some(scenario) = scenarios::by_id(case.scenario) else {
        let mut row = ChaosRow::new(case, &scenarios::SCENARIOS[0], options);
        row.outcome = Outcome::Failed(format!("no scenario `{}`", case.scenario));
        return row;
    };
    let mut row = ChaosRow::new(case, scenario, options);
    let stack = match stack::start(&scenario.topology(), &options.bin_dir) {
        Ok(stack) => stack,
        Err(StartError::Skipped(reason)) => {
            row.outcome = Outcome::Skipped(reason);
            return row;
        }
        Err(StartError::Failed(reason)) => {
            row.outcome = Outcome::Failed(reason);
            return row;
        }
    };
    if let Err(err) = strike_during_load(runtime, stack, case, options, &mut row) {
        row.outcome = Outcome::Failed(format!("{err:#}"));
    }
    row
}

/// One probe: when it was sent and answered, and whether it got a 2xx.
#[derive(Debug, Clone, Copy)]
struct Probe {
    done: Instant,
    ok: bool,
}

/// Sends `GET /?delay=0` to `port`, one at a time, until `stop`.
fn start_probes(port: u16, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<Vec<Probe>> {
    std::thread::spawn(move || {
        let mut probes = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            let status = stack::get_status(port, "/?delay=0");
            probes.push(Probe {
                done: Instant::now(),
                ok: status.is_some_and(|status| (200..300).contains(&status)),
            });
            std::thread::sleep(Duration::from_millis(20));
        }
        probes
    })
}

fn strike_during_load(
    runtime: &tokio::runtime::Runtime,
    mut stack: Stack,
    case: &Case,
    options: &Options,
    row: &mut ChaosRow,
) -> anyhow::Result<()> {
    let concurrency = row.concurrency;
    let delay = options.delay.unwrap_or(case.delay);
    let plan = Plan::lasting(options.duration, concurrency, delay, stack.url(delay))
        .timeline(super::SAMPLE_EVERY);
    // Errors come back fast: room for a closed loop spinning on them.
    let _ = kernel::make_room(4 * plan.expected_requests() + 100_000);

    let stop_probes = Arc::new(AtomicBool::new(false));
    let probes = start_probes(stack.port, Arc::clone(&stop_probes));
    let load = plan.start(runtime);
    let started = load.started;

    load.sleep_until(options.fault_at);
    let (fault, back) = strike(&mut stack, case, options, row);
    let report = load.finish(runtime);
    stop_probes.store(true, Ordering::Relaxed);
    let probes = probes.join().unwrap_or_default();
    stack.stop();
    let (fault, back) = (fault?, back);
    let report = report?;
    let samples = super::samples_of(&report, started);

    row.sent = report.complete + report.failed;
    row.ok_2xx = report.complete.saturating_sub(report.non_2xx);
    row.unfinished = report.unfinished;
    let mut errors = BTreeMap::new();
    for (status, count) in &report.status_codes {
        if !(200..300).contains(status) {
            errors.insert(status.to_string(), *count);
        }
    }
    let failures = &report.failures;
    for (kind, count) in [
        ("connect", failures.connect),
        ("receive", failures.receive),
        ("timeout", failures.timeout),
        ("exception", failures.exceptions),
    ] {
        if count > 0 {
            errors.insert(kind.to_owned(), count);
        }
    }
    row.errors_total = errors.values().sum();
    row.errors = errors;
    row.down_ms = back.saturating_duration_since(fault).as_secs_f64() * 1000.0;
    row.probes = probes.len() as u64;
    row.probes_failed = probes.iter().filter(|probe| !probe.ok).count() as u64;
    let recovered = recovered_at(&probes, fault, back);
    row.recover_ms = recovered.map_or(0.0, |at| (at - fault).as_secs_f64() * 1000.0);
    // Errors after this are not in-flight casualties: the piece was back and a new
    // client had been served.
    let settled = recovered.map_or(back, |at| at.max(back));
    let errors_at = |at: Instant| sample_at(&samples, at).map_or(0, |sample: Sample| sample.errors);
    row.errors_before_fault = errors_at(fault);
    // Each request that finished while the piece was down made its client send another
    // (closed loop); the end is the first sample after it was back, so none is missed.
    let done_at = |sample: Option<Sample>| sample.map_or(0, |sample| sample.done);
    row.sent_while_down =
        done_at(sample_after(&samples, back)).saturating_sub(done_at(sample_at(&samples, fault)));
    let final_errors = samples.last().map_or(0, |sample| sample.errors);
    row.errors_after_recovery = final_errors.saturating_sub(errors_at(settled + GRACE));
    if final_errors > row.errors_before_fault {
        let last = samples
            .iter()
            .find(|sample| sample.errors == final_errors)
            .map_or(fault, |sample| sample.at);
        row.last_error_ms = last.saturating_duration_since(fault).as_secs_f64() * 1000.0;
    }
    if report.aborted.is_some() || started.elapsed() > options.duration + REQUEST_TIMEOUT {
        anyhow::bail!("the load did not end by itself: {:?}", report.aborted);
    }
    Ok(())
}

/// When the topology was serving again: the first successful probe after the last
/// failed one after `fault`; `None` if no probe failed after it.
fn recovered_at(probes: &[Probe], fault: Instant, back: Instant) -> Option<Instant> {
    let last_failed = probes
        .iter()
        .rposition(|probe| !probe.ok && probe.done >= fault)?;
    Some(
        probes[last_failed + 1..]
            .iter()
            .find(|probe| probe.ok)
            .map_or(back, |probe| probe.done),
    )
}

/// Injects the fault and brings the piece back; returns when it struck and when the
/// piece was back. Sets the row's bound on what the fault can catch in flight.
fn strike(
    stack: &mut Stack,
    case: &Case,
    options: &Options,
    row: &mut ChaosRow,
) -> (anyhow::Result<Instant>, Instant) {
    let now = Instant::now();
    row.in_flight_bound = u64::from(row.concurrency);
    let result = match case.fault {
        Fault::UpstreamRestart => stack
            .restart_slow_api(libc::SIGKILL)
            .map_err(|err| anyhow::anyhow!("cannot restart slow_api: {err}")),
        Fault::PostgresRestart => match stack.postgres_mut() {
            Some(postgres) => {
                postgres.stop();
                std::thread::sleep(options.down);
                postgres.restart()
            }
            None => Err(anyhow::anyhow!("{} has no PostgreSQL", case.scenario)),
        },
        Fault::WorkerKill => kill_a_worker(stack, row),
        Fault::NginxReload => match stack.nginx_pid() {
            // SAFETY: kill(2) on the nginx master this runner started.
            Some(pid) if unsafe { libc::kill(pid, libc::SIGHUP) } == 0 => Ok(()),
            Some(pid) => Err(anyhow::anyhow!("cannot signal nginx ({pid})")),
            None => Err(anyhow::anyhow!("{} has no nginx", case.scenario)),
        },
    };
    (result.map(|()| now), Instant::now())
}

/// SIGKILLs one of app_sync's workers, then waits until the master has replaced it.
fn kill_a_worker(stack: &Stack, row: &mut ChaosRow) -> anyhow::Result<()> {
    let master = stack.app_pid();
    let workers = |all: &[procfs::Process]| -> Vec<i32> {
        all.iter()
            .filter(|process| process.ppid == master && process.state != 'Z')
            .map(|process| process.pid)
            .collect()
    };
    let before = workers(&procfs::processes());
    let victim = *before
        .first()
        .ok_or_else(|| anyhow::anyhow!("app_sync ({master}) has no worker processes"))?;
    if let Some(scenario) = scenarios::by_id(&row.scenario) {
        if let App::Sync { threads, .. } = scenario.app {
            // Its threads (the kernel does not share the clients out evenly), or all the
            // clients if fewer.
            row.in_flight_bound = u64::from(threads.min(row.concurrency));
        }
    }
    // SAFETY: kill(2) on a worker of the app this runner started.
    if unsafe { libc::kill(victim, libc::SIGKILL) } != 0 {
        anyhow::bail!("cannot kill worker {victim}");
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = workers(&procfs::processes());
        if now.len() >= before.len() && !now.contains(&victim) {
            return Ok(());
        }
        if Instant::now() > deadline {
            anyhow::bail!("the master did not replace worker {victim} within 10 s");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The table of docs/09-faults.md.
pub fn markdown_table(run: &ChaosResults) -> String {
    let mut out = String::from(
        "| fault | topology | load | sent | 2xx | errors | in flight (bound) | sent while down | errors before / after | down ms | last error after ms | recovered after ms | criteria |\n\
         |---|---|---|--:|--:|---|--:|--:|---|--:|--:|--:|---|\n",
    );
    for row in &run.rows {
        let load = format!(
            "-c {} delay={} for {} s",
            row.concurrency, row.delay_s, row.duration_s
        );
        let head = format!("| {} | {} | {load} |", row.fault.describe(), row.topology);
        if let Some(reason) = row.outcome.why().map(|(_, reason)| reason) {
            out.push_str(&format!(
                "{head} not run: {reason} | | | | | | | | | {} |\n",
                super::verdict(&row.criteria)
            ));
            continue;
        }
        out.push_str(&format!(
            "{head} {} | {} | {} | {} | {} | {} / {} | {:.0} | {:.0} | {:.0} | {} |\n",
            row.sent,
            row.ok_2xx,
            fmt_errors(&row.errors),
            row.in_flight_bound,
            row.sent_while_down,
            row.errors_before_fault,
            row.errors_after_recovery,
            row.down_ms,
            row.last_error_ms,
            row.recover_ms,
            super::verdict(&row.criteria),
        ));
    }
    out.push_str("\nThe criteria of each row:\n\n");
    out.push_str(&super::criteria_table(run.rows.iter().map(|row| {
        (
            format!("{} ({})", row.id, row.topology),
            row.criteria.as_slice(),
        )
    })));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A row as `make chaos` measured it: `errors` by kind, the rest clean.
    fn row(fault: Fault, errors: &[(&str, u64)], in_flight: u64, sent_while_down: u64) -> ChaosRow {
        let case = Case {
            id: "t",
            scenario: "async",
            fault,
            concurrency: 1000,
            delay: Duration::from_secs(1),
        };
        let scenario = scenarios::by_id("async").expect("the async scenario");
        let mut row = ChaosRow::new(&case, scenario, &Options::full(PathBuf::new()));
        row.errors = errors.iter().map(|(k, n)| ((*k).to_owned(), *n)).collect();
        row.errors_total = row.errors.values().sum();
        row.in_flight_bound = in_flight;
        row.sent_while_down = sent_while_down;
        row
    }

    fn failed(row: &ChaosRow) -> Vec<String> {
        crate::faults::unmet(&criteria(row))
    }

    #[test]
    fn a_fault_may_fail_what_was_in_flight_and_what_was_sent_while_down() {
        // make chaos's upstream restart at c=1000: 1,050 502s, 1,000 in flight.
        assert!(failed(&row(Fault::UpstreamRestart, &[("502", 1050)], 1000, 600)).is_empty());
        assert_eq!(
            failed(&row(Fault::UpstreamRestart, &[("502", 1050)], 1000, 40)),
            ["fails only what was in flight or sent while it was down"]
        );
        // A stopped database: 503s while it is down, and only 503s.
        assert!(failed(&row(Fault::PostgresRestart, &[("503", 1041)], 50, 1100)).is_empty());
        assert_eq!(
            failed(&row(
                Fault::PostgresRestart,
                &[("503", 10), ("502", 1)],
                50,
                100
            )),
            ["only the errors the fault explains"]
        );
    }

    #[test]
    fn a_killed_worker_may_fail_only_its_threads_requests_and_a_reload_nothing() {
        // Requests sent while a worker is replaced go to the others: no allowance.
        let kill = row(Fault::WorkerKill, &[("receive", 50)], 50, 900);
        assert!(failed(&kill).is_empty());
        let kill = row(Fault::WorkerKill, &[("receive", 51)], 50, 900);
        assert_eq!(failed(&kill), ["fails only the killed worker's requests"]);
        assert!(failed(&row(Fault::NginxReload, &[], 200, 0)).is_empty());
        assert_eq!(
            failed(&row(Fault::NginxReload, &[("502", 1)], 200, 0)),
            ["fails nothing", "only the errors the fault explains"]
        );
    }

    #[test]
    fn errors_before_the_fault_or_after_recovery_fail_the_row() {
        let mut early = row(Fault::UpstreamRestart, &[("502", 10)], 1000, 0);
        early.errors_before_fault = 1;
        assert_eq!(failed(&early), ["nothing fails before the fault"]);
        let mut late = row(Fault::UpstreamRestart, &[("502", 10)], 1000, 0);
        late.errors_after_recovery = 2;
        assert_eq!(failed(&late), ["nothing fails after recovery"]);
    }

    #[test]
    fn a_row_that_did_not_run_fails() {
        let mut skipped = row(Fault::NginxReload, &[], 0, 0);
        skipped.outcome = Outcome::Skipped("nginx not found".into());
        let criteria = criteria(&skipped);
        assert_eq!(criteria.len(), 1);
        assert!(!criteria[0].passed);
        assert!(criteria[0].measured.contains("nginx not found"));
    }
}

#[cfg(test)]
mod table_and_timing {
    use super::*;
    use std::time::Duration;

    fn probe(at: Instant, ok: bool) -> Probe {
        Probe { done: at, ok }
    }

    #[test]
    fn every_case_names_a_scenario_and_ids_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for case in CASES {
            assert!(seen.insert(case.id), "duplicate {}", case.id);
            assert!(
                crate::scenarios::by_id(case.scenario).is_some(),
                "{}",
                case.id
            );
            assert_eq!(case_by_id(case.id).map(|found| found.id), Some(case.id));
            assert!(!case.fault.describe().is_empty());
        }
        assert!(case_by_id("no-such-row").is_none());
    }

    #[test]
    fn recovery_is_the_first_good_probe_after_the_last_failed_one() {
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        let (fault, back) = (at(100), at(300));
        // Failures before the fault do not count; none after it: nothing to recover from.
        let healthy = [probe(at(50), false), probe(at(150), true)];
        assert_eq!(recovered_at(&healthy, fault, back), None);
        // Failed at 150 and 250, good again at 350: recovered at 350.
        let probes = [
            probe(at(120), true),
            probe(at(150), false),
            probe(at(200), true),
            probe(at(250), false),
            probe(at(350), true),
            probe(at(400), true),
        ];
        assert_eq!(recovered_at(&probes, fault, back), Some(at(350)));
        // The last probe failed: recovery is when the piece was back.
        let still_down = [probe(at(150), false)];
        assert_eq!(recovered_at(&still_down, fault, back), Some(back));
    }

    #[test]
    fn scaled_loads_keep_a_client_and_errors_read_as_a_list() {
        assert_eq!(scaled(1000, 10), 100);
        assert_eq!(scaled(5, 10), 1);
        assert_eq!(scaled(7, 0), 7);
        let mut errors = BTreeMap::new();
        assert_eq!(fmt_errors(&errors), "none");
        errors.insert("502".to_owned(), 0);
        assert_eq!(fmt_errors(&errors), "none");
        errors.insert("503".to_owned(), 12);
        errors.insert("receive".to_owned(), 3);
        assert_eq!(fmt_errors(&errors), "503: 12, receive: 3");
    }
}
