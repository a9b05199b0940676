//! `GET /metrics`: what every service counts, and the Prometheus text it is exposed as.
//!
//! The names are a contract (docs/reference.md#metrics; the lab's scraper reads them):
//!
//! | metric | type | what |
//! |---|---|---|
//! | `http_requests_in_flight` | gauge | requests being served now (not `/metrics`, `/healthz`) |
//! | `http_requests_total{code}` | counter | completed requests by status code |
//! | `http_request_duration_seconds` | histogram | time from the request read to its answer |
//! | `upstream_requests_in_flight` | gauge | calls to the slow API in flight |
//! | `upstream_request_duration_seconds` | histogram | time of each call to the slow API |
//! | `db_queries_in_flight` | gauge | app_pg: database queries in flight |
//! | `db_query_duration_seconds` | histogram | app_pg: time of each database query |
//! | `process_cpu_seconds_total` | counter | user and system CPU time of the service's processes |
//! | `process_resident_memory_bytes` | gauge | their resident memory |
//! | `process_threads` | gauge | their threads |
//!
//! (the four `upstream_`/`db_` ones for the [`Dependency`]s a service has), plus whatever
//! gauges a service adds at scrape time ([`Metrics::with_gauges`]: app_pg's pool). The
//! `process_*` three, Prometheus's usual names, describe the service's process and its
//! children (app_sync's master and workers), read from `/proc` at each scrape
//! ([`crate::procfs::own_usage`]): what a live view in a container reads instead of the
//! host's `/proc`.
//!
//! # One set of counters, in memory any process can map
//!
//! The numbers are plain atomics in one `#[repr(C)]` block ([`Counters`]), mapped with
//! `mmap`: private to the process ([`Metrics::new`]) or, for app_sync's prefork
//! workers, in a `memfd` the master creates ([`Metrics::shared`]) and each worker maps
//! ([`Metrics::attach`]), so every process adds to the same numbers and whichever one
//! is scraped, a worker on the main port or the master on `METRICS_PORT`, exposes the
//! sum over all of them. A request costs a handful of relaxed atomic additions and no
//! lock. The gauges of requests in flight are kept per worker slot, so that when a
//! worker dies mid-request the master can zero its slot ([`Metrics::reset_slot`]) and
//! the gauge does not keep requests that no longer exist.
//!
//! The exposition itself is the `prometheus-client` crate's: a scrape takes a
//! [`Snapshot`] of the atomics and encodes it through a custom
//! [`Collector`] in the Prometheus text format, version 0.0.4 ([`CONTENT_TYPE`]).
//!
//! [`serve`] answers `GET /metrics` and `GET /healthz` over plain HTTP on a listener of
//! its own (`METRICS_PORT`), on one thread, for the services whose main port speaks
//! uwsgi and for app_sync's master; [`parse`] reads the text back (for tests, and for
//! anyone who scrapes without Prometheus).
//!
//! One file per job: `shared.rs` (the counters in memory any process can map), this one
//! (the handle services count with), `collector.rs` (a scrape's snapshot, encoded),
//! `middleware.rs` (actix-web's middleware and handler), `listener.rs` (the
//! `METRICS_PORT` listener) and `parse.rs` (the text read back).

mod collector;
mod listener;
#[cfg(feature = "actix")]
mod middleware;
pub mod parse;
mod shared;

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

pub use collector::{CallsSnapshot, ProcessSnapshot, Snapshot};
pub use listener::{listen, serve, MetricsServer, ACCEPT_TICK};
#[cfg(feature = "actix")]
pub use middleware::{handler, track};
use shared::{Counters, Region, REGION_LEN, STATUS_CODES};

/// Upper bounds of every duration histogram's buckets: 1 ms to 60 s.
pub const BUCKETS: [f64; 15] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// The `Content-Type` of `GET /metrics`: Prometheus text format 0.0.4.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Worker slots for the in-flight gauges. Processes past this many share slots (and a
/// restart then resets none: [`Metrics::reset_slot`]).
pub const MAX_SLOTS: usize = 1024;

/// Paths that are not counted: the scrape itself and the health probe.
pub fn is_exempt(path: &str) -> bool {
    path == "/metrics" || path == "/healthz"
}

