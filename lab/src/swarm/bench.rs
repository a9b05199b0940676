//! `make bench-swarm`: the scale-out lesson measured on a swarm, and faults under load.
//!
//! Scale-out: for each capped topology (the dev server, 1 in flight per task; app_sync
//! 4 x 50, 200 per task), the same stack at 1, 2, 4 replicas, each time with a load
//! that exceeds what the replicas can hold in flight; throughput should follow Little's
//! law, replicas x per-task cap / delay. (app_async has no cap below the load: more
//! replicas change nothing at c=200; the full run shows it.)
//!
//! Faults, each during a load through nginx: `docker service scale` 1 -> 2 (throughput
//! follows the replica count), `docker service update --force` (a rolling update: no
//! failed request), `docker kill` of one task (failures bounded by what it had in
//! flight, and swarm replaces it).
//!
//! Loads go through [`loadgen`]'s engine in this process, as the runner's do. Results:
//! `results/swarm.{json,md,svg}`; the tables of docs/11-swarm.md are rendered by
//! [`render_block`].

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::{Stack, Topology};
use crate::experiment::Experiment;
use crate::faults::{sample_at, Sample};
use crate::load::{Plan, Running};
use crate::results::{self, fmt_ms, fmt_rps};
use crate::scenarios::Load;

/// Deploying, scaling and removing: how long before it is an error.
const CONVERGE: Duration = Duration::from_secs(180);
/// The upstream's delay every load asks for: the lab's default, `?delay=1`.
pub const DELAY: Duration = Duration::from_secs(1);

/// How a run is shaped.
#[derive(Debug, Clone)]
pub struct Options {
    /// The repository's root (holds `swarm/`).
    pub root: PathBuf,
    /// Shortened: replicas 1 and 2, loads of a few seconds, no app_async rows.
    pub quick: bool,
    /// The port nginx publishes (a free one when `None`).
    pub port: Option<u16>,
}

/// The swarm run's own part of `results/swarm.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Swarm {
    /// The Docker engine's version.
    pub docker: String,
    /// `--quick`: the shortened run.
    pub quick: bool,
    pub scale_out: Vec<ScaleRow>,
    pub faults: Vec<FaultRow>,
}

/// The whole file `results/swarm.json`.
pub type SwarmResults = results::Envelope<Swarm>;

