//! The result of a run: [`Report`], serialisable to JSON, built from the merged stats.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::stats::{encode_histogram, Failures, Stats};
use crate::timeline::Timeline;

/// Latency distribution in milliseconds (from an HDR histogram: 0.1% resolution).
#[derive(Debug, Default, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    pub mean: f64,
    pub min: f64,
    pub stdev: f64,
}

impl Latency {
    pub(crate) fn from_histogram(h: &Histogram<u64>) -> Latency {
        if h.is_empty() {
            return Latency::default();
        }
        let ms = |us: u64| us as f64 / 1000.0;
        Latency {
            p50: ms(h.value_at_quantile(0.50)),
            p90: ms(h.value_at_quantile(0.90)),
            p99: ms(h.value_at_quantile(0.99)),
            p999: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
            mean: h.mean() / 1000.0,
            min: ms(h.min()),
            stdev: h.stdev() / 1000.0,
        }
    }
}

/// One row of ab's "Connection Times (ms)" table.
#[derive(Debug, Default, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Phase {
    pub min: f64,
    pub mean: f64,
    pub sd: f64,
    pub median: f64,
    pub max: f64,
}

impl Phase {
    fn from_histogram(h: &Histogram<u64>) -> Phase {
        let l = Latency::from_histogram(h);
        Phase {
            min: l.min,
            mean: l.mean,
            sd: l.stdev,
            median: l.p50,
            max: l.max,
        }
    }
}

/// ab's "Connection Times (ms)": connect (0 on a reused connection), waiting (request
/// sent to first response byte), processing (total minus connect), total.
#[derive(Debug, Default, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ConnectionTimes {
    pub connect: Phase,
    pub processing: Phase,
    pub waiting: Phase,
    pub total: Phase,
}

/// One line of ab's "Percentage of the requests served within a certain time (ms)".
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Percentile {
    pub percent: f64,
    pub ms: f64,
}

/// The Little's-law self-check: requests actually in flight on average
/// (throughput x mean latency) against the concurrency asked for. Well below 1.0 in
/// closed-loop mode means something capped concurrency: the generator, a client limit,
/// or time spent between requests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LittlesLaw {
    /// completed requests per second x mean latency in seconds.
    pub in_flight: f64,
    /// `-c`.
    pub concurrency: usize,
    /// `in_flight / concurrency`.
    pub ratio: f64,
}

/// What `--rate` (and `--rate-stages`) adds.
#[derive(Debug, Default, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RateReport {
    /// The rate asked for, requests per second (a shard's: its share). With
    /// `--rate-stages`, the stages' rates averaged over their durations.
    pub target_rps: f64,
    /// Requests sent more than 1 ms after their due time (all `c` connections were busy).
    pub sent_late: u64,
    /// Latency from the actual send (what a closed-loop tool reports); `latency_ms` in
    /// the report counts from the due time instead.
    pub raw_latency_ms: Latency,
}

/// What `--ramp A:B:T` adds: the clients ramped from `from` to `to` over `over_s`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RampReport {
    /// A: clients started at once (a shard's: its share).
    pub from: usize,
    /// B: clients running from `over_s` on, `-c` (a shard's: its share).
    pub to: usize,
    /// T, seconds: when the last client started.
    pub over_s: f64,
}

/// One stage of `--rate-stages`, as run.
#[derive(Debug, Default, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RateStageReport {
    /// Requests per second in the stage (a shard's: its share).
    pub target_rps: f64,
    /// How long the stage lasted, seconds.
    pub duration_s: f64,
}

