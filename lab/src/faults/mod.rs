//! Faults, hostile clients and a long run: what each topology does when something
//! breaks under load (`make chaos`, [`chaos`]), when hundreds of clients trickle their
//! request heads on purpose (`make slowloris`, [`slowloris`]), and after a million
//! requests (`make soak`, [`soak`]). Each writes `results/NAME.{json,md}`; the tables of
//! docs/09-faults.md are rendered here ([`render_block`]) and filled by `lab docs`.
//!
//! The machinery is the runner's: [`crate::stack`] starts a topology (and restarts its
//! pieces), [`crate::procs`] supervises every process, loads go through [`loadgen`].

pub mod chaos;
pub mod slowloris;
pub mod soak;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use loadgen::Progress;

use crate::results;

/// The generated blocks this module fills, and the results file each needs.
pub const BLOCKS: &[(&str, &str)] = &[
    ("chaos-table", "chaos.json"),
    ("chaos-run", "chaos.json"),
    ("slowloris-table", "slowloris.json"),
    ("slowloris-run", "slowloris.json"),
    ("soak-table", "soak.json"),
];

/// The results a block can be written from (`None`: that run has not been committed).
#[derive(Default)]
pub struct Sources {
    pub chaos: Option<chaos::ChaosResults>,
    pub slowloris: Option<slowloris::SlowlorisResults>,
    pub soak: Option<soak::SoakResults>,
}

impl Sources {
    /// Reads `chaos.json`, `slowloris.json` and `soak.json` where they exist.
    pub fn read(results_dir: &Path) -> anyhow::Result<Sources> {
        fn optional<T: serde::de::DeserializeOwned>(
            path: &Path,
            kind: &str,
        ) -> anyhow::Result<Option<T>> {
            if path.exists() {
                results::read_json(path, kind).map(Some)
            } else {
                Ok(None)
            }
        }
        Ok(Sources {
            chaos: optional(&results_dir.join("chaos.json"), "a chaos result")?,
            slowloris: optional(&results_dir.join("slowloris.json"), "a slowloris result")?,
            soak: optional(&results_dir.join("soak.json"), "a soak result")?,
        })
    }
}

/// The contents of one of [`BLOCKS`]; `None` when `name` is not one of them.
pub fn render_block(name: &str, sources: &Sources) -> Option<anyhow::Result<String>> {
    // A run not made yet says so, in the page, rather than failing every other block.
    let missing = |file: &str, target: &str| -> anyhow::Result<String> {
        Ok(format!(
            "Not measured yet: `make {target}` writes results/{file}.\n"
        ))
    };
    Some(match name {
        "chaos-table" => sources
            .chaos
            .as_ref()
            .map(|run| Ok(chaos::markdown_table(run)))
            .unwrap_or_else(|| missing("chaos.json", "chaos")),
        "chaos-run" => sources
            .chaos
            .as_ref()
            .map(|run| {
                Ok(provenance(
                    "make chaos",
                    &run.started_at,
                    &run.machine,
                    run.wall_time_s,
                ))
            })
            .unwrap_or_else(|| missing("chaos.json", "chaos")),
        "slowloris-table" => sources
            .slowloris
            .as_ref()
            .map(|run| Ok(slowloris::markdown_table(run)))
            .unwrap_or_else(|| missing("slowloris.json", "slowloris")),
        "slowloris-run" => sources
            .slowloris
            .as_ref()
            .map(|run| {
                Ok(provenance(
                    "make slowloris",
                    &run.started_at,
                    &run.machine,
                    run.wall_time_s,
                ))
            })
            .unwrap_or_else(|| missing("slowloris.json", "slowloris")),
        "soak-table" => sources
            .soak
            .as_ref()
            .map(|run| Ok(soak::markdown_table(run)))
            .unwrap_or_else(|| missing("soak.json", "soak")),
        _ => return None,
    })
}

/// One line: which command measured it, when, on what, and how long it took.
pub fn provenance(
    command: &str,
    started_at: &str,
    machine: &results::Machine,
    wall_time_s: f64,
) -> String {
    format!(
        "Measured by `{command}` on {started_at}: {} ({wall_time_s:.0} s for the whole run).\n",
        results::machine_line(machine)
    )
}

