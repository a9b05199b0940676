//! What the subcommands share: `--bin-dir`'s default and results file names.

use std::path::PathBuf;

/// `--bin-dir`, or the directory this program runs from (target/release).
pub(super) fn bin_dir(given: Option<PathBuf>) -> PathBuf {
    given.unwrap_or_else(crate::runner::Options::default_bin_dir)
}

/// A results file's base name must be a plain file name.
pub(super) fn check_name(name: &str) -> anyhow::Result<()> {
    if name.is_empty() || name.contains(['/', '\\']) {
        anyhow::bail!("--name {name:?} must be a plain file name");
    }
    Ok(())
}
