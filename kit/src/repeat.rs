//! Something done on a schedule on a thread of its own while a load runs: sampling a
//! process tree, scraping `/metrics`, a live counter, a live view's glances.

use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Calls `tick(false)` every `every`, on schedule from its start (a slow tick does not
/// stretch the series), on a named thread, until [`Repeat::stop`] or drop; then calls
/// `tick(true)` once more, so that what changed since the last tick is seen, and joins.
pub struct Repeat {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Repeat {
    /// Starts ticking now. Without a thread (none could start), nothing ticks.
    pub fn start(
        name: &str,
        every: Duration,
        mut tick: impl FnMut(bool) + Send + 'static,
    ) -> Repeat {
        let (stop, stopped) = channel::<()>();
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                let mut next = Instant::now();
                loop {
                    tick(false);
                    next += every;
                    match stopped.recv_timeout(next.saturating_duration_since(Instant::now())) {
                        Err(RecvTimeoutError::Timeout) => {}
                        Ok(()) | Err(RecvTimeoutError::Disconnected) => {
                            tick(true);
                            return;
                        }
                    }
                }
            })
            .ok();
        Repeat {
            stop: Some(stop),
            thread,
        }
    }

    /// Stops after one last tick and waits for it.
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        // Dropping the sender ends the wait at once.
        self.stop.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Repeat {
    fn drop(&mut self) {
        self.halt();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[test]
    fn it_ticks_on_schedule_then_once_more_when_stopped() {
        let ticks = Arc::new(Mutex::new(Vec::new()));
        let repeat = {
            let ticks = Arc::clone(&ticks);
            Repeat::start("test", Duration::from_millis(10), move |last| {
                ticks.lock().expect("ticks").push(last);
            })
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while ticks.lock().expect("ticks").len() < 3 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        repeat.stop();
        let ticks = ticks.lock().expect("ticks").clone();
        assert!(ticks.len() >= 4, "{ticks:?}");
        assert_eq!(ticks.last(), Some(&true), "one last tick");
        assert!(
            ticks[..ticks.len() - 1].iter().all(|last| !last),
            "{ticks:?}"
        );
    }

    #[test]
    fn a_long_period_does_not_delay_the_stop() {
        let repeat = Repeat::start("test", Duration::from_secs(3600), |_| {});
        let started = Instant::now();
        drop(repeat);
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
