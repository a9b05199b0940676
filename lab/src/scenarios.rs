//! The lab's scenarios: the table of docs/design.md, in one place.
//!
//! `make bench-all` runs these rows, the README shows them, and the compose files are
//! checked against them. Each row says which app to start and how (typed here, and
//! given to the app as the configuration variables a compose file sets), whether nginx
//! or PostgreSQL stands in front or behind it, what load to send (ab's `-n`, `-c` and
//! `?delay=`), the ceiling Little's law allows, and what the article measured.
//!
//! ```
//! use lab::scenarios::{by_id, SCENARIOS};
//!
//! let async_row = by_id("async").unwrap();
//! assert_eq!(async_row.load.concurrency, 200);
//! assert_eq!(async_row.ceiling_rps(), 200.0);
//! // ab's lone first request caps the article's 2000/200 runs at 181.8 requests/s.
//! assert!((async_row.ab_ceiling_rps() - 181.8).abs() < 0.1);
//! assert_eq!(SCENARIOS.len(), 25);
//! ```

use common::config::{Client, Driver, Protocol};
pub use kit::topology::{App, Front, Topology};
use serde::Serialize;
use std::time::Duration;

/// What limits the requests in flight, for Little's law.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Bound {
    /// At most `capacity` requests in flight (threads, or event loops that block);
    /// `None`: no cap below the load (an event loop, or a thread per connection).
    InFlight { capacity: Option<u32> },
    /// Every request spends `fraction x delay` in a stage that holds `capacity`
    /// requests at a time: the blocked event loop of pg-blocking (one database half at
    /// a time), the connection pool of pg-async-c1000 (16 database halves at a time).
    Stage { capacity: u32, fraction: f64 },
}

/// One load test, as ab's flags say it: `ab -r -n REQUESTS -c CONCURRENCY URL?delay=DELAY`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Load {
    pub requests: u64,
    pub concurrency: u32,
    /// How long the slow API waits (`?delay=`); in JSON, seconds.
    #[serde(serialize_with = "common::config::serialize_seconds")]
    pub delay: Duration,
    /// `-k`: each client keeps its connection for all its requests (else a new
    /// connection per request, as ab without `-k` and as the article ran it).
    pub keep_alive: bool,
}

impl Load {
    /// The ab command line, for people.
    pub fn ab_flags(&self) -> String {
        format!(
            "{}-r -n {} -c {} ?delay={}",
            if self.keep_alive { "-k " } else { "" },
            self.requests,
            self.concurrency,
            self.delay.as_secs_f64()
        )
    }
}

/// The article's figure for this topology.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Article {
    /// Requests per second it printed (the first one where it gives two), if any.
    pub rps: Option<f64>,
    /// As the article's numbers read, e.g. `157.67; 148.95 rps`.
    pub text: &'static str,
}

/// Where the compose files run a topology.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Compose {
    /// The file, in `compose/`.
    pub file: &'static str,
    /// The port it publishes the topology on (the one to load).
    pub port: u16,
    /// The service that publishes it (nginx, or the app): the host to load from another
    /// container of the file's network, on the same port.
    pub service: &'static str,
    /// The app's service: where its `/metrics` answers, on `METRICS_PORT` 9100.
    pub app: &'static str,
}

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Scenario {
    /// Stable name: `make bench SCENARIO=id`, JSON, compose service names.
    pub id: &'static str,
    /// Where the compose files run it; `None` for the reference rows, which are
    /// yardsticks for this machine, not topologies of the article.
    pub compose: Option<Compose>,
    /// What the article ran.
    pub article_analogue: &'static str,
    /// The topology in a few words.
    pub topology: &'static str,
    pub app: App,
    pub front: Front,
    pub load: Load,
    pub bound: Bound,
    pub article: Article,
    /// True for the rows beyond the article's loads (the `c=1000` ones).
    pub extra: bool,
}

impl Scenario {
    /// What the kit starts for this row.
    pub fn topology(&self) -> Topology {
        Topology {
            name: self.id,
            app: self.app,
            front: self.front,
        }
    }

    /// The most requests this topology can hold in flight under this load.
    fn in_flight(&self) -> f64 {
        let c = f64::from(self.load.concurrency);
        match self.bound {
            Bound::InFlight {
                capacity: Some(cap),
            } => c.min(f64::from(cap)),
            _ => c,
        }
    }

