//! Python beside Rust in the same run (`make bench-python`).
//!
//! The article's figures were measured in 2020 on another machine; only figures from
//! one run compare. Each pair of [`PAIRS`] runs a Rust row of [`crate::scenarios`] and,
//! right after it, the article's Python server for the same topology, with the same
//! load, the same upstream (the Rust slow_api), nginx or PostgreSQL where the row has
//! them, and the same measurements: the stack ([`kit::stack::start_with`]) starts the
//! Python server in the Rust app's place, and the runner's load and measurement
//! ([`crate::runner`]) do the rest. The Python servers run from the pinned venv of
//! [`kit::python`] with the article's own command lines ([`PyServer::argv`]) and
//! the small Flask apps in `python/`.
//!
//! ```
//! use lab::compare::{by_id, PAIRS};
//!
//! let pair = by_id("sync-workers-gunicorn").unwrap();
//! assert_eq!(pair.rust, "sync-workers");
//! assert!(pair.python.command_line().starts_with("gunicorn --workers 4 --threads 50"));
//! assert!(PAIRS.iter().any(|pair| pair.load == Some(lab::scenarios::GIANT)));
//! ```

pub mod render;

use std::process::Command;

use serde::{Deserialize, Serialize};

use crate::experiment::Experiment;
use crate::results::{self, Row};
use crate::runner::{self, Options, Ui};
use crate::scenarios::{self, Article, Bound, Load, Scenario, GIANT, HUGE, SLOW_API};
use crate::target::Target;
use kit::python::{self, Venv};
use kit::stack::{self, AppCommand, AppPorts};

/// A Python server, as the article's Dockerfiles start it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "server")]
pub enum PyServer {
    /// `flask run --without-threads` / `--with-threads`.
    FlaskDev { threads: bool },
    /// `uwsgi --master --workers W --threads T --protocol http`.
    Uwsgi { workers: u32, threads: u32 },
    /// `gunicorn --workers W --threads T`.
    Gunicorn { workers: u32, threads: u32 },
    /// gevent's WSGIServer, with or without `monkey.patch_all()`.
    Pywsgi { patched: bool },
    /// `uwsgi --master --single-interpreter --workers W --gevent CORES --protocol P
    /// --module M:app`.
    UwsgiGevent {
        workers: u32,
        cores: u32,
        uwsgi_protocol: bool,
        module: &'static str,
    },
    /// `gunicorn --worker-class gevent --workers W`.
    GunicornGevent { workers: u32 },
    /// The article's slow API on aiohttp.
    AiohttpSlowApi,
}

/// gunicorn's default `--worker-connections`: what one gevent worker holds at most.
const GUNICORN_WORKER_CONNECTIONS: u32 = 1000;

