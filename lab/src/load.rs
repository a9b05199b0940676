//! A load on a running topology: the one place the lab asks loadgen for one.
//!
//! Every experiment says what it sends as a [`Plan`]: a row's load from the table
//! ([`Plan::of`]) or clients for a while ([`Plan::lasting`]), then how it differs
//! (keep-alive, a ramp-up, a finer timeline). It waits for the load
//! ([`Plan::run`]) or starts it in the background ([`Plan::start`]) while it breaks
//! something, then collects the report ([`Running::finish`]). Every load counts socket
//! errors and goes on (ab's `-r`) and gives each request [`REQUEST_TIMEOUT`].
//!
//! ```
//! use lab::load::{Length, Plan};
//! use lab::scenarios::by_id;
//! use std::time::Duration;
//!
//! let row = by_id("async").unwrap();
//! let plan = Plan::of(&row.load, "http://127.0.0.1:3000/?delay=1".into());
//! assert_eq!(plan.length, Length::Requests(2000));
//! let spec = plan.spec();
//! assert_eq!((spec.requests, spec.concurrency), (Some(2000), 200));
//! assert!(spec.continue_on_socket_error);
//!
//! let timed = Plan::lasting(Duration::from_secs(5), 100, Duration::from_millis(500), "http://127.0.0.1:3000/".into())
//!     .keep_alive(true);
//! let spec = timed.spec();
//! assert_eq!((spec.requests, spec.time_limit), (None, Some(Duration::from_secs(5))));
//! // 100 clients, half a second each, for five seconds.
//! assert_eq!(timed.expected_requests(), 1000);
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use loadgen::{ClientRamp, LoadSpec, Progress, Report};

use crate::scenarios::Load;

/// Per-request timeout: ab's default. The longest queue in the table (c=1000 against
/// 200 threads) waits 5 s.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The multi-threaded runtime every experiment's loads run on.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|err| anyhow::anyhow!("cannot start the runtime: {err}"))
}

/// When a load ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Length {
    /// After this many requests (ab's `-n`).
    Requests(u64),
    /// After this long; requests still in flight then are not counted (ab's `-t`).
    Lasting(Duration),
}

/// A load that lasts a while instead of a number of requests (`lab live`'s): how long,
/// and how its clients start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timed {
    pub duration: Duration,
    /// From `from` clients to all of them over `over` (`None`: all at once).
    pub ramp: Option<ClientRamp>,
}

/// What one load sends.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The target, `?delay=` included.
    pub url: String,
    pub length: Length,
    /// Clients, each with one request in flight at a time.
    pub concurrency: u32,
    /// How long the slow API waits (the URL's `?delay=`): what the expected request
    /// count is worked out from.
    pub delay: Duration,
    /// Each client keeps its connection (else one per request, as ab without `-k`).
    pub keep_alive: bool,
    /// Start the clients evenly over this long instead of all at once.
    pub ramp_up: Option<Duration>,
    /// Or: some clients at once, the others added until all run (loadgen's `--ramp`).
    pub ramp: Option<ClientRamp>,
    /// The width of the report's timeline intervals.
    pub timeline_interval: Duration,
}

impl Plan {
    /// A row's load (`-n`, `-c`, `-k` and `?delay=` of the table) against `url`.
    pub fn of(load: &Load, url: String) -> Plan {
        Plan {
            url,
            length: Length::Requests(load.requests),
            concurrency: load.concurrency,
            delay: load.delay,
            keep_alive: load.keep_alive,
            ramp_up: None,
            ramp: None,
            timeline_interval: loadgen::DEFAULT_INTERVAL,
        }
    }

    /// `concurrency` clients for `duration` against `url`, whose `?delay=` is `delay`.
    pub fn lasting(duration: Duration, concurrency: u32, delay: Duration, url: String) -> Plan {
        Plan {
            url,
            length: Length::Lasting(duration),
            concurrency,
            delay,
            keep_alive: false,
            ramp_up: None,
            ramp: None,
            timeline_interval: loadgen::DEFAULT_INTERVAL,
        }
    }

    /// With or without keep-alive.
    pub fn keep_alive(self, keep_alive: bool) -> Plan {
        Plan { keep_alive, ..self }
    }

