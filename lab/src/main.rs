//! lab: every experiment of the lab, one subcommand each (`lab --help` lists them;
//! docs/development.md says how to add one). The commands live in [`lab::cli`].

use std::process::ExitCode;

// The loads run in this process: the same allocator as the `loadgen` binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    lab::cli::main()
}
