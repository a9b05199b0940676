//! The topologies that scale out, on a Docker swarm (`make swarm-up`, `make bench-swarm`,
//! `make test-swarm`; docs/11-swarm.md).
//!
//! Each stack file of `swarm/` runs the slow API, REPLICAS tasks of the app (service
//! `app`, `endpoint_mode: dnsrr`) and nginx published in host mode, which resolves the
//! app's tasks through Docker's DNS. This module drives the `docker` CLI: a single-node
//! swarm when none is active (and leaving it only if it made it), deploying a stack,
//! waiting until every task is healthy, nginx's DNS answer holds every app task and a
//! request goes through, scaling, rolling updates, killing a task, removing a stack.
//! Nothing here sleeps to synchronise: every wait polls a condition, with a deadline and
//! an error that says what was last seen. [`mod@bench`] measures the scale-out lesson and
//! the faults under load; [`shards`] runs K loadgen shards as a swarm job and merges
//! their reports.

pub mod bench;
pub mod shards;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::scenarios::{self, Bound, Scenario};

/// How often the waits look again.
const POLL: Duration = Duration::from_millis(250);

/// The app's port inside its tasks; nginx's inside its own.
const APP_PORT: u16 = 3000;

/// Runs `docker ARGS` with `env` added; returns stdout, trimmed. The error names the
/// command and quotes what docker said.
pub fn docker_env(args: &[&str], env: &[(&str, String)]) -> anyhow::Result<String> {
    kit::procs::output_of("docker", args, env)
}

/// Runs `docker ARGS`; see [`docker_env`].
pub fn docker(args: &[&str]) -> anyhow::Result<String> {
    docker_env(args, &[])
}

/// The engine's version, or an error saying there is no engine to talk to.
pub fn engine_version() -> anyhow::Result<String> {
    docker(&["version", "--format", "{{.Server.Version}}"])
        .map_err(|err| anyhow::anyhow!("no Docker engine reachable: {err}"))
}

/// `inactive`, `active`, `pending`, `error` or `locked`: this node's swarm state.
pub fn swarm_state() -> anyhow::Result<String> {
    docker(&["info", "--format", "{{.Swarm.LocalNodeState}}"])
}

/// The address `docker swarm init` advertises: `SWARM_ADVERTISE_ADDR`, else 127.0.0.1
/// (a single node; see docs/11-swarm.md for real hosts).
pub fn advertise_addr() -> String {
    std::env::var("SWARM_ADVERTISE_ADDR").unwrap_or_else(|_| "127.0.0.1".to_owned())
}

/// Makes this node a swarm manager if it is in no swarm. Returns true when it created
/// the swarm (the caller then owns leaving it: [`leave`]).
pub fn ensure_swarm() -> anyhow::Result<bool> {
    match swarm_state()?.as_str() {
        "active" => {
            let manager = docker(&["info", "--format", "{{.Swarm.ControlAvailable}}"])?;
            anyhow::ensure!(
                manager == "true",
                "this node is in a swarm but not a manager: deploy from a manager node"
            );
            Ok(false)
        }
        "inactive" => {
            docker(&["swarm", "init", "--advertise-addr", &advertise_addr()])?;
            Ok(true)
        }
        other => anyhow::bail!(
            "this node's swarm state is `{other}`: fix it (docker swarm leave --force?) first"
        ),
    }
}

/// `docker swarm leave --force`: only for a swarm this program created.
pub fn leave() -> anyhow::Result<()> {
    docker(&["swarm", "leave", "--force"]).map(drop)
}

/// The file that records "make swarm-up created this swarm" between commands.
pub fn created_marker(root: &Path) -> PathBuf {
    root.join("target").join("swarm-created")
}

