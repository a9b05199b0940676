//! What `bench-all` writes: one row per scenario, as JSON, Markdown and a chart.

use std::fmt::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::scenarios::Scenario;
// The envelope of every results file carries the machine the kit describes.
pub use kit::machine::{Machine, Versions};

/// What became of a row: measured, skipped (something is not installed: what to
/// install) or failed (why). One of the three, never both a skip and an error.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "OutcomeFields", into = "OutcomeFields")]
pub enum Outcome {
    #[default]
    Measured,
    Skipped(String),
    Failed(String),
}

/// How an outcome reads in every results file: `skipped` and `error`, null or why.
#[derive(Serialize, Deserialize)]
struct OutcomeFields {
    skipped: Option<String>,
    error: Option<String>,
}

impl From<OutcomeFields> for Outcome {
    fn from(fields: OutcomeFields) -> Outcome {
        match fields {
            OutcomeFields {
                error: Some(reason),
                ..
            } => Outcome::Failed(reason),
            OutcomeFields {
                skipped: Some(reason),
                ..
            } => Outcome::Skipped(reason),
            _ => Outcome::Measured,
        }
    }
}

impl From<Outcome> for OutcomeFields {
    fn from(outcome: Outcome) -> OutcomeFields {
        let (skipped, error) = match outcome {
            Outcome::Measured => (None, None),
            Outcome::Skipped(reason) => (Some(reason), None),
            Outcome::Failed(reason) => (None, Some(reason)),
        };
        OutcomeFields { skipped, error }
    }
}

impl Outcome {
    pub fn is_measured(&self) -> bool {
        *self == Outcome::Measured
    }

    pub fn is_failed(&self) -> bool {
        matches!(self, Outcome::Failed(_))
    }

    /// Why it was skipped, if it was.
    pub fn skipped(&self) -> Option<&str> {
        match self {
            Outcome::Skipped(reason) => Some(reason),
            _ => None,
        }
    }

    /// `("skipped" | "error", why)` for a row without a measurement.
    pub fn why(&self) -> Option<(&'static str, &str)> {
        match self {
            Outcome::Measured => None,
            Outcome::Skipped(reason) => Some(("skipped", reason)),
            Outcome::Failed(reason) => Some(("error", reason)),
        }
    }
}

/// The four latencies the table shows, milliseconds.
#[derive(Debug, Default, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LatencyMs {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

impl From<&loadgen::Latency> for LatencyMs {
    fn from(latency: &loadgen::Latency) -> Self {
        LatencyMs {
            p50: latency.p50,
            p90: latency.p90,
            p99: latency.p99,
            max: latency.max,
        }
    }
}

/// The load a row ran (ab's flags).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LoadRun {
    pub requests: u64,
    pub concurrency: u32,
    pub delay_s: f64,
    /// `-k` (absent from files written before keep-alive rows existed: false).
    #[serde(default)]
    pub keep_alive: bool,
}

/// One scenario's outcome. A skipped row (nginx or PostgreSQL missing) has zeros and
/// `skipped` set; a row that could not start has `error` set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub id: String,
    pub topology: String,
    pub article_analogue: String,
    pub load: LoadRun,
    pub complete: u64,
    pub failed: u64,
    /// Complete responses that were not 2xx (counted in `complete`, as ab does).
    pub non_2xx: u64,
    pub requests_per_second: f64,
    pub time_taken_s: f64,
    /// Little's law for loadgen (all `c` start at once).
    pub ceiling_rps: f64,
    /// 2xx responses per second / `ceiling_rps`: how much of what Little's law allows
    /// was served, and served right (a 408 or a 502 is no throughput).
    pub efficiency: f64,
    /// The article's figure (requests/s), if it gives one.
    pub article_rps: Option<f64>,
    /// The article's figures as it prints them.
    pub article_text: String,
    /// What ab could reach at best with the same flags (its lone first request).
    pub ab_ceiling_rps: f64,
    /// `article_rps / ab_ceiling_rps`; null when this run's load differs from the
    /// article's (a shortened run), so the two cannot be compared.
    pub article_efficiency: Option<f64>,
    pub latency_ms: LatencyMs,
    /// CPU time of the app's whole process tree during the load, per complete request.
    pub cpu_ms_per_request: f64,
    /// What everything cost, and the CPU's ceiling beside Little's.
    #[serde(flatten)]
    pub cpu: CpuCeiling,
    /// Largest resident memory of the app's whole process tree during the load.
    pub peak_rss_mb: f64,
    /// Largest thread count of the app's whole process tree during the load.
    pub peak_threads: u64,
    /// SYNs the kernel sent again during the load (machine-wide): connection attempts
    /// dropped by a full queue or table, each a client waiting a second or more. 0 on
    /// a clean run; null where `/proc/net/netstat` cannot be read.
    pub syn_retransmits: Option<u64>,
    /// Measured, skipped (what to install) or failed (a service did not start); in the
    /// JSON the fields `skipped` and `error`, each null or why.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// The row over time: where its chart and data are, and Little's law checked window
    /// by window (null in files written before timelines, and for rows that did not run).
    #[serde(default)]
    pub timeline: Option<crate::timeline::TimelineSummary>,
    /// The intervals themselves, written beside the results as `timeline-ID.{svg,csv}`
    /// rather than into them.
    #[serde(skip)]
    pub timeline_data: Option<crate::timeline::Timeline>,
}

