//! Plumbing shared by every service of the lab, so that each service's `main.rs` can
//! read as the lesson it teaches and nothing else.
//!
//! - [`delay`]: parsing `?delay=S`, the one input a user controls.
//! - [`config`]: the flags and environment variables the app services share.
//! - [`logging`]: `tracing` output filtered by `RUST_LOG`.
//! - [`limits`]: raising the open-files limit so thousands of sockets fit.
//! - [`upstream`] (features `actix`, `blocking`): calling the slow API and mapping its
//!   failures to 502/504.
//! - [`metrics`]: `GET /metrics`, the counters behind it (shared memory across prefork
//!   workers) and the `METRICS_PORT` listener.
//! - [`procfs`]: what a process tree costs, from `/proc` (the services' `process_*`
//!   metrics; the lab's measurements).
//! - [`uwsgi`]: reading the uwsgi wire protocol (nginx's `uwsgi_pass`).
//! - [`server`] (feature `actix`): binding the listener, SIGTERM and SIGINT as one
//!   shutdown signal, and stopping a server gracefully when a signal fires.

pub mod config;
pub mod delay;
pub mod limits;
pub mod logging;
pub mod metrics;
pub mod procfs;
#[cfg(feature = "actix")]
pub mod server;
pub mod upstream;
pub mod uwsgi;