/// One load against one replica count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScaleRow {
    /// `devserver`, `sync-workers`, `async`.
    pub topology: String,
    pub app: String,
    pub replicas: u32,
    pub requests: u64,
    pub concurrency: u32,
    pub delay_s: f64,
    pub keep_alive: bool,
    pub complete: u64,
    pub failed: u64,
    pub non_2xx: u64,
    pub requests_per_second: f64,
    /// Little's law: min(c, replicas x per-task cap) / delay.
    pub ceiling_rps: f64,
    /// 2xx answers per second over the ceiling.
    pub efficiency: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Why the row has no figures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One fault during one load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultRow {
    /// `scale`, `rolling-update`, `kill-task`.
    pub fault: String,
    /// The command, as run.
    pub action: String,
    pub topology: String,
    pub replicas_before: u32,
    pub replicas_after: u32,
    pub concurrency: u32,
    pub delay_s: f64,
    /// The load's length (`-t`), seconds.
    pub load_s: f64,
    /// Seconds into the load the fault began.
    pub fault_at_s: f64,
    /// Seconds from the fault's start until the stack was whole again (every task
    /// healthy and in nginx's DNS answer).
    pub converged_s: f64,
    pub complete: u64,
    pub failed: u64,
    pub non_2xx: u64,
    /// Requests still in flight when the load's time ran out (not failures).
    pub unfinished: u64,
    /// Requests/s finished in the stretch before the fault.
    pub rps_before: f64,
    /// Requests/s finished in the stretch after the stack converged.
    pub rps_after: f64,
    pub ceiling_before: f64,
    pub ceiling_after: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// The most failed or non-2xx requests the fault may cost: 0, or what the killed
    /// task held in flight.
    pub allowed_errors: u64,
    /// The row met its bound (and the stack converged within the load).
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl FaultRow {
    /// Failed plus non-2xx.
    pub fn errors(&self) -> u64 {
        self.failed + self.non_2xx
    }
}

/// Replica counts of the scale-out rows.
fn replica_counts(options: &Options) -> Vec<u32> {
    if options.quick {
        vec![1, 2]
    } else {
        vec![1, 2, 4]
    }
}

/// The load a scale-out row sends to `replicas` tasks of `topology`: more clients than
/// the tasks can hold (twice the dev server's, 1.25 x app_sync's), for about `seconds`
/// at the ceiling; app_async gets the article's c=200.
pub fn scale_load(topology: Topology, replicas: u32, seconds: u32) -> (u64, u32) {
    match topology {
        Topology::Devserver => (u64::from(replicas * seconds), 2 * replicas),
        Topology::SyncWorkers => (u64::from(200 * replicas * seconds), 250 * replicas),
        Topology::Async => (u64::from(200 * seconds), 200),
    }
}

/// Runs everything on the swarm there is; writes nothing (see [`SwarmExperiment`]).
pub fn run(options: &Options, say: &dyn Fn(&str)) -> anyhow::Result<SwarmResults> {
    let started = results::Started::now();
    let docker = super::engine_version()?;
    let runtime = crate::load::runtime()?;
    let port = match options.port {
        Some(port) => port,
        None => super::free_port()?,
    };
    let seconds = if options.quick { 5 } else { 10 };
    let mut topologies = vec![Topology::SyncWorkers, Topology::Devserver];
    if !options.quick {
        topologies.push(Topology::Async);
    }

    let mut scale_out = Vec::new();
    let mut faults = Vec::new();
    for topology in topologies {
        let name = format!("lab-bench-{}", topology.id());
        let counts = if topology == Topology::Async {
            vec![1, 2]
        } else {
            replica_counts(options)
        };
        say(&format!(
            "== {} ({}): deploying {name} on port {port}",
            topology.id(),
            topology.app()
        ));
        let stack = Stack::deploy(&options.root, topology, &name, counts[0], port)?;
        let outcome = (|| -> anyhow::Result<()> {
            let took = stack.wait_ready(counts[0], CONVERGE)?;
            say(&format!("   ready in {:.1} s", took.as_secs_f64()));
            for &replicas in &counts {
                if stack.replicas()?.iter().any(|(service, _, desired)| {
                    *service == stack.service("app") && *desired != replicas
                }) {
                    let took = stack.scale(replicas, CONVERGE)?;
                    say(&format!(
                        "   scaled to {replicas} in {:.1} s",
                        took.as_secs_f64()
                    ));
                }
                let (requests, concurrency) = scale_load(topology, replicas, seconds);
                let row = scale_row(&runtime, &stack, replicas, requests, concurrency);
                say(&format!("   {}", scale_summary(&row)));
                scale_out.push(row);
            }
            if topology == Topology::SyncWorkers {
                let quick = options.quick;
                stack.scale(1, CONVERGE)?;
                let row = scale_during_load(&runtime, &stack, 1, 2, quick)?;
                say(&format!("   {}", fault_summary(&row)));
                faults.push(row);
                let row = rolling_update_during_load(&runtime, &stack, 2, quick)?;
                say(&format!("   {}", fault_summary(&row)));
                faults.push(row);
                let row = kill_during_load(&runtime, &stack, 2, quick)?;
                say(&format!("   {}", fault_summary(&row)));
                faults.push(row);
            }
            Ok(())
        })();
        let removed = stack.remove(CONVERGE);
        outcome?;
        removed?;
    }
    Ok(started.finish(Swarm {
        docker,
        quick: options.quick,
        scale_out,
        faults,
    }))
}

/// A load of `requests` at `concurrency` (keep-alive to nginx) through `stack`.
fn scale_row(
    runtime: &tokio::runtime::Runtime,
    stack: &Stack,
    replicas: u32,
    requests: u64,
    concurrency: u32,
) -> ScaleRow {
    let topology = stack.topology;
    let load = Load {
        requests,
        concurrency,
        delay: DELAY,
        keep_alive: true,
    };
    let plan = Plan::of(&load, stack.url(DELAY));
    let ceiling = topology.ceiling_rps(replicas, concurrency, DELAY);
    let mut row = ScaleRow {
        topology: topology.id().to_owned(),
        app: topology.app().to_owned(),
        replicas,
        requests,
        concurrency,
        delay_s: DELAY.as_secs_f64(),
        keep_alive: true,
        complete: 0,
        failed: 0,
        non_2xx: 0,
        requests_per_second: 0.0,
        ceiling_rps: ceiling,
        efficiency: 0.0,
        p50_ms: 0.0,
        p99_ms: 0.0,
        error: None,
    };
    match plan.run(runtime) {
        Ok(report) => {
            row.complete = report.complete;
            row.failed = report.failed;
            row.non_2xx = report.non_2xx;
            row.requests_per_second = report.requests_per_second;
            let ok = report.complete.saturating_sub(report.non_2xx) as f64;
            row.efficiency = ok / report.time_taken_s.max(1e-9) / ceiling;
            row.p50_ms = report.latency_ms.p50;
            row.p99_ms = report.latency_ms.p99;
            row.error = report
                .aborted
                .map(|reason| format!("load aborted: {reason}"));
        }
        Err(err) => row.error = Some(format!("{err:#}")),
    }
    row
}

/// A time-limited keep-alive load of `concurrency` clients through `stack` on `runtime`,
/// in the background while the caller breaks things.
fn fault_load(
    runtime: &tokio::runtime::Runtime,
    stack: &Stack,
    concurrency: u32,
    seconds: f64,
) -> Running {
    Plan::lasting(
        Duration::from_secs_f64(seconds),
        concurrency,
        DELAY,
        stack.url(DELAY),
    )
    .keep_alive(true)
    .timeline(crate::faults::SAMPLE_EVERY)
    .start(runtime)
}

/// The report of a [`fault_load`], its counters over time and when it started.
fn finish_fault_load(
    load: Running,
    runtime: &tokio::runtime::Runtime,
) -> anyhow::Result<(loadgen::Report, Vec<Sample>, Instant)> {
    let started = load.started;
    let report = load.finish(runtime)?;
    let samples = crate::faults::samples_of(&report, started);
    Ok((report, samples, started))
}

/// Requests/s finished between `from` and `until` (seconds into the load).
fn rate_between(samples: &[Sample], started: Instant, from: f64, until: f64) -> f64 {
    if until <= from {
        return 0.0;
    }
    let at = |s: f64| started + Duration::from_secs_f64(s.max(0.0));
    let done = |s: f64| sample_at(samples, at(s)).map_or(0, |sample| sample.done);
    done(until).saturating_sub(done(from)) as f64 / (until - from)
}

/// The parts of a fault row every fault fills the same way.
#[allow(clippy::too_many_arguments)]
fn fault_row(
    fault: &str,
    action: String,
    stack: &Stack,
    (before, after): (u32, u32),
    concurrency: u32,
    load_s: f64,
    fault_at_s: f64,
    converged_s: f64,
    report: &loadgen::Report,
    samples: &[Sample],
    started: Instant,
    allowed_errors: u64,
) -> FaultRow {
    let topology = stack.topology;
    // A second to settle on each side: a fresh load ramps up, a new task joins nginx's
    // DNS answer within `valid=1s`.
    let rps_before = rate_between(samples, started, 1.5, fault_at_s);
    let rps_after = rate_between(samples, started, fault_at_s + converged_s + 1.5, load_s);
    let mut row = FaultRow {
        fault: fault.to_owned(),
        action,
        topology: topology.id().to_owned(),
        replicas_before: before,
        replicas_after: after,
        concurrency,
        delay_s: DELAY.as_secs_f64(),
        load_s,
        fault_at_s,
        converged_s,
        complete: report.complete,
        failed: report.failed,
        non_2xx: report.non_2xx,
        unfinished: report.unfinished,
        rps_before,
        rps_after,
        ceiling_before: topology.ceiling_rps(before, concurrency, DELAY),
        ceiling_after: topology.ceiling_rps(after, concurrency, DELAY),
        p50_ms: report.latency_ms.p50,
        p99_ms: report.latency_ms.p99,
        allowed_errors,
        ok: false,
        error: report
            .aborted
            .as_ref()
            .map(|reason| format!("load aborted: {reason}")),
    };
    let converged_in_time = fault_at_s + converged_s < load_s;
    row.ok = row.error.is_none() && row.errors() <= allowed_errors && converged_in_time;
    if !converged_in_time && row.error.is_none() {
        row.error = Some(format!(
            "the stack converged {:.1} s into a {load_s:.0} s load",
            fault_at_s + converged_s
        ));
    }
    row
}

/// `docker service scale STACK_app=after` during a load of more clients than `after`
/// tasks hold: requests/s before and after.
pub fn scale_during_load(
    runtime: &tokio::runtime::Runtime,
    stack: &Stack,
    before: u32,
    after: u32,
    quick: bool,
) -> anyhow::Result<FaultRow> {
    let (load_s, fault_at_s) = if quick { (20.0, 6.0) } else { (30.0, 8.0) };
    let cap = stack.topology.in_flight_per_task().unwrap_or(200);
    let concurrency = cap * after + cap / 2;
    let load = fault_load(runtime, stack, concurrency, load_s);
    load.sleep_until(Duration::from_secs_f64(fault_at_s));
    let converged = stack.scale(after, CONVERGE);
    let converged_s = load.started.elapsed().as_secs_f64() - fault_at_s;
    let (report, samples, started) = finish_fault_load(load, runtime)?;
    converged?;
    Ok(fault_row(
        "scale",
        format!("docker service scale {}={after}", stack.service("app")),
        stack,
        (before, after),
        concurrency,
        load_s,
        fault_at_s,
        converged_s,
        &report,
        &samples,
        started,
        0,
    ))
}

/// `docker service update --force STACK_app` during a c=200 load: every task replaced,
/// start-first, one at a time; no request may fail.
pub fn rolling_update_during_load(
    runtime: &tokio::runtime::Runtime,
    stack: &Stack,
    replicas: u32,
    quick: bool,
) -> anyhow::Result<FaultRow> {
    let (load_s, fault_at_s) = if quick { (30.0, 4.0) } else { (40.0, 6.0) };
    let concurrency = 200;
    let load = fault_load(runtime, stack, concurrency, load_s);
    load.sleep_until(Duration::from_secs_f64(fault_at_s));
    let updated = stack
        .rolling_update()
        .and_then(|_| stack.wait_ready(replicas, CONVERGE));
    let converged_s = load.started.elapsed().as_secs_f64() - fault_at_s;
    let (report, samples, started) = finish_fault_load(load, runtime)?;
    updated?;
    Ok(fault_row(
        "rolling-update",
        format!("docker service update --force {}", stack.service("app")),
        stack,
        (replicas, replicas),
        concurrency,
        load_s,
        fault_at_s,
        converged_s,
        &report,
        &samples,
        started,
        0,
    ))
}

/// `docker kill` of one app task's container during a c=200 load: at most what that
/// task held in flight may fail, and swarm starts a replacement.
pub fn kill_during_load(
    runtime: &tokio::runtime::Runtime,
    stack: &Stack,
    replicas: u32,
    quick: bool,
) -> anyhow::Result<FaultRow> {
    let (load_s, fault_at_s) = if quick { (20.0, 5.0) } else { (30.0, 8.0) };
    let concurrency: u32 = 200;
    // nginx spreads the clients evenly: one task holds its share, up to its cap.
    let share = u64::from(concurrency.div_ceil(replicas.max(1)));
    let allowed = stack
        .topology
        .in_flight_per_task()
        .map_or(share, |cap| share.min(u64::from(cap)));
    let load = fault_load(runtime, stack, concurrency, load_s);
    load.sleep_until(Duration::from_secs_f64(fault_at_s));
    let killed = stack.kill_one_task();
    let replaced = killed
        .as_ref()
        .map_err(|err| anyhow::anyhow!("{err}"))
        .and_then(|victim| wait_replaced(stack, victim, replicas));
    let converged_s = load.started.elapsed().as_secs_f64() - fault_at_s;
    let (report, samples, started) = finish_fault_load(load, runtime)?;
    let victim = killed?;
    replaced?;
    Ok(fault_row(
        "kill-task",
        format!(
            "docker kill {} (one task of {})",
            short_id(&victim),
            stack.service("app")
        ),
        stack,
        (replicas, replicas),
        concurrency,
        load_s,
        fault_at_s,
        converged_s,
        &report,
        &samples,
        started,
        allowed,
    ))
}

/// Waits until `victim` is gone and `replicas` tasks run again, healthy and resolved.
fn wait_replaced(stack: &Stack, victim: &str, replicas: u32) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        let running = stack.containers("app")?;
        let replaced = running.len() == replicas as usize
            && !running.iter().any(|id| victim.starts_with(id.as_str()));
        if replaced {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < CONVERGE,
            "swarm did not replace the killed task {victim} within {} s",
            CONVERGE.as_secs()
        );
        std::thread::sleep(super::POLL);
    }
    stack.wait_ready(replicas, CONVERGE.saturating_sub(started.elapsed()))?;
    Ok(())
}

