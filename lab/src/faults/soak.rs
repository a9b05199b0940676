//! `make soak`: a million requests through app_async at c=1000, to show that nothing
//! accumulates: resident memory after the run is within 10% of what it was after the
//! first 100,000 requests, the open descriptors go back to their idle count, and no
//! request fails.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::results::{self, fmt_ms, fmt_rps, Machine};
use crate::runner::{Ui, REQUEST_TIMEOUT};
use crate::scenarios;
use crate::stack::{self, StartError};
use crate::{kernel, machine, procfs};

/// How a run is shaped.
#[derive(Debug, Clone)]
pub struct Options {
    pub bin_dir: PathBuf,
    pub scenario: String,
    pub requests: u64,
    pub concurrency: u32,
    pub delay: f64,
    /// Memory is compared with what it was after this many requests.
    pub warm: u64,
}

impl Options {
    /// `make soak`'s shape.
    pub fn full(bin_dir: PathBuf) -> Options {
        Options {
            bin_dir,
            scenario: "async".to_owned(),
            requests: 1_000_000,
            concurrency: 1000,
            delay: 0.05,
            warm: 100_000,
        }
    }
}

/// `results/soak.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SoakResults {
    pub started_at: String,
    pub machine: Machine,
    pub wall_time_s: f64,
    pub scenario: String,
    pub topology: String,
    pub requests: u64,
    pub concurrency: u32,
    pub delay_s: f64,
    pub complete: u64,
    pub errors: u64,
    pub requests_per_second: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub warm_requests: u64,
    pub rss_idle_mb: f64,
    pub rss_warm_mb: f64,
    pub rss_peak_mb: f64,
    pub rss_after_mb: f64,
    /// (after - warm) / warm.
    pub rss_growth: f64,
    pub open_files_idle: u64,
    pub open_files_peak: u64,
    pub open_files_after: u64,
    /// Seconds after the load until the descriptors were back to their idle count
    /// (`None`: not within 10 s without traffic).
    pub open_files_back_after_s: Option<f64>,
    /// Descriptors after one more request, sent once those 10 s passed: awc closes the
    /// upstream connections its pool kept past their keep-alive only when a request
    /// next looks at the pool (it has no timer of its own).
    pub open_files_after_next_request: u64,
}

const MB: f64 = 1024.0 * 1024.0;

