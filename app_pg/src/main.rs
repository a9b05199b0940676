//! app_pg's binary: flags, logging, the listening socket, SIGTERM/SIGINT. The proxy
//! itself, the lesson, is the library ([`app_pg::run`]).

use clap::Parser;

// The same allocator as app_async: glibc's malloc was a fifth of an event loop's CPU.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let config = app_pg::Config::parse();
    common::logging::init();
    // A deep accept queue (common::server::LISTEN_BACKLOG): thousands of clients
    // connect at once in the benchmarks.
    let listener = common::server::bind(config.app.host, config.app.port_app)?;
    app_pg::run(listener, config, common::server::shutdown_signal()?).await
}
