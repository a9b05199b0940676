//! app_sync: the article's Flask app on blocking threads, served the three ways the
//! article deploys it.
//!
//! `GET /?delay=S` calls the slow API with a blocking HTTP client and answers
//! `Hi there! slow api response`. Each thread serves one request at a time and waits,
//! doing nothing else, while the upstream takes its `delay`. By Little's law
//! (throughput = requests in flight / latency), a server with N threads in front of a
//! 1-second upstream answers at most N requests per second, whatever the load.
//!
//! `--workers` and `--threads` pick the model:
//! - `--workers 1 --threads 1`: the dev server (`flask run --without-threads`). One
//!   thread accepts and serves; everybody else waits in the accept queue. 1 rps.
//! - `--threads 0`: a new thread for each connection (`flask run --with-threads`).
//!   No cap, but a thread (stack, scheduling) per client.
//! - `--workers W --threads T`: a master process binds the socket and starts W worker
//!   processes sharing it, each with T threads (uWSGI's `--processes 4 --threads 50`,
//!   Gunicorn's `-w 4 --threads 50`). At most W*T requests in flight; the rest queue.
//!
//! `--protocol uwsgi` speaks the uwsgi wire protocol instead of HTTP, for nginx's
//! `uwsgi_pass` (the article's nginx -> uWSGI topology).
//!
//! Read on in order: the application (`app.rs`, the article's Flask view), one
//! process's threads (`models.rs`, started by [`run`]), the processes ([`prefork`]), and
//! what every connection shares (`conn.rs`, `http.rs`, `uwsgi.rs`, [`shutdown`]). Here
//! the process is the point: `main.rs` decides whether this one is a master or serves
//! itself, and [`run`] is one serving process, which tests can also call in their own
//! process.

mod app;
mod conn;
mod http;
mod models;
pub mod prefork;
pub mod shutdown;
mod uwsgi;

use std::fmt;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

pub use common::config::Protocol;
use common::config::{parse_positive, parse_seconds, AppArgs};
use common::metrics::{Metrics, MetricsServer};
use common::upstream::blocking_agent;

use crate::app::App;
use crate::conn::ConnConfig;
pub use crate::models::bind;
use crate::models::Serving;
pub use crate::shutdown::Shutdown;

/// The request parsers the serving code runs, reachable for fuzzing (`fuzz/`) and
/// property tests: an HTTP request head and a chunked body, a uwsgi packet and its vars
/// block, with the bounds they enforce.
pub mod parse {
    pub use crate::http::{
        head_too_large, parse_chunked, parse_head, Body, Head, HeadError, MAX_BODY_BYTES,
        MAX_CHUNK_LINE_BYTES, MAX_HEADERS, MAX_HEAD_BYTES,
    };
    // The uwsgi reader is common's: app_async's uwsgi listener runs the same one.
    pub use common::uwsgi::{
        packet_len, parse_packet, parse_vars, Rejection, Request,
        MAX_BODY_BYTES as UWSGI_MAX_BODY_BYTES,
    };
}

/// The blocking proxy: dev server, thread per connection, or prefork workers x threads.
#[derive(clap::Parser, Debug, Clone)]
#[command(version, about)]
pub struct Config {
    #[command(flatten)]
    pub app: AppArgs,

    /// Worker processes sharing the listening socket (more than 1 starts a master).
    #[arg(long, env = "WORKERS", default_value = "1", value_parser = parse_positive)]
    pub workers: usize,

    /// Threads per worker, each serving one connection at a time; 0 = a new thread
    /// for each connection.
    #[arg(long, env = "THREADS", default_value_t = 1)]
    pub threads: usize,

    /// Wire protocol: http (1.0 and 1.1, keep-alive), or uwsgi (what nginx's
    /// uwsgi_pass speaks, one request per connection).
    #[arg(long, env = "PROTOCOL", value_enum, default_value_t = Protocol::Http)]
    pub protocol: Protocol,

    /// Seconds a client may take to send its request (or, on a keep-alive connection,
    /// to start the next one) before its thread drops it and serves someone else.
    #[arg(long, env = "READ_TIMEOUT", default_value = "5", value_parser = parse_seconds)]
    pub read_timeout: Duration,
}

/// The concurrency model `--workers` and `--threads` pick.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Model {
    /// `--workers 1 --threads 1`: one thread accepts and serves, everybody else waits in
    /// the accept queue (`flask run --without-threads`).
    DevServer,
    /// `--threads 0`: a new thread for each connection (`flask run --with-threads`), in
    /// each of `workers` processes.
    ThreadPerConnection { workers: usize },
    /// `--workers W --threads T`: W processes sharing the socket, each with T threads
    /// (uWSGI's `--processes 4 --threads 50`, Gunicorn's `-w 4 --threads 50`).
    WorkersThreads { workers: usize, threads: usize },
}

