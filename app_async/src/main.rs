//! app_async's binary: flags, logging, the listening socket, SIGTERM/SIGINT. The proxy
//! itself, the lesson, is the library ([`app_async::run`]).

use clap::Parser;

// glibc's malloc and its page faults took a fifth of this loop's CPU at 10,000 clients;
// mimalloc's per-thread free lists cost a fraction of that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

// An actix system on the main thread: it runs the first event loop itself.
#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let config = app_async::Config::parse();
    common::logging::init();
    // ACCEPT_QUEUES sockets per event loop (SO_REUSEPORT), each a deep accept queue:
    // thousands of clients connect at once in the benchmarks.
    let listeners = app_async::bind(config.app.host, config.app.port_app, config.workers)?;
    app_async::run(listeners, config, common::server::shutdown_signal()?).await?;
    Ok(())
}
