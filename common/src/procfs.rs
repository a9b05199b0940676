//! What a process tree costs, read from `/proc`: CPU time, resident memory, threads.
//!
//! The lab reads the services' trees with it from outside ([`usage`]: every process of
//! `/proc`), and each service reads its own for `GET /metrics` ([`own_usage`] with
//! [`Forks::MainThread`]: its own process and its children, a few small reads per
//! scrape).

/// One line of `/proc/PID/stat`, the fields the runner needs.
#[derive(Debug, Clone, Copy)]
pub struct Process {
    pub pid: i32,
    pub ppid: i32,
    pub pgrp: i32,
    pub state: char,
    /// utime + stime, clock ticks.
    pub cpu_ticks: u64,
    pub threads: u64,
    /// Resident set, pages.
    pub rss_pages: u64,
    /// Start time after boot, clock ticks (tells a reused pid from the original).
    pub start_time: u64,
}

/// Parses `/proc/PID/stat`. The command name may hold spaces and parentheses, so the
/// fields are counted from the last `)`.
pub fn parse_stat(text: &str) -> Option<Process> {
    let (head, rest) = text.rsplit_once(')')?;
    let pid = head.split_once('(')?.0.trim().parse().ok()?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // fields[0] is field 3 (state) of proc(5).
    let field = |number: usize| fields.get(number - 3).copied();
    let num = |number: usize| field(number).and_then(|value| value.parse::<u64>().ok());
    Some(Process {
        pid,
        state: field(3)?.chars().next()?,
        ppid: field(4)?.parse().ok()?,
        pgrp: field(5)?.parse().ok()?,
        cpu_ticks: num(14)? + num(15)?,
        threads: num(20)?,
        start_time: num(22)?,
        rss_pages: num(24)?,
    })
}

/// Every process visible in `/proc` right now.
pub fn processes() -> Vec<Process> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter(|entry| {
            entry
                .file_name()
                .to_str()
                .is_some_and(|name| name.bytes().all(|b| b.is_ascii_digit()))
        })
        .filter_map(|entry| std::fs::read_to_string(entry.path().join("stat")).ok())
        .filter_map(|text| parse_stat(&text))
        .collect()
}

/// The process `root`, everything in its process group, and all their descendants.
pub fn tree(all: &[Process], root: i32) -> Vec<Process> {
    let mut members: Vec<Process> = all
        .iter()
        .filter(|process| process.pid == root || process.pgrp == root)
        .copied()
        .collect();
    loop {
        let before = members.len();
        for process in all {
            let parent_in = members.iter().any(|member| member.pid == process.ppid);
            let already = members.iter().any(|member| member.pid == process.pid);
            if parent_in && !already {
                members.push(*process);
            }
        }
        if members.len() == before {
            return members;
        }
    }
}

/// The cost of a process tree at one instant.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Usage {
    pub cpu_ticks: u64,
    pub rss_bytes: u64,
    pub threads: u64,
    pub processes: u64,
}

