//! loadgen: an ab-compatible HTTP/1 load generator, as fast as wrk (make bench-loadgen),
//! more truthful than ab.
//!
//! The library is the engine and the report; the `loadgen` binary is ab's command line
//! on top of it. It depends on no other crate of the lab: point it at any HTTP/1 server.
//! (The lab's runner, `make bench-all`, uses this library.)
//!
//! ```no_run
//! use std::time::Duration;
//!
//! // ab -r -n 2000 -c 200 http://127.0.0.1:3000/?delay=1
//! let spec = loadgen::LoadSpec {
//!     requests: Some(2000),
//!     concurrency: 200,
//!     continue_on_socket_error: true,
//!     timeout: Duration::from_secs(30),
//!     ..loadgen::LoadSpec::new("http://127.0.0.1:3000/?delay=1")
//! };
//! let report = loadgen::run_blocking(spec)?; // or `loadgen::run(spec).await` in tokio
//! println!("{:.2} requests/s, p99 {} ms", report.requests_per_second, report.latency_ms.p99);
//! println!("{}", serde_json::to_string(&report).unwrap());
//! # Ok::<(), loadgen::LoadError>(())
//! ```
//!
//! What it does differently from ab, on purpose:
//!
//! - All `concurrency` connections start at once. ab sends its first request alone and
//!   only then opens the others, which adds one whole response time to every run.
//! - A response whose body length differs from the first one is *not* a failure; it is
//!   counted in [`Report::length_mismatches`]. `failed` counts only real failures:
//!   connect, receive (reset, closed early), timeout, exceptions.
//! - Latencies go into HDR histograms (p50/p90/p99/p99.9/max), merged at the end:
//!   memory stays flat with `-n`.
//! - `--rate` ([`LoadSpec::rate`]) is open-loop: request `i` is due at `start + i/rate`
//!   and its latency counts from then (no coordinated omission, as wrk2); the raw
//!   latency and the count of requests sent late are reported too.
//! - Ramps: [`LoadSpec::ramp`] ([`ClientRamp`], `--ramp A:B:T`) starts A clients at
//!   once and adds the others evenly until B run at T; [`LoadSpec::rate_stages`]
//!   ([`RateStage`], `--rate-stages R:S,...`) is an open loop whose rate changes stage
//!   by stage, with due times from [`RateSchedule`].
//! - [`Report::littles_law`]: requests actually in flight (throughput x mean latency)
//!   against `-c`, so a cap on concurrency anywhere shows.
//! - `-t` does not cap `-n` at 50,000; requests still in flight when it expires are
//!   reported as `unfinished`, not as failures.
//! - [`Report::timeline`]: per interval ([`LoadSpec::timeline_interval`]), requests
//!   started, completed, in flight, and p50/p99; at most [`MAX_INTERVALS`] intervals,
//!   the width doubling as needed.
//! - One load from several hosts: [`Shard`] splits a spec, [`LoadSpec::start_at`]
//!   starts the shards together, and [`merge_reports`] adds their reports from the
//!   serialized histograms (never averaging percentiles).

mod engine;
mod error;
mod h1;
mod merge;
mod report;
mod schedule;
mod spec;
mod stats;
pub mod text;
mod timeline;

pub use engine::{read_response, run, run_blocking, run_with_progress, Progress, ResponseOutcome};
pub use error::LoadError;
pub use merge::merge_reports;
pub use report::{
    ConnectionTimes, Latency, LittlesLaw, Percentile, Phase, PhaseHistograms, RampReport,
    RateReport, RateStageReport, Report,
};
pub use schedule::{
    parse_ramp, parse_rate_stages, parse_seconds, ClientRamp, RateSchedule, RateStage,
};
pub use spec::{parse_start_at, LoadSpec, Shard, DEFAULT_TIMEOUT, START_AT_TOLERANCE};
pub use stats::{decode_histogram, Failures};
pub use timeline::{Interval, Timeline, Totals, DEFAULT_INTERVAL, MAX_INTERVALS, MIN_INTERVAL};