    /// Little's law for loadgen, which starts all `c` requests at once:
    /// `min(c, capacity) / delay` requests per second; for a stage that holds
    /// `capacity` requests for `fraction x delay`, `capacity` per `fraction x delay` at
    /// most.
    pub fn ceiling_rps(&self) -> f64 {
        let delay = self.load.delay.as_secs_f64();
        let by_load = self.in_flight() / delay;
        match self.bound {
            Bound::InFlight { .. } => by_load,
            Bound::Stage { capacity, fraction } => {
                by_load.min(f64::from(capacity) / (fraction * delay))
            }
        }
    }

    /// The shortest time loadgen can take, seconds: full rounds of `min(c, capacity)`
    /// requests, each `delay` long (for a stage: the first part outside it, then
    /// `capacity` requests' stage parts at a time, one batch after another).
    pub fn ideal_time_s(&self) -> f64 {
        let delay = self.load.delay.as_secs_f64();
        let n = self.load.requests as f64;
        match self.bound {
            Bound::InFlight { .. } => delay * (n / self.in_flight()).ceil(),
            Bound::Stage { capacity, fraction } => {
                let batches = (n / f64::from(capacity)).ceil();
                let serial = delay * ((1.0 - fraction) + batches * fraction);
                let rounds = delay * (n / self.in_flight()).ceil();
                serial.max(rounds)
            }
        }
    }

    /// The best `ab` can do with the same flags: it sends its first request alone and
    /// only then opens the other `c`, so `n` requests take at least
    /// `delay x (1 + ceil((n - 1) / min(c, capacity)))`; 181.8 requests/s for
    /// `-n 2000 -c 200 ?delay=1`. The article's figures are measured against this.
    pub fn ab_ceiling_rps(&self) -> f64 {
        let delay = self.load.delay.as_secs_f64();
        let n = self.load.requests as f64;
        let rounds = delay * (1.0 + ((n - 1.0) / self.in_flight()).ceil());
        let time = match self.bound {
            Bound::InFlight { .. } => rounds,
            // The lone first request, then the next requests' first part, then the
            // remaining stage parts, `capacity` at a time.
            Bound::Stage { capacity, fraction } => {
                let batches = ((n - 1.0) / f64::from(capacity)).ceil();
                rounds.max(delay * (1.0 + (1.0 - fraction) + batches * fraction))
            }
        };
        n / time
    }

    /// The article's figure as a fraction of ab's ceiling, where it gives one.
    pub fn article_efficiency(&self) -> Option<f64> {
        self.article.rps.map(|rps| rps / self.ab_ceiling_rps())
    }
}

/// The article's load for the dev-server rows and the bonus: `ab -r -n 10 -c 5`.
const SMALL: Load = Load {
    requests: 10,
    concurrency: 5,
    delay: Duration::from_secs(1),
    keep_alive: false,
};

/// The article's load for the production rows: `ab -r -n 2000 -c 200`.
const LARGE: Load = Load {
    requests: 2000,
    concurrency: 200,
    delay: Duration::from_secs(1),
    keep_alive: false,
};

/// Beyond the article: where a thread cap shows plainly (and proxy-bench's first load).
pub const HUGE: Load = Load {
    requests: 5000,
    concurrency: 1000,
    delay: Duration::from_secs(1),
    keep_alive: false,
};

/// Beyond the article: 5,000 clients that keep their connections, 5 requests each, where
/// the cost of a proxied request, not the handshakes, decides (and proxy-bench's second).
pub const KEEPALIVE: Load = Load {
    requests: 25_000,
    concurrency: 5_000,
    delay: Duration::from_secs(1),
    keep_alive: true,
};

/// Beyond the article: 3,000 clients, past one gevent worker's 1,000 connections
/// (the comparison's last pairs).
pub const GIANT: Load = Load {
    requests: 15_000,
    concurrency: 3_000,
    delay: Duration::from_secs(1),
    keep_alive: false,
};

const NO_CAP: Bound = Bound::InFlight { capacity: None };

const fn cap(capacity: u32) -> Bound {
    Bound::InFlight {
        capacity: Some(capacity),
    }
}

const fn article(rps: Option<f64>, text: &'static str) -> Article {
    Article { rps, text }
}

const fn compose(
    file: &'static str,
    port: u16,
    service: &'static str,
    app: &'static str,
) -> Option<Compose> {
    Some(Compose {
        file,
        port,
        service,
        app,
    })
}

