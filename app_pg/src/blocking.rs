//! The blocking driver: the synchronous `postgres` crate, called from the event loop.
//!
//! This is the trap of the article's bonus (psycopg2 under gevent), built on purpose. It
//! must really hold the event-loop thread for the whole query, and it must not panic.
//!
//! # Why not call `postgres::Client` right in the handler
//!
//! The `postgres` crate is tokio-postgres plus a private single-threaded Tokio runtime:
//! every `client.query(..)` is `runtime.block_on(..)`. An actix-web worker *is* a Tokio
//! runtime, and Tokio refuses to start one runtime inside another: called on the
//! worker's thread, the first query panics with "Cannot start a runtime from within a
//! runtime" (and `tokio::task::block_in_place`, the usual escape, panics too on
//! actix's current-thread runtime). psycopg2 has no such guard, which is why the
//! article's trap is silent.
//!
//! # How it is called instead, still blocking
//!
//! Each event loop gets one synchronous connection that lives on a plain OS thread of
//! its own, where no runtime is running, so `postgres` may `block_on` there freely.
//! The handler hands that thread the query and then waits for the answer with a
//! *blocking* `std::sync::mpsc` receive, without `.await`. For the whole query the
//! event-loop thread is parked in the kernel (a futex wait) exactly as psycopg2 parks
//! gevent's hub in `recv(2)`: the loop accepts nothing, polls no socket, runs no other
//! handler, so the database halves of concurrent requests run strictly one after the
//! other. The extra thread only owns the socket; it never lets the loop go on.
//!
//! (The fix is *not* this module: it is the async driver, or moving the blocking call
//! off the loop with `web::block`, as app_async's `--client offload` does.)
//!
//! The connection is opened on first use and opened again after it breaks, so a
//! database that comes back is used without restarting the app. A query that does not
//! come back within its time limit is a 503; the loop stops waiting for it.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use time::OffsetDateTime;

use crate::error::DbError;
use crate::QUERY;

/// What the connection thread needs to know.
#[derive(Clone)]
pub struct BlockingConfig {
    pub database: tokio_postgres::Config,
    pub connect_timeout: Duration,
    pub db_timeout: Duration,
    /// Shared by every event loop's connection: the "pool" they make together.
    pub stats: Arc<PoolStats>,
}

/// The blocking driver's answer to deadpool's `Pool::status()`, over the connections
/// of all event loops: counted by the connection threads, read at each scrape.
#[derive(Debug, Default)]
pub struct PoolStats {
    /// Connections open.
    open: AtomicI64,
    /// Jobs (queries, pings) running on a connection.
    busy: AtomicI64,
    /// Jobs handed to a connection thread and not started yet. The loop that sent one
    /// is blocked until it is answered, so this stays 0 or near it: the requests that
    /// wait are queued in front of the blocked loop, not here.
    queued: AtomicI64,
}

impl PoolStats {
    /// `db_pool_size`, `db_pool_in_use`, `db_pool_waiters`.
    pub fn gauges(&self) -> Vec<common::metrics::Gauge> {
        crate::pool_gauges(
            self.open.load(Ordering::Relaxed),
            self.busy.load(Ordering::Relaxed),
            self.queued.load(Ordering::Relaxed),
        )
    }
}

/// One event loop's synchronous connection.
pub struct BlockingDb {
    jobs: mpsc::Sender<Job>,
    db_timeout: Duration,
    stats: Arc<PoolStats>,
}

/// A request to the connection thread, with where to send the answer.
enum Job {
    Sleep(f64, mpsc::SyncSender<Result<OffsetDateTime, DbError>>),
    Ping(mpsc::SyncSender<Result<(), DbError>>),
}

impl BlockingDb {
    /// Starts this event loop's connection thread. The thread ends when the worker
    /// (and with it the last sender) is dropped.
    pub fn spawn(config: BlockingConfig) -> BlockingDb {
        let (jobs, inbox) = mpsc::channel();
        let db_timeout = config.db_timeout;
        let stats = Arc::clone(&config.stats);
        let spawned = std::thread::Builder::new()
            .name("pg-blocking".to_owned())
            .spawn(move || serve(config, inbox));
        if let Err(err) = spawned {
            // With no thread the channel is closed and every query answers 503.
            tracing::error!("cannot start the database thread: {err}");
        }
        BlockingDb {
            jobs,
            db_timeout,
            stats,
        }
    }

    /// `SELECT NOW(), pg_sleep($1)`, blocking the calling (event-loop) thread until the
    /// answer comes back.
    pub fn sleep(&self, seconds: f64) -> Result<OffsetDateTime, DbError> {
        let limit = Duration::from_secs_f64(seconds) + self.db_timeout;
        self.call(|reply| Job::Sleep(seconds, reply), limit)
    }