/// The outcome of a run. Every count is exact; latencies come from HDR histograms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The URL as given.
    pub url: String,
    /// `-m` (null in the reports of a loadgen before it was recorded).
    #[serde(default)]
    pub method: Option<String>,
    /// The first response's `Server` header ("Server Software").
    pub server_software: Option<String>,
    pub server_hostname: String,
    pub server_port: u16,
    pub document_path: String,
    /// Body length of the first response ("Document Length").
    pub document_length: Option<u64>,
    /// `-c`.
    pub concurrency: usize,
    /// `-k`.
    pub keep_alive: bool,
    /// `-n` (None: time limit only).
    pub requested: Option<u64>,
    /// Start of the first request to the end of the last one (or to the `-t` limit).
    pub time_taken_s: f64,
    /// Responses received in full (any status).
    pub complete: u64,
    /// Real failures only: connect, receive, timeout, exceptions (never length).
    pub failed: u64,
    pub failures: Failures,
    /// Complete responses whose status was not 2xx.
    pub non_2xx: u64,
    /// Count per status code.
    pub status_codes: BTreeMap<u16, u64>,
    /// Complete responses whose body length differs from the first one. ab counts
    /// these as failed ("Length"); loadgen does not (pages with a timestamp vary).
    pub length_mismatches: u64,
    /// Requests in flight when the `-t` limit or an abort stopped the test; not counted.
    pub unfinished: u64,
    /// TCP connections opened.
    pub connections_opened: u64,
    /// Requests sent on a reused connection ("Keep-Alive requests").
    pub keep_alive_requests: u64,
    /// Response bytes, headers (as reconstructed from the parsed head) and bodies.
    pub total_transferred_bytes: u64,
    /// Response body bytes ("HTML transferred").
    pub html_transferred_bytes: u64,
    /// `complete / time_taken_s`.
    pub requests_per_second: f64,
    /// ab's "Time per request (mean)": `concurrency x time / complete`, ms.
    pub time_per_request_ms: f64,
    /// ab's "(mean, across all concurrent requests)": `time / complete`, ms.
    pub time_per_request_all_ms: f64,
    /// Received KiB per second.
    pub transfer_rate_kbps: f64,
    /// Latency of complete responses (with `--rate`, from each request's due time).
    pub latency_ms: Latency,
    /// ab's percentage table: 50, 66, 75, 80, 90, 95, 98, 99, 100.
    pub percentiles_ms: Vec<Percentile>,
    pub connection_times_ms: ConnectionTimes,
    pub littles_law: LittlesLaw,
    /// Present in `--rate` mode.
    pub rate: Option<RateReport>,
    /// `--ramp-up`, seconds: the clients started evenly over this long (null: at once).
    pub ramp_up_s: Option<f64>,
    /// `--ramp A:B:T` (null: none).
    #[serde(default)]
    pub ramp: Option<RampReport>,
    /// `--rate-stages`, in order (null: none); `rate` holds their mean rate, the late
    /// requests and the raw latency.
    #[serde(default)]
    pub rate_stages: Option<Vec<RateStageReport>>,
    /// Why the test stopped early (a socket error without `-r`), if it did.
    pub aborted: Option<String>,
    /// `--shard I/K` as `"I/K"` (null: the whole load; `loadgen merge` lists the
    /// shards it merged, comma-separated).
    #[serde(default)]
    pub shard: Option<String>,
    /// Wall-clock start of the run (the origin of `time_taken_s`), Unix seconds.
    #[serde(default)]
    pub started_at_unix_s: f64,
    /// `started_at_unix_s + time_taken_s`.
    #[serde(default)]
    pub ended_at_unix_s: f64,
    /// The latency histogram behind `latency_ms` (microseconds): HdrHistogram's V2 +
    /// DEFLATE serialization, base64. `loadgen merge` adds these.
    #[serde(default)]
    pub histogram: Option<String>,
    /// The other histograms, serialized the same way, so that a merge recomputes every
    /// figure of the report exactly.
    #[serde(default)]
    pub phase_histograms: Option<PhaseHistograms>,
    /// Requests started, completed and in flight, and latency, per interval.
    #[serde(default)]
    pub timeline: Option<Timeline>,
    /// The latency histogram of each timeline interval (null: no complete response),
    /// serialized as `histogram`, in the order of `timeline.intervals`.
    #[serde(default)]
    pub timeline_histograms: Option<Vec<Option<String>>>,
}

/// The histograms besides `histogram`, each HdrHistogram V2 + DEFLATE in base64.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseHistograms {
    /// Latency from the actual send (`rate.raw_latency_ms`).
    pub raw: String,
    /// Connection Times: connect.
    pub connect: String,
    /// Connection Times: waiting.
    pub waiting: String,
    /// Connection Times: processing.
    pub processing: String,
}

