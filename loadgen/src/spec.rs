//! What to run: [`LoadSpec`], the library form of ab's command line, and its validation.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::{Method, Uri};

use crate::error::LoadError;
use crate::schedule::{ClientRamp, RateSchedule, RateStage};

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
    /// `-n`: requests to perform. `None` = no count limit (then `time_limit` or
    /// `rate_stages` must be set).
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
    /// `--rate-stages`: open-loop mode in stages, one rate after another (empty: none).
    /// Request `i` is due when [`RateSchedule::due`] says, its latency counts from then
    /// as with `rate`, and the load ends with the last stage (an implicit time limit of
    /// their summed durations; `time_limit` and `requests` may end it earlier). Not
    /// with `rate`.
    pub rate_stages: Vec<RateStage>,
    /// `--ramp-up`: start the `c` clients evenly over this long instead of all at once
    /// (client `i` sends its first request at `start + i / c x ramp_up`). A closed loop
    /// keeps the rhythm its clients start with: started together they come back
    /// together, round after round; spread over one upstream delay, they arrive as a
    /// steady stream. `None`: all at once, as ab.
    pub ramp_up: Option<Duration>,
    /// `--ramp A:B:T`: a client ramp from `from` (A) clients to `concurrency` (B) over
    /// `over` (T); see [`ClientRamp`]. Not with `ramp_up`, `rate` or `rate_stages`.
    pub ramp: Option<ClientRamp>,
    /// `-r`: keep going after socket errors. Without it, as ab, a receive error
    /// (reset, closed early) or more than 10 connect errors stops the test.
    pub continue_on_socket_error: bool,
    /// `-v`: 2 or more prints each failure to stderr.
    pub verbosity: u8,
    /// `--interval`: the width of the report's timeline intervals (at least 1 ms; it
    /// doubles as often as needed to keep at most 2,048 intervals).
    pub timeline_interval: Duration,
    /// `--shard I/K`: this spec is shard I of K of a load sent from K hosts. `requests`
    /// and `concurrency` are this shard's shares already ([`Shard::split`] makes them),
    /// and so is `ramp`'s `from`; `rate` and `rate_stages` stay the *total* rates, and
    /// this shard sends the requests of the total schedule whose number is `I - 1`
    /// modulo K, so the K schedules interleave into exactly the unsharded one.
    pub shard: Option<Shard>,
    /// `--start-at`: wall-clock time to start the load at (so that shards on several
    /// hosts start together). More than [`START_AT_TOLERANCE`] in the past is a usage
    /// error.
    pub start_at: Option<SystemTime>,
}

/// How far in the past `--start-at` may be (a shard started a moment late) before it
/// is refused.
pub const START_AT_TOLERANCE: Duration = Duration::from_secs(1);