fn short_id(id: &str) -> &str {
    &id[..id.len().min(12)]
}

/// One line about a scale-out row.
pub fn scale_summary(row: &ScaleRow) -> String {
    if let Some(error) = &row.error {
        return format!("{} x{}: error: {error}", row.topology, row.replicas);
    }
    format!(
        "{} x{}: -n {} -c {}: {} requests/s (ceiling {}, {:.0}%), {} failed, {} non-2xx, p50 {} ms, p99 {} ms",
        row.topology,
        row.replicas,
        row.requests,
        row.concurrency,
        fmt_rps(row.requests_per_second),
        fmt_rps(row.ceiling_rps),
        row.efficiency * 100.0,
        row.failed,
        row.non_2xx,
        fmt_ms(row.p50_ms),
        fmt_ms(row.p99_ms)
    )
}

/// One line about a fault row.
pub fn fault_summary(row: &FaultRow) -> String {
    format!(
        "{} ({}) at {:.0} s of a {:.0} s c={} load: {} -> {} requests/s (ceilings {} -> {}), converged in {:.1} s, \
         {} complete, {} failed, {} non-2xx (allowed {}), p99 {} ms: {}",
        row.fault,
        row.action,
        row.fault_at_s,
        row.load_s,
        row.concurrency,
        fmt_rps(row.rps_before),
        fmt_rps(row.rps_after),
        fmt_rps(row.ceiling_before),
        fmt_rps(row.ceiling_after),
        row.converged_s,
        row.complete,
        row.failed,
        row.non_2xx,
        row.allowed_errors,
        fmt_ms(row.p99_ms),
        if row.ok {
            "ok".to_owned()
        } else {
            format!("NOT OK{}", row.error.as_ref().map(|e| format!(" ({e})")).unwrap_or_default())
        }
    )
}

