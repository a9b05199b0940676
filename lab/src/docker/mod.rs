//! The compose files of `compose/`: checked against the scenario table ([`check`],
//! `lab check-compose`) and measured on the Docker engine ([`bench`], `lab
//! bench-docker`).
//!
//! This module drives the compose client (v2's `docker compose` or v1's
//! `docker-compose`, as `COMPOSE` says or whichever answers): a [`Project`] is one
//! compose file brought up with `up -d --build`, waited for until every container is
//! healthy, and taken down with its volumes on drop and on Ctrl-C (a
//! [`kit::procs::Teardown`]: the containers are the engine's, not the lab's children).
//! scripts/test-docker.sh drives the same files from bash (scripts/docker-common.sh),
//! with the same client, `LAB_BUILD` and health wait.

pub mod bench;
pub mod check;

use std::path::Path;
use std::time::{Duration, Instant};

use kit::procs::{output_of, Teardown};

/// How long a project may take to be healthy after `up` (scripts/docker-common.sh's
/// `wait_healthy`).
pub const HEALTHY_WITHIN: Duration = Duration::from_secs(180);

/// How often the health wait looks again.
const POLL: Duration = Duration::from_secs(1);

/// The compose client: a program and the arguments before every command (`docker` +
/// `compose`, or `docker-compose` alone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    program: String,
    prefix: Vec<String>,
}

impl Client {
    /// `given` (`COMPOSE`, e.g. `docker compose`), else v2's `docker compose` when it
    /// answers, else v1's `docker-compose`.
    pub fn new(given: Option<&str>) -> anyhow::Result<Client> {
        let client = match given.map(str::trim).filter(|given| !given.is_empty()) {
            Some(given) => Client::parse(given),
            None => {
                let v2 = Client::parse("docker compose");
                if v2.version().is_ok() {
                    v2
                } else {
                    Client::parse("docker-compose")
                }
            }
        };
        client
            .version()
            .map_err(|err| anyhow::anyhow!("no compose client ({}): {err}", client.name()))?;
        Ok(client)
    }

    fn parse(words: &str) -> Client {
        let mut words = words.split_whitespace().map(str::to_owned);
        Client {
            program: words.next().unwrap_or_default(),
            prefix: words.collect(),
        }
    }

    /// As it is typed: `docker compose`, `docker-compose`.
    pub fn name(&self) -> String {
        std::iter::once(self.program.as_str())
            .chain(self.prefix.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// `version --short` (v2, and v1 from 1.25), else the first line of `version`.
    pub fn version(&self) -> anyhow::Result<String> {
        self.run(&["version", "--short"], &[]).or_else(|_| {
            self.run(&["version"], &[])
                .map(|text| text.lines().next().unwrap_or_default().to_owned())
        })
    }

    /// Runs `CLIENT ARGS` with `env` added; its stdout, trimmed.
    fn run(&self, args: &[&str], env: &[(&str, String)]) -> anyhow::Result<String> {
        output_of(&self.program, &self.words(args), env)
    }

    fn words<'a>(&'a self, args: &[&'a str]) -> Vec<&'a str> {
        self.prefix
            .iter()
            .map(String::as_str)
            .chain(args.iter().copied())
            .collect()
    }
}

/// How the images get the services' binaries (`LAB_BUILD`, as for `make test-docker`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Build {
    /// Copied from the host's release build, staged in target/docker-bin/
    /// (compose/Dockerfile.prebuilt; scripts/docker-common.sh stages them).
    Prebuilt,
    /// Built from source inside the image (compose/Dockerfile), as users get them.
    Source,
}

impl Build {
    /// As `LAB_BUILD` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Build::Prebuilt => "prebuilt",
            Build::Source => "source",
        }
    }

    /// What the compose files' `${LAB_DOCKERFILE}` must say.
    fn dockerfile(self) -> &'static str {
        match self {
            Build::Prebuilt => "Dockerfile.prebuilt",
            Build::Source => "Dockerfile",
        }
    }

    /// For prebuilt images: the staged binaries `binaries` (in `root`'s
    /// target/docker-bin/) must exist, or the images would copy nothing, or last week's.
    pub fn check_staged(self, root: &Path, binaries: &[&str]) -> anyhow::Result<()> {
        if self == Build::Source {
            return Ok(());
        }
        let missing: Vec<&str> = binaries
            .iter()
            .copied()
            .filter(|binary| {
                !kit::procs::is_executable(&root.join("target/docker-bin").join(binary))
            })
            .collect();
        if !missing.is_empty() {
            anyhow::bail!(
                "LAB_BUILD=prebuilt, but target/docker-bin/ lacks {}: `make bench-docker` stages them \
                 (scripts/docker-common.sh), or use LAB_BUILD=source",
                missing.join(", ")
            );
        }
        Ok(())
    }
}