/// Clock ticks per second and page size, from sysconf.
pub fn ticks_and_page() -> (f64, u64) {
    // SAFETY: sysconf only reads configuration.
    let (ticks, page) = unsafe {
        (
            libc::sysconf(libc::_SC_CLK_TCK),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    (
        if ticks > 0 { ticks as f64 } else { 100.0 },
        u64::try_from(page).unwrap_or(4096).max(1),
    )
}

/// CPU ticks in milliseconds.
pub fn ticks_to_ms(ticks: u64) -> f64 {
    ticks as f64 * 1000.0 / ticks_and_page().0
}

/// CPU milliseconds per request: `ticks` spent over `requests` (0 for no requests).
pub fn ms_per_request(ticks: u64, requests: u64) -> f64 {
    if requests == 0 {
        0.0
    } else {
        ticks_to_ms(ticks) / requests as f64
    }
}

/// The usage of the tree rooted at `root` (live processes only).
pub fn usage(root: i32) -> Usage {
    let page = ticks_and_page().1;
    let mut usage = Usage::default();
    for process in tree(&processes(), root) {
        if process.state == 'Z' {
            continue;
        }
        usage.cpu_ticks += process.cpu_ticks;
        usage.rss_bytes += process.rss_pages * page;
        usage.threads += process.threads;
        usage.processes += 1;
    }
    usage
}

/// Open file descriptors of the tree rooted at `root` (sockets, listeners, pipes, logs).
pub fn open_files(root: i32) -> u64 {
    tree(&processes(), root)
        .iter()
        .filter(|process| process.state != 'Z')
        .filter_map(|process| std::fs::read_dir(format!("/proc/{}/fd", process.pid)).ok())
        .map(|entries| entries.count() as u64)
        .sum()
}

/// Which threads of a process may have started its children.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forks {
    /// Any of them: every thread's `children` file is read (the lab, which starts its
    /// services from whichever thread runs a row).
    AnyThread,
    /// Its main thread only: one `children` file per process. A service reading itself
    /// at every scrape: app_sync's master starts its workers from its main thread, and
    /// reading the `children` of each of its workers' 50 threads cost app_sync 4 x 50
    /// about 1.0 ms of CPU per scrape (0.1 ms this way), ten scrapes a second while the
    /// lab loads it.
    MainThread,
}

/// The usage of `root` and its descendants, found through `/proc/PID/task/TID/children`
/// rather than a walk of all of `/proc`. Where the kernel has no `children` files, the
/// root alone.
pub fn own_usage(root: i32, forks: Forks) -> Usage {
    let page = ticks_and_page().1;
    let mut usage = Usage::default();
    let mut pending = vec![root];
    let mut seen = 0_usize;
    while let Some(pid) = pending.pop() {
        // A tree of a few processes: the cap only guards against a cycle of reused pids.
        seen += 1;
        if seen > 4096 {
            break;
        }
        let Some(process) = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|text| parse_stat(&text))
        else {
            continue;
        };
        if process.state != 'Z' {
            usage.cpu_ticks += process.cpu_ticks;
            usage.rss_bytes += process.rss_pages * page;
            usage.threads += process.threads;
            usage.processes += 1;
        }
        pending.extend(children(pid, forks));
    }
    usage
}

/// The children `pid`'s threads (or its main thread) started.
fn children(pid: i32, forks: Forks) -> Vec<i32> {
    let files: Vec<std::path::PathBuf> = match forks {
        Forks::MainThread => vec![format!("/proc/{pid}/task/{pid}/children").into()],
        Forks::AnyThread => std::fs::read_dir(format!("/proc/{pid}/task"))
            .map(|tasks| {
                tasks
                    .filter_map(Result::ok)
                    .map(|task| task.path().join("children"))
                    .collect()
            })
            .unwrap_or_default(),
    };
    files
        .iter()
        .filter_map(|file| std::fs::read_to_string(file).ok())
        .flat_map(|text| {
            text.split_whitespace()
                .filter_map(|child| child.parse().ok())
                .collect::<Vec<i32>>()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_odd_names() {
        let line = "1234 (my (odd) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 \
                    250 50 0 0 20 0 7 0 98765 123456789 2048 18446744073709551615";
        let process = parse_stat(line).expect("parses");
        assert_eq!(process.pid, 1234);
        assert_eq!(process.state, 'S');
        assert_eq!(process.ppid, 1);
        assert_eq!(process.pgrp, 1234);
        assert_eq!(process.cpu_ticks, 300);
        assert_eq!(process.threads, 7);
        assert_eq!(process.start_time, 98765);
        assert_eq!(process.rss_pages, 2048);
        assert!(parse_stat("garbage").is_none());
    }

    #[test]
    fn own_process_is_visible() {
        let me = i32::try_from(std::process::id()).unwrap_or_default();
        let now = usage(me);
        assert!(now.processes >= 1);
        assert!(now.rss_bytes > 0);
        assert!(now.threads >= 1);
    }

    #[test]
    fn own_usage_counts_this_process_and_a_child() {
        let pid = i32::try_from(std::process::id()).expect("a pid");
        // The test runs on a thread of its own: its child is that thread's, which only a
        // read of every thread's `children` finds.
        let alone = own_usage(pid, Forks::AnyThread);
        assert!(alone.processes >= 1 && alone.threads >= 1 && alone.rss_bytes > 0);
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .expect("sleep runs");
        let with_child = own_usage(pid, Forks::AnyThread);
        let main_thread_only = own_usage(pid, Forks::MainThread);
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(
            with_child.processes,
            alone.processes + 1,
            "{alone:?} {with_child:?}"
        );
        assert_eq!(main_thread_only.processes, alone.processes);
    }
}
