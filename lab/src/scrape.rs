//! The server's side of a row: `GET /metrics` (docs/reference.md, "Metrics") sampled
//! during the load, so that the timeline can put what the app says it holds in flight
//! beside what the client sees.
//!
//! The services expose the Prometheus text format; the lab reads the handful of series
//! it draws with [`parse`], which understands that format's sample lines (name,
//! optional labels, value) and skips comments.

use std::time::{Duration, Instant};

/// One sample line: `name{label="value",...} value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

/// The sample lines of a Prometheus text exposition; lines that are not samples
/// (comments, `# TYPE`, `# EOF`, blanks, anything malformed) are skipped.
pub fn parse(text: &str) -> Vec<Sample> {
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<Sample> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let name_end = line.find(|c: char| c == '{' || c.is_whitespace())?;
    let name = &line[..name_end];
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(after_brace) = rest.strip_prefix('{') {
        let (parsed, after) = parse_labels(after_brace)?;
        labels = parsed;
        rest = after;
    }
    let value = rest.split_whitespace().next()?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        other => other.parse().ok()?,
    };
    Some(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

/// `a="x",b="y\"z"}` -> the pairs and what follows the closing brace.
fn parse_labels(mut text: &str) -> Option<(Vec<(String, String)>, &str)> {
    let mut labels = Vec::new();
    loop {
        text = text.trim_start_matches([',', ' ']);
        if let Some(after) = text.strip_prefix('}') {
            return Some((labels, after));
        }
        let eq = text.find('=')?;
        let key = text[..eq].trim().to_owned();
        let mut chars = text[eq + 1..].char_indices();
        if chars.next()?.1 != '"' {
            return None;
        }
        let mut value = String::new();
        let mut escaped = false;
        let mut end = None;
        for (index, c) in chars {
            match (escaped, c) {
                (true, 'n') => value.push('\n'),
                (true, other) => value.push(other),
                (false, '\\') => {
                    escaped = true;
                    continue;
                }
                (false, '"') => {
                    end = Some(index);
                    break;
                }
                (false, other) => value.push(other),
            }
            escaped = false;
        }
        labels.push((key, value));
        text = &text[eq + 1 + end? + 1..];
    }
}

/// What one scrape of an app said, at `t_s` seconds after the load began.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct ServerSample {
    pub t_s: f64,
    /// `http_requests_in_flight`.
    pub in_flight: f64,
    /// `upstream_requests_in_flight` (calls to the slow API, or queries on app_pg).
    pub upstream_in_flight: Option<f64>,
    /// `http_requests_total`, all codes.
    pub requests_total: f64,
    /// `http_request_duration_seconds_sum`: the seconds spent serving the requests done.
    pub duration_sum_s: f64,
    /// `db_pool_in_use` and `db_pool_waiters` (app_pg).
    pub pool_in_use: Option<f64>,
    pub pool_waiters: Option<f64>,
    pub pool_size: Option<f64>,
}

impl ServerSample {
    /// The sample in `samples`, or `None` when they lack `http_requests_in_flight` (not
    /// one of the lab's services).
    pub fn from_samples(t_s: f64, samples: &[Sample]) -> Option<ServerSample> {
        let one = |name: &str| samples.iter().find(|s| s.name == name).map(|s| s.value);
        let sum = |name: &str| {
            samples
                .iter()
                .filter(|s| s.name == name)
                .map(|s| s.value)
                .sum::<f64>()
        };
        Some(ServerSample {
            t_s,
            in_flight: one("http_requests_in_flight")?,
            upstream_in_flight: one("upstream_requests_in_flight"),
            requests_total: sum("http_requests_total"),
            duration_sum_s: one("http_request_duration_seconds_sum").unwrap_or(0.0),
            pool_in_use: one("db_pool_in_use"),
            pool_waiters: one("db_pool_waiters"),
            pool_size: one("db_pool_size"),
        })
    }
}

/// `GET /metrics` on 127.0.0.1:port: the samples, or `None` when nothing answered 200.
pub fn scrape(port: u16) -> Option<Vec<Sample>> {
    let request = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    let (status, response) = crate::stack::raw_exchange(port, request.as_bytes())?;
    let body = response.split_once("\r\n\r\n")?.1;
    (status == 200).then(|| parse(body))
}

/// Scrapes an app's `/metrics` every `interval` on a thread until [`Scraper::finish`].
pub struct Scraper {
    stop: std::sync::mpsc::Sender<()>,
    thread: std::thread::JoinHandle<Vec<ServerSample>>,
}

impl Scraper {
    /// Starts scraping 127.0.0.1:port; times are measured from `origin` (the load's
    /// start). A scrape that fails (the app restarting in a chaos run) is a gap.
    pub fn start(port: u16, interval: Duration, origin: Instant) -> Scraper {
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            let mut samples = Vec::new();
            let mut next = Instant::now();
            loop {
                if let Some(scraped) = scrape(port) {
                    let t_s = origin.elapsed().as_secs_f64();
                    samples.extend(ServerSample::from_samples(t_s, &scraped));
                }
                // On schedule, not `interval` after each scrape: a slow scrape must not
                // stretch the series.
                next += interval;
                let wait = next.saturating_duration_since(Instant::now());
                match stopped.recv_timeout(wait) {
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                    // One last scrape after the load: the requests that ended since the
                    // previous one are in the counters.
                    Ok(()) => {
                        if let Some(scraped) = scrape(port) {
                            let t_s = origin.elapsed().as_secs_f64();
                            samples.extend(ServerSample::from_samples(t_s, &scraped));
                        }
                        return samples;
                    }
                    Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return samples,
                }
            }
        });
        Scraper { stop, thread }
    }

    /// Takes one last sample and returns them all, oldest first.
    pub fn finish(self) -> Vec<ServerSample> {
        let _ = self.stop.send(());
        self.thread.join().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_samples_labels_and_skips_the_rest() {
        let text = "# HELP http_requests_in_flight Requests being served.\n\
                    # TYPE http_requests_in_flight gauge\n\
                    http_requests_in_flight 3\n\
                    http_requests_total{code=\"200\"} 10\n\
                    http_requests_total{code=\"502\",path=\"a \\\"b\\\" c\"} 2\n\
                    http_request_duration_seconds_bucket{le=\"+Inf\"} 12\n\
                    http_request_duration_seconds_sum 12.5\n\
                    garbage{unclosed=\"x 1\n\
                    # EOF\n";
        let samples = parse(text);
        assert_eq!(samples.len(), 5, "{samples:?}");
        assert_eq!(samples[0].name, "http_requests_in_flight");
        assert_eq!(samples[0].value, 3.0);
        assert_eq!(
            samples[2].labels,
            vec![
                ("code".to_owned(), "502".to_owned()),
                ("path".to_owned(), "a \"b\" c".to_owned())
            ]
        );
        assert_eq!(
            samples[3].labels,
            vec![("le".to_owned(), "+Inf".to_owned())]
        );
        assert_eq!(samples[3].value, 12.0);
        assert_eq!(parse("x +Inf\n")[0].value, f64::INFINITY);
        let sample = ServerSample::from_samples(1.5, &samples).expect("a lab service");
        assert_eq!(sample.in_flight, 3.0);
        assert_eq!(sample.requests_total, 12.0);
        assert_eq!(sample.duration_sum_s, 12.5);
        assert_eq!(sample.pool_in_use, None);
        assert!(ServerSample::from_samples(0.0, &parse("other 1\n")).is_none());
    }
}