impl Config {
    /// The model the flags describe.
    pub fn model(&self) -> Model {
        match (self.workers, self.threads) {
            (1, 1) => Model::DevServer,
            (workers, 0) => Model::ThreadPerConnection { workers },
            (workers, threads) => Model::WorkersThreads { workers, threads },
        }
    }
}

impl Model {
    /// Processes that serve: more than one means a master starts them.
    pub fn workers(self) -> usize {
        match self {
            Model::DevServer => 1,
            Model::ThreadPerConnection { workers } | Model::WorkersThreads { workers, .. } => {
                workers
            }
        }
    }
}

impl fmt::Display for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Model::DevServer => write!(f, "1 thread: the dev server, one request at a time"),
            Model::ThreadPerConnection { workers: 1 } => write!(f, "a thread per connection"),
            Model::ThreadPerConnection { workers } => {
                write!(f, "{workers} processes x a thread per connection")
            }
            Model::WorkersThreads {
                workers: 1,
                threads,
            } => {
                write!(f, "1 process x {threads} threads")
            }
            Model::WorkersThreads { workers, threads } => {
                write!(f, "{workers} processes x {threads} threads")
            }
        }
    }
}

/// One serving process: serves on `listener` with this process's threads, as the model
/// says (one thread, a pool of `--threads`, or a thread per connection), until
/// `shutdown` is requested; then lets in-flight requests finish (up to the shutdown
/// timeout) and returns. `--workers` is the caller's business (see [`prefork`]).
///
/// Its metrics are its own, also on `--metrics-port` when given.
pub fn run(listener: TcpListener, config: &Config, shutdown: &Shutdown) -> anyhow::Result<()> {
    let metrics = new_metrics()?;
    let _metrics_server = metrics_server(config, &metrics)?;
    serve(listener, config, shutdown, metrics)
}

/// The counters of a process that serves alone.
pub fn new_metrics() -> anyhow::Result<Metrics> {
    Metrics::new(common::metrics::UPSTREAM_CALLS).context("cannot map memory for the metrics")
}

/// The `--metrics-port` listener, if asked for: in the process that serves alone, or in
/// a prefork master (never in its workers, which share the master's counters).
pub fn metrics_server(config: &Config, metrics: &Metrics) -> anyhow::Result<Option<MetricsServer>> {
    match config.app.metrics_port {
        Some(port) => Ok(Some(common::metrics::listen(
            config.app.host,
            port,
            metrics.clone(),
        )?)),
        None => Ok(None),
    }
}

/// [`run`] with the counters given: a prefork worker's, mapped from its master's.
pub fn serve(
    listener: TcpListener,
    config: &Config,
    shutdown: &Shutdown,
    metrics: Metrics,
) -> anyhow::Result<()> {
    let open_files = common::limits::raise_open_files_limit()?;
    // Accepting threads must wake up now and then to look at the shutdown flag.
    models::prepare(&listener).context("cannot set up the listening socket")?;
    let model = config.model();

    // One upstream client for the whole process, with an idle keep-alive connection
    // kept for every thread that may call at the same time.
    let pool_size = match model {
        Model::DevServer => 1,
        Model::ThreadPerConnection { .. } => 1024,
        Model::WorkersThreads { threads, .. } => threads,
    };
    let serving = Serving {
        app: Arc::new(App {
            api_url: config.app.api_url(),
            timeout: config.app.upstream_timeout,
            agent: blocking_agent(config.app.upstream_timeout, pool_size),
            metrics,
        }),
        conn: ConnConfig {
            read_timeout: config.read_timeout,
            shutdown: shutdown.clone(),
        },
        protocol: config.protocol,
    };

    let drain = match model {
        Model::DevServer => models::thread_pool(listener, 1, serving),
        Model::ThreadPerConnection { .. } => models::thread_per_connection(listener, serving),
        Model::WorkersThreads { threads, .. } => models::thread_pool(listener, threads, serving),
    }
    .context("cannot start serving threads")?;
    tracing::info!("serving ({model}; open files {open_files})");

    while !shutdown.requested() {
        std::thread::sleep(conn::TICK);
    }
    tracing::info!(
        "{} received: finishing in-flight requests, then exiting",
        shutdown.signal_name()
    );
    if drain.wait(config.app.shutdown_timeout) {
        tracing::info!("stopped");
    } else {
        tracing::warn!(
            "requests still in flight after {:?}; exiting anyway",
            config.app.shutdown_timeout
        );
    }
    Ok(())
}
