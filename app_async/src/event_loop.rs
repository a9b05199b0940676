//! One event loop on one thread, as gevent's is: the loop accepts on its own sockets and
//! serves what it accepted itself.
//!
//! actix-web's `HttpServer` runs an accept thread that hands each new connection to a
//! worker thread over a channel: one cross-thread wake-up per connection, and 3 threads
//! for one worker. Here each loop owns listening sockets of its own (`SO_REUSEPORT`:
//! [`bind`] opens [`ACCEPT_QUEUES`] per worker on the same port, and the kernel spreads
//! new connections over them), accepts on them, and runs each connection as a task on the
//! same thread. `WORKERS=N` is N such loops; `WORKERS=1` is one thread.
//!
//! What actix-server did for us, and [`serve`] does instead:
//! - a cap on open connections per loop: past it the loop stops accepting, and clients
//!   wait in the kernel's accept queue (backpressure, not "too many open files");
//! - a graceful stop: stop accepting, let each connection finish its request in flight
//!   (the HTTP side closes idle keep-alive connections at once), and give up on the rest
//!   after the shutdown timeout.

use std::cell::Cell;
use std::future::Future;
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::sync::{watch, Notify};

pub use common::server::ACCEPT_QUEUES;

/// Opens `workers` x [`ACCEPT_QUEUES`] listening sockets on `host:port`
/// ([`common::server::bind_queues`]); `run` gives each event loop [`ACCEPT_QUEUES`] of
/// them, in order, so that a burst of connects fits in its queues (see there).
pub fn bind(host: IpAddr, port: u16, workers: usize) -> std::io::Result<Vec<TcpListener>> {
    common::server::bind_queues(host, port, workers.max(1) * ACCEPT_QUEUES)
}

/// How a loop stops: the stop signal all loops watch, and how long each may take to
/// finish its requests in flight after it.
#[derive(Clone)]
pub(crate) struct Stop {
    pub signal: watch::Receiver<bool>,
    pub grace: Duration,
}

/// Open connections of one loop.
struct Connections {
    open: Cell<usize>,
    /// Set once the loop stops accepting: from then on every close wakes the drain.
    draining: Cell<bool>,
    /// Woken when a connection closes at the cap, or while draining.
    closed: Notify,
    max: usize,
}

/// One open connection; closing it (dropping its task) frees its slot.
struct Slot(Rc<Connections>);

impl Drop for Slot {
    fn drop(&mut self) {
        let connections = &self.0;
        let open = connections.open.get() - 1;
        connections.open.set(open);
        if open + 1 >= connections.max || connections.draining.get() {
            connections.closed.notify_one();
        }
    }
}

/// Accepts on `listeners` (one loop's accept queues, in turn) and runs
/// `connection(stream, peer)` for each connection as a
/// task of this thread, at most `max_connections` at once, until `stop` fires; then
/// waits for the open connections to finish, up to the grace period. `closing` is
/// notified when the loop stops accepting (the HTTP side closes idle keep-alive
/// connections on it). Call it on a `LocalSet` (an actix runtime).
pub(crate) async fn serve<F, Fut>(
    listeners: Vec<TcpListener>,
    max_connections: usize,
    stop: Stop,
    closing: Rc<Notify>,
    connection: F,
) -> std::io::Result<()>
where
    F: Fn(TcpStream, SocketAddr) -> Fut,
    Fut: Future<Output = ()> + 'static,
{
    let listeners = listeners
        .into_iter()
        .map(|listener| {
            listener.set_nonblocking(true)?;
            tokio::net::TcpListener::from_std(listener)
        })
        .collect::<std::io::Result<Vec<_>>>()?;
    // The queue asked first: the one after the last that had a connection, so that a
    // burst drains every queue, not the first one alone.
    let mut next = 0;
    let connections = Rc::new(Connections {
        open: Cell::new(0),
        draining: Cell::new(false),
        closed: Notify::new(),
        max: max_connections.max(1),
    });
    // One future for the whole loop, polled only when no connection is ready: a batch
    // of accepts costs no more than the accept calls themselves.
    let stopped = stop.signal.clone();
    let mut signal = stop.signal.clone();
    let mut stopping = std::pin::pin!(async move {
        // An error means the sender is gone: nobody can stop us any more, so stop now.
        let _ = signal.wait_for(|stopped| *stopped).await;
    });
    let mut batch = 0;
    loop {
        // After every ACCEPT_BATCH accepts, let the connections just accepted read
        // their requests before accepting more (see ACCEPT_BATCH).
        if batch == ACCEPT_BATCH {
            batch = 0;
            // `stopping` is polled only when no queue has a connection ready: under a
            // steady stream of connects, look at the signal between batches too.
            if *stopped.borrow() {
                break;
            }
            tokio::task::yield_now().await;
        }
        // At the cap: leave new clients in the accept queue until a connection closes.
        if connections.open.get() >= connections.max {
            tokio::select! {
                _ = connections.closed.notified() => continue,
                _ = &mut stopping => break,
            }
        }
        let accepted = std::future::poll_fn(|cx| {
            for turn in 0..listeners.len() {
                let index = (next + turn) % listeners.len();
                if let Poll::Ready(accepted) = listeners[index].poll_accept(cx) {
                    next = index + 1;
                    return Poll::Ready(Some(accepted));
                }
            }
            stopping.as_mut().poll(cx).map(|()| None)
        })
        .await;
        let Some(accepted) = accepted else { break };
        match accepted {
            Ok((stream, peer)) => {
                batch += 1;
                connections.open.set(connections.open.get() + 1);
                let slot = Slot(Rc::clone(&connections));
                let task = connection(stream, peer);
                tokio::task::spawn_local(async move {
                    task.await;
                    drop(slot);
                });
            }
            // Out of descriptors (the budget should prevent it): give closing
            // connections a moment instead of spinning on the error.
            Err(err) if is_out_of_files(&err) => {
                tracing::warn!("accept failed: {err}; pausing 100 ms");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            // A client that reset before we accepted it, and the like: its problem.
            Err(err) => tracing::debug!("accept failed: {err}"),
        }
    }
    // Stop accepting: clients still queued on these sockets are refused, not left waiting.
    drop(listeners);
    connections.draining.set(true);
    closing.notify_waiters();
    let drained = async {
        while connections.open.get() > 0 {
            connections.closed.notified().await;
        }
    };
    if tokio::time::timeout(stop.grace, drained).await.is_err() {
        tracing::warn!(
            "{} connection(s) still open after the {:?} shutdown timeout: closing them",
            connections.open.get(),
            stop.grace
        );
    }
    Ok(())
}

/// Connections accepted in a row before the loop serves the ones it has. Unbounded
/// (tokio's own budget is 128 polls), a burst of 5,000 connects kept the one thread
/// accepting for half a second before it read a single request; with 32, the first
/// responses of the keep-alive burst came back as early as with actix-web's separate
/// accept thread (docs/10-cost.md).
const ACCEPT_BATCH: usize = 32;

fn is_out_of_files(err: &std::io::Error) -> bool {
    matches!(err.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
}
