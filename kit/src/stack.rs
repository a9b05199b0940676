//! A [`Topology`], started on free loopback ports and stopped on drop:
//! the slow API, PostgreSQL if the app needs it, the app, nginx if it stands in front.
//! The app is the topology's Rust service, or another program in its place
//! ([`start_with`]: the Python servers of `make bench-python`).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::ports::free_port;
use crate::procs::{ScratchDir, Service};
use crate::topology::{App, Front, Topology};
use crate::{nginx, postgres};

/// How long a service may take to answer `/healthz` after it starts.
const READY_WITHIN: Duration = Duration::from_secs(30);

/// Why a stack did not start.
#[derive(Debug)]
pub enum StartError {
    /// Something is not installed; the message says what to install.
    Skipped(String),
    /// Something is installed but did not come up.
    Failed(String),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Skipped(reason) | StartError::Failed(reason) => f.write_str(reason),
        }
    }
}

/// So `?` turns it into an `anyhow::Error` with the same one-line reason.
impl std::error::Error for StartError {}

impl From<anyhow::Error> for StartError {
    fn from(err: anyhow::Error) -> Self {
        StartError::Failed(format!("{err:#}"))
    }
}

/// A running topology. Fields drop in order: front to back, then the scratch directory.
pub struct Stack {
    nginx: Option<Service>,
    /// `None` for the reference rows, where the load goes to the slow API.
    app: Option<Service>,
    slow_api: Service,
    postgres: Option<postgres::Postgres>,
    dir: ScratchDir,
    /// The port clients load (nginx's, or the app's).
    pub port: u16,
    /// The app's own port (behind nginx, where there is one).
    pub app_port: u16,
    /// Where `GET /metrics` of what serves the load answers (the app's, or the slow
    /// API's in the reference rows); `None` for a program started in the app's place.
    pub metrics_port: Option<u16>,
    /// The slow API's port, kept for [`Stack::restart_slow_api`].
    api_port: u16,
    bin_dir: PathBuf,
}

impl Stack {
    /// `http://127.0.0.1:PORT/?delay=S`, the delay in seconds (`0.05`, `1`).
    pub fn url(&self, delay: Duration) -> String {
        format!(
            "http://127.0.0.1:{}/?delay={}",
            self.port,
            delay.as_secs_f64()
        )
    }

    /// The process id of what serves the load (its process group holds its workers):
    /// the app; in the reference rows nginx (the proxy), else the slow API.
    pub fn app_pid(&self) -> i32 {
        self.app
            .as_ref()
            .or(self.nginx.as_ref())
            .unwrap_or(&self.slow_api)
            .pid()
    }

    /// The scratch directory (logs of every service).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// nginx's master process id, where nginx stands in front.
    pub fn nginx_pid(&self) -> Option<i32> {
        self.nginx.as_ref().map(Service::pid)
    }

    /// The throwaway PostgreSQL behind the app, where it has one (to stop and restart).
    pub fn postgres_mut(&mut self) -> Option<&mut postgres::Postgres> {
        self.postgres.as_mut()
    }

    /// Kills the slow API with `signal` and starts it again at once on the same port;
    /// returns when the new one answers `/healthz` (the chaos runner's upstream fault).
    pub fn restart_slow_api(&mut self, signal: i32) -> Result<(), StartError> {
        self.slow_api.kill(signal);
        let metrics_port = self.metrics_port.filter(|_| self.app.is_none());
        self.slow_api =
            spawn_slow_api(&self.bin_dir, self.dir.path(), self.api_port, metrics_port)?;
        wait_http_ok(&mut self.slow_api, self.api_port)
    }

    /// Stops everything, front to back.
    pub fn stop(mut self) {
        let grace = Duration::from_secs(5);
        if let Some(nginx) = self.nginx.as_mut() {
            nginx.stop(grace);
        }
        if let Some(app) = self.app.as_mut() {
            app.stop(grace);
        }
        self.slow_api.stop(grace);
        if let Some(postgres) = self.postgres.as_mut() {
            postgres.stop();
        }
    }
}

