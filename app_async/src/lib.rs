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

mod event_loop;
mod uwsgi;

pub use event_loop::{bind, ACCEPT_QUEUES};

use std::future::Future;
use std::net::TcpListener;
use std::rc::Rc;
use std::time::Duration;

use actix_service::{map_config, IntoServiceFactory, Service, ServiceFactory};
use actix_web::dev::AppConfig;
use actix_web::{web, App, HttpRequest, HttpResponse};
use common::config::{parse_positive, AppArgs};
pub use common::config::{Client, Protocol};
use common::delay::delay_from_query;
use common::limits::{ConnectionBudget, Usage};
use common::metrics::{Dependency, Metrics};
use common::upstream::{
    async_client, blocking_agent, get_async, get_blocking, upstream_url, APP_MAX_DELAY,
};
use tokio::sync::{watch, Notify};

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

    // upstream_requests_in_flight until this call returns (or the request is dropped);
    // then its time goes into upstream_request_duration_seconds.
    let call = upstream.metrics.call(Dependency::Upstream);
    let body: actix_web::Result<String> = match upstream.client {
        // Yields while waiting: this thread serves other requests meanwhile.
        Client::Async => get_async(awc_client, &url, timeout)
            .await
            .map_err(Into::into),
        // Holds this worker's only thread for the whole upstream call. On purpose.
        Client::Blocking => get_blocking(&upstream.agent, &url, timeout).map_err(Into::into),
        // Blocks a pool thread instead; the event loop awaits the result.
        Client::Offload => {
            let agent = upstream.agent.clone();
            match web::block(move || get_blocking(&agent, &url, timeout)).await {
                Ok(answer) => answer.map_err(Into::into),
                Err(err) => Err(err.into()),
            }
        }
    };
    call.finish();
    Ok(format!("Hi there! {}", body?))
}

/// Serves until `shutdown` completes, `WORKERS` event loops, each accepting on an equal
/// share of `listeners`, in order (open them with [`bind`]: `WORKERS` x
/// [`ACCEPT_QUEUES`] sockets on one port; a test may pass one plain socket
/// per loop); then each loop stops accepting, lets its in-flight requests finish (up to
/// the configured shutdown timeout), and this returns.
///
/// The first loop runs on the calling thread, inside its actix system (`main`'s, or a
/// test's); the others each on a thread of their own. With one worker the process has
/// one serving thread.
pub async fn run(
    listeners: impl Into<Listeners>,
    config: Config,
    shutdown: impl Future<Output = ()> + 'static,
) -> std::io::Result<()> {
    let Listeners(listeners) = listeners.into();
    let workers = config.workers.max(1);
    // bind's count, or one plain socket per loop (a test's); anything else would give
    // the loops fewer queues than a burst needs, silently.
    if listeners.len() != workers * ACCEPT_QUEUES && listeners.len() != workers {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "WORKERS={workers} needs {} listeners (or {workers}, one per loop), got {}: open them with app_async::bind",
                workers * ACCEPT_QUEUES,
                listeners.len()
            ),
        ));
    }
    let open_files = common::limits::raise_open_files_limit()?;

    // Each request in flight holds two sockets, the client's and the upstream's: split
    // the descriptors between the two sides and the workers, so that past the limit
    // clients queue instead of the accept loop failing.
    let budget = ConnectionBudget::new(
        open_files,
        Usage {
            sides: 2,
            other: 0,
            workers: config.workers,
        },
    );

    let timeout = config.app.upstream_timeout;
    let metrics = Metrics::new(common::metrics::UPSTREAM_CALLS)?;
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
        metrics,
    };
    let address = listeners[0].local_addr()?;
    let (stop_all, signal) = watch::channel(false);
    let shared = Shared {
        upstream,
        max_connections: budget.per_worker,
        protocol: config.protocol,
        stop: event_loop::Stop {
            signal,
            grace: config.app.shutdown_timeout,
        },
    };

    // Loop i takes the i-th run of `per_loop` sockets: bind opens them in that order.
    let per_loop = listeners.len() / workers;
    let mut sockets = listeners.into_iter();
    let mut loops = (0..workers).map(|_| sockets.by_ref().take(per_loop).collect::<Vec<_>>());
    // Checked above: `workers` >= 1.
    let first = loops.next().unwrap_or_default();
    let mut others = Vec::new();
    for (index, listener) in loops.enumerate() {
        let shared = shared.clone();
        let stop_all = stop_all.clone();
        let thread = std::thread::Builder::new()
            .name(format!("app_async-loop-{}", index + 1))
            .spawn(move || {
                let served = actix_rt::Runtime::new()
                    .and_then(|runtime| runtime.block_on(worker(listener, shared)));
                // One loop failing to start stops the others rather than leaving a
                // process that serves on some of its sockets.
                if served.is_err() {
                    let _ = stop_all.send(true);
                }
                served
            })?;
        others.push(thread);
    }

    tracing::info!(
        "app_async listening on {address} ({:?}, {} worker(s), client {:?}, upstream {}, open files {open_files}: up to {} requests in flight)",
        config.protocol,
        config.workers,
        config.client,
        config.app.api_url(),
        budget.per_side
    );
    actix_rt::spawn({
        let stop_all = stop_all.clone();
        async move {
            shutdown.await;
            let _ = stop_all.send(true);
        }
    });
    let mut served = worker(first, shared).await;
    if served.is_err() {
        let _ = stop_all.send(true);
    }
    // The other loops drain within the same grace period.
    for thread in others {
        let result = thread
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("an event loop panicked")));
        served = served.and(result);
    }
    served?;
    tracing::info!("stopped");
    Ok(())
}