/// A compose project that is up (or being brought up): taken down on drop, and by the
/// interrupt handler on Ctrl-C.
pub struct Project {
    client: Client,
    /// `-p NAME -f FILE`: what names the project in every command.
    args: Vec<String>,
    /// `LAB_DOCKERFILE`, for the files' `build:`.
    env: Vec<(&'static str, String)>,
    /// For messages: `compose/async-gevent.yml`.
    pub shown: String,
    down: bool,
    _teardown: Teardown,
}

impl Project {
    /// `up -d --build` of `root/compose/file` as project `name`. The teardown is
    /// registered first: Ctrl-C during the build still takes down what it started. A
    /// failure names the log, whose last lines it quotes; the project is taken down.
    pub fn up(
        client: &Client,
        root: &Path,
        name: &str,
        file: &str,
        build: Build,
    ) -> anyhow::Result<Project> {
        let path = root.join("compose").join(file);
        let args: Vec<String> = ["-p", name, "-f"]
            .iter()
            .map(|arg| (*arg).to_owned())
            .chain(std::iter::once(path.display().to_string()))
            .collect();
        let named: Vec<&str> = args.iter().map(String::as_str).collect();
        let down_args: Vec<&str> = client.words(&named).into_iter().chain(DOWN).collect();
        let teardown = Teardown::register(&client.program, &down_args);
        let project = Project {
            client: client.clone(),
            args,
            env: vec![("LAB_DOCKERFILE", build.dockerfile().to_owned())],
            shown: format!("compose/{file}"),
            down: false,
            _teardown: teardown,
        };
        let log = std::env::temp_dir().join(format!("{name}-up.log"));
        project.up_logged(&log).map_err(|err| {
            anyhow::anyhow!(
                "cannot bring up {}: {err} ({}: {})",
                project.shown,
                log.display(),
                kit::procs::log_tail(&log, 3)
            )
        })?;
        Ok(project)
    }

    /// `up -d --build`, its output in `log` (a build says a lot).
    fn up_logged(&self, log: &Path) -> anyhow::Result<()> {
        let out = std::fs::File::create(log)
            .map_err(|err| anyhow::anyhow!("cannot create {}: {err}", log.display()))?;
        let err = out.try_clone()?;
        let mut words = self.words();
        words.extend(["up", "-d", "--build"]);
        let status = std::process::Command::new(&self.client.program)
            .args(&words)
            .envs(self.env.iter().map(|(key, value)| (*key, value.as_str())))
            .stdin(std::process::Stdio::null())
            .stdout(out)
            .stderr(err)
            .status()
            .map_err(|err| anyhow::anyhow!("cannot run {}: {err}", self.client.name()))?;
        if !status.success() {
            anyhow::bail!("`{} up` failed ({status})", self.client.name());
        }
        Ok(())
    }

    fn words(&self) -> Vec<&str> {
        self.client
            .words(&self.args.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// Runs `CLIENT -p NAME -f FILE ARGS`.
    fn run(&self, args: &[&str]) -> anyhow::Result<String> {
        let mut words: Vec<&str> = self.args.iter().map(String::as_str).collect();
        words.extend(args);
        self.client.run(&words, &self.env)
    }

    /// Waits until every container of the project is healthy (or running, where it has
    /// no health check); how long that took. The error names the containers that were
    /// not, and their states.
    pub fn wait_healthy(&self, within: Duration) -> anyhow::Result<Duration> {
        let started = Instant::now();
        loop {
            let ids = self.run(&["ps", "-q"])?;
            let mut unhealthy = Vec::new();
            for id in ids.split_whitespace() {
                let state = output_of(
                    "docker",
                    &[
                        "inspect",
                        "-f",
                        "{{.Name}} {{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}",
                        id,
                    ],
                    &[],
                )?;
                let (name, state) = state.split_once(' ').unwrap_or((id, state.as_str()));
                if state != "healthy" {
                    unhealthy.push(format!("{}: {state}", name.trim_start_matches('/')));
                }
            }
            if !ids.trim().is_empty() && unhealthy.is_empty() {
                return Ok(started.elapsed());
            }
            if started.elapsed() >= within || kit::procs::interrupted() {
                anyhow::bail!(
                    "{} not healthy after {:.0} s: {}",
                    self.shown,
                    within.as_secs_f64(),
                    if unhealthy.is_empty() {
                        "no containers".to_owned()
                    } else {
                        unhealthy.join(", ")
                    }
                );
            }
            std::thread::sleep(POLL);
        }
    }

    /// `down -v --remove-orphans`: the containers, networks and volumes go.
    pub fn down(mut self) -> anyhow::Result<()> {
        self.down = true;
        self.run(&DOWN).map(|_| ())
    }
}

/// What takes a project down, after `-p NAME -f FILE`.
const DOWN: [&str; 3] = ["down", "-v", "--remove-orphans"];

impl Drop for Project {
    fn drop(&mut self) {
        if !self.down {
            if let Err(err) = self.run(&DOWN) {
                eprintln!("lab: cannot take down {}: {err}", self.shown);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_is_its_program_and_the_words_before_each_command() {
        let v2 = Client::parse("docker compose");
        assert_eq!(v2.name(), "docker compose");
        assert_eq!(v2.words(&["ps", "-q"]), ["compose", "ps", "-q"]);
        let v1 = Client::parse(" docker-compose ");
        assert_eq!(v1.name(), "docker-compose");
        assert_eq!(v1.words(&["down"]), ["down"]);
    }

    #[test]
    fn prebuilt_images_need_their_staged_binaries() {
        let dir = kit::procs::ScratchDir::new("docker").expect("dir");
        let err = Build::Prebuilt
            .check_staged(dir.path(), &["app_async"])
            .expect_err("nothing staged");
        assert!(err.to_string().contains("lacks app_async"), "{err}");
        assert!(Build::Source
            .check_staged(dir.path(), &["app_async"])
            .is_ok());
        assert_eq!(Build::Prebuilt.dockerfile(), "Dockerfile.prebuilt");
    }
}
