//! The lab's scenarios: DESIGN.md's table, in one place.
//!
//! `make bench-all` runs these rows, the README shows them, and the compose files are
//! checked against them. Each row says which app to start and how (the configuration
//! variables of DESIGN.md, so a compose file can use the very same names), whether nginx
//! or PostgreSQL stands in front or behind it, what load to send (ab's `-n`, `-c` and
//! `?delay=`), the ceiling Little's law allows, and what the article measured.
//!
//! ```
//! use loadgen::scenarios::{by_id, SCENARIOS};
//!
//! let async_row = by_id("async").unwrap();
//! assert_eq!(async_row.load.concurrency, 200);
//! assert_eq!(async_row.ceiling_rps(), 200.0);
//! // ab's lone first request caps the article's 2000/200 runs at 181.8 requests/s.
//! assert!((async_row.ab_ceiling_rps() - 181.8).abs() < 0.1);
//! assert_eq!(SCENARIOS.len(), 14);
//! ```

use serde::Serialize;

/// Which service binary serves the requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AppKind {
    /// `app_sync`: blocking threads.
    Sync,
    /// `app_async`: actix-web event loops.
    Async,
    /// `app_pg`: the upstream call, then a PostgreSQL query.
    Pg,
}

impl AppKind {
    /// The binary (and crate) name.
    pub fn binary(self) -> &'static str {
        match self {
            AppKind::Sync => "app_sync",
            AppKind::Async => "app_async",
            AppKind::Pg => "app_pg",
        }
    }
}

/// What stands in front of the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Front {
    /// Clients talk to the app directly.
    Direct,
    /// nginx `proxy_pass`, a new upstream connection per request (the article's
    /// nginx -> Gunicorn: a blocking server should not hold idle connections).
    NginxHttp,
    /// nginx `proxy_pass` with a pool of keep-alive upstream connections.
    NginxHttpKeepAlive,
    /// nginx `uwsgi_pass`: the uwsgi wire protocol, as nginx -> uWSGI.
    NginxUwsgi,
}

impl Front {
    pub fn is_nginx(self) -> bool {
        self != Front::Direct
    }
}

/// What limits the requests in flight, for Little's law.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Bound {
    /// At most `capacity` requests in flight (threads, or event loops that block);
    /// `None`: no cap below the load (an event loop, or a thread per connection).
    InFlight { capacity: Option<u32> },
    /// Every request spends `fraction x delay` in a stage that holds one request at a
    /// time (the blocked event loop of pg-blocking: one database half at a time).
    Serial { fraction: f64 },
}

/// One load test, as ab's flags say it: `ab -r -n REQUESTS -c CONCURRENCY URL?delay=DELAY`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Load {
    pub requests: u64,
    pub concurrency: u32,
    /// Seconds the slow API waits (`?delay=`).
    pub delay: f64,
}

