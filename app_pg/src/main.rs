//! app_pg: the article's bonus, "make psycopg2 gevent-friendly", on an event loop.
//!
//! `GET /?delay=S` does two slow things in a row, each taking S/2 seconds:
//! 1. calls the slow API with `?delay=S/2` (awc, always async: the event loop is free
//!    while it waits), then
//! 2. runs `SELECT NOW(), pg_sleep($1)` with S/2 bound as `$1`,
//!
//! and answers `Hi there! slow api response (<NOW()>, '')`, like the article's
//! `'Hi there! {} {}'.format(resp.text, cur.fetchall()[0])`.
//!
//! `--driver` decides whether step 2 keeps the promise of the event loop:
//! - `async`: tokio-postgres through a deadpool-postgres pool of `--pool-size`
//!   connections. Waiting on PostgreSQL yields to the loop, so one thread keeps
//!   hundreds of requests in flight; the limit is the pool (Little's law: at most
//!   POOL_SIZE queries of S/2 seconds at a time). This is psycopg2 *with* psycogreen.
//! - `blocking`: the synchronous `postgres` crate called inside the handler. The
//!   event-loop thread sits in the query for its whole S/2 seconds and serves nobody
//!   else meanwhile, so the database halves of concurrent requests run one after the
//!   other. This is psycopg2 under gevent *without* psycogreen: "corresponding IO will
//!   still be blocking". See [`blocking`] for how it is done without panicking.
//!
//! Failures a user can meet: a bad `delay` is a 400 before anything touches the
//! database; upstream down or slow is 502 or 504 (as in app_async); a database that is
//! unreachable, or a pool with no free connection within `--pool-wait-timeout`, is a
//! 503 within a few seconds. Nothing is cached across failures: a database that comes
//! back is used again by the next request, without restarting the app.

mod blocking;

use std::str::FromStr;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer, ResponseError};
use clap::{Parser, ValueEnum};
use common::config::{parse_positive, parse_seconds, AppArgs};
use common::delay::delay_from_query;
use common::upstream::{async_client, get_async, upstream_url, APP_MAX_DELAY};
use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime};
use time::OffsetDateTime;

// The same allocator as app_async: glibc's malloc was a fifth of an event loop's CPU.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The query of the article, with the delay as a bound parameter (never spliced in).
const QUERY: &str = "SELECT NOW(), pg_sleep($1)";

/// How NOW() is printed: `2026-11-26T03:37:05.746992Z`.
const TIMESTAMP: &[time::format_description::BorrowedFormatItem<'static>] = time::macros::format_description!(
    "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
);

/// The PostgreSQL-backed proxy: a blocking or an async driver on one event loop.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Config {
    #[command(flatten)]
    app: AppArgs,

    /// Event-loop threads, each an actix-web worker.
    #[arg(long, env = "WORKERS", default_value = "1", value_parser = parse_positive)]
    workers: usize,

    /// How the handler talks to PostgreSQL.
    #[arg(long, env = "DRIVER", value_enum, default_value_t = Driver::Async)]
    driver: Driver,

    /// PostgreSQL to use (a libpq-style URL; TLS is not built in).
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://example:example@127.0.0.1:5432/example",
        value_parser = parse_database_url
    )]
    database_url: tokio_postgres::Config,

    /// Connections in the async driver's pool (shared by all workers).
    #[arg(long, env = "POOL_SIZE", default_value = "16", value_parser = parse_positive)]
    pool_size: usize,

    /// Seconds a request waits for a free pooled connection before it is a 503.
    #[arg(long, env = "POOL_WAIT_TIMEOUT", default_value = "5", value_parser = parse_seconds)]
    pool_wait_timeout: Duration,

    /// Seconds to open a database connection (both drivers) before it is a 503.
    #[arg(long, env = "DB_CONNECT_TIMEOUT", default_value = "3", value_parser = parse_seconds)]
    db_connect_timeout: Duration,

    /// Seconds to check a pooled connection before reuse (it is dropped if it fails).
    #[arg(long, env = "POOL_RECYCLE_TIMEOUT", default_value = "2", value_parser = parse_seconds)]
    pool_recycle_timeout: Duration,

    /// Seconds a query may run beyond the pg_sleep it asked for before it is a 503.
    #[arg(long, env = "DB_TIMEOUT", default_value = "5", value_parser = parse_seconds)]
    db_timeout: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Driver {
    /// tokio-postgres through a deadpool-postgres pool: waiting yields to the loop.
    Async,
    /// The synchronous `postgres` crate inside the handler: waiting blocks the loop.
    Blocking,
}

/// `DATABASE_URL`, checked at startup so a typo is a clear error, not a 503 later.
fn parse_database_url(raw: &str) -> Result<tokio_postgres::Config, String> {
    tokio_postgres::Config::from_str(raw).map_err(|err| format!("not a PostgreSQL URL: {err}"))
}

