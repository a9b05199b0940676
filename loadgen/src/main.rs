//! loadgen: ab's command line and summary, on an engine as fast as wrk (make bench-loadgen).
//!
//! `loadgen -r -n 2000 -c 200 http://127.0.0.1:3000/?delay=1` reads like the article's
//! `ab` runs and prints ab's summary with ab's labels, plus what ab lacks: HDR latency
//! percentiles, a Little's-law self-check, length mismatches on their own line, and
//! `--rate` open-loop mode, `--ramp` and `--rate-stages`. `--json` prints one JSON
//! object instead.
//!
//! Exit status: 0 after a run (failures are counted, not fatal), 1 when the test was
//! aborted by a socket error without `-r` or could not start, 2 for a bad flag or URL.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use loadgen::{parse_seconds, ClientRamp, LoadError, LoadSpec, Progress, RateStage, Report};

// The load generator must never be the bottleneck: glibc's malloc was a fifth of an
// event loop's CPU at 10,000 connections, mimalloc a fraction of that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// An ab-compatible HTTP load generator: ab's flags and summary, wrk's speed.
///
/// Unlike ab, all -c connections start at once, responses whose length differs from
/// the first are not counted as failures, and -t does not cap -n at 50,000.
#[derive(Parser, Debug)]
#[command(version, about, long_about = None, disable_help_flag = true,
          after_help = "Add the --json reports of --shard runs with: loadgen merge [--json] FILE...")]
struct Args {
    /// Number of requests to perform (default 1, or unlimited with -t).
    #[arg(short = 'n', value_name = "requests", value_parser = clap::value_parser!(u64).range(1..))]
    requests: Option<u64>,

    /// Number of requests to make at a time, one connection each (default 1; --ramp
    /// sets it).
    #[arg(short = 'c', value_name = "concurrency", value_parser = parse_concurrency)]
    concurrency: Option<usize>,

    /// Seconds to spend at most; requests in flight then are reported as unfinished.
    #[arg(short = 't', value_name = "timelimit", value_parser = parse_seconds)]
    time_limit: Option<Duration>,

    /// Seconds before a request times out (counted as failed).
    #[arg(short = 's', value_name = "timeout", default_value = "30", value_parser = parse_seconds)]
    timeout: Duration,

    /// Use HTTP keep-alive (without it, one new connection per request).
    #[arg(short = 'k')]
    keep_alive: bool,

    /// Don't exit on socket receive errors (and on more than 10 connect errors).
    #[arg(short = 'r')]
    continue_on_socket_error: bool,

    /// Add a header, e.g. 'Accept-Encoding: gzip' (repeatable; replaces a default one).
    #[arg(short = 'H', value_name = "attribute", value_parser = parse_header)]
    headers: Vec<(String, String)>,

    /// HTTP method (default GET, or POST with -p).
    #[arg(short = 'm', value_name = "method")]
    method: Option<String>,

    /// File containing the request body (POST unless -m says otherwise).
    #[arg(short = 'p', value_name = "postfile")]
    post_file: Option<PathBuf>,

    /// Content-type header for the body (default text/plain).
    #[arg(short = 'T', value_name = "content-type")]
    content_type: Option<String>,

    /// Quiet: no progress bar.
    #[arg(short = 'q')]
    quiet: bool,

    /// Verbosity: 2 or more prints every failure to stderr.
    #[arg(short = 'v', value_name = "verbosity", default_value_t = 0)]
    verbosity: u8,

    /// Open-loop mode: send this many requests per second whatever the latency, and
    /// measure latency from each request's due time (no coordinated omission).
    #[arg(long, value_name = "per-second", value_parser = parse_rate)]
    rate: Option<f64>,

    /// Open-loop mode in stages: R requests per second for S seconds, then the next
    /// stage (e.g. 100:5,200:5,400:10). Latency counts from each due time, as --rate;
    /// the load ends with the last stage unless -n or -t ends it earlier.
    // Combinations are checked with the rest of the spec (LoadSpec::plan): one message
    // each, exit 2.
    #[arg(long, value_name = "R:S,...", value_parser = loadgen::parse_rate_stages)]
    rate_stages: Option<::std::vec::Vec<RateStage>>,

