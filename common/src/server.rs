//! How the lab's actix-web services listen and stop.
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

/// How long a connection may take to send its request head before actix answers 408
/// (actix's default is 5 s). On a blocked loop (the blocking client or driver) heads
/// wait unread behind the request being served: they must queue, as they would in front
/// of a busy dev server, not fail.
pub const CLIENT_REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// Turns a bind error into one line that names the address:
/// `cannot listen on 127.0.0.1:3000: Address already in use (os error 98)`.
pub fn cannot_listen(
    host: std::net::IpAddr,
    port: u16,
) -> impl FnOnce(std::io::Error) -> std::io::Error {
    move |err| std::io::Error::new(err.kind(), format!("cannot listen on {host}:{port}: {err}"))
}
