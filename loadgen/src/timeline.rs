//! The run's timeline: per fixed interval, requests started, completed (2xx, non-2xx
//! and failures), in flight at the interval's end, and the p50/p99 latency of the
//! responses completed in it.
//!
//! Each load thread records into its own [`Recorder`] (inside its stats shard, under the
//! lock it already takes per request), and the recorders are merged at the end, as the
//! other stats are. Memory stays bounded at any run length: when a request lands past
//! [`MAX_INTERVALS`], the interval width doubles and neighbouring intervals merge
//! pairwise. Counts and HDR histograms add exactly, so nothing is lost but resolution
//! in time; the report's `interval_s` is the final width.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// The timeline's default interval (`--interval`).
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(100);

/// The shortest interval `--interval` accepts.
pub const MIN_INTERVAL: Duration = Duration::from_millis(1);

/// At most this many intervals are kept; past it, the width doubles.
pub const MAX_INTERVALS: usize = 2048;

/// A per-interval latency histogram: microseconds, 2 significant figures (1%
/// resolution), growing only as far as the largest latency recorded in it.
fn interval_histogram() -> Histogram<u64> {
    Histogram::new(2).expect("2 significant figures is a valid HDR precision")
}

/// One interval of the timeline in the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// The interval's start, seconds from the run's start (the origin of `time_taken_s`).
    pub start_s: f64,
    /// Requests sent in this interval.
    pub started: u64,
    /// Requests that ended in this interval, however: 2xx, non-2xx or failed.
    pub completed: u64,
    /// Of `completed`, 2xx responses.
    pub ok: u64,
    /// Of `completed`, non-2xx responses and failures.
    pub errors: u64,
    /// Requests in flight at the interval's end: all started so far minus all completed.
    pub in_flight: u64,
    /// Median latency of the responses completed in this interval, ms (null: none).
    pub p50_ms: Option<f64>,
    /// 99th percentile of the same, ms (null: none).
    pub p99_ms: Option<f64>,
    /// Mean of the same, ms (null: none): with `completed`, Little's law for the
    /// interval (absent from reports written before it: null).
    #[serde(default)]
    pub mean_ms: Option<f64>,
}

/// The timeline in the report (`--json`'s `timeline`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    /// The final interval width, seconds (wider than `--interval` if long runs coalesced).
    pub interval_s: f64,
    /// Every interval from the run's start to its end, none skipped.
    pub intervals: Vec<Interval>,
}

/// What had ended by the end of one interval ([`Timeline::running_totals`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Totals {
    /// The interval's end, seconds from the run's start.
    pub end_s: f64,
    /// Requests ended so far, however: 2xx, non-2xx or failed.
    pub completed: u64,
    /// Of them, 2xx responses.
    pub ok: u64,
    /// Of them, non-2xx responses and failures.
    pub errors: u64,
}

impl Timeline {
    /// The running totals at the end of each interval: when the first N responses had
    /// come back, or how many errors there were by a given moment.
    pub fn running_totals(&self) -> Vec<Totals> {
        let mut so_far = Totals {
            end_s: 0.0,
            completed: 0,
            ok: 0,
            errors: 0,
        };
        self.intervals
            .iter()
            .map(|interval| {
                so_far = Totals {
                    end_s: interval.start_s + self.interval_s,
                    completed: so_far.completed + interval.completed,
                    ok: so_far.ok + interval.ok,
                    errors: so_far.errors + interval.errors,
                };
                so_far
            })
            .collect()
    }

    /// As CSV: `start_s,started,completed,ok,errors,in_flight,p50_ms,p99_ms,mean_ms`, one
    /// row per interval, an empty field for a null latency.
    pub fn to_csv(&self) -> String {
        let mut out =
            String::from("start_s,started,completed,ok,errors,in_flight,p50_ms,p99_ms,mean_ms\n");
        let field = |ms: Option<f64>| ms.map(|ms| ms.to_string()).unwrap_or_default();
        for i in &self.intervals {
            out.push_str(&format!(
                "{},{},{},{},{},{},{},{},{}\n",
                i.start_s,
                i.started,
                i.completed,
                i.ok,
                i.errors,
                i.in_flight,
                field(i.p50_ms),
                field(i.p99_ms),
                field(i.mean_ms)
            ));
        }
        out
    }
}

/// How a request ended, for [`Recorder::completed`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum Ending {
    /// A complete 2xx response, with its latency in microseconds.
    Ok(u64),
    /// A complete non-2xx response, with its latency in microseconds.
    NotOk(u64),
    /// A failure (connect, receive, timeout, exception): no latency.
    Failed,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Bucket {
    pub started: u64,
    pub completed: u64,
    pub ok: u64,
    pub errors: u64,
    /// Latencies of the complete responses; allocated on the first one.
    pub latency: Option<Histogram<u64>>,
}

impl Bucket {
    fn add(&mut self, other: Bucket) {
        self.started += other.started;
        self.completed += other.completed;
        self.ok += other.ok;
        self.errors += other.errors;
        match (&mut self.latency, other.latency) {
            (Some(mine), Some(theirs)) => {
                // Auto-resizing histograms of one precision: adding cannot fail.
                let _ = mine.add(&theirs);
            }
            (mine @ None, theirs) => *mine = theirs,
            (Some(_), None) => {}
        }
    }

