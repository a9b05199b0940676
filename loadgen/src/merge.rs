//! `loadgen merge`: the `--json` reports of a load sent from several hosts
//! (`--shard I/K`) added into the report of one run.
//!
//! Counts add; the serialized HDR histograms add and every percentile is recomputed
//! from the sum (percentiles are never averaged); requests per second is recomputed
//! over the union of the time windows (earliest start to latest end); the timelines
//! are aligned on their wall-clock starts and added interval by interval.

use crate::report::{RampReport, RateStageReport, Report, RunFacts};
use crate::spec::Shard;
use crate::stats::{decode_histogram, Stats};
use crate::timeline::{Bucket, Recorder, DEFAULT_INTERVAL};

/// Adds shard reports, each given with a name (its file) for the error messages.
/// Errors (one line, naming the file) when a report lacks what a merge needs (the
/// histograms of a current loadgen) or the reports are not the shards of one load
/// ([`check_one_load`]).
pub fn merge_reports(inputs: &[(String, Report)]) -> Result<Report, String> {
    let Some((_, first)) = inputs.first() else {
        return Err("merge needs at least one report".into());
    };
    let mut stats = Stats::new(DEFAULT_INTERVAL);
    let mut shards = Vec::new();
    let mut aborted = Vec::new();
    let started = inputs
        .iter()
        .map(|(_, r)| r.started_at_unix_s)
        .fold(f64::INFINITY, f64::min);
    let ended = inputs
        .iter()
        .map(|(_, r)| r.ended_at_unix_s)
        .fold(f64::NEG_INFINITY, f64::max);
    let mut timelines = Vec::new();
    for (name, report) in inputs {
        if report.started_at_unix_s <= 0.0 {
            return Err(format!(
                "{name}: no started_at_unix_s (a report of an older loadgen?)"
            ));
        }
        stats.merge(&shard_stats(name, report)?);
        shards.push(report.shard.clone().unwrap_or_else(|| "-".into()));
        if let Some(reason) = &report.aborted {
            aborted.push(format!("{name}: {reason}"));
        }
        if let Some(timeline) = shard_timeline(name, report)? {
            timelines.push((report.started_at_unix_s - started, timeline));
        }
    }
    // Each report's own defects first (naming its file), then whether they are one load.
    check_one_load(inputs)?;
    let time_taken_s = (ended - started).max(0.0);
    stats.timeline = merge_timelines(timelines, inputs.len())?;
    stats
        .timeline
        .extend_to(std::time::Duration::from_secs_f64(time_taken_s));
    let requested = inputs.iter().map(|(_, r)| r.requested).sum::<Option<u64>>();
    let rate = inputs
        .iter()
        .map(|(_, r)| r.rate.map(|rate| rate.target_rps))
        .sum::<Option<f64>>();
    let facts = RunFacts {
        url: first.url.clone(),
        method: first.method.clone(),
        server_software: inputs.iter().find_map(|(_, r)| r.server_software.clone()),
        host: first.server_hostname.clone(),
        port: first.server_port,
        path: first.document_path.clone(),
        document_length: inputs.iter().find_map(|(_, r)| r.document_length),
        concurrency: inputs.iter().map(|(_, r)| r.concurrency).sum(),
        keep_alive: first.keep_alive,
        requested,
        time_taken_s,
        rate,
        ramp_up: first.ramp_up_s.map(std::time::Duration::from_secs_f64),
        // The shards' shares of A and B add up; all ramp over the same T.
        ramp: first.ramp.map(|ramp| RampReport {
            from: inputs
                .iter()
                .filter_map(|(_, r)| r.ramp)
                .map(|r| r.from)
                .sum(),
            to: inputs
                .iter()
                .filter_map(|(_, r)| r.ramp)
                .map(|r| r.to)
                .sum(),
            over_s: ramp.over_s,
        }),
        // Each stage's rate is the sum of the shards' shares.
        rate_stages: first.rate_stages.as_ref().map(|stages| {
            stages
                .iter()
                .enumerate()
                .map(|(n, stage)| RateStageReport {
                    target_rps: inputs
                        .iter()
                        .filter_map(|(_, r)| r.rate_stages.as_ref()?.get(n))
                        .map(|s| s.target_rps)
                        .sum(),
                    duration_s: stage.duration_s,
                })
                .collect()
        }),
        aborted: (!aborted.is_empty()).then(|| aborted.join("; ")),
        shard: Some(shards.join(",")),
        started_at_unix_s: started,
    };
    Ok(Report::build(facts, &stats))
}