/// A program started in the place of the topology's Rust app: the Python servers of
/// `make bench-python`, or a slow API loaded directly. Everything else (the slow API
/// upstream, PostgreSQL, nginx, health checks, supervision) is the topology's stack.
pub struct AppCommand<'a> {
    /// A short name for messages and the log file (`gunicorn`, `uwsgi`, ...).
    pub name: &'a str,
    /// The command for the ports of this start.
    pub command: &'a dyn Fn(&AppPorts) -> Command,
    /// What asks it to stop (SIGINT for uWSGI, whose master reloads on SIGTERM).
    pub stop_signal: i32,
}

/// Where the app of one start listens and what it talks to.
pub struct AppPorts {
    pub app: u16,
    pub api: u16,
    /// The throwaway PostgreSQL's URL, for the apps that need it.
    pub database_url: Option<String>,
}

/// What must be installed for `topology`, or what to install.
pub fn check_requirements(topology: &Topology, bin_dir: &Path) -> Result<(), StartError> {
    check(topology, bin_dir, false)
}

fn check(topology: &Topology, bin_dir: &Path, custom_app: bool) -> Result<(), StartError> {
    if topology.front.is_nginx() && nginx::find().is_none() {
        return Err(StartError::Skipped(nginx::PACKAGE_HINT.to_owned()));
    }
    if topology.app.needs_postgres() && postgres::find_bin_dir().is_none() {
        return Err(StartError::Skipped(postgres::PACKAGE_HINT.to_owned()));
    }
    let app = (!custom_app).then_some(topology.app.binary());
    for binary in std::iter::once("slow_api").chain(app) {
        if !crate::procs::is_executable(&bin_dir.join(binary)) {
            return Err(StartError::Skipped(format!(
                "{binary} not built in {}: run `cargo build --release --workspace`",
                bin_dir.display()
            )));
        }
    }
    Ok(())
}

/// A lab service's command, with a clean configuration environment: none of the
/// variables the services read is inherited, and they log warnings only (`LAB_RUST_LOG`
/// overrides).
pub fn service_command(bin: impl AsRef<Path>) -> Command {
    let mut command = Command::new(bin.as_ref());
    for var in common::config::SERVICE_VARIABLES {
        command.env_remove(var);
    }
    command.env(
        "RUST_LOG",
        std::env::var("LAB_RUST_LOG").unwrap_or_else(|_| "warn".into()),
    );
    // A service's start-up error is one line ("cannot listen on ...: Address already in
    // use"), which the start-up retry looks for in its log. Under RUST_BACKTRACE=1 (as CI
    // runs) anyhow would follow it with fifty lines of backtrace; panics keep theirs.
    command.env("RUST_LIB_BACKTRACE", "0");
    command
}

/// A bench service's command: [`service_command`], and after the load nothing is in
/// flight, so on an interrupt it does not linger.
fn bench_command(bin: PathBuf) -> Command {
    let mut command = service_command(bin);
    command.env("SHUTDOWN_TIMEOUT", "2");
    command
}

/// Starts `topology`. Ports are picked free just before use; a service
/// that loses the race for its port is retried on another.
pub fn start(topology: &Topology, bin_dir: &Path) -> Result<Stack, StartError> {
    start_with(topology, bin_dir, None)
}

/// [`start`], with `app` started in the place of the topology's Rust app when given.
pub fn start_with(
    topology: &Topology,
    bin_dir: &Path,
    app: Option<&AppCommand>,
) -> Result<Stack, StartError> {
    check(topology, bin_dir, app.is_some())?;
    let mut last = None;
    for _attempt in 0..3 {
        match try_start(topology, bin_dir, app) {
            Ok(stack) => return Ok(stack),
            Err(StartError::Failed(reason)) if reason.contains("in use") => {
                last = Some(StartError::Failed(reason));
            }
            Err(err) => return Err(err),
        }
    }
    Err(last.unwrap_or_else(|| StartError::Failed("cannot start".into())))
}