    fn record_latency(&mut self, micros: u64) {
        let histogram = self.latency.get_or_insert_with(interval_histogram);
        // Auto-resizing: it grows to fit (saturating_record would clamp to its current
        // top instead); only an absurd value fails, and is then clamped.
        if histogram.record(micros).is_err() {
            histogram.saturating_record(micros);
        }
    }
}

/// Records a timeline at a fixed width, coalescing past [`MAX_INTERVALS`].
#[derive(Debug, Clone)]
pub(crate) struct Recorder {
    width_ns: u64,
    buckets: Vec<Bucket>,
}

impl Recorder {
    pub fn new(width: Duration) -> Recorder {
        let width_ns = u64::try_from(width.as_nanos()).unwrap_or(u64::MAX).max(1);
        Recorder {
            width_ns,
            buckets: Vec::new(),
        }
    }

    /// Rebuilds a recorder from its parts (merging reports).
    pub fn from_parts(width_ns: u64, buckets: Vec<Bucket>) -> Recorder {
        let mut recorder = Recorder {
            width_ns: width_ns.max(1),
            buckets,
        };
        while recorder.buckets.len() > MAX_INTERVALS {
            recorder.coalesce();
        }
        recorder
    }

    pub fn width_ns(&self) -> u64 {
        self.width_ns
    }

    /// The bucket for `offset` from the run's start, coalescing first if it lies
    /// beyond the cap.
    fn bucket(&mut self, offset: Duration) -> &mut Bucket {
        let offset_ns = u64::try_from(offset.as_nanos()).unwrap_or(u64::MAX);
        let mut index = offset_ns / self.width_ns;
        while index >= MAX_INTERVALS as u64 {
            self.coalesce();
            index = offset_ns / self.width_ns;
        }
        let index = index as usize;
        if self.buckets.len() <= index {
            self.buckets.resize_with(index + 1, Bucket::default);
        }
        &mut self.buckets[index]
    }

    /// A request was sent at `offset` from the run's start.
    pub fn started(&mut self, offset: Duration) {
        self.bucket(offset).started += 1;
    }

    /// A request ended at `offset` from the run's start.
    pub fn completed(&mut self, offset: Duration, ending: Ending) {
        let bucket = self.bucket(offset);
        bucket.completed += 1;
        match ending {
            Ending::Ok(micros) => {
                bucket.ok += 1;
                bucket.record_latency(micros);
            }
            Ending::NotOk(micros) => {
                bucket.errors += 1;
                bucket.record_latency(micros);
            }
            Ending::Failed => bucket.errors += 1,
        }
    }

    /// Makes the timeline reach `end` (the run's length), with empty intervals if
    /// nothing happened at its tail.
    pub fn extend_to(&mut self, end: Duration) {
        let end_ns = u64::try_from(end.as_nanos()).unwrap_or(u64::MAX);
        // The interval holding the instant just before `end`, and at least one.
        let last = end_ns.saturating_sub(1) / self.width_ns;
        let _ = self.bucket(Duration::from_nanos(last * self.width_ns));
    }

    /// Doubles the width, merging intervals pairwise.
    fn coalesce(&mut self) {
        self.width_ns = self.width_ns.saturating_mul(2);
        let old = std::mem::take(&mut self.buckets);
        let mut merged = Vec::with_capacity(old.len().div_ceil(2));
        let mut pairs = old.into_iter();
        while let Some(mut first) = pairs.next() {
            if let Some(second) = pairs.next() {
                first.add(second);
            }
            merged.push(first);
        }
        self.buckets = merged;
    }

    /// Coalesces until the width is `width_ns`; false if it cannot be reached by
    /// doubling.
    pub fn coalesce_to(&mut self, width_ns: u64) -> bool {
        while self.width_ns < width_ns {
            self.coalesce();
        }
        self.width_ns == width_ns
    }

    /// Delays the whole timeline by `intervals` intervals (aligning a later start).
    pub fn shift(&mut self, intervals: usize) {
        let mut shifted = vec![Bucket::default(); intervals];
        shifted.append(&mut self.buckets);
        self.buckets = shifted;
        while self.buckets.len() > MAX_INTERVALS {
            self.coalesce();
        }
    }

    /// Adds `other` in, at the wider of the two widths. Widths always differ by a
    /// power of two between recorders of one run; otherwise this returns false and
    /// adds nothing.
    pub fn merge(&mut self, other: &Recorder) -> bool {
        let width = self.width_ns.max(other.width_ns);
        let reachable = |from: u64| width % from == 0 && (width / from).is_power_of_two();
        if !(reachable(self.width_ns) && reachable(other.width_ns)) {
            return false;
        }
        let mut other = other.clone();
        self.coalesce_to(width);
        other.coalesce_to(width);
        if self.buckets.len() < other.buckets.len() {
            self.buckets
                .resize_with(other.buckets.len(), Bucket::default);
        }
        for (mine, theirs) in self.buckets.iter_mut().zip(other.buckets) {
            mine.add(theirs);
        }
        true
    }

