//! What the app_sync tests share: the real slow_api binary, app_sync in this process or
//! as its binary, raw sockets, process lookups.
#![allow(dead_code, unused_imports)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

pub use kit::testing::in_process::{config_from_args, InProcess, Stop};
pub use kit::testing::{get, get_concurrently, Reply, Service};

pub const APP: &str = env!("CARGO_BIN_EXE_app_sync");

/// The slow API on a free port.
pub use kit::testing::start_slow_api as slow_api;

/// The app_sync binary in front of `api`, with extra flags: for what needs the process
/// (prefork workers, signals).
pub fn app_sync(api: &Service, args: &[&str]) -> Service {
    let api_port = api.port.to_string();
    let mut all = vec!["--port-api", &api_port];
    all.extend_from_slice(args);
    Service::start(APP, "--port-app", &all)
}

/// One serving process ([`app_sync::run`]: the dev server, a pool of threads, or a
/// thread per connection) in this process, in front of `api`, with extra flags.
pub fn app_sync_in_process(api: &Service, args: &[&str]) -> InProcess {
    let api_url = api.url("/");
    let mut all = vec!["--api-url", api_url.as_str()];
    all.extend_from_slice(args);
    in_process(config_from_args(&all))
}

/// [`app_sync::run`] with `config` in this process; its shutdown flag is raised when
/// the handle is stopped or dropped.
pub fn in_process(config: app_sync::Config) -> InProcess {
    assert_eq!(
        config.model().workers(),
        1,
        "several workers are processes: start the binary (app_sync())"
    );
    InProcess::start("app_sync", move |listener, stop: Stop| {
        let shutdown = app_sync::Shutdown::new();
        let flag = shutdown.clone();
        // The serving threads look at a flag, not a future: raise it when `stop` fires.
        std::thread::spawn(move || {
            stop.wait();
            flag.request();
        });
        app_sync::run(listener, &config, &shutdown)
    })
}

/// Stops a service the way an operator would (SIGTERM) and checks it exits 0. A prefork
/// master killed outright would leave its workers to notice on their own, a moment later.
pub fn stop(mut service: Service) {
    service.signal(libc::SIGTERM);
    let status = service
        .wait_exit(Duration::from_secs(15))
        .expect("did not exit after SIGTERM");
    assert!(status.success(), "exit status {status}");
}

/// Sends raw bytes on a new connection and returns everything the server answers
/// until it closes the connection (or 10 s pass).
pub fn raw_exchange(port: u16, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream.write_all(request).expect("write");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

/// Reads one HTTP response with a Content-Length body from `stream`.
pub fn read_response(stream: &mut TcpStream) -> String {
    let mut data = Vec::new();
    let mut byte = [0u8; 1];
    while !data.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut byte).expect("read head");
        assert!(
            n > 0,
            "connection closed mid-head: {:?}",
            String::from_utf8_lossy(&data)
        );
        data.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&data).into_owned();
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .expect("Content-Length");
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).expect("read body");
    head + &String::from_utf8_lossy(&body)
}

/// Status code of a raw response.
pub fn status_of(response: &str) -> u16 {
    response
        .get(9..12)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"))
}

/// Processes whose parent is `pid` (from /proc).
pub fn children_of(pid: u32) -> Vec<u32> {
    let mut children = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return children;
    };
    for entry in entries.flatten() {
        let Some(child) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        // pid (comm) state ppid ...; comm may contain spaces, so split after ')'.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(pid) {
            children.push(child);
        }
    }
    children.sort_unstable();
    children
}

/// True once `pid` is gone from /proc: its parent has reaped it. Not its zombie state:
/// the main thread turns zombie first while the others may still be exiting (and
/// accepting); the kernel lets the parent reap it only after every thread is gone.
pub fn is_reaped(pid: u32) -> bool {
    !std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Waits up to `limit` for `condition`.
pub fn eventually(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + limit;
    while std::time::Instant::now() < deadline {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    condition()
}

/// Sends `signal` to `pid`.
pub fn kill(pid: u32, signal: i32) {
    let pid = i32::try_from(pid).expect("pid fits in i32");
    // SAFETY: kill(2) on a process this test started (directly or through the master).
    let rc = unsafe { libc::kill(pid, signal) };
    assert_eq!(rc, 0, "kill({pid}, {signal}) failed");
}
