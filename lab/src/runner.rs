//! The benchmark runner behind `make bench-all`, `make bench` and `make sweep`.
//!
//! For each scenario of [`crate::scenarios`]: start the topology on free loopback ports
//! ([`stack`]), wait for `/healthz`, send the scenario's load with this crate's engine,
//! measure what the app's process tree spent ([`procfs`]), stop everything, and write
//! the table, the JSON and the chart ([`results`], [`crate::bench_chart`]). [`kit::procs`] makes sure no
//! service outlives the runner, even on Ctrl-C.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::experiment::Experiment;
use crate::load::{Plan, Timed};
use crate::results::{self, CpuCeiling, LatencyMs, Outcome, Results, Row};
use crate::scenarios::Scenario;
use crate::target::{Probe, Target};
use kit::repeat::Repeat;
use kit::stack::{self, StartError};
use kit::{kernel, procfs};
use loadgen::Progress;

/// How a run is shaped.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where `slow_api`, `app_sync`, `app_async` and `app_pg` are.
    pub bin_dir: PathBuf,
    /// Replaces every scenario's `?delay=` (shortened runs, tests).
    pub delay: Option<Duration>,
    /// Divides `-n` and `-c` of the loads with more than 10 connections (shortened
    /// runs, tests); 1 = as the table. The `-n 10 -c 5` loads stay as they are.
    pub scale: u32,
}

impl Options {
    /// The directory of the running executable: where cargo puts every workspace binary.
    pub fn default_bin_dir() -> PathBuf {
        std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("target/release"))
    }

    /// The scenario as this run will send it.
    pub fn shape(&self, scenario: &Scenario) -> Scenario {
        let mut shaped = *scenario;
        if let Some(delay) = self.delay {
            shaped.load.delay = delay;
        }
        if scenario.load.concurrency <= 10 {
            return shaped;
        }
        let scale = u64::from(self.scale.max(1));
        let concurrency = u64::from(scenario.load.concurrency).div_ceil(scale).max(1);
        shaped.load.concurrency = u32::try_from(concurrency).unwrap_or(u32::MAX);
        shaped.load.requests = scenario.load.requests.div_ceil(scale).max(concurrency);
        shaped
    }
}

/// The flags every runner shares (bench-all, compare): where the binaries are, and how
/// to shorten a run.
#[derive(clap::Args, Debug, Clone)]
pub struct ShapeArgs {
    /// Directory holding slow_api, app_sync, app_async and app_pg [default: this
    /// program's own directory].
    #[arg(long)]
    pub bin_dir: Option<PathBuf>,

    /// Replace every row's delay (seconds), for a quick run.
    #[arg(long, value_parser = parse_delay)]
    pub delay: Option<Duration>,

    /// Divide -n and -c of the large loads by this, for a quick run.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub scale: u32,
}

impl ShapeArgs {
    /// The run's options.
    pub fn options(self) -> Options {
        Options {
            bin_dir: self.bin_dir.unwrap_or_else(Options::default_bin_dir),
            delay: self.delay,
            scale: self.scale,
        }
    }
}

/// `--delay` of the runners: a positive number of seconds, at most a minute.
pub fn parse_delay(raw: &str) -> Result<Duration, String> {
    seconds_within(raw, false, Duration::from_secs(60))
}

/// The longest load or wait a flag of the lab's may ask for.
pub const TEN_MINUTES: Duration = Duration::from_secs(600);

/// The lab's one reading of a number of seconds on its command line: common's parser
/// (the services' `UPSTREAM_TIMEOUT` and the like), then the flag's bounds: above zero
/// (or zero, when `zero` allows it) and at most `max`.
pub fn seconds_within(raw: &str, zero: bool, max: Duration) -> Result<Duration, String> {
    let seconds = common::config::parse_seconds(raw)?;
    let max_s = max.as_secs_f64();
    if (!seconds.is_zero() || zero) && seconds <= max {
        Ok(seconds)
    } else if zero {
        Err(format!(
            "{raw:?} is not a number of seconds from 0 to {max_s}"
        ))
    } else {
        Err(format!(
            "{raw:?} is not a number of seconds above 0, at most {max_s}"
        ))
    }
}

