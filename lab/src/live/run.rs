//! One live run: what was asked ([`RunRequest`], checked), the row it loads, the stream
//! of samples it sends every [`crate::runner::GLANCE_EVERY`], and its end.
//!
//! A run is [`crate::runner::load_and_measure`], the pipeline `make bench` runs, with a
//! [`Watch`] that turns each glance into one [`Sample`]. Every sample is kept, so a
//! browser that opens the stream late (or a second one) sees the run from its start.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use actix_web::web::Bytes;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

use crate::load::Timed;
use crate::results::{self, Row};
use crate::runner::{Glance, Watch};
use crate::scenarios::{self, Bound, Load, Scenario};
use loadgen::ClientRamp;

/// The most clients a run may have: a proxy holds two descriptors per client, and the
/// hard open-files limit of this machine kind is 20,000.
pub const MAX_CLIENTS: u32 = 10_000;
/// The longest run, seconds.
pub const MAX_SECONDS: f64 = 600.0;
/// The longest delay the slow API serves, seconds (its `MAX_DELAY`).
pub const MAX_DELAY: f64 = 60.0;

/// `POST /api/runs`: what to run.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    /// A scenario id of the table (`GET /api/scenarios`).
    pub scenario: String,
    /// Clients, each with one request in flight at a time (1 to 10,000).
    pub clients: u32,
    /// The slow API's delay, seconds (above 0, at most 60).
    pub delay: f64,
    /// How long the load lasts, seconds (1 to 600).
    pub seconds: f64,
    /// Ramp the clients up over this many seconds instead of starting them all at once
    /// (0 to `seconds`; absent or 0: all at once): loadgen's `--ramp`.
    #[serde(default)]
    pub ramp_seconds: Option<f64>,
    /// With `ramp_seconds`: the clients that start at once (0 to `clients - 1`; absent:
    /// 0); the others are added evenly until all run.
    #[serde(default)]
    pub ramp_from: Option<u32>,
    /// Another scenario id, loaded side by side with the same load at the same time
    /// (the two share the machine's cores).
    #[serde(default)]
    pub beside: Option<String>,
}

impl RunRequest {
    /// The rows this request loads, one or two side by side: each scenario's topology
    /// with these clients and this delay; or why it cannot run (one line).
    pub fn check(&self) -> Result<Vec<Scenario>, String> {
        let find = |id: &str| {
            scenarios::by_id(id)
                .ok_or_else(|| format!("unknown scenario {id:?}; known: {}", scenarios::ids()))
        };
        let mut bases = vec![find(&self.scenario)?];
        if let Some(beside) = &self.beside {
            if *beside == self.scenario {
                return Err(format!(
                    "beside must be another scenario than {:?}",
                    self.scenario
                ));
            }
            bases.push(find(beside)?);
        }
        if !(1..=MAX_CLIENTS).contains(&self.clients) {
            return Err(format!(
                "clients must be from 1 to {MAX_CLIENTS}, not {}",
                self.clients
            ));
        }
        if !(self.delay.is_finite() && self.delay > 0.0 && self.delay <= MAX_DELAY) {
            return Err(format!(
                "delay must be above 0 and at most {MAX_DELAY} seconds (what the slow API serves), not {}",
                self.delay
            ));
        }
        if !(self.seconds.is_finite() && (1.0..=MAX_SECONDS).contains(&self.seconds)) {
            return Err(format!(
                "seconds must be from 1 to {MAX_SECONDS}, not {}",
                self.seconds
            ));
        }
        if let Some(ramp) = self.ramp_seconds {
            if !(ramp.is_finite() && ramp >= 0.0 && ramp <= self.seconds) {
                return Err(format!(
                    "ramp_seconds must be from 0 to seconds ({}), not {ramp}",
                    self.seconds
                ));
            }
        }
        if let Some(from) = self.ramp_from {
            if from >= self.clients {
                return Err(format!(
                    "ramp_from must be fewer than the clients ({}), not {from}",
                    self.clients
                ));
            }
        }
        let expected = f64::from(self.clients) / self.delay * self.seconds;
        Ok(bases
            .into_iter()
            .map(|base| Scenario {
                load: Load {
                    requests: expected.ceil() as u64,
                    concurrency: self.clients,
                    // Checked above: finite, above 0, at most a minute.
                    delay: Duration::from_secs_f64(self.delay),
                    keep_alive: base.load.keep_alive,
                },
                ..*base
            })
            .collect())
    }

