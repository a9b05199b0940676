//! What the kernel did to a run's connection attempts, and the one kernel table a run
//! may need enlarged.
//!
//! On loopback nothing is lost on a wire, yet the kernel can still drop a connection
//! attempt: when a listener's accept queue is full (`ListenOverflows`), or when the
//! connection-tracking table of netfilter is full (loaded here by Docker's iptables
//! rules; the kernel log says "nf_conntrack: table full, dropping packet"). The client
//! resends its SYN after 1 s, then 3 s, 7 s: one drop costs a request seconds, and a
//! run with drops measures the kernel, not the topology. So every row and point counts
//! the SYNs resent during its load ([`Drops`]).
//!
//! Each finished connection stays in the tracking table for
//! `nf_conntrack_tcp_timeout_time_wait` (120 s by default): a sweep point at 10,000
//! clients opens 60,000 connections, and the default 262,144 entries fill within a few
//! points. [`make_room`] raises the table's size before a load that would not fit.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

const CONNTRACK_COUNT: &str = "/proc/sys/net/netfilter/nf_conntrack_count";
const CONNTRACK_MAX: &str = "/proc/sys/net/netfilter/nf_conntrack_max";

/// Never lower the table below this when raising it: a whole sweep's worth.
const ROOMY_TABLE: u64 = 1 << 20;

/// The connection-tracking table: entries in use and its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnTrack {
    pub count: u64,
    pub max: u64,
}

impl ConnTrack {
    /// `None` when netfilter's connection tracking is not loaded (nothing to fill).
    pub fn read() -> Option<ConnTrack> {
        Some(ConnTrack {
            count: read_number(CONNTRACK_COUNT)?,
            max: read_number(CONNTRACK_MAX)?,
        })
    }

    /// True if `connections` more entries fit with a tenth of the table to spare.
    pub fn fits(&self, connections: u64) -> bool {
        self.count.saturating_add(connections) <= self.max - self.max / 10
    }

    /// The size to raise the table to for `connections` more: twice what is needed,
    /// a power of two, at least [`ROOMY_TABLE`].
    pub fn raised_for(&self, connections: u64) -> u64 {
        self.count
            .saturating_add(connections)
            .saturating_mul(2)
            .checked_next_power_of_two()
            .unwrap_or(u64::MAX)
            .max(ROOMY_TABLE)
            .max(self.max)
    }
}

fn read_number(path: &str) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Makes sure `connections` more tracked connections fit in the table. When they do
/// not and this process may write the sysctl (root), raises `nf_conntrack_max`;
/// otherwise warns once per process with the command to run. Returns the line to show,
/// if any.
pub fn make_room(connections: u64) -> Option<String> {
    static WARNED: AtomicBool = AtomicBool::new(false);
    let table = ConnTrack::read()?;
    if table.fits(connections) {
        return None;
    }
    let raised = table.raised_for(connections);
    let why = format!(
        "{} of {} connection-tracking entries in use and this load opens about {connections} \
         more (each stays 120 s after it closes)",
        table.count, table.max
    );
    match std::fs::write(Path::new(CONNTRACK_MAX), raised.to_string()) {
        Ok(()) => Some(format!(
            "raised net.netfilter.nf_conntrack_max from {} to {raised}: {why}",
            table.max
        )),
        Err(err) if !WARNED.swap(true, Ordering::Relaxed) => Some(format!(
            "warning: {why}; the kernel will drop connection attempts when it is full \
             (cannot raise it: {err}); run `sudo sysctl -w net.netfilter.nf_conntrack_max={raised}`"
        )),
        Err(_) => None,
    }
}

/// Kernel counters of dropped connection attempts (`/proc/net/netstat`, `TcpExt`),
/// for the whole machine: on a machine the benchmark has to itself, they are its own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Drops {
    /// SYNs (and SYN-ACKs) sent again because the first went unanswered: each one is
    /// a client that waited at least a second for its connection.
    pub syn_retransmits: u64,
    /// Connections dropped because an accept queue was full.
    pub listen_overflows: u64,
}

impl Drops {
    /// The counters now; `None` where `/proc/net/netstat` cannot be read.
    pub fn now() -> Option<Drops> {
        parse_netstat(&std::fs::read_to_string("/proc/net/netstat").ok()?)
    }

    /// What happened between `before` and `self`.
    pub fn since(self, before: Drops) -> Drops {
        Drops {
            syn_retransmits: self.syn_retransmits.saturating_sub(before.syn_retransmits),
            listen_overflows: self
                .listen_overflows
                .saturating_sub(before.listen_overflows),
        }
    }
}

/// `/proc/net/netstat` holds pairs of lines: `TcpExt: Name1 Name2 ...` then
/// `TcpExt: 1 2 ...`.
fn parse_netstat(text: &str) -> Option<Drops> {
    let mut lines = text.lines();
    while let Some(names) = lines.next() {
        let values = lines.next()?;
        let (Some(names), Some(values)) = (
            names.strip_prefix("TcpExt:"),
            values.strip_prefix("TcpExt:"),
        ) else {
            continue;
        };
        let field = |wanted: &str| {
            names
                .split_whitespace()
                .zip(values.split_whitespace())
                .find(|(name, _)| *name == wanted)
                .and_then(|(_, value)| value.parse::<u64>().ok())
        };
        return Some(Drops {
            syn_retransmits: field("TCPSynRetrans")?,
            listen_overflows: field("ListenOverflows")?,
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netstat_pairs_names_with_values() {
        let text = "TcpExt: SyncookiesSent ListenOverflows ListenDrops TCPSynRetrans\n\
                    TcpExt: 0 5105 5105 7\n\
                    IpExt: InNoRoutes InTruncatedPkts\n\
                    IpExt: 0 0\n";
        assert_eq!(
            parse_netstat(text),
            Some(Drops {
                syn_retransmits: 7,
                listen_overflows: 5105
            })
        );
        assert_eq!(parse_netstat("IpExt: A\nIpExt: 1\n"), None);
        assert_eq!(parse_netstat("TcpExt: ListenOverflows\n"), None);
        let before = Drops {
            syn_retransmits: 10,
            listen_overflows: 1,
        };
        let after = Drops {
            syn_retransmits: 12,
            listen_overflows: 1,
        };
        assert_eq!(
            after.since(before),
            Drops {
                syn_retransmits: 2,
                listen_overflows: 0
            }
        );
    }

    #[test]
    fn this_machine_has_the_counters() {
        let drops = Drops::now().expect("/proc/net/netstat has TcpExt on Linux");
        let later = Drops::now().expect("still there");
        assert!(later.syn_retransmits >= drops.syn_retransmits);
    }

    #[test]
    fn the_table_is_raised_to_twice_what_is_needed() {
        let full = ConnTrack {
            count: 191_673,
            max: 262_144,
        };
        assert!(!full.fits(60_000));
        assert!(full.fits(20_000));
        assert_eq!(full.raised_for(60_000), 1 << 20);
        assert_eq!(full.raised_for(900_000), 1 << 22);
        let big = ConnTrack {
            count: 0,
            max: 1 << 23,
        };
        assert_eq!(big.raised_for(10), 1 << 23, "never lowered");
    }
}
