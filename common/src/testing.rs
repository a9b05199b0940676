//! Integration-test harness: runs a service's real binary on a free loopback port,
//! waits for `GET /healthz`, and stops it when dropped; [`postgres`] provides a real
//! PostgreSQL (a throwaway cluster) for the services that need one.

pub mod in_process;
pub mod postgres;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The workspace's slow_api on a free port, answering `/healthz`: the upstream of most
/// integration tests.
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

/// A free TCP port on 127.0.0.1 (asked of the kernel, then released for the service).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("no free loopback port")
}

/// A running service binary, killed on drop.
pub struct Service {
    child: Child,
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
        service.wait_healthy(Duration::from_secs(30));
        service
    }

    /// As [`Service::start_with_env`], without waiting for `/healthz`: for a service
    /// that does not speak HTTP itself (app_sync `--protocol uwsgi`, reached through
    /// nginx). Wait for it with [`Service::wait_ready`].
    pub fn spawn_with_env(
        bin: impl AsRef<Path>,
        port_flag: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Service {
        let bin = bin.as_ref();
        let port = free_port();
        let mut command = Command::new(bin);
        for var in crate::config::SERVICE_VARIABLES {
            command.env_remove(var);
        }
        command
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .args(args)
            .arg(port_flag)
            .arg(port.to_string())
            .stdin(Stdio::null());
        let child = command
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {}: {err}", bin.display()));
        Service { child, port }
    }

    /// Waits until `ready()` is true (panics after `limit`, or if the process exits).
    pub fn wait_ready(&mut self, limit: Duration, mut ready: impl FnMut() -> bool) {
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("service on port {} exited early: {status}", self.port);
            }
            if ready() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "service on port {} not ready after {limit:?}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// `http://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The process id, for signals.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn wait_healthy(&mut self, limit: Duration) {
        let port = self.port;
        self.wait_ready(limit, || raw_get_status(port, "/healthz") == Some(200));
    }

    /// Sends `signal` (e.g. `libc::SIGTERM`) to the process.
    pub fn signal(&self, signal: i32) {
        let pid = i32::try_from(self.child.id()).expect("pid fits in i32");
        // SAFETY: kill(2) on our own child's pid.
        let rc = unsafe { libc::kill(pid, signal) };
        assert_eq!(rc, 0, "kill({pid}, {signal}) failed");
    }

    /// Waits up to `limit` for the process to exit.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Status of a one-shot `GET path` on 127.0.0.1:port, or `None` if nothing answered.
pub fn raw_get_status(port: u16, path: &str) -> Option<u16> {
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    raw_exchange(port, request.as_bytes()).map(|(status, _)| status)
}

/// Writes `request` as is (for requests a well-behaved client refuses to send: a 100 KB
/// URI, a malformed line) and returns the status and the whole raw response.
pub fn raw_exchange(port: u16, request: &[u8]) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    // The server may answer and close before reading everything; keep what it said.
    let _ = stream.write_all(request);
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response.get(9..12)?.parse().ok()?;
    Some((status, response))
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
