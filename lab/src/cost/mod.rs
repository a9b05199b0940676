//! What one proxied request costs: app_async against nginx doing the same job
//! ([`kit::nginx::PROXY`]: nginx straight to the slow API with a keep-alive pool).
//!
//! Two yardsticks, two experiments on the one pipeline (`make callgrind`,
//! `make proxy-bench`):
//!
//! - [`callgrind`]: instructions per proxied request. Each proxy runs under
//!   `valgrind --tool=callgrind` (one worker; nginx with `master_process off`) in front
//!   of a native slow API, once without load and once per load of [`CALLGRIND_LOADS`];
//!   (Ir with the load - Ir without) / requests is what a request costs, start-up and
//!   shutdown excluded. Instructions do not change with the machine's noise, so one run
//!   compares builds. Written to `results/callgrind.{md,json}`, one run per `--label`.
//! - [`proxy_bench`]: throughput and CPU per request, natively, side by side in one run:
//!   the slow API alone (direct), nginx-proxy and app_async, one worker each, at the
//!   loads of [`BENCH_LOADS`], interleaved round by round. Written to
//!   `results/proxy-bench.{md,json}`.
//!
//! This module holds what both share: the loads, the servers and how each is started.
//! Every process is started through [`kit::procs`] (own process group, stopped on
//! drop and on Ctrl-C), binds 127.0.0.1 only, and each load is bounded (`-n`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::load::Plan;
use crate::scenarios;
use kit::procs::{find_executable, Service};
use kit::{nginx, stack};

// Each yardstick imports what it shares from here; this module imports neither.
pub mod callgrind;
pub mod first_round;
pub mod loadgen_bench;
pub mod proxy_bench;

/// One of the scenario table's loads ([`scenarios::Load`]: `-n`, `-c`, `-k`,
/// `?delay=`) under the name the cost tables give it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NamedLoad {
    pub name: &'static str,
    pub load: scenarios::Load,
}

impl NamedLoad {
    /// The loadgen command line it stands for (`-r`: socket errors are counted).
    pub fn flags(&self) -> String {
        self.load.ab_flags()
    }

    /// The load against the proxy on `port`.
    fn plan(&self, port: u16) -> Plan {
        let url = format!(
            "http://127.0.0.1:{port}/?delay={}",
            self.load.delay.as_secs_f64()
        );
        Plan::of(&self.load, url)
    }
}

/// The loads under callgrind: a new connection per request (as ab), and keep-alive.
/// Small and without delay: under valgrind a proxy runs some 50 times slower.
pub const CALLGRIND_LOADS: [NamedLoad; 2] = [
    NamedLoad {
        name: "new connection per request",
        load: scenarios::Load {
            requests: 2000,
            concurrency: 50,
            delay: Duration::ZERO,
            keep_alive: false,
        },
    },
    NamedLoad {
        name: "keep-alive",
        load: scenarios::Load {
            requests: 2000,
            concurrency: 50,
            delay: Duration::ZERO,
            keep_alive: true,
        },
    },
];

/// The loads of bench-all's reference rows (`nginx-proxy` and `nginx-proxy-keepalive`):
/// all clients at once, a one-second upstream.
pub const BENCH_LOADS: [NamedLoad; 2] = [
    NamedLoad {
        name: "new connection per request",
        load: scenarios::HUGE,
    },
    NamedLoad {
        name: "keep-alive",
        load: scenarios::KEEPALIVE,
    },
];

/// The two proxies, and the slow API alone (bench only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    Direct,
    NginxProxy,
    AppAsync,
}

impl Server {
    pub fn id(self) -> &'static str {
        match self {
            Server::Direct => "direct",
            Server::NginxProxy => "nginx-proxy",
            Server::AppAsync => "app_async",
        }
    }
}

// --- results -------------------------------------------------------------------------

pub(crate) fn bin(bin_dir: &Path, name: &str) -> anyhow::Result<PathBuf> {
    let path = bin_dir.join(name);
    anyhow::ensure!(
        path.exists(),
        "{} not built: run `cargo build --release -p {name}`",
        path.display()
    );
    Ok(path)
}

/// How a proxy's command is wrapped: natively, or under callgrind writing `out`.
pub(crate) enum Wrap<'a> {
    Native,
    Callgrind { out: &'a Path },
}