    /// How long the load lasts and how its clients start.
    pub fn timed(&self) -> Timed {
        Timed {
            duration: Duration::from_secs_f64(self.seconds),
            ramp: self
                .ramp_seconds
                .filter(|ramp| *ramp > 0.0)
                .map(|ramp| ClientRamp {
                    from: self.ramp_from.unwrap_or(0) as usize,
                    over: Duration::from_secs_f64(ramp),
                }),
        }
    }
}

/// What a topology's ceiling depends on, for `GET /api/scenarios` and the page's lines.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScenarioInfo {
    pub id: &'static str,
    pub topology: &'static str,
    pub article_analogue: &'static str,
    /// The requests it holds in flight at most (`null`: no cap below the load).
    pub capacity: Option<u32>,
    /// A stage every request passes through `fraction` of the delay, `capacity` at a
    /// time (the blocked loop's database half, the pool), if any.
    pub stage: Option<Stage>,
    /// The table's load.
    pub clients: u32,
    pub delay: f64,
    pub keep_alive: bool,
    /// Little's law at the table's load, requests/s.
    pub ceiling_rps: f64,
    /// Needs nginx or PostgreSQL.
    pub needs: Vec<&'static str>,
}

/// A stage of [`Bound::Stage`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Stage {
    pub capacity: u32,
    pub fraction: f64,
}

impl ScenarioInfo {
    pub fn of(scenario: &Scenario) -> ScenarioInfo {
        let (capacity, stage) = match scenario.bound {
            Bound::InFlight { capacity } => (capacity, None),
            Bound::Stage { capacity, fraction } => (None, Some(Stage { capacity, fraction })),
        };
        let mut needs = Vec::new();
        if scenario.front.is_nginx() {
            needs.push("nginx");
        }
        if scenario.app.needs_postgres() {
            needs.push("postgresql");
        }
        ScenarioInfo {
            id: scenario.id,
            topology: scenario.topology,
            article_analogue: scenario.article_analogue,
            capacity,
            stage,
            clients: scenario.load.concurrency,
            delay: scenario.load.delay.as_secs_f64(),
            keep_alive: scenario.load.keep_alive,
            ceiling_rps: scenario.ceiling_rps(),
            needs,
        }
    }
}

/// One sample of a run, every [`crate::runner::GLANCE_EVERY`]: a `data:` event of the
/// stream.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sample {
    /// The scenario it is of (a run has one, or two side by side).
    pub scenario: &'static str,
    /// Seconds since the load started.
    pub t_s: f64,
    /// Requests the clients have sent and not yet got back.
    pub clients_in_flight: u64,
    /// What the app says it holds (`http_requests_in_flight` of its `/metrics`).
    pub server_in_flight: Option<f64>,
    /// Requests answered so far (any status).
    pub completed: u64,
    /// Failed requests and non-2xx answers so far.
    pub errors: u64,
    pub errors_by_kind: ErrorsByKind,
    /// Answers per second over the last second.
    pub requests_per_second: f64,
    /// Latency percentiles of the answers of the last interval, milliseconds (`null`:
    /// none came back).
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// Little's law for this load, requests/s.
    pub ceiling: f64,
    /// The machine's cores over the CPU everything spent per answer so far (`null`:
    /// too few clock ticks yet).
    pub cpu_ceiling: Option<f64>,
    /// The app's process tree: threads, resident memory, and its CPU over the last
    /// interval (100 = one core).
    pub threads: u64,
    pub rss_mb: f64,
    pub cpu_percent: f64,
}

