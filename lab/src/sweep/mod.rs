//! `make sweep`: throughput and latency against the number of clients, for a blocking
//! topology and its event-loop twins, at a fixed delay.
//!
//! Each point is a fresh topology loaded by `c` clients. The sweep charts each
//! topology's steady state: its clients start evenly over one delay (`--ramp-up`), so
//! requests arrive as a steady stream of `c/delay` per second. Started all at once, as
//! bench-all's rows and ab do, a closed loop keeps that rhythm: 10,000 clients come back
//! together every round, and an event loop that would keep up with the stream queues
//! each wave behind its own CPU (at c=10,000 that cost the one-loop line 3 to 15 points
//! of c/delay and doubled its p99; `sweep --ramp-up 0` shows it).
//!
//! Where it fits in the time budget, the load is whole rounds of requests (six per
//! client, `-n`), and the throughput is counted from the end of the second round (the
//! first `2c` responses, in whole waves of what the topology holds in flight: the ramp
//! and the proxy's first upstream connections) to the last response (`count`). Where
//! it does not (threads capping thousands of clients: 60,000 requests at 200 per second
//! would take minutes), the load runs for a fixed time (`-t`) and throughput is counted
//! after a warm-up of `warmup` seconds (`window`). Both read the engine's live
//! counters, so neither the start-up nor the requests cut off by the time limit bias
//! them.

pub mod chart;

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::experiment::Experiment;
use crate::load::Plan;
use crate::results::{CpuCeiling, LatencyMs};
use crate::runner::{fmt_duration, measure, Measured, Options, Ui};
use crate::scenarios::{by_id, Load, Scenario};
use crate::target::Target;
use kit::procfs;
use kit::stack::{self, StartError};
use loadgen::Progress;

/// The sweep's scenarios: a thread-capped topology and the event loops.
pub const DEFAULT_IDS: &[&str] = &[
    "sync-workers",
    "async",
    "async-workers",
    // The yardsticks: the slow API alone, and nginx as the proxy.
    "direct",
    "nginx-proxy",
];

/// 1 to 10,000 clients, about three points a decade.
pub const DEFAULT_CONCURRENCY: &[u32] = &[1, 3, 10, 30, 100, 300, 1000, 3000, 10000];

/// How the sweep is shaped.
#[derive(Debug, Clone)]
pub struct SweepOptions {
    pub bin_dir: std::path::PathBuf,
    pub ids: Vec<String>,
    pub concurrency: Vec<u32>,
    /// `?delay=`.
    pub delay: Duration,
    /// How long each point loads the topology.
    pub duration: Duration,
    /// The start of each point that is not counted.
    pub warmup: Duration,
    /// How long each point's clients take to start (zero: all at once).
    pub ramp_up: Duration,
}

/// One point: one topology under `c` clients.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepPoint {
    pub concurrency: u32,
    /// `count`: whole rounds of requests (`-n`), every request finishes; throughput =
    /// the requests after the first two rounds / the time they took. `window`: a fixed
    /// time (`-t`) where whole rounds would take too long (a thread cap under thousands
    /// of clients); throughput counted after the warm-up, latency only of the requests
    /// that finished in time.
    pub method: String,
    /// 2xx responses per second.
    pub requests_per_second: f64,
    /// `requests_per_second / (c / delay)`: how much of the load the topology served.
    pub fraction_of_load: f64,
    pub complete: u64,
    /// Of `complete`, the responses that were not 2xx (nginx's 502 when it cannot reach
    /// its upstream, for one); `requests_per_second` counts only the 2xx.
    #[serde(default)]
    pub non_2xx: u64,
    pub failed: u64,
    /// In flight when the time was up (not counted).
    pub unfinished: u64,
    /// Latency of the requests that completed.
    pub latency_ms: LatencyMs,
    pub cpu_ms_per_request: f64,
    /// As bench-all's fields of the same names: everything's CPU per request, the CPU
    /// ceiling it allows on this machine, and which ceiling binds.
    #[serde(flatten)]
    pub cpu: CpuCeiling,
    /// `requests_per_second` / the lower of Little's and the CPU's ceilings.
    #[serde(default)]
    pub fraction_of_lower_ceiling: Option<f64>,
    pub peak_rss_mb: f64,
    pub peak_threads: u64,
    /// SYNs the kernel sent again during the point (see bench-all's field).
    pub syn_retransmits: Option<u64>,
    pub error: Option<String>,
}

/// One topology's points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepSeries {
    pub id: String,
    pub topology: String,
    pub points: Vec<SweepPoint>,
    pub skipped: Option<String>,
}