/// The scale-out table.
pub fn scale_table(run: &SwarmResults) -> String {
    let mut out = String::from(
        "| topology | app per task | replicas | load | complete | failed | non-2xx | requests/s | ceiling (replicas x cap) | efficiency | p50 ms | p99 ms |\n\
         |---|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|\n",
    );
    for row in &run.scale_out {
        let measured = match &row.error {
            Some(error) => format!(
                "| | | | error: {error} | {} | | | ",
                fmt_rps(row.ceiling_rps)
            ),
            None => format!(
                "| {} | {} | {} | {} | {} | {:.0}% | {} | {} ",
                row.complete,
                row.failed,
                row.non_2xx,
                fmt_rps(row.requests_per_second),
                fmt_rps(row.ceiling_rps),
                row.efficiency * 100.0,
                fmt_ms(row.p50_ms),
                fmt_ms(row.p99_ms)
            ),
        };
        out.push_str(&format!(
            "| {} | {} | {} | {}-n {} -c {} delay={} {measured}|\n",
            row.topology,
            row.app,
            row.replicas,
            if row.keep_alive { "-k " } else { "" },
            row.requests,
            row.concurrency,
            row.delay_s,
        ));
    }
    out
}

/// The faults table.
pub fn fault_table(run: &SwarmResults) -> String {
    let mut out = String::from(
        "| fault | command | replicas | load | fault at | converged after | complete | failed | non-2xx | allowed | requests/s before | after | ceilings | p99 ms | verdict |\n\
         |---|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|---|\n",
    );
    for row in &run.faults {
        out.push_str(&format!(
            "| {} | `{}` | {} -> {} | -k -t {:.0} -c {} delay={} | {:.0} s | {:.1} s | {} | {} | {} | {} | {} | {} | {} -> {} | {} | {} |\n",
            row.fault,
            row.action,
            row.replicas_before,
            row.replicas_after,
            row.load_s,
            row.concurrency,
            row.delay_s,
            row.fault_at_s,
            row.converged_s,
            row.complete,
            row.failed,
            row.non_2xx,
            row.allowed_errors,
            fmt_rps(row.rps_before),
            fmt_rps(row.rps_after),
            fmt_rps(row.ceiling_before),
            fmt_rps(row.ceiling_after),
            fmt_ms(row.p99_ms),
            if row.ok {
                "ok".to_owned()
            } else {
                format!("NOT OK{}", row.error.as_ref().map(|e| format!(": {e}")).unwrap_or_default())
            }
        ));
    }
    out
}