fn try_start(
    topology: &Topology,
    bin_dir: &Path,
    custom: Option<&AppCommand>,
) -> Result<Stack, StartError> {
    let dir = ScratchDir::new(topology.name)?;

    // The slow API: every topology's upstream.
    let api_port = free_port()?;
    // `/metrics` on a port of its own: the app may speak uwsgi on its main one.
    let metrics_port = free_port()?;
    let serves_directly = topology.app == App::Upstream && custom.is_none();
    let mut slow_api = spawn_slow_api(
        bin_dir,
        dir.path(),
        api_port,
        serves_directly.then_some(metrics_port),
    )?;
    wait_http_ok(&mut slow_api, api_port)?;

    // PostgreSQL, for app_pg.
    let postgres = if topology.app.needs_postgres() {
        let settings = postgres::Settings {
            port: free_port()?,
            max_connections: 300,
        };
        Some(postgres::Postgres::start(settings)?)
    } else {
        None
    };

    // The app, configured with the lab's variables (docs/reference.md), or the one the
    // caller starts in its place; the reference rows have none, and the load (or nginx)
    // goes to the slow API.
    let (app, app_port) = if serves_directly {
        (None, api_port)
    } else {
        let app_port = free_port()?;
        let (name, command, stop_signal) = match custom {
            Some(custom) => {
                let ports = AppPorts {
                    app: app_port,
                    api: api_port,
                    database_url: postgres.as_ref().map(postgres::Postgres::url),
                };
                (custom.name, (custom.command)(&ports), custom.stop_signal)
            }
            None => {
                let mut command = bench_command(bin_dir.join(topology.app.binary()));
                command
                    .envs(topology.app.env())
                    .env("PORT_APP", app_port.to_string())
                    .env("PORT_API", api_port.to_string())
                    .env("METRICS_PORT", metrics_port.to_string());
                if let Some(postgres) = &postgres {
                    command.env("DATABASE_URL", postgres.url());
                }
                (topology.app.binary(), command, libc::SIGTERM)
            }
        };
        let app_log = dir.path().join(format!("{name}.log"));
        let mut app = Service::spawn(name, command, &app_log, stop_signal)?;
        if topology.front == Front::NginxUwsgi {
            // It speaks uwsgi, not HTTP: accepting connections is all we can ask
            // directly; nginx's /healthz below goes through it.
            wait_accepting(&mut app, app_port, READY_WITHIN)?;
        } else {
            wait_http_ok(&mut app, app_port)?;
        }
        (Some(app), app_port)
    };

    // nginx in front, with the compose file's configuration on loopback ports.
    let (nginx, port) = if topology.front.is_nginx() {
        let nginx_dir = dir.path().join("nginx");
        std::fs::create_dir_all(&nginx_dir).map_err(anyhow::Error::from)?;
        let port = free_port()?;
        let site = nginx::site(topology)
            .ok_or_else(|| StartError::Failed(format!("no nginx site for {}", topology.name)))?;
        let workers = nginx::Workers::of(topology);
        let mut service = nginx::start(site, workers, &nginx_dir, port, app_port)?;
        wait_http_ok(&mut service, port).map_err(|err| match err {
            StartError::Failed(reason) => StartError::Failed(format!(
                "{reason} (nginx error log: {})",
                crate::procs::log_tail(&nginx_dir.join("error.log"), 2)
            )),
            other => other,
        })?;
        (Some(service), port)
    } else {
        (None, app_port)
    };

    Ok(Stack {
        nginx,
        app,
        slow_api,
        postgres,
        dir,
        port,
        app_port,
        metrics_port: custom.is_none().then_some(metrics_port),
        api_port,
        bin_dir: bin_dir.to_owned(),
    })
}

/// The slow API on `port`, logging (appending) into `dir`, with `/metrics` on
/// `metrics_port` too when it is what serves the load.
fn spawn_slow_api(
    bin_dir: &Path,
    dir: &Path,
    port: u16,
    metrics_port: Option<u16>,
) -> Result<Service, StartError> {
    let mut command = bench_command(bin_dir.join("slow_api"));
    command.env("PORT", port.to_string());
    if let Some(metrics_port) = metrics_port {
        command.env("METRICS_PORT", metrics_port.to_string());
    }
    Ok(Service::spawn(
        "slow_api",
        command,
        &dir.join("slow_api.log"),
        libc::SIGTERM,
    )?)
}

/// The slow API alone on a free loopback port, answering `/healthz`: the upstream an
/// experiment puts its own proxy in front of (`lab callgrind`, `lab proxy-bench`).
pub fn start_slow_api(bin_dir: &Path, dir: &Path) -> Result<(Service, u16), StartError> {
    if !crate::procs::is_executable(&bin_dir.join("slow_api")) {
        return Err(StartError::Skipped(format!(
            "slow_api not built in {}: run `cargo build --release --workspace`",
            bin_dir.display()
        )));
    }
    let port = free_port()?;
    let mut service = spawn_slow_api(bin_dir, dir, port, None)?;
    wait_http_ok(&mut service, port)?;
    Ok((service, port))
}

