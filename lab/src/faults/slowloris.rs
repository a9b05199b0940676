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

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{longest_stall, Timeline};
use crate::results::{self, fmt_ms, Machine};
use crate::runner::{fmt_duration, Ui, REQUEST_TIMEOUT};
use crate::scenarios;
use crate::stack::{self, StartError};
use crate::{kernel, machine};

/// The topologies a slow-client row runs against (scenario ids).
pub const TARGETS: &[&str] = &["sync-workers", "async", "nginx-sync"];

/// How a run is shaped.
#[derive(Debug, Clone)]
pub struct Options {
    pub bin_dir: PathBuf,
    /// Slow clients.
    pub slow_clients: u32,
    /// Seconds between two lines of a slow client's head.
    pub trickle_every: f64,
    /// The normal load beside them: clients and delay.
    pub concurrency: u32,
    pub delay: f64,
    /// Seconds the normal load runs alone before the slow clients arrive.
    pub alone: f64,
    /// Seconds the normal load lasts in all.
    pub duration: f64,
}

impl Options {
    /// `make slowloris`'s shape.
    pub fn full(bin_dir: PathBuf) -> Options {
        Options {
            bin_dir,
            slow_clients: 400,
            trickle_every: 1.0,
            concurrency: 20,
            delay: 0.1,
            alone: 2.0,
            duration: 14.0,
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
    pub error: Option<String>,
    pub skipped: Option<String>,
}

/// The whole file `results/slowloris.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlowlorisResults {
    pub started_at: String,
    pub machine: Machine,
    pub wall_time_s: f64,
    pub trickle_every_s: f64,
    pub rows: Vec<SlowlorisRow>,
}

/// Runs every target one after another.
pub fn run_all(targets: &[&str], options: &Options) -> anyhow::Result<SlowlorisResults> {
    let started_at = results::now_utc();
    let ui = Ui::default();
    let runtime = super::runtime()?;
    ui.line(&format!(
        "slowloris: {} target(s), about {}",
        targets.len(),
        fmt_duration((options.duration + 2.0) * targets.len() as f64)
    ));
    let mut rows = Vec::new();
    for (index, id) in targets.iter().enumerate() {
        let label = format!("[{}/{}] {id}", index + 1, targets.len());
        ui.line(&format!(
            "{label}: {} slow clients beside -c {} delay={} ...",
            options.slow_clients, options.concurrency, options.delay
        ));
        let row = run_one(&runtime, id, options);
        ui.line(&format!("{label}: {}", summary(&row)));
        rows.push(row);
    }
    Ok(SlowlorisResults {
        started_at,
        machine: machine::describe(),
        wall_time_s: ui.elapsed_s(),
        trickle_every_s: options.trickle_every,
        rows,
    })
}

pub fn summary(row: &SlowlorisRow) -> String {
    if let Some(reason) = row.skipped.as_ref().or(row.error.as_ref()) {
        return format!("not run: {reason}");
    }
    format!(
        "{:.1} 2xx/s alone, {:.1} with the slow clients, longest stall {:.2} s, {} errors; {} of {} slow clients closed by the server (median after {:.1} s)",
        row.rps_alone,
        row.rps_with_slow,
        row.longest_stall_s,
        row.errors,
        row.slow_closed,
        row.slow_clients,
        row.slow_held_median_s
    )
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
        delay_s: options.delay,
        duration_s: options.duration,
        rps_alone: 0.0,
        rps_with_slow: 0.0,
        ok_2xx: 0,
        errors: 0,
        longest_stall_s: 0.0,
        p99_ms: 0.0,
        max_ms: 0.0,
        error: None,
        skipped: None,
    };
    let Some(scenario) = scenarios::by_id(id) else {
        row.error = Some(format!("no scenario `{id}`"));
        return row;
    };
    row.topology = scenario.topology.to_owned();
    let stack = match stack::start(scenario, &options.bin_dir) {
        Ok(stack) => stack,
        Err(StartError::Skipped(reason)) => {
            row.skipped = Some(reason);
            return row;
        }
        Err(StartError::Failed(reason)) => {
            row.error = Some(reason);
            return row;
        }
    };
    let _ = kernel::make_room(
        (f64::from(options.concurrency) / options.delay * options.duration * 2.0) as u64
            + u64::from(options.slow_clients) * 4,
    );
    let spec = loadgen::LoadSpec {
        requests: None,
        time_limit: Some(Duration::from_secs_f64(options.duration)),
        concurrency: options.concurrency as usize,
        continue_on_socket_error: true,
        timeout: REQUEST_TIMEOUT,
        ..loadgen::LoadSpec::new(stack.url(options.delay))
    };
    let progress = Arc::new(loadgen::Progress::default());
    let timeline = Timeline::start(Arc::clone(&progress));
    let started = Instant::now();
    let load = {
        let handle = runtime.handle().clone();
        let progress = Arc::clone(&progress);
        std::thread::spawn(move || handle.block_on(loadgen::run_with_progress(spec, progress)))
    };
    std::thread::sleep(Duration::from_secs_f64(options.alone));
    let arrived = Instant::now();
    let ok_alone = progress
        .done()
        .saturating_sub(progress.failed() + progress.non_2xx());
    let stop = Arc::new(AtomicBool::new(false));
    let slow = {
        let stop = Arc::clone(&stop);
        let (port, count, every) = (stack.port, options.slow_clients, options.trickle_every);
        runtime.spawn(slow_clients(
            port,
            count,
            Duration::from_secs_f64(every),
            stop,
        ))
    };
    let load = load.join();
    let ended = Instant::now();
    stop.store(true, Ordering::Relaxed);
    let held = runtime.block_on(slow).unwrap_or_default();
    let samples = timeline.finish();
    stack.stop();

