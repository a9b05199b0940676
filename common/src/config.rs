//! Flags and environment variables shared by the app services (`app_*`).
//!
//! The names are fixed (docs/reference.md); scripts, compose files and docs rely on them.
//! Each is a flag and an environment variable, and the flag wins when both are given.

use std::net::IpAddr;
use std::time::Duration;

/// Every environment variable a lab service reads (besides `RUST_LOG`). Test harnesses
/// and the benchmark runner clear them so that a developer's shell cannot change a run.
pub const SERVICE_VARIABLES: &[&str] = &[
    "HOST",
    "PORT",
    "MAX_DELAY",
    "PORT_APP",
    "PORT_API",
    "API_URL",
    "WORKERS",
    "THREADS",
    "PROTOCOL",
    "CLIENT",
    "DRIVER",
    "DATABASE_URL",
    "POOL_SIZE",
    "POOL_WAIT_TIMEOUT",
    "POOL_RECYCLE_TIMEOUT",
    "DB_CONNECT_TIMEOUT",
    "DB_TIMEOUT",
    "UPSTREAM_TIMEOUT",
    "SHUTDOWN_TIMEOUT",
    "READ_TIMEOUT",
    "METRICS_PORT",
];

/// Where an app listens, where its upstream is, and how long it waits.
#[derive(clap::Args, Debug, Clone)]
pub struct AppArgs {
    /// Address to bind (compose sets 0.0.0.0).
    #[arg(long, env = "HOST", default_value = "127.0.0.1")]
    pub host: IpAddr,

    /// Port to listen on.
    #[arg(long, env = "PORT_APP", default_value_t = 3000)]
    pub port_app: u16,

    /// Upstream (slow API) port, used when --api-url is not given.
    #[arg(long, env = "PORT_API", default_value_t = 4000)]
    pub port_api: u16,

    /// Upstream base URL [default: http://127.0.0.1:$PORT_API/].
    #[arg(long, env = "API_URL", value_parser = parse_api_url)]
    pub api_url: Option<String>,

    /// Seconds before an upstream call is answered with 504.
    #[arg(long, env = "UPSTREAM_TIMEOUT", default_value = "30", value_parser = parse_seconds)]
    pub upstream_timeout: Duration,

    /// Seconds that SIGTERM/SIGINT wait for in-flight requests before exiting anyway.
    #[arg(long, env = "SHUTDOWN_TIMEOUT", default_value = "30", value_parser = parse_seconds)]
    pub shutdown_timeout: Duration,

    /// Also serve GET /metrics and GET /healthz over plain HTTP on this port (on HOST);
    /// the only HTTP there is with PROTOCOL=uwsgi. Unset: /metrics on the main port only.
    #[arg(long, env = "METRICS_PORT")]
    pub metrics_port: Option<u16>,
}

impl AppArgs {
    /// The upstream base URL, always ending in `/` so that `?delay=` can be appended.
    pub fn api_url(&self) -> String {
        match &self.api_url {
            Some(url) => url.clone(),
            None => format!("http://127.0.0.1:{}/", self.port_api),
        }
    }
}

/// A non-negative, finite number of seconds (`0.5`, `30`).
pub fn parse_seconds(raw: &str) -> Result<Duration, String> {
    let seconds: f64 = raw
        .parse()
        .map_err(|_| format!("{raw:?} is not a number of seconds"))?;
    Duration::try_from_secs_f64(seconds)
        .map_err(|_| format!("{raw:?} must be a finite, non-negative number of seconds"))
}

/// Writes a duration as [`parse_seconds`] reads it: a number of seconds (`0.05`, `1`),
/// for `#[serde(serialize_with = ...)]` where a JSON field says seconds.
pub fn serialize_seconds<S: serde::Serializer>(
    duration: &Duration,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64(duration.as_secs_f64())
}