impl Row {
    /// A row with the scenario's fixed facts and no measurement yet.
    pub fn new(scenario: &Scenario) -> Row {
        // A shortened run (other delay, fewer clients) is not the article's experiment.
        let as_article = crate::scenarios::by_id(scenario.id)
            .is_some_and(|original| original.load == scenario.load);
        Row {
            id: scenario.id.to_owned(),
            topology: scenario.topology.to_owned(),
            article_analogue: scenario.article_analogue.to_owned(),
            load: LoadRun {
                requests: scenario.load.requests,
                concurrency: scenario.load.concurrency,
                delay_s: scenario.load.delay.as_secs_f64(),
                keep_alive: scenario.load.keep_alive,
            },
            complete: 0,
            failed: 0,
            non_2xx: 0,
            requests_per_second: 0.0,
            time_taken_s: 0.0,
            ceiling_rps: scenario.ceiling_rps(),
            efficiency: 0.0,
            article_rps: scenario.article.rps,
            article_text: scenario.article.text.to_owned(),
            ab_ceiling_rps: scenario.ab_ceiling_rps(),
            article_efficiency: scenario.article_efficiency().filter(|_| as_article),
            latency_ms: LatencyMs::default(),
            cpu_ms_per_request: 0.0,
            cpu: CpuCeiling::default(),
            peak_rss_mb: 0.0,
            peak_threads: 0,
            syn_retransmits: None,
            outcome: Outcome::Measured,
            timeline: None,
            timeline_data: None,
        }
    }

    /// True when the row has a measurement.
    pub fn ran(&self) -> bool {
        self.outcome.is_measured()
    }
}

/// The second law beside Little's, for one row or sweep point. Every field is null in
/// files written before it was measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CpuCeiling {
    /// CPU time of everything the run started (slow API, app, nginx, PostgreSQL, and the
    /// load generator itself), per complete request.
    #[serde(default)]
    pub cpu_ms_per_request_all: Option<f64>,
    /// This machine's cores / `cpu_ms_per_request_all`: the most requests per second
    /// its CPUs could serve at this cost.
    #[serde(default)]
    pub cpu_ceiling_rps: Option<f64>,
    /// Which ceiling is lower, and so binds: `concurrency` (Little's law) or `cpu`.
    #[serde(default)]
    pub binds: Option<String>,
}

impl CpuCeiling {
    /// The CPU ceiling for `all_ms_per_request` on this machine's cores (none when
    /// nothing was measured: too few clock ticks), beside Little's `little_rps`.
    pub fn new(all_ms_per_request: f64, little_rps: f64) -> CpuCeiling {
        let cores = std::thread::available_parallelism().map_or(1, usize::from) as f64;
        let ceiling = (all_ms_per_request > 0.0).then(|| cores * 1000.0 / all_ms_per_request);
        let binds = match ceiling {
            Some(cpu) if cpu < little_rps => "cpu",
            _ => "concurrency",
        };
        CpuCeiling {
            cpu_ms_per_request_all: Some(all_ms_per_request),
            cpu_ceiling_rps: ceiling,
            binds: Some(binds.to_owned()),
        }
    }