    /// With the clients started over `ramp_up` (`None`: all at once).
    pub fn ramp_up(self, ramp_up: Option<Duration>) -> Plan {
        Plan { ramp_up, ..self }
    }

    /// With the clients ramped from `ramp.from` to all of them over `ramp.over`
    /// (`None`: all at once).
    pub fn ramp(self, ramp: Option<ClientRamp>) -> Plan {
        Plan { ramp, ..self }
    }

    /// With the report's timeline in intervals of `interval`.
    pub fn timeline(self, interval: Duration) -> Plan {
        Plan {
            timeline_interval: interval,
            ..self
        }
    }

    /// How many requests it sends: its count, or what Little's law lets its clients
    /// finish in its time when nothing caps them.
    pub fn expected_requests(&self) -> u64 {
        match self.length {
            Length::Requests(requests) => requests,
            Length::Lasting(duration) => (f64::from(self.concurrency)
                / self.delay.as_secs_f64().max(1e-3)
                * duration.as_secs_f64())
            .ceil() as u64,
        }
    }

    /// About how many connections it opens, all hops counted (a new client connection
    /// per request without keep-alive, one more to the app where a proxy stands in
    /// front, and the clients' own): what the kernel's connection-tracking table needs
    /// room for.
    pub fn connections(&self) -> u64 {
        let per_request = if self.keep_alive { 1 } else { 2 };
        per_request * self.expected_requests() + 2 * u64::from(self.concurrency)
    }

    /// loadgen's spec for it.
    pub fn spec(&self) -> LoadSpec {
        let (requests, time_limit) = match self.length {
            Length::Requests(requests) => (Some(requests), None),
            Length::Lasting(duration) => (None, Some(duration)),
        };
        LoadSpec {
            requests,
            time_limit,
            concurrency: self.concurrency as usize,
            keep_alive: self.keep_alive,
            ramp_up: self.ramp_up,
            ramp: self.ramp,
            continue_on_socket_error: true,
            timeout: REQUEST_TIMEOUT,
            timeline_interval: self.timeline_interval,
            ..LoadSpec::new(self.url.clone())
        }
    }

    /// Sends it on `runtime` and waits for the report.
    pub fn run(&self, runtime: &tokio::runtime::Runtime) -> anyhow::Result<Report> {
        self.start(runtime).finish(runtime)
    }

    /// Starts it on `runtime` in the background: the caller breaks something meanwhile.
    pub fn start(&self, runtime: &tokio::runtime::Runtime) -> Running {
        self.start_with(runtime, Arc::new(Progress::default()))
    }

    /// [`Plan::start`], counting into `progress` (one that keeps each interval's
    /// latencies, for a live view).
    pub fn start_with(
        &self,
        runtime: &tokio::runtime::Runtime,
        progress: Arc<Progress>,
    ) -> Running {
        let started = Instant::now();
        let task = runtime.spawn(loadgen::run_with_progress(
            self.spec(),
            Arc::clone(&progress),
        ));
        Running {
            started,
            progress,
            task,
        }
    }
}

/// A load under way.
pub struct Running {
    /// When it was started: what its samples (the faults' `samples_of`) count from.
    pub started: Instant,
    /// Its live counters.
    pub progress: Arc<Progress>,
    task: tokio::task::JoinHandle<Result<Report, loadgen::LoadError>>,
}

impl Running {
    /// Sleeps until `into` after its start (pacing a fault inside the load; nothing is
    /// awaited).
    pub fn sleep_until(&self, into: Duration) {
        let at = self.started + into;
        let now = Instant::now();
        if at > now {
            std::thread::sleep(at - now);
        }
    }

    /// Waits for its end: loadgen's report, or why it could not run, in one line
    /// (`cannot run the load: ...`).
    pub fn finish(self, runtime: &tokio::runtime::Runtime) -> anyhow::Result<Report> {
        match runtime.block_on(self.task) {
            Ok(Ok(report)) => Ok(report),
            Ok(Err(err)) => Err(anyhow::anyhow!("cannot run the load: {err}")),
            Err(err) => Err(anyhow::anyhow!("the load's task failed: {err}")),
        }
    }
}