/// What the engine knows besides the stats.
pub(crate) struct RunFacts {
    pub url: String,
    pub method: Option<String>,
    pub server_software: Option<String>,
    pub host: String,
    pub port: u16,
    pub path: String,
    pub document_length: Option<u64>,
    pub concurrency: usize,
    pub keep_alive: bool,
    pub requested: Option<u64>,
    pub time_taken_s: f64,
    pub rate: Option<f64>,
    pub ramp_up: Option<std::time::Duration>,
    pub ramp: Option<RampReport>,
    pub rate_stages: Option<Vec<RateStageReport>>,
    pub aborted: Option<String>,
    /// Shard `I/K`, or for a merge the list of shards merged.
    pub shard: Option<String>,
    /// Wall-clock start, Unix seconds.
    pub started_at_unix_s: f64,
}

impl Report {
    pub(crate) fn build(facts: RunFacts, stats: &Stats) -> Report {
        let time = facts.time_taken_s.max(1e-9);
        let complete = stats.complete;
        let per_complete = |value: f64| {
            if complete == 0 {
                0.0
            } else {
                value / complete as f64
            }
        };
        let total_bytes = stats.header_bytes + stats.body_bytes;
        let latency = Latency::from_histogram(&stats.total);
        let raw = Latency::from_histogram(&stats.raw);
        let rps = complete as f64 / time;
        // Little's law uses the time each request actually held a connection.
        let in_flight = rps * raw.mean / 1000.0;
        let percentiles_ms = if stats.total.is_empty() {
            Vec::new()
        } else {
            [50.0, 66.0, 75.0, 80.0, 90.0, 95.0, 98.0, 99.0, 100.0]
                .iter()
                .map(|&percent| Percentile {
                    percent,
                    ms: stats.total.value_at_percentile(percent) as f64 / 1000.0,
                })
                .collect()
        };
        Report {
            url: facts.url,
            method: facts.method,
            server_software: facts.server_software,
            server_hostname: facts.host,
            server_port: facts.port,
            document_path: facts.path,
            document_length: facts.document_length,
            concurrency: facts.concurrency,
            keep_alive: facts.keep_alive,
            requested: facts.requested,
            time_taken_s: facts.time_taken_s,
            complete,
            failed: stats.failures.total(),
            failures: stats.failures,
            non_2xx: stats.non_2xx,
            status_codes: stats.status_codes.clone(),
            length_mismatches: stats.length_mismatches,
            unfinished: stats.unfinished,
            connections_opened: stats.connections_opened,
            keep_alive_requests: stats.keep_alive_requests,
            total_transferred_bytes: total_bytes,
            html_transferred_bytes: stats.body_bytes,
            requests_per_second: rps,
            time_per_request_ms: per_complete(facts.concurrency as f64 * time * 1000.0),
            time_per_request_all_ms: per_complete(time * 1000.0),
            transfer_rate_kbps: total_bytes as f64 / 1024.0 / time,
            latency_ms: latency,
            percentiles_ms,
            connection_times_ms: ConnectionTimes {
                connect: Phase::from_histogram(&stats.connect),
                processing: Phase::from_histogram(&stats.processing),
                waiting: Phase::from_histogram(&stats.waiting),
                total: Phase::from_histogram(&stats.total),
            },
            littles_law: LittlesLaw {
                in_flight,
                concurrency: facts.concurrency,
                ratio: in_flight / facts.concurrency.max(1) as f64,
            },
            rate: facts.rate.map(|target_rps| RateReport {
                target_rps,
                sent_late: stats.sent_late,
                raw_latency_ms: raw,
            }),
            ramp_up_s: facts.ramp_up.map(|ramp| ramp.as_secs_f64()),
            ramp: facts.ramp,
            rate_stages: facts.rate_stages,
            aborted: facts.aborted,
            shard: facts.shard,
            started_at_unix_s: facts.started_at_unix_s,
            ended_at_unix_s: facts.started_at_unix_s + facts.time_taken_s,
            histogram: encode_histogram(&stats.total),
            phase_histograms: (|| {
                Some(PhaseHistograms {
                    raw: encode_histogram(&stats.raw)?,
                    connect: encode_histogram(&stats.connect)?,
                    waiting: encode_histogram(&stats.waiting)?,
                    processing: encode_histogram(&stats.processing)?,
                })
            })(),
            timeline: Some(stats.timeline.timeline()),
            timeline_histograms: Some(
                stats
                    .timeline
                    .buckets()
                    .iter()
                    .map(|b| b.latency.as_ref().and_then(encode_histogram))
                    .collect(),
            ),
        }
    }
}
