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

mod app;
mod conn;
mod http;
mod models;
mod prefork;
mod shutdown;
mod uwsgi;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use common::config::{parse_positive, parse_seconds, AppArgs};
use common::upstream::blocking_agent;

use crate::app::App;
use crate::conn::ConnConfig;
use crate::models::Serving;
use crate::shutdown::Shutdown;

/// The blocking proxy: dev server, thread per connection, or prefork workers x threads.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Config {
    #[command(flatten)]
    app: AppArgs,

    /// Worker processes sharing the listening socket (more than 1 starts a master).
    #[arg(long, env = "WORKERS", default_value = "1", value_parser = parse_positive)]
    workers: usize,

    /// Threads per worker, each serving one connection at a time; 0 = a new thread
    /// for each connection.
    #[arg(long, env = "THREADS", default_value_t = 1)]
    threads: usize,

    /// Wire protocol: http, or uwsgi (what nginx's uwsgi_pass speaks).
    #[arg(long, env = "PROTOCOL", value_enum, default_value_t = Protocol::Http)]
    protocol: Protocol,

    /// Seconds a client may take to send its request (or, on a keep-alive connection,
    /// to start the next one) before its thread drops it and serves someone else.
    #[arg(long, env = "READ_TIMEOUT", default_value = "5", value_parser = parse_seconds)]
    read_timeout: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Protocol {
    /// HTTP/1.0 and HTTP/1.1 with keep-alive.
    Http,
    /// The uwsgi binary protocol, one request per connection.
    Uwsgi,
}

fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    common::logging::init();
    // First thing, before any thread exists: SIGTERM/SIGINT only set a flag.
    let shutdown = Shutdown::install().context("cannot install signal handlers")?;
    let open_files = common::limits::raise_open_files_limit()?;
    let address = format!("{}:{}", config.app.host, config.app.port_app);

    // A worker started by a master: serve on the socket it handed down.
    if let Some((listener, id)) = prefork::inherited_listener()? {
        let name = format!("worker {id} (pid {})", std::process::id());
        return serve_process(listener, &config, &shutdown, &name);
    }

    let listener = models::bind(config.app.host, config.app.port_app)
        .with_context(|| format!("cannot listen on {address}"))?;
    let model = match (config.workers, config.threads) {
        (1, 0) => "a thread per connection".to_owned(),
        (1, 1) => "1 thread: the dev server, one request at a time".to_owned(),
        (1, t) => format!("1 process x {t} threads"),
        (w, 0) => format!("{w} processes x a thread per connection"),
        (w, t) => format!("{w} processes x {t} threads"),
    };
    tracing::info!(
        "app_sync listening on {address} ({:?}; {model}; upstream {}; open files {open_files})",
        config.protocol,
        config.app.api_url(),
    );

    if config.workers > 1 {
        prefork::master(
            listener,
            config.workers,
            &shutdown,
            config.app.shutdown_timeout,
        )
    } else {
        serve_process(listener, &config, &shutdown, "app_sync")
    }
}

/// Serves on `listener` with this process's threads until SIGTERM/SIGINT, then drains.
fn serve_process(
    listener: std::net::TcpListener,
    config: &Config,
    shutdown: &Shutdown,
    name: &str,
) -> anyhow::Result<()> {
    // One upstream client for the whole process, with an idle keep-alive connection
    // kept for every thread that may call at the same time.
    let pool_size = if config.threads == 0 {
        1024
    } else {
        config.threads
    };
    let serving = Serving {
        app: Arc::new(App {
            api_url: config.app.api_url(),
            timeout: config.app.upstream_timeout,
            agent: blocking_agent(config.app.upstream_timeout, pool_size),
        }),
        conn: ConnConfig {
            read_timeout: config.read_timeout,
            shutdown: shutdown.clone(),
        },
        protocol: config.protocol,
    };

    let drain = if config.threads == 0 {
        models::thread_per_connection(listener, serving)
    } else {
        models::thread_pool(listener, config.threads, serving)
    }
    .context("cannot start serving threads")?;

    while !shutdown.requested() {
        std::thread::sleep(conn::TICK);
    }
    tracing::info!(
        "{name}: {} received: finishing in-flight requests, then exiting",
        shutdown.signal_name()
    );
    if drain.wait(config.app.shutdown_timeout) {
        tracing::info!("{name}: stopped");
    } else {
        tracing::warn!(
            "{name}: requests still in flight after {:?}; exiting anyway",
            config.app.shutdown_timeout
        );
    }
    Ok(())
}
