//! The engine: `c` workers, one connection each, all started at once.
//!
//! Each worker is a tokio task that loops: take the next request ticket, (with `--rate`,
//! wait for the ticket's due time), send it on its connection, read the whole response,
//! record it. HTTP/1.1 is spoken by loadgen's own client ([`crate::h1`]): the request's
//! bytes are built once, and a worker writes them and reads the response on its own
//! socket, with no task, channel or allocation per request in between.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use hdrhistogram::Histogram;
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::error::LoadError;
use crate::h1;
use crate::report::{RampReport, RateStageReport, Report, RunFacts};
use crate::spec::unix_seconds;
use crate::spec::{LoadSpec, Plan};
use crate::stats::{Failures, Stats};
use crate::timeline::Ending;

/// A request later than this after its due time (`--rate`) counts as sent late.
const LATE: Duration = Duration::from_millis(1);

/// Connect failures that stop a test without `-r` (ab: "Test aborted after 10 failures").
const CONNECT_FAILURES_BEFORE_ABORT: u64 = 10;

/// Live counters, for a progress bar or a live chart. Share it with
/// [`run_with_progress`]; every figure counts from the load's start.
#[derive(Debug, Default)]
pub struct Progress {
    started: AtomicU64,
    done: AtomicU64,
    non_2xx: AtomicU64,
    connect: AtomicU64,
    receive: AtomicU64,
    timeout: AtomicU64,
    exceptions: AtomicU64,
    /// The latencies (microseconds) of the complete requests since the last
    /// [`Progress::take_latencies`]; kept only when asked for ([`Progress::with_latencies`]).
    latencies: Option<Mutex<Histogram<u64>>>,
    /// Set by [`Progress::stop`] (or an abort)...
    stop: AtomicBool,
    /// ... which wakes the clients waiting for their start or their due time.
    stopping: tokio::sync::Notify,
}

impl Progress {
    /// Counters that also keep the latencies of each interval, for
    /// [`Progress::take_latencies`] (one more lock per request).
    pub fn with_latencies() -> Progress {
        Progress {
            latencies: Some(Mutex::new(crate::stats::histogram())),
            ..Progress::default()
        }
    }

    /// Requests sent so far.
    pub fn started(&self) -> u64 {
        self.started.load(Relaxed)
    }

    /// Requests finished so far, complete or failed.
    pub fn done(&self) -> u64 {
        self.done.load(Relaxed)
    }

    /// Requests sent and not finished yet: what the clients hold in flight (after the
    /// end, the requests a time limit cut off).
    pub fn in_flight(&self) -> u64 {
        self.started().saturating_sub(self.done())
    }

    /// Requests failed so far.
    pub fn failed(&self) -> u64 {
        self.failures().total()
    }

    /// Complete responses whose status was not 2xx, so far.
    pub fn non_2xx(&self) -> u64 {
        self.non_2xx.load(Relaxed)
    }

    /// The failures so far, by kind.
    pub fn failures(&self) -> Failures {
        Failures {
            connect: self.connect.load(Relaxed),
            receive: self.receive.load(Relaxed),
            timeout: self.timeout.load(Relaxed),
            exceptions: self.exceptions.load(Relaxed),
        }
    }

    /// The latencies (microseconds, from each request's due time to its last byte) of
    /// the requests completed since the last call, and starts a new interval; `None`
    /// unless made [`Progress::with_latencies`].
    pub fn take_latencies(&self) -> Option<Histogram<u64>> {
        let mut latencies = self
            .latencies
            .as_ref()?
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let taken = latencies.clone();
        latencies.reset();
        Some(taken)
    }

    /// Ends the load early: each client finishes the request it has in flight and
    /// sends no more (a live page's Stop button).
    pub fn stop(&self) {
        self.stop.store(true, Relaxed);
        self.stopping.notify_waiters();
    }

    fn record_latency(&self, micros: u64) {
        if let Some(latencies) = &self.latencies {
            latencies
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .saturating_record(micros);
        }
    }
}

