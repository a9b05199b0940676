//! app_async: the article's Flask app on an event loop, the Rust counterpart of gevent.
//!
//! `GET /?delay=S` calls the slow API with the same delay and answers
//! `Hi there! slow api response`. Each worker is one thread running one event loop
//! (actix-web); while a request waits on the upstream, the loop serves the others. By
//! Little's law (throughput = requests in flight / latency), throughput then grows with
//! the load instead of stopping at a thread count.
//!
//! `--client` shows how that promise is kept or broken:
//! - `async`: awc, an async HTTP client. The wait yields to the loop (gevent *with*
//!   `monkey.patch_all()`).
//! - `blocking`: a blocking client called inside the handler. The wait holds the loop's
//!   only thread, so one worker serves one request at a time (gevent *without*
//!   monkey patching: "there would be no benefit from using gevent here").
//! - `offload`: the same blocking client on a thread pool (`web::block`), so the loop
//!   stays free; concurrency is then bounded by that pool (512 threads per worker).
//!
//! `--protocol uwsgi` puts the same loops and the same handler behind nginx's
//! `uwsgi_pass` instead of HTTP (the article's nginx -> uWSGI + gevent; `uwsgi.rs`).
//!
//! Read on in order: the configuration ([`Config`], [`Client`]), the handler
//! (`hi_there`, where the three clients differ), and the server ([`run`]: one awc client
//! per event loop, in front of a listener the caller bound, until a shutdown signal).

mod uwsgi;

use std::future::Future;
use std::net::TcpListener;
use std::time::Duration;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use clap::ValueEnum;
pub use common::config::Protocol;
use common::config::{parse_positive, AppArgs};
use common::delay::delay_from_query;
use common::limits::{ConnectionBudget, Usage};
use common::metrics::Metrics;
use common::upstream::{
    async_client, blocking_agent, get_async, get_blocking, upstream_url, APP_MAX_DELAY,
};

/// The async proxy: actix-web + awc in front of the slow API.
#[derive(clap::Parser, Debug, Clone)]
#[command(version, about)]
pub struct Config {
    #[command(flatten)]
    pub app: AppArgs,

    /// Event-loop threads, each an actix-web worker.
    #[arg(long, env = "WORKERS", default_value = "1", value_parser = parse_positive)]
    pub workers: usize,

    /// How the handler calls the upstream.
    #[arg(long, env = "CLIENT", value_enum, default_value_t = Client::Async)]
    pub client: Client,

    /// Wire protocol: http, or uwsgi (what nginx's uwsgi_pass speaks, one request per
    /// connection, as uWSGI's `--gevent` workers serve it).
    #[arg(long, env = "PROTOCOL", value_enum, default_value_t = Protocol::Http)]
    pub protocol: Protocol,
}

/// How the handler calls the upstream (`--client`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Client {
    /// awc: the wait yields to the event loop.
    Async,
    /// A blocking client inside the handler: the wait blocks the event loop.
    Blocking,
    /// The blocking client on a thread pool: the event loop stays free.
    Offload,
}

/// What every request needs to reach the upstream, shared by all workers.
#[derive(Clone)]
struct Upstream {
    api_url: String,
    timeout: Duration,
    client: Client,
    /// The blocking client (used by `blocking` and `offload`); pools keep-alive sockets.
    agent: ureq::Agent,
    /// `GET /metrics`'s counters: requests and upstream calls in flight.
    metrics: Metrics,
}

/// `GET /?delay=S` over HTTP.
async fn index(
    request: HttpRequest,
    upstream: web::Data<Upstream>,
    awc_client: web::Data<awc::Client>,
) -> actix_web::Result<HttpResponse> {
    let body = hi_there(request.query_string(), &upstream, &awc_client).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(body))
}