/// Waits until `GET /healthz` on `port` answers 200, or the service exits, or 30 s pass.
fn wait_http_ok(service: &mut Service, port: u16) -> Result<(), StartError> {
    wait_until(service, port, READY_WITHIN, || {
        healthz_status(port) == Some(200)
    })
}

/// Waits until `port` accepts TCP connections, or the service exits, or `within` passes
/// (a service under valgrind starts some 50 times slower).
pub fn wait_accepting(
    service: &mut Service,
    port: u16,
    within: Duration,
) -> Result<(), StartError> {
    wait_until(service, port, within, || {
        TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(1)).is_ok()
    })
}

fn wait_until(
    service: &mut Service,
    port: u16,
    within: Duration,
    mut ready: impl FnMut() -> bool,
) -> Result<(), StartError> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = service.exited() {
            return Err(StartError::Failed(format!(
                "{} exited before it was ready on port {port} ({status}): {}",
                service.name,
                service.log_tail(3)
            )));
        }
        if ready() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(StartError::Failed(format!(
                "{} not ready on port {port} after {within:?}: {}",
                service.name,
                service.log_tail(3)
            )));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Status of `GET /healthz` on 127.0.0.1:port, or `None` if nothing answered.
pub fn healthz_status(port: u16) -> Option<u16> {
    get_status(port, "/healthz")
}

/// Status of a one-shot `GET path` on 127.0.0.1:port, or `None` if nothing answered.
pub fn get_status(port: u16, path: &str) -> Option<u16> {
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    raw_exchange(port, request.as_bytes()).map(|(status, _)| status)
}

/// Writes `request` as is on a new connection to 127.0.0.1:port (also requests a
/// well-behaved client refuses to send: a 100 KB URI, a malformed line) and returns the
/// status and the whole raw response, or `None` if nothing answered.
pub fn raw_exchange(port: u16, request: &[u8]) -> Option<(u16, String)> {
    raw_exchange_at(([127, 0, 0, 1], port).into(), request)
}

/// [`raw_exchange`] with a server at `address` (another container's, in `lab live`'s
/// compose overlay).
pub fn raw_exchange_at(address: std::net::SocketAddr, request: &[u8]) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(1)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    // The server may answer and close before reading everything; keep what it said.
    let _ = stream.write_all(request);
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response.get(9..12)?.parse().ok()?;
    Some((status, response))
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::config::Protocol;

    #[test]
    fn a_missing_binary_is_a_skip_that_says_how_to_build_it() {
        let dir = ScratchDir::new("bins").expect("scratch");
        let topology = Topology {
            name: "t",
            app: App::Sync {
                workers: 1,
                threads: 1,
                protocol: Protocol::Http,
            },
            front: Front::Direct,
        };
        match check_requirements(&topology, dir.path()) {
            Err(StartError::Skipped(reason)) => {
                assert!(reason.starts_with("slow_api not built in"), "{reason}");
                assert!(reason.contains("cargo build --release"), "{reason}");
            }
            other => panic!("expected a skip, got {other:?}"),
        }
        // A program in the app's place needs only the slow API.
        let slow_api = dir.path().join("slow_api");
        std::fs::write(&slow_api, "#!/bin/sh\n").expect("write");
        std::fs::set_permissions(
            &slow_api,
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .expect("chmod");
        assert!(check(&topology, dir.path(), true).is_ok());
        match check_requirements(&topology, dir.path()) {
            Err(StartError::Skipped(reason)) => assert!(reason.starts_with("app_sync"), "{reason}"),
            other => panic!("expected a skip, got {other:?}"),
        }
    }

    #[test]
    fn a_service_command_inherits_none_of_the_services_variables() {
        let command = service_command("/bin/true");
        let removed: Vec<String> = command
            .get_envs()
            .filter(|(_, value)| value.is_none())
            .map(|(name, _)| name.to_string_lossy().into_owned())
            .collect();
        for variable in common::config::SERVICE_VARIABLES {
            assert!(removed.iter().any(|name| name == variable), "{variable}");
        }
    }
}