/// Runs the load test and returns its report. Callable from any tokio runtime: the
/// load itself runs on one dedicated thread (with its own single-threaded runtime)
/// per core.
///
/// Errors only when the spec is invalid or the environment cannot run it; failures of
/// the target (refused, reset, timeouts, non-2xx) are counted in the [`Report`].
///
/// Side effect: raises this process's soft open-files limit to the hard limit (one
/// descriptor per connection); [`LoadError::TooFewFiles`] if even that is below `c`.
pub async fn run(spec: LoadSpec) -> Result<Report, LoadError> {
    run_with_progress(spec, Arc::new(Progress::default())).await
}

/// As [`run`], without an async caller. Do not call it from inside a tokio runtime
/// (it blocks on its own); use [`run`] there.
pub fn run_blocking(spec: LoadSpec) -> Result<Report, LoadError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(LoadError::Runtime)?;
    runtime.block_on(run(spec))
}

/// As [`run`], updating `progress` as requests finish.
pub async fn run_with_progress(
    spec: LoadSpec,
    progress: Arc<Progress>,
) -> Result<Report, LoadError> {
    let plan = spec.plan().await?;
    ensure_open_files(plan.concurrency)?;
    // One single-threaded runtime per core, each with its share of the workers (as wrk
    // has one event loop per thread): no work stealing, no cross-thread wake-ups, and
    // each thread records into its own stats shard.
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(plan.concurrency);

    // --start-at: shards on several hosts start together (plan() refused a past time).
    if let Some(start_at) = plan.start_at {
        if let Ok(wait) = start_at.duration_since(std::time::SystemTime::now()) {
            tokio::time::sleep(wait).await;
        }
    }
    let start = Instant::now();
    let started_at = std::time::SystemTime::now();
    let interval = plan.timeline_interval;
    let shared = Arc::new(Shared {
        deadline: plan.time_limit.map(|limit| start + limit),
        start,
        next_ticket: AtomicU64::new(0),
        stop: AtomicBool::new(false),
        connect_failures: AtomicU64::new(0),
        abort_reason: Mutex::new(None),
        document_length: OnceLock::new(),
        server_software: OnceLock::new(),
        shards: (0..threads)
            .map(|_| Mutex::new(Stats::new(interval)))
            .collect(),
        progress,
        plan,
    });

    // Every worker starts now: unlike ab, no lone first request.
    let mut finished = Vec::with_capacity(threads);
    for thread in 0..threads {
        let workers = shared.plan.concurrency / threads
            + usize::from(thread < shared.plan.concurrency % threads);
        let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
        let shared_for_thread = Arc::clone(&shared);
        std::thread::Builder::new()
            .name(format!("loadgen-{thread}"))
            .spawn(move || {
                run_thread(shared_for_thread, thread, workers);
                let _ = done_tx.send(());
            })
            .map_err(LoadError::Runtime)?;
        finished.push(done_rx);
    }
    let mut panicked = None;
    for done in finished {
        if done.await.is_err() {
            panicked = Some("a load thread failed".to_string());
        }
    }
    let mut end = Instant::now();
    if let Some(deadline) = shared.deadline {
        end = end.min(deadline);
    }

    let mut stats = Stats::new(interval);
    for shard in &shared.shards {
        stats.merge(&shard.lock().unwrap_or_else(PoisonError::into_inner));
    }
    stats.timeline.extend_to(end - start);
    let plan = &shared.plan;
    let shards = plan.shard.map_or(1, |shard| shard.count) as f64;
    let aborted = shared
        .abort_reason
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
        .or(panicked);
    let facts = RunFacts {
        url: spec.url,
        method: Some(plan.method.to_string()),
        server_software: shared.server_software.get().cloned().flatten(),
        host: plan.host.clone(),
        port: plan.port,
        path: plan.path.clone(),
        document_length: shared.document_length.get().copied(),
        concurrency: plan.concurrency,
        keep_alive: plan.keep_alive,
        requested: plan.requests,
        time_taken_s: (end - start).as_secs_f64(),
        // A shard sends its share of the total rate.
        rate: plan
            .rate
            .or(plan.schedule.as_ref().map(|s| s.mean_rate()))
            .map(|rate| rate / shards),
        ramp_up: plan.ramp_up,
        ramp: plan.ramp.map(|ramp| RampReport {
            from: ramp.from,
            to: plan.concurrency,
            over_s: ramp.over.as_secs_f64(),
        }),
        rate_stages: plan.schedule.as_ref().map(|schedule| {
            schedule
                .stages()
                .iter()
                .map(|stage| RateStageReport {
                    target_rps: stage.rate / shards,
                    duration_s: stage.duration.as_secs_f64(),
                })
                .collect()
        }),
        aborted,
        shard: plan.shard.map(|shard| shard.to_string()),
        started_at_unix_s: unix_seconds(started_at),
    };
    Ok(Report::build(facts, &stats))
}

