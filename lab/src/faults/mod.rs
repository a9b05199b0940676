//! Faults, hostile clients and a long run: what each topology does when something
//! breaks under load (`make chaos`, [`chaos`]), when hundreds of clients trickle their
//! request heads on purpose (`make slowloris`, [`slowloris`]), and after a million
//! requests (`make soak`, [`soak`]). Each writes `results/NAME.{json,md}`; the tables of
//! docs/09-faults.md are rendered by [`blocks`] and filled by `lab docs`. This module
//! holds what the three share (the load's counters over time, the criteria, the files)
//! and imports none of them.
//!
//! The machinery is the kit's: [`kit::stack`] starts a topology (and restarts its
//! pieces), [`kit::procs`] supervises every process, loads go through [`loadgen`].
//!
//! Every report states its criteria in its results ([`Criterion`]: what is expected,
//! what the run measured, whether it held), computed from the figures by pure functions
//! (`chaos::criteria`, `slowloris::criteria`, `soak::criteria`); the command exits
//! non-zero when any of them fails.

pub mod blocks;
pub mod chaos;
pub mod slowloris;
pub mod soak;

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// One criterion a report states: what it is, what was expected, what the run measured,
/// and whether it held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Criterion {
    pub name: String,
    pub expected: String,
    pub measured: String,
    pub passed: bool,
}

impl Criterion {
    pub fn new(
        name: impl Into<String>,
        expected: impl Into<String>,
        measured: impl Into<String>,
        passed: bool,
    ) -> Criterion {
        Criterion {
            name: name.into(),
            expected: expected.into(),
            measured: measured.into(),
            passed,
        }
    }

    /// The criterion every row has: that it ran at all. A row that could not run (a
    /// missing nginx or PostgreSQL, a service that did not start) fails it, so the
    /// report cannot pass on what it did not measure.
    pub fn ran(reason: Option<&str>) -> Criterion {
        Criterion::new(
            "ran",
            "the row ran to the end",
            reason.map_or_else(|| "ran".to_owned(), |reason| format!("not run: {reason}")),
            reason.is_none(),
        )
    }
}

/// Whether every criterion held (an empty list did not: nothing was checked).
pub fn all_passed(criteria: &[Criterion]) -> bool {
    !criteria.is_empty() && criteria.iter().all(|criterion| criterion.passed)
}

/// The names of the criteria that did not hold, in order.
pub fn unmet(criteria: &[Criterion]) -> Vec<String> {
    criteria
        .iter()
        .filter(|criterion| !criterion.passed)
        .map(|criterion| criterion.name.clone())
        .collect()
}

/// `all 4 hold`, or `FAILED: name, name`.
pub fn verdict(criteria: &[Criterion]) -> String {
    if criteria.is_empty() {
        return "not checked".to_owned();
    }
    let failed = unmet(criteria);
    if failed.is_empty() {
        format!("all {} hold", criteria.len())
    } else {
        format!("**FAILED**: {}", failed.join(", "))
    }
}

/// The criteria of a report, one table: for each row (its label), each criterion.
pub fn criteria_table<'a>(rows: impl IntoIterator<Item = (String, &'a [Criterion])>) -> String {
    let mut out =
        String::from("| row | criterion | expected | measured | held |\n|---|---|---|---|---|\n");
    for (label, criteria) in rows {
        if criteria.is_empty() {
            out.push_str(&format!(
                "| {label} | (none recorded) | | this run did not record its criteria | **no** |\n"
            ));
        }
        for criterion in criteria {
            out.push_str(&format!(
                "| {label} | {} | {} | {} | {} |\n",
                criterion.name,
                criterion.expected,
                criterion.measured,
                if criterion.passed { "yes" } else { "**no**" }
            ));
        }
    }
    out
}

/// The failed criteria, one line each (`label: name: expected ..., measured ...`), for
/// the command's error output.
pub fn failures<'a>(rows: impl IntoIterator<Item = (String, &'a [Criterion])>) -> Vec<String> {
    let mut out = Vec::new();
    for (label, criteria) in rows {
        if criteria.is_empty() {
            out.push(format!("{label}: no criteria recorded"));
        }
        for criterion in criteria.iter().filter(|criterion| !criterion.passed) {
            out.push(format!(
                "{label}: {}: expected {}, measured {}",
                criterion.name, criterion.expected, criterion.measured
            ));
        }
    }
    out
}

/// The load's counters at the end of one interval of loadgen's timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    pub at: Instant,
    /// Requests finished (complete or failed).
    pub done: u64,
    /// Requests failed (connect, receive, timeout) or answered with a non-2xx status.
    pub errors: u64,
}

/// The width of loadgen's timeline intervals in a fault run
/// ([`loadgen::LoadSpec::timeline_interval`]): when errors and completions happened, to
/// this (wider if a long run made loadgen coalesce its intervals).
pub const SAMPLE_EVERY: Duration = Duration::from_millis(5);

/// The counters over time, from loadgen's own timeline of the run: a sample at the
/// run's start and one at the end of each interval, with the requests finished and
/// failed so far. No sampler of its own: the timeline is the report's, and its times are
/// placed on this process's clock from the report's own start ([`load_origin`]), so a
/// fault's `Instant` and the samples compare exactly.
pub fn samples_of(report: &loadgen::Report, started: Instant) -> Vec<Sample> {
    samples(report.timeline.as_ref(), load_origin(report, started))
}