    /// The lower of the two ceilings.
    pub fn lower(&self, little_rps: f64) -> f64 {
        self.cpu_ceiling_rps
            .map_or(little_rps, |cpu| cpu.min(little_rps))
    }
}

/// The envelope of every results file: when the run started, on what machine, and how
/// long it took, around the experiment's own fields (`run`, flattened beside them, so
/// each file stays one JSON object). [`Started::now`] starts the clock when a run starts
/// and [`Started::finish`] wraps what it measured; [`write_json`] writes it and
/// [`read_json`] reads it back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope<R> {
    /// When the run started, UTC, ISO 8601.
    pub started_at: String,
    pub machine: Machine,
    /// Seconds the whole run took (builds excluded); 0 in files written before it was
    /// recorded (proxy-bench's).
    #[serde(default)]
    pub wall_time_s: f64,
    #[serde(flatten)]
    pub run: R,
}

/// A run under way: its start, for [`Started::finish`].
#[derive(Debug)]
pub struct Started {
    started_at: String,
    clock: std::time::Instant,
}

impl Started {
    /// A run starts now.
    pub fn now() -> Started {
        Started {
            started_at: now_utc(),
            clock: std::time::Instant::now(),
        }
    }

    /// When it started, as the envelope will record it.
    pub fn started_at(&self) -> &str {
        &self.started_at
    }

    /// The envelope around `run`: this machine, and the time since [`Started::now`].
    pub fn finish<R>(self, run: R) -> Envelope<R> {
        Envelope {
            started_at: self.started_at,
            machine: kit::machine::describe(),
            wall_time_s: self.clock.elapsed().as_secs_f64(),
            run,
        }
    }
}

impl<R> Envelope<R> {
    /// One line: which command measured it, when, on what, and how long it took.
    pub fn provenance(&self, command: &str) -> String {
        self.provenance_with(command, "")
    }

    /// As [`Envelope::provenance`], with `extra` after the machine (the Python or the
    /// Docker engine the run used).
    pub fn provenance_with(&self, command: &str, extra: &str) -> String {
        let extra = if extra.is_empty() {
            String::new()
        } else {
            format!("; {extra}")
        };
        format!(
            "Measured by `{command}` on {}: {}{extra} ({:.0} s for the whole run).\n",
            self.started_at,
            machine_line(&self.machine),
            self.wall_time_s
        )
    }
}

impl<R> std::ops::Deref for Envelope<R> {
    type Target = R;

    fn deref(&self) -> &R {
        &self.run
    }
}

impl<R> std::ops::DerefMut for Envelope<R> {
    fn deref_mut(&mut self) -> &mut R {
        &mut self.run
    }
}

/// bench-all's own part of `results/bench-all.json`: one row per scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchAll {
    pub scenarios: Vec<Row>,
}

/// The whole file `results/bench-all.json`.
pub type Results = Envelope<BenchAll>;

/// Requests per second as the tables print them.
pub fn fmt_rps(rps: f64) -> String {
    if rps >= 100.0 {
        format!("{rps:.1}")
    } else {
        format!("{rps:.2}")
    }
}

/// Milliseconds as the tables print them.
pub fn fmt_ms(ms: f64) -> String {
    if ms >= 100.0 {
        format!("{ms:.0}")
    } else {
        format!("{ms:.1}")
    }
}

/// The article's column: its figure and how close it came to ab's ceiling.
fn article_cell(row: &Row) -> String {
    match row.article_efficiency {
        Some(efficiency) => format!(
            "{} ({:.0}% of ab's {})",
            row.article_text,
            efficiency * 100.0,
            fmt_rps(row.ab_ceiling_rps)
        ),
        None if row.article_rps.is_some() => {
            format!("{} (other load: not comparable)", row.article_text)
        }
        None => row.article_text.clone(),
    }
}

