//! `make soak`: a million requests through app_async at c=1000, to show that nothing
//! accumulates. Its criteria ([`criteria`]): no request fails; resident memory after the
//! run is within 10% of what it was after the first 100,000 requests; every client
//! connection is closed after the run; and the open descriptors go back to their idle
//! count.
//!
//! The descriptors do not go back by themselves, and that is not a leak: after the run
//! awc's pool (one per event loop) holds the upstream connections the load had open,
//! up to one per client, idle. awc has no timer: it drops a connection idle past its
//! keep-alive (4 s here, `common::upstream::async_client`; awc's default is 15 s, and
//! 75 s of lifetime) only when a later request looks in the pool. The slow API closes
//! its side after its own 5 s keep-alive, so they sit in CLOSE_WAIT until then. So the
//! run waits [`Options::quiet`] without traffic (longer than that keep-alive), counts
//! the app's sockets by kind, then sends one request, after which the descriptors must
//! be back to idle.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::Criterion;
use crate::experiment::Experiment;
use crate::load::Plan;
use crate::results::{self, fmt_ms, fmt_rps};
use crate::runner::Ui;
use crate::scenarios::{self, Load};
use kit::stack;
use kit::{kernel, procfs};

/// How a run is shaped.
#[derive(Debug, Clone)]
pub struct Options {
    pub bin_dir: PathBuf,
    pub scenario: String,
    pub requests: u64,
    pub concurrency: u32,
    pub delay: Duration,
    /// Memory is compared with what it was after this many requests.
    pub warm: u64,
    /// How long the run waits without traffic before it counts the descriptors and
    /// sends one more request: longer than the pool's keep-alive.
    pub quiet: Duration,
}

/// How long app_async's awc pool keeps an idle upstream connection
/// (`common::upstream::async_client`'s `conn_keep_alive`).
pub const UPSTREAM_KEEP_ALIVE: Duration = Duration::from_secs(4);

/// Resident memory after the run may exceed what it was after the warm-up by this much.
pub const RSS_GROWTH_LIMIT: f64 = 0.10;

impl Options {
    /// `make soak`'s shape.
    pub fn full(bin_dir: PathBuf) -> Options {
        Options {
            bin_dir,
            scenario: "async".to_owned(),
            requests: 1_000_000,
            concurrency: 1000,
            delay: Duration::from_millis(50),
            warm: 100_000,
            quiet: Duration::from_secs(10),
        }
    }
}

/// The soak's own part of `results/soak.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Soak {
    pub scenario: String,
    pub topology: String,
    pub requests: u64,
    pub concurrency: u32,
    pub delay_s: f64,
    pub complete: u64,
    pub errors: u64,
    pub requests_per_second: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub warm_requests: u64,
    pub rss_idle_mb: f64,
    pub rss_warm_mb: f64,
    pub rss_peak_mb: f64,
    pub rss_after_mb: f64,
    /// (after - warm) / warm.
    pub rss_growth: f64,
    pub open_files_idle: u64,
    pub open_files_peak: u64,
    pub open_files_after: u64,
    /// Seconds after the load until the descriptors were back to their idle count
    /// (`None`: not within the quiet wait, [`Soak::quiet_s`]).
    pub open_files_back_after_s: Option<f64>,
    /// Descriptors after one more request, sent once that wait passed: awc closes the
    /// upstream connections its pool kept past their keep-alive only when a request
    /// next looks at the pool (it has no timer of its own).
    pub open_files_after_next_request: u64,
    /// Seconds the run waited without traffic before that request (10 in the runs
    /// that did not record it).
    #[serde(default = "ten_seconds")]
    pub quiet_s: f64,
    /// The app's TCP sockets at the end of that wait, by kind.
    #[serde(default)]
    pub sockets_after_quiet: Sockets,
    /// What the run must keep ([`criteria`]); `make soak` fails when one does not hold.
    #[serde(default)]
    pub criteria: Vec<Criterion>,
}

/// The whole file `results/soak.json`.
pub type SoakResults = results::Envelope<Soak>;

