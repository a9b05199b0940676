//! The machine the figures come from: CPUs, memory, OS, and the versions of the tools.

use std::process::Command;

use serde::{Deserialize, Serialize};

/// The machine the figures come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: Option<String>,
    pub memory_gib: Option<f64>,
    pub os: String,
    pub kernel: Option<String>,
    /// The hard limit on open files the run had (what a proxy's two sockets per request
    /// meet near 10,000 clients here); absent from runs before it was recorded.
    #[serde(default)]
    pub open_files_limit: Option<u64>,
    pub versions: Versions,
}

/// Versions of what produced the figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Versions {
    pub loadgen: String,
    pub rustc: Option<String>,
    pub nginx: Option<String>,
    pub postgres: Option<String>,
}

/// What `/proc`, `/etc/os-release` and the tools' `--version` say.
pub fn describe() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .and_then(|rest| rest.split_once(':'))
        .map(|(_, model)| model.trim().to_owned());
    let memory_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|line| line.strip_prefix("MemTotal:"))
                .and_then(|rest| {
                    rest.trim()
                        .trim_end_matches("kB")
                        .trim()
                        .parse::<f64>()
                        .ok()
                })
        })
        .map(|kib| (kib / 1024.0 / 1024.0 * 10.0).round() / 10.0);
    let os = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|line| line.strip_prefix("PRETTY_NAME="))
                .map(|name| name.trim_matches('"').to_owned())
        })
        .unwrap_or_else(|| std::env::consts::OS.to_owned());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .ok()
        .map(|release| release.trim().to_owned());
    Machine {
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        cpu_model,
        memory_gib,
        os,
        kernel,
        open_files_limit: rlimit::Resource::NOFILE.get().ok().map(|(_, hard)| hard),
        versions: Versions {
            loadgen: env!("CARGO_PKG_VERSION").to_owned(),
            rustc: version_of(
                std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()),
                "--version",
            ),
            nginx: crate::nginx::find()
                .and_then(|nginx| version_of(nginx, "-v"))
                .map(|text| text.trim_start_matches("nginx version: ").to_owned()),
            postgres: crate::postgres::find_bin_dir()
                .and_then(|dir| version_of(dir.join("postgres"), "--version")),
        },
    }
}

/// The first line a tool prints for its version flag (on stdout or, like nginx, stderr).
fn version_of(program: impl AsRef<std::ffi::OsStr>, flag: &str) -> Option<String> {
    let output = Command::new(program).arg(flag).output().ok()?;
    let text = if output.stdout.is_empty() {
        output.stderr
    } else {
        output.stdout
    };
    String::from_utf8_lossy(&text)
        .lines()
        .next()
        .map(|line| line.trim().to_owned())
        .filter(|line| !line.is_empty())
}