/// The results as a Markdown table (what stdout and `bench-all.md` show).
pub fn markdown_table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| scenario | topology | load | complete | failed | non-2xx | requests/s | ceiling | efficiency | p50 ms | p99 ms | CPU ms/req | peak RSS MB | threads | CPU ms/req, all | CPU ceiling | binds | SYN resent | the article's own figures (2020, Python, ab) |\n\
         |---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|---|\n",
    );
    for row in rows {
        let load = format!(
            "{}-n {} -c {} delay={}",
            if row.load.keep_alive { "-k " } else { "" },
            row.load.requests,
            row.load.concurrency,
            row.load.delay_s
        );
        if let Some((word, reason)) = row.outcome.why() {
            out.push_str(&format!(
                "| {} | {} | {load} | {word}: {} | | | | {} | | | | | | | | | | | {} |\n",
                row.id,
                row.topology,
                reason.replace('|', "/"),
                fmt_rps(row.ceiling_rps),
                article_cell(row),
            ));
            continue;
        }
        out.push_str(&format!(
            "| {} | {} | {load} | {} | {} | {} | {} | {} | {:.0}% | {} | {} | {:.2} | {:.1} | {} | {} | {} | {} | {} | {} |\n",
            row.id,
            row.topology,
            row.complete,
            row.failed,
            row.non_2xx,
            fmt_rps(row.requests_per_second),
            fmt_rps(row.ceiling_rps),
            row.efficiency * 100.0,
            fmt_ms(row.latency_ms.p50),
            fmt_ms(row.latency_ms.p99),
            row.cpu_ms_per_request,
            row.peak_rss_mb,
            row.peak_threads,
            row.cpu
                .cpu_ms_per_request_all
                .map_or_else(|| "?".to_owned(), |ms| format!("{ms:.2}")),
            row.cpu.cpu_ceiling_rps.map_or_else(|| "?".to_owned(), fmt_rps),
            row.cpu.binds.as_deref().unwrap_or("?"),
            fmt_count(row.syn_retransmits),
            article_cell(row),
        ));
    }
    out
}

/// `bench-all.md`: a heading, the machine, the table, and how to read it.
pub fn markdown_document(results: &Results, chart_file: &str) -> String {
    let mut out = format!(
        "# bench-all results\n\nRun {} on {}. Whole run: {:.0} s.\n\n",
        results.started_at,
        machine_line(&results.machine),
        results.wall_time_s,
    );
    out.push_str(&markdown_table(&results.scenarios));
    out.push_str(&format!(
        "\n![measured vs ceiling vs the article]({chart_file})\n\n\
         - **ceiling**: Little's law for the load loadgen sends (all `c` requests start at once): \
         min(c, requests the topology can hold in flight) / delay; for pg-blocking one \
         database half (delay/2) at a time on the blocked loop.\n\
         - **efficiency**: 2xx responses per second / ceiling (`complete` counts every \
         response, as ab does; `non-2xx` says how many were errors).\n\
         - **article**: the Python figures, next to what `ab` could reach at best with the same \
         flags (it sends its first request alone, so `-n 2000 -c 200` takes at least 11 s: \
         181.8 requests/s).\n\
         - **CPU ms/req**, **peak RSS**, **threads**: the app's whole process tree \
         (workers included, nginx, PostgreSQL and the slow API not), from /proc during the load.\n\
         - **CPU ms/req, all**, **CPU ceiling**, **binds**: the CPU time of everything the \
         run started (slow API, app, nginx, PostgreSQL, the load generator) per request; this \
         machine's cores / that time, the second ceiling beside Little's law; and which of \
         the two is lower, `concurrency` or `cpu`.\n\
         - **SYN resent**: connection attempts the kernel dropped during the load and the \
         client sent again a second or more later (a full accept queue or connection-tracking \
         table); anything but 0 means the row measured the kernel too.\n",
    ));
    if results.scenarios.iter().any(|row| row.timeline.is_some()) {
        out.push_str(
            "\n## Timelines\n\n\
             Each row over time: throughput, requests in flight as the client counts them and as \
             the app's `/metrics` does, and latency. Little's law (in flight = throughput x \
             latency) is checked over windows one median latency long in the steady part of \
             the run; 1.00 is the law holding. Where the app holds fewer requests than the client \
             has in flight, the rest wait where the app cannot see them (the kernel's accept \
             queue, or nginx).\n\n",
        );
        out.push_str(&timeline_table(&results.scenarios, ""));
    }
    out
}