fn ten_seconds() -> f64 {
    10.0
}

/// An app's TCP sockets by what they connect (listeners aside).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sockets {
    /// Accepted from clients (local port: the app's).
    pub clients: u64,
    /// To the upstream (every other connected socket).
    pub upstream: u64,
    /// Of those, the ones the upstream has closed its side of (CLOSE_WAIT): the app
    /// still holds their descriptors.
    pub upstream_closed_by_peer: u64,
}

/// Counts the sockets whose inode is in `inodes` by kind, from the text of
/// `/proc/net/tcp` and `/proc/net/tcp6` (rows of `sl local rem st ... inode`).
pub fn classify_sockets(tcp_tables: &str, inodes: &HashSet<u64>, app_port: u16) -> Sockets {
    const LISTEN: &str = "0A";
    const CLOSE_WAIT: &str = "08";
    let port = |address: &str| {
        address
            .rsplit_once(':')
            .and_then(|(_, port)| u16::from_str_radix(port, 16).ok())
    };
    let mut sockets = Sockets::default();
    for line in tcp_tables.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (Some(local), Some(state), Some(inode)) = (
            fields.get(1).and_then(|address| port(address)),
            fields.get(3),
            fields.get(9).and_then(|inode| inode.parse::<u64>().ok()),
        ) else {
            continue;
        };
        if *state == LISTEN || !inodes.contains(&inode) {
            continue;
        }
        if local == app_port {
            sockets.clients += 1;
        } else {
            sockets.upstream += 1;
            if *state == CLOSE_WAIT {
                sockets.upstream_closed_by_peer += 1;
            }
        }
    }
    sockets
}

/// The TCP sockets of the process tree rooted at `root`, by kind.
fn sockets(root: i32, app_port: u16) -> Sockets {
    let mut inodes = HashSet::new();
    for process in procfs::tree(&procfs::processes(), root) {
        let Ok(entries) = std::fs::read_dir(format!("/proc/{}/fd", process.pid)) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(target) = std::fs::read_link(entry.path()) else {
                continue;
            };
            let target = target.to_string_lossy();
            if let Some(inode) = target
                .strip_prefix("socket:[")
                .and_then(|rest| rest.strip_suffix(']'))
                .and_then(|inode| inode.parse().ok())
            {
                inodes.insert(inode);
            }
        }
    }
    let tables: String = ["tcp", "tcp6"]
        .iter()
        .filter_map(|table| std::fs::read_to_string(format!("/proc/{root}/net/{table}")).ok())
        .collect();
    classify_sockets(&tables, &inodes, app_port)
}

/// What the soak must keep, from its figures.
pub fn criteria(soak: &Soak) -> Vec<Criterion> {
    let limit = soak.rss_warm_mb * (1.0 + RSS_GROWTH_LIMIT);
    let sockets = soak.sockets_after_quiet;
    vec![
        Criterion::new(
            "no request fails",
            format!("{} complete, 0 errors", soak.requests),
            format!("{} complete, {} errors", soak.complete, soak.errors),
            soak.errors == 0 && soak.complete == soak.requests,
        ),
        Criterion::new(
            "memory does not grow",
            format!(
                "RSS after the run <= {limit:.1} MB ({:.1} MB after {} requests + {:.0}%)",
                soak.rss_warm_mb,
                soak.warm_requests,
                RSS_GROWTH_LIMIT * 100.0
            ),
            format!("{:.1} MB ({:+.1}%)", soak.rss_after_mb, soak.rss_growth * 100.0),
            soak.rss_after_mb <= limit,
        ),
        Criterion::new(
            "client connections closed",
            format!("0 client sockets {:.0} s after the run", soak.quiet_s),
            format!("{}", sockets.clients),
            sockets.clients == 0,
        ),
        Criterion::new(
            "descriptors back to idle",
            format!(
                "<= {} once the pool's {} s keep-alive passed and one request let awc drop what expired",
                soak.open_files_idle,
                UPSTREAM_KEEP_ALIVE.as_secs()
            ),
            format!(
                "{} ({} after {:.0} s quiet: {} idle upstream connections in the pool, {} of them closed by the upstream)",
                soak.open_files_after_next_request,
                soak.open_files_after,
                soak.quiet_s,
                sockets.upstream,
                sockets.upstream_closed_by_peer
            ),
            soak.open_files_after_next_request <= soak.open_files_idle,
        ),
    ]
}