/// The handler both protocols share: parse `delay`, call the upstream the way
/// `--client` says, answer `Hi there! ` + its body. Errors carry their status (400 for
/// a bad delay, 502/504 for the upstream) and a one-line reason.
async fn hi_there(
    query: &str,
    upstream: &Upstream,
    awc_client: &awc::Client,
) -> actix_web::Result<String> {
    let delay = delay_from_query(query, APP_MAX_DELAY)?;
    let url = upstream_url(&upstream.api_url, delay);
    let timeout = upstream.timeout;

    // upstream_requests_in_flight, until this call returns (or the request is dropped).
    let _call = upstream.metrics.upstream_call();
    let body = match upstream.client {
        // Yields while waiting: this thread serves other requests meanwhile.
        Client::Async => get_async(awc_client, &url, timeout).await?,
        // Holds this worker's only thread for the whole upstream call. On purpose.
        Client::Blocking => get_blocking(&upstream.agent, &url, timeout)?,
        // Blocks a pool thread instead; the event loop awaits the result.
        Client::Offload => {
            let agent = upstream.agent.clone();
            web::block(move || get_blocking(&agent, &url, timeout)).await??
        }
    };
    Ok(format!("Hi there! {body}"))
}

/// Serves on `listener` until `shutdown` completes, then lets in-flight requests finish
/// (up to the configured shutdown timeout) and returns. Call it inside an actix system.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + 'static,
) -> std::io::Result<()> {
    let open_files = common::limits::raise_open_files_limit()?;

    // Each request in flight holds two sockets, the client's and the upstream's: split
    // the descriptors between the two sides and the workers, so that past the limit
    // clients queue instead of the accept loop failing (and stalling for 500 ms).
    let budget = ConnectionBudget::new(
        open_files,
        Usage {
            sides: 2,
            other: 0,
            workers: config.workers,
        },
    );

    let timeout = config.app.upstream_timeout;
    let metrics = Metrics::new(Some(common::metrics::UPSTREAM_CALLS))?;
    // METRICS_PORT: the only HTTP this service has with PROTOCOL=uwsgi.
    let _metrics_server = match config.app.metrics_port {
        Some(port) => Some(common::metrics::listen(
            config.app.host,
            port,
            metrics.clone(),
        )?),
        None => None,
    };
    let upstream = Upstream {
        api_url: config.app.api_url(),
        timeout,
        client: config.client,
        agent: blocking_agent(timeout, 1024),
        metrics: metrics.clone(),
    };
    // Runs once per worker thread: one awc client per event loop.
    let new_client = move || async_client(timeout, budget.per_worker);
    let shutdown_timeout_s = config.app.shutdown_timeout.as_secs().max(1);

    let address = listener.local_addr()?;
    let server = match config.protocol {
        Protocol::Http => {
            let upstream = web::Data::new(upstream);
            HttpServer::new(move || {
                let tracked = metrics.clone();
                App::new()
                    .app_data(upstream.clone())
                    .app_data(web::Data::new(new_client()))
                    .app_data(web::Data::new(metrics.clone()))
                    .wrap_fn(move |request, service| {
                        common::metrics::track(&tracked, request, service)
                    })
                    .route("/", web::get().to(index))
                    .route("/healthz", web::get().to(common::server::healthz))
                    .route("/metrics", web::get().to(common::metrics::handler))
            })
            .workers(config.workers)
            // Thousands of clients arrive at once: no connection cap below what the
            // open-files limit allows (the deep accept queue is the listener's).
            .max_connections(budget.per_worker)
            // Requests queued behind a blocked loop (CLIENT=blocking) wait, not a 408.
            .client_request_timeout(common::server::CLIENT_REQUEST_TIMEOUT)
            .shutdown_timeout(shutdown_timeout_s)
            .disable_signals()
            .listen(listener)?
            .run()
        }
        // The same handler behind nginx's uwsgi_pass.
        Protocol::Uwsgi => uwsgi::server(
            listener,
            config.workers,
            budget.per_worker,
            shutdown_timeout_s,
            upstream,
            new_client,
        )?,
    };

    tracing::info!(
        "app_async listening on {address} ({:?}, {} worker(s), client {:?}, upstream {}, open files {open_files}: up to {} requests in flight)",
        config.protocol,
        config.workers,
        config.client,
        config.app.api_url(),
        budget.per_side
    );
    common::server::serve_until(server, shutdown).await
}