impl PyServer {
    /// The process name (log file, messages).
    pub fn name(self) -> &'static str {
        match self {
            PyServer::FlaskDev { .. } => "flask",
            PyServer::Uwsgi { .. } | PyServer::UwsgiGevent { .. } => "uwsgi",
            PyServer::Gunicorn { .. } | PyServer::GunicornGevent { .. } => "gunicorn",
            PyServer::Pywsgi { .. } => "pywsgi",
            PyServer::AiohttpSlowApi => "aiohttp",
        }
    }

    /// A few words for tables.
    pub fn label(self) -> String {
        match self {
            PyServer::FlaskDev { threads: false } => "flask run --without-threads".into(),
            PyServer::FlaskDev { threads: true } => "flask run --with-threads".into(),
            PyServer::Uwsgi { workers, threads } => format!("uWSGI {workers}x{threads}"),
            PyServer::Gunicorn { workers, threads } => format!("Gunicorn {workers}x{threads}"),
            PyServer::Pywsgi { patched: true } => "gevent.pywsgi".into(),
            PyServer::Pywsgi { patched: false } => "gevent.pywsgi, no monkey patching".into(),
            PyServer::UwsgiGevent {
                workers, module, ..
            } => match module {
                "pg_app" => "uWSGI+gevent, psycopg2".into(),
                "pg_patched" => "uWSGI+gevent, psycopg2 + psycogreen".into(),
                _ => format!("uWSGI+gevent {workers} worker(s)"),
            },
            PyServer::GunicornGevent { workers } => format!("Gunicorn+gevent {workers} worker(s)"),
            PyServer::AiohttpSlowApi => "aiohttp slow API".into(),
        }
    }

    /// The command line, as the article's Dockerfiles write it (`$PORT_APP` for the
    /// port the lab picks; programs from the venv).
    pub fn command_line(self) -> String {
        self.argv("$PORT_APP").join(" ")
    }

    /// The argument vector with `port` in place (programs named, not yet resolved).
    pub fn argv(self, port: &str) -> Vec<String> {
        let socket = format!("127.0.0.1:{port}");
        let words: Vec<String> = match self {
            PyServer::FlaskDev { threads } => vec![
                "flask".into(),
                "run".into(),
                "--no-reload".into(),
                if threads {
                    "--with-threads"
                } else {
                    "--without-threads"
                }
                .into(),
                "--host".into(),
                "127.0.0.1".into(),
                "--port".into(),
                port.into(),
            ],
            PyServer::Uwsgi { workers, threads } => {
                let mut words = vec!["uwsgi".to_owned(), "--master".into()];
                words.extend(["--workers".into(), workers.to_string()]);
                words.extend(["--threads".into(), threads.to_string()]);
                words.extend(["--protocol".into(), "http".into()]);
                words.extend([
                    "--socket".into(),
                    socket,
                    "--module".into(),
                    "app:app".into(),
                ]);
                words
            }
            PyServer::Gunicorn { workers, threads } => vec![
                "gunicorn".into(),
                "--workers".into(),
                workers.to_string(),
                "--threads".into(),
                threads.to_string(),
                "--bind".into(),
                socket,
                "app:app".into(),
            ],
            PyServer::Pywsgi { patched } => {
                let mut words = Vec::new();
                if !patched {
                    words.push("PATCH=0".to_owned());
                }
                words.extend(["python".into(), "pywsgi_server.py".into()]);
                words
            }
            PyServer::UwsgiGevent {
                workers,
                cores,
                uwsgi_protocol,
                module,
            } => vec![
                "uwsgi".into(),
                "--master".into(),
                "--single-interpreter".into(),
                "--workers".into(),
                workers.to_string(),
                "--gevent".into(),
                cores.to_string(),
                "--protocol".into(),
                if uwsgi_protocol { "uwsgi" } else { "http" }.into(),
                "--socket".into(),
                socket,
                "--module".into(),
                format!("{module}:app"),
            ],
            PyServer::GunicornGevent { workers } => vec![
                "gunicorn".into(),
                "--worker-class".into(),
                "gevent".into(),
                "--workers".into(),
                workers.to_string(),
                "--bind".into(),
                socket,
                "patched:app".into(),
            ],
            PyServer::AiohttpSlowApi => vec![
                format!("PORT={port}"),
                "python".into(),
                "slow_api.py".into(),
            ],
        };
        words
    }

    /// The most requests it holds in flight (`None`: no cap below the load).
    pub fn capacity(self) -> Option<u32> {
        match self {
            PyServer::FlaskDev { threads: false } | PyServer::Pywsgi { patched: false } => Some(1),
            PyServer::Uwsgi { workers, threads } | PyServer::Gunicorn { workers, threads } => {
                Some(workers * threads)
            }
            PyServer::UwsgiGevent { workers, cores, .. } => Some(workers * cores),
            PyServer::GunicornGevent { workers } => Some(workers * GUNICORN_WORKER_CONNECTIONS),
            PyServer::FlaskDev { threads: true }
            | PyServer::Pywsgi { patched: true }
            | PyServer::AiohttpSlowApi => None,
        }
    }

    /// What asks it to stop: uWSGI's master reloads on SIGTERM and Gunicorn waits 30 s
    /// for its workers; SIGINT stops both at once.
    fn stop_signal(self) -> i32 {
        libc::SIGINT
    }

    /// The command, from the venv, in `python/`, on `ports`.
    fn command(self, venv: &Venv, ports: &AppPorts) -> Command {
        let port = ports.app.to_string();
        let mut words = self.argv(&port).into_iter().peekable();
        let mut env = Vec::new();
        while let Some((name, value)) = words.peek().and_then(|word| word.split_once('=')) {
            env.push((name.to_owned(), value.to_owned()));
            words.next();
        }
        let program = words.next().unwrap_or_default();
        let mut command = Command::new(venv.bin(&program));
        command.args(words).current_dir(python::app_dir());
        for var in common::config::SERVICE_VARIABLES {
            command.env_remove(var);
        }
        command
            .env("PATH", python_path(venv))
            .env("VIRTUAL_ENV", &venv.dir)
            .env("PYTHONUNBUFFERED", "1")
            .env("FLASK_APP", "app")
            .env("PORT_APP", &port)
            .env("PORT_API", ports.api.to_string());
        if let Some(url) = &ports.database_url {
            command.env("DATABASE_URL", url);
        }
        for (name, value) in env {
            command.env(name, value);
        }
        command
    }
}