/// Every criterion of the soak that failed, one line each (empty: it passed).
pub fn failures(soak: &SoakResults) -> Vec<String> {
    super::failures([("soak".to_owned(), soak.criteria.as_slice())])
}

const MB: f64 = 1024.0 * 1024.0;

/// `lab soak`: one long load, shaped by the options.
pub struct SoakExperiment {
    pub options: Options,
}

impl Experiment for SoakExperiment {
    type Run = Soak;
    const NAME: &'static str = "soak";
    const COMMAND: &'static str = "make soak";

    fn run(&self) -> anyhow::Result<SoakResults> {
        run(&self.options)
    }

    fn table(results: &SoakResults) -> String {
        markdown_table(results)
    }

    /// The one-line verdict, then the table.
    fn report(results: &SoakResults) -> String {
        format!("{}\n\n{}", summary(results), markdown_table(results))
    }

    fn unmet(results: &SoakResults) -> Vec<String> {
        failures(results)
    }
}

/// Runs the soak.
pub fn run(options: &Options) -> anyhow::Result<SoakResults> {
    let started = results::Started::now();
    let ui = Ui::default();
    let runtime = crate::load::runtime()?;
    let scenario = scenarios::by_id(&options.scenario)
        .ok_or_else(|| anyhow::anyhow!("no scenario `{}`", options.scenario))?;
    let stack = stack::start(&scenario.topology(), &options.bin_dir)?;
    let app = stack.app_pid();
    // Warm the upstream pool and let start-up settle before the idle figures.
    let _ = stack::get_status(stack.port, "/?delay=0");
    std::thread::sleep(Duration::from_millis(500));
    let rss_idle = procfs::usage(app).rss_bytes;
    let files_idle = procfs::open_files(app);
    ui.line(&format!(
        "soak: {} requests at -c {} delay={} through {} (idle: {:.1} MB, {files_idle} descriptors) ...",
        options.requests, options.concurrency, options.delay.as_secs_f64(), scenario.topology, rss_idle as f64 / MB
    ));
    let load = Load {
        requests: options.requests,
        concurrency: options.concurrency,
        delay: options.delay,
        keep_alive: false,
    };
    let plan = Plan::of(&load, stack.url(options.delay));
    let _ = kernel::make_room(plan.connections());

    let load = plan.start(&runtime);
    // Watches memory and descriptors while the load runs.
    let stop = Arc::new(AtomicBool::new(false));
    let watched = Arc::new(Mutex::new((None::<u64>, 0u64, 0u64)));
    let watcher = {
        let (stop, watched, progress) = (
            Arc::clone(&stop),
            Arc::clone(&watched),
            Arc::clone(&load.progress),
        );
        let warm = options.warm;
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let rss = procfs::usage(app).rss_bytes;
                let files = procfs::open_files(app);
                let mut seen = watched.lock().unwrap_or_else(PoisonError::into_inner);
                if seen.0.is_none() && progress.done() >= warm {
                    seen.0 = Some(rss);
                }
                seen.1 = seen.1.max(rss);
                seen.2 = seen.2.max(files);
                drop(seen);
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    let status = {
        let progress = Arc::clone(&load.progress);
        let requests = options.requests;
        let started = load.started;
        move || {
            format!(
                "soak: {}/{requests} requests, {} failed, {:.0} s",
                progress.done(),
                progress.failed(),
                started.elapsed().as_secs_f64()
            )
        }
    };
    let report = {
        let _live = ui.live(status);
        load.finish(&runtime)
    };
    stop.store(true, Ordering::Relaxed);
    let _ = watcher.join();
    let report = report?;
    let finished = Instant::now();

    // Sockets in TIME_WAIT are the kernel's, not the app's: its descriptors close as
    // the clients' connections end. The pool's close only when a request comes (see
    // the module's documentation): wait past its keep-alive without traffic.
    let quiet = options
        .quiet
        .max(UPSTREAM_KEEP_ALIVE + Duration::from_secs(1));
    let mut back_after = None;
    while finished.elapsed() < quiet {
        if procfs::open_files(app) <= files_idle && back_after.is_none() {
            back_after = Some(finished.elapsed().as_secs_f64());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let files_after = procfs::open_files(app);
    let sockets_after_quiet = sockets(app, stack.app_port);
    let mut files_next = files_after;
    if files_after > files_idle {
        let _ = stack::get_status(stack.port, "/?delay=0");
        let asked = Instant::now();
        while asked.elapsed() < Duration::from_secs(5) {
            files_next = procfs::open_files(app);
            if files_next <= files_idle {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    let rss_after = procfs::usage(app).rss_bytes;
    stack.stop();

    let (rss_warm, rss_peak, files_peak) = *watched.lock().unwrap_or_else(PoisonError::into_inner);
    let rss_warm = rss_warm.unwrap_or(rss_peak);
    let mut soak = started.finish(Soak {
        scenario: options.scenario.clone(),
        topology: scenario.topology.to_owned(),
        requests: options.requests,
        concurrency: options.concurrency,
        delay_s: options.delay.as_secs_f64(),
        complete: report.complete,
        errors: report.failed + report.non_2xx,
        requests_per_second: report.requests_per_second,
        p99_ms: report.latency_ms.p99,
        max_ms: report.latency_ms.max,
        warm_requests: options.warm,
        rss_idle_mb: rss_idle as f64 / MB,
        rss_warm_mb: rss_warm as f64 / MB,
        rss_peak_mb: rss_peak as f64 / MB,
        rss_after_mb: rss_after as f64 / MB,
        rss_growth: (rss_after as f64 - rss_warm as f64) / (rss_warm as f64).max(1.0),
        open_files_idle: files_idle,
        open_files_peak: files_peak,
        open_files_after: files_after,
        open_files_back_after_s: back_after,
        open_files_after_next_request: files_next,
        quiet_s: quiet.as_secs_f64(),
        sockets_after_quiet,
        criteria: Vec::new(),
    });
    soak.criteria = criteria(&soak);
    Ok(soak)
}

/// One line about the soak.
pub fn summary(soak: &SoakResults) -> String {
    format!(
        "{} complete, {} errors, {} requests/s; RSS {:.1} MB idle, {:.1} MB after {} requests, {:.1} MB after the run ({:+.1}%); descriptors {} idle, {} peak, {} after {:.0} s quiet ({} client sockets, {} upstream, {} of them closed by the upstream), {} after one more request; criteria: {}",
        soak.complete,
        soak.errors,
        fmt_rps(soak.requests_per_second),
        soak.rss_idle_mb,
        soak.rss_warm_mb,
        soak.warm_requests,
        soak.rss_after_mb,
        soak.rss_growth * 100.0,
        soak.open_files_idle,
        soak.open_files_peak,
        soak.open_files_after,
        soak.quiet_s,
        soak.sockets_after_quiet.clients,
        soak.sockets_after_quiet.upstream,
        soak.sockets_after_quiet.upstream_closed_by_peer,
        soak.open_files_after_next_request,
        super::verdict(&soak.criteria).replace("**", "")
    )
}

/// The table of docs/09-faults.md.
pub fn markdown_table(soak: &SoakResults) -> String {
    let back = soak.open_files_back_after_s.map_or_else(
        || {
            format!(
                "not within {:.0} s without traffic ({}); {} after one more request",
                soak.quiet_s, soak.open_files_after, soak.open_files_after_next_request
            )
        },
        |s| format!("{s:.1} s after the run"),
    );
    format!(
        "| topology | load | complete | errors | requests/s | p99 ms | RSS idle MB | RSS after {} requests MB | RSS peak MB | RSS after the run MB | growth | descriptors idle / peak | back to idle |\n\
         |---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|---|\n\
         | {} | -n {} -c {} delay={} | {} | {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:+.1}% | {} / {} | {back} |\n\n\
         Its criteria ({}):\n\n{}",
        soak.warm_requests,
        soak.topology,
        soak.requests,
        soak.concurrency,
        soak.delay_s,
        soak.complete,
        soak.errors,
        fmt_rps(soak.requests_per_second),
        fmt_ms(soak.p99_ms),
        soak.rss_idle_mb,
        soak.rss_warm_mb,
        soak.rss_peak_mb,
        soak.rss_after_mb,
        soak.rss_growth * 100.0,
        soak.open_files_idle,
        soak.open_files_peak,
        super::verdict(&soak.criteria),
        super::criteria_table([("soak".to_owned(), soak.criteria.as_slice())]),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// make soak's run of 2026-11-29, with what it did not record.
    fn soak() -> Soak {
        Soak {
            scenario: "async".into(),
            topology: "app_async 1 worker".into(),
            requests: 1_000_000,
            concurrency: 1000,
            delay_s: 0.05,
            complete: 1_000_000,
            errors: 0,
            requests_per_second: 5659.4,
            p99_ms: 403.2,
            max_ms: 695.3,
            warm_requests: 100_000,
            rss_idle_mb: 5.8,
            rss_warm_mb: 39.2,
            rss_peak_mb: 50.7,
            rss_after_mb: 22.7,
            rss_growth: -0.42,
            open_files_idle: 20,
            open_files_peak: 2020,
            open_files_after: 1019,
            open_files_back_after_s: None,
            open_files_after_next_request: 20,
            quiet_s: 10.0,
            sockets_after_quiet: Sockets {
                clients: 0,
                upstream: 1000,
                upstream_closed_by_peer: 1000,
            },
            criteria: Vec::new(),
        }
    }

    fn failed(soak: &Soak) -> Vec<String> {
        crate::faults::unmet(&criteria(soak))
    }

    #[test]
    fn the_soak_passes_only_within_its_criteria() {
        assert!(failed(&soak()).is_empty());
        let grown = Soak {
            rss_after_mb: 43.2,
            ..soak()
        };
        assert_eq!(failed(&grown), ["memory does not grow"]);
        let leaky = Soak {
            open_files_after_next_request: 21,
            ..soak()
        };
        assert_eq!(failed(&leaky), ["descriptors back to idle"]);
        let lingering = Soak {
            sockets_after_quiet: Sockets {
                clients: 3,
                ..soak().sockets_after_quiet
            },
            ..soak()
        };
        assert_eq!(failed(&lingering), ["client connections closed"]);
        let short = Soak {
            complete: 999_999,
            errors: 1,
            ..soak()
        };
        assert_eq!(failed(&short), ["no request fails"]);
    }

    #[test]
    fn sockets_are_told_apart_by_port_and_state() {
        // app on :3000 (0BB8), upstream on :4000 (0FA0); inodes 1-5 are the app's.
        let tables = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:0BB8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0
   1: 0100007F:0BB8 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0 20 4 30 10 -1
   2: 0100007F:9C41 0100007F:0FA0 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0 20 4 30 10 -1
   3: 0100007F:9C42 0100007F:0FA0 08 00000000:00000000 00:00000000 00000000     0        0 4 1 0 20 4 30 10 -1
   4: 0100007F:9C43 0100007F:0FA0 08 00000000:00000000 00:00000000 00000000     0        0 99 1 0 20 4 30 10 -1
   5: 0100007F:9C44 0100007F:0FA0 06 00000000:00000000 03:00000000 00000000     0        0 0 3 0 0 0 0 0 0
";
        let inodes: HashSet<u64> = (1..=5).collect();
        assert_eq!(
            classify_sockets(tables, &inodes, 3000),
            Sockets {
                clients: 1,
                upstream: 2,
                upstream_closed_by_peer: 1,
            }
        );
    }
}