/// The sweep's own part of `results/sweep.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sweep {
    pub delay_s: f64,
    pub duration_s: f64,
    pub warmup_s: f64,
    /// Each point's clients started evenly over this long (0: all at once; absent
    /// from files written before the ramp existed, whose clients all started at once).
    #[serde(default)]
    pub ramp_up_s: f64,
    pub series: Vec<SweepSeries>,
}

/// The whole file `results/sweep.json`.
pub type SweepResults = crate::results::Envelope<Sweep>;

/// `lab sweep`: every (scenario, c) point the options name.
pub struct SweepExperiment {
    pub options: SweepOptions,
}

impl Experiment for SweepExperiment {
    type Run = Sweep;
    const NAME: &'static str = "sweep";
    const COMMAND: &'static str = "make sweep";

    fn run(&self) -> anyhow::Result<SweepResults> {
        run_sweep(&self.options)
    }

    fn table(results: &SweepResults) -> String {
        markdown_table(results)
    }

    /// `NAME.md` and the chart `NAME.svg`.
    fn pages(results: &SweepResults, name: &str) -> Vec<(String, String)> {
        let chart_file = format!("{name}.svg");
        vec![
            (
                format!("{name}.md"),
                chart::markdown_document(results, &chart_file),
            ),
            (chart_file, chart::sweep_chart(results)),
        ]
    }

    /// The points that could not run.
    fn unmet(results: &SweepResults) -> Vec<String> {
        results
            .series
            .iter()
            .flat_map(|series| {
                series.points.iter().filter_map(|point| {
                    let reason = point.error.as_ref()?;
                    Some(format!(
                        "{} at c={} could not run: {reason}",
                        series.id, point.concurrency
                    ))
                })
            })
            .collect()
    }
}

/// Runs every (scenario, c) point.
pub fn run_sweep(options: &SweepOptions) -> anyhow::Result<SweepResults> {
    let started = crate::results::Started::now();
    let ui = Ui::default();
    let runtime = crate::load::runtime()?;
    let scenarios: Vec<&Scenario> = options
        .ids
        .iter()
        .map(|id| {
            by_id(id).ok_or_else(|| {
                anyhow::anyhow!("no scenario {id:?}; known: {}", crate::scenarios::ids())
            })
        })
        .collect::<anyhow::Result<_>>()?;
    let total = scenarios.len() * options.concurrency.len();
    let per_point = options.duration.as_secs_f64() + 1.0;
    ui.line(&format!(
        "sweep: {total} points ({} x c = {:?}), {} s each at delay={} s, about {}",
        options.ids.join(", "),
        options.concurrency,
        options.duration.as_secs_f64(),
        options.delay.as_secs_f64(),
        fmt_duration(per_point * total as f64)
    ));

    let mut series = Vec::new();
    let mut done = 0;
    for scenario in scenarios {
        let mut points = Vec::new();
        let mut skipped = None;
        for &c in &options.concurrency {
            done += 1;
            let label = format!("[{done:>2}/{total}] {} c={c}", scenario.id);
            let left = per_point * (total - done) as f64;
            let shaped = Options {
                bin_dir: options.bin_dir.clone(),
                delay: Some(options.delay),
                scale: 1,
            }
            .shape(scenario);
            match run_point(&runtime, &shaped, c, options, &ui, &label, left) {
                Ok(point) => {
                    ui.line(&format!(
                        "{label}: {:.1} requests/s ({:.0}% of c/delay), p99 {:.0} ms, {:.1} MiB, {} threads   (about {} left)",
                        point.requests_per_second,
                        point.fraction_of_load * 100.0,
                        point.latency_ms.p99,
                        point.peak_rss_mb,
                        point.peak_threads,
                        fmt_duration(left),
                    ));
                    points.push(point);
                }
                Err(StartError::Skipped(reason)) => {
                    ui.line(&format!("{label}: skipped: {reason}"));
                    skipped = Some(reason);
                    done += options.concurrency.len() - points.len() - 1;
                    break;
                }
                Err(StartError::Failed(reason)) => {
                    ui.line(&format!("{label}: error: {reason}"));
                    points.push(SweepPoint {
                        concurrency: c,
                        method: String::new(),
                        requests_per_second: 0.0,
                        fraction_of_load: 0.0,
                        complete: 0,
                        non_2xx: 0,
                        failed: 0,
                        unfinished: 0,
                        latency_ms: LatencyMs::default(),
                        cpu_ms_per_request: 0.0,
                        cpu: CpuCeiling::default(),
                        fraction_of_lower_ceiling: None,
                        peak_rss_mb: 0.0,
                        peak_threads: 0,
                        syn_retransmits: None,
                        error: Some(reason),
                    });
                }
            }
        }
        series.push(SweepSeries {
            id: scenario.id.to_owned(),
            topology: scenario.topology.to_owned(),
            points,
            skipped,
        });
    }
    Ok(started.finish(Sweep {
        delay_s: options.delay.as_secs_f64(),
        duration_s: options.duration.as_secs_f64(),
        warmup_s: options.warmup.as_secs_f64(),
        ramp_up_s: options.ramp_up.as_secs_f64(),
        series,
    }))
}

