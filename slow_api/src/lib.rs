//! slow_api: the slow third-party API every app in the lab depends on.
//!
//! `GET /?delay=S` waits S seconds and answers `slow api response`. The wait is a timer
//! on the event loop, never a sleeping thread, so this service can hold thousands of
//! requests at once and is never the bottleneck it is meant to reveal in others.
//! (The article's version is aiohttp with `asyncio.sleep`; this is the same idea.)
//!
//! [`run`] serves on a listener the caller bound, until a shutdown signal: `main.rs`
//! binds the configured address and passes SIGTERM/SIGINT; tests bind 127.0.0.1:0 and
//! pass a signal they fire themselves.

use std::future::Future;
use std::net::{IpAddr, TcpListener};
use std::time::Duration;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use common::delay::delay_from_query;
use common::limits::{ConnectionBudget, Usage};

/// The slow third-party API: GET /?delay=S answers after S seconds.
#[derive(clap::Parser, Debug, Clone)]
#[command(version, about)]
pub struct Config {
    /// Address to bind (compose sets 0.0.0.0).
    #[arg(long, env = "HOST", default_value = "127.0.0.1")]
    pub host: IpAddr,

    /// Port to listen on.
    #[arg(long, env = "PORT", default_value_t = 4000)]
    pub port: u16,

    /// Largest accepted delay, in seconds.
    #[arg(long, env = "MAX_DELAY", default_value = "60",
          value_parser = common::config::parse_seconds)]
    pub max_delay: Duration,

    /// Seconds that SIGTERM/SIGINT wait for in-flight requests before exiting anyway.
    #[arg(long, env = "SHUTDOWN_TIMEOUT", default_value = "65",
          value_parser = common::config::parse_seconds)]
    pub shutdown_timeout: Duration,

    /// Also serve GET /metrics and GET /healthz over plain HTTP on this port (on HOST).
    #[arg(long, env = "METRICS_PORT")]
    pub metrics_port: Option<u16>,
}

/// `GET /?delay=S`: sleep on a timer, then answer. A bad delay is a 400 with the reason.
async fn slow_response(request: HttpRequest, max_delay: web::Data<f64>) -> HttpResponse {
    match delay_from_query(request.query_string(), **max_delay) {
        Ok(seconds) => {
            actix_web::rt::time::sleep(Duration::from_secs_f64(seconds)).await;
            HttpResponse::Ok()
                .content_type("text/plain; charset=utf-8")
                .body("slow api response")
        }
        Err(reason) => HttpResponse::BadRequest()
            .content_type("text/plain; charset=utf-8")
            .body(format!("{reason}\n")),
    }
}

/// Serves on `listeners` (one port's accept queues: `main` opens
/// [`common::server::ACCEPT_QUEUES`] of them with [`common::server::bind_queues`]; a test
/// may pass one plain socket) until `shutdown` completes, then lets in-flight requests
/// finish (up to `config.shutdown_timeout`) and returns. Call it inside an actix system.
pub async fn run(
    listeners: impl IntoIterator<Item = TcpListener>,
    config: Config,
    shutdown: impl Future<Output = ()> + 'static,
) -> std::io::Result<()> {
    let open_files = common::limits::raise_open_files_limit()?;

    // One event loop per CPU (actix's default), sharing the descriptors between them.
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let budget = ConnectionBudget::new(
        open_files,
        Usage {
            sides: 1,
            other: 0,
            workers,
        },
    );

    let listeners: Vec<TcpListener> = listeners.into_iter().collect();
    let address = listeners
        .first()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "no listener"))?
        .local_addr()?;
    // The query's delay is checked in seconds against it (common::delay).
    let max_delay = web::Data::new(config.max_delay.as_secs_f64());
    // No upstream here: no upstream_requests_in_flight.
    let metrics = common::metrics::Metrics::new(&[])?;
    let _metrics_server = match config.metrics_port {
        Some(port) => Some(common::metrics::listen(config.host, port, metrics.clone())?),
        None => None,
    };
    let mut server = HttpServer::new(move || {
        let tracked = metrics.clone();
        App::new()
            .app_data(max_delay.clone())
            .app_data(web::Data::new(metrics.clone()))
            .wrap_fn(move |request, service| common::metrics::track(&tracked, request, service))
            .route("/", web::get().to(slow_response))
            .route("/healthz", web::get().to(common::server::healthz))
            .route("/metrics", web::get().to(common::metrics::handler))
    })
    // Thousands of clients connect at once in the benchmarks: no per-worker connection
    // cap below what the open-files limit allows; past it clients queue (the listeners'
    // deep accept queues), rather than the accept loop failing with "too many open files"
    // and pausing for 500 ms.
    .workers(workers)
    .max_connections(budget.per_worker)
    .shutdown_timeout(config.shutdown_timeout.as_secs().max(1))
    .disable_signals();
    // One accept thread takes from every queue.
    for listener in listeners {
        server = server.listen(listener)?;
    }
    let server = server.run();

    tracing::info!(
        "slow_api listening on http://{address}/ (max delay {} s, open files {open_files})",
        config.max_delay.as_secs_f64()
    );
    common::server::serve_until(server, shutdown).await
}
