//! The concurrency models inside one process: a fixed pool of threads, or a new thread
//! for each connection. (Several processes sharing one socket is [`crate::prefork`].)
//!
//! Either way a thread serves one connection at a time and blocks on the upstream
//! call, so the requests a process keeps in flight are exactly its busy threads, and by
//! Little's law its throughput is `threads / latency`.

use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol as SockProtocol, Socket, Type};

use crate::app::App;
use crate::conn::{Conn, ConnConfig, TICK};
use crate::Protocol;

/// Accept queue length. Clients beyond the busy threads wait here, in the kernel,
/// until a thread is free: with 1,000 concurrent clients and 200 threads, 800 queue.
/// Too short a queue and the kernel drops their SYNs instead (seconds of retransmit
/// delay, or refused connections). Linux caps it at `net.core.somaxconn` (4096 by
/// default since 5.4).
pub const BACKLOG: i32 = 4096;

/// Binds the listening socket, with a deep accept queue (`BACKLOG`).
pub fn bind(host: std::net::IpAddr, port: u16) -> std::io::Result<TcpListener> {
    let address = std::net::SocketAddr::new(host, port);
    let socket = Socket::new(
        Domain::for_address(address),
        Type::STREAM,
        Some(SockProtocol::TCP),
    )?;
    socket.set_reuse_address(true)?;
    socket.bind(&address.into())?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}

/// Readies a listener for the serving threads, whoever bound it (this program, the
/// master, a test): blocking, with a receive timeout.
///
/// The receive timeout doubles as an accept timeout on Linux: a blocking `accept()`
/// returns `WouldBlock` after [`TICK`], so accepting threads notice shutdown without
/// polling (and a new connection still wakes exactly one of them).
pub fn prepare(listener: &TcpListener) -> std::io::Result<()> {
    listener.set_nonblocking(false)?;
    socket2::SockRef::from(listener).set_read_timeout(Some(TICK))
}

/// Everything a serving thread needs.
#[derive(Clone)]
pub struct Serving {
    pub app: Arc<App>,
    pub conn: ConnConfig,
    pub protocol: Protocol,
}

impl Serving {
    fn serve(&self, stream: std::net::TcpStream) {
        let conn = match Conn::new(stream, self.conn.clone()) {
            Ok(conn) => conn,
            Err(err) => return tracing::debug!("cannot set up connection: {err}"),
        };
        // No input should panic; if a bug does, it costs this connection, never the
        // thread (a pool that lost its threads would stop serving without a sound).
        let served =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match self.protocol {
                Protocol::Http => crate::http::serve(conn, &self.app),
                Protocol::Uwsgi => crate::uwsgi::serve(conn, &self.app),
            }));
        if served.is_err() {
            tracing::error!("a connection handler panicked; the thread goes on serving");
        }
    }

    fn stopping(&self) -> bool {
        self.conn.shutdown.requested()
    }
}

/// Accepts the next connection, or `None` once shutdown is requested.
fn accept(listener: &TcpListener, serving: &Serving) -> Option<std::net::TcpStream> {
    loop {
        if serving.stopping() {
            return None;
        }
        match listener.accept() {
            Ok((stream, _)) => return Some(stream),
            Err(err)
                if matches!(
                    err.kind(),
                    std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::TimedOut
                        | std::io::ErrorKind::Interrupted
                        | std::io::ErrorKind::ConnectionAborted
                ) => {}
            Err(err) => {
                // Out of file descriptors, typically: wait, the queue keeps the client.
                tracing::warn!("accept failed: {err}");
                std::thread::sleep(TICK);
            }
        }
    }
}

/// `threads` threads, each accepting and serving one connection at a time.
///
/// With one thread this is Flask's `flask run --without-threads`: a second client waits
/// in the accept queue until the first one's connection is done.
pub fn thread_pool(
    listener: TcpListener,
    threads: usize,
    serving: Serving,
) -> std::io::Result<Drain> {
    let listener = Arc::new(listener);
    let mut handles = Vec::with_capacity(threads);
    for index in 0..threads {
        let listener = listener.clone();
        let serving = serving.clone();
        let handle = std::thread::Builder::new()
            .name(format!("serve-{index}"))
            .spawn(move || {
                while let Some(stream) = accept(&listener, &serving) {
                    serving.serve(stream);
                }
            })?;
        handles.push(handle);
    }
    Ok(Drain::Threads(handles))
}

/// One thread accepts; every connection gets a new thread of its own
/// (`flask run --with-threads`). Nothing caps the threads but memory and limits.
pub fn thread_per_connection(listener: TcpListener, serving: Serving) -> std::io::Result<Drain> {
    let active = Arc::new(AtomicUsize::new(0));
    let counter = active.clone();
    let acceptor = std::thread::Builder::new()
        .name("accept".to_owned())
        .spawn(move || {
            while let Some(stream) = accept(&listener, &serving) {
                let serving = serving.clone();
                let active = counter.clone();
                active.fetch_add(1, Ordering::SeqCst);
                let spawned =
                    std::thread::Builder::new()
                        .name("conn".to_owned())
                        .spawn(move || {
                            serving.serve(stream);
                            active.fetch_sub(1, Ordering::SeqCst);
                        });
                if let Err(err) = spawned {
                    // The closure (and the connection) is dropped: the client sees a close.
                    counter.fetch_sub(1, Ordering::SeqCst);
                    tracing::warn!("cannot start a thread for a connection: {err}");
                }
            }
        })?;
    Ok(Drain::PerConnection { acceptor, active })
}

/// What the main thread waits for when shutting down.
pub enum Drain {
    Threads(Vec<JoinHandle<()>>),
    PerConnection {
        acceptor: JoinHandle<()>,
        active: Arc<AtomicUsize>,
    },
}

impl Drain {
    /// Waits until every in-flight request is answered (threads stop accepting on their
    /// own once the shutdown flag is set), or `limit` passes. True if all finished.
    pub fn wait(self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        let finished = || match &self {
            Drain::Threads(handles) => handles.iter().all(JoinHandle::is_finished),
            Drain::PerConnection { acceptor, active } => {
                acceptor.is_finished() && active.load(Ordering::SeqCst) == 0
            }
        };
        while Instant::now() < deadline {
            if finished() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        finished()
    }
}