/// How a point is loaded.
struct Mode {
    /// `Some(n)`: count mode; `None`: time-window mode.
    requests: Option<u64>,
    /// Count mode: responses that are start-up, not counted: whole waves of what the
    /// topology holds in flight, so that the measured part starts at a wave's end.
    warmup_responses: u64,
}

/// Requests per client in `count` mode ...
pub(crate) const REQUESTS_PER_CLIENT: u64 = 6;
/// ... of which the first rounds are start-up: the clients ramping up, the proxy
/// opening its upstream connections.
pub(crate) const WARMUP_ROUNDS: u64 = 2;

/// [`REQUESTS_PER_CLIENT`] requests per client, rounded up to whole waves of what the
/// topology holds in flight, if that takes at most 1.5 x the point's duration; a time
/// window otherwise.
fn mode(scenario: &Scenario, concurrency: u32, options: &SweepOptions) -> Mode {
    let mut point = *scenario;
    point.load.concurrency = concurrency;
    point.load.delay = options.delay;
    let in_flight = (point.ceiling_rps() * options.delay.as_secs_f64())
        .round()
        .max(1.0) as u64;
    let whole_waves = |requests: u64| requests.div_ceil(in_flight) * in_flight;
    let requests = whole_waves(REQUESTS_PER_CLIENT * u64::from(concurrency));
    point.load.requests = requests;
    Mode {
        requests: (point.ideal_time_s() <= 1.5 * options.duration.as_secs_f64())
            .then_some(requests),
        warmup_responses: whole_waves(WARMUP_ROUNDS * u64::from(concurrency)),
    }
}

/// Completed-request counts over time, sampled from the engine's live counters.
fn run_point(
    runtime: &tokio::runtime::Runtime,
    scenario: &Scenario,
    concurrency: u32,
    options: &SweepOptions,
    ui: &Ui,
    label: &str,
    left: f64,
) -> Result<SweepPoint, StartError> {
    let mode = mode(scenario, concurrency, options);
    let stack = stack::start(&scenario.topology(), &options.bin_dir)?;
    let url = stack.url(options.delay);
    let plan = match mode.requests {
        Some(requests) => {
            let load = Load {
                requests,
                concurrency,
                delay: options.delay,
                keep_alive: false,
            };
            Plan::of(&load, url)
        }
        None => Plan::lasting(options.duration, concurrency, options.delay, url),
    }
    // By default the clients start over one delay: a steady stream, not waves of c.
    .ramp_up((!options.ramp_up.is_zero()).then_some(options.ramp_up))
    // Fine enough to tell when the warm-up's responses were back.
    .timeline(WARMUP_RESOLUTION);
    let started = Instant::now();
    let status = {
        let label = label.to_owned();
        let duration = options.duration.as_secs_f64();
        move |progress: &Progress| {
            let elapsed = started.elapsed().as_secs_f64();
            format!(
                "{label}: {} done, {} failed, {elapsed:.0}/{duration} s   (about {} left)",
                progress.done(),
                progress.failed(),
                fmt_duration(left + (duration - elapsed).max(0.0))
            )
        }
    };
    let Measured {
        outcome,
        cpu_ticks,
        all_cpu_ticks,
        peaks,
        drops,
        ..
    } = measure(runtime, Target::from(stack), &plan, ui, label, status);

    let report = outcome.map_err(|err| StartError::Failed(format!("{err:#}")))?;
    // When each interval ended, seconds from the run's start, and the 2xx by then.
    let samples: Vec<(f64, u64)> = report
        .timeline
        .iter()
        .flat_map(loadgen::Timeline::running_totals)
        .map(|totals| (totals.end_s, totals.ok))
        .collect();
    let ok = report.complete.saturating_sub(report.non_2xx);
    let rps = if mode.requests.is_some() {
        after_warmup(&samples, mode.warmup_responses, ok, report.time_taken_s)
    } else {
        // The 2xx that came back after the warm-up, over the rest of the window.
        crate::load::ok_rate_after(&report, options.warmup.as_secs_f64())
    };
    let offered = f64::from(concurrency) / options.delay.as_secs_f64();
    // Little's law at this c (a thread cap caps it), then the CPU's ceiling beside it.
    let little = {
        let mut at_c = *scenario;
        at_c.load.concurrency = concurrency;
        at_c.load.delay = options.delay;
        at_c.ceiling_rps()
    };
    let cpu = CpuCeiling::new(
        procfs::ms_per_request(all_cpu_ticks, report.complete),
        little,
    );
    let lower = cpu.lower(little);
    Ok(SweepPoint {
        concurrency,
        method: if mode.requests.is_some() {
            "count"
        } else {
            "window"
        }
        .to_owned(),
        requests_per_second: rps,
        fraction_of_load: rps / offered,
        complete: report.complete,
        non_2xx: report.non_2xx,
        failed: report.failed,
        unfinished: report.unfinished,
        latency_ms: LatencyMs::from(&report.latency_ms),
        cpu_ms_per_request: procfs::ms_per_request(cpu_ticks, report.complete),
        cpu,
        fraction_of_lower_ceiling: Some(rps / lower),
        peak_rss_mb: peaks.rss_bytes as f64 / 1024.0 / 1024.0,
        peak_threads: peaks.threads,
        syn_retransmits: drops.map(|drops| drops.syn_retransmits),
        error: report.aborted,
    })
}

