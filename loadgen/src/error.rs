//! What can stop a load before it starts: the caller's mistake or the machine's. Every
//! module that checks a spec returns it, so it sits under them all.

/// Why a spec cannot run. [`LoadError::is_usage`] tells a caller's mistake (exit 2)
/// from the machine's (exit 1).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The URL does not parse or is not `http://host[:port]/...`.
    #[error("invalid URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    /// A field out of range (zero concurrency, a bad header, ...).
    #[error("{0}")]
    InvalidSpec(String),
    /// The host name does not resolve.
    #[error("cannot resolve {host}: {reason}")]
    Resolve { host: String, reason: String },
    /// Not enough file descriptors for the concurrency asked, even after raising the limit.
    #[error(
        "-c {concurrency} needs about {needed} open files but the limit is {limit} \
         (hard limit reached; raise it with `ulimit -Hn` as root or lower -c)"
    )]
    TooFewFiles {
        concurrency: usize,
        needed: u64,
        limit: u64,
    },
    /// The runtime could not start.
    #[error("cannot start the runtime: {0}")]
    Runtime(std::io::Error),
}

impl LoadError {
    /// True when the caller's input is wrong (ab's exit status for bad flags/URLs is 2
    /// in loadgen), false when the environment is.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            LoadError::InvalidUrl { .. } | LoadError::InvalidSpec(_)
        )
    }
}
