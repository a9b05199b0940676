//! What each worker counts while it runs: plain integers and HDR histograms, merged once
//! at the end, so memory stays flat however many requests a test sends.

use std::collections::BTreeMap;

use std::time::Duration;

use hdrhistogram::Histogram;

use crate::timeline::Recorder;

/// Latencies are recorded in microseconds, 3 significant digits (0.1% resolution).
pub(crate) fn histogram() -> Histogram<u64> {
    // 1 µs .. 1 hour, 3 significant figures: a few tens of KiB per histogram.
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("static histogram bounds are valid")
}

/// A histogram as HdrHistogram's V2 + DEFLATE serialization in base64 (None only if
/// the serializer fails, which it does not for histograms this crate makes).
pub(crate) fn encode_histogram(h: &Histogram<u64>) -> Option<String> {
    use base64::Engine;
    use hdrhistogram::serialization::{Serializer, V2DeflateSerializer};
    let mut bytes = Vec::new();
    V2DeflateSerializer::new().serialize(h, &mut bytes).ok()?;
    Some(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// Decodes a histogram of the report (`histogram`, `phase_histograms`,
/// `timeline_histograms`): base64, then HdrHistogram V2 (+ DEFLATE).
pub fn decode_histogram(text: &str) -> Result<Histogram<u64>, String> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|err| format!("not base64: {err}"))?;
    hdrhistogram::serialization::Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|err| format!("not an HdrHistogram V2 serialization: {err:?}"))
}

/// Why a request failed. ab's breakdown, plus `timeout` (ab aborts the whole test instead).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Failures {
    /// The connection could not be opened (refused, unreachable, out of ports or files).
    pub connect: u64,
    /// The connection broke before the whole response arrived (reset, closed early).
    pub receive: u64,
    /// `-s` expired before the last byte.
    pub timeout: u64,
    /// Anything else: a response that is not HTTP/1.x, for instance.
    pub exceptions: u64,
}

impl Failures {
    pub fn total(&self) -> u64 {
        self.connect + self.receive + self.timeout + self.exceptions
    }

    pub(crate) fn merge(&mut self, other: &Failures) {
        self.connect += other.connect;
        self.receive += other.receive;
        self.timeout += other.timeout;
        self.exceptions += other.exceptions;
    }
}

/// One worker's tally.
pub(crate) struct Stats {
    /// Send (or due time, with `--rate`) to last body byte, for every complete response.
    pub total: Histogram<u64>,
    /// Actual send to last byte (differs from `total` only with `--rate`).
    pub raw: Histogram<u64>,
    pub connect: Histogram<u64>,
    pub waiting: Histogram<u64>,
    pub processing: Histogram<u64>,
    pub complete: u64,
    pub non_2xx: u64,
    pub status_codes: BTreeMap<u16, u64>,
    pub length_mismatches: u64,
    pub failures: Failures,
    pub unfinished: u64,
    pub sent_late: u64,
    pub connections_opened: u64,
    pub keep_alive_requests: u64,
    pub header_bytes: u64,
    pub body_bytes: u64,
    /// Started, completed and latency per interval of the run.
    pub timeline: Recorder,
}

impl Stats {
    /// Empty stats, with a timeline of `interval`-wide intervals.
    pub fn new(interval: Duration) -> Stats {
        Stats {
            total: histogram(),
            raw: histogram(),
            connect: histogram(),
            waiting: histogram(),
            processing: histogram(),
            complete: 0,
            non_2xx: 0,
            status_codes: BTreeMap::new(),
            length_mismatches: 0,
            failures: Failures::default(),
            unfinished: 0,
            sent_late: 0,
            connections_opened: 0,
            keep_alive_requests: 0,
            header_bytes: 0,
            body_bytes: 0,
            timeline: Recorder::new(interval),
        }
    }

    pub fn merge(&mut self, other: &Stats) {
        // Same bounds everywhere, so adding cannot fail; saturate rather than panic anyway.
        let _ = self.total.add(&other.total);
        let _ = self.raw.add(&other.raw);
        let _ = self.connect.add(&other.connect);
        let _ = self.waiting.add(&other.waiting);
        let _ = self.processing.add(&other.processing);
        self.complete += other.complete;
        self.non_2xx += other.non_2xx;
        for (code, count) in &other.status_codes {
            *self.status_codes.entry(*code).or_default() += count;
        }
        self.length_mismatches += other.length_mismatches;
        self.failures.merge(&other.failures);
        self.unfinished += other.unfinished;
        self.sent_late += other.sent_late;
        self.connections_opened += other.connections_opened;
        self.keep_alive_requests += other.keep_alive_requests;
        self.header_bytes += other.header_bytes;
        self.body_bytes += other.body_bytes;
        // One width to start with, doubled only: the widths always line up.
        let _ = self.timeline.merge(&other.timeline);
    }
}