/// The machine and versions in one line: `2 CPU(s) (model), Debian 12, Linux 6.1; loadgen 0.1.0, rustc ...`.
pub fn machine_line(machine: &Machine) -> String {
    format!(
        "{} CPU(s){}, {}{}; loadgen {}{}{}{}",
        machine.cpus,
        machine
            .cpu_model
            .as_ref()
            .map(|model| format!(" ({model})"))
            .unwrap_or_default(),
        machine.os,
        machine
            .kernel
            .as_ref()
            .map(|kernel| format!(", Linux {kernel}"))
            .unwrap_or_default(),
        machine.versions.loadgen,
        opt_version(", ", &machine.versions.rustc),
        opt_version(", ", &machine.versions.nginx),
        opt_version(", ", &machine.versions.postgres),
    )
}

/// A count, or `?` where it could not be read.
pub fn fmt_count(count: Option<u64>) -> String {
    count.map_or_else(|| "?".to_owned(), |count| count.to_string())
}

fn opt_version(prefix: &str, version: &Option<String>) -> String {
    version
        .as_ref()
        .map(|version| format!("{prefix}{version}"))
        .unwrap_or_default()
}

/// Reads an earlier run's JSON file (`--redraw`); `kind` names it in the error.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path, kind: &str) -> anyhow::Result<T> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| anyhow::anyhow!("cannot read {}: {err}", path.display()))?;
    serde_json::from_str(&text)
        .map_err(|err| anyhow::anyhow!("{} is not {kind}: {err}", path.display()))
}

/// Writes a results file: `value` as pretty JSON, atomically. Every experiment's JSON
/// goes through here and is read back by [`read_json`].
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> anyhow::Result<()> {
    write_atomically(path, &(serde_json::to_string_pretty(value)? + "\n"))
}

/// Writes `contents` to `path` through a temporary file, so a reader never sees half.
pub fn write_atomically(path: &Path, contents: &str) -> anyhow::Result<()> {
    // A run being interrupted (its services stopping under it) writes nothing.
    if kit::procs::interrupted() {
        anyhow::bail!("interrupted: {} not written", path.display());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|err| anyhow::anyhow!("cannot create {}: {err}", dir.display()))?;
    }
    let tmp = path.with_extension(format!(
        "{}.tmp",
        path.extension()
            .and_then(|ext| ext.to_str())
            .unwrap_or_default()
    ));
    std::fs::write(&tmp, contents)
        .map_err(|err| anyhow::anyhow!("cannot write {}: {err}", tmp.display()))?;
    std::fs::rename(&tmp, path)
        .map_err(|err| anyhow::anyhow!("cannot write {}: {err}", path.display()))?;
    Ok(())
}

/// Now, UTC, ISO 8601 (no external time crate: days to civil date, Howard Hinnant's
/// algorithm).
pub fn now_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    let days = i64::try_from(secs / 86_400).unwrap_or_default();
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// One line per row that has a timeline: its chart, Little's law over the whole run and
/// over the steady windows, and requests in flight as the client and the app count them.
///
/// See also [`first_round_table`].
/// `prefix` leads the links from the page to the results directory (`""` beside them,
/// `../results/` from docs/).
pub fn timeline_table(rows: &[Row], prefix: &str) -> String {
    let mut out = String::from(
        "| scenario | timeline | Little's law, client | Little's law, app | steady part: windows one median latency long | client, in them | app, in them | mean in flight, client | mean in flight, app |\n\
         |---|---|--:|--:|--:|--:|--:|--:|--:|\n",
    );
    let ratio = |r: Option<f64>| r.map_or_else(|| "n/a".to_owned(), |r| format!("{r:.2}"));
    let count = |v: Option<f64>| v.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.0}"));
    for row in rows {
        let Some(summary) = &row.timeline else {
            continue;
        };
        let _ = writeln!(
            out,
            "| {} | [chart]({prefix}{}) [csv]({prefix}{}) | {} | {} | {} | {} | {} | {} | {} |",
            row.id,
            summary.chart,
            summary.csv,
            ratio(summary.client_littles_ratio),
            ratio(summary.server_littles_ratio),
            match summary.windows_checked {
                0 => format!(
                    "none: the run is too short for {:.1} s windows",
                    summary.window_s
                ),
                n => format!("{n} sliding windows of {:.1} s", summary.window_s),
            },
            ratio(summary.client_window_ratio),
            ratio(summary.server_window_ratio),
            count(summary.client_in_flight),
            count(summary.server_in_flight),
        );
    }
    out
}

