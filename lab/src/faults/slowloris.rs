//! `make slowloris`: hundreds of clients that open a connection and trickle their
//! request head a line at a time, never finishing it, while a normal load runs beside
//! them.
//!
//! A thread-per-connection server gives each of them a thread, which waits on the head
//! until its read timeout (app_sync's `READ_TIMEOUT`, 5 s) frees it with a 408: with
//! more slow clients than threads, the server serves nobody else meanwhile. An event
//! loop holds them as idle sockets and keeps serving; nginx in front holds them itself
//! and forwards only complete requests. Each row measures the normal load's longest
//! stall (the longest time no request of it finished, from its live counters every few
//! milliseconds), and how long the server held the slow clients before closing them.
//!
//! Each row states its criteria ([`criteria`]): the normal load fails nothing (its
//! requests wait, none is refused); where the slow clients are idle sockets (an event
//! loop, nginx in front) the normal load keeps being served, its longest stall under
//! half the read timeout a thread would wait; where each takes a thread, the read
//! timeout frees every one of them and bounds the stall, one timeout per wave of as
//! many slow clients as there are threads.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{longest_stall, Criterion};
use crate::experiment::Experiment;
use crate::load::Plan;
use crate::results::{self, fmt_ms, Outcome};
use crate::runner::{fmt_duration, Ui};
use crate::scenarios::{self, App};
use kit::kernel;
use kit::stack::{self, StartError};

/// The topologies a slow-client row runs against (scenario ids).
pub const TARGETS: &[&str] = &["sync-workers", "async", "nginx-sync"];

/// app_sync's `READ_TIMEOUT` (its default, which the lab's stack keeps): how long a
/// thread waits for a request head.
pub const READ_TIMEOUT_S: f64 = 5.0;

/// What a criterion allows beyond the read timeouts it counts (scheduling, the
/// sampling), seconds: half a read timeout.
pub const SLACK_S: f64 = READ_TIMEOUT_S / 2.0;

/// What stands between the slow clients and the server's threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Guard {
    /// A thread per connection, `threads` of them: each slow client holds one until the
    /// read timeout.
    ReadTimeout { threads: u32 },
    /// An event loop, or nginx in front: a slow client is an idle socket.
    IdleSocket,
}

impl Guard {
    /// The guard of a scenario's topology.
    pub fn of(scenario: &scenarios::Scenario) -> Guard {
        match scenario.app {
            App::Sync {
                workers, threads, ..
            } if !scenario.front.is_nginx() => Guard::ReadTimeout {
                threads: workers * threads,
            },
            _ => Guard::IdleSocket,
        }
    }
}

/// How a run is shaped.
#[derive(Debug, Clone)]
pub struct Options {
    pub bin_dir: PathBuf,
    /// Slow clients.
    pub slow_clients: u32,
    /// How long between two lines of a slow client's head.
    pub trickle_every: Duration,
    /// The normal load beside them: clients and delay.
    pub concurrency: u32,
    pub delay: Duration,
    /// How long the normal load runs alone before the slow clients arrive.
    pub alone: Duration,
    /// How long the normal load lasts in all.
    pub duration: Duration,
}

impl Options {
    /// `make slowloris`'s shape.
    pub fn full(bin_dir: PathBuf) -> Options {
        Options {
            bin_dir,
            slow_clients: 400,
            trickle_every: Duration::from_secs(1),
            concurrency: 20,
            delay: Duration::from_millis(100),
            alone: Duration::from_secs(2),
            duration: Duration::from_secs(14),
        }
    }
}