/// [`ensure_swarm`], remembering in [`created_marker`] that the swarm is ours.
pub fn ensure_swarm_recorded(root: &Path) -> anyhow::Result<bool> {
    let created = ensure_swarm()?;
    if created {
        let marker = created_marker(root);
        if let Some(dir) = marker.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(
            &marker,
            format!(
                "docker swarm init --advertise-addr {} by lab's swarm command at {}\n",
                advertise_addr(),
                crate::results::now_utc()
            ),
        )
        .map_err(|err| anyhow::anyhow!("cannot write {}: {err}", marker.display()))?;
    }
    Ok(created)
}

/// Leaves the swarm if [`created_marker`] says it is ours; true if it left.
pub fn leave_if_recorded(root: &Path) -> anyhow::Result<bool> {
    let marker = created_marker(root);
    if !marker.exists() {
        return Ok(false);
    }
    if swarm_state()? == "active" {
        leave()?;
    }
    std::fs::remove_file(&marker)
        .map_err(|err| anyhow::anyhow!("cannot remove {}: {err}", marker.display()))?;
    Ok(true)
}

/// The stacks of `swarm/`: the topologies whose throughput scales with replicas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Topology {
    /// app_sync 1 worker x 1 thread (the Flask dev server): 1 in flight per task.
    Devserver,
    /// app_sync 4 workers x 50 threads (uWSGI / Gunicorn): 200 in flight per task.
    SyncWorkers,
    /// app_async, one event loop: no cap below the load.
    Async,
}

impl Topology {
    pub const ALL: [Topology; 3] = [Topology::Devserver, Topology::SyncWorkers, Topology::Async];

    /// `devserver`, `sync-workers`, `async`: the stack file's name and the make knob.
    pub fn id(self) -> &'static str {
        self.scenario().id
    }

    /// The stack file, relative to the repository's root.
    pub fn file(self) -> String {
        format!("swarm/{}.yml", self.id())
    }

    /// The app each task runs.
    pub fn app(self) -> &'static str {
        match self {
            Topology::Devserver => "app_sync 1 worker x 1 thread",
            Topology::SyncWorkers => "app_sync 4 workers x 50 threads",
            Topology::Async => "app_async 1 event loop",
        }
    }

    /// Its row of the scenario table: the app each task runs, as `make bench-all`
    /// runs it natively.
    pub fn scenario(self) -> &'static Scenario {
        match self {
            Topology::Devserver => &scenarios::DEVSERVER,
            Topology::SyncWorkers => &scenarios::SYNC_WORKERS,
            Topology::Async => &scenarios::ASYNC,
        }
    }

    /// Requests one task holds in flight (`None`: no cap below any load here): its
    /// row's cap.
    pub fn in_flight_per_task(self) -> Option<u32> {
        match self.scenario().bound {
            Bound::InFlight { capacity } => capacity,
            Bound::Stage { .. } => None,
        }
    }

    /// Little's law: the most requests/s `replicas` tasks serve at `concurrency`
    /// clients when each request takes `delay`.
    pub fn ceiling_rps(self, replicas: u32, concurrency: u32, delay: Duration) -> f64 {
        let in_flight = match self.in_flight_per_task() {
            Some(cap) => concurrency.min(cap.saturating_mul(replicas)),
            None => concurrency,
        };
        f64::from(in_flight) / delay.as_secs_f64()
    }

    /// The stack name `make swarm-up` uses.
    pub fn default_stack_name(self) -> String {
        format!("lab-{}", self.id())
    }
}

/// A deployed stack.
#[derive(Debug, Clone)]
pub struct Stack {
    pub topology: Topology,
    /// The stack's name (`docker stack ls`).
    pub name: String,
    /// The port nginx publishes on this node.
    pub port: u16,
}

/// What [`Stack::wait_ready`] saw last: for the error when it never gets there.
#[derive(Debug, Default)]
struct Seen {
    services: String,
    addresses: usize,
    answer: String,
}

impl Stack {
    /// A handle on a stack that may already run (for `down`, `scale`).
    pub fn existing(topology: Topology, name: &str, port: u16) -> Stack {
        Stack {
            topology,
            name: name.to_owned(),
            port,
        }
    }