/// The shards a report covers: `--shard I/K`'s one, or the list a merge wrote
/// (`"1/3,2/3"`); `None` for a whole load.
fn shards_of(name: &str, report: &Report) -> Result<Option<Vec<Shard>>, String> {
    let Some(text) = &report.shard else {
        return Ok(None);
    };
    let shards = text
        .split(',')
        .map(|one| {
            one.parse::<Shard>()
                .map_err(|err| format!("{name}: shard {err}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(shards))
}

/// Refuses reports that are not, together, every shard of one load exactly once: a
/// whole load beside anything, one shard twice, a shard missing, shards of K and of
/// another count, different URLs or methods, `-c`/`-n`/`--rate` shares (and shares of
/// a ramp's A or of each stage's rate) that are not the shares of one load, different
/// `-k`, `--ramp-up`, ramp durations or stage durations.
fn check_one_load(inputs: &[(String, Report)]) -> Result<(), String> {
    let Some((first_name, first)) = inputs.first() else {
        return Err("merge needs at least one report".into());
    };
    let mut covered: Vec<(Shard, &str)> = Vec::new();
    let mut sets = Vec::with_capacity(inputs.len());
    for (name, report) in inputs {
        let not_one = |what: &str, this: String, that: String| {
            Err(format!(
                "{name}: {what} {this} but {that} in {first_name}: not one load"
            ))
        };
        if report.url != first.url {
            return not_one("url", report.url.clone(), first.url.clone());
        }
        if report.method != first.method {
            let method = |r: &Report| r.method.clone().unwrap_or_else(|| "unknown".into());
            return not_one("method", method(report), method(first));
        }
        if report.keep_alive != first.keep_alive {
            return not_one(
                "keep-alive (-k) is",
                on(report.keep_alive).into(),
                on(first.keep_alive).into(),
            );
        }
        if report.rate.is_some() != first.rate.is_some() {
            return not_one(
                "--rate is",
                on(report.rate.is_some()).into(),
                on(first.rate.is_some()).into(),
            );
        }
        if report.requested.is_some() != first.requested.is_some() {
            return not_one(
                "-n is",
                on(report.requested.is_some()).into(),
                on(first.requested.is_some()).into(),
            );
        }
        if report.ramp_up_s != first.ramp_up_s {
            let ramp = |r: &Report| r.ramp_up_s.map_or("off".into(), |s| format!("{s} s"));
            return not_one("--ramp-up is", ramp(report), ramp(first));
        }
        if report.ramp.map(|r| r.over_s) != first.ramp.map(|r| r.over_s) {
            let ramp = |r: &Report| {
                r.ramp
                    .map_or("off".into(), |r| format!("over {} s", r.over_s))
            };
            return not_one("--ramp is", ramp(report), ramp(first));
        }
        if stage_durations(report) != stage_durations(first) {
            let stages = |r: &Report| {
                stage_durations(r).map_or("off".into(), |durations| {
                    let seconds: Vec<String> = durations.iter().map(|d| format!("{d} s")).collect();
                    format!("stages of {}", seconds.join(", "))
                })
            };
            return not_one("--rate-stages has", stages(report), stages(first));
        }
    }
    for (name, report) in inputs {
        let Some(shards) = shards_of(name, report)? else {
            if inputs.len() > 1 {
                return Err(format!(
                    "{name}: not a --shard report (a whole load): merge adds the shards of one load"
                ));
            }
            return Ok(());
        };
        for shard in &shards {
            let count = covered.first().map_or(shard.count, |(s, _)| s.count);
            if shard.count != count {
                return Err(format!(
                    "{name}: shard {shard} is one of {} but the others are of {count}: not one load",
                    shard.count
                ));
            }
            if let Some((_, other)) = covered.iter().find(|(s, _)| s == shard) {
                return Err(format!(
                    "{name}: shard {shard} is given twice (also in {other}): give each shard once"
                ));
            }
            covered.push((*shard, name));
        }
        sets.push((name, report, shards));
    }
    let count = covered.first().map_or(1, |(s, _)| s.count);
    let missing: Vec<String> = (1..=count)
        .filter(|index| !covered.iter().any(|(s, _)| s.index == *index))
        .map(|index| format!("{index}/{count}"))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "shard {} missing: merge needs all {count} shards of the load, each once",
            missing.join(", ")
        ));
    }
    // Every shard's -c and -n are its share of the totals (Shard::split), and its rate
    // the total over K: shards of another load do not add up.
    let total_c: u64 = sets.iter().map(|(_, r, _)| r.concurrency as u64).sum();
    let total_n: Option<u64> = sets.iter().map(|(_, r, _)| r.requested).sum();
    let total_rate: Option<f64> = sets
        .iter()
        .map(|(_, r, _)| r.rate.map(|rate| rate.target_rps))
        .sum();
    let total_from: u64 = sets
        .iter()
        .filter_map(|(_, r, _)| r.ramp)
        .map(|ramp| ramp.from as u64)
        .sum();
    for (name, report, shards) in &sets {
        let share = |total: u64| shards.iter().map(|s| s.share(total)).sum::<u64>();
        let which = shards
            .iter()
            .map(Shard::to_string)
            .collect::<Vec<_>>()
            .join(",");
        if report.concurrency as u64 != share(total_c) {
            return Err(format!(
                "{name}: -c {} is not shard {which}'s share of -c {total_c}: not one load",
                report.concurrency
            ));
        }
        if let (Some(n), Some(total_n)) = (report.requested, total_n) {
            if n != share(total_n) {
                return Err(format!(
                    "{name}: -n {n} is not shard {which}'s share of -n {total_n}: not one load"
                ));
            }
        }
        // With stages, each stage's share is checked below (their mean follows).
        if let (Some(rate), Some(total), None) = (report.rate, total_rate, &report.rate_stages) {
            if !is_rate_share(rate.target_rps, total, shards.len(), count) {
                return Err(format!(
                    "{name}: --rate {} is not shard {which}'s share of --rate {total}: not one load",
                    rate.target_rps
                ));
            }
        }
        if let Some(ramp) = report.ramp {
            if ramp.from as u64 != share(total_from) {
                return Err(format!(
                    "{name}: --ramp from {} clients is not shard {which}'s share of {total_from}: \
                     not one load",
                    ramp.from
                ));
            }
        }
        for (n, stage) in report.rate_stages.iter().flatten().enumerate() {
            let total: f64 = sets
                .iter()
                .filter_map(|(_, r, _)| r.rate_stages.as_ref()?.get(n))
                .map(|s| s.target_rps)
                .sum();
            if !is_rate_share(stage.target_rps, total, shards.len(), count) {
                return Err(format!(
                    "{name}: stage {} at {}/s is not shard {which}'s share of {total}/s: \
                     not one load",
                    n + 1,
                    stage.target_rps
                ));
            }
        }
    }
    Ok(())
}

/// The durations of a report's rate stages, seconds (None: no stages).
fn stage_durations(report: &Report) -> Option<Vec<f64>> {
    report
        .rate_stages
        .as_ref()
        .map(|stages| stages.iter().map(|s| s.duration_s).collect())
}

fn on(yes: bool) -> &'static str {
    if yes {
        "on"
    } else {
        "off"
    }
}

