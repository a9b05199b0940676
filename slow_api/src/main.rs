//! slow_api's binary: flags, logging, the listening socket, SIGTERM/SIGINT. The service
//! itself is the library ([`slow_api::run`]).

use clap::Parser;

// The same allocator as app_async: the slow API must never be the bottleneck it stands
// in for, and glibc's malloc was a fifth of an event loop's CPU.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let config = slow_api::Config::parse();
    common::logging::init();
    // A deep accept queue (common::server::LISTEN_BACKLOG): thousands of clients
    // connect at once in the benchmarks.
    let listener = common::server::bind(config.host, config.port)?;
    slow_api::run(listener, config, common::server::shutdown_signal()?).await?;
    Ok(())
}