/// The provenance line.
pub fn run_line(run: &SwarmResults) -> String {
    run.provenance_with(
        if run.quick {
            "make bench-swarm QUICK=1"
        } else {
            "make bench-swarm"
        },
        &format!("Docker engine {}, a single-node swarm", run.docker),
    )
}

/// Measured vs ceiling against replicas, one panel per topology (linear axes).
// SVG elements are written as raw-string lines, each ending in its newline.
#[allow(clippy::write_with_newline)]
pub fn chart(run: &SwarmResults) -> String {
    use std::fmt::Write;

    use crate::chart::{
        self, axis_left, esc, legend, topology_color, Entry, LinearAxis, Plot, Scale, Swatch,
        MUTED, PALE, TEXT,
    };
    let topologies: Vec<&str> = {
        let mut seen: Vec<&str> = Vec::new();
        for row in &run.scale_out {
            if !seen.contains(&row.topology.as_str()) {
                seen.push(&row.topology);
            }
        }
        seen
    };
    // Room left of each panel for its tick labels, and of the first for the caption.
    let (panel_w, panel_h, top, left, gap) = (300.0, 220.0, 84.0, 70.0, 70.0);
    let width = left + topologies.len().max(1) as f64 * (panel_w + gap) - gap + 20.0;
    let height = top + panel_h + 70.0;
    let mut svg = chart::document(width, height, 12);
    chart::title(
        &mut svg,
        20.0,
        28.0,
        &format!(
            "Scale-out on a swarm: requests/s against replicas (nginx in front, ?delay={})",
            DELAY.as_secs_f64()
        ),
    );
    let mut entries = vec![Entry::new(
        Swatch::Ceiling,
        "Little's-law ceiling: replicas x per-task cap / delay",
    )];
    entries.extend(topologies.iter().map(|topology| {
        Entry::new(
            Swatch::Bar(topology_color(topology)),
            format!("measured, {topology}"),
        )
    }));
    legend(&mut svg, 20.0, 54.0, width - 20.0, &entries);
    for (index, topology) in topologies.iter().enumerate() {
        let rows: Vec<&ScaleRow> = run
            .scale_out
            .iter()
            .filter(|row| row.topology == *topology)
            .collect();
        let plot = Plot {
            left: left + index as f64 * (panel_w + gap),
            top,
            right: left + index as f64 * (panel_w + gap) + panel_w,
            bottom: top + panel_h,
        };
        let max = rows
            .iter()
            .map(|row| row.ceiling_rps.max(row.requests_per_second))
            .fold(0.0_f64, f64::max);
        let y = LinearAxis::from_zero(max, 4, plot.bottom, plot.top);
        let caption = if index == 0 { "requests/s" } else { "" };
        axis_left(&mut svg, &plot, &y, &y.ticks(), caption);
        let _ = write!(
            svg,
            r#"<text x="{cx}" y="{ty}" text-anchor="middle" fill="{TEXT}">{topology} ({app})</text>
"#,
            cx = (plot.left + plot.right) / 2.0,
            ty = plot.bottom + 40.0,
            topology = esc(topology),
            app = esc(rows.first().map_or("", |row| row.app.as_str())),
        );
        let slot = panel_w / rows.len().max(1) as f64;
        let color = topology_color(topology);
        for (i, row) in rows.iter().enumerate() {
            let cx = plot.left + slot * (i as f64 + 0.5);
            let bar = slot * 0.35;
            let (yc, ym) = (y.map(row.ceiling_rps), y.map(row.requests_per_second));
            let _ = write!(
                svg,
                r#"<rect x="{cl:.1}" y="{yc:.1}" width="{bar:.1}" height="{hc:.1}" fill="{PALE}"/>
<rect x="{cx:.1}" y="{ym:.1}" width="{bar:.1}" height="{hm:.1}" fill="{color}"/>
<text x="{cx:.1}" y="{ly:.1}" text-anchor="middle" fill="{TEXT}">x{replicas}</text>
<text x="{cc:.1}" y="{tc:.1}" text-anchor="middle" font-size="10" fill="{MUTED}">{ceiling}</text>
<text x="{cm:.1}" y="{tm:.1}" text-anchor="middle" font-size="10" fill="{TEXT}">{measured}</text>
"#,
                cl = cx - bar,
                hc = plot.bottom - yc,
                hm = plot.bottom - ym,
                ly = plot.bottom + 16.0,
                replicas = row.replicas,
                cc = cx - bar / 2.0,
                tc = yc - 4.0,
                ceiling = esc(&fmt_rps(row.ceiling_rps)),
                cm = cx + bar / 2.0,
                tm = ym - 4.0,
                measured = esc(&fmt_rps(row.requests_per_second)),
            );
        }
    }
    chart::end(svg)
}

