//! The server's side of a row: `GET /metrics` (docs/reference.md, "Metrics") sampled
//! during the load, so that the timeline can put what the app says it holds in flight
//! beside what the client sees.
//!
//! The services expose the Prometheus text format; the lab reads it back with the
//! services' own reader, `common::metrics::parse`, and keeps the handful of series the
//! timeline draws.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use common::metrics::parse::{parse, Exposition};

use crate::repeat::Repeat;

/// What one scrape of an app said, at `t_s` seconds after the load began.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct ServerSample {
    pub t_s: f64,
    /// `http_requests_in_flight`.
    pub in_flight: f64,
    /// `upstream_requests_in_flight`: calls to the slow API.
    pub upstream_in_flight: Option<f64>,
    /// `db_queries_in_flight`: app_pg's database queries, waiting for a connection or
    /// running.
    pub db_in_flight: Option<f64>,
    /// `http_request_duration_seconds_sum`: the seconds spent serving the requests done.
    pub duration_sum_s: f64,
    /// `db_pool_in_use` and `db_pool_waiters` (app_pg).
    pub pool_in_use: Option<f64>,
    pub pool_waiters: Option<f64>,
    /// `process_cpu_seconds_total`, `process_resident_memory_bytes` and
    /// `process_threads`: the service's processes, as it reads them from its `/proc`.
    pub cpu_seconds: Option<f64>,
    pub resident_bytes: Option<f64>,
    pub threads: Option<f64>,
}

impl ServerSample {
    /// What `page` says, or `None` when it lacks `http_requests_in_flight` (not one of
    /// the lab's services).
    pub fn from_page(t_s: f64, page: &Exposition) -> Option<ServerSample> {
        let one = |name: &str| page.get(name, &[]);
        Some(ServerSample {
            t_s,
            in_flight: one("http_requests_in_flight")?,
            upstream_in_flight: one("upstream_requests_in_flight"),
            db_in_flight: one("db_queries_in_flight"),
            duration_sum_s: one("http_request_duration_seconds_sum").unwrap_or(0.0),
            pool_in_use: one("db_pool_in_use"),
            pool_waiters: one("db_pool_waiters"),
            cpu_seconds: one("process_cpu_seconds_total"),
            resident_bytes: one("process_resident_memory_bytes"),
            threads: one("process_threads"),
        })
    }
}

/// `GET /metrics` of a service at `address`, parsed; `None` when nothing answered 200
/// in the text format.
pub fn scrape_at(address: SocketAddr) -> Option<Exposition> {
    let request = "GET /metrics HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n\r\n";
    let (status, response) = crate::stack::raw_exchange_at(address, request.as_bytes())?;
    let body = response.split_once("\r\n\r\n")?.1;
    (status == 200).then(|| parse(body).ok()).flatten()
}

/// Scrapes an app's `/metrics` every `interval` on a thread until [`Scraper::finish`].
pub struct Scraper {
    samples: Arc<Mutex<Vec<ServerSample>>>,
    latest: Latest,
    repeat: Repeat,
}

/// The last sample a [`Scraper`] took, shared with a live view.
#[derive(Debug, Clone, Default)]
pub struct Latest(Arc<Mutex<Option<ServerSample>>>);

impl Latest {
    /// The last sample so far (`None` before the first scrape).
    pub fn get(&self) -> Option<ServerSample> {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn set(&self, sample: ServerSample) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(sample);
    }
}

impl Scraper {
    /// Starts scraping the service at `address`; times are measured from `origin` (the
    /// load's start). A scrape that fails (the app restarting in a chaos run) is a gap;
    /// the last one, after the load, has the requests that ended since the one before.
    pub fn start_at(address: SocketAddr, interval: Duration, origin: Instant) -> Scraper {
        let samples = Arc::new(Mutex::new(Vec::new()));
        let latest = Latest::default();
        let repeat = {
            let (samples, latest) = (Arc::clone(&samples), latest.clone());
            Repeat::start("scraper", interval, move |_| {
                let Some(scraped) = scrape_at(address) else {
                    return;
                };
                let t_s = origin.elapsed().as_secs_f64();
                if let Some(sample) = ServerSample::from_page(t_s, &scraped) {
                    latest.set(sample);
                    samples
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(sample);
                }
            })
        };
        Scraper {
            samples,
            latest,
            repeat,
        }
    }

    /// A handle on the last sample, for a live view.
    pub fn latest(&self) -> Latest {
        self.latest.clone()
    }

    /// Takes one last sample and returns them all, oldest first.
    pub fn finish(self) -> Vec<ServerSample> {
        self.repeat.stop();
        std::mem::take(&mut *self.samples.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_gives_the_series_the_timeline_draws() {
        let text = "# TYPE http_requests_in_flight gauge\n\
                    http_requests_in_flight 3\n\
                    http_requests_total{code=\"200\"} 10\n\
                    http_requests_total{code=\"502\"} 2\n\
                    http_request_duration_seconds_bucket{le=\"+Inf\"} 12\n\
                    http_request_duration_seconds_sum 12.5\n\
                    db_pool_in_use 16\n\
                    db_queries_in_flight 20\n";
        let page = parse(text).expect("the text format");
        let sample = ServerSample::from_page(1.5, &page).expect("a lab service");
        assert_eq!(sample.t_s, 1.5);
        assert_eq!(sample.in_flight, 3.0);
        assert_eq!(sample.duration_sum_s, 12.5);
        assert_eq!(sample.pool_in_use, Some(16.0));
        assert_eq!(sample.upstream_in_flight, None);
        assert_eq!(sample.db_in_flight, Some(20.0));
        let other = parse("other 1\n").expect("the text format");
        assert!(ServerSample::from_page(0.0, &other).is_none());
    }
}