fn python_path(venv: &Venv) -> std::ffi::OsString {
    let mut dirs = vec![venv.dir.join("bin")];
    dirs.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(dirs).unwrap_or_default()
}

/// One topology, Rust and Python.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Pair {
    /// Stable name: `--pair id`, JSON, docs.
    pub id: &'static str,
    /// The Rust row of [`crate::scenarios`] that ports this topology (or `slow-api`).
    pub rust: &'static str,
    pub python: PyServer,
    /// Another load than the Rust row's (the c=1000 and c=3000 pairs).
    pub load: Option<Load>,
}

const fn pair(id: &'static str, rust: &'static str, python: PyServer) -> Pair {
    Pair {
        id,
        rust,
        python,
        load: None,
    }
}

const fn at(load: Load, id: &'static str, base: Pair) -> Pair {
    Pair {
        id,
        load: Some(load),
        ..base
    }
}

const DEV: Pair = pair(
    "devserver-flask",
    "devserver",
    PyServer::FlaskDev { threads: false },
);
const DEV_THREADED: Pair = pair(
    "devserver-threaded-flask",
    "devserver-threaded",
    PyServer::FlaskDev { threads: true },
);
const SYNC_GUNICORN: Pair = pair(
    "sync-workers-gunicorn",
    "sync-workers",
    PyServer::Gunicorn {
        workers: 4,
        threads: 50,
    },
);
const PYWSGI: Pair = pair("async-pywsgi", "async", PyServer::Pywsgi { patched: true });
const UWSGI_GEVENT_2: Pair = pair(
    "async-workers-uwsgi-gevent",
    "async-workers",
    PyServer::UwsgiGevent {
        workers: 2,
        cores: 2000,
        uwsgi_protocol: false,
        module: "patched",
    },
);
/// The article's async-gevent-gunicorn.yml runs one worker (WORKERS=1).
const GUNICORN_GEVENT: Pair = pair(
    "async-gunicorn-gevent",
    "async",
    PyServer::GunicornGevent { workers: 1 },
);

