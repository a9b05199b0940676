//! `GET /metrics`: what every service counts, and the Prometheus text it is exposed as.
//!
//! The names are a contract (docs/reference.md#metrics; the lab's scraper reads them):
//!
//! | metric | type | what |
//! |---|---|---|
//! | `http_requests_in_flight` | gauge | requests being served now (not `/metrics`, `/healthz`) |
//! | `http_requests_total{code}` | counter | completed requests by status code |
//! | `http_request_duration_seconds` | histogram | time from the request read to its answer |
//! | `upstream_requests_in_flight` | gauge | calls to the slow API in flight (app_pg: database queries) |
//!
//! plus whatever gauges a service adds at scrape time ([`Metrics::with_gauges`]: app_pg's
//! pool).
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

use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

/// Upper bounds of `http_request_duration_seconds`'s buckets: 1 ms to 60 s.
pub const BUCKETS: [f64; 15] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// The `Content-Type` of `GET /metrics`: Prometheus text format 0.0.4.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Worker slots for the in-flight gauges. Processes past this many share slots (and a
/// restart then resets none: [`Metrics::reset_slot`]).
pub const MAX_SLOTS: usize = 1024;

/// Status codes counted one by one (`0..STATUS_CODES`); anything above is counted as 599.
const STATUS_CODES: usize = 600;

/// Paths that are not counted: the scrape itself and the health probe.
pub fn is_exempt(path: &str) -> bool {
    path == "/metrics" || path == "/healthz"
}

/// One worker's gauges.
#[repr(C)]
struct Slot {
    in_flight: AtomicI64,
    upstream_in_flight: AtomicI64,
}

/// Every number, as laid out in the mapped memory. All zeroes is the valid start.
#[repr(C)]
struct Counters {
    by_status: [AtomicU64; STATUS_CODES],
    /// Not cumulative: `buckets[i]` counts requests in `(BUCKETS[i-1], BUCKETS[i]]`, the
    /// last one those over 60 s.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    sum_nanos: AtomicU64,
    slots: [Slot; MAX_SLOTS],
}

const REGION_LEN: usize = std::mem::size_of::<Counters>();

/// The mapping that holds the [`Counters`]; unmapped when the last handle goes.
struct Region {
    counters: NonNull<Counters>,
}

// SAFETY: the region is only ever accessed through atomics.
unsafe impl Send for Region {}
// SAFETY: as above.
unsafe impl Sync for Region {}

impl Region {
    /// Maps `REGION_LEN` bytes: of `fd` (shared with whoever else maps it), or fresh
    /// anonymous zeroed memory.
    fn map(fd: Option<RawFd>) -> io::Result<Region> {
        let (flags, fd) = match fd {
            Some(fd) => (libc::MAP_SHARED, fd),
            None => (libc::MAP_SHARED | libc::MAP_ANONYMOUS, -1),
        };
        // SAFETY: a new mapping at an address the kernel picks; nothing else is touched.
        let address = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                REGION_LEN,
                libc::PROT_READ | libc::PROT_WRITE,
                flags,
                fd,
                0,
            )
        };
        if address == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        // mmap returns page-aligned memory, zero-filled (anonymous, or a memfd that was
        // only ftruncate'd), and all-zero atomics are valid.
        let counters = NonNull::new(address.cast::<Counters>())
            .ok_or_else(|| io::Error::other("mmap returned a null address"))?;
        Ok(Region { counters })
    }

    fn counters(&self) -> &Counters {
        // SAFETY: the mapping lives as long as `self` and is only accessed atomically.
        unsafe { self.counters.as_ref() }
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: unmapping what `map` mapped, once no handle can reach it.
        unsafe { libc::munmap(self.counters.as_ptr().cast(), REGION_LEN) };
    }
}

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
    /// `Some(help)`: expose `upstream_requests_in_flight` with this help text.
    upstream: Option<&'static str>,
    gauges: Option<GaugeSource>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("slot", &self.slot)
            .field("upstream", &self.upstream)
            .finish_non_exhaustive()
    }
}

/// `upstream_requests_in_flight`'s help for the proxies.
pub const UPSTREAM_CALLS: &str = "Calls to the slow upstream API in flight.";
/// `upstream_requests_in_flight`'s help for app_pg, where it counts database queries.
pub const DATABASE_QUERIES: &str = "Database queries (SELECT NOW(), pg_sleep) in flight.";

impl Metrics {
    /// Counters for this process alone. `upstream`: the help text of
    /// `upstream_requests_in_flight`, or `None` to leave it out (slow_api).
    pub fn new(upstream: Option<&'static str>) -> io::Result<Metrics> {
        Ok(Metrics {
            region: Arc::new(Region::map(None)?),
            slot: 0,
            upstream,
            gauges: None,
        })
    }