/// Errors so far, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct ErrorsByKind {
    pub connect: u64,
    pub receive: u64,
    pub timeout: u64,
    pub exception: u64,
    pub non_2xx: u64,
}

/// Where the run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Running,
    Finished,
}

/// The glances of the last [`RATE_WINDOW_S`], for the figures over it.
#[derive(Debug, Default)]
struct Previous {
    /// `(t_s, [answers so far, the app's CPU ticks so far])` of each glance.
    window: std::collections::VecDeque<(f64, [u64; 2])>,
}

/// Answers per second and the app's CPU are counted over the last second: a closed
/// loop's clients come back in waves one delay apart, and the kernel counts CPU time in
/// 10 ms ticks, which a tenth of a second would show as bursts and gaps.
const RATE_WINDOW_S: f64 = 1.0;

/// What the stream has sent, and who listens.
#[derive(Default)]
struct Stream {
    /// Every event so far, as sent (`data: ...\n\n`).
    events: Vec<Bytes>,
    listeners: Vec<UnboundedSender<Bytes>>,
    /// Set with the summary: no more events.
    closed: bool,
}

/// A run: one lane per scenario, loaded at the same time.
pub struct Run {
    pub id: u64,
    pub request: RunRequest,
    /// The lanes' rows of the table, shaped to the request's load.
    pub scenarios: Vec<Scenario>,
    stream: Mutex<Stream>,
    /// Per lane.
    previous: Vec<Mutex<Previous>>,
    stop: AtomicBool,
    /// The lanes' rows, once the run is over.
    rows: Mutex<Option<Vec<Row>>>,
}

impl Run {
    pub fn new(id: u64, request: RunRequest, scenarios: Vec<Scenario>) -> Run {
        let lanes = scenarios.len();
        let run = Run {
            id,
            request,
            scenarios,
            stream: Mutex::new(Stream::default()),
            previous: (0..lanes).map(|_| Mutex::default()).collect(),
            stop: AtomicBool::new(false),
            rows: Mutex::new(None),
        };
        let infos: Vec<ScenarioInfo> = run.scenarios.iter().map(ScenarioInfo::of).collect();
        let ceilings: Vec<f64> = run.scenarios.iter().map(Scenario::ceiling_rps).collect();
        let start = serde_json::json!({
            "id": id,
            "request": run.request,
            "scenario": infos.first(),
            "ceiling": ceilings.first(),
            "scenarios": infos,
            "ceilings": ceilings,
        });
        run.send(frame(Some("start"), &start));
        run
    }

