//! What a process tree costs, read from `/proc` ([`common::procfs`]: CPU time, resident
//! memory, threads), and a sampler that keeps the peaks during a load.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use common::procfs::*;

/// Peak figures over a run.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Peaks {
    pub rss_bytes: u64,
    pub threads: u64,
}

/// Samples a tree every `every` on its own thread until stopped; keeps the peaks.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    peaks: Arc<Mutex<Peaks>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Sampler {
    pub fn start(root: i32, every: Duration) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let peaks = Arc::new(Mutex::new(Peaks::default()));
        let thread = {
            let (stop, peaks) = (Arc::clone(&stop), Arc::clone(&peaks));
            std::thread::Builder::new()
                .name("sampler".into())
                .spawn(move || loop {
                    let now = usage(root);
                    if let Ok(mut peaks) = peaks.lock() {
                        peaks.rss_bytes = peaks.rss_bytes.max(now.rss_bytes);
                        peaks.threads = peaks.threads.max(now.threads);
                    }
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    std::thread::sleep(every);
                })
                .ok()
        };
        Sampler {
            stop,
            peaks,
            thread,
        }
    }

    /// Stops sampling (after one last sample) and returns the peaks.
    pub fn finish(mut self) -> Peaks {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        self.peaks.lock().map(|peaks| *peaks).unwrap_or_default()
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
