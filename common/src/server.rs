//! Graceful shutdown for actix-web services.
//!
//! actix-web drains on SIGTERM but treats SIGINT (Ctrl-C) as a forced stop. The lab
//! promises the same for both: stop accepting, let in-flight requests finish (up to the
//! server's shutdown timeout), then exit 0. So the server is built with
//! `disable_signals()` and this module listens instead.

use actix_web::dev::Server;
use tokio::signal::unix::{signal, SignalKind};

/// Runs `server` until it stops; on SIGTERM or SIGINT, stops it gracefully.
pub async fn run_until_signal(server: Server) -> std::io::Result<()> {
    let handle = server.handle();
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    actix_web::rt::spawn(async move {
        let name = tokio::select! {
            _ = terminate.recv() => "SIGTERM",
            _ = interrupt.recv() => "SIGINT",
        };
        tracing::info!("{name} received: finishing in-flight requests, then exiting");
        handle.stop(true).await;
    });
    server.await?;
    tracing::info!("stopped");
    Ok(())
}

/// Accept-queue length every service asks for.
///
/// A benchmark's clients all connect at once: thousands of handshakes can complete
/// before the accept thread runs. Each one the queue cannot hold is dropped, and the
/// client's SYN is retransmitted a whole second later, which looks exactly like a slow
/// server. Linux silently caps the request at `net.core.somaxconn` (4096 by default
/// since 5.4): enough for 10,000 clients here, as long as the accept loop never stalls
/// (see [`crate::limits::connections_per_side`]); raise the setting for more.
pub const LISTEN_BACKLOG: u32 = 65_535;
