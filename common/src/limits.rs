//! Process limits that would otherwise cap concurrency before the topology does.

/// Raises the soft open-files limit to the hard limit and returns the new soft limit.
///
/// Every connection is a file descriptor: an async proxy holding 5,000 requests in flight
/// needs 10,000 of them (client side and upstream side), far over the usual soft limit of 1,024.
/// The hard limit is the ceiling: raising it takes `CAP_SYS_RESOURCE`, which containers
/// (this lab's CI among them, hard limit 20,000) usually lack. [`connections_per_side`]
/// makes the services live within it.
pub fn raise_open_files_limit() -> std::io::Result<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    if limit.rlim_cur < limit.rlim_max {
        limit.rlim_cur = limit.rlim_max;
        // SAFETY: as above.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(limit.rlim_cur)
}

/// Descriptors kept back from connections: listeners, epoll and event fds, stdio, the
/// runtime's and the resolver's own.
pub const RESERVED_FILES: u64 = 64;

/// How many connections each side of a service may hold so that it never runs out of
/// file descriptors: `sides` is 1 for a server, 2 for a proxy (a request in flight holds
/// a client socket and an upstream socket), and `other` counts descriptors held
/// elsewhere (a database pool).
///
/// Why it matters: when `accept()` fails with "too many open files", actix-server stops
/// accepting for half a second, so every client waiting in the queue, not just the one
/// too many, pays 500 ms. With 10,000 clients and a hard limit of 20,000, a proxy is
/// 20-odd descriptors short every round. Capping both sides at this budget turns that
/// into backpressure instead: past the cap, clients wait in the accept queue (or a
/// request waits for a free upstream connection) and are served as soon as one frees.
pub fn connections_per_side(open_files: u64, sides: u64, other: u64) -> usize {
    let budget = open_files.saturating_sub(RESERVED_FILES + other) / sides.max(1);
    usize::try_from(budget).unwrap_or(usize::MAX).max(1)
}

/// What the open-files limit allows a service, split between its event loops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionBudget {
    /// Connections each side may hold in all: requests in flight, for a proxy.
    pub per_side: usize,
    /// Each worker's share (actix's `max_connections` and awc's connector limit are
    /// per worker): at least 1.
    pub per_worker: usize,
}

/// How a service spends its descriptors: the input of [`ConnectionBudget::new`], named
/// so that a call site says which number is which.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// Sockets a request in flight holds: 1 for a server, 2 for a proxy.
    pub sides: u64,
    /// Descriptors held apart from requests (a database pool's connections).
    pub other: u64,
    /// Event loops sharing the budget.
    pub workers: usize,
}

impl ConnectionBudget {
    /// [`connections_per_side`] shared equally by `usage.workers` event loops.
    pub fn new(open_files: u64, usage: Usage) -> Self {
        let per_side = connections_per_side(open_files, usage.sides, usage.other);
        ConnectionBudget {
            per_side,
            per_worker: (per_side / usage.workers.max(1)).max(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proxy_splits_what_is_left_between_its_two_sides() {
        assert_eq!(connections_per_side(20_000, 2, 0), 9_968);
        assert_eq!(connections_per_side(20_000, 2, 16), 9_960);
        assert_eq!(connections_per_side(20_000, 1, 0), 19_936);
    }

    #[test]
    fn workers_share_the_budget_equally() {
        let proxy = |workers| Usage {
            sides: 2,
            other: 0,
            workers,
        };
        let budget = ConnectionBudget::new(20_000, proxy(2));
        assert_eq!(budget.per_side, 9_968);
        assert_eq!(budget.per_worker, 4_984);
        assert_eq!(ConnectionBudget::new(10, proxy(4)).per_worker, 1);
    }

    #[test]
    fn a_tiny_limit_still_allows_one_connection() {
        assert_eq!(connections_per_side(10, 2, 0), 1);
        assert_eq!(connections_per_side(0, 0, 0), 1);
    }

    #[test]
    fn raising_never_lowers_the_limit() {
        let raised = raise_open_files_limit().expect("getrlimit works");
        assert!(raised >= 1);
        assert_eq!(raise_open_files_limit().expect("again"), raised);
    }
}