    /// `docker stack deploy` of `root/swarm/ID.yml` as `name` with `replicas` app tasks
    /// published on `port` (no registry lookups: the images are local). Returns at
    /// once; [`Stack::wait_ready`] waits.
    pub fn deploy(
        root: &Path,
        topology: Topology,
        name: &str,
        replicas: u32,
        port: u16,
    ) -> anyhow::Result<Stack> {
        let file = root.join(topology.file());
        anyhow::ensure!(file.exists(), "no stack file {}", file.display());
        let file = file.display().to_string();
        for image in ["slow_api", app_image(topology)] {
            let image = format!("flask-gevent-lab/{image}:{}", tag());
            docker(&["image", "inspect", "--format", "{{.Id}}", &image]).map_err(|_| {
                anyhow::anyhow!("image {image} is missing: run `make swarm-images` first")
            })?;
        }
        docker_env(
            &[
                "stack",
                "deploy",
                "--prune",
                "--resolve-image",
                "never",
                "-c",
                &file,
                name,
            ],
            &[
                ("REPLICAS", replicas.to_string()),
                ("PORT", port.to_string()),
                ("LAB_TAG", tag()),
            ],
        )?;
        Ok(Stack::existing(topology, name, port))
    }

    /// `STACK_SERVICE`, as swarm names a stack's service.
    pub fn service(&self, service: &str) -> String {
        format!("{}_{service}", self.name)
    }

    /// The stack's overlay network (`attachable`: a job or container may join it and
    /// reach the services by name).
    pub fn network(&self) -> String {
        format!("{}_default", self.name)
    }

    /// The URL nginx answers on, from this node.
    pub fn url(&self, delay: Duration) -> String {
        format!(
            "http://127.0.0.1:{}/?delay={}",
            self.port,
            delay.as_secs_f64()
        )
    }

    /// Running replicas of each service of the stack: `(service, running, desired)`.
    pub fn replicas(&self) -> anyhow::Result<Vec<(String, u32, u32)>> {
        let filter = format!("label=com.docker.stack.namespace={}", self.name);
        let listing = docker(&[
            "service",
            "ls",
            "--filter",
            &filter,
            "--format",
            "{{.Name}} {{.Replicas}}",
        ])?;
        Ok(parse_replicas(&listing))
    }

