//! Several worker processes sharing one listening socket: the uWSGI/Gunicorn model.
//!
//! The master binds the socket, then starts each worker by running this same program
//! again with the socket's file descriptor left open across `exec` and its number in
//! [`LISTEN_FD_VAR`]. Python servers `fork()` instead; in a Rust process that already
//! runs threads (or may, through any library) a bare `fork()` copies one thread and
//! every lock the others held, so the safe equivalent is fork+exec (`Command`), which
//! starts each worker from a clean `main`.
//!
//! All workers block in `accept()` on the same socket and the kernel hands each new
//! connection to one of them. There is a single accept queue, so a worker that dies
//! loses only the requests it was serving: the queued clients go to the others. The
//! master does no serving; it restarts workers that die, passes SIGTERM on, and waits
//! for the workers to drain.

use std::net::TcpListener;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use anyhow::Context;
use common::metrics::Metrics;

use crate::shutdown::Shutdown;

/// Set by the master for a worker: the inherited listening socket's descriptor.
pub const LISTEN_FD_VAR: &str = "APP_SYNC_LISTEN_FD";
/// Set by the master for a worker: its index, for logs and its metrics slot.
pub const WORKER_ID_VAR: &str = "APP_SYNC_WORKER_ID";
/// Set by the master for a worker: the descriptor of the shared metrics memory.
pub const METRICS_FD_VAR: &str = "APP_SYNC_METRICS_FD";

/// A worker that dies sooner than this after starting is restarted only after a pause,
/// so a worker that cannot start does not turn the master into a busy loop.
const MIN_WORKER_LIFETIME: Duration = Duration::from_secs(1);