    pub fn buckets(&self) -> &[Bucket] {
        &self.buckets
    }

    /// The timeline for the report.
    pub fn timeline(&self) -> Timeline {
        let width_s = self.width_ns as f64 / 1e9;
        let mut in_flight: u64 = 0;
        let ms = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
        let intervals = self
            .buckets
            .iter()
            .enumerate()
            .map(|(index, b)| {
                in_flight = (in_flight + b.started).saturating_sub(b.completed);
                let latency = b.latency.as_ref().filter(|h| !h.is_empty());
                Interval {
                    start_s: index as f64 * width_s,
                    started: b.started,
                    completed: b.completed,
                    ok: b.ok,
                    errors: b.errors,
                    in_flight,
                    p50_ms: latency.map(|h| ms(h, 0.50)),
                    p99_ms: latency.map(|h| ms(h, 0.99)),
                    mean_ms: latency.map(|h| h.mean() / 1000.0),
                }
            })
            .collect();
        Timeline {
            interval_s: width_s,
            intervals,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn running_totals_add_up_to_each_interval_s_end() {
        let mut r = Recorder::new(ms(100));
        r.completed(ms(20), Ending::Ok(1_000));
        r.completed(ms(150), Ending::NotOk(1_000));
        r.completed(ms(160), Ending::Ok(1_000));
        r.completed(ms(250), Ending::Failed);
        let totals: Vec<(f64, u64, u64, u64)> = r
            .timeline()
            .running_totals()
            .iter()
            .map(|t| ((t.end_s * 1000.0).round(), t.completed, t.ok, t.errors))
            .collect();
        assert_eq!(
            totals,
            [(100.0, 1, 1, 0), (200.0, 3, 2, 1), (300.0, 4, 2, 2)]
        );
    }

    #[test]
    fn counts_land_in_their_intervals() {
        let mut r = Recorder::new(ms(100));
        r.started(ms(5));
        r.started(ms(50));
        r.completed(ms(120), Ending::Ok(2_000));
        r.started(ms(130));
        r.completed(ms(250), Ending::NotOk(4_000));
        r.extend_to(ms(400));
        r.completed(ms(260), Ending::Failed);
        let t = r.timeline();
        assert_eq!(t.interval_s, 0.1);
        let rows: Vec<_> = t
            .intervals
            .iter()
            .map(|i| (i.started, i.completed, i.ok, i.errors, i.in_flight))
            .collect();
        assert_eq!(
            rows,
            [
                (2, 0, 0, 0, 2),
                (1, 1, 1, 0, 2),
                (0, 2, 0, 2, 0),
                (0, 0, 0, 0, 0)
            ]
        );
        assert_eq!(t.intervals[0].p50_ms, None);
        // Within the histograms' 1%.
        let near =
            |ms: Option<f64>, want: f64| ms.is_some_and(|ms| (ms - want).abs() <= want / 100.0);
        assert!(near(t.intervals[1].p50_ms, 2.0), "{:?}", t.intervals[1]);
        assert!(near(t.intervals[2].p99_ms, 4.0), "{:?}", t.intervals[2]);
    }

    #[test]
    fn extends_to_the_end_exactly() {
        let mut r = Recorder::new(ms(100));
        r.extend_to(ms(300));
        assert_eq!(r.timeline().intervals.len(), 3);
        r.extend_to(ms(301));
        assert_eq!(r.timeline().intervals.len(), 4);
        let mut r = Recorder::new(ms(100));
        r.extend_to(Duration::ZERO);
        assert_eq!(r.timeline().intervals.len(), 1);
    }

    #[test]
    fn coalesces_within_the_cap_and_keeps_counts() {
        let mut r = Recorder::new(ms(1));
        for i in 0..10_000u64 {
            r.started(ms(i));
            r.completed(ms(i), Ending::Ok(1_000 + i));
        }
        let t = r.timeline();
        assert!(t.intervals.len() <= MAX_INTERVALS);
        assert_eq!(t.interval_s, 0.008, "1 ms doubled three times");
        assert_eq!(t.intervals.iter().map(|i| i.started).sum::<u64>(), 10_000);
        assert_eq!(t.intervals.iter().map(|i| i.completed).sum::<u64>(), 10_000);
        assert_eq!(t.intervals[0].started, 8);
    }

    #[test]
    fn merging_aligns_widths() {
        let mut a = Recorder::new(ms(1));
        let mut b = Recorder::new(ms(1));
        a.started(ms(3000)); // forces a to coalesce to 2 ms
        b.started(ms(1));
        b.started(ms(2));
        assert!(a.merge(&b));
        assert_eq!(a.width_ns(), 2_000_000);
        let t = a.timeline();
        assert_eq!(t.intervals[0].started, 1);
        assert_eq!(t.intervals[1].started, 1);
        assert_eq!(t.intervals.iter().map(|i| i.started).sum::<u64>(), 3);
        let odd = Recorder::new(ms(3));
        assert!(!a.merge(&odd));
    }
}
