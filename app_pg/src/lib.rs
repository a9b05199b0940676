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
//! - `async` ([`pool`]): tokio-postgres through a deadpool-postgres pool of
//!   `--pool-size` connections. Waiting on PostgreSQL yields to the loop, so one thread
//!   keeps hundreds of requests in flight; the limit is the pool (Little's law: at most
//!   POOL_SIZE queries of S/2 seconds at a time). This is psycopg2 *with* psycogreen.
//! - `blocking` ([`blocking`]): the synchronous `postgres` crate called inside the
//!   handler. The event-loop thread sits in the query for its whole S/2 seconds and
//!   serves nobody else meanwhile, so the database halves of concurrent requests run
//!   one after the other. This is psycopg2 under gevent *without* psycogreen:
//!   "corresponding IO will still be blocking". See [`blocking`] for how it is done
//!   without panicking.
//!
//! Failures a user can meet ([`error`]): a bad `delay` is a 400 before anything touches
//! the database; upstream down or slow is 502 or 504 (as in app_async); a database that
//! is unreachable, or a pool with no free connection within `--pool-wait-timeout`, is a
//! 503 within a few seconds. Nothing is cached across failures: a database that comes
//! back is used again by the next request, without restarting the app.
//!
//! Read on in order: the handler (`index`, the two drivers side by side), then the
//! server ([`run`]); the flags are in [`config`].

pub mod blocking;
pub mod config;
pub mod error;
pub mod pool;

use std::future::Future;
use std::net::TcpListener;
use std::time::Duration;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use common::delay::delay_from_query;
use common::limits::{ConnectionBudget, Usage};
use common::metrics::{Dependency, Gauge, Metrics};
use common::upstream::{async_client, get_async, upstream_url, APP_MAX_DELAY};

pub use crate::config::{Config, Driver};
use crate::error::DbError;

/// The query of the article, with the delay as a bound parameter (never spliced in).
pub const QUERY: &str = "SELECT NOW(), pg_sleep($1)";

/// How NOW() is printed: `2026-11-26T03:37:05.746992Z`.
const TIMESTAMP: &[time::format_description::BorrowedFormatItem<'static>] = time::macros::format_description!(
    "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
);