/// What a service waits on besides its own work: each has a gauge of calls in flight
/// and a histogram of their durations, named for what they count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dependency {
    /// The slow API (`upstream_requests_in_flight`, `upstream_request_duration_seconds`).
    Upstream,
    /// app_pg's database (`db_queries_in_flight`, `db_query_duration_seconds`).
    Database,
}

const DEPENDENCIES: usize = 2;

impl Dependency {
    fn index(self) -> usize {
        match self {
            Dependency::Upstream => 0,
            Dependency::Database => 1,
        }
    }

    /// The gauge's name and help, then the histogram's (without `_seconds`'s suffixes).
    fn names(self) -> [&'static str; 4] {
        match self {
            Dependency::Upstream => [
                "upstream_requests_in_flight",
                "Calls to the slow upstream API in flight.",
                "upstream_request_duration_seconds",
                "Time of each call to the slow upstream API, answered or failed, in seconds.",
            ],
            Dependency::Database => [
                "db_queries_in_flight",
                "Database queries (SELECT NOW(), pg_sleep) in flight, waiting for a connection or running.",
                "db_query_duration_seconds",
                "Time of each database query, from asking the pool for a connection to the answer, in seconds.",
            ],
        }
    }
}

/// The proxies (app_sync, app_async): the slow API only.
pub const UPSTREAM_CALLS: &[Dependency] = &[Dependency::Upstream];
/// app_pg: the slow API, then the database.
pub const UPSTREAM_AND_DATABASE: &[Dependency] = &[Dependency::Upstream, Dependency::Database];

/// One gauge a service reads at scrape time (app_pg's pool).
#[derive(Debug, Clone, PartialEq)]
pub struct Gauge {
    pub name: &'static str,
    pub help: &'static str,
    pub value: i64,
}

/// What a service adds at each scrape.
pub type GaugeSource = Arc<dyn Fn() -> Vec<Gauge> + Send + Sync>;

/// A handle on the counters, cheap to clone: one per service, shared by its threads.
#[derive(Clone)]
pub struct Metrics {
    region: Arc<Region>,
    slot: usize,
    /// The dependencies exposed (their gauges and histograms).
    dependencies: &'static [Dependency],
    gauges: Option<GaugeSource>,
    /// The process whose tree the `process_*` metrics describe: the service's own, or,
    /// in a prefork worker, its master's.
    root: i32,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("slot", &self.slot)
            .field("dependencies", &self.dependencies)
            .finish_non_exhaustive()
    }
}

impl Metrics {
    /// Counters for this process alone, exposing the calls to `dependencies` (none for
    /// slow_api).
    pub fn new(dependencies: &'static [Dependency]) -> io::Result<Metrics> {
        Ok(Metrics {
            region: Arc::new(Region::map(None)?),
            slot: 0,
            dependencies,
            gauges: None,
            root: own_pid(),
        })
    }