/// `lab swarm bench`: the run on a swarm (a single-node one made for it, and left again,
/// when the engine is in none).
pub struct SwarmExperiment {
    pub options: Options,
}

impl Experiment for SwarmExperiment {
    type Run = Swarm;
    const NAME: &'static str = "swarm";
    const COMMAND: &'static str = "make bench-swarm";

    fn run(&self) -> anyhow::Result<SwarmResults> {
        super::engine_version()?;
        let created = super::ensure_swarm()?;
        if created {
            eprintln!("initialised a single-node swarm for the run (left again at the end)");
        }
        let outcome = run(&self.options, &|line| eprintln!("{line}"));
        let left = if created { super::leave() } else { Ok(()) };
        let run = outcome?;
        left?;
        Ok(run)
    }

    fn table(results: &SwarmResults) -> String {
        format!(
            "## Throughput against replicas\n\n{}\n## Faults under load\n\n{}",
            scale_table(results),
            fault_table(results)
        )
    }

    /// The whole page: where it ran, then both tables.
    fn report(results: &SwarmResults) -> String {
        page(results)
    }

    /// `swarm.md` and the chart it shows, `swarm.svg`.
    fn pages(results: &SwarmResults, name: &str) -> Vec<(String, String)> {
        vec![
            (format!("{name}.md"), page(results)),
            (format!("{name}.svg"), chart(results)),
        ]
    }