/// Every pair, in the order `make bench-python` runs them.
pub const PAIRS: &[Pair] = &[
    DEV,
    DEV_THREADED,
    pair(
        "sync-workers-uwsgi",
        "sync-workers",
        PyServer::Uwsgi {
            workers: 4,
            threads: 50,
        },
    ),
    SYNC_GUNICORN,
    PYWSGI,
    pair(
        "async-blocking-pywsgi",
        "async-blocking",
        PyServer::Pywsgi { patched: false },
    ),
    UWSGI_GEVENT_2,
    GUNICORN_GEVENT,
    pair(
        "nginx-sync-gunicorn",
        "nginx-sync",
        PyServer::Gunicorn {
            workers: 4,
            threads: 50,
        },
    ),
    pair(
        "nginx-async-gunicorn-gevent",
        "nginx-async",
        PyServer::GunicornGevent { workers: 1 },
    ),
    pair(
        "nginx-uwsgi-gevent",
        "nginx-uwsgi",
        PyServer::UwsgiGevent {
            workers: 1,
            cores: 2000,
            uwsgi_protocol: true,
            module: "patched",
        },
    ),
    pair(
        "pg-blocking-psycopg2",
        "pg-blocking",
        PyServer::UwsgiGevent {
            workers: 1,
            cores: 2000,
            uwsgi_protocol: false,
            module: "pg_app",
        },
    ),
    pair(
        "pg-async-psycogreen",
        "pg-async",
        PyServer::UwsgiGevent {
            workers: 1,
            cores: 2000,
            uwsgi_protocol: false,
            module: "pg_patched",
        },
    ),
    pair("slow-api-aiohttp", "slow-api", PyServer::AiohttpSlowApi),
    at(HUGE, "sync-workers-gunicorn-c1000", SYNC_GUNICORN),
    at(HUGE, "devserver-threaded-flask-c1000", DEV_THREADED),
    at(HUGE, "async-pywsgi-c1000", PYWSGI),
    at(HUGE, "async-workers-uwsgi-gevent-c1000", UWSGI_GEVENT_2),
    at(HUGE, "async-gunicorn-gevent-c1000", GUNICORN_GEVENT),
    at(GIANT, "async-pywsgi-c3000", PYWSGI),
    at(GIANT, "async-workers-uwsgi-gevent-c3000", UWSGI_GEVENT_2),
    at(GIANT, "async-gunicorn-gevent-c3000", GUNICORN_GEVENT),
];

/// The pair called `id`.
pub fn by_id(id: &str) -> Option<&'static Pair> {
    PAIRS.iter().find(|pair| pair.id == id)
}

/// Every id, comma-separated (for error messages).
pub fn ids() -> String {
    PAIRS.iter().map(|p| p.id).collect::<Vec<_>>().join(", ")
}

impl Pair {
    /// The Rust side's scenario, with the pair's load (before shortening).
    pub fn rust_scenario(&self) -> Scenario {
        let base = if self.rust == SLOW_API.id {
            SLOW_API
        } else {
            *scenarios::by_id(self.rust).unwrap_or(&SLOW_API)
        };
        match self.load {
            Some(load) if load != base.load => Scenario {
                load,
                article: Article {
                    rps: None,
                    text: "none (beyond the article)",
                },
                extra: true,
                ..base
            },
            _ => base,
        }
    }

    /// The Python side's scenario: the same stack and load, the Python server's own
    /// cap where it has one (a serial stage stays as the Rust row has it).
    pub fn python_scenario(&self, rust: &Scenario) -> Scenario {
        let bound = match rust.bound {
            Bound::Stage { .. } => rust.bound,
            Bound::InFlight { .. } => Bound::InFlight {
                capacity: self.python.capacity(),
            },
        };
        Scenario { bound, ..*rust }
    }

    /// Whether this pair's load is the article's own.
    pub fn is_extra(&self) -> bool {
        self.rust_scenario().extra
    }
}

/// The Python environment a run used, or why it had none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PythonInfo {
    /// The interpreter the venv was made from.
    pub interpreter: Option<String>,
    /// `Python 3.11.2`.
    pub version: Option<String>,
    pub lock_file: String,
    /// `name==version`, every package of the lock file.
    pub packages: Vec<String>,
    /// Why the Python rows were skipped, or null.
    pub skipped: Option<String>,
}

