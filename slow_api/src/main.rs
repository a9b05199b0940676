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
    // Deep accept queues (common::server::ACCEPT_QUEUES of LISTEN_BACKLOG): thousands of
    // clients connect at once in the benchmarks.
    let listeners =
        common::server::bind_queues(config.host, config.port, common::server::ACCEPT_QUEUES)?;
    slow_api::run(listeners, config, common::server::shutdown_signal()?).await?;
    Ok(())
}