/// One row of `results/slowloris.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlowlorisRow {
    pub scenario: String,
    pub topology: String,
    pub slow_clients: u32,
    /// Slow clients the server closed before the run ended, and after how long (median
    /// and longest, seconds).
    pub slow_closed: u32,
    pub slow_held_median_s: f64,
    pub slow_held_max_s: f64,
    /// The normal load beside them.
    pub concurrency: u32,
    pub delay_s: f64,
    pub duration_s: f64,
    /// 2xx requests per second before the slow clients came, and while they were there.
    pub rps_alone: f64,
    pub rps_with_slow: f64,
    pub ok_2xx: u64,
    pub errors: u64,
    /// The longest time no request of the normal load finished, after the slow clients
    /// came (seconds).
    pub longest_stall_s: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Measured, skipped (what to install) or failed (why).
    #[serde(flatten)]
    pub outcome: Outcome,
    /// What stands between the slow clients and the threads (`None` in runs that did not
    /// record it).
    #[serde(default)]
    pub guard: Option<Guard>,
    /// What the row must keep ([`criteria`]); the run fails when one does not hold.
    #[serde(default)]
    pub criteria: Vec<Criterion>,
}

/// What a row must keep, from its figures (see the module's documentation).
pub fn criteria(row: &SlowlorisRow) -> Vec<Criterion> {
    if let Some(reason) = row.outcome.why().map(|(_, reason)| reason) {
        return vec![Criterion::ran(Some(reason))];
    }
    let mut criteria = vec![Criterion::new(
        "the normal load fails nothing",
        "0 errors",
        format!("{} errors", row.errors),
        row.errors == 0,
    )];
    let stall = format!("longest stall {:.2} s", row.longest_stall_s);
    match row.guard {
        Some(Guard::IdleSocket) => criteria.push(Criterion::new(
            "keeps serving beside them",
            format!("longest stall < {SLACK_S:.1} s (half the {READ_TIMEOUT_S:.0} s read timeout)"),
            stall,
            row.longest_stall_s < SLACK_S,
        )),
        Some(Guard::ReadTimeout { threads }) => {
            let waves = row.slow_clients.div_ceil(threads.max(1));
            let bound = f64::from(waves) * READ_TIMEOUT_S + SLACK_S;
            let how = format!(
                "{waves} wave(s) of {threads} threads x {READ_TIMEOUT_S:.0} s + {SLACK_S:.1} s"
            );
            criteria.push(Criterion::new(
                "the read timeout frees every slow client",
                format!(
                    "{} of {} closed, none held over {bound:.1} s ({how})",
                    row.slow_clients, row.slow_clients
                ),
                format!(
                    "{} closed, the longest held {:.1} s",
                    row.slow_closed, row.slow_held_max_s
                ),
                row.slow_closed == row.slow_clients && row.slow_held_max_s <= bound,
            ));
            criteria.push(Criterion::new(
                "the read timeout bounds the stall",
                format!("longest stall <= {bound:.1} s ({how})"),
                stall,
                row.longest_stall_s <= bound,
            ));
        }
        None => criteria.push(Criterion::new(
            "guard recorded",
            "a thread per connection or idle sockets",
            "not recorded by this run",
            false,
        )),
    }
    criteria
}

/// Every criterion of `run` that failed, one line each (empty: the run passed).
pub fn failures(run: &SlowlorisResults) -> Vec<String> {
    super::failures(
        run.rows
            .iter()
            .map(|row| (row.scenario.clone(), row.criteria.as_slice())),
    )
}

/// slowloris's own part of `results/slowloris.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Slowloris {
    pub trickle_every_s: f64,
    pub rows: Vec<SlowlorisRow>,
}

/// The whole file `results/slowloris.json`.
pub type SlowlorisResults = results::Envelope<Slowloris>;

/// `lab slowloris`: these rows of the table ([`TARGETS`] by default), one after
/// another, shaped by the options.
pub struct SlowlorisExperiment {
    pub targets: Vec<&'static str>,
    pub options: Options,
}

impl Experiment for SlowlorisExperiment {
    type Run = Slowloris;
    const NAME: &'static str = "slowloris";
    const COMMAND: &'static str = "make slowloris";

    fn run(&self) -> anyhow::Result<SlowlorisResults> {
        run_all(&self.targets, &self.options)
    }

    fn table(results: &SlowlorisResults) -> String {
        markdown_table(results)
    }

    fn unmet(results: &SlowlorisResults) -> Vec<String> {
        failures(results)
    }
}