    /// Waits until every service runs all its tasks, healthy (swarm counts a task with
    /// a health check as running only once it is healthy), nginx's DNS answer for
    /// `app` holds exactly `replicas` addresses, and a request through nginx is
    /// answered by the app. Returns how long it took.
    pub fn wait_ready(&self, replicas: u32, timeout: Duration) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let mut seen = Seen::default();
        loop {
            if self.ready_once(replicas, &mut seen)? {
                return Ok(started.elapsed());
            }
            if started.elapsed() > timeout {
                let tasks = docker(&[
                    "stack",
                    "ps",
                    "--no-trunc",
                    "--format",
                    "{{.Name}} {{.CurrentState}} {{.Error}}",
                    &self.name,
                ])
                .unwrap_or_else(|err| err.to_string());
                anyhow::bail!(
                    "stack {} not ready after {:.0} s (want {replicas} app tasks): services [{}], \
                     nginx resolves app to {} address(es), last answer through nginx: {}\ntasks:\n{tasks}",
                    self.name,
                    timeout.as_secs_f64(),
                    seen.services,
                    seen.addresses,
                    seen.answer,
                );
            }
            std::thread::sleep(POLL);
        }
    }

    fn ready_once(&self, replicas: u32, seen: &mut Seen) -> anyhow::Result<bool> {
        let services = self.replicas()?;
        seen.services = services
            .iter()
            .map(|(name, running, desired)| format!("{name} {running}/{desired}"))
            .collect::<Vec<_>>()
            .join(", ");
        let app = self.service("app");
        let converged = services.len() == 3
            && services
                .iter()
                .all(|(_, running, desired)| running == desired && *desired > 0)
            && services
                .iter()
                .any(|(name, _, desired)| *name == app && *desired == replicas);
        if !converged {
            return Ok(false);
        }
        seen.addresses = match self.app_addresses() {
            Ok(addresses) => addresses.len(),
            Err(_) => 0,
        };
        if seen.addresses != replicas as usize {
            return Ok(false);
        }
        let answer = get(&self.url(Duration::ZERO), Duration::from_secs(10));
        let ok = matches!(&answer, Ok((200, body)) if body.starts_with("Hi there!"));
        seen.answer = match answer {
            Ok((status, body)) => format!("{status} {}", body.lines().next().unwrap_or("")),
            Err(err) => err,
        };
        Ok(ok)
    }

    /// The app tasks' addresses as nginx's container resolves `app` (Docker's DNS):
    /// the addresses nginx sends requests to. (On this node only: the nginx task runs
    /// here.)
    pub fn app_addresses(&self) -> anyhow::Result<BTreeSet<String>> {
        let nginx = self
            .containers("nginx")?
            .into_iter()
            .next()
            .ok_or_else(|| anyhow::anyhow!("no running nginx container on this node"))?;
        let answer = docker(&["exec", &nginx, "getent", "ahostsv4", "app"]);
        // No task: getent exits 2, which is an empty answer, not an error.
        let answer = answer.unwrap_or_default();
        Ok(answer
            .lines()
            .filter_map(|line| line.split_whitespace().next())
            .map(str::to_owned)
            .collect())
    }

    /// The running containers of one of the stack's services on this node.
    pub fn containers(&self, service: &str) -> anyhow::Result<Vec<String>> {
        let filter = format!(
            "label=com.docker.swarm.service.name={}",
            self.service(service)
        );
        let ids = docker(&[
            "ps",
            "-q",
            "--filter",
            &filter,
            "--filter",
            "status=running",
        ])?;
        Ok(ids.lines().map(str::to_owned).collect())
    }

    /// `docker service scale STACK_app=N`, returning once swarm says it converged
    /// (every new task healthy); then waits until nginx resolves N tasks.
    pub fn scale(&self, replicas: u32, timeout: Duration) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let target = format!("{}={replicas}", self.service("app"));
        docker(&["service", "scale", "--detach=false", &target])?;
        self.wait_ready(replicas, timeout.saturating_sub(started.elapsed()))?;
        Ok(started.elapsed())
    }

    /// `docker service update --force STACK_app`: every task replaced, one at a time as
    /// the stack's `update_config` says; returns when swarm says it converged.
    pub fn rolling_update(&self) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let app = self.service("app");
        docker(&[
            "service",
            "update",
            "--force",
            "--detach=false",
            "--quiet",
            &app,
        ])?;
        // The CLI returns once the new tasks run; swarm says `completed` after watching
        // them for `update_config.monitor`. `rollback_*` or `paused`: the update failed.
        loop {
            let state = docker(&[
                "service",
                "inspect",
                "--format",
                "{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}",
                &app,
            ])?;
            match state.as_str() {
                "" | "completed" => return Ok(started.elapsed()),
                "updating" if started.elapsed() < Duration::from_secs(300) => {
                    std::thread::sleep(POLL)
                }
                _ => anyhow::bail!(
                    "the rolling update of {app} is `{state}` after {:.0} s, not completed",
                    started.elapsed().as_secs_f64()
                ),
            }
        }
    }

    /// `docker kill` of one running app task's container; returns its id.
    pub fn kill_one_task(&self) -> anyhow::Result<String> {
        let victim = self
            .containers("app")?
            .into_iter()
            .next()
            .ok_or_else(|| anyhow::anyhow!("no running app container to kill"))?;
        docker(&["kill", &victim])?;
        Ok(victim)
    }

    /// `docker stack rm`, then waits until its containers and network are gone (so the
    /// published port is free for the next stack).
    pub fn remove(&self, timeout: Duration) -> anyhow::Result<()> {
        docker(&["stack", "rm", &self.name])?;
        let filter = format!("label=com.docker.stack.namespace={}", self.name);
        let started = Instant::now();
        loop {
            let containers = docker(&["ps", "-aq", "--filter", &filter])?;
            let networks = docker(&["network", "ls", "-q", "--filter", &filter])?;
            if containers.is_empty() && networks.is_empty() {
                return Ok(());
            }
            if started.elapsed() > timeout {
                anyhow::bail!(
                    "stack {} still has containers [{}] or networks [{}] after {:.0} s",
                    self.name,
                    containers.replace('\n', " "),
                    networks.replace('\n', " "),
                    timeout.as_secs_f64()
                );
            }
            std::thread::sleep(POLL);
        }
    }
}

