//! slow_api: the slow third-party API every app in the lab depends on.
//!
//! `GET /?delay=S` waits S seconds and answers `slow api response`. The wait is a timer
//! on the event loop, never a sleeping thread, so this service can hold thousands of
//! requests at once and is never the bottleneck it is meant to reveal in others.
//! (The article's version is aiohttp with `asyncio.sleep`; this is the same idea.)

use std::net::IpAddr;
use std::time::Duration;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use clap::Parser;
use common::delay::delay_from_query;

// The same allocator as app_async: the slow API must never be the bottleneck it stands
// in for, and glibc's malloc was a fifth of an event loop's CPU.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The slow third-party API: GET /?delay=S answers after S seconds.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Config {
    /// Address to bind (compose sets 0.0.0.0).
    #[arg(long, env = "HOST", default_value = "127.0.0.1")]
    host: IpAddr,

    /// Port to listen on.
    #[arg(long, env = "PORT", default_value_t = 4000)]
    port: u16,

    /// Largest accepted delay, in seconds.
    #[arg(long, env = "MAX_DELAY", default_value_t = 60.0, value_parser = parse_max_delay)]
    max_delay: f64,

    /// Seconds that SIGTERM/SIGINT wait for in-flight requests before exiting anyway.
    #[arg(long, env = "SHUTDOWN_TIMEOUT", default_value = "65",
          value_parser = common::config::parse_seconds)]
    shutdown_timeout: Duration,
}

fn parse_max_delay(raw: &str) -> Result<f64, String> {
    match raw.parse::<f64>() {
        Ok(max) if max.is_finite() && max >= 0.0 => Ok(max),
        _ => Err(format!(
            "{raw:?} is not a finite, non-negative number of seconds"
        )),
    }
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

/// `GET /healthz`: ready as soon as the socket accepts.
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().body("ok")
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    common::logging::init();
    let open_files = common::limits::raise_open_files_limit()?;

    // One event loop per CPU (actix's default), sharing the descriptors between them.
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let budget = common::limits::ConnectionBudget::new(open_files, 1, 0, workers);

    let max_delay = web::Data::new(config.max_delay);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(max_delay.clone())
            .route("/", web::get().to(slow_response))
            .route("/healthz", web::get().to(healthz))
    })
    // Thousands of clients connect at once in the benchmarks: a deep accept queue
    // (the kernel caps it at net.core.somaxconn) and no per-worker connection cap
    // below what the open-files limit allows; past it clients queue, rather than the
    // accept loop failing with "too many open files" and pausing for 500 ms.
    .workers(workers)
    .backlog(common::server::LISTEN_BACKLOG)
    .max_connections(budget.per_worker)
    .shutdown_timeout(config.shutdown_timeout.as_secs().max(1))
    .disable_signals()
    .bind((config.host, config.port))
    .map_err(common::server::cannot_listen(config.host, config.port))?
    .run();

    tracing::info!(
        "slow_api listening on http://{}:{}/ (max delay {} s, open files {open_files})",
        config.host,
        config.port,
        config.max_delay
    );
    common::server::run_until_signal(server).await?;
    Ok(())
}