/// Runs every target one after another.
pub fn run_all(targets: &[&str], options: &Options) -> anyhow::Result<SlowlorisResults> {
    let started = results::Started::now();
    let ui = Ui::default();
    let runtime = crate::load::runtime()?;
    ui.line(&format!(
        "slowloris: {} target(s), about {}",
        targets.len(),
        fmt_duration((options.duration.as_secs_f64() + 2.0) * targets.len() as f64)
    ));
    let mut rows = Vec::new();
    for (index, id) in targets.iter().enumerate() {
        let label = format!("[{}/{}] {id}", index + 1, targets.len());
        ui.line(&format!(
            "{label}: {} slow clients beside -c {} delay={} ...",
            options.slow_clients,
            options.concurrency,
            options.delay.as_secs_f64()
        ));
        let row = run_row(&runtime, id, options);
        ui.line(&format!("{label}: {}", summary(&row)));
        rows.push(row);
    }
    Ok(started.finish(Slowloris {
        trickle_every_s: options.trickle_every.as_secs_f64(),
        rows,
    }))
}

pub fn summary(row: &SlowlorisRow) -> String {
    if let Some(reason) = row.outcome.why().map(|(_, reason)| reason) {
        return format!("not run: {reason}");
    }
    format!(
        "{:.1} 2xx/s alone, {:.1} with the slow clients, longest stall {:.2} s, {} errors; {} of {} slow clients closed by the server (median after {:.1} s, longest {:.1} s); criteria: {}",
        row.rps_alone,
        row.rps_with_slow,
        row.longest_stall_s,
        row.errors,
        row.slow_closed,
        row.slow_clients,
        row.slow_held_median_s,
        row.slow_held_max_s,
        super::verdict(&row.criteria).replace("**", "")
    )
}

/// Runs the row against the scenario `id` and checks its [`criteria`]; never panics on
/// a service's failure: the row says what happened.
pub fn run_row(runtime: &tokio::runtime::Runtime, id: &str, options: &Options) -> SlowlorisRow {
    let mut row = run_one(runtime, id, options);
    row.criteria = criteria(&row);
    row
}

fn run_one(runtime: &tokio::runtime::Runtime, id: &str, options: &Options) -> SlowlorisRow {
    let mut row = SlowlorisRow {
        scenario: id.to_owned(),
        topology: String::new(),
        slow_clients: options.slow_clients,
        slow_closed: 0,
        slow_held_median_s: 0.0,
        slow_held_max_s: 0.0,
        concurrency: options.concurrency,
        delay_s: options.delay.as_secs_f64(),
        duration_s: options.duration.as_secs_f64(),
        rps_alone: 0.0,
        rps_with_slow: 0.0,
        ok_2xx: 0,
        errors: 0,
        longest_stall_s: 0.0,
        p99_ms: 0.0,
        max_ms: 0.0,
        outcome: Outcome::Measured,
        guard: None,
        criteria: Vec::new(),
    };
    let Some(scenario) = scenarios::by_id(id) else {
        row.outcome = Outcome::Failed(format!("no scenario `{id}`"));
        return row;
    };
    row.topology = scenario.topology.to_owned();
    row.guard = Some(Guard::of(scenario));
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
    let plan = Plan::lasting(
        options.duration,
        options.concurrency,
        options.delay,
        stack.url(options.delay),
    )
    .timeline(super::SAMPLE_EVERY);
    let _ = kernel::make_room(plan.connections() + u64::from(options.slow_clients) * 4);
    let load = plan.start(runtime);
    let started = load.started;
    load.sleep_until(options.alone);
    let arrived = Instant::now();
    let ok_alone = load
        .progress
        .done()
        .saturating_sub(load.progress.failed() + load.progress.non_2xx());
    let stop = Arc::new(AtomicBool::new(false));
    let slow = {
        let stop = Arc::clone(&stop);
        let (port, count, every) = (stack.port, options.slow_clients, options.trickle_every);
        runtime.spawn(slow_clients(port, count, every, stop))
    };
    let report = load.finish(runtime);
    let ended = Instant::now();
    stop.store(true, Ordering::Relaxed);
    let held = runtime.block_on(slow).unwrap_or_default();
    stack.stop();

    let report = match report {
        Ok(report) => report,
        Err(err) => {
            row.outcome = Outcome::Failed(format!("{err:#}"));
            return row;
        }
    };
    row.ok_2xx = report.complete.saturating_sub(report.non_2xx);
    row.errors = report.failed + report.non_2xx;
    row.p99_ms = report.latency_ms.p99;
    row.max_ms = report.latency_ms.max;
    row.rps_alone = ok_alone as f64 / (arrived - started).as_secs_f64();
    let with_slow = (ended.min(started + options.duration) - arrived)
        .as_secs_f64()
        .max(1e-3);
    row.rps_with_slow = row.ok_2xx.saturating_sub(ok_alone) as f64 / with_slow;
    let load_end = ended.min(started + options.duration);
    let samples = super::samples_of(&report, started);
    row.longest_stall_s = longest_stall(&samples, arrived, load_end);
    let mut closed: Vec<f64> = held.iter().flatten().copied().collect();
    closed.sort_by(f64::total_cmp);
    row.slow_closed = u32::try_from(closed.len()).unwrap_or(u32::MAX);
    row.slow_held_median_s = closed.get(closed.len() / 2).copied().unwrap_or(0.0);
    row.slow_held_max_s = closed.last().copied().unwrap_or(0.0);
    row
}