/// The lab's stacks deployed now (names starting with `lab-`).
pub fn lab_stacks() -> anyhow::Result<Vec<String>> {
    if swarm_state()? != "active" {
        return Ok(Vec::new());
    }
    let names = docker(&["stack", "ls", "--format", "{{.Name}}"])?;
    Ok(names
        .lines()
        .filter(|name| name.starts_with("lab-"))
        .map(str::to_owned)
        .collect())
}

/// The image tag the stacks run: `LAB_TAG`, else `local`.
pub fn tag() -> String {
    std::env::var("LAB_TAG").unwrap_or_else(|_| "local".to_owned())
}

fn app_image(topology: Topology) -> &'static str {
    match topology {
        Topology::Devserver | Topology::SyncWorkers => "app_sync",
        Topology::Async => "app_async",
    }
}

/// `docker service ls --format '{{.Name}} {{.Replicas}}'` -> `(name, running, desired)`.
/// Replicas read `2/3`, or `2/3 (max 1 per node)`; a global service `1/1` as well.
pub fn parse_replicas(listing: &str) -> Vec<(String, u32, u32)> {
    listing
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let name = words.next()?;
            let (running, desired) = words.next()?.split_once('/')?;
            Some((
                name.to_owned(),
                running.parse().ok()?,
                desired.parse().ok()?,
            ))
        })
        .collect()
}

/// `GET url` on a fresh connection: `(status, body)`, or what went wrong.
pub fn get(url: &str, timeout: Duration) -> Result<(u16, String), String> {
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .max_idle_connections(0)
        .build();
    let agent = ureq::Agent::new_with_config(config);
    let mut response = agent.get(url).call().map_err(|err| err.to_string())?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .read_to_string()
        .map_err(|err| err.to_string())?;
    Ok((status, body))
}

/// A port nobody listens on now on every address: a stack publishes its port there.
pub fn free_port() -> anyhow::Result<u16> {
    kit::ports::free_port_on(std::net::Ipv4Addr::UNSPECIFIED.into())
}

/// The app's port inside its tasks (every stack's `app` listens there).
pub fn app_port() -> u16 {
    APP_PORT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replicas_are_read_from_service_ls() {
        let listing = "lab-x_app 2/3\nlab-x_nginx 1/1 (max 1 per node)\nnonsense\n";
        assert_eq!(
            parse_replicas(listing),
            vec![
                ("lab-x_app".to_owned(), 2, 3),
                ("lab-x_nginx".to_owned(), 1, 1)
            ]
        );
    }

    #[test]
    fn ceilings_follow_littles_law() {
        assert_eq!(
            Topology::Devserver.ceiling_rps(4, 8, Duration::from_secs(1)),
            4.0
        );
        assert_eq!(
            Topology::SyncWorkers.ceiling_rps(2, 500, Duration::from_secs(1)),
            400.0
        );
        assert_eq!(
            Topology::SyncWorkers.ceiling_rps(2, 200, Duration::from_secs(1)),
            200.0
        );
        assert_eq!(
            Topology::Async.ceiling_rps(1, 200, Duration::from_secs(1)),
            200.0
        );
        assert_eq!(Topology::Devserver.file(), "swarm/devserver.yml");
    }
}