    /// Counters in a new memfd, for a prefork master: pass the descriptor to the
    /// workers, which [`Metrics::attach`] it. The master's handle uses no slot of its own.
    pub fn shared(upstream: Option<&'static str>) -> io::Result<(Metrics, OwnedFd)> {
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
            upstream,
            gauges: None,
        };
        Ok((metrics, fd))
    }

    /// Maps the counters a master created ([`Metrics::shared`]) from the inherited `fd`,
    /// counting this process's requests in flight in `slot` (its worker index).
    pub fn attach(upstream: Option<&'static str>, fd: RawFd, slot: usize) -> io::Result<Metrics> {
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
        Ok(Metrics {
            region: Arc::new(Region::map(Some(fd))?),
            slot: slot % MAX_SLOTS,
            upstream,
            gauges: None,
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

    /// Counts an upstream call (or app_pg query) in flight until the value is dropped.
    pub fn upstream_call(&self) -> UpstreamCall {
        self.counters().slots[self.slot]
            .upstream_in_flight
            .fetch_add(1, Ordering::Relaxed);
        UpstreamCall {
            region: Arc::clone(&self.region),
            slot: self.slot,
        }
    }

    /// Zeroes a dead worker's gauges: its requests went with it.
    pub fn reset_slot(&self, slot: usize) {
        if slot < MAX_SLOTS {
            let slot = &self.counters().slots[slot];
            slot.in_flight.store(0, Ordering::Relaxed);
            slot.upstream_in_flight.store(0, Ordering::Relaxed);
        }
    }

    /// The numbers as they are now, summed over every process sharing them.
    pub fn snapshot(&self) -> Snapshot {
        let counters = self.counters();
        let (mut in_flight, mut upstream) = (0, 0);
        for slot in &counters.slots {
            in_flight += slot.in_flight.load(Ordering::Relaxed);
            upstream += slot.upstream_in_flight.load(Ordering::Relaxed);
        }
        let by_status = (0..STATUS_CODES)
            .filter_map(|code| {
                let count = counters.by_status[code].load(Ordering::Relaxed);
                Some((u16::try_from(code).ok()?, count)).filter(|_| count > 0)
            })
            .collect();
        let buckets = BUCKETS
            .iter()
            .copied()
            .chain([f64::INFINITY])
            .zip(&counters.buckets)
            .map(|(bound, count)| (bound, count.load(Ordering::Relaxed)))
            .collect();
        let sum = Duration::from_nanos(counters.sum_nanos.load(Ordering::Relaxed)).as_secs_f64();
        Snapshot {
            in_flight,
            upstream: self.upstream.map(|help| (help, upstream)),
            by_status,
            buckets,
            sum,
            gauges: self
                .gauges
                .as_ref()
                .map(|source| source())
                .unwrap_or_default(),
        }
    }

    /// The Prometheus text exposition of [`Metrics::snapshot`].
    pub fn render(&self) -> String {
        self.snapshot().render()
    }
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
        let elapsed = self.started.elapsed();
        let code = usize::from(status).min(STATUS_CODES - 1);
        counters.by_status[code].fetch_add(1, Ordering::Relaxed);
        let seconds = elapsed.as_secs_f64();
        let bucket = BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(BUCKETS.len());
        counters.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        counters.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
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

/// An upstream call in flight ([`Metrics::upstream_call`]) until dropped.
pub struct UpstreamCall {
    region: Arc<Region>,
    slot: usize,
}

impl Drop for UpstreamCall {
    fn drop(&mut self) {
        self.region.counters().slots[self.slot]
            .upstream_in_flight
            .fetch_sub(1, Ordering::Relaxed);
    }
}

/// The numbers of one scrape, encoded by `prometheus-client` as a [`Collector`].
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub in_flight: i64,
    /// The help text and value of `upstream_requests_in_flight`, where exposed.
    pub upstream: Option<(&'static str, i64)>,
    /// `(status code, completed requests)`, codes seen at least once.
    pub by_status: Vec<(u16, u64)>,
    /// `(upper bound, requests)`, not cumulative; the last bound is +Inf.
    pub buckets: Vec<(f64, u64)>,
    /// Seconds, all requests together.
    pub sum: f64,
    pub gauges: Vec<Gauge>,
}

impl Snapshot {
    /// Requests in the histogram: the sum of its buckets.
    pub fn count(&self) -> u64 {
        self.buckets.iter().map(|(_, count)| count).sum()
    }

    /// The Prometheus text exposition (format 0.0.4, [`CONTENT_TYPE`]).
    pub fn render(self) -> String {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(self));
        let mut text = String::new();
        // Writing into a String cannot fail; an encoder error would be a bug in the
        // names above, and an empty page says so to the scraper.
        if prometheus_client::encoding::prometheus_text::encode(&mut text, &registry).is_err() {
            text.clear();
        }
        text
    }
}

impl Collector for Snapshot {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let gauge = |encoder: &mut DescriptorEncoder, name, help, value: i64| {
            let gauge = ConstGauge::new(value);
            let metric = encoder.encode_descriptor(name, help, None, gauge.metric_type())?;
            gauge.encode(metric)
        };
        gauge(
            &mut encoder,
            "http_requests_in_flight",
            "Requests being served now (not /metrics or /healthz).",
            self.in_flight,
        )?;
        // prometheus-client appends `_total` to a counter's name.
        let mut family = encoder.encode_descriptor(
            "http_requests",
            "Completed requests by status code (not /metrics or /healthz).",
            None,
            MetricType::Counter,
        )?;
        for (code, count) in &self.by_status {
            let code = code.to_string();
            let labels = [("code", code.as_str())];
            ConstCounter::new(*count).encode(family.encode_family(&labels)?)?;
        }
        let mut histogram = encoder.encode_descriptor(
            "http_request_duration_seconds",
            "Time from a request read to its answer, in seconds.",
            None,
            MetricType::Histogram,
        )?;
        histogram.encode_histogram::<NoLabelSet>(self.sum, self.count(), &self.buckets, None)?;
        if let Some((help, value)) = self.upstream {
            gauge(&mut encoder, "upstream_requests_in_flight", help, value)?;
        }
        for extra in &self.gauges {
            gauge(&mut encoder, extra.name, extra.help, extra.value)?;
        }
        Ok(())
    }
}

#[cfg(feature = "actix")]
mod actix {
    use super::Metrics;
    use actix_web::dev::{Service, ServiceRequest, ServiceResponse};
    use actix_web::{web, HttpResponse};
    use std::future::Future;

    /// Middleware for `App::wrap_fn`: counts every request but `/metrics` and `/healthz`.
    ///
    /// ```ignore
    /// .wrap_fn(move |request, service| common::metrics::track(&metrics, request, service))
    /// ```
    pub fn track<S, B>(
        metrics: &Metrics,
        request: ServiceRequest,
        service: &S,
    ) -> impl Future<Output = Result<ServiceResponse<B>, actix_web::Error>> + 'static
    where
        S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
        S::Future: 'static,
    {
        let tracked = metrics.request(request.path());
        let response = service.call(request);
        async move {
            let response = response.await;
            if let Some(tracked) = tracked {
                let status = match &response {
                    Ok(response) => response.status(),
                    Err(err) => err.as_response_error().status_code(),
                };
                tracked.finish(status.as_u16());
            }
            response
        }
    }

    /// `GET /metrics` on an actix-web app holding `web::Data<Metrics>`.
    pub async fn handler(metrics: web::Data<Metrics>) -> HttpResponse {
        HttpResponse::Ok()
            .content_type(super::CONTENT_TYPE)
            .body(metrics.render())
    }
}

#[cfg(feature = "actix")]
pub use actix::{handler, track};

/// The `METRICS_PORT` listener: one thread answering `GET /metrics` and `GET /healthz`.
/// Stops (within [`ACCEPT_TICK`]) when dropped.
pub struct MetricsServer {
    pub address: SocketAddr,
    stop: Arc<AtomicBool>,
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// How often the metrics thread looks at its stop flag.
pub const ACCEPT_TICK: Duration = Duration::from_millis(200);

/// How long one scrape's connection may take to send its request or read the answer.
const SCRAPE_IO_TIMEOUT: Duration = Duration::from_secs(2);

/// Binds `host:port` and serves the metrics there ([`serve`]). A bind failure is one
/// line naming the address.
pub fn listen(host: IpAddr, port: u16, metrics: Metrics) -> io::Result<MetricsServer> {
    let listener = TcpListener::bind((host, port)).map_err(|err| {
        io::Error::new(
            err.kind(),
            format!("cannot listen on {host}:{port} (METRICS_PORT): {err}"),
        )
    })?;
    serve(listener, metrics)
}

/// Serves `GET /metrics` and `GET /healthz` on `listener`, on a thread of its own, one
/// connection at a time (a scrape is one small request every few seconds).
pub fn serve(listener: TcpListener, metrics: Metrics) -> io::Result<MetricsServer> {
    let address = listener.local_addr()?;
    let stop = Arc::new(AtomicBool::new(false));
    let stopping = Arc::clone(&stop);
    std::thread::Builder::new()
        .name("metrics".to_owned())
        .spawn(move || {
            while !stopping.load(Ordering::Relaxed) {
                if !readable(&listener, ACCEPT_TICK) {
                    continue;
                }
                match listener.accept() {
                    Ok((stream, _)) => answer(stream, &metrics),
                    Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                    Err(err) => {
                        tracing::debug!("metrics listener: accept failed: {err}");
                        std::thread::sleep(ACCEPT_TICK);
                    }
                }
            }
        })?;
    tracing::info!("metrics on http://{address}/metrics");
    Ok(MetricsServer { address, stop })
}

/// Whether a connection waits on `listener` (poll(2) up to `limit`).
fn readable(listener: &TcpListener, limit: Duration) -> bool {
    let mut fds = libc::pollfd {
        fd: listener.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let millis = libc::c_int::try_from(limit.as_millis()).unwrap_or(libc::c_int::MAX);
    // SAFETY: poll on one pollfd we own, for a bounded time.
    unsafe { libc::poll(&mut fds, 1, millis) > 0 }
}

/// Reads one request head and answers it; the connection then closes.
fn answer(mut stream: TcpStream, metrics: &Metrics) {
    let _ = stream.set_read_timeout(Some(SCRAPE_IO_TIMEOUT));
    let _ = stream.set_write_timeout(Some(SCRAPE_IO_TIMEOUT));
    let mut head = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&chunk[..n]),
        }
        if head.len() > 8 * 1024 {
            break;
        }
    }
    let line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut words = line.split_whitespace();
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let (status, content_type, body) = match (method, path) {
        ("GET" | "HEAD", "/metrics") => ("200 OK", CONTENT_TYPE, metrics.render()),
        ("GET" | "HEAD", "/healthz") => ("200 OK", "text/plain; charset=utf-8", "ok".into()),
        ("GET" | "HEAD", _) => (
            "404 Not Found",
            "text/plain; charset=utf-8",
            "not found: this port serves /metrics and /healthz\n".into(),
        ),
        _ => (
            "405 Method Not Allowed",
            "text/plain; charset=utf-8",
            "method not allowed: use GET\n".into(),
        ),
    };
    let mut response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    if method != "HEAD" {
        response.push_str(&body);
    }
    let _ = stream.write_all(response.as_bytes());
}