/// `count` clients on `port`, each sending a request head one line every `every` and
/// never its end, until `stop`. Returns, for each, after how many seconds the server
/// closed it (`None`: still open at the end, or never connected).
async fn slow_clients(
    port: u16,
    count: u32,
    every: Duration,
    stop: Arc<AtomicBool>,
) -> Vec<Option<f64>> {
    let mut tasks = Vec::new();
    for index in 0..count {
        let stop = Arc::clone(&stop);
        tasks.push(tokio::spawn(async move {
            let Ok(mut stream) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
                return None;
            };
            let opened = Instant::now();
            let first = format!("GET /?delay=0&slow={index} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
            if stream.write_all(first.as_bytes()).await.is_err() {
                return Some(0.0);
            }
            let mut ticker = tokio::time::interval(every);
            ticker.tick().await;
            let mut line = 0u32;
            let mut sink = [0u8; 1024];
            loop {
                if stop.load(Ordering::Relaxed) {
                    return None;
                }
                tokio::select! {
                    read = stream.read(&mut sink) => match read {
                        // Answered (a 408) or closed: the server let it go.
                        Ok(0) | Err(_) => return Some(opened.elapsed().as_secs_f64()),
                        Ok(_) => {}
                    },
                    _ = ticker.tick() => {
                        line += 1;
                        // A header line at a time, well within every size bound.
                        let header = format!("X-Slow-{line}: {line}\r\n");
                        if stream.write_all(header.as_bytes()).await.is_err() {
                            return Some(opened.elapsed().as_secs_f64());
                        }
                    }
                }
            }
        }));
    }
    let mut held = Vec::with_capacity(tasks.len());
    for task in tasks {
        held.push(task.await.ok().flatten());
    }
    held
}