/// When the load's clock started, as an `Instant`: loadgen starts its clock inside its
/// own task, a little after the caller's `started` (later still on a busy machine), and
/// records that start on the wall clock (`started_at_unix_s`). `started` if it did not.
pub fn load_origin(report: &loadgen::Report, started: Instant) -> Instant {
    let (instant_now, wall_now) = (Instant::now(), std::time::SystemTime::now());
    let Ok(wall_now) = wall_now.duration_since(std::time::UNIX_EPOCH) else {
        return started;
    };
    let ago = wall_now.as_secs_f64() - report.started_at_unix_s;
    if report.started_at_unix_s <= 0.0 || !ago.is_finite() || ago < 0.0 {
        return started;
    }
    instant_now
        .checked_sub(Duration::from_secs_f64(ago))
        .map_or(started, |origin| origin.max(started))
}

/// The counters over time from `timeline`, its intervals placed after `origin`.
fn samples(timeline: Option<&loadgen::Timeline>, origin: Instant) -> Vec<Sample> {
    let start = Sample {
        at: origin,
        done: 0,
        errors: 0,
    };
    let totals = timeline
        .into_iter()
        .flat_map(loadgen::Timeline::running_totals);
    std::iter::once(start)
        .chain(totals.map(|totals| Sample {
            at: origin + Duration::from_secs_f64(totals.end_s),
            done: totals.completed,
            errors: totals.errors,
        }))
        .collect()
}

/// The last sample taken at or before `at` (the first sample if none was).
pub fn sample_at(samples: &[Sample], at: Instant) -> Option<Sample> {
    let index = samples.partition_point(|sample| sample.at <= at);
    samples.get(index.saturating_sub(1)).copied()
}

/// The first sample taken at or after `at` (the last sample if none was): with
/// [`sample_at`], the two ends of a window to the sampling interval.
pub fn sample_after(samples: &[Sample], at: Instant) -> Option<Sample> {
    let index = samples.partition_point(|sample| sample.at < at);
    samples.get(index).or(samples.last()).copied()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_passes_only_when_every_criterion_held() {
        let held = Criterion::new("a", "0", "0", true);
        let missed = Criterion::new("b", "<= 5", "7", false);
        assert!(all_passed(std::slice::from_ref(&held)));
        assert!(!all_passed(&[held.clone(), missed.clone()]));
        // Nothing checked is not a pass.
        assert!(!all_passed(&[]));
        assert_eq!(verdict(std::slice::from_ref(&held)), "all 1 hold");
        assert_eq!(verdict(&[held.clone(), missed.clone()]), "**FAILED**: b");
        assert_eq!(verdict(&[]), "not checked");
        let rows = || {
            [
                ("one".to_owned(), vec![held.clone(), missed.clone()]),
                ("two".to_owned(), vec![]),
            ]
        };
        let failed = failures(rows().iter().map(|(l, c)| (l.clone(), c.as_slice())));
        assert_eq!(
            failed,
            [
                "one: b: expected <= 5, measured 7",
                "two: no criteria recorded"
            ]
        );
        let table = criteria_table(rows().iter().map(|(l, c)| (l.clone(), c.as_slice())));
        assert!(table.contains("| one | a | 0 | 0 | yes |"), "{table}");
        assert!(table.contains("| one | b | <= 5 | 7 | **no** |"), "{table}");
        assert!(table.contains("| two | (none recorded) |"), "{table}");
        let ran = Criterion::ran(Some("nginx not found"));
        assert!(!ran.passed);
        assert_eq!(ran.measured, "not run: nginx not found");
        assert!(Criterion::ran(None).passed);
    }

    #[test]
    fn samples_add_up_loadgen_s_intervals_from_the_load_s_start() {
        let interval = |start_s: f64, completed: u64, errors: u64| loadgen::Interval {
            start_s,
            started: 0,
            completed,
            ok: completed - errors,
            errors,
            in_flight: 0,
            p50_ms: None,
            p99_ms: None,
            mean_ms: None,
        };
        let timeline = loadgen::Timeline {
            interval_s: 0.005,
            intervals: vec![
                interval(0.0, 0, 0),
                interval(0.005, 3, 1),
                interval(0.010, 2, 0),
            ],
        };
        let t0 = Instant::now();
        let samples = samples(Some(&timeline), t0);
        let ms = |sample: &Sample| (sample.at - t0).as_secs_f64() * 1000.0;
        let seen: Vec<(u64, u64, u64)> = samples
            .iter()
            .map(|sample| (ms(sample).round() as u64, sample.done, sample.errors))
            .collect();
        assert_eq!(seen, [(0, 0, 0), (5, 0, 0), (10, 3, 1), (15, 5, 1)]);
        // No timeline (a load that never started): the start alone.
        assert_eq!(super::samples(None, t0).len(), 1);
    }

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
        assert_eq!(sample_after(&samples, at(15)).map(|s| s.done), Some(5));
        assert_eq!(sample_after(&samples, at(10)).map(|s| s.done), Some(5));
        assert_eq!(sample_after(&samples, at(505)).map(|s| s.done), Some(9));
        assert_eq!(sample_after(&samples, at(600)).map(|s| s.done), Some(10));
        let stall = longest_stall(&samples, at(0), at(520));
        assert!((stall - 0.5).abs() < 1e-9, "{stall}");
        // A quiet tail after the load ended is not a stall.
        let early = longest_stall(&samples, at(0), at(100));
        assert!((early - 0.09).abs() < 1e-9, "{early}");
    }
}
