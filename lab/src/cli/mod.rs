//! The `lab` command line: one subcommand per experiment. Each parses its flags here,
//! runs its module, prints its table and says where it wrote its files; the process
//! gets one interrupt handler (children stop on Ctrl-C) and one open-files raise, and
//! every error is one line and exit status 1.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod bench;
mod chaos;
mod compare;
mod docker;
mod house;
mod live;
mod shared;
mod swarm;
mod sweep;

#[derive(Parser, Debug)]
#[command(
    name = "lab",
    version,
    about = "The lab's experiments: every topology of the article on this machine, measured"
)]
struct Lab {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Every scenario, one table and one chart: results/bench-all.{md,json,svg} (make bench-all).
    Bench(bench::Args),
    /// Throughput, p99, memory and threads against 1 to 10,000 clients: results/sweep.* (make sweep).
    Sweep(sweep::Args),
    /// The article's Python servers beside the Rust rows: results/compare.* (make bench-python).
    Compare(compare::Args),
    /// Each fault of the table during a load: results/chaos.{json,md} (make chaos).
    Chaos(chaos::FaultsArgs),
    /// Slow clients beside a normal load: results/slowloris.{json,md} (make slowloris).
    Slowloris(chaos::SlowlorisArgs),
    /// A million requests through app_async at c=1000: results/soak.{json,md} (make soak).
    Soak(chaos::SoakArgs),
    /// Instructions per proxied request, app_async and nginx-proxy, under callgrind.
    Callgrind(house::CallgrindArgs),
    /// app_async, nginx-proxy and the slow API alone side by side: requests/s, CPU per request.
    ProxyBench(house::ProxyBenchArgs),
    /// loadgen beside wrk and ab on the same loads: results/bench-loadgen.{json,md} (make bench-loadgen).
    BenchLoadgen(house::LoadgenBenchArgs),
    /// The keep-alive burst's first round, app_async beside nginx-proxy and direct, round by round: results/first-round.{json,md} (make first-round).
    FirstRound(house::FirstRoundArgs),
    /// make bench-all's rows through the compose files, beside the native run: results/bench-docker.{json,md} (make bench-docker).
    BenchDocker(docker::BenchDockerArgs),
    /// Check compose/*.yml against the scenario table and the house rules (make check-compose).
    CheckCompose(docker::CheckComposeArgs),
    /// The topologies that scale out, on a Docker swarm (make swarm-up, bench-swarm, ...).
    Swarm(swarm::Args),
    /// The live page: watch a topology meet its load in a browser, on 127.0.0.1:8089 (make live).
    Live(live::Args),
    /// Rewrite the generated tables of README.md and docs/*.md from results/*.json.
    Docs(house::DocsArgs),
    /// Run a throwaway PostgreSQL on 127.0.0.1 until Ctrl-C (role and database `example`).
    Postgres(house::PostgresArgs),
}

/// Parses the command line and runs the subcommand; errors are one line, exit status 1.
pub fn main() -> ExitCode {
    let outcome = run(Lab::parse().command);
    // Ctrl-C: the handler stops the services and exits 130, whatever the run returned.
    kit::procs::await_interrupt_exit();
    match outcome {
        Ok(code) => code,
        Err(err) => {
            eprintln!("lab: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> anyhow::Result<ExitCode> {
    // Everything but `docs` and `check-compose` starts processes or opens thousands of sockets: Ctrl-C stops
    // the children before the lab exits, and the services inherit the raised limit.
    if !matches!(command, Command::Docs(_) | Command::CheckCompose(_)) {
        kit::procs::install_interrupt_handler()?;
        kit::procs::raise_open_files(65_536);
    }
    match command {
        Command::Bench(args) => bench::run(args),
        Command::Sweep(args) => sweep::run(args),
        Command::Compare(args) => compare::run(args),
        Command::Chaos(args) => chaos::faults(args),
        Command::Slowloris(args) => chaos::slowloris(args),
        Command::Soak(args) => chaos::soak(args),
        Command::Callgrind(args) => house::callgrind(args),
        Command::ProxyBench(args) => house::proxy_bench(args),
        Command::BenchLoadgen(args) => house::bench_loadgen(args),
        Command::FirstRound(args) => house::first_round(args),
        Command::BenchDocker(args) => docker::bench_docker(args),
        Command::CheckCompose(args) => docker::check_compose(args),
        Command::Swarm(args) => swarm::run(args),
        Command::Live(args) => live::run(args),
        Command::Docs(args) => house::docs(args),
        Command::Postgres(args) => house::postgres(args),
    }
}