/// One load thread: a single-threaded runtime running `workers` workers to the end.
fn run_thread(shared: Arc<Shared>, shard: usize, workers: usize) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            shared.abort(format!("cannot start a load thread: {err}"));
            return;
        }
    };
    runtime.block_on(async {
        // With --ramp-up, client k of c starts at k/c of it (with --ramp, see
        // ClientRamp::start_offset); the threads take turns
        // (client k runs on thread k mod threads), so each thread's start is as even.
        let threads = shared.shards.len();
        let handles: Vec<_> = (0..workers)
            .map(|local| {
                let client = local * threads + shard;
                tokio::spawn(worker(Arc::clone(&shared), shard, client))
            })
            .collect();
        for handle in handles {
            if let Err(err) = handle.await {
                shared.abort(format!("a worker failed: {err}"));
            }
        }
    });
}

/// Raises the open-files limit; errors when even the hard limit is too low for `-c`.
fn ensure_open_files(concurrency: usize) -> Result<(), LoadError> {
    // One descriptor per connection, plus stdio, the runtime's epoll and some slack.
    let needed = concurrency as u64 + 64;
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) if limit < needed => Err(LoadError::TooFewFiles {
            concurrency,
            needed,
            limit,
        }),
        // If the limit cannot be read, try anyway: failures will be counted as connect errors.
        _ => Ok(()),
    }
}

/// State all workers share.
struct Shared {
    plan: Plan,
    start: Instant,
    deadline: Option<Instant>,
    /// Request numbers handed out so far (`-n` stops at `requests`).
    next_ticket: AtomicU64,
    /// Set when a socket error stops the test (no `-r`).
    stop: AtomicBool,
    connect_failures: AtomicU64,
    abort_reason: Mutex<Option<String>>,
    /// The first response's body length: ab's "Document Length".
    document_length: OnceLock<u64>,
    server_software: OnceLock<Option<String>>,
    /// Stats, sharded so workers rarely contend; histograms are too big to keep one
    /// per worker at c=10,000.
    shards: Vec<Mutex<Stats>>,
    progress: Arc<Progress>,
}

impl Shared {
    fn abort(&self, reason: String) {
        let mut slot = self
            .abort_reason
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if slot.is_none() {
            *slot = Some(reason);
        }
        self.stop.store(true, Relaxed);
        self.progress.stopping.notify_waiters();
    }

    /// Whether the load is to end: aborted, or stopped from outside.
    fn stopped(&self) -> bool {
        self.stop.load(Relaxed) || self.progress.stop.load(Relaxed)
    }

    /// Sleeps until `at`, or less if the load is stopped meanwhile (a client waiting for
    /// its ramp's start or a request's due time would otherwise wait it out); false
    /// when it was stopped.
    async fn sleep_until(&self, at: Instant) -> bool {
        let stopping = self.progress.stopping.notified();
        tokio::pin!(stopping);
        // Registered before the check: a stop between the two still wakes it.
        stopping.as_mut().enable();
        if self.stopped() {
            return false;
        }
        tokio::select! {
            () = tokio::time::sleep_until(at) => true,
            () = stopping => false,
        }
    }
}

/// An open connection to the target.
type Conn = h1::Connection<TcpStream>;

/// Why one request failed.
enum Failure {
    Connect(String),
    Receive(String),
    Exception(String),
}