/// The table of docs/09-faults.md.
pub fn markdown_table(run: &SlowlorisResults) -> String {
    let mut out = String::from(
        "| topology | slow clients | normal load | 2xx/s alone | 2xx/s beside them | longest stall s | errors | p99 ms | slow clients closed by the server | held them (median / max s) | criteria |\n\
         |---|--:|---|--:|--:|--:|--:|--:|--:|---|---|\n",
    );
    for row in &run.rows {
        let head = format!(
            "| {} | {} | -c {} delay={} for {} s |",
            row.topology, row.slow_clients, row.concurrency, row.delay_s, row.duration_s
        );
        if let Some(reason) = row.outcome.why().map(|(_, reason)| reason) {
            out.push_str(&format!(
                "{head} not run: {reason} | | | | | | | {} |\n",
                super::verdict(&row.criteria)
            ));
            continue;
        }
        out.push_str(&format!(
            "{head} {:.1} | {:.1} | {:.2} | {} | {} | {} | {:.1} / {:.1} | {} |\n",
            row.rps_alone,
            row.rps_with_slow,
            row.longest_stall_s,
            row.errors,
            fmt_ms(row.p99_ms),
            row.slow_closed,
            row.slow_held_median_s,
            row.slow_held_max_s,
            super::verdict(&row.criteria),
        ));
    }
    out.push_str("\nThe criteria of each row:\n\n");
    out.push_str(&super::criteria_table(run.rows.iter().map(|row| {
        (
            format!("{} ({})", row.scenario, row.topology),
            row.criteria.as_slice(),
        )
    })));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(
        guard: Guard,
        slow: u32,
        closed: u32,
        held_max: f64,
        stall: f64,
        errors: u64,
    ) -> SlowlorisRow {
        SlowlorisRow {
            scenario: "t".into(),
            topology: "t".into(),
            slow_clients: slow,
            slow_closed: closed,
            slow_held_median_s: held_max,
            slow_held_max_s: held_max,
            concurrency: 20,
            delay_s: 0.1,
            duration_s: 14.0,
            rps_alone: 190.0,
            rps_with_slow: 30.0,
            ok_2xx: 1000,
            errors,
            longest_stall_s: stall,
            p99_ms: 0.0,
            max_ms: 0.0,
            outcome: Outcome::Measured,
            guard: Some(guard),
            criteria: Vec::new(),
        }
    }

    fn failed(row: &SlowlorisRow) -> Vec<String> {
        crate::faults::unmet(&criteria(row))
    }

    #[test]
    fn a_thread_per_connection_server_is_held_to_its_read_timeout() {
        let threads = Guard::ReadTimeout { threads: 200 };
        // make slowloris's app_sync row: 400 slow clients, two waves of 200.
        assert!(failed(&row(threads, 400, 400, 10.4, 10.27, 0)).is_empty());
        // A third wave's worth of stall, or a slow client never let go, fails.
        assert_eq!(
            failed(&row(threads, 400, 400, 10.4, 15.2, 0)),
            ["the read timeout bounds the stall"]
        );
        assert_eq!(
            failed(&row(threads, 400, 399, 10.4, 10.27, 0)),
            ["the read timeout frees every slow client"]
        );
        // Fewer slow clients than threads: one wave.
        assert_eq!(
            failed(&row(threads, 100, 100, 8.0, 0.1, 0)),
            ["the read timeout frees every slow client"]
        );
    }

    #[test]
    fn an_event_loop_or_nginx_keeps_serving_and_nothing_fails() {
        let idle = Guard::IdleSocket;
        assert!(failed(&row(idle, 400, 0, 0.0, 0.07, 0)).is_empty());
        assert_eq!(
            failed(&row(idle, 400, 0, 0.0, 3.0, 0)),
            ["keeps serving beside them"]
        );
        assert_eq!(
            failed(&row(idle, 400, 0, 0.0, 0.07, 3)),
            ["the normal load fails nothing"]
        );
        let mut unknown = row(idle, 400, 0, 0.0, 0.07, 0);
        unknown.guard = None;
        assert_eq!(failed(&unknown), ["guard recorded"]);
    }

    #[test]
    fn each_target_has_its_guard() {
        let guard = |id| Guard::of(scenarios::by_id(id).expect("a scenario"));
        assert_eq!(guard("sync-workers"), Guard::ReadTimeout { threads: 200 });
        assert_eq!(guard("async"), Guard::IdleSocket);
        assert_eq!(guard("nginx-sync"), Guard::IdleSocket);
    }
}

#[cfg(test)]
mod table_and_timing {
    use super::*;

    #[test]
    fn targets_are_rows_of_the_table_and_the_run_fits_its_duration() {
        for id in TARGETS {
            assert!(crate::scenarios::by_id(id).is_some(), "{id}");
        }
        let options = Options::full(PathBuf::from("bin"));
        // The slow clients arrive while the normal load runs, and trickle more than once
        // before it ends.
        assert!(!options.alone.is_zero() && options.alone < options.duration);
        assert!(options.trickle_every < options.duration - options.alone);
        assert!(options.slow_clients > 0 && options.concurrency > 0);
    }
}
