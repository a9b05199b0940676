//! lab: the lab's housekeeping commands.
//!
//! - `lab docs [--check]`: rewrite the generated tables of README.md and docs/ from the
//!   committed `results/*.json` (`make docs`); `--check` only says which pages disagree.
//! - `lab postgres [--port 5432]`: the throwaway PostgreSQL the runner and the tests use,
//!   in the foreground until Ctrl-C (`make pg-up`), for `make run-pg`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use lab::{docs, postgres, procs};

#[derive(Parser, Debug)]
#[command(
    version,
    about = "The lab's housekeeping: generated docs, a throwaway PostgreSQL"
)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Rewrite the generated tables of README.md and docs/*.md from results/*.json.
    Docs {
        /// Only check: exit 1 and name the pages that disagree with the results.
        #[arg(long)]
        check: bool,
        /// The repository's root (holds README.md, docs/ and results/).
        #[arg(long, default_value = ".")]
        root: PathBuf,
    },
    /// Run a throwaway PostgreSQL on 127.0.0.1 until Ctrl-C (role and database `example`).
    Postgres {
        /// Port to listen on.
        #[arg(long, env = "PG_PORT", default_value_t = 5432)]
        port: u16,
        /// max_connections.
        #[arg(long, default_value_t = 100)]
        max_connections: u32,
    },
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("lab: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::Docs { check: true, root } => {
            let outcome = docs::check(&root)?;
            if outcome.changed.is_empty() {
                println!("docs agree with results/*.json");
                return Ok(ExitCode::SUCCESS);
            }
            for page in &outcome.changed {
                eprintln!(
                    "{}: generated tables differ from results/*.json",
                    page.display()
                );
            }
            eprintln!("run `make docs` to rewrite them");
            Ok(ExitCode::FAILURE)
        }
        Command::Docs { check: false, root } => {
            let outcome = docs::write(&root)?;
            for page in &outcome.changed {
                println!("rewrote the generated tables of {}", page.display());
            }
            if outcome.changed.is_empty() {
                println!("docs already agree with results/*.json");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Postgres {
            port,
            max_connections,
        } => {
            procs::install_interrupt_handler()?;
            let db = postgres::Postgres::start(postgres::Settings {
                port,
                max_connections,
            })?;
            println!("PostgreSQL ready: DATABASE_URL={}", db.url());
            println!("(Ctrl-C stops it and deletes its data)");
            loop {
                std::thread::park();
            }
        }
    }
}