    /// Start the clients evenly over this many seconds instead of all at once, so a
    /// closed loop reaches a steady stream instead of coming back in waves.
    #[arg(long, value_name = "seconds", value_parser = parse_seconds)]
    ramp_up: Option<Duration>,

    /// Ramp the clients from A to B over T seconds (e.g. 10:1000:30): A start at once,
    /// the others evenly until B run at T, then B keep going until -n or -t ends the
    /// load. B is -c.
    #[arg(long, value_name = "A:B:T", value_parser = loadgen::parse_ramp)]
    ramp: Option<(ClientRamp, usize)>,

    /// Print one JSON object (the whole report) instead of ab's summary.
    #[arg(long)]
    json: bool,

    /// Width of the timeline's intervals: seconds, or with a unit (100ms, 0.5s). It
    /// doubles as often as needed to keep at most 2048 intervals.
    #[arg(long, value_name = "seconds", default_value = "0.1", value_parser = parse_interval)]
    interval: Duration,

    /// Write the timeline (per interval: started, completed, ok, errors, in flight,
    /// p50, p99) to this file as CSV.
    #[arg(long, value_name = "file")]
    timeline: Option<PathBuf>,

    /// Send shard I of K of the load (1 <= I <= K), to load from K hosts: this host
    /// takes its share of -c, -n, --rate, --rate-stages and --ramp's A and B (over the
    /// same T). Merge the K --json reports with `loadgen merge`.
    #[arg(long, value_name = "I/K")]
    shard: Option<loadgen::Shard>,

    /// Start at this wall-clock time (Unix seconds like 1795000000.25, or RFC 3339),
    /// so that shards on several hosts start together.
    #[arg(long, value_name = "time", value_parser = loadgen::parse_start_at)]
    start_at: Option<std::time::SystemTime>,

    /// Print help.
    #[arg(short = 'h', long, action = clap::ArgAction::Help)]
    help: Option<bool>,

    /// http://hostname[:port]/path
    url: String,
}

fn parse_concurrency(raw: &str) -> Result<usize, String> {
    match raw.parse::<usize>() {
        Ok(c) if c >= 1 => Ok(c),
        _ => Err(format!("{raw:?} is not a whole number of at least 1")),
    }
}

fn parse_interval(raw: &str) -> Result<Duration, String> {
    let interval = parse_seconds(raw)?;
    if interval < loadgen::MIN_INTERVAL {
        return Err(format!(
            "{raw:?} is shorter than the shortest interval, 1ms"
        ));
    }
    Ok(interval)
}

fn parse_rate(raw: &str) -> Result<f64, String> {
    match raw.parse::<f64>() {
        Ok(r) if r.is_finite() && r > 0.0 => Ok(r),
        _ => Err(format!(
            "{raw:?} is not a positive number of requests per second"
        )),
    }
}

fn parse_header(raw: &str) -> Result<(String, String), String> {
    match raw.split_once(':') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_string(), value.trim().to_string()))
        }
        _ => Err(format!("{raw:?} is not a header of the form 'Name: value'")),
    }
}

/// `loadgen merge`: add the --json reports of shards (--shard I/K) into one report.
///
/// Counts add, the latency histograms add and every percentile is recomputed from the
/// sum, requests per second is over the union of the runs' time windows, and the
/// timelines are aligned on their wall-clock starts and added.
#[derive(Parser, Debug)]
#[command(name = "loadgen merge", version, about, long_about = None)]
struct MergeArgs {
    /// Print one JSON object (the merged report) instead of ab's summary.
    #[arg(long)]
    json: bool,

    /// Write the merged timeline to this file as CSV.
    #[arg(long, value_name = "file")]
    timeline: Option<PathBuf>,

    /// The shards' reports, each written by `loadgen --json`.
    #[arg(value_name = "report.json", required = true)]
    reports: Vec<PathBuf>,
}