    /// A row that could not be measured, and a fault that cost more than its bound.
    fn unmet(results: &SwarmResults) -> Vec<String> {
        let scale = results.scale_out.iter().filter_map(|row| {
            row.error
                .as_ref()
                .map(|error| format!("{} at {} replica(s): {error}", row.topology, row.replicas))
        });
        let faults = results.faults.iter().filter(|row| !row.ok).map(|row| {
            format!(
                "{} on {}: {} errors (bound {}){}",
                row.fault,
                row.topology,
                row.errors(),
                row.allowed_errors,
                row.error
                    .as_ref()
                    .map(|error| format!(", {error}"))
                    .unwrap_or_default()
            )
        });
        scale.chain(faults).collect()
    }
}

/// `swarm.md`: the provenance line, the chart, and both tables.
fn page(run: &SwarmResults) -> String {
    format!(
        "# Scale-out on a swarm\n\n{}\n![requests/s against replicas](swarm.svg)\n\n{}",
        run_line(run),
        SwarmExperiment::table(run)
    )
}

/// The generated blocks of docs/11-swarm.md.
pub const BLOCKS: &[&str] = &["swarm-run", "swarm-table", "swarm-faults"];

/// Reads `results/swarm.json` if there is one.
pub fn read(results_dir: &Path) -> anyhow::Result<Option<SwarmResults>> {
    let path = results_dir.join("swarm.json");
    if path.exists() {
        results::read_json(&path, "a swarm result").map(Some)
    } else {
        Ok(None)
    }
}

