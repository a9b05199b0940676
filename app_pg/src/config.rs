//! app_pg's flags and environment variables (names and defaults are fixed: compose
//! files and scripts rely on them).

use std::str::FromStr;
use std::time::Duration;

pub use common::config::Driver;
use common::config::{parse_positive, parse_seconds, AppArgs};

/// The PostgreSQL-backed proxy: a blocking or an async driver on one event loop.
#[derive(clap::Parser, Debug, Clone)]
#[command(version, about)]
pub struct Config {
    #[command(flatten)]
    pub app: AppArgs,

    /// Event-loop threads, each an actix-web worker.
    #[arg(long, env = "WORKERS", default_value = "1", value_parser = parse_positive)]
    pub workers: usize,

    /// How the handler talks to PostgreSQL.
    #[arg(long, env = "DRIVER", value_enum, default_value_t = Driver::Async)]
    pub driver: Driver,

    /// PostgreSQL to use (a libpq-style URL; TLS is not built in).
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://example:example@127.0.0.1:5432/example",
        value_parser = parse_database_url
    )]
    pub database_url: tokio_postgres::Config,

    /// Connections in the async driver's pool (shared by all workers).
    #[arg(long, env = "POOL_SIZE", default_value = "16", value_parser = parse_positive)]
    pub pool_size: usize,

    /// Seconds a request waits for a free pooled connection before it is a 503.
    #[arg(long, env = "POOL_WAIT_TIMEOUT", default_value = "5", value_parser = parse_seconds)]
    pub pool_wait_timeout: Duration,

    /// Seconds to open a database connection (both drivers) before it is a 503.
    #[arg(long, env = "DB_CONNECT_TIMEOUT", default_value = "3", value_parser = parse_seconds)]
    pub db_connect_timeout: Duration,

    /// Seconds to check a pooled connection before reuse (it is dropped if it fails).
    #[arg(long, env = "POOL_RECYCLE_TIMEOUT", default_value = "2", value_parser = parse_seconds)]
    pub pool_recycle_timeout: Duration,

    /// Seconds a query may run beyond the pg_sleep it asked for before it is a 503.
    #[arg(long, env = "DB_TIMEOUT", default_value = "5", value_parser = parse_seconds)]
    pub db_timeout: Duration,
}

impl Config {
    /// Database connections the app holds open: the pool, or one per event loop.
    pub fn database_connections(&self) -> usize {
        match self.driver {
            Driver::Async => self.pool_size,
            Driver::Blocking => self.workers,
        }
    }
}

/// `DATABASE_URL`, checked at startup so a typo is a clear error, not a 503 later.
fn parse_database_url(raw: &str) -> Result<tokio_postgres::Config, String> {
    tokio_postgres::Config::from_str(raw).map_err(|err| format!("not a PostgreSQL URL: {err}"))
}

/// Where the app connects, without the password (for the startup log line).
pub fn describe(config: &tokio_postgres::Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(|host| match host {
            tokio_postgres::config::Host::Tcp(name) => name.clone(),
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".to_owned());
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config.get_user().unwrap_or("?");
    let dbname = config.get_dbname().unwrap_or(user);
    format!("postgres://{user}@{host}:{port}/{dbname}")
}