/// Writes `NAME.json` and `NAME.md` (a heading, the provenance line and `table`) into
/// `dir`.
pub fn write_results<T: serde::Serialize>(
    dir: &Path,
    name: &str,
    title: &str,
    value: &T,
    provenance: &str,
    table: &str,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let json = serde_json::to_string_pretty(value)?;
    results::write_atomically(&dir.join(format!("{name}.json")), &(json + "\n"))?;
    let markdown = format!("# {title}\n\n{provenance}\n{table}");
    results::write_atomically(&dir.join(format!("{name}.md")), &markdown)?;
    Ok(())
}

/// A load's live counters sampled every few milliseconds, on their own thread: when
/// errors and completions happened, to the sampling interval.
pub struct Timeline {
    stop: Arc<AtomicBool>,
    samples: Arc<Mutex<Vec<Sample>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// The counters at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    pub at: Instant,
    /// Requests finished (complete or failed).
    pub done: u64,
    /// Requests failed (connect, receive, timeout) or answered with a non-2xx status.
    pub errors: u64,
}

/// How often a [`Timeline`] samples.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(5);

impl Timeline {
    pub fn start(progress: Arc<Progress>) -> Timeline {
        let stop = Arc::new(AtomicBool::new(false));
        let samples = Arc::new(Mutex::new(Vec::with_capacity(8192)));
        let thread = {
            let (stop, samples) = (Arc::clone(&stop), Arc::clone(&samples));
            std::thread::Builder::new()
                .name("timeline".into())
                .spawn(move || loop {
                    let sample = Sample {
                        at: Instant::now(),
                        done: progress.done(),
                        errors: progress.failed() + progress.non_2xx(),
                    };
                    samples
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(sample);
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    std::thread::sleep(SAMPLE_EVERY);
                })
                .ok()
        };
        Timeline {
            stop,
            samples,
            thread,
        }
    }

    /// Stops sampling (after one last sample) and returns every sample, in order.
    pub fn finish(mut self) -> Vec<Sample> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        std::mem::take(&mut *self.samples.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Drop for Timeline {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The last sample taken at or before `at` (the first sample if none was).
pub fn sample_at(samples: &[Sample], at: Instant) -> Option<Sample> {
    let index = samples.partition_point(|sample| sample.at <= at);
    samples.get(index.saturating_sub(1)).copied()
}

/// The longest stretch between `from` and `until` during which no request finished,
/// seconds (to the sampling interval).
pub fn longest_stall(samples: &[Sample], from: Instant, until: Instant) -> f64 {
    let mut longest = Duration::ZERO;
    let mut last_change = from;
    let mut last_done = sample_at(samples, from).map_or(0, |sample| sample.done);
    let within = samples
        .iter()
        .filter(|sample| sample.at > from && sample.at <= until);
    for sample in within {
        if sample.done != last_done {
            longest = longest.max(sample.at - last_change);
            last_change = sample.at;
            last_done = sample.done;
        }
    }
    longest = longest.max(until.saturating_duration_since(last_change));
    longest.as_secs_f64()
}

/// A multi-threaded runtime for the loads.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|err| anyhow::anyhow!("cannot start the runtime: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stalls_and_samples_are_read_from_the_timeline() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let samples = [
            Sample {
                at: at(0),
                done: 0,
                errors: 0,
            },
            Sample {
                at: at(10),
                done: 5,
                errors: 0,
            },
            Sample {
                at: at(20),
                done: 5,
                errors: 1,
            },
            Sample {
                at: at(500),
                done: 5,
                errors: 1,
            },
            Sample {
                at: at(510),
                done: 9,
                errors: 1,
            },
            Sample {
                at: at(520),
                done: 10,
                errors: 1,
            },
        ];
        assert_eq!(sample_at(&samples, at(15)).map(|s| s.done), Some(5));
        assert_eq!(sample_at(&samples, at(600)).map(|s| s.done), Some(10));
        let stall = longest_stall(&samples, at(0), at(520));
        assert!((stall - 0.5).abs() < 1e-9, "{stall}");
        // A quiet tail after the load ended is not a stall.
        let early = longest_stall(&samples, at(0), at(100));
        assert!((early - 0.09).abs() < 1e-9, "{early}");
    }
}
