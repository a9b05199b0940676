//! What a load is measured against: a topology this process started ([`kit::stack`]),
//! whose processes are read from `/proc`, or a service that runs elsewhere (another
//! container, for `lab live` in the compose overlay), whose processes are what its
//! `/metrics` says (`process_cpu_seconds_total`, `process_resident_memory_bytes`,
//! `process_threads`).

use std::net::SocketAddr;
use std::time::Duration;

use kit::procfs::{self, Usage};
use kit::scrape::ServerSample;
use kit::stack::Stack;

/// The topology a load meets.
pub enum Target {
    /// Started by this process, on loopback ports; stopped after the load.
    Local(Box<Stack>),
    /// Running elsewhere; left running.
    Remote(Remote),
}

/// A service that runs elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    /// Its base URL, `http://app_async:3000/` (the load adds `?delay=`).
    pub url: String,
    /// Where its `/metrics` answers (`METRICS_PORT`), if anywhere.
    pub metrics: Option<SocketAddr>,
}

impl From<Stack> for Target {
    fn from(stack: Stack) -> Target {
        Target::Local(Box::new(stack))
    }
}

impl Target {
    /// The URL a load with `?delay=delay` asks for.
    pub fn url(&self, delay: Duration) -> String {
        match self {
            Target::Local(stack) => stack.url(delay),
            Target::Remote(remote) => format!("{}?delay={}", remote.url, delay.as_secs_f64()),
        }
    }

    /// Where the app's `/metrics` answers.
    pub fn metrics(&self) -> Option<SocketAddr> {
        match self {
            Target::Local(stack) => stack
                .metrics_port
                .map(|port| SocketAddr::from(([127, 0, 0, 1], port))),
            Target::Remote(remote) => remote.metrics,
        }
    }

    /// How the app's processes are read.
    pub fn probe(&self) -> Probe {
        match self {
            Target::Local(stack) => Probe::Pid(stack.app_pid()),
            Target::Remote(remote) => Probe::Metrics(remote.metrics),
        }
    }

    /// Stops what this process started (nothing, for a remote service).
    pub fn stop(self) {
        if let Target::Local(stack) = self {
            stack.stop();
        }
    }
}

/// How an app's processes are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// From `/proc`: the tree of this process id.
    Pid(i32),
    /// From the `process_*` series of its `/metrics` (`None`: it has none, so nothing).
    Metrics(Option<SocketAddr>),
}

impl Probe {
    /// The process to sample from `/proc`, if the app is local.
    pub fn pid(self) -> Option<i32> {
        match self {
            Probe::Pid(pid) => Some(pid),
            Probe::Metrics(_) => None,
        }
    }

    /// The app's processes now: from `/proc`, or a scrape of its `/metrics`.
    pub fn usage(self) -> Usage {
        match self {
            Probe::Pid(pid) => procfs::usage(pid),
            Probe::Metrics(address) => {
                let sample = address
                    .and_then(kit::scrape::scrape_at)
                    .and_then(|page| ServerSample::from_page(0.0, &page));
                usage_from(sample.as_ref())
            }
        }
    }

    /// [`Probe::usage`] ten times a second, cheaply: a local tree through its main
    /// threads' `children` files (the services fork from them) instead of a walk of all
    /// of `/proc`, a remote app from a scrape already read (`latest`).
    pub fn glance(self, latest: Option<&ServerSample>) -> Usage {
        match self {
            Probe::Pid(pid) => procfs::own_usage(pid, procfs::Forks::MainThread),
            Probe::Metrics(_) => usage_from(latest),
        }
    }
}

/// What a `/metrics` page says of the service's processes (zeros where it says nothing).
pub fn usage_from(sample: Option<&ServerSample>) -> Usage {
    let Some(sample) = sample else {
        return Usage::default();
    };
    let ticks_per_second = procfs::ticks_and_page().0;
    let whole = |value: Option<f64>| value.map_or(0, |value| value.max(0.0).round() as u64);
    Usage {
        cpu_ticks: whole(sample.cpu_seconds.map(|seconds| seconds * ticks_per_second)),
        rss_bytes: whole(sample.resident_bytes),
        threads: whole(sample.threads),
        processes: u64::from(sample.threads.is_some()),
    }
}

/// The peaks of a remote app's memory and threads, from its scrapes.
pub fn peaks_from(samples: &[ServerSample]) -> procfs::Peaks {
    samples.iter().map(|sample| usage_from(Some(sample))).fold(
        procfs::Peaks::default(),
        |peaks, usage| procfs::Peaks {
            rss_bytes: peaks.rss_bytes.max(usage.rss_bytes),
            threads: peaks.threads.max(usage.threads),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(cpu: f64, rss: f64, threads: f64) -> ServerSample {
        let page = common::metrics::parse::parse(&format!(
            "http_requests_in_flight 0\nprocess_cpu_seconds_total {cpu}\n\
             process_resident_memory_bytes {rss}\nprocess_threads {threads}\n"
        ))
        .expect("the text format");
        ServerSample::from_page(0.0, &page).expect("a sample")
    }

    #[test]
    fn a_remote_apps_usage_is_what_its_metrics_say() {
        let usage = usage_from(Some(&sample(2.5, 1_048_576.0, 3.0)));
        let ticks_per_second = procfs::ticks_and_page().0;
        assert_eq!(usage.cpu_ticks, (2.5 * ticks_per_second).round() as u64);
        assert_eq!((usage.rss_bytes, usage.threads), (1_048_576, 3));
        assert_eq!(usage_from(None), Usage::default());
        let peaks = peaks_from(&[sample(1.0, 10.0, 2.0), sample(2.0, 30.0, 1.0)]);
        assert_eq!((peaks.rss_bytes, peaks.threads), (30, 2));
    }

    #[test]
    fn a_remote_url_gets_the_delay() {
        let target = Target::Remote(Remote {
            url: "http://app_async:3000/".into(),
            metrics: None,
        });
        assert_eq!(
            target.url(Duration::from_millis(500)),
            "http://app_async:3000/?delay=0.5"
        );
        assert_eq!(target.probe(), Probe::Metrics(None));
        assert_eq!(Probe::Metrics(None).usage(), Usage::default());
    }
}