/// A keep-alive `c=5000` twin of a row (`-k -n 25000 -c 5000`).
const fn at_keepalive(base: Scenario, id: &'static str) -> Scenario {
    Scenario {
        id,
        load: KEEPALIVE,
        bound: NO_CAP,
        article: match base.compose {
            // A reference row stays a reference.
            None => base.article,
            Some(_) => article(None, "none (beyond the article)"),
        },
        extra: true,
        ..base
    }
}

/// A `c=1000` twin of an article row.
const fn at_c1000(base: Scenario, id: &'static str, bound: Bound) -> Scenario {
    Scenario {
        id,
        load: HUGE,
        bound,
        article: article(None, "none (beyond the article)"),
        extra: true,
        ..base
    }
}

/// app_sync as uWSGI and Gunicorn ran it: 4 worker processes x 50 threads.
const SYNC_4X50: App = App::Sync {
    workers: 4,
    threads: 50,
    protocol: Protocol::Http,
};

/// app_async, one event loop, the async client: gevent with monkey patching.
const ASYNC_1: App = App::Async {
    workers: 1,
    client: Client::Async,
    protocol: Protocol::Http,
};

/// The Flask dev server: one request at a time.
pub const DEVSERVER: Scenario = Scenario {
    id: "devserver",
    compose: compose("sync-devserver.yml", 3000, "app_sync", "app_sync"),
    article_analogue: "flask run --without-threads",
    topology: "app_sync 1 worker x 1 thread",
    app: App::Sync {
        workers: 1,
        threads: 1,
        protocol: Protocol::Http,
    },
    front: Front::Direct,
    load: SMALL,
    bound: cap(1),
    article: article(Some(0.99), "0.99 rps, 10.139 s"),
    extra: false,
};

/// uWSGI's and Gunicorn's prefork workers x threads.
pub const SYNC_WORKERS: Scenario = Scenario {
    id: "sync-workers",
    compose: compose("sync-workers.yml", 3000, "app_sync", "app_sync"),
    article_analogue: "uWSGI 4x50; Gunicorn 4x50",
    topology: "app_sync 4 workers x 50 threads",
    app: SYNC_4X50,
    front: Front::Direct,
    load: LARGE,
    bound: cap(200),
    article: article(Some(157.67), "157.67; 148.95 rps"),
    extra: false,
};

/// One event loop (gevent).
pub const ASYNC: Scenario = Scenario {
    id: "async",
    compose: compose("async-gevent.yml", 3000, "app_async", "app_async"),
    article_analogue: "gevent.pywsgi; Gunicorn+gevent (1 worker)",
    topology: "app_async 1 worker",
    app: ASYNC_1,
    front: Front::Direct,
    load: LARGE,
    bound: NO_CAP,
    // The article's async-gevent-gunicorn.yml runs one gevent worker (WORKERS=1).
    article: article(Some(114.05), "114.05; 112.11 rps"),
    extra: false,
};

const ASYNC_WORKERS: Scenario = Scenario {
    id: "async-workers",
    compose: compose("async-workers.yml", 3000, "app_async", "app_async"),
    article_analogue: "uWSGI+gevent 2 workers",
    topology: "app_async 2 workers",
    app: App::Async {
        workers: 2,
        client: Client::Async,
        protocol: Protocol::Http,
    },
    front: Front::Direct,
    load: LARGE,
    bound: NO_CAP,
    article: article(Some(151.93), "151.93 rps"),
    extra: false,
};

const DEVSERVER_THREADED: Scenario = Scenario {
    id: "devserver-threaded",
    compose: compose(
        "sync-devserver.yml",
        3001,
        "app_sync_threaded",
        "app_sync_threaded",
    ),
    article_analogue: "flask run --with-threads",
    topology: "app_sync thread per connection",
    app: App::Sync {
        workers: 1,
        threads: 0,
        protocol: Protocol::Http,
    },
    front: Front::Direct,
    load: SMALL,
    bound: NO_CAP,
    article: article(Some(3.26), "3.26 rps, 3.069 s"),
    extra: false,
};

/// Beyond the article: nginx in front of a 4 x 50 thread pool.
const NGINX_SYNC: Scenario = Scenario {
    id: "nginx-sync",
    compose: compose("nginx-sync.yml", 8080, "nginx", "app_sync"),
    article_analogue: "beyond the article: nginx -> a 4x50 thread pool",
    topology: "nginx -> app_sync 4x50",
    app: SYNC_4X50,
    front: Front::NginxHttp,
    load: LARGE,
    bound: cap(200),
    article: article(None, "none given"),
    extra: false,
};