/// Reading the text exposition back: a small parser of the Prometheus text format
/// (0.0.4), enough for the lab's tests and scrapers.
pub mod parse {
    use std::collections::HashMap;

    /// One sample line: `name{label="value",...} value`.
    #[derive(Debug, Clone, PartialEq)]
    pub struct Sample {
        pub name: String,
        pub labels: Vec<(String, String)>,
        pub value: f64,
    }

    /// A parsed page: its samples, and each family's `# TYPE`.
    #[derive(Debug, Clone, Default)]
    pub struct Exposition {
        pub samples: Vec<Sample>,
        pub types: HashMap<String, String>,
    }

    impl Exposition {
        /// The value of the sample `name` whose labels include all of `labels`.
        pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
            self.samples
                .iter()
                .find(|sample| {
                    sample.name == name
                        && labels.iter().all(|(key, value)| {
                            sample.labels.iter().any(|(k, v)| k == key && v == value)
                        })
                })
                .map(|sample| sample.value)
        }
    }

    /// Parses a whole page; an error names the line that is not the format.
    pub fn parse(text: &str) -> Result<Exposition, String> {
        let mut page = Exposition::default();
        for (number, line) in text.lines().enumerate() {
            let bad = |why: &str| format!("line {}: {why}: {line:?}", number + 1);
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            if let Some(comment) = line.strip_prefix('#') {
                let mut words = comment.split_whitespace();
                if words.next() == Some("TYPE") {
                    let (Some(name), Some(kind)) = (words.next(), words.next()) else {
                        return Err(bad("TYPE without a name and a type"));
                    };
                    page.types.insert(name.to_owned(), kind.to_owned());
                }
                continue;
            }
            let name_end = line
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(line.len());
            let name = &line[..name_end];
            if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
                return Err(bad("no metric name"));
            }
            let mut rest = &line[name_end..];
            let mut labels = Vec::new();
            if let Some(inner) = rest.strip_prefix('{') {
                let (parsed, after) = parse_labels(inner).map_err(|why| bad(&why))?;
                labels = parsed;
                rest = after;
            }
            let value = rest
                .split_whitespace()
                .next()
                .ok_or_else(|| bad("no value"))?;
            let value = match value {
                "+Inf" => f64::INFINITY,
                "-Inf" => f64::NEG_INFINITY,
                other => other.parse().map_err(|_| bad("value is not a number"))?,
            };
            page.samples.push(Sample {
                name: name.to_owned(),
                labels,
                value,
            });
        }
        Ok(page)
    }

    /// `key="value",...}` and what follows the `}`.
    #[allow(clippy::type_complexity)]
    fn parse_labels(mut text: &str) -> Result<(Vec<(String, String)>, &str), String> {
        let mut labels = Vec::new();
        loop {
            text = text.trim_start_matches([' ', ',']);
            if let Some(rest) = text.strip_prefix('}') {
                return Ok((labels, rest));
            }
            let (key, rest) = text.split_once("=\"").ok_or("label without =\"")?;
            let mut value = String::new();
            let mut chars = rest.char_indices();
            let end = loop {
                match chars.next() {
                    None => return Err("unterminated label value".to_owned()),
                    Some((at, '"')) => break at,
                    Some((_, '\\')) => match chars.next() {
                        Some((_, 'n')) => value.push('\n'),
                        Some((_, other)) => value.push(other),
                        None => return Err("unterminated label value".to_owned()),
                    },
                    Some((_, other)) => value.push(other),
                }
            };
            labels.push((key.trim().to_owned(), value));
            text = &rest[end + 1..];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse::parse;
    use super::*;

    #[test]
    fn names_types_and_counts_are_the_contract() {
        let metrics = Metrics::new(Some(UPSTREAM_CALLS)).expect("map");
        for status in [200, 200, 400] {
            metrics.request("/").expect("counted").finish(status);
        }
        assert!(metrics.request("/metrics").is_none());
        assert!(metrics.request("/healthz").is_none());
        let running = metrics.request("/");
        let call = metrics.upstream_call();
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
        for (name, kind) in [
            ("http_requests_in_flight", "gauge"),
            ("http_requests_total", "counter"),
            ("http_request_duration_seconds", "histogram"),
            ("upstream_requests_in_flight", "gauge"),
        ] {
            assert_eq!(
                page.types.get(name).map(String::as_str),
                Some(kind),
                "{text}"
            );
        }
        drop((running, call));
        let page = parse(&metrics.render()).expect("parses");
        assert_eq!(page.get("http_requests_in_flight", &[]), Some(0.0));
        assert_eq!(page.get("upstream_requests_in_flight", &[]), Some(0.0));
        // Dropped unfinished: out of the gauge, not in the counts.
        assert_eq!(
            page.get("http_request_duration_seconds_count", &[]),
            Some(3.0)
        );
    }

    #[test]
    fn without_an_upstream_the_gauge_is_left_out_and_extra_gauges_show() {
        let metrics = Metrics::new(None).expect("map").with_gauges(Arc::new(|| {
            vec![Gauge {
                name: "db_pool_size",
                help: "Connections.",
                value: 4,
            }]
        }));
        let page = parse(&metrics.render()).expect("parses");
        assert_eq!(page.get("upstream_requests_in_flight", &[]), None);
        assert_eq!(page.get("db_pool_size", &[]), Some(4.0));
        assert_eq!(
            page.get("http_request_duration_seconds_count", &[]),
            Some(0.0)
        );
    }

    #[test]
    fn processes_sharing_a_memfd_add_up_and_a_dead_slot_is_reset() {
        let (master, fd) = Metrics::shared(Some(UPSTREAM_CALLS)).expect("memfd");
        let one = Metrics::attach(Some(UPSTREAM_CALLS), fd.as_raw_fd(), 1).expect("attach");
        let two = Metrics::attach(Some(UPSTREAM_CALLS), fd.as_raw_fd(), 2).expect("attach");
        one.request("/").expect("counted").finish(200);
        two.request("/").expect("counted").finish(502);
        let stuck = two.request("/");
        let snapshot = master.snapshot();
        assert_eq!(snapshot.by_status, vec![(200, 1), (502, 1)]);
        assert_eq!(snapshot.count(), 2);
        assert_eq!(snapshot.in_flight, 1);
        master.reset_slot(2);
        assert_eq!(master.snapshot().in_flight, 0);
        std::mem::forget(stuck);
        assert!(Metrics::attach(None, 0, 0).is_err());
    }

    #[test]
    fn the_listener_serves_metrics_and_healthz() {
        let metrics = Metrics::new(None).expect("map");
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
