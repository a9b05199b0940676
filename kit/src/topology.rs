//! A topology the kit can start: which service serves the requests, configured how,
//! and what stands in front of it. The lab's scenario table names one per row; the
//! stack ([`crate::stack`]) starts it, nginx's site ([`crate::nginx::site`]) follows it.

use common::config::{Client, Driver, Protocol};
use serde::Serialize;

/// What to start: a name (the scratch directory's, and messages'), the app and its front.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Topology {
    pub name: &'static str,
    pub app: App,
    pub front: Front,
}

/// Which service serves the requests, configured how. The configuration is typed here
/// and reaches the app as the variables a compose file sets ([`App::env`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "binary")]
pub enum App {
    /// `app_sync`: `workers` processes x `threads` threads (0 = one per connection).
    Sync {
        workers: u32,
        threads: u32,
        protocol: Protocol,
    },
    /// `app_async`: `workers` event loops calling the upstream with `client`.
    Async {
        workers: u32,
        client: Client,
        protocol: Protocol,
    },
    /// `app_pg`: one event loop, the upstream call, then a query through `driver`.
    Pg { driver: Driver },
    /// No app: the load goes to the slow API itself (through nginx where one stands in
    /// front). The reference rows: what this machine allows without a proxy in Rust.
    Upstream,
}

impl App {
    /// The binary (and crate) name.
    pub fn binary(self) -> &'static str {
        match self {
            App::Sync { .. } => "app_sync",
            App::Async { .. } => "app_async",
            App::Pg { .. } => "app_pg",
            App::Upstream => "slow_api",
        }
    }

    /// Whether the app needs PostgreSQL.
    pub fn needs_postgres(self) -> bool {
        matches!(self, App::Pg { .. })
    }

    /// The app's configuration as its variables (`WORKERS=4`, `THREADS=50`, ...): the
    /// names the compose files set.
    pub fn env(self) -> Vec<(&'static str, String)> {
        match self {
            App::Sync {
                workers,
                threads,
                protocol,
            } => vec![
                ("WORKERS", workers.to_string()),
                ("THREADS", threads.to_string()),
                ("PROTOCOL", protocol.as_env().to_owned()),
            ],
            App::Async {
                workers,
                client,
                protocol,
            } => vec![
                ("WORKERS", workers.to_string()),
                ("CLIENT", client.as_env().to_owned()),
                ("PROTOCOL", protocol.as_env().to_owned()),
            ],
            App::Pg { driver } => vec![
                ("WORKERS", "1".to_owned()),
                ("DRIVER", driver.as_env().to_owned()),
            ],
            App::Upstream => Vec::new(),
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