/// How one event loop reaches PostgreSQL: the choice `--driver` makes.
enum Db {
    /// The pool, shared by every worker (cloning it clones a handle).
    Async(pool::AsyncDb),
    /// This worker's own synchronous connection.
    Blocking(blocking::BlockingDb),
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
    metrics: web::Data<Metrics>,
) -> actix_web::Result<HttpResponse> {
    // Checked first: a bad delay is a 400 and never reaches the API or the database.
    let delay = delay_from_query(request.query_string(), APP_MAX_DELAY)?;
    let half = delay / 2.0;

    // Step 1, the upstream: always async, so both drivers overlap this half.
    let url = upstream_url(&upstream.api_url, half);
    let call = metrics.call(Dependency::Upstream);
    let body = get_async(&awc_client, &url, upstream.timeout).await;
    call.finish();
    let body = body.inspect_err(|err| tracing::warn!("{err}"))?;

    // Step 2, the database: where the two drivers differ. In flight
    // (db_queries_in_flight) from asking for a connection to the answer.
    let query = metrics.call(Dependency::Database);
    let now = match db.get_ref() {
        // Yields at every wait: this thread serves other requests meanwhile.
        Db::Async(pool) => pool.sleep(half).await,
        // No `.await`: this thread is stuck here for the whole query. On purpose.
        Db::Blocking(connection) => connection.sleep(half),
    };
    query.finish();
    let now = now.inspect_err(|err| tracing::warn!("{err}"))?;

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

/// The pool's gauges, in the order and with the names of docs/reference.md#metrics.
pub(crate) fn pool_gauges(size: i64, in_use: i64, waiters: i64) -> Vec<Gauge> {
    vec![
        Gauge {
            name: "db_pool_size",
            help: "Database connections open.",
            value: size,
        },
        Gauge {
            name: "db_pool_in_use",
            help: "Database connections running a query or lent to a request.",
            value: in_use,
        },
        Gauge {
            name: "db_pool_waiters",
            help: "Requests waiting for a database connection.",
            value: waiters,
        },
    ]
}

/// `GET /healthz`: ready when the database answers `SELECT 1`, 503 otherwise.
async fn healthz(db: web::Data<Db>) -> Result<HttpResponse, DbError> {
    match db.get_ref() {
        Db::Async(pool) => pool.ping().await?,
        Db::Blocking(connection) => connection.ping()?,
    }
    Ok(HttpResponse::Ok().body("ok"))
}

/// Serves on `listener` until `shutdown` completes, then lets in-flight requests finish
/// (up to the configured shutdown timeout) and returns. Call it inside an actix system.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + 'static,
) -> anyhow::Result<()> {
    let open_files = common::limits::raise_open_files_limit()?;

    // A request holds a client socket and an upstream socket (the database connections
    // are counted apart): split the rest between the sides and the workers so that past
    // the limit clients queue instead of the accept loop failing.
    let budget = ConnectionBudget::new(
        open_files,
        Usage {
            sides: 2,
            other: u64::try_from(config.database_connections()).unwrap_or(u64::MAX),
            workers: config.workers,
        },
    );

    let upstream_timeout = config.app.upstream_timeout;
    let upstream = web::Data::new(Upstream {
        api_url: config.app.api_url(),
        timeout: upstream_timeout,
    });

    // The pool exists once, for all workers; the blocking driver's connections are one
    // per worker, made in the factory below.
    let async_db = match config.driver {
        Driver::Async => Some(pool::AsyncDb::new(&config)?),
        Driver::Blocking => None,
    };
    let blocking_config = blocking::BlockingConfig {
        database: config.database_url.clone(),
        connect_timeout: config.db_connect_timeout,
        db_timeout: config.db_timeout,
        stats: Default::default(),
    };

    // Calls to the slow API (upstream_*) and database queries (db_query*) are counted
    // and timed apart; the pool's gauges are read from deadpool (or the blocking
    // connections' counters) at each scrape.
    let metrics = Metrics::new(common::metrics::UPSTREAM_AND_DATABASE)?;
    let metrics = match &async_db {
        Some(pool) => {
            let pool = pool.clone();
            metrics.with_gauges(std::sync::Arc::new(move || pool.gauges()))
        }
        None => {
            let stats = blocking_config.stats.clone();
            metrics.with_gauges(std::sync::Arc::new(move || stats.gauges()))
        }
    };
    let _metrics_server = match config.app.metrics_port {
        Some(port) => Some(common::metrics::listen(
            config.app.host,
            port,
            metrics.clone(),
        )?),
        None => None,
    };

    let address = listener.local_addr()?;
    let server = HttpServer::new(move || {
        // The factory runs once per worker thread: one awc client per event loop, and
        // with the blocking driver, one synchronous connection per event loop.
        let db = match &async_db {
            Some(pool) => Db::Async(pool.clone()),
            None => Db::Blocking(blocking::BlockingDb::spawn(blocking_config.clone())),
        };
        let tracked = metrics.clone();
        App::new()
            .app_data(upstream.clone())
            .app_data(web::Data::new(async_client(
                upstream_timeout,
                budget.per_worker,
            )))
            .app_data(web::Data::new(db))
            .app_data(web::Data::new(metrics.clone()))
            .wrap_fn(move |request, service| common::metrics::track(&tracked, request, service))
            .route("/", web::get().to(index))
            .route("/healthz", web::get().to(healthz))
            .route("/metrics", web::get().to(common::metrics::handler))
    })
    .workers(config.workers)
    // Thousands of clients arrive at once: no connection cap below what the open-files
    // limit allows (the deep accept queue is the listener's, see `main.rs`).
    .max_connections(budget.per_worker)
    // Requests queued behind a blocked loop (DRIVER=blocking) wait instead of a 408.
    .client_request_timeout(common::server::CLIENT_REQUEST_TIMEOUT)
    .shutdown_timeout(config.app.shutdown_timeout.as_secs().max(1))
    .disable_signals()
    .listen(listener)?
    .run();

    tracing::info!(
        "app_pg listening on http://{address}/ ({} worker(s), driver {:?}, pool {}, database {}, upstream {}, open files {open_files})",
        config.workers,
        config.driver,
        match config.driver {
            Driver::Async => config.pool_size.to_string(),
            Driver::Blocking => "none (one connection per worker)".to_owned(),
        },
        config::describe(&config.database_url),
        config.app.api_url()
    );
    common::server::serve_until(server, shutdown).await?;
    Ok(())
}