    /// Counters in a new memfd, for a prefork master: pass the descriptor to the
    /// workers, which [`Metrics::attach`] it. The master's handle uses no slot of its own.
    pub fn shared(dependencies: &'static [Dependency]) -> io::Result<(Metrics, OwnedFd)> {
        // SAFETY: memfd_create takes a NUL-terminated name and flags.
        let raw = unsafe { libc::memfd_create(c"lab-metrics".as_ptr(), libc::MFD_CLOEXEC) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a descriptor we just created and nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let len = libc::off_t::try_from(REGION_LEN).map_err(io::Error::other)?;
        // SAFETY: ftruncate on our own descriptor.
        if unsafe { libc::ftruncate(fd.as_raw_fd(), len) } != 0 {
            return Err(io::Error::last_os_error());
        }
        let region = Region::map(Some(fd.as_raw_fd()))?;
        let metrics = Metrics {
            region: Arc::new(region),
            slot: 0,
            dependencies,
            gauges: None,
            root: own_pid(),
        };
        Ok((metrics, fd))
    }

    /// Maps the counters a master created ([`Metrics::shared`]) from the inherited `fd`,
    /// counting this process's requests in flight in `slot` (its worker index). Its
    /// `process_*` metrics are its master's tree: call it in a worker its master forked.
    pub fn attach(
        dependencies: &'static [Dependency],
        fd: RawFd,
        slot: usize,
    ) -> io::Result<Metrics> {
        // SAFETY: fstat writes into the struct we pass.
        let mut stat: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: as above; a bad descriptor is an error, not undefined behaviour.
        if unsafe { libc::fstat(fd, &mut stat) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // Mapping past a file's end would fault on first use: check it is ours.
        if usize::try_from(stat.st_size).ok() != Some(REGION_LEN) {
            return Err(io::Error::other(format!(
                "descriptor {fd} is not a metrics region ({} bytes, expected {REGION_LEN})",
                stat.st_size
            )));
        }
        // SAFETY: getppid has no preconditions.
        let master = unsafe { libc::getppid() };
        Ok(Metrics {
            region: Arc::new(Region::map(Some(fd))?),
            slot: slot % MAX_SLOTS,
            dependencies,
            gauges: None,
            root: master,
        })
    }

    /// Adds gauges read at every scrape (app_pg's pool); clones made after share them.
    pub fn with_gauges(mut self, source: GaugeSource) -> Metrics {
        self.gauges = Some(source);
        self
    }

    fn counters(&self) -> &Counters {
        self.region.counters()
    }

    /// Starts counting a request to `path`, or `None` for `/metrics` and `/healthz`.
    /// In flight until the returned value is finished or dropped.
    pub fn request(&self, path: &str) -> Option<Tracked> {
        if is_exempt(path) {
            return None;
        }
        self.counters().slots[self.slot]
            .in_flight
            .fetch_add(1, Ordering::Relaxed);
        Some(Tracked {
            region: Arc::clone(&self.region),
            slot: self.slot,
            started: Instant::now(),
        })
    }

    /// Counts a call to `dependency` in flight until the value is dropped;
    /// [`Call::finish`] also records its duration.
    pub fn call(&self, dependency: Dependency) -> Call {
        self.counters().slots[self.slot].calls_in_flight[dependency.index()]
            .fetch_add(1, Ordering::Relaxed);
        Call {
            region: Arc::clone(&self.region),
            slot: self.slot,
            dependency,
            started: Instant::now(),
        }
    }

    /// Zeroes a dead worker's gauges: its requests went with it.
    pub fn reset_slot(&self, slot: usize) {
        if slot < MAX_SLOTS {
            let slot = &self.counters().slots[slot];
            slot.in_flight.store(0, Ordering::Relaxed);
            for calls in &slot.calls_in_flight {
                calls.store(0, Ordering::Relaxed);
            }
        }
    }

    /// The numbers as they are now, summed over every process sharing them.
    pub fn snapshot(&self) -> Snapshot {
        let counters = self.counters();
        let mut in_flight = 0;
        let mut calls_in_flight = [0; DEPENDENCIES];
        for slot in &counters.slots {
            in_flight += slot.in_flight.load(Ordering::Relaxed);
            for (sum, calls) in calls_in_flight.iter_mut().zip(&slot.calls_in_flight) {
                *sum += calls.load(Ordering::Relaxed);
            }
        }
        let by_status = (0..STATUS_CODES)
            .filter_map(|code| {
                let count = counters.by_status[code].load(Ordering::Relaxed);
                Some((u16::try_from(code).ok()?, count)).filter(|_| count > 0)
            })
            .collect();
        let (buckets, sum) = counters.requests.read();
        let calls = self
            .dependencies
            .iter()
            .map(|&dependency| {
                let (buckets, sum) = counters.calls[dependency.index()].read();
                CallsSnapshot {
                    dependency,
                    in_flight: calls_in_flight[dependency.index()],
                    buckets,
                    sum,
                }
            })
            .collect();
        Snapshot {
            in_flight,
            calls,
            by_status,
            buckets,
            sum,
            gauges: self
                .gauges
                .as_ref()
                .map(|source| source())
                .unwrap_or_default(),
            process: ProcessSnapshot::of(self.root),
        }
    }

    /// The Prometheus text exposition of [`Metrics::snapshot`].
    pub fn render(&self) -> String {
        self.snapshot().render()
    }
}

fn own_pid() -> i32 {
    i32::try_from(std::process::id()).unwrap_or(i32::MAX)
}

/// A request being served ([`Metrics::request`]). [`Tracked::finish`] records its status
/// and duration; dropped without it (the client went away), it only leaves the gauge.
pub struct Tracked {
    region: Arc<Region>,
    slot: usize,
    started: Instant,
}

impl Tracked {
    /// Records a completed request answered with `status`.
    pub fn finish(self, status: u16) {
        let counters = self.region.counters();
        let code = usize::from(status).min(STATUS_CODES - 1);
        counters.by_status[code].fetch_add(1, Ordering::Relaxed);
        counters.requests.record(self.started.elapsed());
        // Drop leaves the gauge.
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.region.counters().slots[self.slot]
            .in_flight
            .fetch_sub(1, Ordering::Relaxed);
    }
}

/// A call to a [`Dependency`] in flight ([`Metrics::call`]) until dropped.
/// [`Call::finish`] records its duration; dropped without it (the request was abandoned
/// mid-call), it only leaves the gauge.
pub struct Call {
    region: Arc<Region>,
    slot: usize,
    dependency: Dependency,
    started: Instant,
}

impl Call {
    /// Records the call's duration (whether it answered or failed).
    pub fn finish(self) {
        self.region.counters().calls[self.dependency.index()].record(self.started.elapsed());
        // Drop leaves the gauge.
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        self.region.counters().slots[self.slot].calls_in_flight[self.dependency.index()]
            .fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::parse::parse;
    use super::*;
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};

    #[test]
    fn names_types_and_counts_are_the_contract() {
        let metrics = Metrics::new(UPSTREAM_AND_DATABASE).expect("map");
        for status in [200, 200, 400] {
            metrics.request("/").expect("counted").finish(status);
        }
        assert!(metrics.request("/metrics").is_none());
        assert!(metrics.request("/healthz").is_none());
        let running = metrics.request("/");
        let call = metrics.call(Dependency::Upstream);
        metrics.call(Dependency::Database).finish();
        let text = metrics.render();
        let page = parse(&text).expect(&text);
        assert_eq!(
            page.get("http_requests_total", &[("code", "200")]),
            Some(2.0)
        );
        assert_eq!(
            page.get("http_requests_total", &[("code", "400")]),
            Some(1.0)
        );
        assert_eq!(
            page.get("http_request_duration_seconds_count", &[]),
            Some(3.0)
        );
        assert_eq!(
            page.get("http_request_duration_seconds_bucket", &[("le", "+Inf")]),
            Some(3.0)
        );
        assert_eq!(
            page.get("http_request_duration_seconds_bucket", &[("le", "60")]),
            Some(3.0),
            "{text}"
        );
        assert_eq!(page.get("http_requests_in_flight", &[]), Some(1.0));
        assert_eq!(page.get("upstream_requests_in_flight", &[]), Some(1.0));
        assert_eq!(page.get("db_queries_in_flight", &[]), Some(0.0));
        assert_eq!(page.get("db_query_duration_seconds_count", &[]), Some(1.0));
        assert_eq!(
            page.get("upstream_request_duration_seconds_count", &[]),
            Some(0.0),
            "not finished yet"
        );
        for (name, kind) in [
            ("http_requests_in_flight", "gauge"),
            ("http_requests_total", "counter"),
            ("http_request_duration_seconds", "histogram"),
            ("upstream_requests_in_flight", "gauge"),
            ("upstream_request_duration_seconds", "histogram"),
            ("db_queries_in_flight", "gauge"),
            ("db_query_duration_seconds", "histogram"),
        ] {
            assert_eq!(
                page.types.get(name).map(String::as_str),
                Some(kind),
                "{text}"
            );
        }
        call.finish();
        let abandoned = metrics.call(Dependency::Upstream);
        drop((running, abandoned));
        let page = parse(&metrics.render()).expect("parses");
        assert_eq!(page.get("http_requests_in_flight", &[]), Some(0.0));
        assert_eq!(page.get("upstream_requests_in_flight", &[]), Some(0.0));
        // Finished: in the histogram; abandoned: only out of the gauge.
        assert_eq!(
            page.get("upstream_request_duration_seconds_count", &[]),
            Some(1.0)
        );
        assert_eq!(
            page.get(
                "upstream_request_duration_seconds_bucket",
                &[("le", "+Inf")]
            ),
            Some(1.0)
        );
        // Dropped unfinished: out of the gauge, not in the counts.
        assert_eq!(
            page.get("http_request_duration_seconds_count", &[]),
            Some(3.0)
        );
    }

    #[test]
    fn without_an_upstream_the_gauge_is_left_out_and_extra_gauges_show() {
        let metrics = Metrics::new(&[]).expect("map").with_gauges(Arc::new(|| {
            vec![Gauge {
                name: "db_pool_size",
                help: "Connections.",
                value: 4,
            }]
        }));
        let page = parse(&metrics.render()).expect("parses");
        assert_eq!(page.get("upstream_requests_in_flight", &[]), None);
        assert_eq!(
            page.get("upstream_request_duration_seconds_count", &[]),
            None
        );
        assert_eq!(page.get("db_queries_in_flight", &[]), None);
        assert_eq!(page.get("db_pool_size", &[]), Some(4.0));
        assert_eq!(
            page.get("http_request_duration_seconds_count", &[]),
            Some(0.0)
        );
    }

    #[test]
    fn processes_sharing_a_memfd_add_up_and_a_dead_slot_is_reset() {
        let (master, fd) = Metrics::shared(UPSTREAM_CALLS).expect("memfd");
        let one = Metrics::attach(UPSTREAM_CALLS, fd.as_raw_fd(), 1).expect("attach");
        let two = Metrics::attach(UPSTREAM_CALLS, fd.as_raw_fd(), 2).expect("attach");
        one.request("/").expect("counted").finish(200);
        two.request("/").expect("counted").finish(502);
        let stuck = two.request("/");
        let stuck_call = two.call(Dependency::Upstream);
        one.call(Dependency::Upstream).finish();
        let snapshot = master.snapshot();
        assert_eq!(snapshot.calls[0].in_flight, 1);
        assert_eq!(
            snapshot.calls[0]
                .buckets
                .iter()
                .map(|(_, n)| n)
                .sum::<u64>(),
            1
        );
        assert_eq!(snapshot.by_status, vec![(200, 1), (502, 1)]);
        assert_eq!(snapshot.count(), 2);
        assert_eq!(snapshot.in_flight, 1);
        master.reset_slot(2);
        assert_eq!(master.snapshot().in_flight, 0);
        assert_eq!(master.snapshot().calls[0].in_flight, 0);
        std::mem::forget((stuck, stuck_call));
        assert!(Metrics::attach(&[], 0, 0).is_err());
    }

    #[test]
    fn the_listener_serves_metrics_and_healthz() {
        let metrics = Metrics::new(&[]).expect("map");
        metrics.request("/").expect("counted").finish(200);
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let server = serve(listener, metrics).expect("serve");
        let exchange = |request: &str| {
            let mut stream = TcpStream::connect(server.address).expect("connect");
            stream.write_all(request.as_bytes()).expect("write");
            let mut answer = String::new();
            stream.read_to_string(&mut answer).expect("read");
            answer
        };
        let answer = exchange("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
        assert!(answer.contains(CONTENT_TYPE), "{answer}");
        let body = answer.split_once("\r\n\r\n").expect("a body").1;
        let page = parse(body).expect(body);
        assert_eq!(
            page.get("http_requests_total", &[("code", "200")]),
            Some(1.0)
        );
        assert!(exchange("GET /healthz HTTP/1.0\r\n\r\n").starts_with("HTTP/1.1 200"));
        assert!(exchange("GET /x HTTP/1.0\r\n\r\n").starts_with("HTTP/1.1 404"));
        assert!(exchange("POST /metrics HTTP/1.0\r\n\r\n").starts_with("HTTP/1.1 405"));
    }

    #[test]
    fn the_parser_refuses_what_is_not_the_format() {
        assert!(parse("a{b=\"c\"} 1\n# TYPE a gauge\n").is_ok());
        assert!(
            parse("a{b=\"c\\\"d\"} 1")
                .expect("escapes")
                .get("a", &[("b", "c\"d")])
                == Some(1.0)
        );
        assert!(parse("{b=\"c\"} 1").is_err());
        assert!(parse("a{b=\"c} 1").is_err());
        assert!(parse("a x").is_err());
        assert!(parse("a").is_err());
    }
}
