//! app_async's binary: flags, logging, the listening socket, SIGTERM/SIGINT. The proxy
//! itself, the lesson, is the library ([`app_async::run`]).

use clap::Parser;

// glibc's malloc and its page faults took a fifth of this loop's CPU at 10,000 clients;
// mimalloc's per-thread free lists cost a fraction of that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let config = app_async::Config::parse();
    common::logging::init();
    // A deep accept queue (common::server::LISTEN_BACKLOG): thousands of clients
    // connect at once in the benchmarks.
    let listener = common::server::bind(config.app.host, config.app.port_app)?;
    app_async::run(listener, config, common::server::shutdown_signal()?).await?;
    Ok(())
}