pub(crate) fn command(program: &Path, wrap: &Wrap) -> anyhow::Result<Command> {
    Ok(match wrap {
        Wrap::Native => stack::service_command(program),
        Wrap::Callgrind { out } => {
            let valgrind = find_executable("valgrind", "VALGRIND", &["/usr/bin"])
                .ok_or_else(|| anyhow::anyhow!(VALGRIND_HINT))?;
            let mut command = stack::service_command(valgrind);
            command
                .arg("--tool=callgrind")
                .arg(format!("--callgrind-out-file={}", out.display()))
                .arg(program);
            command
        }
    })
}

/// What to install when valgrind is missing.
pub const VALGRIND_HINT: &str =
    "valgrind not found: install it with `apt-get install -y valgrind` (or set VALGRIND=/path/to/valgrind)";

/// Starts a proxy on a free port in front of the slow API on `api_port`, and waits
/// until it accepts. One worker each.
pub(crate) fn start_proxy(
    target: Server,
    bin_dir: &Path,
    dir: &Path,
    api_port: u16,
    wrap: &Wrap,
) -> anyhow::Result<(Service, u16)> {
    let port = kit::ports::free_port()?;
    let log = dir.join(format!("{}.log", target.id()));
    let mut service = match target {
        Server::Direct => anyhow::bail!("direct is not a proxy"),
        Server::AppAsync => {
            let mut command = command(&bin(bin_dir, "app_async")?, wrap)?;
            command.env("WORKERS", "1").env("SHUTDOWN_TIMEOUT", "2");
            command.args([
                "--host",
                "127.0.0.1",
                "--port-app",
                &port.to_string(),
                "--port-api",
                &api_port.to_string(),
            ]);
            Service::spawn("app_async", command, &log, libc::SIGTERM)?
        }
        Server::NginxProxy => {
            let program = nginx::find().ok_or_else(|| anyhow::anyhow!(nginx::PACKAGE_HINT))?;
            let mut command = command(&program, wrap)?;
            // One worker, as app_async runs one event loop.
            command.args(nginx::prepare(
                nginx::PROXY,
                nginx::Workers::Exactly(1),
                dir,
                port,
                api_port,
            )?);
            // Under callgrind the worker is the process itself: no master to fork it.
            let globals = match wrap {
                Wrap::Native => "daemon off;",
                Wrap::Callgrind { .. } => "daemon off; master_process off;",
            };
            command.args(["-g", globals]);
            Service::spawn("nginx", command, &log, libc::SIGQUIT)?
        }
    };
    let within = match wrap {
        Wrap::Native => Duration::from_secs(30),
        Wrap::Callgrind { .. } => Duration::from_secs(120),
    };
    stack::wait_accepting(&mut service, port, within)?;
    Ok((service, port))
}

pub(crate) fn run_load(
    runtime: &tokio::runtime::Runtime,
    load: &NamedLoad,
    port: u16,
) -> anyhow::Result<loadgen::Report> {
    let report = load.plan(port).run(runtime)?;
    if let Some(reason) = &report.aborted {
        anyhow::bail!("the load was aborted: {reason}");
    }
    Ok(report)
}

/// `git describe --always --dirty`, or `unknown`.
pub fn commit() -> String {
    Command::new("git")
        .args(["describe", "--always", "--dirty"])
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".to_owned())
}

pub(crate) fn version(program: &str, flag: &str) -> Option<String> {
    let output = Command::new(program).arg(flag).output().ok()?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    text.lines().next().map(|line| line.trim().to_owned())
}

// --- callgrind -------------------------------------------------------------------------

/// `123456.7` as `123,457`.
pub fn fmt_thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// The middle value (the mean of the middle two); 0 for none.
pub(crate) fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands() {
        assert_eq!(fmt_thousands(0.0), "0");
        assert_eq!(fmt_thousands(999.4), "999");
        assert_eq!(fmt_thousands(1000.0), "1,000");
        assert_eq!(fmt_thousands(1_234_567.8), "1,234,568");
    }

    #[test]
    fn flags_read_as_loadgen() {
        assert_eq!(CALLGRIND_LOADS[1].flags(), "-k -r -n 2000 -c 50 ?delay=0");
        assert_eq!(BENCH_LOADS[0].flags(), "-r -n 5000 -c 1000 ?delay=1");
    }

    #[test]
    fn medians_of_odd_and_even_rounds() {
        assert_eq!(median(&[]), 0.0);
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
    }
}
