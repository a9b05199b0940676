//! What to run: [`LoadSpec`], the library form of ab's command line, and its validation.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::{Method, Uri};

/// ab's default per-request timeout (`-s`), seconds.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// One load test, as ab's flags describe it.
///
/// Build one with [`LoadSpec::new`] and struct-update syntax:
///
/// ```
/// let spec = loadgen::LoadSpec {
///     requests: Some(2000),
///     concurrency: 200,
///     ..loadgen::LoadSpec::new("http://127.0.0.1:3000/?delay=1")
/// };
/// assert_eq!(spec.method, "GET");
/// ```
#[derive(Debug, Clone)]
pub struct LoadSpec {
    /// Target, `http://host[:port]/path?query` (no https: this is a loopback lab tool).
    pub url: String,
    /// `-n`: requests to perform. `None` = no count limit (then `time_limit` must be set).
    pub requests: Option<u64>,
    /// `-c`: requests in flight at once; one connection each. All start at once.
    pub concurrency: usize,
    /// `-t`: stop after this long; requests still in flight then are not counted
    /// (they are reported as `unfinished`). Unlike ab, it does not cap `-n` at 50,000.
    pub time_limit: Option<Duration>,
    /// `-k`: reuse connections (HTTP keep-alive). Without it every request opens a new
    /// connection and asks the server to close it (`Connection: close`), as ab does.
    pub keep_alive: bool,
    /// `-s`: per-request timeout, from send (connect included) to the last body byte.
    pub timeout: Duration,
    /// `-m`: HTTP method (`GET`, or `POST` when a body is given without a method).
    pub method: String,
    /// `-H`: extra headers, `(name, value)`; a `Host` here replaces the URL's.
    pub headers: Vec<(String, String)>,
    /// `-p`: request body.
    pub body: Option<Vec<u8>>,
    /// `-T`: the body's content type (ab's default `text/plain`).
    pub content_type: Option<String>,
    /// `--rate`: open-loop mode, requests per second. Request `i` is due at
    /// `start + i / rate`; latency counts from that due time (no coordinated omission).
    pub rate: Option<f64>,
    /// `--ramp-up`: start the `c` clients evenly over this long instead of all at once
    /// (client `i` sends its first request at `start + i / c x ramp_up`). A closed loop
    /// keeps the rhythm its clients start with: started together they come back
    /// together, round after round; spread over one upstream delay, they arrive as a
    /// steady stream. `None`: all at once, as ab.
    pub ramp_up: Option<Duration>,
    /// `-r`: keep going after socket errors. Without it, as ab, a receive error
    /// (reset, closed early) or more than 10 connect errors stops the test.
    pub continue_on_socket_error: bool,
    /// `-v`: 2 or more prints each failure to stderr.
    pub verbosity: u8,
}

impl LoadSpec {
    /// ab's defaults: one request, concurrency 1, no keep-alive, 30 s timeout, GET.
    pub fn new(url: impl Into<String>) -> LoadSpec {
        LoadSpec {
            url: url.into(),
            requests: Some(1),
            concurrency: 1,
            time_limit: None,
            keep_alive: false,
            timeout: DEFAULT_TIMEOUT,
            method: "GET".to_string(),
            headers: Vec::new(),
            body: None,
            content_type: None,
            rate: None,
            ramp_up: None,
            continue_on_socket_error: false,
            verbosity: 0,
        }
    }
}

/// Why a spec cannot run. [`LoadError::is_usage`] tells a caller's mistake (exit 2)
/// from the machine's (exit 1).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The URL does not parse or is not `http://host[:port]/...`.
    #[error("invalid URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    /// A field out of range (zero concurrency, a bad header, ...).
    #[error("{0}")]
    InvalidSpec(String),
    /// The host name does not resolve.
    #[error("cannot resolve {host}: {reason}")]
    Resolve { host: String, reason: String },
    /// Not enough file descriptors for the concurrency asked, even after raising the limit.
    #[error(
        "-c {concurrency} needs about {needed} open files but the limit is {limit} \
         (hard limit reached; raise it with `ulimit -Hn` as root or lower -c)"
    )]
    TooFewFiles {
        concurrency: usize,
        needed: u64,
        limit: u64,
    },
    /// The runtime could not start.
    #[error("cannot start the runtime: {0}")]
    Runtime(std::io::Error),
}

impl LoadError {
    /// True when the caller's input is wrong (ab's exit status for bad flags/URLs is 2
    /// in loadgen), false when the environment is.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            LoadError::InvalidUrl { .. } | LoadError::InvalidSpec(_)
        )
    }
}

/// A validated spec: everything the workers need, parsed once.
#[derive(Debug)]
pub(crate) struct Plan {
    pub host: String,
    pub port: u16,
    pub path: String,
    pub addr: SocketAddr,
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub requests: Option<u64>,
    pub concurrency: usize,
    pub time_limit: Option<Duration>,
    pub keep_alive: bool,
    pub timeout: Duration,
    pub rate: Option<f64>,
    pub ramp_up: Option<Duration>,
    pub continue_on_socket_error: bool,
    pub verbosity: u8,
}

