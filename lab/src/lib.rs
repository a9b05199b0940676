//! The lab: every topology of the article on this machine, measured.
//!
//! The scenario table ([`scenarios`]) says what to run; the runner ([`runner`]) starts
//! each topology ([`stack`]: slow_api, the app, nginx, PostgreSQL) on free loopback
//! ports, sends the load with [`loadgen`], reads what the app spent ([`procfs`], and the
//! kernel's drops: [`kernel`]) and writes the results ([`results`], [`chart`]); the sweep
//! ([`sweep`]) does the same over a range of client counts; [`docs`] writes the tables
//! that README.md and docs/ show from the committed results. [`procs`] supervises every
//! child process, so nothing outlives a run, and [`testing`] is the same machinery for
//! the services' integration tests. [`compare`] runs the article's Python servers
//! beside the Rust rows in one run, from the pinned venv of [`python`]. [`faults`]
//! breaks things during loads (`make chaos`, `make slowloris`, `make soak`). Each row's
//! [`timeline`] puts the client's intervals beside the app's `/metrics` ([`scrape`]).
//! [`swarm`] runs the topologies that scale out on a Docker swarm (`make bench-swarm`).

pub mod chart;
pub mod compare;
pub mod cost;
pub mod docs;
pub mod faults;
pub mod kernel;
pub mod machine;
pub mod nginx;
pub mod postgres;
pub mod procfs;
pub mod procs;
pub mod python;
pub mod results;
pub mod runner;
pub mod scenarios;
pub mod scrape;
pub mod stack;
pub mod swarm;
pub mod sweep;
pub mod testing;
pub mod timeline;

/// Prints a line to stdout; a closed pipe (`| head`) is not an error worth a panic.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}