/// Seconds a scenario is expected to take: its ideal time plus starting the services.
pub(crate) fn expected_s(scenario: &Scenario) -> f64 {
    let mut startup = 0.4;
    if scenario.app.needs_postgres() {
        startup += 1.5;
    }
    if scenario.front.is_nginx() {
        startup += 0.2;
    }
    scenario.ideal_time_s() + startup
}

/// `1m 05s`, `42s`.
pub fn fmt_duration(seconds: f64) -> String {
    let seconds = seconds.max(0.0).round() as u64;
    if seconds >= 60 {
        format!("{}m {:02}s", seconds / 60, seconds % 60)
    } else {
        format!("{seconds}s")
    }
}

/// Progress on stderr: a line per scenario, and a live counter on a terminal; and, for
/// a live view (`lab live`), a [`Watch`] that glances at every load as it runs.
#[derive(Clone)]
pub struct Ui {
    tty: bool,
    started: Instant,
    watch: Option<Arc<dyn Watch>>,
}

impl Default for Ui {
    fn default() -> Self {
        Ui {
            tty: std::io::stderr().is_terminal(),
            started: Instant::now(),
            watch: None,
        }
    }
}

/// One look at a load under way, every [`GLANCE_EVERY`]: what a live view draws.
pub struct Glance<'a> {
    /// Seconds since the load started.
    pub t_s: f64,
    /// The load generator's live counters.
    pub progress: &'a Progress,
    /// The app's `/metrics`, as last read (`None`: it has none, or none read yet).
    pub server: Option<kit::scrape::ServerSample>,
    /// The app's process tree now (CPU ticks since it started, RSS, threads).
    pub app: procfs::Usage,
    /// CPU ticks of everything the run started, the load generator included, since the
    /// load started: what the CPU ceiling is worked out from.
    pub all_cpu_ticks: u64,
}

/// Something that watches loads as they run (`lab live`'s stream).
pub trait Watch: Send + Sync {
    /// Called every [`GLANCE_EVERY`] during each load, from a thread of its own.
    fn glance(&self, glance: &Glance<'_>);
}

/// How often a [`Watch`] glances at a load: ten times a second.
pub const GLANCE_EVERY: Duration = Duration::from_millis(100);

impl Ui {
    /// A [`Ui`] whose loads `watch` glances at.
    pub fn watched(watch: Arc<dyn Watch>) -> Ui {
        Ui {
            watch: Some(watch),
            ..Ui::default()
        }
    }

    /// Prints a line (clearing a live counter first).
    pub fn line(&self, text: &str) {
        let mut err = std::io::stderr().lock();
        if self.tty {
            let _ = write!(err, "\r\x1b[2K");
        }
        let _ = writeln!(err, "{text}");
    }