    let report = match load {
        Ok(Ok(report)) => report,
        Ok(Err(err)) => {
            row.error = Some(format!("cannot run the load: {err}"));
            return row;
        }
        Err(_) => {
            row.error = Some("the load thread panicked".into());
            return row;
        }
    };
    row.ok_2xx = report.complete.saturating_sub(report.non_2xx);
    row.errors = report.failed + report.non_2xx;
    row.p99_ms = report.latency_ms.p99;
    row.max_ms = report.latency_ms.max;
    row.rps_alone = ok_alone as f64 / (arrived - started).as_secs_f64();
    let with_slow = (ended.min(started + Duration::from_secs_f64(options.duration)) - arrived)
        .as_secs_f64()
        .max(1e-3);
    row.rps_with_slow = row.ok_2xx.saturating_sub(ok_alone) as f64 / with_slow;
    let load_end = ended.min(started + Duration::from_secs_f64(options.duration));
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
        "| topology | slow clients | normal load | 2xx/s alone | 2xx/s beside them | longest stall s | errors | p99 ms | slow clients closed by the server | held them (median / max s) |\n\
         |---|--:|---|--:|--:|--:|--:|--:|--:|---|\n",
    );
    for row in &run.rows {
        let head = format!(
            "| {} | {} | -c {} delay={} for {} s |",
            row.topology, row.slow_clients, row.concurrency, row.delay_s, row.duration_s
        );
        if let Some(reason) = row.skipped.as_ref().or(row.error.as_ref()) {
            out.push_str(&format!("{head} not run: {reason} | | | | | | |\n"));
            continue;
        }
        out.push_str(&format!(
            "{head} {:.1} | {:.1} | {:.2} | {} | {} | {} | {:.1} / {:.1} |\n",
            row.rps_alone,
            row.rps_with_slow,
            row.longest_stall_s,
            row.errors,
            fmt_ms(row.p99_ms),
            row.slow_closed,
            row.slow_held_median_s,
            row.slow_held_max_s,
        ));
    }
    out
}