/// Why the database half failed. Every variant is a `503 Service Unavailable`: the
/// request was fine, the service cannot serve it right now; retrying later may work.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database busy: no free connection within {0:?} (pool of {1})")]
    PoolExhausted(Duration, usize),
    #[error("database did not answer within {0:?}")]
    Timeout(Duration),
}

impl DbError {
    /// A library's error with its causes (tokio-postgres keeps the useful part, such
    /// as "Connection refused", in the source), on one line.
    pub fn unavailable(err: impl std::error::Error) -> Self {
        let mut message = err.to_string();
        let mut source = err.source();
        while let Some(cause) = source {
            let text = cause.to_string();
            if !message.contains(&text) {
                message = format!("{message}: {text}");
            }
            source = cause.source();
        }
        DbError::Unavailable(message.replace(['\n', '\r'], " "))
    }
}

impl ResponseError for DbError {
    fn status_code(&self) -> StatusCode {
        StatusCode::SERVICE_UNAVAILABLE
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::ServiceUnavailable()
            .content_type("text/plain; charset=utf-8")
            .body(format!("{self}\n"))
    }
}

/// How one event loop reaches PostgreSQL.
enum Db {
    /// The pool, shared by every worker (cloning a `Pool` clones a handle).
    Async(AsyncDb),
    /// This worker's own synchronous connection.
    Blocking(blocking::BlockingDb),
}

/// The async driver: a deadpool-postgres pool and the limits it is used with.
#[derive(Clone)]
struct AsyncDb {
    pool: Pool,
    pool_size: usize,
    wait_timeout: Duration,
    db_timeout: Duration,
}

impl AsyncDb {
    /// deadpool's defaults would quietly shape the lesson: a pool of 2 x cores (4
    /// here), and no timeouts at all, so a dead database hangs requests forever. Every
    /// limit is set from a flag instead.
    fn new(config: &Config) -> anyhow::Result<AsyncDb> {
        let mut pg_config = config.database_url.clone();
        pg_config.connect_timeout(config.db_connect_timeout);
        // `Fast` recycling reuses a connection unless its socket is known closed; a
        // connection that broke mid-query is closed by then and gets replaced.
        let manager = Manager::from_config(
            pg_config,
            tokio_postgres::NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(config.pool_size)
            .wait_timeout(Some(config.pool_wait_timeout))
            .create_timeout(Some(config.db_connect_timeout))
            .recycle_timeout(Some(config.pool_recycle_timeout))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|err| anyhow::anyhow!("cannot build the connection pool: {err}"))?;
        Ok(AsyncDb {
            pool,
            pool_size: config.pool_size,
            wait_timeout: config.pool_wait_timeout,
            db_timeout: config.db_timeout,
        })
    }

    /// A pooled connection, or the 503 that says why there is none.
    async fn connection(&self) -> Result<deadpool_postgres::Object, DbError> {
        self.pool.get().await.map_err(|err| match err {
            PoolError::Timeout(deadpool_postgres::TimeoutType::Wait) => {
                DbError::PoolExhausted(self.wait_timeout, self.pool_size)
            }
            PoolError::Backend(err) => DbError::unavailable(err),
            other => DbError::unavailable(other),
        })
    }

    /// `SELECT NOW(), pg_sleep($1)`: every wait in here yields to the event loop.
    async fn sleep(&self, seconds: f64) -> Result<OffsetDateTime, DbError> {
        let client = self.connection().await?;
        let limit = Duration::from_secs_f64(seconds) + self.db_timeout;
        let query = async {
            // Prepared once per connection, then reused: one round trip per request.
            let statement = client.prepare_cached(QUERY).await?;
            client.query_one(&statement, &[&seconds]).await
        };
        match tokio::time::timeout(limit, query).await {
            Ok(Ok(row)) => row.try_get(0).map_err(DbError::unavailable),
            Ok(Err(err)) => Err(DbError::unavailable(err)),
            Err(_) => {
                // The connection is still busy with the query: take it out of the pool
                // (dropping it closes it) rather than hand it to the next request.
                drop(deadpool_postgres::Object::take(client));
                Err(DbError::Timeout(limit))
            }
        }
    }

    /// `SELECT 1` on a pooled connection.
    async fn ping(&self) -> Result<(), DbError> {
        let client = self.connection().await?;
        match tokio::time::timeout(self.db_timeout, client.simple_query("SELECT 1")).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(err)) => Err(DbError::unavailable(err)),
            Err(_) => Err(DbError::Timeout(self.db_timeout)),
        }
    }
}

/// What every request needs to reach the upstream.
struct Upstream {
    api_url: String,
    timeout: Duration,
}