    /// Seconds since the run started.
    pub fn elapsed_s(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// On a terminal, redraws `status()` four times a second until the returned guard
    /// drops, and then clears the line.
    pub fn live(&self, status: impl Fn() -> String + Send + 'static) -> Option<Repeat> {
        self.tty.then(|| {
            Repeat::start("live", Duration::from_millis(250), move |last| {
                let mut err = std::io::stderr().lock();
                let _ = if last {
                    write!(err, "\r\x1b[2K")
                } else {
                    write!(err, "\r\x1b[2K{}", status())
                };
            })
        })
    }
}

/// Runs `scenarios` one after another and returns every row, in order; `name` leads
/// the progress lines (`bench-all`, `first-round`).
pub fn run_all(scenarios: &[Scenario], options: &Options, name: &str) -> anyhow::Result<Results> {
    let started = results::Started::now();
    let ui = Ui::default();
    let runtime = crate::load::runtime()?;
    let shaped: Vec<Scenario> = scenarios.iter().map(|s| options.shape(s)).collect();
    let total = shaped.len();
    let expected: Vec<f64> = shaped.iter().map(expected_s).collect();
    ui.line(&format!(
        "{name}: {total} scenario(s), about {} (the ideal times plus start-ups)",
        fmt_duration(expected.iter().sum())
    ));

    let mut rows = Vec::with_capacity(total);
    for (index, scenario) in shaped.iter().enumerate() {
        let label = format!("[{:>2}/{total}] {}", index + 1, scenario.id);
        let after: f64 = expected[index + 1..].iter().sum();
        ui.line(&format!(
            "{label}: {} ({}), ab {} ...",
            scenario.topology,
            scenario.article_analogue,
            scenario.load.ab_flags()
        ));
        let line = Line {
            label: &label,
            expected_s: expected[index],
            after_s: after,
        };
        let row = run_one(&runtime, scenario, options, &ui, line);
        let left = after;
        ui.line(&format!(
            "{label}: {}   (about {} left)",
            summary(&row),
            fmt_duration(left)
        ));
        rows.push(row);
    }
    Ok(started.finish(results::BenchAll { scenarios: rows }))
}

/// One line about a finished row.
pub fn summary(row: &Row) -> String {
    if let Some((word, reason)) = row.outcome.why() {
        return format!("{word}: {reason}");
    }
    format!(
        "{:.2} requests/s, {:.0}% of its ceiling {} (2xx only), {} complete, {} failed, {} non-2xx, {:.2} s, p99 {:.0} ms",
        row.requests_per_second,
        row.efficiency * 100.0,
        row.ceiling_rps,
        row.complete,
        row.failed,
        row.non_2xx,
        row.time_taken_s,
        row.latency_ms.p99,
    )
}

/// Starts the topology, sends the load, measures, stops. Never panics on a service's
/// failure: the row says what happened.
fn run_one(
    runtime: &tokio::runtime::Runtime,
    scenario: &Scenario,
    options: &Options,
    ui: &Ui,
    line: Line<'_>,
) -> Row {
    let started = stack::start(&scenario.topology(), &options.bin_dir).map(Target::from);
    load_and_measure(runtime, scenario, started, None, ui, line)
}

/// Where a row stands in its run, for the live counter: its label, its expected seconds
/// and the rest of the run's.
#[derive(Debug, Clone, Copy)]
pub struct Line<'a> {
    pub label: &'a str,
    pub expected_s: f64,
    pub after_s: f64,
}

/// Sends `scenario`'s load to a started topology (or records why it did not start),
/// measures, stops it, and returns the row: `-n` requests, or, when `timed` is given,
/// the scenario's clients for that long (`lab live`).
pub fn load_and_measure(
    runtime: &tokio::runtime::Runtime,
    scenario: &Scenario,
    started: Result<Target, StartError>,
    timed: Option<Timed>,
    ui: &Ui,
    line: Line<'_>,
) -> Row {
    let mut row = Row::new(scenario);
    let target = match started {
        Ok(target) => target,
        Err(StartError::Skipped(reason)) => {
            row.outcome = Outcome::Skipped(reason);
            return row;
        }
        Err(StartError::Failed(reason)) => {
            row.outcome = Outcome::Failed(reason);
            return row;
        }
    };

    let load = scenario.load;
    let url = target.url(load.delay);
    let plan = match timed {
        None => Plan::of(&load, url),
        Some(timed) => Plan::lasting(timed.duration, load.concurrency, load.delay, url)
            .keep_alive(load.keep_alive)
            .ramp(timed.ramp),
    }
    .timeline(TIMELINE_INTERVAL);
    let status = {
        let label = line.label.to_owned();
        let (expected, after) = (line.expected_s, line.after_s);
        let started = Instant::now();
        let requests = plan.expected_requests();
        move |progress: &Progress| {
            let elapsed = started.elapsed().as_secs_f64();
            format!(
                "{label}: {}/{requests} requests, {} failed, {:.0} s   (about {} left)",
                progress.done(),
                progress.failed(),
                elapsed,
                fmt_duration((expected - elapsed).max(0.0) + after)
            )
        }
    };
    let Measured {
        outcome,
        cpu_ticks,
        all_cpu_ticks,
        peaks,
        drops,
        server,
    } = measure(runtime, target, &plan, ui, line.label, status);
    row.syn_retransmits = drops.map(|drops| drops.syn_retransmits);

    match outcome {
        Ok(report) => {
            row.complete = report.complete;
            row.failed = report.failed;
            row.non_2xx = report.non_2xx;
            row.requests_per_second = report.requests_per_second;
            row.time_taken_s = report.time_taken_s;
            let ok = report.complete.saturating_sub(report.non_2xx) as f64;
            row.efficiency = ok / report.time_taken_s.max(1e-9) / row.ceiling_rps;
            if timed.is_some() {
                // A timed load (lab live): its rate after the clients' first round.
                let warmup = load.delay.as_secs_f64().min(report.time_taken_s / 2.0);
                row.requests_per_second = crate::load::ok_rate_after(&report, warmup);
                row.efficiency = row.requests_per_second / row.ceiling_rps;
            }
            row.latency_ms = LatencyMs::from(&report.latency_ms);
            row.cpu_ms_per_request = procfs::ms_per_request(cpu_ticks, report.complete);
            let all_ms = procfs::ms_per_request(all_cpu_ticks, report.complete);
            row.cpu = CpuCeiling::new(all_ms, row.ceiling_rps);
            row.peak_rss_mb = peaks.rss_bytes as f64 / 1024.0 / 1024.0;
            row.peak_threads = peaks.threads;
            if let Some(client) = &report.timeline {
                let title = format!(
                    "{}; ab {}, delay {} s",
                    scenario.topology,
                    load.ab_flags(),
                    load.delay.as_secs_f64()
                );
                let intervals: Vec<_> = client.intervals.iter().map(Into::into).collect();
                let mut timeline =
                    crate::timeline::build(&row.id, &title, client.interval_s, &intervals, &server);
                timeline.summary.server_all_in_flight_s = timeline.server_holding(load.concurrency);
                row.timeline = Some(timeline.summary.clone());
                row.timeline_data = Some(timeline);
            }
            if timed.is_some() {
                // A timed load has no -n: the row says what it sent.
                row.load.requests = report.complete + report.failed;
            }
            if let Some(reason) = report.aborted {
                row.outcome = Outcome::Failed(format!("load aborted: {reason}"));
            }
        }
        Err(err) => row.outcome = Outcome::Failed(format!("{err:#}")),
    }
    row
}

/// One load against a running topology, and what the app's process tree spent on it.
pub(crate) struct Measured {
    /// loadgen's report, or why the load could not run.
    pub outcome: anyhow::Result<loadgen::Report>,
    /// CPU clock ticks of the app's tree during the load.
    pub cpu_ticks: u64,
    /// CPU clock ticks of everything the run started, the load generator (this
    /// process) included: what the CPU ceiling is computed from.
    pub all_cpu_ticks: u64,
    pub peaks: procfs::Peaks,
    /// Connection attempts the kernel dropped during the load (`None`: unreadable).
    pub drops: Option<kernel::Drops>,
    /// What the app's `/metrics` said every [`TIMELINE_INTERVAL`] (empty where it has
    /// none), from the load's start.
    pub server: Vec<kit::scrape::ServerSample>,
}

/// The width of a row's timeline, and how often the app's `/metrics` is read.
pub const TIMELINE_INTERVAL: Duration = Duration::from_millis(100);

/// Runs `plan` against `target` with `status` on the live line, sampling the app's
/// processes (CPU, peak RSS and threads) and its `/metrics` meanwhile; then stops what
/// this process started. The kernel's connection-tracking table gets room for the
/// plan's connections first; if the kernel dropped connection attempts anyway, a note
/// under `label` says so.
pub(crate) fn measure(
    runtime: &tokio::runtime::Runtime,
    target: Target,
    plan: &Plan,
    ui: &Ui,
    label: &str,
    status: impl Fn(&Progress) -> String + Send + 'static,
) -> Measured {
    if let Some(line) = kernel::make_room(plan.connections()) {
        ui.line(&line);
    }
    let probe = target.probe();
    let sampler = probe
        .pid()
        .map(|pid| procfs::Sampler::start(pid, Duration::from_millis(100)));
    let cpu_before = probe.usage().cpu_ticks;
    let runner = i32::try_from(std::process::id()).unwrap_or(i32::MAX);
    let all_before = procfs::usage(runner).cpu_ticks;
    let drops_before = kernel::Drops::now();
    let origin = Instant::now();
    let scraper = target
        .metrics()
        .map(|address| kit::scrape::Scraper::start_at(address, TIMELINE_INTERVAL, origin));
    let outcome = {
        let progress = match ui.watch {
            Some(_) => Progress::with_latencies(),
            None => Progress::default(),
        };
        let running = plan.start_with(runtime, Arc::new(progress));
        let shown = Arc::clone(&running.progress);
        let _live = ui.live(move || status(&shown));
        let _watching = ui.watch.clone().map(|watch| {
            let latest = scraper.as_ref().map(kit::scrape::Scraper::latest);
            Glancer::new(watch, Arc::clone(&running.progress), latest, probe, runner)
                .start(running.started)
        });
        running.finish(runtime)
    };
    let server = scraper
        .map(kit::scrape::Scraper::finish)
        .unwrap_or_default();
    let drops = kernel::Drops::now()
        .zip(drops_before)
        .map(|(after, before)| after.since(before));
    if let Some(note) = drops_note(drops) {
        ui.line(&format!("{label}: {note}"));
    }
    let cpu_ticks = probe.usage().cpu_ticks.saturating_sub(cpu_before);
    let mut all_cpu_ticks = procfs::usage(runner).cpu_ticks.saturating_sub(all_before);
    let peaks = match sampler {
        Some(sampler) => sampler.finish(),
        None => {
            // A remote app is not this process's child: its CPU is counted apart.
            all_cpu_ticks += cpu_ticks;
            crate::target::peaks_from(&server)
        }
    };
    target.stop();
    Measured {
        outcome,
        cpu_ticks,
        all_cpu_ticks,
        peaks,
        drops,
        server,
    }
}

/// What glances at one load for a [`Watch`], on a thread of its own.
struct Glancer {
    watch: Arc<dyn Watch>,
    progress: Arc<Progress>,
    latest: Option<kit::scrape::Latest>,
    probe: Probe,
    runner: i32,
    /// CPU ticks of this process's tree and of a remote app when the load started, read
    /// as the glances read them.
    runner_before: u64,
    remote_app_before: u64,
}

impl Glancer {
    fn new(
        watch: Arc<dyn Watch>,
        progress: Arc<Progress>,
        latest: Option<kit::scrape::Latest>,
        probe: Probe,
        runner: i32,
    ) -> Glancer {
        let runner_before = procfs::own_usage(runner, procfs::Forks::AnyThread).cpu_ticks;
        let remote_app_before = match probe.pid() {
            Some(_) => 0,
            None => probe.usage().cpu_ticks,
        };
        Glancer {
            watch,
            progress,
            latest,
            probe,
            runner,
            runner_before,
            remote_app_before,
        }
    }

