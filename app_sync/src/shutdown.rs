//! SIGTERM and SIGINT, as a flag every thread can look at.
//!
//! signal-hook's `flag` module stores the signal number in an atomic from inside the
//! signal handler (an async-signal-safe store, nothing more), so no thread is blocked
//! or interrupted by the signal: each looks at the flag between two blocking calls,
//! at most `conn::TICK` apart. libc alone would need our own `unsafe` handler
//! doing exactly this; signal-hook is the well-kept version of it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use signal_hook::consts::{SIGINT, SIGTERM};

/// What [`Shutdown::request`] stores: no signal has this number.
const REQUESTED: usize = usize::MAX;

/// Set once SIGTERM or SIGINT arrives (or [`Shutdown::request`] is called); cheap to
/// clone and share.
#[derive(Clone, Default)]
pub struct Shutdown(Arc<AtomicUsize>);

impl Shutdown {
    /// Installs the handlers for SIGTERM and SIGINT.
    pub fn install() -> std::io::Result<Shutdown> {
        let shutdown = Shutdown::default();
        for signal in [SIGTERM, SIGINT] {
            signal_hook::flag::register_usize(signal, shutdown.0.clone(), signal as usize)?;
        }
        Ok(shutdown)
    }

    /// A flag no signal sets: for a caller that decides itself when to stop
    /// ([`Shutdown::request`]), such as a test running the server in its own process.
    pub fn new() -> Shutdown {
        Shutdown::default()
    }

    /// Asks for shutdown, as a signal would.
    pub fn request(&self) {
        self.0.store(REQUESTED, Ordering::Relaxed);
    }

    /// Whether shutdown was asked for.
    pub fn requested(&self) -> bool {
        self.0.load(Ordering::Relaxed) != 0
    }

    /// What asked for shutdown: the signal's name, once one arrived.
    pub fn signal_name(&self) -> &'static str {
        match self.0.load(Ordering::Relaxed) {
            0 => "no signal",
            n if n == SIGINT as usize => "SIGINT",
            n if n == SIGTERM as usize => "SIGTERM",
            _ => "shutdown request",
        }
    }
}
