//! What the subcommands share: `--bin-dir`'s default, results file names, exit codes.

use std::path::PathBuf;
use std::process::ExitCode;

/// Success when `ok`, else exit status 1 (a report whose criterion failed).
pub(super) fn exit_code(ok: bool) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

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