/// A report's counts and histograms, as the stats of one more load thread.
fn shard_stats(name: &str, r: &Report) -> Result<Stats, String> {
    let histogram = |what: &str, text: Option<&String>| {
        let text = text.ok_or_else(|| {
            format!("{name}: no {what} (not the --json report of a current loadgen)")
        })?;
        decode_histogram(text).map_err(|err| format!("{name}: {what}: {err}"))
    };
    let phases = r.phase_histograms.as_ref();
    let mut stats = Stats::new(DEFAULT_INTERVAL);
    stats.total = histogram("histogram", r.histogram.as_ref())?;
    stats.raw = histogram("phase_histograms.raw", phases.map(|p| &p.raw))?;
    stats.connect = histogram("phase_histograms.connect", phases.map(|p| &p.connect))?;
    stats.waiting = histogram("phase_histograms.waiting", phases.map(|p| &p.waiting))?;
    stats.processing = histogram("phase_histograms.processing", phases.map(|p| &p.processing))?;
    if stats.total.len() != r.complete {
        return Err(format!(
            "{name}: the histogram holds {} latencies but complete is {}",
            stats.total.len(),
            r.complete
        ));
    }
    stats.complete = r.complete;
    stats.non_2xx = r.non_2xx;
    stats.status_codes = r.status_codes.clone();
    stats.length_mismatches = r.length_mismatches;
    stats.failures = r.failures;
    stats.unfinished = r.unfinished;
    stats.sent_late = r.rate.map_or(0, |rate| rate.sent_late);
    stats.connections_opened = r.connections_opened;
    stats.keep_alive_requests = r.keep_alive_requests;
    stats.body_bytes = r.html_transferred_bytes;
    stats.header_bytes = r
        .total_transferred_bytes
        .saturating_sub(r.html_transferred_bytes);
    Ok(stats)
}

