//! What a process tree costs, read from `/proc` ([`common::procfs`]: CPU time, resident
//! memory, threads), and a sampler that keeps the peaks during a load.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::repeat::Repeat;

pub use common::procfs::*;

/// Peak figures over a run.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Peaks {
    pub rss_bytes: u64,
    pub threads: u64,
}

/// Samples a tree every `every` on its own thread until stopped; keeps the peaks.
pub struct Sampler {
    peaks: Arc<Mutex<Peaks>>,
    repeat: Repeat,
}

impl Sampler {
    pub fn start(root: i32, every: Duration) -> Sampler {
        let peaks = Arc::new(Mutex::new(Peaks::default()));
        let seen = Arc::clone(&peaks);
        let repeat = Repeat::start("sampler", every, move |_| {
            let now = usage(root);
            if let Ok(mut peaks) = seen.lock() {
                peaks.rss_bytes = peaks.rss_bytes.max(now.rss_bytes);
                peaks.threads = peaks.threads.max(now.threads);
            }
        });
        Sampler { peaks, repeat }
    }

    /// Stops sampling (after one last sample) and returns the peaks.
    pub fn finish(self) -> Peaks {
        self.repeat.stop();
        self.peaks.lock().map(|peaks| *peaks).unwrap_or_default()
    }
}