/// The contents of one of [`BLOCKS`]; `None` when `name` is not one of them.
pub fn render_block(name: &str, run: Option<&SwarmResults>) -> Option<String> {
    if !BLOCKS.contains(&name) {
        return None;
    }
    let Some(run) = run else {
        return Some(
            "Not measured yet: `make bench-swarm` writes results/swarm.json.\n".to_owned(),
        );
    };
    Some(match name {
        "swarm-run" => run_line(run),
        "swarm-table" => scale_table(run),
        _ => fault_table(run),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_loads_exceed_the_ceiling() {
        for replicas in [1, 2, 4] {
            let (n, c) = scale_load(Topology::Devserver, replicas, 10);
            assert_eq!((n, c), (u64::from(10 * replicas), 2 * replicas));
            let (_, c) = scale_load(Topology::SyncWorkers, replicas, 10);
            assert!(f64::from(c) > Topology::SyncWorkers.ceiling_rps(replicas, c, DELAY));
        }
    }

    #[test]
    fn a_row_that_could_not_run_or_a_fault_over_its_bound_fails_the_run() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../results/swarm.json"
        ))
        .expect("the committed swarm.json");
        let mut run: SwarmResults = serde_json::from_str(&text).expect("it reads");
        assert!(SwarmExperiment::unmet(&run).is_empty());
        run.scale_out[0].error = Some("deploy timed out".into());
        run.faults[0].ok = false;
        let unmet = SwarmExperiment::unmet(&run);
        assert_eq!(unmet.len(), 2, "{unmet:?}");
        assert!(unmet[0].ends_with(": deploy timed out"), "{unmet:?}");
        assert!(unmet[1].starts_with(&run.faults[0].fault), "{unmet:?}");
        // The page holds the provenance line, the chart and both tables.
        let page = page(&run);
        assert!(page.contains("![requests/s against replicas](swarm.svg)"));
        assert!(page.contains("## Throughput against replicas"));
        assert!(page.contains("## Faults under load"));
    }

    #[test]
    fn rates_come_from_the_timeline() {
        let t0 = Instant::now();
        let samples: Vec<Sample> = (0..=100)
            .map(|i| Sample {
                at: t0 + Duration::from_millis(i * 100),
                done: i * 20,
                errors: 0,
            })
            .collect();
        let rate = rate_between(&samples, t0, 2.0, 6.0);
        assert!((rate - 200.0).abs() < 1e-6, "{rate}");
        assert_eq!(rate_between(&samples, t0, 6.0, 2.0), 0.0);
    }
}