fn main() -> ExitCode {
    // `loadgen merge ...` is a subcommand; anything else is ab's command line, as ever
    // (a URL is never the bare word "merge").
    if std::env::args_os()
        .nth(1)
        .is_some_and(|first| first == "merge")
    {
        return merge(MergeArgs::parse_from(std::env::args_os().skip(1)));
    }
    let args = Args::parse(); // exits 2 with a clear message on a bad flag

    let body = match &args.post_file {
        Some(path) => match std::fs::read(path) {
            Ok(bytes) => Some(bytes),
            Err(err) => {
                eprintln!("loadgen: cannot read -p {}: {err}", path.display());
                return ExitCode::from(2);
            }
        },
        None => None,
    };
    let method = args
        .method
        .clone()
        .unwrap_or_else(|| if body.is_some() { "POST" } else { "GET" }.to_string());
    let requests = match (args.requests, args.time_limit, &args.rate_stages) {
        (Some(n), _, _) => Some(n),
        // The time limit, or the stages' end, ends the load.
        (None, Some(_), _) | (None, None, Some(_)) => None,
        (None, None, None) => Some(1),
    };
    // --ramp A:B:T sets -c to B; a different -c is a mistake, not a choice to make here.
    let concurrency = match (args.ramp, args.concurrency) {
        (Some((ramp, to)), Some(c)) if c != to => {
            eprintln!(
                "loadgen: --ramp {}:{to}:{} sets -c {to}, but -c {c} was given: drop -c",
                ramp.from,
                ramp.over.as_secs_f64()
            );
            return ExitCode::from(2);
        }
        (Some((_, to)), _) => to,
        (None, c) => c.unwrap_or(1),
    };
    let spec = LoadSpec {
        requests,
        concurrency,
        time_limit: args.time_limit,
        keep_alive: args.keep_alive,
        timeout: args.timeout,
        method,
        headers: args.headers.clone(),
        body,
        content_type: args.content_type.clone(),
        rate: args.rate,
        rate_stages: args.rate_stages.clone().unwrap_or_default(),
        ramp_up: args.ramp_up,
        ramp: args.ramp.map(|(ramp, _)| ramp),
        continue_on_socket_error: args.continue_on_socket_error,
        verbosity: args.verbosity,
        timeline_interval: args.interval,
        start_at: args.start_at,
        ..LoadSpec::new(args.url.clone())
    };
    let spec = match args.shard.map(|shard| shard.split(&spec)) {
        None => spec,
        Some(Ok(shard)) => shard,
        Some(Err(err)) => {
            eprintln!("loadgen: {err}");
            return ExitCode::from(2);
        }
    };
    // Refuse a file that cannot be written before the load, not after it.
    let timeline_file = match &args.timeline {
        Some(path) => match std::fs::File::create(path) {
            Ok(file) => Some((path, file)),
            Err(err) => {
                eprintln!("loadgen: cannot write --timeline {}: {err}", path.display());
                return ExitCode::from(2);
            }
        },
        None => None,
    };

    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("loadgen: cannot start the runtime: {err}");
            return ExitCode::from(1);
        }
    };
    // Bad input gets its one-line reason before anything else is printed.
    if let Err(err) = runtime.block_on(spec.validate()) {
        eprintln!("loadgen: {err}");
        return ExitCode::from(if err.is_usage() { 2 } else { 1 });
    }
    if !args.json {
        println!(
            "This is loadgen, version {} (ab-compatible)",
            env!("CARGO_PKG_VERSION")
        );
        println!();
    }
    let result = runtime.block_on(run_with_bar(spec, &args));
    let report = match result {
        Ok(report) => report,
        Err(err) => {
            eprintln!("loadgen: {err}");
            return ExitCode::from(if err.is_usage() { 2 } else { 1 });
        }
    };

    let mut timeline_note = None;
    if let (Some((path, mut file)), Some(timeline)) = (timeline_file, &report.timeline) {
        use std::io::Write;
        if let Err(err) = file.write_all(timeline.to_csv().as_bytes()) {
            eprintln!("loadgen: cannot write --timeline {}: {err}", path.display());
            return ExitCode::from(1);
        }
        timeline_note = Some(format!(
            "Timeline:               {} intervals of {} s written to {}",
            timeline.intervals.len(),
            timeline.interval_s,
            path.display()
        ));
    }
    if args.json {
        match serde_json::to_string_pretty(&report) {
            Ok(json) => println!("{json}"),
            Err(err) => {
                eprintln!("loadgen: cannot encode the report: {err}");
                return ExitCode::from(1);
            }
        }
    } else {
        println!("\n");
        print!("{}", loadgen::text::ab_summary(&report));
        if let Some(note) = timeline_note {
            println!("{note}");
        }
    }
    if let Some(reason) = &report.aborted {
        eprintln!("loadgen: {reason}");
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

/// Runs the test, with a progress bar on stderr when it is a terminal.
async fn run_with_bar(spec: LoadSpec, args: &Args) -> Result<Report, LoadError> {
    let show_bar = !args.quiet && std::io::stderr().is_terminal();
    if !args.json {
        let host = loadgen_host(&spec.url);
        println!("Benchmarking {host} (be patient)");
    }
    let progress = Arc::new(Progress::default());
    let task = tokio::spawn(loadgen::run_with_progress(
        spec.clone(),
        Arc::clone(&progress),
    ));
    tokio::pin!(task);
    let bar = show_bar.then(|| make_bar(&spec));
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let result = loop {
        tokio::select! {
            joined = &mut task => break joined,
            _ = tick.tick() => {
                if let Some(bar) = &bar {
                    bar.set_position(progress.done());
                    bar.set_message(format!("{} failed", progress.failed()));
                }
            }
        }
    };
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    match result {
        Ok(report) => report,
        Err(err) => Err(LoadError::Runtime(std::io::Error::other(err.to_string()))),
    }
}

fn make_bar(spec: &LoadSpec) -> ProgressBar {
    match spec.requests {
        Some(n) => {
            let bar = ProgressBar::new(n);
            if let Ok(style) = ProgressStyle::with_template(
                "{elapsed_precise} [{wide_bar}] {pos}/{len} requests ({per_sec}, {msg})",
            ) {
                bar.set_style(style);
            }
            bar
        }
        None => {
            let bar = ProgressBar::new_spinner();
            if let Ok(style) = ProgressStyle::with_template(
                "{spinner} {elapsed_precise} {pos} requests ({per_sec}, {msg})",
            ) {
                bar.set_style(style);
            }
            bar
        }
    }
}

/// The host part of the URL, for the "Benchmarking" line.
fn loadgen_host(url: &str) -> String {
    url.parse::<http::Uri>()
        .ok()
        .and_then(|uri| uri.host().map(str::to_string))
        .unwrap_or_else(|| url.to_string())
}

/// Reads, merges and prints shard reports; exit 2 for an unreadable or inconsistent one.
fn merge(args: MergeArgs) -> ExitCode {
    let mut reports = Vec::with_capacity(args.reports.len());
    for path in &args.reports {
        let name = path.display().to_string();
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(err) => {
                eprintln!("loadgen merge: cannot read {name}: {err}");
                return ExitCode::from(2);
            }
        };
        match serde_json::from_str::<Report>(&text) {
            Ok(report) => reports.push((name, report)),
            Err(err) => {
                eprintln!("loadgen merge: {name} is not a loadgen --json report: {err}");
                return ExitCode::from(2);
            }
        }
    }
    let report = match loadgen::merge_reports(&reports) {
        Ok(report) => report,
        Err(err) => {
            eprintln!("loadgen merge: {err}");
            return ExitCode::from(2);
        }
    };
    if let (Some(path), Some(timeline)) = (&args.timeline, &report.timeline) {
        if let Err(err) = std::fs::write(path, timeline.to_csv()) {
            eprintln!(
                "loadgen merge: cannot write --timeline {}: {err}",
                path.display()
            );
            return ExitCode::from(1);
        }
    }
    if args.json {
        match serde_json::to_string_pretty(&report) {
            Ok(json) => println!("{json}"),
            Err(err) => {
                eprintln!("loadgen merge: cannot encode the report: {err}");
                return ExitCode::from(1);
            }
        }
    } else {
        println!(
            "Merged {} shard reports ({})",
            reports.len(),
            report.shard.as_deref().unwrap_or("")
        );
        println!();
        print!("{}", loadgen::text::ab_summary(&report));
    }
    ExitCode::SUCCESS
}