/// What one complete exchange measured.
struct Exchange {
    status: u16,
    /// Connect time (zero on a reused connection).
    connect: Duration,
    /// Request handed to the connection -> response head parsed.
    waiting: Duration,
    /// Time of the last body byte.
    done: Instant,
    reused: bool,
    opened: bool,
    header_bytes: u64,
    body_bytes: u64,
    server: Option<String>,
}

async fn worker(shared: Arc<Shared>, shard: usize, client: usize) {
    let plan = &shared.plan;
    let mut conn: Option<Conn> = None;
    let offset = match (plan.ramp, plan.ramp_up) {
        (Some(ramp), _) => Some(ramp.start_offset(client, plan.concurrency)),
        (None, Some(ramp_up)) => Some(ramp_up.mul_f64(client as f64 / plan.concurrency as f64)),
        (None, None) => None,
    };
    // A ramp's first clients start at once, as without one.
    if let Some(offset) = offset.filter(|offset| !offset.is_zero()) {
        let first = shared.start + offset;
        if shared.deadline.is_some_and(|deadline| first >= deadline) {
            return;
        }
        if !shared.sleep_until(first).await {
            return;
        }
    }
    let timer = tokio::time::sleep_until(shared.start + plan.timeout);
    tokio::pin!(timer);
    loop {
        if shared.stopped() {
            break;
        }
        let ticket = shared.next_ticket.fetch_add(1, Relaxed);
        if plan.requests.is_some_and(|n| ticket >= n) {
            break;
        }
        let mut now = Instant::now();
        if shared.deadline.is_some_and(|deadline| now >= deadline) {
            break;
        }
        // Closed loop: the request is due now. Open loop: it is due at start + i/rate
        // (or when the rate stages say), and its latency counts from then even if every
        // connection was busy.
        let mut late = false;
        // A shard's requests are every K-th of the whole schedule.
        let number = plan
            .shard
            .map_or(ticket, |shard| shard.global_ticket(ticket));
        let offset = match (plan.rate, &plan.schedule) {
            (Some(rate), _) => Some(Duration::from_secs_f64(number as f64 / rate)),
            (None, Some(schedule)) => match schedule.due(number) {
                Some(offset) => Some(offset),
                // Past the last stage.
                None => break,
            },
            (None, None) => None,
        };
        let due = match offset {
            None => now,
            Some(offset) => {
                let due = shared.start + offset;
                if due > now {
                    if shared.deadline.is_some_and(|deadline| due >= deadline) {
                        break;
                    }
                    if !shared.sleep_until(due).await {
                        break;
                    }
                    now = Instant::now();
                } else {
                    late = now - due > LATE;
                }
                due
            }
        };
        let mut limit = now + plan.timeout;
        let mut cut_by_deadline = false;
        if let Some(deadline) = shared.deadline {
            if deadline <= limit {
                limit = deadline;
                cut_by_deadline = true;
            }
        }
        // One timer per worker, pushed later for each request: extending a pending
        // timer is an atomic store, where a fresh timeout per request would insert
        // into and remove from the timer wheel every time.
        timer.as_mut().reset(limit);
        shared.progress.started.fetch_add(1, Relaxed);
        let result = tokio::select! {
            biased;
            result = exchange(&mut conn, plan) => Ok(result),
            () = &mut timer => Err(()),
        };

        let mut stats = shared.shards[shard]
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        stats.sent_late += u64::from(late);
        let since_start = |at: Instant| at.saturating_duration_since(shared.start);
        stats.timeline.started(since_start(now));
        match result {
            // Finished after -t expired but before the (millisecond-grained) timer
            // fired: outside the measured time, so not counted.
            Ok(Ok(ex)) if cut_by_deadline && ex.done > limit => {
                stats.unfinished += 1;
                break;
            }
            Ok(Ok(ex)) => {
                if !plan.keep_alive {
                    conn = None;
                }
                let total = ex.done - due;
                let raw = ex.done - now;
                let success = (200..300).contains(&ex.status);
                let ending = if success {
                    Ending::Ok(micros(total))
                } else {
                    Ending::NotOk(micros(total))
                };
                stats.timeline.completed(since_start(ex.done), ending);
                stats.total.saturating_record(micros(total));
                stats.raw.saturating_record(micros(raw));
                stats.connect.saturating_record(micros(ex.connect));
                stats.waiting.saturating_record(micros(ex.waiting));
                stats
                    .processing
                    .saturating_record(micros(raw.saturating_sub(ex.connect)));
                stats.complete += 1;
                let code = ex.status;
                if !success {
                    stats.non_2xx += 1;
                    shared.progress.non_2xx.fetch_add(1, Relaxed);
                }
                *stats.status_codes.entry(code).or_default() += 1;
                stats.connections_opened += u64::from(ex.opened);
                stats.keep_alive_requests += u64::from(ex.reused);
                stats.header_bytes += ex.header_bytes;
                stats.body_bytes += ex.body_bytes;
                if ex.body_bytes != *shared.document_length.get_or_init(|| ex.body_bytes) {
                    stats.length_mismatches += 1;
                }
                if shared.server_software.get().is_none() {
                    let _ = shared.server_software.set(ex.server);
                }
                drop(stats);
                shared.progress.record_latency(micros(total));
                shared.progress.done.fetch_add(1, Relaxed);
            }
            Ok(Err(failure)) => {
                conn = None;
                stats
                    .timeline
                    .completed(since_start(Instant::now()), Ending::Failed);
                let (kind, message) = match &failure {
                    Failure::Connect(msg) => {
                        stats.failures.connect += 1;
                        shared.progress.connect.fetch_add(1, Relaxed);
                        ("connect", msg)
                    }
                    Failure::Receive(msg) => {
                        stats.failures.receive += 1;
                        shared.progress.receive.fetch_add(1, Relaxed);
                        ("receive", msg)
                    }
                    Failure::Exception(msg) => {
                        stats.failures.exceptions += 1;
                        shared.progress.exceptions.fetch_add(1, Relaxed);
                        ("exception", msg)
                    }
                };
                drop(stats);
                shared.progress.done.fetch_add(1, Relaxed);
                if plan.verbosity >= 2 {
                    eprintln!("loadgen: request failed ({kind}): {message}");
                }
                if !plan.continue_on_socket_error {
                    match failure {
                        Failure::Receive(msg) => {
                            shared.abort(format!("receive error: {msg} (use -r to continue)"))
                        }
                        Failure::Connect(msg) => {
                            let count = shared.connect_failures.fetch_add(1, Relaxed) + 1;
                            if count > CONNECT_FAILURES_BEFORE_ABORT {
                                shared.abort(format!(
                                    "test aborted after {CONNECT_FAILURES_BEFORE_ABORT} connect \
                                     failures; last: {msg} (use -r to continue)"
                                ));
                            }
                        }
                        Failure::Exception(_) => {}
                    }
                }
            }
            Err(_elapsed) => {
                conn = None;
                if cut_by_deadline {
                    // -t expired mid-request: neither complete nor failed.
                    stats.unfinished += 1;
                    break;
                }
                stats.failures.timeout += 1;
                shared.progress.timeout.fetch_add(1, Relaxed);
                stats
                    .timeline
                    .completed(since_start(Instant::now()), Ending::Failed);
                drop(stats);
                shared.progress.done.fetch_add(1, Relaxed);
                if plan.verbosity >= 2 {
                    eprintln!("loadgen: request timed out after {:?}", plan.timeout);
                }
            }
        }
    }
}

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros())
        .unwrap_or(u64::MAX)
        .max(1)
}

