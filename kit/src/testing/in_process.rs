//! A service run in the test's own process: its library's `run` on its own thread, on a
//! listener bound to 127.0.0.1:0, stopped through its shutdown signal.
//!
//! [`InProcess::start`] binds the listener (so the port is the server's from the start:
//! no probe-then-bind race), hands it and a [`Stop`] to a closure on a new thread (the
//! closure builds the service's runtime and calls its `run`), and waits until
//! `GET /healthz` answers 200. Dropping the handle fires the [`Stop`] and waits for
//! `run` to return, i.e. for the server to drain.
//!
//! Spawn the binary ([`super::Service`]) instead where the process is the point:
//! signals, exit codes, resource limits, prefork workers.
//!
//! This module depends on nothing else in the harness but [`super::raw_get_status`] and
//! [`super::get`].

use std::future::Future;
use std::net::TcpListener;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long [`InProcess::start`] waits for `/healthz`, and [`InProcess::stop`] (or drop)
/// for the server to drain.
const PATIENCE: Duration = Duration::from_secs(30);

/// The shutdown signal an in-process server gets: a future that completes once the test
/// fires it (for an event loop), and a flag to look at or block on (for threads).
#[derive(Clone, Default)]
pub struct Stop(Arc<StopState>);

#[derive(Default)]
struct StopState {
    /// Whether it fired, and the tasks to wake when it does.
    state: Mutex<(bool, Vec<Waker>)>,
    fired: Condvar,
}

impl Stop {
    /// A signal that has not fired.
    pub fn new() -> Stop {
        Stop::default()
    }

    /// Fires the signal: wakes every task awaiting it and every thread in [`Stop::wait`].
    pub fn fire(&self) {
        let mut state = self.lock();
        state.0 = true;
        for waker in state.1.drain(..) {
            waker.wake();
        }
        self.0.fired.notify_all();
    }

    /// Whether it fired.
    pub fn is_fired(&self) -> bool {
        self.lock().0
    }