/// Rust over Python and Python over Rust, where both sides ran and the divisor is not 0.
#[derive(Debug, Default, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Ratios {
    /// 2xx responses per second, Rust / Python.
    pub throughput_rust_over_python: Option<f64>,
    /// CPU ms per request, Python / Rust (null when Rust's tree spent under one tick).
    pub cpu_python_over_rust: Option<f64>,
    /// p99 latency, Python / Rust.
    pub p99_python_over_rust: Option<f64>,
    /// Peak RSS, Python / Rust.
    pub rss_python_over_rust: Option<f64>,
}

/// 2xx responses per second: what a row served right.
pub fn served_rps(row: &Row) -> f64 {
    row.efficiency * row.ceiling_rps
}

impl Ratios {
    pub fn of(rust: &Row, python: &Row) -> Ratios {
        if !rust.ran() || !python.ran() {
            return Ratios::default();
        }
        let ratio = |top: f64, bottom: f64| (bottom > 0.0 && top > 0.0).then(|| top / bottom);
        Ratios {
            throughput_rust_over_python: ratio(served_rps(rust), served_rps(python)),
            cpu_python_over_rust: ratio(python.cpu_ms_per_request, rust.cpu_ms_per_request),
            p99_python_over_rust: ratio(python.latency_ms.p99, rust.latency_ms.p99),
            rss_python_over_rust: ratio(python.peak_rss_mb, rust.peak_rss_mb),
        }
    }
}

/// One pair's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairRow {
    pub id: String,
    /// The Rust row's scenario id.
    pub rust_scenario: String,
    /// The Python server in a few words.
    pub python_server: String,
    /// Its command line, as the article's Dockerfiles write it.
    pub python_command: String,
    /// True for the loads beyond the article's (c=1000, c=3000, the slow APIs).
    pub extra: bool,
    pub rust: Row,
    pub python: Row,
    pub ratios: Ratios,
}

/// The comparison's own part of `results/compare.json` (the envelope's wall time
/// excludes the builds and the venv).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Compare {
    pub python: PythonInfo,
    pub pairs: Vec<PairRow>,
}

/// The whole file `results/compare.json`.
pub type CompareResults = results::Envelope<Compare>;

/// `lab compare`: these pairs, each Rust row then its Python server, from `venv` (the
/// Python rows are skipped without one, `python` saying why).
pub struct CompareExperiment {
    pub pairs: Vec<Pair>,
    pub options: Options,
    pub venv: Option<Venv>,
    pub python: PythonInfo,
}

impl Experiment for CompareExperiment {
    type Run = Compare;
    const NAME: &'static str = "compare";
    const COMMAND: &'static str = "make bench-python";

    fn run(&self) -> anyhow::Result<CompareResults> {
        run_all(
            &self.pairs,
            &self.options,
            self.venv.as_ref(),
            self.python.clone(),
            &Ui::default(),
        )
    }

    fn table(results: &CompareResults) -> String {
        render::markdown_table(results)
    }

    /// `NAME.md` and the chart `NAME.svg`.
    fn pages(results: &CompareResults, name: &str) -> Vec<(String, String)> {
        let chart_file = format!("{name}.svg");
        vec![
            (
                format!("{name}.md"),
                render::markdown_document(results, &chart_file),
            ),
            (chart_file, render::chart(results)),
        ]
    }

    /// The pairs whose Rust or Python side could not run.
    fn unmet(results: &CompareResults) -> Vec<String> {
        results
            .pairs
            .iter()
            .flat_map(|pair| {
                [("Rust", &pair.rust), ("Python", &pair.python)]
                    .into_iter()
                    .filter_map(move |(side, row)| match &row.outcome {
                        results::Outcome::Failed(reason) => {
                            Some(format!("{} ({side}) could not run: {reason}", pair.id))
                        }
                        _ => None,
                    })
            })
            .collect()
    }
}