/// The 2xx answers per second of a timed load after `warmup_s`, over the rest of its
/// time. A closed loop's first answers come back one delay after the start, and a time
/// limit cuts off the round in flight at its end: counted over the whole time, a 5 s
/// load at a 1 s delay would show four rounds in five seconds, 80% of a rate it kept
/// all along. (The sweep counts its time-window points the same way.)
pub fn ok_rate_after(report: &Report, warmup_s: f64) -> f64 {
    let totals: Vec<loadgen::Totals> = report
        .timeline
        .iter()
        .flat_map(loadgen::Timeline::running_totals)
        .collect();
    let ok_by = |at: f64| {
        totals
            .iter()
            .take_while(|totals| totals.end_s <= at + 1e-9)
            .last()
            .map_or(0, |totals| totals.ok)
    };
    let ok = report.complete.saturating_sub(report.non_2xx);
    let window = (report.time_taken_s - warmup_s).max(1e-3);
    ok.saturating_sub(ok_by(warmup_s)) as f64 / window
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenarios::by_id;

    #[test]
    fn a_rows_plan_is_its_load() {
        let row = by_id("async-keepalive").expect("row");
        let plan = Plan::of(&row.load, "http://127.0.0.1:1/?delay=1".into());
        let spec = plan.spec();
        assert_eq!(spec.requests, Some(row.load.requests));
        assert_eq!(spec.concurrency, row.load.concurrency as usize);
        assert!(spec.keep_alive);
        assert_eq!(spec.time_limit, None);
        assert_eq!(spec.timeout, REQUEST_TIMEOUT);
        assert_eq!(spec.url, "http://127.0.0.1:1/?delay=1");
    }

    #[test]
    fn connections_count_every_hop() {
        let url = String::from("http://127.0.0.1:1/");
        // 10 requests, each a client connection and an upstream one, and the 5 clients'.
        let load = Load {
            requests: 10,
            concurrency: 5,
            delay: Duration::from_secs(1),
            keep_alive: false,
        };
        assert_eq!(Plan::of(&load, url.clone()).connections(), 30);
        let kept = Plan::of(&load, url.clone()).keep_alive(true);
        assert_eq!(kept.connections(), 20);
        let timed = Plan::lasting(
            Duration::from_millis(1500),
            4,
            Duration::from_millis(500),
            url,
        );
        assert_eq!(timed.expected_requests(), 12);
    }

    #[test]
    fn a_client_ramp_reaches_the_spec() {
        let ramp = ClientRamp {
            from: 10,
            over: Duration::from_secs(3),
        };
        let plan = Plan::lasting(
            Duration::from_secs(5),
            100,
            Duration::from_secs(1),
            "http://127.0.0.1:1/".into(),
        )
        .ramp(Some(ramp));
        assert_eq!(plan.spec().ramp, Some(ramp));
        assert_eq!(plan.spec().ramp_up, None);
    }

    #[test]
    fn modifiers_reach_the_spec() {
        let plan = Plan::lasting(
            Duration::from_secs(2),
            3,
            Duration::from_secs(1),
            "http://127.0.0.1:1/".into(),
        )
        .ramp_up(Some(Duration::from_secs(1)))
        .timeline(Duration::from_millis(5));
        let spec = plan.spec();
        assert_eq!(spec.ramp_up, Some(Duration::from_secs(1)));
        assert_eq!(spec.timeline_interval, Duration::from_millis(5));
        assert!(!spec.keep_alive);
    }

    #[test]
    fn a_refused_target_is_an_error_not_a_panic() {
        let runtime = runtime().expect("runtime");
        // Port 1 on loopback: nothing listens there.
        let plan = Plan::of(
            &Load {
                requests: 2,
                concurrency: 1,
                delay: Duration::from_millis(10),
                keep_alive: false,
            },
            "http://127.0.0.1:1/?delay=0.01".into(),
        );
        let report = plan
            .run(&runtime)
            .expect("socket errors are counted, not fatal");
        assert_eq!(report.complete, 0);
        assert_eq!(report.failed, 2);
    }
}