    /// Blocks the calling thread until it fires.
    pub fn wait(&self) {
        let mut state = self.lock();
        while !state.0 {
            state = self
                .0
                .fired
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn lock(&self) -> MutexGuard<'_, (bool, Vec<Waker>)> {
        self.0.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Future for Stop {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.lock();
        if state.0 {
            return Poll::Ready(());
        }
        if !state.1.iter().any(|waker| waker.will_wake(cx.waker())) {
            state.1.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

/// A service running on a thread of the test process; stopped (and drained) on drop.
pub struct InProcess {
    /// The port of its listener on 127.0.0.1.
    pub port: u16,
    name: String,
    stop: Stop,
    thread: Option<JoinHandle<Result<(), String>>>,
}

impl InProcess {
    /// Binds 127.0.0.1:0, runs `serve(listener, stop)` on a new thread named `name`, and
    /// waits until `/healthz` answers 200 (panics after 30 s, or if `serve` returns first).
    pub fn start<E, F>(name: &str, serve: F) -> InProcess
    where
        E: std::fmt::Display,
        F: FnOnce(TcpListener, Stop) -> Result<(), E> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0")
            .unwrap_or_else(|err| panic!("{name}: cannot bind 127.0.0.1:0: {err}"));
        Self::start_on(listener, name, serve)
    }

    /// As [`InProcess::start`], on a listener the test bound itself (say, on the port of
    /// a server it stopped, to bring it back).
    pub fn start_on<E, F>(listener: TcpListener, name: &str, serve: F) -> InProcess
    where
        E: std::fmt::Display,
        F: FnOnce(TcpListener, Stop) -> Result<(), E> + Send + 'static,
    {
        let mut server = Self::spawn_on(listener, name, serve);
        let port = server.port;
        server.wait_ready(PATIENCE, || {
            super::raw_get_status(port, "/healthz") == Some(200)
        });
        server
    }

    /// As [`InProcess::start_on`], without waiting for `/healthz` (for a server that does
    /// not speak HTTP). Wait for it with [`InProcess::wait_ready`].
    pub fn spawn_on<E, F>(listener: TcpListener, name: &str, serve: F) -> InProcess
    where
        E: std::fmt::Display,
        F: FnOnce(TcpListener, Stop) -> Result<(), E> + Send + 'static,
    {
        let port = listener
            .local_addr()
            .unwrap_or_else(|err| panic!("{name}: listener has no address: {err}"))
            .port();
        let stop = Stop::new();
        let signal = stop.clone();
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || serve(listener, signal).map_err(|err| err.to_string()))
            .unwrap_or_else(|err| panic!("{name}: cannot start its thread: {err}"));
        InProcess {
            port,
            name: name.to_owned(),
            stop,
            thread: Some(thread),
        }
    }

    /// Waits until `ready()` is true (panics after `limit`, or if the server's `run`
    /// returned, with what it returned).
    pub fn wait_ready(&mut self, limit: Duration, mut ready: impl FnMut() -> bool) {
        let deadline = Instant::now() + limit;
        loop {
            if self.thread.as_ref().is_some_and(JoinHandle::is_finished) {
                let ended = self.join();
                panic!("{} on port {} ended early: {ended:?}", self.name, self.port);
            }
            if ready() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{} on port {} not ready after {limit:?}",
                self.name,
                self.port
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// `http://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Fires the shutdown signal and returns what `run` returned once the server drained
    /// (panics if it has not within 30 s).
    pub fn stop(mut self) -> Result<(), String> {
        self.stop.fire();
        let deadline = Instant::now() + PATIENCE;
        while !self.thread.as_ref().is_none_or(JoinHandle::is_finished) {
            assert!(
                Instant::now() < deadline,
                "{} on port {} still running {PATIENCE:?} after its shutdown signal",
                self.name,
                self.port
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        self.join()
    }

    /// Sends `count` GETs of `url` (each on its own thread), fires the shutdown signal
    /// while they are in flight, and checks that `run` returned only after the drain
    /// (at least `drain` after the signal); returns the replies for the test to check.
    ///
    /// The requests get 300 ms to reach the server first: nothing observable from
    /// outside marks a request as accepted.
    pub fn stop_during(self, url: &str, count: usize, drain: Duration) -> Vec<super::Reply> {
        let requests: Vec<_> = (0..count)
            .map(|_| {
                let url = url.to_owned();
                std::thread::spawn(move || super::get(&url))
            })
            .collect();
        std::thread::sleep(Duration::from_millis(300));
        let stopping = Instant::now();
        let name = self.name.clone();
        // `stop` fires the signal and returns once `run` has: after the drain.
        assert_eq!(self.stop(), Ok(()), "{name} stopped with an error");
        assert!(
            stopping.elapsed() >= drain,
            "{name}'s run returned {:?} after the signal, before its requests were answered",
            stopping.elapsed()
        );
        requests
            .into_iter()
            .map(|request| request.join().expect("request thread"))
            .collect()
    }

    /// What the server thread returned (a panic counts as an error).
    fn join(&mut self) -> Result<(), String> {
        match self.thread.take().map(JoinHandle::join) {
            None => Ok(()),
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(format!("{} panicked", self.name)),
        }
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        let Some(thread) = self.thread.as_ref() else {
            return;
        };
        self.stop.fire();
        // Wait for the drain, so that the port is closed once the handle is gone; but a
        // test that is already failing must not hang on a server that will not stop.
        let deadline = Instant::now() + PATIENCE;
        while !thread.is_finished() {
            if Instant::now() >= deadline {
                eprintln!(
                    "{} on port {} did not stop; left running",
                    self.name, self.port
                );
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        if let Err(err) = self.join() {
            if !std::thread::panicking() {
                panic!("{} on port {} failed: {err}", self.name, self.port);
            }
        }
    }
}

/// Parses `args` (without the program name) into a service's configuration as its
/// binary would, but with the environment ignored, as [`super::Service`] clears
/// [`common::config::SERVICE_VARIABLES`]: a developer's `WORKERS` or `API_URL` must not
/// change a test. Panics with clap's message on a bad flag.
pub fn config_from_args<C: clap::Parser>(args: &[&str]) -> C {
    let command = C::command().mut_args(|arg| arg.env(None::<&'static str>));
    let program = command.get_name().to_owned();
    let matches = command
        .try_get_matches_from(std::iter::once(program.as_str()).chain(args.iter().copied()))
        .unwrap_or_else(|err| panic!("{args:?}: {err}"));
    C::from_arg_matches(&matches).unwrap_or_else(|err| panic!("{args:?}: {err}"))
}