/// The article's nginx-gunicorn.yml: nginx -> Gunicorn with one gevent worker. The
/// article's nginx-gunicorn.conf opens a new HTTP/1.0 connection per request; the lab
/// adds the keep-alive pool (HTTP/1.1) an event loop can afford.
const NGINX_ASYNC: Scenario = Scenario {
    id: "nginx-async",
    compose: compose("nginx-async.yml", 8080, "nginx", "app_async"),
    article_analogue: "nginx -> Gunicorn+gevent, plus upstream keep-alive (the lab's)",
    topology: "nginx -> app_async (upstream keep-alive)",
    app: ASYNC_1,
    front: Front::NginxHttpKeepAlive,
    load: LARGE,
    bound: NO_CAP,
    article: article(None, "none given"),
    extra: false,
};

/// The article's nginx-uwsgi.yml: nginx `uwsgi_pass` -> uWSGI `--gevent 2000`, one worker.
const NGINX_UWSGI: Scenario = Scenario {
    id: "nginx-uwsgi",
    compose: compose("nginx-uwsgi.yml", 8080, "nginx", "app_async"),
    article_analogue: "nginx -> uWSGI+gevent (uwsgi protocol)",
    topology: "nginx uwsgi_pass -> app_async 1 worker with PROTOCOL=uwsgi",
    app: App::Async {
        workers: 1,
        client: Client::Async,
        protocol: Protocol::Uwsgi,
    },
    front: Front::NginxUwsgi,
    load: LARGE,
    bound: NO_CAP,
    article: article(None, "none given"),
    extra: false,
};

/// Beyond the article: nginx `uwsgi_pass` -> uWSGI without gevent, 4 x 50 threads.
const NGINX_UWSGI_SYNC: Scenario = Scenario {
    id: "nginx-uwsgi-sync",
    compose: compose("nginx-uwsgi-sync.yml", 8080, "nginx", "app_sync"),
    article_analogue: "beyond the article: nginx -> uWSGI 4x50 (uwsgi protocol)",
    topology: "nginx uwsgi_pass -> app_sync 4x50 with PROTOCOL=uwsgi",
    app: App::Sync {
        workers: 4,
        threads: 50,
        protocol: Protocol::Uwsgi,
    },
    front: Front::NginxUwsgi,
    load: LARGE,
    bound: cap(200),
    article: article(None, "none given"),
    extra: false,
};

/// Reference: the load straight at the slow API, no proxy: this machine's limit for the
/// load's shape, which no proxy in front of it can beat.
const DIRECT: Scenario = Scenario {
    id: "direct",
    compose: None,
    article_analogue: "reference: no app, the slow API itself",
    topology: "slow_api alone",
    app: App::Upstream,
    front: Front::Direct,
    load: HUGE,
    bound: NO_CAP,
    article: article(None, "none (a reference)"),
    extra: true,
};

/// Reference: nginx (one worker, a keep-alive upstream pool) straight to the slow API:
/// what a proxy written in C costs, the yardstick for app_async.
const NGINX_PROXY: Scenario = Scenario {
    id: "nginx-proxy",
    compose: None,
    article_analogue: "reference: nginx as the proxy, no app",
    topology: "nginx (1 worker, upstream keep-alive) -> slow_api",
    app: App::Upstream,
    front: Front::NginxHttpKeepAlive,
    load: HUGE,
    bound: NO_CAP,
    article: article(None, "none (a reference)"),
    extra: true,
};