/// `GET /?delay=S`
async fn index(
    request: HttpRequest,
    upstream: web::Data<Upstream>,
    awc_client: web::Data<awc::Client>,
    db: web::Data<Db>,
) -> actix_web::Result<HttpResponse> {
    // Checked first: a bad delay is a 400 and never reaches the API or the database.
    let delay = delay_from_query(request.query_string(), APP_MAX_DELAY)?;
    let half = delay / 2.0;

    // Step 1, the upstream: always async, so both drivers overlap this half.
    let url = upstream_url(&upstream.api_url, half);
    let body = get_async(&awc_client, &url, upstream.timeout)
        .await
        .inspect_err(|err| tracing::warn!("{err}"))?;

    // Step 2, the database: where the two drivers differ.
    let now = match db.get_ref() {
        // Yields at every wait: this thread serves other requests meanwhile.
        Db::Async(pool) => pool.sleep(half).await,
        // No `.await`: this thread is stuck here for the whole query. On purpose.
        Db::Blocking(connection) => connection.sleep(half),
    }
    .inspect_err(|err| tracing::warn!("{err}"))?;

    // The row as the article prints it: NOW(), and pg_sleep's empty (void) result.
    // Fixed width (microseconds, UTC), so every answer has the same length, as ab expects.
    let now = now
        .to_offset(time::UtcOffset::UTC)
        .format(TIMESTAMP)
        .map_err(DbError::unavailable)?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(format!("Hi there! {body} ({now}, '')")))
}

/// `GET /healthz`: ready when the database answers `SELECT 1`, 503 otherwise.
async fn healthz(db: web::Data<Db>) -> Result<HttpResponse, DbError> {
    match db.get_ref() {
        Db::Async(pool) => pool.ping().await?,
        Db::Blocking(connection) => connection.ping()?,
    }
    Ok(HttpResponse::Ok().body("ok"))
}

/// Where the app connects, without the password (for the startup log line).
fn describe(config: &tokio_postgres::Config) -> String {
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

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    common::logging::init();
    let open_files = common::limits::raise_open_files_limit()?;

    // A request holds a client socket and an upstream socket (the pool's database
    // connections are counted apart): split the rest between the sides and the workers
    // so that past the limit clients queue instead of the accept loop failing.
    let database_connections = match config.driver {
        Driver::Async => config.pool_size,
        Driver::Blocking => config.workers,
    };
    let budget = common::limits::ConnectionBudget::new(
        open_files,
        2,
        u64::try_from(database_connections).unwrap_or(u64::MAX),
        config.workers,
    );

    let upstream_timeout = config.app.upstream_timeout;
    let upstream = web::Data::new(Upstream {
        api_url: config.app.api_url(),
        timeout: upstream_timeout,
    });

    // The pool exists once, for all workers; connections are opened on first use, so
    // the app starts (and /healthz says 503) even while the database is down.
    let async_db = match config.driver {
        Driver::Async => Some(AsyncDb::new(&config)?),
        Driver::Blocking => None,
    };
    let blocking_config = blocking::BlockingConfig {
        database: config.database_url.clone(),
        connect_timeout: config.db_connect_timeout,
        db_timeout: config.db_timeout,
    };

    let server = HttpServer::new(move || {
        // The factory runs once per worker thread: one awc client per event loop, and
        // with the blocking driver, one synchronous connection per event loop.
        let db = match &async_db {
            Some(pool) => Db::Async(pool.clone()),
            None => Db::Blocking(blocking::BlockingDb::spawn(blocking_config.clone())),
        };
        App::new()
            .app_data(upstream.clone())
            .app_data(web::Data::new(async_client(
                upstream_timeout,
                budget.per_worker,
            )))
            .app_data(web::Data::new(db))
            .route("/", web::get().to(index))
            .route("/healthz", web::get().to(healthz))
    })
    .workers(config.workers)
    // Thousands of clients arrive at once: a deep accept queue, and no connection cap
    // below what the open-files limit allows.
    .backlog(common::server::LISTEN_BACKLOG)
    .max_connections(budget.per_worker)
    // Requests queued behind a blocked loop (DRIVER=blocking) wait instead of a 408.
    .client_request_timeout(common::server::CLIENT_REQUEST_TIMEOUT)
    .shutdown_timeout(config.app.shutdown_timeout.as_secs().max(1))
    .disable_signals()
    .bind((config.app.host, config.app.port_app))
    .map_err(common::server::cannot_listen(
        config.app.host,
        config.app.port_app,
    ))?
    .run();

    tracing::info!(
        "app_pg listening on http://{}:{}/ ({} worker(s), driver {:?}, pool {}, database {}, upstream {}, open files {open_files})",
        config.app.host,
        config.app.port_app,
        config.workers,
        config.driver,
        match config.driver {
            Driver::Async => config.pool_size.to_string(),
            Driver::Blocking => "none (one connection per worker)".to_owned(),
        },
        describe(&config.database_url),
        config.app.api_url()
    );
    common::server::run_until_signal(server).await?;
    Ok(())
}
