//! app_sync's binary: flags, logging, SIGTERM/SIGINT, the listening socket, and whether
//! this process serves ([`app_sync::run`]) or is a prefork master starting workers that
//! serve ([`app_sync::prefork`]).

use anyhow::Context;
use clap::Parser;

use app_sync::{prefork, Config, Shutdown};

fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    common::logging::init();
    // First thing, before any thread exists: SIGTERM/SIGINT only set a flag.
    let shutdown = Shutdown::install().context("cannot install signal handlers")?;

    // A worker started by a master: serve on the socket it handed down.
    if let Some((listener, id)) = prefork::inherited_listener()? {
        let _worker = tracing::info_span!("worker", id = %id, pid = std::process::id()).entered();
        let metrics = prefork::inherited_metrics(&id)?;
        return app_sync::serve(listener, &config, &shutdown, metrics);
    }

    let address = format!("{}:{}", config.app.host, config.app.port_app);
    let listener = app_sync::bind(config.app.host, config.app.port_app)
        .with_context(|| format!("cannot listen on {address}"))?;
    let model = config.model();
    tracing::info!(
        "app_sync listening on {address} ({:?}; {model}; upstream {})",
        config.protocol,
        config.app.api_url(),
    );
    match model.workers() {
        1 => app_sync::run(listener, &config, &shutdown),
        workers => {
            // One set of counters for the whole tree; the master serves METRICS_PORT.
            let (metrics, metrics_fd) = prefork::shared_metrics()?;
            let _metrics_server = app_sync::metrics_server(&config, &metrics)?;
            prefork::master(
                listener,
                workers,
                &shutdown,
                config.app.shutdown_timeout,
                (&metrics, &metrics_fd),
            )
        }
    }
}