/// Sends one request on `slot`'s connection (opening one if needed) and reads the
/// whole response.
async fn exchange(slot: &mut Option<Conn>, plan: &Plan) -> Result<Exchange, Failure> {
    let began = Instant::now();
    let mut reused = slot.is_some();
    let conn = match slot {
        Some(conn) => conn,
        None => slot.insert(connect(plan).await?),
    };
    let mut connect_time = if reused {
        Duration::ZERO
    } else {
        began.elapsed()
    };
    let mut sent = Instant::now();
    let mut result = conn.round_trip(&plan.request, plan.head_only).await;
    // A kept-alive connection the server closed while it was idle: nothing of the
    // request was answered, so nothing failed. Send it again on a new connection.
    if reused && matches!(result, Err(h1::Error::Closed(_))) {
        let reconnect = Instant::now();
        let conn = slot.insert(connect(plan).await?);
        reused = false;
        sent = Instant::now();
        connect_time = sent - reconnect;
        result = conn.round_trip(&plan.request, plan.head_only).await;
    }
    let done = Instant::now();
    match result {
        Ok(response) => {
            if !response.reusable {
                *slot = None;
            }
            Ok(Exchange {
                status: response.status,
                connect: connect_time,
                waiting: response.head_at - sent,
                done,
                reused,
                opened: !reused,
                header_bytes: response.header_bytes,
                body_bytes: response.body_bytes,
                server: response.server,
            })
        }
        Err(err) => {
            *slot = None;
            Err(classify(err))
        }
    }
}