impl Load {
    /// The ab command line, for people.
    pub fn ab_flags(&self) -> String {
        format!(
            "-r -n {} -c {} ?delay={}",
            self.requests, self.concurrency, self.delay
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

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Scenario {
    /// Stable name: `make bench SCENARIO=id`, JSON, compose service names.
    pub id: &'static str,
    /// Compose file (in `compose/`) that runs this topology.
    pub compose_file: &'static str,
    /// Port the compose file publishes the topology on (the one to load).
    pub compose_port: u16,
    /// What the article ran.
    pub article_analogue: &'static str,
    /// The topology in a few words.
    pub topology: &'static str,
    pub app: AppKind,
    /// `WORKERS`: processes (app_sync) or event-loop threads (app_async, app_pg).
    pub workers: u32,
    /// `THREADS` (app_sync only): threads per worker, 0 = one per connection.
    pub threads: Option<u32>,
    /// `PROTOCOL` (app_sync only): `http` or `uwsgi`.
    pub protocol: Option<&'static str>,
    /// `CLIENT` (app_async only): `async` or `blocking`.
    pub client: Option<&'static str>,
    /// `DRIVER` (app_pg only): `async` or `blocking`.
    pub driver: Option<&'static str>,
    pub front: Front,
    /// Whether the app needs PostgreSQL.
    pub postgres: bool,
    pub load: Load,
    pub bound: Bound,
    pub article: Article,
    /// True for the rows beyond the article's loads (the `c=1000` ones).
    pub extra: bool,
}

impl Scenario {
    /// The app's configuration as DESIGN.md's variables (`WORKERS=4`, `THREADS=50`, ...),
    /// the same names the compose files set.
    pub fn app_env(&self) -> Vec<(&'static str, String)> {
        let mut env = vec![("WORKERS", self.workers.to_string())];
        if let Some(threads) = self.threads {
            env.push(("THREADS", threads.to_string()));
        }
        if let Some(protocol) = self.protocol {
            env.push(("PROTOCOL", protocol.to_string()));
        }
        if let Some(client) = self.client {
            env.push(("CLIENT", client.to_string()));
        }
        if let Some(driver) = self.driver {
            env.push(("DRIVER", driver.to_string()));
        }
        env
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
    /// `min(c, capacity) / delay` requests per second; for a serial stage of
    /// `fraction x delay`, one request per `fraction x delay` at most.
    pub fn ceiling_rps(&self) -> f64 {
        let delay = self.load.delay;
        let by_load = self.in_flight() / delay;
        match self.bound {
            Bound::InFlight { .. } => by_load,
            Bound::Serial { fraction } => by_load.min(1.0 / (fraction * delay)),
        }
    }

    /// The shortest time loadgen can take, seconds: full rounds of `min(c, capacity)`
    /// requests, each `delay` long (for a serial stage: the first non-serial part,
    /// then every request's serial part one after another).
    pub fn ideal_time_s(&self) -> f64 {
        let delay = self.load.delay;
        let n = self.load.requests as f64;
        match self.bound {
            Bound::InFlight { .. } => delay * (n / self.in_flight()).ceil(),
            Bound::Serial { fraction } => {
                let serial = delay * ((1.0 - fraction) + n * fraction);
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
        let delay = self.load.delay;
        let n = self.load.requests as f64;
        let rounds = delay * (1.0 + ((n - 1.0) / self.in_flight()).ceil());
        let time = match self.bound {
            Bound::InFlight { .. } => rounds,
            // The lone first request, then the next requests' first part, then the
            // remaining serial parts one after another.
            Bound::Serial { fraction } => {
                rounds.max(delay * (1.0 + (1.0 - fraction) + (n - 1.0) * fraction))
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
    delay: 1.0,
};

/// The article's load for the production rows: `ab -r -n 2000 -c 200`.
const LARGE: Load = Load {
    requests: 2000,
    concurrency: 200,
    delay: 1.0,
};

/// Beyond the article: where a thread cap shows plainly.
const HUGE: Load = Load {
    requests: 5000,
    concurrency: 1000,
    delay: 1.0,
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

/// app_sync with `workers x threads`. (One argument per column of the table.)
#[allow(clippy::too_many_arguments)]
const fn sync(
    id: &'static str,
    compose: (&'static str, u16),
    article_analogue: &'static str,
    topology: &'static str,
    (workers, threads): (u32, u32),
    front: Front,
    load: Load,
    bound: Bound,
    article: Article,
) -> Scenario {
    Scenario {
        id,
        compose_file: compose.0,
        compose_port: compose.1,
        article_analogue,
        topology,
        app: AppKind::Sync,
        workers,
        threads: Some(threads),
        protocol: Some(match front {
            Front::NginxUwsgi => "uwsgi",
            _ => "http",
        }),
        client: None,
        driver: None,
        front,
        postgres: false,
        load,
        bound,
        article,
        extra: false,
    }
}

/// app_async with `workers` event loops and a `client`. (One argument per column.)
#[allow(clippy::too_many_arguments)]
const fn asynchronous(
    id: &'static str,
    compose: (&'static str, u16),
    article_analogue: &'static str,
    topology: &'static str,
    (workers, client): (u32, &'static str),
    front: Front,
    load: Load,
    bound: Bound,
    article: Article,
) -> Scenario {
    Scenario {
        id,
        compose_file: compose.0,
        compose_port: compose.1,
        article_analogue,
        topology,
        app: AppKind::Async,
        workers,
        threads: None,
        protocol: None,
        client: Some(client),
        driver: None,
        front,
        postgres: false,
        load,
        bound,
        article,
        extra: false,
    }
}

/// app_pg, one event loop, with a `driver`.
const fn pg(
    id: &'static str,
    compose: (&'static str, u16),
    article_analogue: &'static str,
    topology: &'static str,
    driver: &'static str,
    bound: Bound,
    article: Article,
) -> Scenario {
    Scenario {
        id,
        compose_file: compose.0,
        compose_port: compose.1,
        article_analogue,
        topology,
        app: AppKind::Pg,
        workers: 1,
        threads: None,
        protocol: None,
        client: None,
        driver: Some(driver),
        front: Front::Direct,
        postgres: true,
        load: SMALL,
        bound,
        article,
        extra: false,
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

const SYNC_WORKERS: Scenario = sync(
    "sync-workers",
    ("sync-workers.yml", 3000),
    "uWSGI 4x50; Gunicorn 4x50",
    "app_sync 4 workers x 50 threads",
    (4, 50),
    Front::Direct,
    LARGE,
    cap(200),
    article(Some(157.67), "157.67; 148.95 rps"),
);

const ASYNC: Scenario = asynchronous(
    "async",
    ("async-gevent.yml", 3000),
    "gevent.pywsgi",
    "app_async 1 worker",
    (1, "async"),
    Front::Direct,
    LARGE,
    NO_CAP,
    article(Some(114.05), "114.05 rps"),
);

const ASYNC_WORKERS: Scenario = asynchronous(
    "async-workers",
    ("async-workers.yml", 3000),
    "uWSGI+gevent 2 workers; Gunicorn+gevent",
    "app_async 2 workers",
    (2, "async"),
    Front::Direct,
    LARGE,
    NO_CAP,
    article(Some(151.93), "151.93; 112.11 rps"),
);

/// Every scenario, in the order `make bench-all` runs and prints them.
pub const SCENARIOS: &[Scenario] = &[
    sync(
        "devserver",
        ("sync-devserver.yml", 3000),
        "flask run --without-threads",
        "app_sync 1 worker x 1 thread",
        (1, 1),
        Front::Direct,
        SMALL,
        cap(1),
        article(Some(0.99), "0.99 rps, 10.139 s"),
    ),
    sync(
        "devserver-threaded",
        ("sync-devserver.yml", 3001),
        "flask run --with-threads",
        "app_sync thread per connection",
        (1, 0),
        Front::Direct,
        SMALL,
        NO_CAP,
        article(Some(3.26), "3.26 rps, 3.069 s"),
    ),
    SYNC_WORKERS,
    ASYNC,
    asynchronous(
        "async-blocking",
        ("async-gevent.yml", 3001),
        "gevent without monkey patching",
        "app_async 1 worker, blocking client",
        (1, "blocking"),
        Front::Direct,
        SMALL,
        cap(1),
        article(None, "(\"no benefit\")"),
    ),
    ASYNC_WORKERS,
    sync(
        "nginx-sync",
        ("nginx-sync.yml", 8080),
        "nginx -> Gunicorn",
        "nginx -> app_sync 4x50",
        (4, 50),
        Front::NginxHttp,
        LARGE,
        cap(200),
        article(None, "none given"),
    ),
    asynchronous(
        "nginx-async",
        ("nginx-async.yml", 8080),
        "nginx -> Gunicorn+gevent",
        "nginx -> app_async (upstream keep-alive)",
        (1, "async"),
        Front::NginxHttpKeepAlive,
        LARGE,
        NO_CAP,
        article(None, "none given"),
    ),
    sync(
        "nginx-uwsgi",
        ("nginx-uwsgi.yml", 8080),
        "nginx -> uWSGI (uwsgi protocol)",
        "nginx uwsgi_pass -> app_sync 4x50 with PROTOCOL=uwsgi",
        (4, 50),
        Front::NginxUwsgi,
        LARGE,
        cap(200),
        article(None, "none given"),
    ),
    pg(
        "pg-blocking",
        ("bonus-postgres.yml", 3000),
        "psycopg2 under gevent",
        "app_pg 1 worker, blocking driver",
        "blocking",
        Bound::Serial { fraction: 0.5 },
        article(Some(1.50), "1.50 rps, 6.670 s"),
    ),
    pg(
        "pg-async",
        ("bonus-postgres.yml", 3001),
        "psycogreen",
        "app_pg 1 worker, async driver",
        "async",
        NO_CAP,
        article(Some(3.18), "3.18 rps, 3.148 s"),
    ),
    at_c1000(SYNC_WORKERS, "sync-workers-c1000", cap(200)),
    at_c1000(ASYNC, "async-c1000", NO_CAP),
    at_c1000(ASYNC_WORKERS, "async-workers-c1000", NO_CAP),
];

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
        ];
        assert_eq!(expected.len(), SCENARIOS.len());
        for (id, ceiling) in expected {
            assert_eq!(row(id).ceiling_rps(), ceiling, "{id}");
        }
    }

    #[test]
    fn ab_ceilings_match_design() {
        // 11 s for 2000/200, 3.0 s for 10/5 (DESIGN.md).
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
    }

    #[test]
    fn configuration_uses_design_names() {
        let env = row("nginx-uwsgi").app_env();
        assert!(env.contains(&("WORKERS", "4".to_string())));
        assert!(env.contains(&("THREADS", "50".to_string())));
        assert!(env.contains(&("PROTOCOL", "uwsgi".to_string())));
        assert_eq!(
            row("async-blocking").app_env(),
            vec![("WORKERS", "1".into()), ("CLIENT", "blocking".into())]
        );
        assert_eq!(
            row("pg-blocking").app_env(),
            vec![("WORKERS", "1".into()), ("DRIVER", "blocking".into())]
        );
    }
}