/// Every scenario, in the order `make bench-all` runs and prints them.
pub const SCENARIOS: &[Scenario] = &[
    DEVSERVER,
    DEVSERVER_THREADED,
    SYNC_WORKERS,
    ASYNC,
    Scenario {
        id: "async-blocking",
        compose: compose(
            "async-gevent.yml",
            3001,
            "app_async_blocking",
            "app_async_blocking",
        ),
        article_analogue: "gevent without monkey patching",
        topology: "app_async 1 worker, blocking client",
        app: App::Async {
            workers: 1,
            client: Client::Blocking,
            protocol: Protocol::Http,
        },
        front: Front::Direct,
        load: SMALL,
        bound: cap(1),
        article: article(None, "(\"no benefit\")"),
        extra: false,
    },
    ASYNC_WORKERS,
    NGINX_SYNC,
    NGINX_ASYNC,
    NGINX_UWSGI,
    NGINX_UWSGI_SYNC,
    Scenario {
        id: "pg-blocking",
        compose: compose(
            "bonus-postgres.yml",
            3000,
            "app_pg_blocking",
            "app_pg_blocking",
        ),
        article_analogue: "psycopg2 under gevent",
        topology: "app_pg 1 worker, blocking driver",
        app: App::Pg {
            driver: Driver::Blocking,
        },
        front: Front::Direct,
        load: SMALL,
        bound: Bound::Stage {
            capacity: 1,
            fraction: 0.5,
        },
        article: article(Some(1.50), "1.50 rps, 6.670 s"),
        extra: false,
    },
    Scenario {
        id: "pg-async",
        compose: compose("bonus-postgres.yml", 3001, "app_pg_async", "app_pg_async"),
        article_analogue: "psycogreen",
        topology: "app_pg 1 worker, async driver",
        app: App::Pg {
            driver: Driver::Async,
        },
        front: Front::Direct,
        load: SMALL,
        bound: NO_CAP,
        article: article(Some(3.18), "3.18 rps, 3.148 s"),
        extra: false,
    },
    at_c1000(SYNC_WORKERS, "sync-workers-c1000", cap(200)),
    at_c1000(ASYNC, "async-c1000", NO_CAP),
    at_c1000(ASYNC_WORKERS, "async-workers-c1000", NO_CAP),
    // A thread per connection has no cap: 1000 clients, 1000 threads.
    at_c1000(DEVSERVER_THREADED, "devserver-threaded-c1000", NO_CAP),
    // Behind nginx the thread cap and the event loop part ways as they do without it.
    at_c1000(NGINX_SYNC, "nginx-sync-c1000", cap(200)),
    at_c1000(NGINX_ASYNC, "nginx-async-c1000", NO_CAP),
    at_c1000(NGINX_UWSGI, "nginx-uwsgi-c1000", NO_CAP),
    // The pool fills: 1,000 clients, 16 connections, each held for half the delay. Past
    // the pool's 32 requests/s the rest wait, and a wait past POOL_WAIT_TIMEOUT is a 503.
    Scenario {
        id: "pg-async-c1000",
        compose: compose("bonus-postgres.yml", 3001, "app_pg_async", "app_pg_async"),
        article_analogue: "beyond the article: psycogreen's pool at 1,000 clients",
        topology: "app_pg 1 worker, async driver, a pool of 16",
        app: App::Pg {
            driver: Driver::Async,
        },
        front: Front::Direct,
        load: Load {
            requests: 2000,
            ..HUGE
        },
        bound: Bound::Stage {
            capacity: 16,
            fraction: 0.5,
        },
        article: article(None, "none (beyond the article)"),
        extra: true,
    },
    // app_async beside its yardsticks: the slow API alone, and nginx as the proxy.
    DIRECT,
    NGINX_PROXY,
    at_keepalive(DIRECT, "direct-keepalive"),
    at_keepalive(NGINX_PROXY, "nginx-proxy-keepalive"),
    at_keepalive(ASYNC, "async-keepalive"),
];

/// The slow API alone under the comparison's name: the `direct` row's stack and load, the
/// Rust side of the pair beside the article's aiohttp slow API (`make bench-python`);
/// not a row of `make bench-all`, which has `direct`.
pub const SLOW_API: Scenario = Scenario {
    id: "slow-api",
    article_analogue: "the aiohttp slow API",
    topology: "slow_api (actix-web, a loop per CPU)",
    article: article(None, "none given"),
    ..DIRECT
};

/// The scenario called `id`.
pub fn by_id(id: &str) -> Option<&'static Scenario> {
    SCENARIOS.iter().find(|scenario| scenario.id == id)
}

