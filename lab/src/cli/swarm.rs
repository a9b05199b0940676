//! `lab swarm ...`: the lab's topologies that scale out, on a Docker swarm
//! (docs/11-swarm.md).
//!
//! - `lab swarm up --stack sync-workers --replicas 2 [--port 8080]` (`make swarm-up`):
//!   makes this node a single-node swarm if it is in none (and records that in
//!   target/swarm-created), deploys `swarm/STACK.yml` as `lab-STACK`, and returns once
//!   every task is healthy, nginx resolves every app task and a request goes through.
//! - `lab swarm down` (`make swarm-down`): removes the lab's stacks (`lab-*`), and leaves
//!   the swarm only if `swarm up` created it.
//! - `lab swarm bench [--quick] [--results results]` (`make bench-swarm`): throughput
//!   against replicas, and faults under load: results/swarm.{md,json,svg}.
//! - `lab swarm shards --stack sync-workers -k 2 -- FLAGS URL` (`make swarm-shards`): K
//!   loadgen shards as a swarm job (`--mode replicated-job`) on the stack's network, one
//!   common start, then their reports merged (as `loadgen merge`) and the job removed.
//! - `lab swarm status`: the swarm's state and the lab's stacks.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Subcommand;

use crate::experiment;
use crate::swarm::{self, bench, shards, Stack, Topology};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The repository's root (holds swarm/, target/ and results/).
    #[arg(long, global = true, default_value = ".")]
    root: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Deploy a stack (a single-node swarm first, if this node is in none).
    Up {
        /// Which stack file of swarm/.
        #[arg(long, value_enum, default_value = "sync-workers")]
        stack: Topology,
        /// App tasks.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=64))]
        replicas: u32,
        /// The port nginx publishes on this node (host mode).
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Seconds to wait for every task to be healthy.
        #[arg(long, default_value_t = 180)]
        timeout: u64,
    },
    /// Remove the lab's stacks; leave the swarm if `up` created it.
    Down,
    /// Throughput against replicas and faults under load: results/swarm.{md,json,svg}.
    Bench {
        /// Shortened: replicas 1 and 2, loads of a few seconds, no app_async rows.
        #[arg(long)]
        quick: bool,
        /// The port nginx publishes [default: a free one].
        #[arg(long)]
        port: Option<u16>,
        /// Directory for the results files.
        #[arg(long, default_value = "results")]
        results: PathBuf,
        /// Run nothing: rewrite the page and chart from an earlier run's JSON file.
        #[arg(long, value_name = "FILE.json")]
        redraw: Option<PathBuf>,
    },
    /// K loadgen shards as a swarm job against a deployed stack; prints the merged report.
    Shards {
        /// The stack whose network the shards join (deployed by `up`).
        #[arg(long, value_enum, default_value = "sync-workers")]
        stack: Topology,
        /// The stack's name [default: lab-STACK, as `up` names it].
        #[arg(long)]
        stack_name: Option<String>,
        /// K: shards, one job task each (loadgen --shard I/K).
        #[arg(short = 'k', long = "shards", default_value_t = 2,
              value_parser = clap::value_parser!(u32).range(1..=64))]
        shards: u32,
        /// Seconds from now to the common start (--start-at): time for every task to start.
        #[arg(long, default_value = "10", value_parser = |raw: &str| crate::runner::seconds_within(raw, true, crate::runner::TEN_MINUTES))]
        lead: Duration,
        /// Seconds the whole job may take.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
        /// Directory for shard-I.json and merged.json [default: target/swarm-shards/NAME].
        #[arg(long)]
        out: Option<PathBuf>,
        /// A placement constraint (e.g. node.labels.loadgen==true): one shard per node.
        #[arg(long)]
        constraint: Option<String>,
        /// Print the merged report as JSON instead of ab's summary.
        #[arg(long)]
        json: bool,
        /// loadgen's flags and the URL, after `--` (e.g. -- -k -n 4000 -c 500
        /// 'http://nginx:8080/?delay=1').
        #[arg(last = true, required = true)]
        loadgen: Vec<String>,
    },
    /// The swarm's state and the lab's stacks.
    Status,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let root = args.root;
    match args.command {
        Command::Up {
            stack,
            replicas,
            port,
            timeout,
        } => {
            swarm::engine_version()?;
            if swarm::ensure_swarm_recorded(&root)? {
                println!(
                    "initialised a single-node swarm (advertise address {}); `make swarm-down` leaves it",
                    swarm::advertise_addr()
                );
            }
            let name = stack.default_stack_name();
            let deployed = Stack::deploy(&root, stack, &name, replicas, port)?;
            println!(
                "deployed {} as {name}: {replicas} x {}, waiting for health ...",
                stack.file(),
                stack.app()
            );
            let took = deployed.wait_ready(replicas, Duration::from_secs(timeout))?;
            println!(
                "{name} ready in {:.1} s: {}",
                took.as_secs_f64(),
                deployed.url(bench::DELAY)
            );
            for (service, running, desired) in deployed.replicas()? {
                println!("  {service} {running}/{desired}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Down => {
            for name in swarm::lab_stacks()? {
                Stack::existing(Topology::SyncWorkers, &name, 0)
                    .remove(Duration::from_secs(180))?;
                println!("removed stack {name}");
            }
            if swarm::leave_if_recorded(&root)? {
                println!("left the swarm `swarm up` had created");
            } else {
                println!(
                    "swarm state: {} (not created by `swarm up`, left as it is)",
                    swarm::swarm_state()?
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench {
            quick,
            port,
            results,
            redraw,
        } => {
            if let Some(json) = redraw {
                return experiment::redraw::<bench::SwarmExperiment>(
                    &json,
                    &root.join(&results),
                    "swarm",
                );
            }
            let experiment = bench::SwarmExperiment {
                options: bench::Options {
                    root: root.clone(),
                    quick,
                    port,
                },
            };
            experiment::conduct(&experiment, &root.join(&results), "swarm")
        }
        Command::Shards {
            stack,
            stack_name,
            shards: k,
            lead,
            timeout,
            out,
            constraint,
            json,
            loadgen,
        } => {
            swarm::engine_version()?;
            let name = stack_name.unwrap_or_else(|| stack.default_stack_name());
            anyhow::ensure!(
                swarm::lab_stacks()?.contains(&name),
                "no stack {name} deployed: `make swarm-up STACK={}` first",
                stack.id()
            );
            let deployed = Stack::existing(stack, &name, 0);
            let mut job = shards::ShardJob::for_stack(&root, &deployed, k, loadgen);
            job.lead = lead;
            job.timeout = Duration::from_secs(timeout);
            job.constraint = constraint;
            if let Some(out) = out {
                job.out_dir = out;
            }
            let run = job.run(&|line| eprintln!("{line}"))?;
            for report in &run.shards {
                eprintln!("{}", shards::shard_line(report));
            }
            eprintln!(
                "all {k} shard(s) complete {:.1} s after the job was created; merged report: {}",
                run.took.as_secs_f64(),
                run.merged_file.display()
            );
            if json {
                println!("{}", serde_json::to_string_pretty(&run.merged)?);
            } else {
                println!(
                    "Merged {k} shard reports ({})\n",
                    run.merged.shard.as_deref().unwrap_or("")
                );
                print!("{}", loadgen::text::ab_summary(&run.merged));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Status => {
            println!("docker engine {}", swarm::engine_version()?);
            println!("swarm state: {}", swarm::swarm_state()?);
            if swarm::created_marker(&root).exists() {
                println!("(created by `swarm up`: `make swarm-down` leaves it)");
            }
            for name in swarm::lab_stacks()? {
                println!("stack {name}");
                let stack = Stack::existing(Topology::SyncWorkers, &name, 0);
                for (service, running, desired) in stack.replicas()? {
                    println!("  {service} {running}/{desired}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
