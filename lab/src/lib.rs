//! The lab: every topology of the article on this machine, measured.
//!
//! The scenario table ([`scenarios`]) says what to run; the runner ([`runner`]) starts
//! each topology with the kit ([`kit::stack`]: slow_api, the app, nginx, PostgreSQL) on
//! free loopback ports, sends the load with [`loadgen`], reads what the app spent
//! ([`kit::procfs`], and the kernel's drops: [`kit::kernel`]) and writes the results
//! ([`results`], [`chart`]); the sweep ([`sweep`]) does the same over a range of client
//! counts; [`docs`] writes the tables that README.md and docs/ show from the committed
//! results. [`compare`] runs the article's Python servers beside the Rust rows in one
//! run, from the pinned venv of [`kit::python`]. [`faults`] breaks things during loads
//! (`make chaos`, `make slowloris`, `make soak`). Each row's [`timeline`] puts the
//! client's intervals beside the app's `/metrics` ([`kit::scrape`]). [`cost`] counts
//! what a proxied request costs (`make callgrind`, `make proxy-bench`). [`swarm`] runs
//! the topologies that scale out on a Docker swarm (`make bench-swarm`); [`docker`]
//! checks the compose files against the table and measures the rows through them
//! (`make check-compose`, `make bench-docker`).
//!
//! Every experiment sends its loads through [`load`] (the one place loadgen is asked for
//! one) and implements [`experiment::Experiment`], whose [`experiment::conduct`] runs
//! it, writes its results files and sets the exit status.

pub mod bench_chart;
pub mod chart;
#[cfg(test)]
mod chart_tests;
pub mod cli;
pub mod compare;
pub mod cost;
pub mod docker;
pub mod docs;
pub mod experiment;
pub mod faults;
pub mod live;
pub mod load;
pub mod results;
pub mod runner;
pub mod scenarios;
pub mod swarm;
pub mod sweep;
pub mod target;
pub mod timeline;

/// Prints a line to stdout; a closed pipe (`| head`) is not an error worth a panic.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}