/// Every id, comma-separated (for error messages).
pub fn ids() -> String {
    SCENARIOS
        .iter()
        .map(|scenario| scenario.id)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use kit::nginx::{site, PROXY, UWSGI, UWSGI_SYNC};

    fn row(id: &str) -> &'static Scenario {
        by_id(id).unwrap_or_else(|| panic!("no scenario {id}"))
    }

    #[test]
    fn ids_are_unique_and_kebab_case() {
        let mut seen = std::collections::HashSet::new();
        for scenario in SCENARIOS {
            assert!(seen.insert(scenario.id), "duplicate id {}", scenario.id);
            assert!(scenario
                .id
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-'));
        }
    }

    #[test]
    fn ceilings_match_design() {
        let expected = [
            ("devserver", 1.0),
            ("devserver-threaded", 5.0),
            ("sync-workers", 200.0),
            ("async", 200.0),
            ("async-blocking", 1.0),
            ("async-workers", 200.0),
            ("nginx-sync", 200.0),
            ("nginx-async", 200.0),
            ("nginx-uwsgi", 200.0),
            ("pg-blocking", 2.0),
            ("pg-async", 5.0),
            ("sync-workers-c1000", 200.0),
            ("async-c1000", 1000.0),
            ("async-workers-c1000", 1000.0),
            ("devserver-threaded-c1000", 1000.0),
            ("nginx-uwsgi-sync", 200.0),
            ("nginx-sync-c1000", 200.0),
            ("nginx-async-c1000", 1000.0),
            ("nginx-uwsgi-c1000", 1000.0),
            ("pg-async-c1000", 32.0),
            ("direct", 1000.0),
            ("nginx-proxy", 1000.0),
            ("direct-keepalive", 5000.0),
            ("nginx-proxy-keepalive", 5000.0),
            ("async-keepalive", 5000.0),
        ];
        assert_eq!(expected.len(), SCENARIOS.len());
        for (id, ceiling) in expected {
            assert_eq!(row(id).ceiling_rps(), ceiling, "{id}");
        }
    }

    #[test]
    fn ab_ceilings_match_design() {
        // 11 s for 2000/200, 3.0 s for 10/5 (docs/design.md).
        assert!((row("sync-workers").ab_ceiling_rps() - 2000.0 / 11.0).abs() < 1e-9);
        assert!((row("devserver-threaded").ab_ceiling_rps() - 10.0 / 3.0).abs() < 1e-9);
        // One at a time: ab's lone first request costs nothing extra.
        assert!((row("devserver").ab_ceiling_rps() - 1.0).abs() < 1e-9);
        // 1 s alone, 0.5 s for the next upstream halves, 9 database halves of 0.5 s.
        assert!((row("pg-blocking").ab_ceiling_rps() - 10.0 / 6.0).abs() < 1e-9);
        // The article's figures sit below ab's ceiling.
        for scenario in SCENARIOS {
            if let Some(efficiency) = scenario.article_efficiency() {
                assert!(efficiency <= 1.0, "{}: {efficiency}", scenario.id);
            }
        }
    }

    #[test]
    fn ideal_times() {
        assert_eq!(row("devserver").ideal_time_s(), 10.0);
        assert_eq!(row("devserver-threaded").ideal_time_s(), 2.0);
        assert_eq!(row("sync-workers").ideal_time_s(), 10.0);
        assert_eq!(row("pg-blocking").ideal_time_s(), 5.5);
        assert_eq!(row("sync-workers-c1000").ideal_time_s(), 25.0);
        assert_eq!(row("async-c1000").ideal_time_s(), 5.0);
        // 0.5 s upstream, then 125 batches of 16 database halves.
        assert_eq!(row("pg-async-c1000").ideal_time_s(), 63.0);
    }

    #[test]
    fn configuration_uses_design_names() {
        let env = row("nginx-uwsgi-sync").app.env();
        assert!(env.contains(&("WORKERS", "4".to_string())));
        assert!(env.contains(&("THREADS", "50".to_string())));
        assert!(env.contains(&("PROTOCOL", "uwsgi".to_string())));
        let env = row("nginx-uwsgi").app.env();
        assert!(env.contains(&("PROTOCOL", "uwsgi".to_string())));
        assert!(env.contains(&("CLIENT", "async".to_string())));
        assert_eq!(
            row("async-blocking").app.env(),
            vec![
                ("WORKERS", "1".into()),
                ("CLIENT", "blocking".into()),
                ("PROTOCOL", "http".into())
            ]
        );
        assert_eq!(
            row("pg-blocking").app.env(),
            vec![("WORKERS", "1".into()), ("DRIVER", "blocking".into())]
        );
    }

    #[test]
    fn each_nginx_scenario_has_its_site() {
        for scenario in SCENARIOS {
            assert_eq!(
                site(&scenario.topology()).is_some(),
                scenario.front.is_nginx(),
                "{}",
                scenario.id
            );
        }
        let site_of = |id| by_id(id).and_then(|row| site(&row.topology()));
        assert_eq!(site_of("nginx-uwsgi"), Some(UWSGI));
        assert_eq!(site_of("nginx-uwsgi-sync"), Some(UWSGI_SYNC));
        assert_eq!(site_of("nginx-proxy"), Some(PROXY));
    }
}