/// The listening sockets [`run`] serves, an equal share per event loop (see [`bind`]).
pub struct Listeners(pub Vec<TcpListener>);

impl From<TcpListener> for Listeners {
    fn from(listener: TcpListener) -> Self {
        Listeners(vec![listener])
    }
}

impl From<Vec<TcpListener>> for Listeners {
    fn from(listeners: Vec<TcpListener>) -> Self {
        Listeners(listeners)
    }
}

/// What every loop starts from.
#[derive(Clone)]
struct Shared {
    upstream: Upstream,
    max_connections: usize,
    protocol: Protocol,
    stop: event_loop::Stop,
}

/// One event loop: its own awc client (and so its own upstream pool), its own copy of
/// the app, serving `listeners` on this thread until the stop signal and the drain.
async fn worker(listeners: Vec<TcpListener>, shared: Shared) -> std::io::Result<()> {
    let Shared {
        upstream,
        max_connections,
        protocol,
        stop,
    } = shared;
    let client = async_client(upstream.timeout, max_connections);
    let closing = Rc::new(Notify::new());
    match protocol {
        Protocol::Http => {
            // One port: every socket of the loop has the same local address.
            let local = listeners
                .first()
                .ok_or_else(|| std::io::Error::other("a loop without a listener"))?
                .local_addr()?;
            let metrics = upstream.metrics.clone();
            let app = App::new()
                .app_data(web::Data::new(upstream))
                .app_data(web::Data::new(client))
                .app_data(web::Data::new(metrics.clone()))
                .wrap_fn(move |request, service| common::metrics::track(&metrics, request, service))
                .route("/", web::get().to(index))
                .route("/healthz", web::get().to(common::server::healthz))
                .route("/metrics", web::get().to(common::metrics::handler));
            let on_close = Rc::clone(&closing);
            // What actix-web's HttpServer builds per worker, minus its accept thread.
            let service = actix_http::HttpService::build()
                // Requests queued behind a blocked loop (CLIENT=blocking) wait, not a 408.
                .client_request_timeout(common::server::CLIENT_REQUEST_TIMEOUT)
                // HttpServer's defaults: 5 s keep-alive, 1 s to flush a closing response.
                .keep_alive(Duration::from_secs(5))
                .client_disconnect_timeout(Duration::from_secs(1))
                .local_addr(local)
                // Idle keep-alive connections close as soon as the loop stops accepting;
                // a request in flight finishes first.
                .graceful_shutdown_signal(move || {
                    let on_close = Rc::clone(&on_close);
                    async move { on_close.notified().await }
                })
                .h1(map_config(
                    app.into_factory(),
                    // The host for URL generation; every client here sends a Host header.
                    move |()| AppConfig::default(),
                ))
                .new_service(())
                .await
                .map_err(|()| std::io::Error::other("cannot build the app"))?;
            let service = Rc::new(service);
            event_loop::serve(listeners, max_connections, stop, closing, |stream, peer| {
                // accept() gave the peer address: no getpeername() per connection.
                let dispatcher = service.call((stream, Some(peer)));
                async move {
                    // A client that vanished or sent garbage: actix already answered
                    // what could be answered.
                    let _ = dispatcher.await;
                }
            })
            .await
        }
        // The same handler behind nginx's uwsgi_pass.
        Protocol::Uwsgi => {
            let state = Rc::new((upstream, client));
            event_loop::serve(
                listeners,
                max_connections,
                stop,
                closing,
                |stream, _peer| {
                    let state = Rc::clone(&state);
                    async move {
                        let (upstream, client) = &*state;
                        uwsgi::serve(stream, upstream, client).await;
                    }
                },
            )
            .await
        }
    }
}