/// Runs the soak.
pub fn run(options: &Options) -> anyhow::Result<SoakResults> {
    let started_at = results::now_utc();
    let ui = Ui::default();
    let runtime = super::runtime()?;
    let scenario = scenarios::by_id(&options.scenario)
        .ok_or_else(|| anyhow::anyhow!("no scenario `{}`", options.scenario))?;
    let stack = stack::start(scenario, &options.bin_dir).map_err(|err| match err {
        StartError::Skipped(reason) | StartError::Failed(reason) => anyhow::anyhow!(reason),
    })?;
    let app = stack.app_pid();
    // Warm the upstream pool and let start-up settle before the idle figures.
    let _ = stack::get_status(stack.port, "/?delay=0");
    std::thread::sleep(Duration::from_millis(500));
    let rss_idle = procfs::usage(app).rss_bytes;
    let files_idle = procfs::open_files(app);
    ui.line(&format!(
        "soak: {} requests at -c {} delay={} through {} (idle: {:.1} MB, {files_idle} descriptors) ...",
        options.requests, options.concurrency, options.delay, scenario.topology, rss_idle as f64 / MB
    ));
    let _ = kernel::make_room(2 * options.requests + u64::from(options.concurrency));

    let progress = Arc::new(loadgen::Progress::default());
    let spec = loadgen::LoadSpec {
        requests: Some(options.requests),
        concurrency: options.concurrency as usize,
        continue_on_socket_error: true,
        timeout: REQUEST_TIMEOUT,
        ..loadgen::LoadSpec::new(stack.url(options.delay))
    };
    // Watches memory and descriptors while the load runs.
    let stop = Arc::new(AtomicBool::new(false));
    let watched = Arc::new(Mutex::new((None::<u64>, 0u64, 0u64)));
    let watcher = {
        let (stop, watched, progress) = (
            Arc::clone(&stop),
            Arc::clone(&watched),
            Arc::clone(&progress),
        );
        let warm = options.warm;
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let rss = procfs::usage(app).rss_bytes;
                let files = procfs::open_files(app);
                let mut seen = watched.lock().unwrap_or_else(PoisonError::into_inner);
                if seen.0.is_none() && progress.done() >= warm {
                    seen.0 = Some(rss);
                }
                seen.1 = seen.1.max(rss);
                seen.2 = seen.2.max(files);
                drop(seen);
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    let status = {
        let progress = Arc::clone(&progress);
        let requests = options.requests;
        let started = Instant::now();
        move || {
            format!(
                "soak: {}/{requests} requests, {} failed, {:.0} s",
                progress.done(),
                progress.failed(),
                started.elapsed().as_secs_f64()
            )
        }
    };
    let report = {
        let _live = ui.live(status);
        runtime.block_on(loadgen::run_with_progress(spec, Arc::clone(&progress)))
    };
    stop.store(true, Ordering::Relaxed);
    let _ = watcher.join();
    let report = report.map_err(|err| anyhow::anyhow!("cannot run the load: {err}"))?;
    let finished = Instant::now();

    // Sockets in TIME_WAIT are the kernel's, not the app's: its descriptors close as
    // the clients' connections end.
    let mut back_after = None;
    let mut files_after = procfs::open_files(app);
    while finished.elapsed() < Duration::from_secs(10) {
        files_after = procfs::open_files(app);
        if files_after <= files_idle {
            back_after = Some(finished.elapsed().as_secs_f64());
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut files_next = files_after;
    if back_after.is_none() {
        let _ = stack::get_status(stack.port, "/?delay=0");
        let asked = Instant::now();
        while asked.elapsed() < Duration::from_secs(5) {
            files_next = procfs::open_files(app);
            if files_next <= files_idle {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    let rss_after = procfs::usage(app).rss_bytes;
    stack.stop();

    let (rss_warm, rss_peak, files_peak) = *watched.lock().unwrap_or_else(PoisonError::into_inner);
    let rss_warm = rss_warm.unwrap_or(rss_peak);
    let soak = SoakResults {
        started_at,
        machine: machine::describe(),
        wall_time_s: ui.elapsed_s(),
        scenario: options.scenario.clone(),
        topology: scenario.topology.to_owned(),
        requests: options.requests,
        concurrency: options.concurrency,
        delay_s: options.delay,
        complete: report.complete,
        errors: report.failed + report.non_2xx,
        requests_per_second: report.requests_per_second,
        p99_ms: report.latency_ms.p99,
        max_ms: report.latency_ms.max,
        warm_requests: options.warm,
        rss_idle_mb: rss_idle as f64 / MB,
        rss_warm_mb: rss_warm as f64 / MB,
        rss_peak_mb: rss_peak as f64 / MB,
        rss_after_mb: rss_after as f64 / MB,
        rss_growth: (rss_after as f64 - rss_warm as f64) / (rss_warm as f64).max(1.0),
        open_files_idle: files_idle,
        open_files_peak: files_peak,
        open_files_after: files_after,
        open_files_back_after_s: back_after,
        open_files_after_next_request: files_next,
    };
    Ok(soak)
}

/// One line about the soak.
pub fn summary(soak: &SoakResults) -> String {
    format!(
        "{} complete, {} errors, {} requests/s; RSS {:.1} MB idle, {:.1} MB after {} requests, {:.1} MB after the run ({:+.1}%); descriptors {} idle, {} peak, {} after 10 s quiet, {} after one more request",
        soak.complete,
        soak.errors,
        fmt_rps(soak.requests_per_second),
        soak.rss_idle_mb,
        soak.rss_warm_mb,
        soak.warm_requests,
        soak.rss_after_mb,
        soak.rss_growth * 100.0,
        soak.open_files_idle,
        soak.open_files_peak,
        soak.open_files_after,
        soak.open_files_after_next_request
    )
}

/// The table of docs/09-faults.md.
pub fn markdown_table(soak: &SoakResults) -> String {
    let back = soak.open_files_back_after_s.map_or_else(
        || {
            format!(
                "not within 10 s without traffic ({}); {} after one more request",
                soak.open_files_after, soak.open_files_after_next_request
            )
        },
        |s| format!("{s:.1} s after the run"),
    );
    format!(
        "Measured by `make soak` on {}: {}.\n\n\
         | topology | load | complete | errors | requests/s | p99 ms | RSS idle MB | RSS after {} requests MB | RSS peak MB | RSS after the run MB | growth | descriptors idle / peak | back to idle |\n\
         |---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|---|\n\
         | {} | -n {} -c {} delay={} | {} | {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:+.1}% | {} / {} | {back} |\n",
        soak.started_at,
        results::machine_line(&soak.machine),
        soak.warm_requests,
        soak.topology,
        soak.requests,
        soak.concurrency,
        soak.delay_s,
        soak.complete,
        soak.errors,
        fmt_rps(soak.requests_per_second),
        fmt_ms(soak.p99_ms),
        soak.rss_idle_mb,
        soak.rss_warm_mb,
        soak.rss_peak_mb,
        soak.rss_after_mb,
        soak.rss_growth * 100.0,
        soak.open_files_idle,
        soak.open_files_peak,
    )
}