/// An `http://host[:port][/path]` URL, normalised to end with `/` when it has no path.
///
/// Only plain HTTP: the lab's upstream is a local service, and no TLS stack is built in.
pub fn parse_api_url(raw: &str) -> Result<String, String> {
    let rest = raw
        .strip_prefix("http://")
        .ok_or_else(|| format!("{raw:?} must start with http://"))?;
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.is_empty() || authority.contains(['?', '#', ' ', '@']) {
        return Err(format!("{raw:?} has no usable host"));
    }
    if rest.contains(['?', '#']) {
        return Err(format!(
            "{raw:?} must not carry a query or fragment; ?delay= is appended"
        ));
    }
    if rest.contains('/') {
        Ok(raw.to_owned())
    } else {
        Ok(format!("{raw}/"))
    }
}

/// A positive count (workers, pool size).
pub fn parse_positive(raw: &str) -> Result<usize, String> {
    match raw.parse::<usize>() {
        Ok(0) => Err("must be at least 1".to_owned()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("{raw:?} is not a whole number")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds() {
        assert_eq!(parse_seconds("0.5"), Ok(Duration::from_millis(500)));
        assert!(parse_seconds("-1").is_err());
        assert!(parse_seconds("inf").is_err());
        assert!(parse_seconds("abc").is_err());
    }

    #[test]
    fn api_urls() {
        assert_eq!(
            parse_api_url("http://slow_api:4000").as_deref(),
            Ok("http://slow_api:4000/")
        );
        assert_eq!(
            parse_api_url("http://127.0.0.1:4000/").as_deref(),
            Ok("http://127.0.0.1:4000/")
        );
        assert!(parse_api_url("https://x/").is_err());
        assert!(parse_api_url("http:///").is_err());
        assert!(parse_api_url("http://x/?delay=3").is_err());
        assert!(parse_api_url("slow_api:4000").is_err());
    }

    #[test]
    fn positive() {
        assert_eq!(parse_positive("4"), Ok(4));
        assert!(parse_positive("0").is_err());
        assert!(parse_positive("-2").is_err());
    }
}

// The three choices the lesson turns on, declared once: the services parse them from
// their flags and variables, and the lab's scenario table names them when it starts a
// service (`as_env` is the value a compose file sets).

/// The wire protocol an app speaks (`PROTOCOL`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    /// HTTP/1.0 and HTTP/1.1.
    Http,
    /// The uwsgi binary protocol ([`crate::uwsgi`]), one request per connection.
    Uwsgi,
}

/// How app_async's handler calls the upstream (`CLIENT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Client {
    /// awc: the wait yields to the event loop.
    Async,
    /// A blocking client inside the handler: the wait blocks the event loop.
    Blocking,
    /// The blocking client on a thread pool: the event loop stays free.
    Offload,
}

/// How app_pg's handler talks to PostgreSQL (`DRIVER`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Driver {
    /// tokio-postgres through a deadpool-postgres pool: waiting yields to the loop.
    Async,
    /// The synchronous `postgres` crate inside the handler: waiting blocks the loop.
    Blocking,
}

impl Protocol {
    /// The value `PROTOCOL` takes (what a compose file sets).
    pub fn as_env(self) -> &'static str {
        match self {
            Protocol::Http => "http",
            Protocol::Uwsgi => "uwsgi",
        }
    }
}

impl Client {
    /// The value `CLIENT` takes.
    pub fn as_env(self) -> &'static str {
        match self {
            Client::Async => "async",
            Client::Blocking => "blocking",
            Client::Offload => "offload",
        }
    }
}

impl Driver {
    /// The value `DRIVER` takes.
    pub fn as_env(self) -> &'static str {
        match self {
            Driver::Async => "async",
            Driver::Blocking => "blocking",
        }
    }
}

#[cfg(test)]
mod choices {
    use super::*;
    use clap::ValueEnum;

    /// `as_env` is the name clap parses, so the lab's variables reach the services intact.
    #[test]
    fn env_values_parse_back() {
        for protocol in Protocol::value_variants() {
            assert_eq!(Protocol::from_str(protocol.as_env(), false), Ok(*protocol));
        }
        for client in Client::value_variants() {
            assert_eq!(Client::from_str(client.as_env(), false), Ok(*client));
        }
        for driver in Driver::value_variants() {
            assert_eq!(Driver::from_str(driver.as_env(), false), Ok(*driver));
        }
    }
}
