//! The kit: what the services' integration tests and the lab's experiments share, and
//! nothing of the experiments themselves (it imports nothing from the lab).
//!
//! - [`topology`]: what can be started, an app ([`topology::App`]) and what stands in
//!   front of it ([`topology::Front`]); the lab's scenario table names one per row.
//! - [`stack`]: a topology started on free loopback ports (the slow API, PostgreSQL if
//!   the app needs it, the app, nginx if it stands in front), stopped on drop;
//!   [`nginx`], [`postgres`] and [`python`] (the pinned venv) are its parts.
//! - [`procs`]: supervision of every child process, so nothing outlives a run, one
//!   interrupt handler, the open-files raise and the file lock.
//! - [`procfs`] and [`kernel`]: what a process group spent, and what the kernel dropped.
//! - [`machine`]: the CPUs, memory, OS and tool versions the figures come from.
//! - [`scrape`]: a service's `GET /metrics`, read with `common`'s parser.
//! - [`repeat`]: something done on a schedule on a thread of its own (sampling,
//!   scraping) while a load runs.
//! - [`testing`]: free ports, real services started for a test, in-process servers.

pub mod kernel;
pub mod machine;
pub mod nginx;
pub mod ports;
pub mod postgres;
pub mod procfs;
pub mod procs;
pub mod python;
pub mod repeat;
pub mod scrape;
pub mod stack;
pub mod testing;
pub mod topology;