/// The width of loadgen's timeline intervals in a sweep point: the resolution of "when
/// had the warm-up's responses come back".
const WARMUP_RESOLUTION: Duration = Duration::from_millis(10);

/// Throughput after the first `warmup` 2xx responses: from the end of the first
/// timeline interval that had seen them to the end of the run. Falls back to the whole
/// run when the intervals are too coarse to tell.
fn after_warmup(samples: &[(f64, u64)], warmup: u64, ok: u64, time_taken_s: f64) -> f64 {
    let whole_run = ok as f64 / time_taken_s.max(1e-3);
    let Some(&(at, complete)) = samples.iter().find(|(_, complete)| *complete >= warmup) else {
        return whole_run;
    };
    let window = time_taken_s - at;
    if complete >= ok || window < 0.01 {
        return whole_run;
    }
    (ok - complete) as f64 / window
}

/// The sweep as a Markdown table: one line per point.
pub fn markdown_table(sweep: &SweepResults) -> String {
    let mut out = String::from(
        "| scenario | c | method | requests/s | of c/delay | CPU ceiling | binds | of the lower ceiling | complete | non-2xx | failed | unfinished | p50 ms | p99 ms | CPU ms/req | CPU ms/req, all | peak RSS MiB | threads | SYN resent |\n\
         |---|--:|---|--:|--:|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n",
    );
    for series in &sweep.series {
        if let Some(reason) = &series.skipped {
            out.push_str(&format!(
                "| {} | | | skipped: {reason} | | | | | | | | | | | | | | | |\n",
                series.id
            ));
        }
        for p in &series.points {
            if let Some(reason) = &p.error {
                if p.complete == 0 {
                    out.push_str(&format!(
                        "| {} | {} | | error: {} | | | | | | | | | | | | | | | |\n",
                        series.id,
                        p.concurrency,
                        reason.replace('|', "/")
                    ));
                    continue;
                }
            }
            out.push_str(&format!(
                "| {} | {} | {} | {:.1} | {:.0}% | {} | {} | {} | {} | {} | {} | {} | {:.0} | {:.0} | {:.3} | {} | {:.1} | {} | {} |\n",
                series.id,
                p.concurrency,
                p.method,
                p.requests_per_second,
                p.fraction_of_load * 100.0,
                p.cpu
                    .cpu_ceiling_rps
                    .map_or_else(|| "?".to_owned(), |rps| format!("{rps:.0}")),
                p.cpu.binds.as_deref().unwrap_or("?"),
                p.fraction_of_lower_ceiling
                    .map_or_else(|| "?".to_owned(), |f| format!("{:.0}%", f * 100.0)),
                p.complete,
                p.non_2xx,
                p.failed,
                p.unfinished,
                p.latency_ms.p50,
                p.latency_ms.p99,
                p.cpu_ms_per_request,
                p.cpu
                    .cpu_ms_per_request_all
                    .map_or_else(|| "?".to_owned(), |ms| format!("{ms:.3}")),
                p.peak_rss_mb,
                p.peak_threads,
                crate::results::fmt_count(p.syn_retransmits),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::after_warmup;

    #[test]
    fn counts_only_what_finished_after_the_warmup() {
        // 10 clients, 40 requests: the first 10 took 1.5 s (start-up), the other 30
        // finished in the 3 s after.
        let samples = [(0.5, 0), (1.0, 4), (1.5, 10), (2.5, 20), (4.5, 40)];
        assert_eq!(after_warmup(&samples, 10, 40, 4.5), 10.0);
    }

    #[test]
    fn falls_back_to_the_whole_run_without_usable_samples() {
        assert_eq!(after_warmup(&[], 10, 40, 4.0), 10.0);
        assert_eq!(after_warmup(&[(4.0, 40)], 10, 40, 4.0), 10.0);
    }
}