/// A report's timeline as a recorder, or None if it has none.
fn shard_timeline(name: &str, r: &Report) -> Result<Option<Recorder>, String> {
    let Some(timeline) = &r.timeline else {
        return Ok(None);
    };
    let histograms = r.timeline_histograms.as_ref();
    if histograms.is_some_and(|h| h.len() != timeline.intervals.len()) {
        return Err(format!(
            "{name}: timeline_histograms does not have one entry per interval"
        ));
    }
    let mut buckets = Vec::with_capacity(timeline.intervals.len());
    for (n, interval) in timeline.intervals.iter().enumerate() {
        let latency = match histograms.and_then(|h| h[n].as_ref()) {
            Some(text) => Some(
                decode_histogram(text)
                    .map_err(|err| format!("{name}: timeline_histograms[{n}]: {err}"))?,
            ),
            None => None,
        };
        buckets.push(Bucket {
            started: interval.started,
            completed: interval.completed,
            ok: interval.ok,
            errors: interval.errors,
            latency,
        });
    }
    let width_ns = (timeline.interval_s * 1e9).round() as u64;
    Ok(Some(Recorder::from_parts(width_ns, buckets)))
}

/// Adds timelines that start `offset` seconds after the earliest, at the widest
/// width. Every report must have one (each current report does).
fn merge_timelines(timelines: Vec<(f64, Recorder)>, reports: usize) -> Result<Recorder, String> {
    if timelines.len() != reports {
        return Err("some reports have a timeline and some do not".into());
    }
    let Some(width) = timelines.iter().map(|(_, t)| t.width_ns()).max() else {
        return Err("no timeline".into());
    };
    let mut merged = Recorder::from_parts(width, Vec::new());
    for (offset_s, mut timeline) in timelines {
        if !timeline.coalesce_to(width) {
            return Err(format!(
                "timeline intervals of {} s and {} s do not line up (one must be the other \
                 doubled): give every shard the same --interval",
                timeline.width_ns() as f64 / 1e9,
                width as f64 / 1e9
            ));
        }
        // Aligned on wall-clock starts, to the nearest interval.
        timeline.shift((offset_s * 1e9 / width as f64).round() as usize);
        if !merged.merge(&timeline) {
            return Err("timeline intervals do not line up".into());
        }
    }
    Ok(merged)
}

/// Whether `rate` is what `held` shards of `count` send of a total `total` per second:
/// each sends the total over K.
fn is_rate_share(rate: f64, total: f64, held: usize, count: u64) -> bool {
    let expected = total * held as f64 / count as f64;
    (rate - expected).abs() <= 1e-9 * expected.max(1.0)
}