/// Host, port and origin-form path of an `http://` URL.
pub(crate) fn parse_url(url: &str) -> Result<(String, u16, String), LoadError> {
    let invalid = |reason: &str| LoadError::InvalidUrl {
        url: url.to_string(),
        reason: reason.to_string(),
    };
    let uri: Uri = url
        .parse()
        .map_err(|err: http::uri::InvalidUri| invalid(&err.to_string()))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") => return Err(invalid("https is not supported (loopback lab tool)")),
        Some(other) => return Err(invalid(&format!("unsupported scheme {other:?}"))),
        None => return Err(invalid("expected http://host[:port]/path")),
    }
    let host = uri
        .host()
        .filter(|host| !host.is_empty())
        .ok_or_else(|| invalid("no host"))?;
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = uri.port_u16().unwrap_or(80);
    if port == 0 {
        return Err(invalid("port 0"));
    }
    let path = uri
        .path_and_query()
        .map(|pq| pq.as_str())
        .filter(|pq| !pq.is_empty())
        .unwrap_or("/");
    // ab requires a path too ("http://host/"); accept a bare host as "/".
    let path = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    };
    Ok((host, port, path))
}

impl LoadSpec {
    /// Checks every field and resolves the host, without sending anything: the same
    /// checks [`crate::run`] makes first.
    pub async fn validate(&self) -> Result<(), LoadError> {
        self.plan().await.map(|_| ())
    }

    /// Checks every field and resolves the host.
    pub(crate) async fn plan(&self) -> Result<Plan, LoadError> {
        let (host, port, path) = parse_url(&self.url)?;
        let spec_err = |msg: String| Err(LoadError::InvalidSpec(msg));
        if self.concurrency == 0 {
            return spec_err("concurrency (-c) must be at least 1".into());
        }
        if let Some(n) = self.requests {
            if n == 0 {
                return spec_err("number of requests (-n) must be at least 1".into());
            }
            if (self.concurrency as u64) > n {
                return spec_err(format!(
                    "cannot use concurrency level {} greater than total number of requests {n}",
                    self.concurrency
                ));
            }
        }
        match self.time_limit {
            Some(t) if t.is_zero() => return spec_err("time limit (-t) must be positive".into()),
            None if self.requests.is_none() => {
                return spec_err("give a number of requests (-n) or a time limit (-t)".into())
            }
            _ => {}
        }
        if self.timeout.is_zero() {
            return spec_err("timeout (-s) must be positive".into());
        }
        if let Some(rate) = self.rate {
            if !(rate.is_finite() && rate > 0.0) {
                return spec_err(format!("--rate must be a positive number, got {rate}"));
            }
        }
        if self.ramp_up.is_some() && self.rate.is_some() {
            return spec_err(
                "--ramp-up and --rate cannot be combined: --rate already spreads the requests"
                    .into(),
            );
        }
        let method = Method::from_bytes(self.method.as_bytes())
            .map_err(|_| LoadError::InvalidSpec(format!("invalid method {:?}", self.method)))?;

        let mut headers = HeaderMap::new();
        let host_header = if port == 80 {
            host.clone()
        } else if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let header_value = |raw: &str| {
            HeaderValue::from_str(raw)
                .map_err(|_| LoadError::InvalidSpec(format!("invalid header value {raw:?}")))
        };
        headers.insert(http::header::HOST, header_value(&host_header)?);
        headers.insert(
            http::header::USER_AGENT,
            HeaderValue::from_static(concat!("loadgen/", env!("CARGO_PKG_VERSION"))),
        );
        headers.insert(http::header::ACCEPT, HeaderValue::from_static("*/*"));
        if !self.keep_alive {
            headers.insert(http::header::CONNECTION, HeaderValue::from_static("close"));
        }
        let body = Bytes::from(self.body.clone().unwrap_or_default());
        if self.body.is_some() {
            let content_type = self.content_type.as_deref().unwrap_or("text/plain");
            headers.insert(http::header::CONTENT_TYPE, header_value(content_type)?);
        }
        for (name, value) in &self.headers {
            let name = HeaderName::from_bytes(name.trim().as_bytes())
                .map_err(|_| LoadError::InvalidSpec(format!("invalid header name {name:?}")))?;
            // -H replaces a default header of the same name (Host, User-Agent, Accept).
            headers.insert(name, header_value(value.trim())?);
        }
        let uri: Uri =
            path.parse()
                .map_err(|err: http::uri::InvalidUri| LoadError::InvalidUrl {
                    url: self.url.clone(),
                    reason: err.to_string(),
                })?;

        let addr = tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|err| LoadError::Resolve {
                host: host.clone(),
                reason: err.to_string(),
            })?
            .next()
            .ok_or_else(|| LoadError::Resolve {
                host: host.clone(),
                reason: "no addresses".into(),
            })?;

        Ok(Plan {
            host,
            port,
            path,
            addr,
            method,
            uri,
            headers,
            body,
            requests: self.requests,
            concurrency: self.concurrency,
            time_limit: self.time_limit,
            keep_alive: self.keep_alive,
            timeout: self.timeout,
            rate: self.rate,
            ramp_up: self.ramp_up.filter(|ramp| !ramp.is_zero()),
            continue_on_socket_error: self.continue_on_socket_error,
            verbosity: self.verbosity,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            parse_url("http://127.0.0.1:3000/?delay=1").unwrap(),
            ("127.0.0.1".into(), 3000, "/?delay=1".into())
        );
        assert_eq!(
            parse_url("http://localhost").unwrap(),
            ("localhost".into(), 80, "/".into())
        );
        assert_eq!(
            parse_url("http://[::1]:8080/a").unwrap(),
            ("::1".into(), 8080, "/a".into())
        );
        for bad in [
            "",
            "127.0.0.1:3000/",
            "https://x/",
            "ftp://x/",
            "http://",
            "http://x:0/",
            "not a url",
        ] {
            assert!(parse_url(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}
