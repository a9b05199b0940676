//! The services' integration-test harness, on the runner's own machinery: a service's
//! real binary on a free loopback port ([`Service`], supervised by [`crate::procs`]),
//! nginx with the compose file's configuration ([`nginx`]), the throwaway PostgreSQL
//! ([`postgres`]), and plain HTTP clients ([`get`], [`raw_exchange`]).
//!
//! Everything here panics with a one-line reason instead of returning errors: it is
//! for tests, where a panic is the failure report.

pub mod in_process;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

use crate::procs::{self, ScratchDir};
use crate::{ports, stack};

pub use crate::stack::{get_status as raw_get_status, raw_exchange};

/// How long a service may take to become ready.
const READY_WITHIN: Duration = Duration::from_secs(30);

/// slow_api in this process on a free loopback port, with its defaults, answering
/// `/healthz`: the upstream of the apps' integration tests.
pub fn slow_api() -> in_process::InProcess {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap_or_else(|err| panic!("slow_api: cannot bind 127.0.0.1:0: {err}"));
    slow_api_on(listener)
}

/// As [`slow_api`], on a listener the test bound itself (the port of a slow_api it
/// stopped, to bring it back).
pub fn slow_api_on(listener: std::net::TcpListener) -> in_process::InProcess {
    let config: slow_api::Config = in_process::config_from_args(&[]);
    in_process::InProcess::start_on(listener, "slow_api", move |listener, stop| {
        actix_web::rt::System::new().block_on(slow_api::run([listener], config, stop))
    })
}

/// The workspace's slow_api binary on a free port, answering `/healthz` (where the
/// process is the point: signals, exit codes, limits).
pub fn start_slow_api() -> Service {
    Service::start(workspace_bin("slow_api"), "--port", &[])
}

/// Path of another workspace binary (e.g. `slow_api` from `app_async`'s tests), which
/// `CARGO_BIN_EXE_*` only provides for the crate's own binaries.
///
/// Test executables live in `target/<profile>/deps/`; binaries one level up. A workspace
/// test run (`make test`, `cargo nextest run --workspace`) builds them all; if one is
/// missing (a single-package run), it is built here with the same profile.
pub fn workspace_bin(name: &str) -> PathBuf {
    let test_exe = std::env::current_exe().expect("current test executable");
    let profile_dir = test_exe
        .parent()
        .and_then(Path::parent)
        .expect("test executable under target/<profile>/deps");
    let bin = profile_dir.join(name);
    if !bin.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let mut build = Command::new(cargo);
        build.args(["build", "-p", name, "--bin", name]);
        if profile_dir.file_name().is_some_and(|dir| dir == "release") {
            build.arg("--release");
        }
        let status = build.status().expect("run cargo build");
        assert!(status.success(), "cargo build -p {name} failed");
    }
    bin
}

/// The directory of the service binaries (slow_api and every app), each built on demand
/// for a single-package test run: the `--bin-dir` a runner under test needs.
pub fn services_bin_dir() -> PathBuf {
    let slow_api = workspace_bin("slow_api");
    for app in ["app_sync", "app_async", "app_pg"] {
        workspace_bin(app);
    }
    slow_api
        .parent()
        .expect("binaries live in a directory")
        .to_owned()
}

/// A free TCP port on 127.0.0.1 (asked of the kernel, then released for a service).
pub fn free_port() -> u16 {
    ports::free_port().expect("no free loopback port")
}

/// A running service binary on a free port, killed (SIGKILL, whole process group) on
/// drop. Its output goes to a log file whose tail is in every panic about it.
pub struct Service {
    process: procs::Service,
    /// Holds the log; removed on drop, after the process.
    _dir: ScratchDir,
    pub port: u16,
}

impl Service {
    /// Starts `bin` with `args` plus `port_flag <free port>`, and waits until `/healthz`
    /// answers 200 (or panics after 30 s, or if the process exits first).
    pub fn start(bin: impl AsRef<Path>, port_flag: &str, args: &[&str]) -> Service {
        Self::start_with_env(bin, port_flag, args, &[])
    }