    /// Glances every [`GLANCE_EVERY`] from `origin` (the load's start) until the
    /// returned guard drops, and once more then. The thread is named `glance`: its CPU
    /// is the live view's cost (scripts/live-cost.py reads it).
    fn start(self, origin: Instant) -> Repeat {
        Repeat::start("glance", GLANCE_EVERY, move |_| self.glance(origin))
    }

    fn glance(&self, origin: Instant) {
        let server = self.latest.as_ref().and_then(kit::scrape::Latest::get);
        let app = self.probe.glance(server.as_ref());
        let mut all_cpu_ticks = procfs::own_usage(self.runner, procfs::Forks::AnyThread)
            .cpu_ticks
            .saturating_sub(self.runner_before);
        if self.probe.pid().is_none() {
            // A remote app is not this process's child: its CPU since the load started.
            all_cpu_ticks += app.cpu_ticks.saturating_sub(self.remote_app_before);
        }
        let glance = Glance {
            t_s: origin.elapsed().as_secs_f64(),
            progress: &self.progress,
            server,
            app,
            all_cpu_ticks,
        };
        self.watch.glance(&glance);
    }
}

/// A note when the kernel dropped connection attempts during a load: expected where
/// thousands of clients wait for a few threads (the accept queue holds 4,096), a
/// distortion anywhere else.
fn drops_note(drops: Option<kernel::Drops>) -> Option<String> {
    let drops = drops.filter(|drops| drops.syn_retransmits > 0 || drops.listen_overflows > 0)?;
    Some(format!(
        "note: the kernel dropped connection attempts during this load ({} accept-queue \
         overflows, {} SYNs resent a second or more later): a full accept queue or \
         connection-tracking table (docs/07-at-scale.md: \"When the kernel drops connections\")",
        drops.listen_overflows, drops.syn_retransmits
    ))
}

/// `lab bench`: these rows of the table, one after another, shaped by the options.
pub struct BenchExperiment {
    pub scenarios: Vec<Scenario>,
    pub options: Options,
}

impl Experiment for BenchExperiment {
    type Run = results::BenchAll;
    const NAME: &'static str = "bench";
    const COMMAND: &'static str = "make bench-all";

