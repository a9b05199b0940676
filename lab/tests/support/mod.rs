//! What the runner tests share: scratch directories, a watcher that records every
//! process a runner starts (from /proc), and the check that none outlives it.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kit::procfs;
use serde_json::Value;

/// `lab SUBCOMMAND` (`bench`, `compare`, ...) writing into `results`, with the
/// workspace's service binaries and `args`.
pub fn runner(subcommand: &str, results: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_lab"));
    command
        .arg(subcommand)
        .arg("--results")
        .arg(results)
        .arg("--bin-dir")
        .arg(kit::testing::services_bin_dir())
        .args(args)
        .stdin(Stdio::null());
    command
}

/// The object of `json[list]` whose `id` is `id`.
pub fn by_id<'a>(json: &'a Value, list: &str, id: &str) -> &'a Value {
    json[list]
        .as_array()
        .unwrap_or_else(|| panic!("no {list} array"))
        .iter()
        .find(|item| item["id"] == id)
        .unwrap_or_else(|| panic!("no {id} in {list}"))
}

pub fn scratch(label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "lab-test-{label}-{}-{}",
        std::process::id(),
        Instant::now().elapsed().as_nanos()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Every process descended from `root` while the watcher ran: (pid, start time).
pub struct Watcher {
    seen: Arc<Mutex<BTreeSet<(i32, u64)>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Watcher {
    pub fn start(root: u32) -> Watcher {
        let root = i32::try_from(root).expect("pid fits");
        let seen = Arc::new(Mutex::new(BTreeSet::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (seen, stop) = (Arc::clone(&seen), Arc::clone(&stop));
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let all = procfs::processes();
                    let mut tree = descendants(&all, root);
                    // Once the runner has started a group, its members count too.
                    let groups: BTreeSet<i32> = tree.iter().map(|p| p.pid).collect();
                    tree.extend(all.iter().filter(|p| groups.contains(&p.pgrp)).copied());
                    let mut seen = seen.lock().expect("watcher lock");
                    for process in tree {
                        seen.insert((process.pid, process.start_time));
                    }
                    drop(seen);
                    std::thread::sleep(Duration::from_millis(10));
                }
            })
        };
        Watcher {
            seen,
            stop,
            thread: Some(thread),
        }
    }

    /// Stops watching and returns what it saw.
    pub fn finish(mut self) -> BTreeSet<(i32, u64)> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.join().expect("watcher thread");
        }
        self.seen.lock().expect("watcher lock").clone()
    }

    pub fn count(&self) -> usize {
        self.seen.lock().expect("watcher lock").len()
    }

    pub fn saw_command(&self, name: &str) -> bool {
        self.seen
            .lock()
            .expect("watcher lock")
            .iter()
            .any(|(pid, _)| {
                std::fs::read_to_string(format!("/proc/{pid}/comm"))
                    .is_ok_and(|comm| comm.trim() == name)
            })
    }
}

pub fn descendants(all: &[procfs::Process], root: i32) -> Vec<procfs::Process> {
    let mut members: Vec<procfs::Process> = Vec::new();
    let mut parents = vec![root];
    while let Some(parent) = parents.pop() {
        for process in all.iter().filter(|p| p.ppid == parent) {
            if !members.iter().any(|m| m.pid == process.pid) {
                members.push(*process);
                parents.push(process.pid);
            }
        }
    }
    members
}

/// The processes of `seen` still running (same pid and start time, not a zombie).
pub fn survivors(seen: &BTreeSet<(i32, u64)>) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let alive: Vec<String> = seen
            .iter()
            .filter_map(|(pid, start)| {
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
                let process = procfs::parse_stat(&stat)?;
                (process.start_time == *start && process.state != 'Z').then(|| {
                    let comm =
                        std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
                    format!("{pid} {}", comm.trim())
                })
            })
            .collect();
        if alive.is_empty() || Instant::now() > deadline {
            return alive;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn run_watched(mut command: Command) -> (Output, BTreeSet<(i32, u64)>) {
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start bench-all");
    let watcher = Watcher::start(child.id());
    let output = child.wait_with_output().expect("bench-all output");
    (output, watcher.finish())
}

pub fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

/// Waits until `check` holds or `limit` passes.
pub fn wait_for(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}