/// Prepares the venv (outside any bench lock: pip compiles) and says what it found.
pub fn prepare_python(ui: &Ui) -> (Option<Venv>, PythonInfo) {
    let lock_file = python::LOCK_FILE.to_owned();
    match python::prepare(&|line| ui.line(line)) {
        Ok(venv) => {
            let info = PythonInfo {
                interpreter: Some(venv.interpreter.display().to_string()),
                version: Some(venv.version.clone()),
                lock_file,
                packages: venv.packages.clone(),
                skipped: None,
            };
            (Some(venv), info)
        }
        Err(reason) => (
            None,
            PythonInfo {
                interpreter: python::interpreter()
                    .ok()
                    .map(|path| path.display().to_string()),
                version: None,
                lock_file,
                packages: Vec::new(),
                skipped: Some(format!("{reason:#}")),
            },
        ),
    }
}

/// Runs `pairs`: each Rust row (once, however many pairs share it), then the Python
/// server in its place.
pub fn run_all(
    pairs: &[Pair],
    options: &Options,
    venv: Option<&Venv>,
    python: PythonInfo,
    ui: &Ui,
) -> anyhow::Result<CompareResults> {
    let started = results::Started::now();
    let runtime = crate::load::runtime()?;
    let shaped: Vec<(Scenario, Scenario)> = pairs
        .iter()
        .map(|pair| {
            let rust = options.shape(&pair.rust_scenario());
            let python = pair.python_scenario(&rust);
            (rust, python)
        })
        .collect();
    // Expected seconds per side; a Rust row shared with an earlier pair costs nothing.
    let mut expected = Vec::with_capacity(pairs.len());
    for (index, (rust, python)) in shaped.iter().enumerate() {
        let shared = shaped[..index]
            .iter()
            .any(|(earlier, _)| earlier.id == rust.id && earlier.load == rust.load);
        let rust_s = if shared {
            0.0
        } else {
            runner::expected_s(rust)
        };
        let python_s = if venv.is_some() {
            // Python's start-up (imports) and its CPU: a rough allowance.
            runner::expected_s(python) * 1.5 + 1.0
        } else {
            0.0
        };
        expected.push((rust_s, python_s));
    }
    let total = pairs.len();
    ui.line(&format!(
        "compare: {total} pair(s), about {} (ideal times, start-ups, Python's allowance)",
        runner::fmt_duration(expected.iter().map(|(r, p)| r + p).sum())
    ));
    if let Some(reason) = &python.skipped {
        ui.line(&format!("compare: the Python rows are skipped: {reason}"));
    }

    let mut rows: Vec<PairRow> = Vec::with_capacity(total);
    for (index, (pair, (rust, py))) in pairs.iter().zip(&shaped).enumerate() {
        let after = |side: usize| -> f64 {
            expected[index + 1..]
                .iter()
                .map(|(r, p)| r + p)
                .sum::<f64>()
                + if side == 0 { expected[index].1 } else { 0.0 }
        };
        let label = format!("[{:>2}/{total}] {}", index + 1, pair.id);
        // The Rust row: measured once per scenario and load.
        let earlier = rows.iter().find(|row| {
            row.rust_scenario == rust.id
                && row.rust.load.requests == rust.load.requests
                && row.rust.load.concurrency == rust.load.concurrency
        });
        let rust_row = match earlier {
            Some(row) => {
                ui.line(&format!("{label}: Rust {} as measured above", rust.id));
                row.rust.clone()
            }
            None => {
                let rust_label = format!("{label} Rust");
                ui.line(&format!(
                    "{rust_label}: {}, ab {} ...",
                    rust.topology,
                    rust.load.ab_flags()
                ));
                let started = stack::start(&rust.topology(), &options.bin_dir).map(Target::from);
                let line = runner::Line {
                    label: &rust_label,
                    expected_s: expected[index].0,
                    after_s: after(0),
                };
                let row = runner::load_and_measure(&runtime, rust, started, None, ui, line);
                ui.line(&format!("{rust_label}: {}", runner::summary(&row)));
                row
            }
        };
        let py_label = format!("{label} Python");
        let mut py_row = match venv {
            Some(venv) => {
                ui.line(&format!(
                    "{py_label}: {}, ab {} ...",
                    pair.python.command_line(),
                    py.load.ab_flags()
                ));
                let command = |ports: &AppPorts| pair.python.command(venv, ports);
                let app = AppCommand {
                    name: pair.python.name(),
                    command: &command,
                    stop_signal: pair.python.stop_signal(),
                };
                let started = stack::start_with(&py.topology(), &options.bin_dir, Some(&app))
                    .map(Target::from);
                let line = runner::Line {
                    label: &py_label,
                    expected_s: expected[index].1,
                    after_s: after(1),
                };
                runner::load_and_measure(&runtime, py, started, None, ui, line)
            }
            None => {
                let mut row = Row::new(py);
                if let Some(reason) = &python.skipped {
                    row.outcome = crate::results::Outcome::Skipped(reason.clone());
                }
                row
            }
        };
        py_row.topology = pair.python.label();
        ui.line(&format!(
            "{py_label}: {}   (about {} left)",
            runner::summary(&py_row),
            runner::fmt_duration(after(1))
        ));
        rows.push(PairRow {
            id: pair.id.to_owned(),
            rust_scenario: rust.id.to_owned(),
            python_server: pair.python.label(),
            python_command: pair.python.command_line(),
            extra: rust.extra,
            ratios: Ratios::of(&rust_row, &py_row),
            rust: rust_row,
            python: py_row,
        });
    }
    Ok(started.finish(Compare {
        python,
        pairs: rows,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pair_names_a_rust_row_and_ids_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for pair in PAIRS {
            assert!(seen.insert(pair.id), "duplicate {}", pair.id);
            assert!(
                pair.rust == SLOW_API.id || scenarios::by_id(pair.rust).is_some(),
                "{}: no scenario {}",
                pair.id,
                pair.rust
            );
        }
    }

    #[test]
    fn command_lines_are_the_articles() {
        let line = |id: &str| by_id(id).expect("pair").python.command_line();
        assert_eq!(
            line("devserver-flask"),
            "flask run --no-reload --without-threads --host 127.0.0.1 --port $PORT_APP"
        );
        assert_eq!(
            line("sync-workers-uwsgi"),
            "uwsgi --master --workers 4 --threads 50 --protocol http --socket 127.0.0.1:$PORT_APP --module app:app"
        );
        assert_eq!(
            line("nginx-uwsgi-gevent"),
            "uwsgi --master --single-interpreter --workers 1 --gevent 2000 --protocol uwsgi --socket 127.0.0.1:$PORT_APP --module patched:app"
        );
        assert_eq!(
            line("async-gunicorn-gevent"),
            "gunicorn --worker-class gevent --workers 1 --bind 127.0.0.1:$PORT_APP patched:app"
        );
    }

    #[test]
    fn ceilings_follow_each_servers_cap() {
        let pair = by_id("async-gunicorn-gevent-c3000").expect("pair");
        let rust = pair.rust_scenario();
        assert_eq!(rust.ceiling_rps(), 3000.0);
        assert_eq!(pair.python_scenario(&rust).ceiling_rps(), 1000.0);
        let pg = by_id("pg-blocking-psycopg2").expect("pair");
        let rust = pg.rust_scenario();
        assert_eq!(pg.python_scenario(&rust).ceiling_rps(), rust.ceiling_rps());
        assert!(!by_id("async-pywsgi").expect("pair").is_extra());
        assert!(by_id("async-pywsgi-c1000").expect("pair").is_extra());
    }
}
