//! `lab live`: the live page and its API (`make live`).

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::cli::shared::bin_dir;
use crate::live;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The port of the page.
    #[arg(long, env = "LIVE_PORT", default_value_t = 8089)]
    port: u16,
    /// The address to listen on (0.0.0.0 in a container).
    #[arg(long, env = "LIVE_HOST", default_value = "127.0.0.1")]
    host: IpAddr,
    /// The lock a run holds, shared with the benchmarks.
    #[arg(long, env = "BENCH_LOCK", default_value = kit::procs::BENCH_LOCK)]
    bench_lock: PathBuf,
    /// Directory holding the service binaries [default: this program's own directory].
    #[arg(long)]
    bin_dir: Option<PathBuf>,
    /// In a container beside a compose file's services (compose/live.yml): load the
    /// topologies of this file (e.g. async-gevent.yml) over its network instead of
    /// starting them.
    #[arg(long, env = "LIVE_COMPOSE_FILE")]
    compose_file: Option<String>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    live::serve(live::Options {
        address: (args.host, args.port).into(),
        bin_dir: bin_dir(args.bin_dir),
        bench_lock: args.bench_lock,
        compose_file: args.compose_file,
    })?;
    Ok(ExitCode::SUCCESS)
}