    /// Asks the loads to end now (the requests in flight finish).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    pub fn state(&self) -> State {
        if self.lock_stream().closed {
            State::Finished
        } else {
            State::Running
        }
    }

    /// The lanes' rows, once the run is over.
    pub fn rows(&self) -> Option<Vec<Row>> {
        self.rows
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Every event so far, then each new one until the summary: one listener.
    pub fn listen(&self) -> UnboundedReceiver<Bytes> {
        let (sender, receiver) = unbounded_channel();
        let mut stream = self.lock_stream();
        for event in &stream.events {
            let _ = sender.send(event.clone());
        }
        // After the summary the channel closes with the sender dropped here.
        if !stream.closed {
            stream.listeners.push(sender);
        }
        receiver
    }

    /// Ends the stream with `event: summary`, whose data is the row (side by side, the
    /// lanes' rows, in order).
    pub fn finish(&self, rows: Vec<Row>) {
        let summary = match rows.as_slice() {
            [row] => frame(Some("summary"), row),
            rows => frame(Some("summary"), &rows),
        };
        *self.rows.lock().unwrap_or_else(PoisonError::into_inner) = Some(rows);
        self.send(summary);
        let mut stream = self.lock_stream();
        stream.closed = true;
        stream.listeners.clear();
    }

    fn send(&self, event: Bytes) {
        let mut stream = self.lock_stream();
        if stream.closed {
            return;
        }
        stream
            .listeners
            .retain(|listener| listener.send(event.clone()).is_ok());
        stream.events.push(event);
    }

    fn lock_stream(&self) -> std::sync::MutexGuard<'_, Stream> {
        self.stream.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The sample a glance at lane `lane` makes, against its glances before.
    fn sample(&self, lane: usize, glance: &Glance<'_>) -> Option<Sample> {
        let scenario = self.scenarios.get(lane)?;
        let progress = glance.progress;
        let failures = progress.failures();
        let completed = progress.done().saturating_sub(progress.failed());
        let latencies = progress.take_latencies();
        let percentile = |q: f64| {
            latencies
                .as_ref()
                .filter(|histogram| !histogram.is_empty())
                .map(|histogram| histogram.value_at_quantile(q) as f64 / 1000.0)
        };
        let [requests_per_second, ticks_per_second] = {
            let mut previous = self
                .previous
                .get(lane)?
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            rates_over_window(
                &mut previous.window,
                glance.t_s,
                [completed, glance.app.cpu_ticks],
            )
        };
        // A tick is 10 ms: 100 ticks a second is one core.
        let cpu_percent = kit::procfs::ticks_to_ms(ticks_per_second.round() as u64) / 10.0;
        let ceiling = scenario.ceiling_rps();
        let answered = progress.done();
        let cpu_ceiling = (answered > 0 && glance.all_cpu_ticks > 0).then(|| {
            let per_request = kit::procfs::ms_per_request(glance.all_cpu_ticks, answered);
            results::CpuCeiling::new(per_request, ceiling).cpu_ceiling_rps
        });
        Some(Sample {
            scenario: scenario.id,
            t_s: glance.t_s,
            clients_in_flight: progress.in_flight(),
            server_in_flight: glance.server.map(|server| server.in_flight),
            completed,
            errors: failures.total() + progress.non_2xx(),
            errors_by_kind: ErrorsByKind {
                connect: failures.connect,
                receive: failures.receive,
                timeout: failures.timeout,
                exception: failures.exceptions,
                non_2xx: progress.non_2xx(),
            },
            requests_per_second,
            p50_ms: percentile(0.5),
            p99_ms: percentile(0.99),
            ceiling,
            cpu_ceiling: cpu_ceiling.flatten(),
            threads: glance.app.threads,
            rss_mb: glance.app.rss_bytes as f64 / 1024.0 / 1024.0,
            cpu_percent,
        })
    }
}

/// One lane of a run: what watches its load.
pub struct Lane {
    pub run: Arc<Run>,
    pub index: usize,
}

impl Watch for Lane {
    fn glance(&self, glance: &Glance<'_>) {
        if self.run.stop.load(Ordering::Relaxed) {
            glance.progress.stop();
        }
        if let Some(sample) = self.run.sample(self.index, glance) {
            self.run.send(frame(None, &sample));
        }
    }
}

/// Each counter's rate per second over the last [`RATE_WINDOW_S`] (or since the start,
/// before it), with `(t_s, counters)` added to the window.
fn rates_over_window<const N: usize>(
    window: &mut std::collections::VecDeque<(f64, [u64; N])>,
    t_s: f64,
    counters: [u64; N],
) -> [f64; N] {
    while window
        .front()
        .is_some_and(|(then, _)| t_s - then > RATE_WINDOW_S + 1e-9)
    {
        window.pop_front();
    }
    let (then, before) = window.front().copied().unwrap_or((0.0, [0; N]));
    window.push_back((t_s, counters));
    let seconds = (t_s - then).max(1e-3);
    std::array::from_fn(|i| counters[i].saturating_sub(before[i]) as f64 / seconds)
}

