//! How the lab's actix-web services listen and stop.
//!
//! Each service's `run` takes a listener that is already bound and a shutdown signal
//! (any future): `main` binds with [`bind`] and passes [`shutdown_signal`], a test binds
//! 127.0.0.1:0 and passes a future it completes itself. [`serve_until`] is the part they
//! share: run the server, and when the signal fires, stop it gracefully.
//!
//! actix-web drains on SIGTERM but treats SIGINT (Ctrl-C) as a forced stop. The lab
//! promises the same for both: stop accepting, let in-flight requests finish (up to the
//! server's shutdown timeout), then exit 0. So the servers are built with
//! `disable_signals()` and [`shutdown_signal`] listens instead.

use std::future::Future;
use std::net::{IpAddr, SocketAddr, TcpListener};

use actix_web::dev::Server;
use tokio::signal::unix::{signal, SignalKind};

/// Runs `server` until it stops; once `shutdown` completes, stops it gracefully
/// (no new connections, in-flight requests finish) and returns when it has drained.
pub async fn serve_until(
    server: Server,
    shutdown: impl Future<Output = ()> + 'static,
) -> std::io::Result<()> {
    let handle = server.handle();
    actix_web::rt::spawn(async move {
        shutdown.await;
        handle.stop(true).await;
    });
    server.await?;
    tracing::info!("stopped");
    Ok(())
}

/// `GET /healthz` of a service that is ready as soon as its socket accepts.
pub async fn healthz() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok().body("ok")
}

/// A future that completes on the first SIGTERM or SIGINT, after logging which.
///
/// The handlers are installed now, so call it inside the runtime (in `main`, before
/// `run`): a signal that arrives while the server starts is not lost.
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = ()>> {
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(async move {
        let name = tokio::select! {
            _ = terminate.recv() => "SIGTERM",
            _ = interrupt.recv() => "SIGINT",
        };
        tracing::info!("{name} received: finishing in-flight requests, then exiting");
    })
}

/// Binds `host:port` as actix-web's own `bind` would (`SO_REUSEADDR`), with the lab's
/// [`LISTEN_BACKLOG`]. A failure is one line that names the address.
pub fn bind(host: IpAddr, port: u16) -> std::io::Result<TcpListener> {
    listen(SocketAddr::new(host, port), false).map_err(cannot_listen(host, port))
}

/// A listening socket on `address` with `SO_REUSEADDR` and the lab's [`LISTEN_BACKLOG`];
/// with `reuse_port`, also `SO_REUSEPORT` and non-blocking (one of several event loops'
/// sockets on one port, accepted from by tokio).
pub fn listen(address: SocketAddr, reuse_port: bool) -> std::io::Result<TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(
        Domain::for_address(address),
        Type::STREAM,
        Some(Protocol::TCP),
    )?;
    socket.set_reuse_address(true)?;
    if reuse_port {
        socket.set_reuse_port(true)?;
        socket.set_nonblocking(true)?;
    }
    socket.bind(&address.into())?;
    // listen(2) takes an int; the kernel caps it at net.core.somaxconn anyway.
    socket.listen(i32::try_from(LISTEN_BACKLOG).unwrap_or(i32::MAX))?;
    Ok(socket.into())
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

/// Opens `count` listening sockets on `host:port`, all with `SO_REUSEPORT` and the lab's
/// [`LISTEN_BACKLOG`] (port 0: the first picks a free port and the others join it). The
/// kernel spreads new connections over them by their address and port, so each socket
/// is an accept queue of its own (see [`ACCEPT_QUEUES`]). A failure is one line that
/// names the address.
pub fn bind_queues(host: IpAddr, port: u16, count: usize) -> std::io::Result<Vec<TcpListener>> {
    let first = listen(SocketAddr::new(host, port), true).map_err(cannot_listen(host, port))?;
    let address = first.local_addr()?;
    let mut listeners = vec![first];
    for _ in 1..count.max(1) {
        listeners.push(listen(address, true).map_err(cannot_listen(host, address.port()))?);
    }
    Ok(listeners)
}

/// Accept queues (`SO_REUSEPORT` sockets on one port, [`bind_queues`]) per accepting
/// loop: app_async's event loops and slow_api's accept thread.
///
/// Each queue is [`LISTEN_BACKLOG`] deep, which Linux caps at `net.core.somaxconn`
/// (4096 here). A burst of 5,000 connects lands faster than a loop accepts while it also
/// serves: with one queue, the connects beyond 4,096 that the loop had not yet made room
/// for were dropped, and each such SYN was resent only a second later (docs/10-cost.md).
/// Two queues hold 8,192 between them, without a sysctl.
pub const ACCEPT_QUEUES: usize = 2;

/// Turns a bind error into one line that names the address:
/// `cannot listen on 127.0.0.1:3000: Address already in use (os error 98)`.
pub fn cannot_listen(host: IpAddr, port: u16) -> impl FnOnce(std::io::Error) -> std::io::Error {
    move |err| std::io::Error::new(err.kind(), format!("cannot listen on {host}:{port}: {err}"))
}