    /// `SELECT 1`, blocking likewise.
    pub fn ping(&self) -> Result<(), DbError> {
        self.call(Job::Ping, self.db_timeout)
    }

    fn call<T>(
        &self,
        job: impl FnOnce(mpsc::SyncSender<Result<T, DbError>>) -> Job,
        limit: Duration,
    ) -> Result<T, DbError> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.stats.queued.fetch_add(1, Ordering::Relaxed);
        if self.jobs.send(job(reply)).is_err() {
            self.stats.queued.fetch_sub(1, Ordering::Relaxed);
            return Err(DbError::Unavailable("database thread is gone".to_owned()));
        }
        // The blocking wait: no `.await`, so the event loop stops here.
        match answer.recv_timeout(limit) {
            Ok(result) => result,
            Err(mpsc::RecvTimeoutError::Timeout) => Err(DbError::Timeout(limit)),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                Err(DbError::Unavailable("database thread is gone".to_owned()))
            }
        }
    }
}

/// An open connection and the query, prepared once on it.
struct Connection {
    client: postgres::Client,
    statement: postgres::Statement,
}

/// The connection thread: runs jobs one at a time, (re)connecting when needed.
fn serve(config: BlockingConfig, inbox: mpsc::Receiver<Job>) {
    let mut pg_config = postgres::Config::from(config.database);
    pg_config.connect_timeout(config.connect_timeout);
    let mut connection = Counted {
        open: None,
        stats: Arc::clone(&config.stats),
    };

    for job in inbox {
        let stats = &config.stats;
        stats.queued.fetch_sub(1, Ordering::Relaxed);
        stats.busy.fetch_add(1, Ordering::Relaxed);
        match job {
            Job::Sleep(seconds, reply) => {
                let result = run(&mut pg_config, &mut connection, |open| {
                    open.client
                        .query_one(&open.statement, &[&seconds])
                        .and_then(|row| row.try_get::<_, OffsetDateTime>(0))
                });
                // The receiver may have given up (timeout); then nobody needs it.
                let _ = reply.send(result);
            }
            Job::Ping(reply) => {
                let result = run(&mut pg_config, &mut connection, |open| {
                    open.client.simple_query("SELECT 1").map(drop)
                });
                let _ = reply.send(result);
            }
        }
        stats.busy.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The thread's connection, counted in `db_pool_size` while open.
struct Counted {
    open: Option<Connection>,
    stats: Arc<PoolStats>,
}

impl Counted {
    fn set(&mut self, connection: Option<Connection>) {
        let delta = i64::from(connection.is_some()) - i64::from(self.open.is_some());
        self.stats.open.fetch_add(delta, Ordering::Relaxed);
        self.open = connection;
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.set(None);
    }
}

/// Runs `query` on the open connection, opening one first if there is none.
///
/// Nothing drives an idle synchronous connection, so it learns that the server went
/// away (a restart, say) only when it is next used. When a query fails that way, the
/// connection is replaced and the query (read-only, outside any transaction) is run
/// once more; a database that is really down then answers "connection refused".
fn run<T>(
    pg_config: &mut postgres::Config,
    connection: &mut Counted,
    query: impl Fn(&mut Connection) -> Result<T, postgres::Error>,
) -> Result<T, DbError> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        if connection
            .open
            .as_ref()
            .is_some_and(|open| open.client.is_closed())
        {
            connection.set(None);
        }
        if connection.open.is_none() {
            connection.set(Some(connect(pg_config)?));
        }
        let Some(open) = connection.open.as_mut() else {
            return Err(DbError::Unavailable("no database connection".to_owned()));
        };
        match query(open) {
            Ok(value) => return Ok(value),
            Err(err) if attempts == 1 && connection_lost(&open.client, &err) => {
                tracing::info!("database connection lost ({err}); reconnecting");
                connection.set(None);
            }
            Err(err) => return Err(DbError::unavailable(err)),
        }
    }
}

/// Whether `err` means the connection is gone rather than the query failed: the socket
/// closed, or the server ended the session (SQLSTATE class 57, operator intervention,
/// such as a shutdown; class 08, connection exception).
fn connection_lost(client: &postgres::Client, err: &postgres::Error) -> bool {
    client.is_closed()
        || err.is_closed()
        || err
            .code()
            .is_some_and(|code| code.code().starts_with("57P") || code.code().starts_with("08"))
}

fn connect(pg_config: &mut postgres::Config) -> Result<Connection, DbError> {
    let mut client = pg_config
        .connect(postgres::NoTls)
        .map_err(DbError::unavailable)?;
    let statement = client.prepare(QUERY).map_err(DbError::unavailable)?;
    Ok(Connection { client, statement })
}