/// What a load makes of one response, given as the raw bytes a server sent before
/// closing: [`read_response`]'s answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseOutcome {
    /// Counted as complete, with this status (non-2xx counted apart) and sizes.
    Complete {
        status: u16,
        header_bytes: u64,
        body_bytes: u64,
    },
    /// Counted as failed: `receive` (broken or cut short) or `exception` (unparsable).
    Failed { kind: &'static str, message: String },
    /// Nothing came to an end within a second of the server closing: a load would count
    /// a timeout. Never expected; a fuzz target treats it as a bug.
    Hung,
}

/// Sends `GET /` over an in-memory connection whose server answers `raw` and then
/// closes, and says how a load would count the exchange, through the same code a load
/// runs (loadgen's HTTP/1.1 client and its failure classification). For fuzzing and
/// property tests of loadgen's response handling. Call it inside a tokio runtime with
/// time enabled.
pub async fn read_response(raw: &[u8]) -> ResponseOutcome {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (client, mut server) = tokio::io::duplex(64 * 1024);
    let mut conn = h1::Connection::new(client);
    // As a server does: read the request head, then answer and close.
    let serve = async {
        let mut request = Vec::new();
        let mut chunk = [0u8; 1024];
        while !request.ends_with(b"\r\n\r\n") {
            match server.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => request.extend_from_slice(&chunk[..n]),
            }
        }
        let _ = server.write_all(raw).await;
        let _ = server.shutdown().await;
        server
    };
    let request = b"GET / HTTP/1.1\r\nhost: loadgen\r\n\r\n";
    let exchange = tokio::time::timeout(Duration::from_secs(1), conn.round_trip(request, false));
    let (_server, result) = tokio::join!(serve, exchange);
    match result {
        Err(_elapsed) => ResponseOutcome::Hung,
        Ok(Ok(response)) => ResponseOutcome::Complete {
            status: response.status,
            header_bytes: response.header_bytes,
            body_bytes: response.body_bytes,
        },
        Ok(Err(err)) => match classify(err) {
            Failure::Receive(message) => ResponseOutcome::Failed {
                kind: "receive",
                message,
            },
            Failure::Exception(message) => ResponseOutcome::Failed {
                kind: "exception",
                message,
            },
            Failure::Connect(message) => ResponseOutcome::Failed {
                kind: "connect",
                message,
            },
        },
    }
}

async fn connect(plan: &Plan) -> Result<Conn, Failure> {
    let stream = TcpStream::connect(plan.addr)
        .await
        .map_err(|err| Failure::Connect(format!("{}: {err}", plan.addr)))?;
    // On a kept-alive connection, no Nagle delay for the next small request. A fresh
    // connection sends its one request in one write, which Nagle never holds back:
    // skip the system call.
    if plan.keep_alive {
        let _ = stream.set_nodelay(true);
    }
    Ok(h1::Connection::new(stream))
}

/// Responses that are not HTTP are "exceptions"; everything else broke the connection
/// before the response was complete.
fn classify(err: h1::Error) -> Failure {
    match err {
        h1::Error::Parse(message) => Failure::Exception(message),
        h1::Error::Closed(message) | h1::Error::Receive(message) => Failure::Receive(message),
    }
}
