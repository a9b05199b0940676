//! A scrape's numbers ([`Snapshot`]) and their encoding by `prometheus-client`, as a
//! custom [`Collector`], in the Prometheus text format 0.0.4 ([`super::CONTENT_TYPE`]).

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use super::{Dependency, Gauge};

/// The numbers of one scrape, encoded by `prometheus-client` as a [`Collector`].
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub in_flight: i64,
    /// The calls to each dependency the service has.
    pub calls: Vec<CallsSnapshot>,
    /// `(status code, completed requests)`, codes seen at least once.
    pub by_status: Vec<(u16, u64)>,
    /// `(upper bound, requests)`, not cumulative; the last bound is +Inf.
    pub buckets: Vec<(f64, u64)>,
    /// Seconds, all requests together.
    pub sum: f64,
    pub gauges: Vec<Gauge>,
    /// The service's processes (`None` where `/proc` has no such process).
    pub process: Option<ProcessSnapshot>,
}

/// What the service's processes cost, at one scrape.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcessSnapshot {
    pub cpu_seconds: f64,
    pub resident_bytes: u64,
    pub threads: u64,
}

impl ProcessSnapshot {
    /// `root` and its children, from `/proc`.
    pub fn of(root: i32) -> Option<ProcessSnapshot> {
        let usage = crate::procfs::own_usage(root, crate::procfs::Forks::MainThread);
        (usage.processes > 0).then(|| ProcessSnapshot {
            cpu_seconds: crate::procfs::ticks_to_ms(usage.cpu_ticks) / 1000.0,
            resident_bytes: usage.rss_bytes,
            threads: usage.threads,
        })
    }
}

/// The calls to one [`Dependency`] in a [`Snapshot`].
#[derive(Debug, Clone)]
pub struct CallsSnapshot {
    pub dependency: Dependency,
    pub in_flight: i64,
    /// As [`Snapshot::buckets`].
    pub buckets: Vec<(f64, u64)>,
    pub sum: f64,
}

impl Snapshot {
    /// Requests in the histogram: the sum of its buckets.
    pub fn count(&self) -> u64 {
        self.buckets.iter().map(|(_, count)| count).sum()
    }

    /// The Prometheus text exposition (format 0.0.4, [`super::CONTENT_TYPE`]).
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
        for calls in &self.calls {
            let [gauge_name, gauge_help, histogram_name, histogram_help] = calls.dependency.names();
            gauge(&mut encoder, gauge_name, gauge_help, calls.in_flight)?;
            let count = calls.buckets.iter().map(|(_, count)| count).sum();
            let mut histogram = encoder.encode_descriptor(
                histogram_name,
                histogram_help,
                None,
                MetricType::Histogram,
            )?;
            histogram.encode_histogram::<NoLabelSet>(calls.sum, count, &calls.buckets, None)?;
        }
        for extra in &self.gauges {
            gauge(&mut encoder, extra.name, extra.help, extra.value)?;
        }
        if let Some(process) = &self.process {
            let cpu = ConstCounter::new(process.cpu_seconds);
            let metric = encoder.encode_descriptor(
                "process_cpu_seconds",
                "User and system CPU time of the service's processes, in seconds.",
                None,
                cpu.metric_type(),
            )?;
            cpu.encode(metric)?;
            let as_gauge = |value: u64| i64::try_from(value).unwrap_or(i64::MAX);
            gauge(
                &mut encoder,
                "process_resident_memory_bytes",
                "Resident memory of the service's processes, in bytes.",
                as_gauge(process.resident_bytes),
            )?;
            gauge(
                &mut encoder,
                "process_threads",
                "Threads of the service's processes.",
                as_gauge(process.threads),
            )?;
        }
        Ok(())
    }
}