/// In a worker: the socket the master passed down, if this process is a worker.
pub fn inherited_listener() -> anyhow::Result<Option<(TcpListener, String)>> {
    let Some(raw) = std::env::var_os(LISTEN_FD_VAR) else {
        return Ok(None);
    };
    let fd: i32 = raw
        .to_str()
        .and_then(|s| s.parse().ok())
        .filter(|fd| *fd > 2)
        .with_context(|| format!("{LISTEN_FD_VAR}={raw:?} is not a file descriptor number"))?;
    // Check that it is an open socket before taking ownership of it.
    // SAFETY: getsockopt only writes into the locals we pass.
    let mut kind: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_TYPE,
            (&mut kind as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    anyhow::ensure!(
        rc == 0 && kind == libc::SOCK_STREAM,
        "{LISTEN_FD_VAR}={fd} is not an inherited TCP socket (it is set by the master for its workers)"
    );
    // SAFETY: the fd is an open stream socket that nothing else in this process owns:
    // it was inherited across exec and this is the only place that adopts it.
    let listener = unsafe { TcpListener::from_raw_fd(fd) };
    // Keep it out of any process this worker might start.
    socket2::SockRef::from(&listener).set_cloexec(true)?;
    let id = std::env::var(WORKER_ID_VAR).unwrap_or_else(|_| "?".to_owned());
    // If the master is killed outright, take the same way out as after its SIGTERM.
    // SAFETY: prctl(PR_SET_PDEATHSIG) takes a plain signal number.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) };
    Ok(Some((listener, id)))
}

/// In a worker: the master's counters, mapped from the descriptor it passed down, with
/// this worker's slot for its requests in flight.
pub fn inherited_metrics(id: &str) -> anyhow::Result<Metrics> {
    let Some(raw) = std::env::var_os(METRICS_FD_VAR) else {
        // A master from before metrics: count alone rather than not at all.
        return crate::new_metrics();
    };
    let fd: i32 = raw
        .to_str()
        .and_then(|s| s.parse().ok())
        .filter(|fd| *fd > 2)
        .with_context(|| format!("{METRICS_FD_VAR}={raw:?} is not a file descriptor number"))?;
    let slot = id.parse().unwrap_or(0);
    let metrics = Metrics::attach(common::metrics::UPSTREAM_CALLS, fd, slot)
        .with_context(|| format!("{METRICS_FD_VAR}={fd}: cannot map the master's metrics"))?;
    // The mapping stays; the descriptor is not needed any more.
    // SAFETY: closing the inherited descriptor that nothing else in this process uses.
    unsafe { libc::close(fd) };
    Ok(metrics)
}

/// The master's counters, in shared memory its workers map: create them before
/// [`master`] so that its `--metrics-port` listener can serve them.
pub fn shared_metrics() -> anyhow::Result<(Metrics, OwnedFd)> {
    Metrics::shared(common::metrics::UPSTREAM_CALLS)
        .context("cannot create shared memory for the metrics")
}

struct Worker {
    id: usize,
    child: Option<Child>,
    started: Instant,
}

/// The master: starts `workers` copies of this program on `listener`, keeps them
/// running, and on SIGTERM/SIGINT passes the signal on and waits for them to drain.
/// The workers count into `metrics` (mapped from `metrics_fd`, see [`shared_metrics`]).
pub fn master(
    listener: TcpListener,
    workers: usize,
    shutdown: &Shutdown,
    grace: Duration,
    (metrics, metrics_fd): (&Metrics, &OwnedFd),
) -> anyhow::Result<()> {
    // Let the descriptors survive exec into the workers (the master starts no other process).
    socket2::SockRef::from(&listener).set_cloexec(false)?;
    let fd = listener.as_raw_fd();
    // SAFETY: fcntl(F_SETFD) on our own descriptor: clears FD_CLOEXEC.
    if unsafe { libc::fcntl(metrics_fd.as_raw_fd(), libc::F_SETFD, 0) } != 0 {
        return Err(std::io::Error::last_os_error()).context("cannot pass the metrics memory on");
    }
    let metrics_fd = metrics_fd.as_raw_fd();
    let exe =
        std::env::current_exe().context("cannot find this program's path to start workers")?;
    let args: Vec<_> = std::env::args_os().skip(1).collect();
    let spawn = |id: usize| -> std::io::Result<Child> {
        let child = Command::new(&exe)
            .args(&args)
            .env(LISTEN_FD_VAR, fd.to_string())
            .env(WORKER_ID_VAR, id.to_string())
            .env(METRICS_FD_VAR, metrics_fd.to_string())
            .spawn()?;
        tracing::info!("worker {id} started (pid {})", child.id());
        Ok(child)
    };

    let mut pool: Vec<Worker> = Vec::with_capacity(workers);
    for id in 0..workers {
        let child = spawn(id).with_context(|| format!("cannot start worker {id}"))?;
        pool.push(Worker {
            id,
            child: Some(child),
            started: Instant::now(),
        });
    }

    // Supervise: reap workers that died and start replacements.
    while !shutdown.requested() {
        for worker in &mut pool {
            let Some(child) = worker.child.as_mut() else {
                // Its restart was postponed or failed: try again once it may.
                if worker.started.elapsed() >= MIN_WORKER_LIFETIME {
                    worker.started = Instant::now();
                    match spawn(worker.id) {
                        Ok(child) => worker.child = Some(child),
                        Err(err) => tracing::error!("cannot restart worker {}: {err}", worker.id),
                    }
                }
                continue;
            };
            if let Ok(Some(status)) = child.try_wait() {
                tracing::warn!(
                    "worker {} (pid {}) died ({status}); restarting it",
                    worker.id,
                    child.id()
                );
                worker.child = None;
                // Its requests in flight died with it.
                metrics.reset_slot(worker.id);
                if worker.started.elapsed() >= MIN_WORKER_LIFETIME {
                    worker.started = Instant::now();
                    match spawn(worker.id) {
                        Ok(child) => worker.child = Some(child),
                        Err(err) => tracing::error!("cannot restart worker {}: {err}", worker.id),
                    }
                }
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }

    // Drain: every worker stops accepting, finishes its requests and exits.
    tracing::info!(
        "{} received: asking workers to finish in-flight requests",
        shutdown.signal_name()
    );
    drop(listener);
    for child in pool.iter().filter_map(|w| w.child.as_ref()) {
        if let Ok(pid) = i32::try_from(child.id()) {
            // SAFETY: kill(2) on our own child; it is not reaped yet, so the pid is still its.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
    }
    // The workers get the grace period plus a margin to report on their own.
    let deadline = Instant::now() + grace + Duration::from_secs(2);
    let mut clean = true;
    for worker in &mut pool {
        let Some(child) = worker.child.as_mut() else {
            continue;
        };
        loop {
            match child.try_wait() {
                Ok(Some(status)) => {
                    if !status.success() {
                        clean = false;
                        tracing::warn!("worker {} exited with {status}", worker.id);
                    }
                    break;
                }
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => {
                    tracing::warn!(
                        "worker {} still busy after the grace period; killing it",
                        worker.id
                    );
                    let _ = child.kill();
                    let _ = child.wait();
                    clean = false;
                    break;
                }
            }
        }
    }
    if clean {
        tracing::info!("all workers drained; stopped");
    }
    Ok(())
}