    /// As [`Service::start`], with extra environment variables.
    pub fn start_with_env(
        bin: impl AsRef<Path>,
        port_flag: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Service {
        let mut service = Self::spawn_with_env(bin, port_flag, args, env);
        let port = service.port;
        service.wait_ready(READY_WITHIN, || stack::healthz_status(port) == Some(200));
        service
    }

    /// As [`Service::start_with_env`], without waiting for `/healthz`: for a service
    /// that does not speak HTTP itself (`PROTOCOL=uwsgi`, reached through nginx). Wait
    /// for it with [`Service::wait_ready`].
    pub fn spawn_with_env(
        bin: impl AsRef<Path>,
        port_flag: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Service {
        let bin = bin.as_ref();
        let name = bin
            .file_name()
            .map_or_else(|| "service".into(), |name| name.to_string_lossy());
        let dir = ScratchDir::new(&name).expect("scratch directory");
        let port = free_port();
        let mut command = stack::service_command(bin);
        command
            .envs(env.iter().copied())
            .args(args)
            .arg(port_flag)
            .arg(port.to_string());
        let log = dir.path().join("service.log");
        let process = procs::Service::spawn(&name, command, &log, libc::SIGKILL)
            .unwrap_or_else(|err| panic!("cannot start {}: {err:#}", bin.display()));
        Service {
            process,
            _dir: dir,
            port,
        }
    }

    /// Waits until `ready()` is true (panics after `limit`, or if the process exits).
    pub fn wait_ready(&mut self, limit: Duration, mut ready: impl FnMut() -> bool) {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.process.exited() {
                panic!(
                    "{} on port {} exited early ({status}): {}",
                    self.process.name,
                    self.port,
                    self.process.log_tail(5)
                );
            }
            if ready() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{} on port {} not ready after {limit:?}: {}",
                self.process.name,
                self.port,
                self.process.log_tail(5)
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// `http://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The process id, for signals and /proc.
    pub fn pid(&self) -> u32 {
        self.process.pid().unsigned_abs()
    }

    /// Sends `signal` (e.g. `libc::SIGTERM`) to the process itself (not its group).
    pub fn signal(&self, signal: i32) {
        let pid = self.process.pid();
        // SAFETY: kill(2) on our own child's pid.
        let rc = unsafe { libc::kill(pid, signal) };
        assert_eq!(rc, 0, "kill({pid}, {signal}) failed");
    }

    /// Waits up to `limit` for the process to exit.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = self.process.exited() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// The last lines the service logged.
    pub fn log_tail(&self, lines: usize) -> String {
        self.process.log_tail(lines)
    }
}

/// nginx on a free port in front of the app on `app_port`, with `site` (one of
/// [`crate::nginx`]'s configurations, as the compose files mount them); stopped on drop.
pub struct Nginx {
    process: procs::Service,
    dir: ScratchDir,
    pub port: u16,
}

impl Nginx {
    /// Starts nginx and waits until `GET /healthz` through it reaches the app (200).
    pub fn start(site: &str, app_port: u16) -> Nginx {
        let dir = ScratchDir::new("nginx").expect("scratch directory");
        let port = free_port();
        let process = crate::nginx::start(
            site,
            crate::nginx::Workers::Auto,
            dir.path(),
            port,
            app_port,
        )
        .unwrap_or_else(|err| panic!("cannot start nginx: {err:#}"));
        let mut nginx = Nginx { process, dir, port };
        let deadline = Instant::now() + READY_WITHIN;
        while stack::healthz_status(port) != Some(200) {
            if let Some(status) = nginx.process.exited() {
                panic!("nginx exited early ({status}): {}", nginx.error_log());
            }
            assert!(
                Instant::now() < deadline,
                "nginx not ready after {READY_WITHIN:?}: {}",
                nginx.error_log()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
        nginx
    }

    /// `http://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn error_log(&self) -> String {
        procs::log_tail(&self.dir.path().join("error.log"), 3)
    }
}

/// A throwaway PostgreSQL ([`crate::postgres`]) with `max_connections`.
pub fn postgres(max_connections: u32) -> crate::postgres::Postgres {
    let settings = crate::postgres::Settings {
        port: free_port(),
        max_connections,
    };
    crate::postgres::Postgres::start(settings)
        .unwrap_or_else(|err| panic!("cannot start PostgreSQL: {err:#}"))
}

/// `GET url` as a Prometheus page, parsed by the services' own reader
/// (`common::metrics::parse`); panics unless it answers 200 in the text format.
pub fn scrape_metrics(url: &str) -> common::metrics::parse::Exposition {
    let reply = get(url);
    assert_eq!(reply.status, 200, "{url}: {}", reply.body);
    common::metrics::parse::parse(&reply.body)
        .unwrap_or_else(|err| panic!("{url}: {err}\n{}", reply.body))
}

/// Asserts what every service's `/metrics` counts alike: `ok` requests answered 200,
/// `bad` answered 400, and each of them timed once in the latency histogram.
#[track_caller]
pub fn assert_requests_counted(page: &common::metrics::parse::Exposition, ok: u32, bad: u32) {
    let total = |code| page.get("http_requests_total", &[("code", code)]);
    assert_eq!(total("200"), Some(f64::from(ok)), "requests answered 200");
    assert_eq!(total("400"), Some(f64::from(bad)), "requests answered 400");
    assert_eq!(
        page.get("http_request_duration_seconds_count", &[]),
        Some(f64::from(ok + bad)),
        "requests timed"
    );
}

/// Scrapes `url` until `ready` holds (panics after 15 s with the last page).
pub fn scrape_metrics_until(
    url: &str,
    ready: impl Fn(&common::metrics::parse::Exposition) -> bool,
) -> common::metrics::parse::Exposition {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let page = scrape_metrics(url);
        if ready(&page) {
            return page;
        }
        assert!(Instant::now() < deadline, "{url} never got there: {page:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A response as a test sees it.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: String,
}

/// `GET url` with a fresh connection, any status accepted, 120 s timeout.
pub fn get(url: &str) -> Reply {
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .max_idle_connections(0)
        .build();
    let agent = ureq::Agent::new_with_config(config);
    let mut response = agent
        .get(url)
        .call()
        .unwrap_or_else(|err| panic!("GET {url}: {err}"));
    Reply {
        status: response.status().as_u16(),
        body: response
            .body_mut()
            .read_to_string()
            .unwrap_or_else(|err| panic!("GET {url} body: {err}")),
    }
}

/// Runs `count` GETs of `url` at once, each on its own thread, and returns the replies
/// and how long the whole batch took.
pub fn get_concurrently(url: &str, count: usize) -> (Vec<Reply>, Duration) {
    let started = Instant::now();
    let threads: Vec<_> = (0..count)
        .map(|_| {
            let url = url.to_owned();
            std::thread::spawn(move || get(&url))
        })
        .collect();
    let replies = threads
        .into_iter()
        .map(|thread| thread.join().expect("request thread panicked"))
        .collect();
    (replies, started.elapsed())
}

/// How many sockets listen on 127.0.0.1:`port` (IPv4, every process's): a service's
/// accept queues (`common::server::bind_queues`).
pub fn listening_sockets(port: u16) -> usize {
    // /proc/net/tcp: local address 0100007F:PORT (hex), state 0A (LISTEN).
    let local = format!("0100007F:{port:04X}");
    std::fs::read_to_string("/proc/net/tcp")
        .expect("/proc/net/tcp")
        .lines()
        .filter(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            fields.get(1) == Some(&local.as_str()) && fields.get(3) == Some(&"0A")
        })
        .count()
}