/// One Server-Sent Event: `event: NAME` (if any) and `data: JSON`.
fn frame(event: Option<&str>, data: &impl Serialize) -> Bytes {
    let json = serde_json::to_string(data).unwrap_or_else(|err| {
        serde_json::json!({ "error": format!("cannot encode: {err}") }).to_string()
    });
    let mut text = String::new();
    if let Some(event) = event {
        text.push_str("event: ");
        text.push_str(event);
        text.push('\n');
    }
    text.push_str("data: ");
    text.push_str(&json);
    text.push_str("\n\n");
    Bytes::from(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(scenario: &str, clients: u32, delay: f64, seconds: f64) -> RunRequest {
        RunRequest {
            scenario: scenario.into(),
            clients,
            delay,
            seconds,
            ramp_seconds: None,
            ramp_from: None,
            beside: None,
        }
    }

    #[test]
    fn a_request_becomes_its_rows_topology_at_its_load() {
        let lanes = request("sync-workers", 1000, 0.5, 10.0)
            .check()
            .expect("valid");
        let [row] = lanes.as_slice() else {
            panic!("one lane: {lanes:?}")
        };
        assert_eq!(row.topology, "app_sync 4 workers x 50 threads");
        assert_eq!(row.load.concurrency, 1000);
        // The thread cap: 200 in flight, half a second each.
        assert!((row.ceiling_rps() - 400.0).abs() < 1e-9);
        assert_eq!(row.load.requests, 20_000);
    }

    #[test]
    fn bad_requests_say_why_in_one_line() {
        for (bad, says) in [
            (request("nope", 10, 1.0, 5.0), "unknown scenario"),
            (request("async", 0, 1.0, 5.0), "clients"),
            (request("async", 10_001, 1.0, 5.0), "clients"),
            (request("async", 10, 0.0, 5.0), "delay"),
            (request("async", 10, 61.0, 5.0), "delay"),
            (request("async", 10, f64::NAN, 5.0), "delay"),
            (request("async", 10, 1.0, 0.5), "seconds"),
            (request("async", 10, 1.0, 601.0), "seconds"),
            (
                RunRequest {
                    ramp_seconds: Some(6.0),
                    ..request("async", 10, 1.0, 5.0)
                },
                "ramp_seconds",
            ),
            (
                RunRequest {
                    ramp_seconds: Some(2.0),
                    ramp_from: Some(10),
                    ..request("async", 10, 1.0, 5.0)
                },
                "ramp_from",
            ),
            (
                RunRequest {
                    beside: Some("nope".into()),
                    ..request("async", 10, 1.0, 5.0)
                },
                "unknown scenario",
            ),
            (
                RunRequest {
                    beside: Some("async".into()),
                    ..request("async", 10, 1.0, 5.0)
                },
                "beside",
            ),
        ] {
            let reason = bad.check().expect_err("refused");
            assert!(reason.contains(says), "{reason}");
            assert!(!reason.contains('\n'), "{reason}");
        }
    }

    #[test]
    fn two_lanes_side_by_side_share_the_load() {
        let lanes = RunRequest {
            beside: Some("sync-workers".into()),
            ..request("async", 1000, 1.0, 5.0)
        }
        .check()
        .expect("valid");
        let ids: Vec<&str> = lanes.iter().map(|lane| lane.id).collect();
        assert_eq!(ids, ["async", "sync-workers"]);
        assert!(lanes.iter().all(|lane| lane.load.concurrency == 1000));
        let ceilings: Vec<f64> = lanes.iter().map(Scenario::ceiling_rps).collect();
        assert_eq!(ceilings, [1000.0, 200.0]);
    }

    #[test]
    fn a_ramp_is_loadgens_client_ramp() {
        let ramped = RunRequest {
            ramp_seconds: Some(4.0),
            ramp_from: Some(10),
            ..request("sync-workers", 1000, 1.0, 10.0)
        };
        assert_eq!(
            ramped.timed().ramp,
            Some(ClientRamp {
                from: 10,
                over: Duration::from_secs(4)
            })
        );
        assert_eq!(request("async", 10, 1.0, 5.0).timed().ramp, None);
    }

    #[test]
    fn a_late_listener_gets_every_event_and_the_stream_ends_with_the_summary() {
        let lanes = request("async", 10, 1.0, 5.0).check().expect("valid");
        let run = Run::new(7, request("async", 10, 1.0, 5.0), lanes.clone());
        let mut early = run.listen();
        run.send(frame(None, &serde_json::json!({ "t_s": 0.1 })));
        run.finish(vec![Row::new(&lanes[0])]);
        let mut late = run.listen();
        for listener in [&mut early, &mut late] {
            let mut events = Vec::new();
            while let Ok(event) = listener.try_recv() {
                events.push(String::from_utf8_lossy(&event).into_owned());
            }
            assert_eq!(events.len(), 3, "{events:?}");
            assert!(events[0].starts_with("event: start\ndata: {"));
            assert!(events[1].starts_with("data: {\"t_s\":0.1}"));
            assert!(events[2].starts_with("event: summary\ndata: {\"id\":\"async\""));
            assert!(listener.try_recv().is_err(), "closed after the summary");
        }
        assert_eq!(run.state(), State::Finished);
        assert_eq!(run.rows().map(|rows| rows.len()), Some(1));
    }

    #[test]
    fn side_by_side_the_summary_holds_both_rows() {
        let two = RunRequest {
            beside: Some("sync-workers".into()),
            ..request("async", 10, 1.0, 5.0)
        };
        let lanes = two.check().expect("valid");
        let run = Run::new(8, two, lanes.clone());
        assert_eq!(run.state(), State::Running);
        assert!(run.rows().is_none());
        run.finish(lanes.iter().map(Row::new).collect());
        assert_eq!(run.state(), State::Finished);
        let mut listener = run.listen();
        let mut last = String::new();
        while let Ok(event) = listener.try_recv() {
            last = String::from_utf8_lossy(&event).into_owned();
        }
        assert!(
            last.starts_with("event: summary\ndata: [{\"id\":\"async\""),
            "{last}"
        );
        assert!(last.contains("\"id\":\"sync-workers\""), "{last}");
    }

    #[test]
    fn answers_per_second_are_counted_over_the_last_second() {
        let mut window = std::collections::VecDeque::new();
        // 100 answers every 0.1 s from the start: 1,000 per second all along.
        for step in 1..=30_u32 {
            let t = f64::from(step) / 10.0;
            let [rate] = rates_over_window(&mut window, t, [u64::from(step) * 100]);
            assert!((rate - 1000.0).abs() < 1e-6, "{t}: {rate}");
        }
        // A wave: 1,000 answers at once, then none for a second.
        let mut window = std::collections::VecDeque::new();
        assert_eq!(rates_over_window(&mut window, 0.1, [1000]), [10_000.0]);
        for step in 2..=10_u32 {
            rates_over_window(&mut window, f64::from(step) / 10.0, [1000]);
        }
        assert_eq!(rates_over_window(&mut window, 1.1, [1000]), [0.0]);
    }

    #[test]
    fn scenario_info_names_what_the_ceiling_depends_on() {
        let info = ScenarioInfo::of(scenarios::by_id("pg-async-c1000").expect("row"));
        assert_eq!(info.capacity, None);
        assert_eq!(
            info.stage,
            Some(Stage {
                capacity: 16,
                fraction: 0.5
            })
        );
        assert_eq!(info.needs, vec!["postgresql"]);
        let nginx = ScenarioInfo::of(scenarios::by_id("nginx-sync").expect("row"));
        assert_eq!(nginx.capacity, Some(200));
        assert_eq!(nginx.needs, vec!["nginx"]);
    }
}