/// Shard `index` (1-based) of `count`: one host's part of a load sent from several.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// I, from 1 to `count`.
    pub index: u64,
    /// K, at least 1.
    pub count: u64,
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl std::str::FromStr for Shard {
    type Err = String;

    /// `I/K`, with 1 <= I <= K.
    fn from_str(raw: &str) -> Result<Shard, String> {
        let bad = || format!("{raw:?} is not a shard I/K with 1 <= I <= K (e.g. 1/3)");
        let (index, count) = raw.split_once('/').ok_or_else(bad)?;
        let index: u64 = index.trim().parse().map_err(|_| bad())?;
        let count: u64 = count.trim().parse().map_err(|_| bad())?;
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl Shard {
    /// This shard's share of `total`: `total / K`, plus one for the first
    /// `total % K` shards, so the K shares sum to `total` exactly. Shard I's share of
    /// requests is also the number of `0..total` equal to `I - 1` modulo K.
    pub fn share(&self, total: u64) -> u64 {
        total / self.count + u64::from(self.index - 1 < total % self.count)
    }

    /// The number, in the unsharded schedule, of this shard's `local`-th request
    /// (`--rate`: it is due at `global / rate`; `--rate-stages`: at
    /// [`RateSchedule::due`]`(global)`).
    pub fn global_ticket(&self, local: u64) -> u64 {
        (self.index - 1).saturating_add(local.saturating_mul(self.count))
    }

    /// `spec` (the whole load) cut to this shard: its share of `concurrency`,
    /// `requests` and a ramp's `from`, the total `rate` and `rate_stages` kept and the
    /// ramp's `over` too (see [`LoadSpec::shard`]). A share of no clients or no
    /// requests is a usage error.
    pub fn split(&self, spec: &LoadSpec) -> Result<LoadSpec, LoadError> {
        let concurrency = self.share(spec.concurrency as u64);
        if concurrency == 0 {
            return Err(LoadError::InvalidSpec(format!(
                "--shard {self} gets no client of -c {}: use at most {} shards or raise -c",
                spec.concurrency, spec.concurrency
            )));
        }
        let requests = match spec.requests {
            Some(n) if self.share(n) == 0 => {
                return Err(LoadError::InvalidSpec(format!(
                    "--shard {self} gets no request of -n {n}: use at most {n} shards or raise -n"
                )))
            }
            Some(n) => Some(self.share(n)),
            None => None,
        };
        let ramp = spec.ramp.map(|ramp| ClientRamp {
            from: usize::try_from(self.share(ramp.from as u64)).unwrap_or(usize::MAX),
            ..ramp
        });
        Ok(LoadSpec {
            concurrency: usize::try_from(concurrency).unwrap_or(usize::MAX),
            requests,
            ramp,
            shard: Some(*self),
            ..spec.clone()
        })
    }
}

/// Parses `--start-at`: Unix epoch seconds with an optional fraction
/// (`1795000000.25`) or an RFC 3339 time (`2026-11-18T10:00:00Z`).
pub fn parse_start_at(raw: &str) -> Result<SystemTime, String> {
    let raw = raw.trim();
    if let Ok(seconds) = raw.parse::<f64>() {
        if (0.0..1e11).contains(&seconds) {
            return Ok(SystemTime::UNIX_EPOCH + Duration::from_secs_f64(seconds));
        }
    } else if let Ok(time) =
        time::OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339)
    {
        let nanos = time.unix_timestamp_nanos();
        if let Ok(nanos) = u64::try_from(nanos) {
            return Ok(SystemTime::UNIX_EPOCH + Duration::from_nanos(nanos));
        }
    }
    Err(format!(
        "{raw:?} is not a start time: give Unix epoch seconds (e.g. 1795000000.25) \
         or an RFC 3339 time (e.g. 2026-11-18T10:00:00Z)"
    ))
}

/// Seconds since the Unix epoch, as f64.
pub(crate) fn unix_seconds(time: SystemTime) -> f64 {
    match time.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(since) => since.as_secs_f64(),
        Err(before) => -before.duration().as_secs_f64(),
    }
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
            rate_stages: Vec::new(),
            ramp_up: None,
            ramp: None,
            continue_on_socket_error: false,
            verbosity: 0,
            timeline_interval: crate::timeline::DEFAULT_INTERVAL,
            shard: None,
            start_at: None,
        }
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
    /// The request's bytes on the wire, built once ([`crate::h1::encode_request`]).
    pub request: Vec<u8>,
    /// The method is `HEAD`: responses have no body whatever their head says.
    pub head_only: bool,
    pub requests: Option<u64>,
    pub concurrency: usize,
    pub time_limit: Option<Duration>,
    pub keep_alive: bool,
    pub timeout: Duration,
    pub rate: Option<f64>,
    /// `rate_stages`, with their due times.
    pub schedule: Option<RateSchedule>,
    pub ramp_up: Option<Duration>,
    pub ramp: Option<ClientRamp>,
    pub continue_on_socket_error: bool,
    pub verbosity: u8,
    pub timeline_interval: Duration,
    pub shard: Option<Shard>,
    pub start_at: Option<SystemTime>,
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
        let schedule = if self.rate_stages.is_empty() {
            None
        } else {
            Some(RateSchedule::new(&self.rate_stages)?)
        };
        match self.time_limit {
            Some(t) if t.is_zero() => return spec_err("time limit (-t) must be positive".into()),
            None if self.requests.is_none() && schedule.is_none() => {
                return spec_err(
                    "give a number of requests (-n), a time limit (-t) or --rate-stages".into(),
                )
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
        if self.rate.is_some() && schedule.is_some() {
            return spec_err("--rate and --rate-stages cannot be combined: give one".into());
        }
        if self.ramp_up.is_some() && schedule.is_some() {
            return spec_err(
                "--ramp-up and --rate-stages cannot be combined: the stages already spread \
                 the requests"
                    .into(),
            );
        }
        if let Some(ramp) = self.ramp {
            if self.ramp_up.is_some() {
                return spec_err("--ramp and --ramp-up cannot be combined: give one".into());
            }
            if self.rate.is_some() || schedule.is_some() {
                return spec_err(
                    "--ramp cannot be combined with --rate or --rate-stages: a ramp adds \
                     clients to a closed loop; an open loop sets its own pace"
                        .into(),
                );
            }
            if ramp.over.is_zero() {
                return spec_err("--ramp A:B:T: T must be positive".into());
            }
            // A shard's share of A may be all of its clients (they start at once).
            let room = if self.shard.is_some() {
                ramp.from <= self.concurrency
            } else {
                ramp.from < self.concurrency
            };
            if !room {
                return spec_err(format!(
                    "--ramp from {} clients must start below -c {} (A < B)",
                    ramp.from, self.concurrency
                ));
            }
        }
        if self.timeline_interval < crate::timeline::MIN_INTERVAL {
            return spec_err(format!(
                "--interval must be at least 1 ms, got {:?}",
                self.timeline_interval
            ));
        }
        if let Some(shard) = self.shard {
            if shard.index == 0 || shard.index > shard.count {
                return spec_err(format!("--shard {shard}: I must be from 1 to K"));
            }
        }
        if let Some(start_at) = self.start_at {
            if let Ok(late) = SystemTime::now().duration_since(start_at) {
                if late > START_AT_TOLERANCE {
                    return spec_err(format!(
                        "--start-at {:.3} is {:.3} s in the past (more than {} s): give a later time",
                        unix_seconds(start_at),
                        late.as_secs_f64(),
                        START_AT_TOLERANCE.as_secs()
                    ));
                }
            }
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
            request: crate::h1::encode_request(&method, &uri.to_string(), &headers, &body),
            head_only: method == Method::HEAD,
            method,
            requests: self.requests,
            concurrency: self.concurrency,
            keep_alive: self.keep_alive,
            timeout: self.timeout,
            rate: self.rate,
            // The load ends with the last stage, or earlier with -t.
            time_limit: match (self.time_limit, &schedule) {
                (Some(limit), Some(schedule)) => Some(limit.min(schedule.duration())),
                (None, Some(schedule)) => Some(schedule.duration()),
                (limit, None) => limit,
            },
            schedule,
            ramp_up: self.ramp_up.filter(|ramp| !ramp.is_zero()),
            ramp: self.ramp,
            continue_on_socket_error: self.continue_on_socket_error,
            verbosity: self.verbosity,
            timeline_interval: self.timeline_interval,
            shard: self.shard,
            start_at: self.start_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(rate: f64, seconds: f64) -> RateStage {
        RateStage {
            rate,
            duration: Duration::from_secs_f64(seconds),
        }
    }

    #[test]
    fn sharded_stage_schedules_interleave_into_the_unsharded_one() {
        let schedule = RateSchedule::new(&[stage(50.0, 1.0), stage(150.0, 1.0), stage(7.3, 3.0)])
            .expect("valid stages");
        let total = schedule.requests();
        assert_eq!(total, 50 + 150 + 22);
        let unsharded: Vec<Duration> = (0..total).filter_map(|i| schedule.due(i)).collect();
        for count in 1..=5u64 {
            let mut union: Vec<Duration> = Vec::new();
            for index in 1..=count {
                let shard = Shard { index, count };
                // A shard takes tickets until the schedule has no more (as the engine).
                let mine: Vec<Duration> = (0..)
                    .map_while(|local| schedule.due(shard.global_ticket(local)))
                    .collect();
                assert_eq!(mine.len() as u64, shard.share(total), "{shard}");
                union.extend(mine);
            }
            union.sort();
            assert_eq!(union, unsharded, "{count} shards");
        }
    }

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

    #[test]
    fn shard_strings() {
        assert_eq!("2/3".parse(), Ok(Shard { index: 2, count: 3 }));
        assert_eq!("1/1".parse(), Ok(Shard { index: 1, count: 1 }));
        for bad in ["0/2", "3/2", "x", "1/0", "1/", "/2", "1/2/3", "-1/2", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn shares_sum_to_the_totals() {
        for count in 1..=7u64 {
            for total in 0..=50u64 {
                let shares: Vec<u64> = (1..=count)
                    .map(|index| Shard { index, count }.share(total))
                    .collect();
                assert_eq!(shares.iter().sum::<u64>(), total, "{total} over {count}");
                let (min, max) = (shares.iter().min(), shares.iter().max());
                assert!(max.zip(min).is_some_and(|(max, min)| max - min <= 1));
                // Shard I's share of requests is exactly its tickets among 0..total.
                for (i, share) in shares.iter().enumerate() {
                    let tickets = (0..total).filter(|t| t % count == i as u64).count();
                    assert_eq!(*share, tickets as u64);
                }
            }
        }
    }

    #[test]
    fn rate_schedules_interleave_into_the_unsharded_one() {
        let rate = 7.3;
        let due = |ticket: u64| Duration::from_secs_f64(ticket as f64 / rate);
        for count in 1..=5u64 {
            let total = 103u64;
            let mut union: Vec<Duration> = (1..=count)
                .flat_map(|index| {
                    let shard = Shard { index, count };
                    (0..shard.share(total)).map(move |local| due(shard.global_ticket(local)))
                })
                .collect();
            union.sort();
            let unsharded: Vec<Duration> = (0..total).map(due).collect();
            assert_eq!(union, unsharded, "{count} shards");
        }
    }

    #[test]
    fn split_gives_each_shard_its_share() {
        let spec = LoadSpec {
            requests: Some(10),
            concurrency: 4,
            rate: Some(100.0),
            ..LoadSpec::new("http://127.0.0.1/")
        };
        let parts: Vec<LoadSpec> = (1..=3)
            .map(|index| Shard { index, count: 3 }.split(&spec).expect("valid share"))
            .collect();
        let requests: Vec<_> = parts.iter().map(|p| p.requests).collect();
        let clients: Vec<_> = parts.iter().map(|p| p.concurrency).collect();
        assert_eq!(requests, [Some(4), Some(3), Some(3)]);
        assert_eq!(clients, [2, 1, 1]);
        assert!(parts.iter().all(|p| p.rate == Some(100.0)));
        let err = Shard { index: 5, count: 5 }
            .split(&spec)
            .expect_err("no client for shard 5 of 5 with -c 4");
        assert!(
            err.is_usage() && err.to_string().contains("no client"),
            "{err}"
        );
    }

    #[test]
    fn split_shares_a_ramp_and_keeps_the_stages() {
        let spec = LoadSpec {
            requests: None,
            time_limit: Some(Duration::from_secs(60)),
            concurrency: 1000,
            ramp: Some(ClientRamp {
                from: 10,
                over: Duration::from_secs(30),
            }),
            ..LoadSpec::new("http://127.0.0.1/")
        };
        let parts: Vec<LoadSpec> = (1..=3)
            .map(|index| Shard { index, count: 3 }.split(&spec).expect("valid share"))
            .collect();
        let ramps: Vec<_> = parts
            .iter()
            .map(|p| (p.ramp.map(|r| (r.from, r.over)), p.concurrency))
            .collect();
        let over = Duration::from_secs(30);
        assert_eq!(
            ramps,
            [
                (Some((4, over)), 334),
                (Some((3, over)), 333),
                (Some((3, over)), 333)
            ]
        );
        let stages = vec![RateStage {
            rate: 100.0,
            duration: Duration::from_secs(5),
        }];
        let spec = LoadSpec {
            rate_stages: stages.clone(),
            requests: None,
            concurrency: 4,
            ..LoadSpec::new("http://127.0.0.1/")
        };
        let part = Shard { index: 2, count: 2 }
            .split(&spec)
            .expect("valid share");
        assert_eq!(part.rate_stages, stages, "the total rates, as --rate");
        assert_eq!(part.concurrency, 2);
    }

    #[test]
    fn start_times() {
        let at = parse_start_at("1795000000.25").expect("epoch seconds");
        assert_eq!(unix_seconds(at), 1_795_000_000.25);
        let at = parse_start_at("2026-11-18T10:00:00.5Z").expect("RFC 3339");
        assert_eq!(unix_seconds(at), 1_794_996_000.5);
        let at = parse_start_at("2026-11-18T11:00:00+01:00").expect("RFC 3339 with offset");
        assert_eq!(unix_seconds(at), 1_794_996_000.0);
        for bad in ["", "soon", "-5", "2026-11-18", "inf"] {
            assert!(parse_start_at(bad).is_err(), "{bad:?}");
        }
    }
}
