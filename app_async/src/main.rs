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

use std::time::Duration;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use clap::{Parser, ValueEnum};
use common::config::{parse_positive, AppArgs};
use common::delay::delay_from_query;
use common::upstream::{
    async_client, blocking_agent, get_async, get_blocking, upstream_url, APP_MAX_DELAY,
};

// glibc's malloc and its page faults took a fifth of this loop's CPU at 10,000 clients;
// mimalloc's per-thread free lists cost a fraction of that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The async proxy: actix-web + awc in front of the slow API.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Config {
    #[command(flatten)]
    app: AppArgs,

    /// Event-loop threads, each an actix-web worker.
    #[arg(long, env = "WORKERS", default_value = "1", value_parser = parse_positive)]
    workers: usize,

    /// How the handler calls the upstream.
    #[arg(long, env = "CLIENT", value_enum, default_value_t = Client::Async)]
    client: Client,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Client {
    /// awc: the wait yields to the event loop.
    Async,
    /// A blocking client inside the handler: the wait blocks the event loop.
    Blocking,
    /// The blocking client on a thread pool: the event loop stays free.
    Offload,
}

/// What every request needs to reach the upstream, shared by all workers.
struct Upstream {
    api_url: String,
    timeout: Duration,
    client: Client,
    /// The blocking client (used by `blocking` and `offload`); pools keep-alive sockets.
    agent: ureq::Agent,
}

/// `GET /?delay=S`
async fn index(
    request: HttpRequest,
    upstream: web::Data<Upstream>,
    awc_client: web::Data<awc::Client>,
) -> actix_web::Result<HttpResponse> {
    let delay = delay_from_query(request.query_string(), APP_MAX_DELAY)?;
    let url = upstream_url(&upstream.api_url, delay);
    let timeout = upstream.timeout;

    let body = match upstream.client {
        // Yields while waiting: this thread serves other requests meanwhile.
        Client::Async => get_async(&awc_client, &url, timeout).await?,
        // Holds this worker's only thread for the whole upstream call. On purpose.
        Client::Blocking => get_blocking(&upstream.agent, &url, timeout)?,
        // Blocks a pool thread instead; the event loop awaits the result.
        Client::Offload => {
            let agent = upstream.agent.clone();
            web::block(move || get_blocking(&agent, &url, timeout)).await??
        }
    };
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(format!("Hi there! {body}")))
}

/// `GET /healthz`: ready as soon as the socket accepts.
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().body("ok")
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    common::logging::init();
    let open_files = common::limits::raise_open_files_limit()?;

    // Each request in flight holds two sockets, the client's and the upstream's: split
    // the descriptors between the two sides and the workers, so that past the limit
    // clients queue instead of the accept loop failing (and stalling for 500 ms).
    let budget = common::limits::ConnectionBudget::new(open_files, 2, 0, config.workers);

    let timeout = config.app.upstream_timeout;
    let upstream = web::Data::new(Upstream {
        api_url: config.app.api_url(),
        timeout,
        client: config.client,
        agent: blocking_agent(timeout, 1024),
    });

    let server = HttpServer::new(move || {
        App::new()
            .app_data(upstream.clone())
            // The factory runs once per worker thread: one awc client per event loop.
            .app_data(web::Data::new(async_client(timeout, budget.per_worker)))
            .route("/", web::get().to(index))
            .route("/healthz", web::get().to(healthz))
    })
    .workers(config.workers)
    // Thousands of clients arrive at once: a deep accept queue, and no connection cap
    // below what the open-files limit allows.
    .backlog(common::server::LISTEN_BACKLOG)
    .max_connections(budget.per_worker)
    // Requests queued behind a blocked loop (CLIENT=blocking) wait instead of a 408.
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
        "app_async listening on http://{}:{}/ ({} worker(s), client {:?}, upstream {}, open files {open_files}: up to {} requests in flight)",
        config.app.host,
        config.app.port_app,
        config.workers,
        config.client,
        config.app.api_url(),
        budget.per_side
    );
    common::server::run_until_signal(server).await?;
    Ok(())
}