/// The first round of a burst, row by row: when the app first held every client's
/// request at once (from its timeline), the SYNs the kernel resent meanwhile, and what
/// the row made of its ceiling.
pub fn first_round_table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| scenario | load | every client's request at the server by | SYN resent | efficiency | p99 ms |\n\
         |---|---|--:|--:|--:|--:|\n",
    );
    for row in rows {
        let held = row
            .timeline
            .as_ref()
            .and_then(|timeline| timeline.server_all_in_flight_s)
            .map_or_else(|| "never".to_owned(), |at| format!("{at:.1} s"));
        let _ = writeln!(
            out,
            "| {} | {}-n {} -c {} | {held} | {} | {:.0}% | {} |",
            row.id,
            if row.load.keep_alive { "-k " } else { "" },
            row.load.requests,
            row.load.concurrency,
            fmt_count(row.syn_retransmits),
            row.efficiency * 100.0,
            fmt_ms(row.latency_ms.p99)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenarios::by_id;

    #[test]
    fn the_first_round_reads_when_the_app_held_every_client() {
        let mut row = Row::new(by_id("async-keepalive").expect("row"));
        row.efficiency = 0.9;
        row.syn_retransmits = Some(0);
        let table = first_round_table(std::slice::from_ref(&row));
        assert!(
            table.contains("| async-keepalive | -k -n 25000 -c 5000 | never | 0 | 90% |"),
            "{table}"
        );
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../results/bench-all.json"
        ))
        .expect("the committed bench-all.json");
        let committed: Results = serde_json::from_str(&text).expect("it reads");
        let mut held = committed.scenarios[0].timeline.clone().expect("a timeline");
        held.server_all_in_flight_s = Some(1.5);
        row.timeline = Some(held);
        let table = first_round_table(&[row]);
        assert!(table.contains("| 1.5 s | 0 | 90% |"), "{table}");
    }

    #[test]
    fn an_outcome_is_written_as_the_skipped_and_error_fields() {
        let mut row = Row::new(by_id("async").expect("async"));
        let json = |row: &Row| serde_json::to_value(row).expect("json");
        assert!(json(&row)["skipped"].is_null() && json(&row)["error"].is_null());
        row.outcome = Outcome::Skipped("install nginx".into());
        assert_eq!(json(&row)["skipped"], "install nginx");
        assert!(json(&row)["error"].is_null());
        row.outcome = Outcome::Failed("did not start".into());
        let failed = json(&row);
        assert_eq!(failed["error"], "did not start");
        assert!(failed["skipped"].is_null());
        let back: Row = serde_json::from_value(failed).expect("read back");
        assert_eq!(back.outcome, Outcome::Failed("did not start".into()));
        assert_eq!(back.outcome.why(), Some(("error", "did not start")));
    }

    #[test]
    fn table_has_a_line_per_row() {
        let mut ran = Row::new(by_id("async").expect("async"));
        ran.complete = 2000;
        ran.requests_per_second = 198.5;
        ran.efficiency = 0.9925;
        let mut skipped = Row::new(by_id("nginx-sync").expect("nginx-sync"));
        skipped.outcome = Outcome::Skipped("nginx not found | install".into());
        let table = markdown_table(&[ran, skipped]);
        assert_eq!(table.lines().count(), 4);
        assert!(table.contains("| async | app_async 1 worker |"));
        assert!(table.contains("99%"));
        assert!(table.contains("114.05; 112.11 rps (63% of ab's 181.8)"));
        assert!(table.contains("skipped: nginx not found / install"));
    }

    #[test]
    fn iso_dates() {
        let now = now_utc();
        assert_eq!(now.len(), 20, "{now}");
        assert!(now.starts_with("20") && now.ends_with('Z'));
    }
}