    fn run(&self) -> anyhow::Result<Results> {
        run_all(&self.scenarios, &self.options, "bench-all")
    }

    fn table(results: &Results) -> String {
        results::markdown_table(&results.scenarios)
    }

    /// `NAME.md` and the chart `NAME.svg`, and each row's timeline as an SVG and a CSV.
    fn pages(results: &Results, name: &str) -> Vec<(String, String)> {
        let chart_file = format!("{name}.svg");
        let mut pages = vec![
            (
                format!("{name}.md"),
                results::markdown_document(results, &chart_file),
            ),
            (chart_file, crate::bench_chart::bench_chart(results)),
        ];
        for timeline in results
            .scenarios
            .iter()
            .filter_map(|row| row.timeline_data.as_ref())
        {
            let stem = crate::timeline::file_stem(&timeline.id);
            pages.push((format!("{stem}.svg"), timeline.svg()));
            pages.push((format!("{stem}.csv"), timeline.csv()));
        }
        pages
    }

    fn unmet(results: &Results) -> Vec<String> {
        results
            .scenarios
            .iter()
            .filter_map(|row| match &row.outcome {
                Outcome::Failed(reason) => Some(format!("{} could not run: {reason}", row.id)),
                _ => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenarios::by_id;

    #[test]
    fn seconds_are_read_once_then_bounded() {
        assert_eq!(parse_delay("0.5"), Ok(Duration::from_millis(500)));
        assert!(parse_delay("0").is_err());
        assert!(parse_delay("61").is_err());
        assert!(parse_delay("-1").is_err());
        assert!(parse_delay("abc").is_err());
        assert!(parse_delay("NaN").is_err());
        assert_eq!(seconds_within("0", true, TEN_MINUTES), Ok(Duration::ZERO));
        assert!(seconds_within("0", false, TEN_MINUTES).is_err());
        assert!(seconds_within("600.5", true, TEN_MINUTES).is_err());
    }

    #[test]
    fn shaping_keeps_n_at_least_c() {
        let options = Options {
            bin_dir: PathBuf::new(),
            delay: Some(Duration::from_millis(50)),
            scale: 10,
        };
        let devserver = options.shape(by_id("devserver").expect("row"));
        assert_eq!(devserver.load.concurrency, 5);
        assert_eq!(devserver.load.requests, 10);
        assert_eq!(devserver.load.delay, Duration::from_millis(50));
        let large = options.shape(by_id("async-c1000").expect("row"));
        assert_eq!((large.load.requests, large.load.concurrency), (500, 100));
        assert!((large.ceiling_rps() - 2000.0).abs() < 1e-6);
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(fmt_duration(42.4), "42s");
        assert_eq!(fmt_duration(65.0), "1m 05s");
        assert_eq!(fmt_duration(-3.0), "0s");
    }
}
