//! Load from several hosts as a swarm job (`swarm shards`, `make swarm-shards`;
//! docs/11-swarm.md, "Load from several hosts").
//!
//! K loadgen shards are one `replicated-job` service of K tasks, `--restart-condition
//! none`, running the loadgen image (`make swarm-images`) on the stack's overlay network,
//! so the URL may name a service (`http://nginx:8080/`). Task I runs
//! `loadgen --shard I/K --start-at T --json FLAGS URL` with T one common wall-clock start
//! a few seconds ahead, and writes its report to `OUT/shard-I.json` (stderr to
//! `OUT/shard-I.err`) in a directory bind-mounted from its node. [`ShardJob::run`] waits
//! for every task to be `Complete` (polling `docker service ps`, with a deadline; the
//! first `Failed` or `Rejected` task is an error that quotes swarm's and loadgen's
//! message), reads the K reports, adds them with [`loadgen::merge_reports`] (what
//! `loadgen merge` runs), writes `OUT/merged.json` and removes the job service.
//!
//! Which task is shard I: swarm's `{{.Task.Slot}}`. On the lab's engine (20.10) the
//! tasks of a replicated job get slots 0 to K-1, and slot 0 renders as the node's ID
//! (swarm's name for a task without a slot), not `0`; an engine that numbers them 1 to K
//! is as good. The task's shell therefore maps a numeric slot N >= 1 to shard N and
//! anything else (the node ID, `0`) to shard K: 1 to K either way.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::{docker, Stack, POLL};

/// One sharded load as a swarm job.
#[derive(Debug, Clone)]
pub struct ShardJob {
    /// The job service's name.
    pub name: String,
    /// K: shards, one task each.
    pub shards: u32,
    /// The loadgen image (`flask-gevent-lab/loadgen:TAG`).
    pub image: String,
    /// The overlay network the tasks join (`None`: only the default bridge; then the
    /// URL must be reachable from there).
    pub network: Option<String>,
    /// Where the reports go: bind-mounted into every task as `/out` (on several hosts,
    /// a shared filesystem).
    pub out_dir: PathBuf,
    /// How far ahead the common start is: long enough for swarm to schedule and start
    /// every task.
    pub lead: Duration,
    /// How long the job may take from creation to the last task's completion.
    pub timeout: Duration,
    /// A placement constraint (`node.labels.loadgen==true`); with one, at most one
    /// shard per node.
    pub constraint: Option<String>,
    /// loadgen's flags and the URL, as after `loadgen` (without `--shard`,
    /// `--start-at` and `--json`, which the job adds).
    pub loadgen_args: Vec<String>,
}

/// What a finished job gave.
#[derive(Debug, Clone)]
pub struct ShardRun {
    /// The common start, Unix seconds.
    pub start_at: f64,
    /// `shard-1.json` to `shard-K.json`.
    pub files: Vec<PathBuf>,
    /// Each shard's report, in shard order.
    pub shards: Vec<loadgen::Report>,
    /// Their merge.
    pub merged: loadgen::Report,
    /// `merged.json`.
    pub merged_file: PathBuf,
    /// From `docker service create` to the last task's completion.
    pub took: Duration,
}

/// The task's state as `docker service ps` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskState {
    /// Which shard the task ran (from its name, as the task's shell maps its slot).
    pub shard: u32,
    /// The task's name, `JOB.SLOT` or `JOB.NODE_ID`.
    pub name: String,
    /// `Complete`, `Running`, `Failed`, `Rejected`, `Pending`, ...
    pub state: String,
    /// swarm's error for the task (empty if none).
    pub error: String,
}

impl ShardJob {
    /// A job of `shards` shards against a stack: joins its network, named after it,
    /// reports under `root/target/swarm-shards/STACK`, a 10 s lead, 5 minutes at most.
    pub fn for_stack(
        root: &Path,
        stack: &Stack,
        shards: u32,
        loadgen_args: Vec<String>,
    ) -> ShardJob {
        ShardJob {
            name: format!("{}-shards", stack.name),
            shards,
            image: format!("flask-gevent-lab/loadgen:{}", super::tag()),
            network: Some(stack.network()),
            out_dir: root.join("target").join("swarm-shards").join(&stack.name),
            lead: Duration::from_secs(10),
            timeout: Duration::from_secs(300),
            constraint: None,
            loadgen_args,
        }
    }

    /// The task's shell command: slot to shard, then loadgen with its output in /out.
    pub fn task_command(&self) -> String {
        let args: Vec<String> = self.loadgen_args.iter().map(|a| sh_quote(a)).collect();
        format!(
            "case \"$SLOT\" in ''|0|*[!0-9]*) I=$K ;; *) I=$SLOT ;; esac; \
             exec /usr/local/bin/loadgen --shard \"$I/$K\" --start-at \"$START_AT\" --json {} \
             > \"/out/shard-$I.json\" 2> \"/out/shard-$I.err\"",
            args.join(" ")
        )
    }

    /// Runs the job to completion, merges the reports and removes the job service
    /// (also when it failed). `say` gets progress lines.
    pub fn run(&self, say: &dyn Fn(&str)) -> anyhow::Result<ShardRun> {
        anyhow::ensure!(self.shards >= 1, "shards: at least 1");
        anyhow::ensure!(
            !self.loadgen_args.is_empty(),
            "no loadgen flags and URL for the shards"
        );
        for flag in ["--shard", "--start-at", "--json"] {
            anyhow::ensure!(
                !self.loadgen_args.iter().any(|arg| arg.starts_with(flag)),
                "{flag} is the job's to set: give only the load's flags and the URL"
            );
        }
        docker(&["image", "inspect", "--format", "{{.Id}}", &self.image]).map_err(|_| {
            anyhow::anyhow!(
                "image {} is missing: run `make swarm-images` first",
                self.image
            )
        })?;
        let out_dir = self.prepare_out_dir()?;
        // A job of the same name left by an interrupted run.
        if docker(&["service", "inspect", "--format", "{{.ID}}", &self.name]).is_ok() {
            self.remove()?;
        }
        let started = Instant::now();
        let start_at = unix_now() + self.lead.as_secs_f64();
        let created = self.create(&out_dir, start_at);
        let outcome = created.and_then(|()| {
            say(&format!(
                "job {}: {} shard(s) of `loadgen {}`, starting at {start_at:.3} (in {:.0} s)",
                self.name,
                self.shards,
                self.loadgen_args.join(" "),
                self.lead.as_secs_f64()
            ));
            self.wait_complete(&out_dir)?;
            let took = started.elapsed();
            self.collect(&out_dir, start_at, took)
        });
        let removed = self.remove();
        let run = outcome?;
        removed?;
        Ok(run)
    }

    /// Creates (or empties) the reports' directory, writable by the image's user.
    fn prepare_out_dir(&self) -> anyhow::Result<PathBuf> {
        use std::os::unix::fs::PermissionsExt;
        std::fs::create_dir_all(&self.out_dir)
            .map_err(|err| anyhow::anyhow!("cannot create {}: {err}", self.out_dir.display()))?;
        let out_dir = self.out_dir.canonicalize()?;
        std::fs::set_permissions(&out_dir, std::fs::Permissions::from_mode(0o777))?;
        for entry in std::fs::read_dir(&out_dir)? {
            let path = entry?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.starts_with("shard-") || name == "merged.json" {
                std::fs::remove_file(&path)
                    .map_err(|err| anyhow::anyhow!("cannot remove {}: {err}", path.display()))?;
            }
        }
        Ok(out_dir)
    }

    fn create(&self, out_dir: &Path, start_at: f64) -> anyhow::Result<()> {
        let replicas = self.shards.to_string();
        let mount = format!("type=bind,source={},target=/out", out_dir.display());
        let k = format!("K={}", self.shards);
        let start = format!("START_AT={start_at:.3}");
        let mut args = vec![
            "service",
            "create",
            "--name",
            &self.name,
            "--mode",
            "replicated-job",
            "--replicas",
            &replicas,
            "--restart-condition",
            "none",
            "--detach",
            "--quiet",
            "--mount",
            &mount,
            "--env",
            "SLOT={{.Task.Slot}}",
            "--env",
            &k,
            "--env",
            &start,
            "--entrypoint",
            "/bin/sh",
        ];
        if let Some(network) = &self.network {
            args.extend(["--network", network]);
        }
        if let Some(constraint) = &self.constraint {
            args.extend(["--constraint", constraint, "--replicas-max-per-node", "1"]);
        }
        let command = self.task_command();
        args.extend([self.image.as_str(), "-c", &command]);
        docker(&args).map(drop)
    }

    /// The job's tasks, as `docker service ps` lists them.
    pub fn tasks(&self) -> anyhow::Result<Vec<TaskState>> {
        let listing = docker(&[
            "service",
            "ps",
            "--no-trunc",
            "--format",
            "{{.Name}}|{{.CurrentState}}|{{.Error}}",
            &self.name,
        ])?;
        Ok(parse_tasks(&listing, &self.name, self.shards))
    }

    /// Polls until K tasks are `Complete`; the first failed one, or the deadline, is an
    /// error.
    fn wait_complete(&self, out_dir: &Path) -> anyhow::Result<()> {
        let started = Instant::now();
        loop {
            let tasks = self.tasks()?;
            if let Some(task) = tasks
                .iter()
                .find(|task| matches!(task.state.as_str(), "Failed" | "Rejected"))
            {
                let said = last_line(&out_dir.join(format!("shard-{}.err", task.shard)));
                anyhow::bail!(
                    "shard {}/{} ({}) {}: {}{}",
                    task.shard,
                    self.shards,
                    task.name,
                    task.state.to_lowercase(),
                    if task.error.is_empty() {
                        "no error from swarm"
                    } else {
                        &task.error
                    },
                    said.map(|line| format!("; loadgen said: {line}"))
                        .unwrap_or_default()
                );
            }
            let complete = tasks.iter().filter(|task| task.state == "Complete").count();
            if complete == self.shards as usize {
                return Ok(());
            }
            if started.elapsed() > self.timeout {
                let states: Vec<String> = tasks
                    .iter()
                    .map(|task| {
                        format!(
                            "{} {}{}",
                            task.name,
                            task.state,
                            if task.error.is_empty() {
                                String::new()
                            } else {
                                format!(" ({})", task.error)
                            }
                        )
                    })
                    .collect();
                anyhow::bail!(
                    "job {}: {complete} of {} shard(s) complete after {:.0} s: [{}]",
                    self.name,
                    self.shards,
                    self.timeout.as_secs_f64(),
                    states.join(", ")
                );
            }
            std::thread::sleep(POLL);
        }
    }

    /// Reads shard-1.json .. shard-K.json and merges them.
    fn collect(&self, out_dir: &Path, start_at: f64, took: Duration) -> anyhow::Result<ShardRun> {
        let mut inputs = Vec::new();
        let mut files = Vec::new();
        for shard in 1..=self.shards {
            let path = out_dir.join(format!("shard-{shard}.json"));
            let text = std::fs::read_to_string(&path).map_err(|err| {
                anyhow::anyhow!("shard {shard}: cannot read {}: {err}", path.display())
            })?;
            let report: loadgen::Report = serde_json::from_str(&text).map_err(|err| {
                anyhow::anyhow!(
                    "shard {shard}: {} is not a loadgen report: {err}",
                    path.display()
                )
            })?;
            let want = format!("{shard}/{}", self.shards);
            anyhow::ensure!(
                report.shard.as_deref() == Some(want.as_str()),
                "{} is shard {:?}, not {want}",
                path.display(),
                report.shard
            );
            inputs.push((path.display().to_string(), report));
            files.push(path);
        }
        let merged = loadgen::merge_reports(&inputs).map_err(|err| anyhow::anyhow!("{err}"))?;
        let merged_file = out_dir.join("merged.json");
        std::fs::write(&merged_file, serde_json::to_string_pretty(&merged)? + "\n")
            .map_err(|err| anyhow::anyhow!("cannot write {}: {err}", merged_file.display()))?;
        Ok(ShardRun {
            start_at,
            files,
            shards: inputs.into_iter().map(|(_, report)| report).collect(),
            merged,
            merged_file,
            took,
        })
    }

    /// `docker service rm`, then removes the job's exited containers: on the lab's
    /// engine swarm left a completed job's containers in place for over a minute after
    /// the service was gone (until the swarm was left).
    pub fn remove(&self) -> anyhow::Result<()> {
        docker(&["service", "rm", &self.name])?;
        let filter = format!("label=com.docker.swarm.service.name={}", self.name);
        let started = Instant::now();
        loop {
            let containers = docker(&["ps", "-aq", "--filter", &filter])?;
            if containers.is_empty() {
                return Ok(());
            }
            if started.elapsed() > Duration::from_secs(2) {
                let mut args = vec!["rm", "-f"];
                args.extend(containers.lines());
                // Already going: the next look tells.
                let _ = docker(&args);
            }
            if started.elapsed() > Duration::from_secs(60) {
                anyhow::bail!(
                    "job {} still has containers [{}] 60 s after docker service rm",
                    self.name,
                    containers.replace('\n', " ")
                );
            }
            std::thread::sleep(POLL);
        }
    }
}

/// One line per shard: what it did.
pub fn shard_line(report: &loadgen::Report) -> String {
    format!(
        "shard {}: -n {} -c {}: {} complete, {} failed, {} non-2xx, {:.1} requests/s, p50 {:.1} ms, p99 {:.1} ms, started at {:.3}",
        report.shard.as_deref().unwrap_or("-"),
        report
            .requested
            .map_or_else(|| "-".to_owned(), |n| n.to_string()),
        report.concurrency,
        report.complete,
        report.failed,
        report.non_2xx,
        report.requests_per_second,
        report.latency_ms.p50,
        report.latency_ms.p99,
        report.started_at_unix_s
    )
}

/// `docker service ps --format '{{.Name}}|{{.CurrentState}}|{{.Error}}'` -> tasks; the
/// shard is the name's slot (1..K), or K for a slot that is not a positive number.
pub fn parse_tasks(listing: &str, job: &str, shards: u32) -> Vec<TaskState> {
    listing
        .lines()
        .filter_map(|line| {
            let mut fields = line.splitn(3, '|');
            let name = fields.next()?.trim();
            let state = fields.next()?.split_whitespace().next()?.to_owned();
            let error = fields
                .next()
                .unwrap_or("")
                .trim()
                .trim_matches('"')
                .to_owned();
            let slot = name.strip_prefix(job)?.strip_prefix('.')?;
            let shard = match slot.parse::<u32>() {
                Ok(n) if n >= 1 => n,
                _ => shards,
            };
            Some(TaskState {
                shard,
                name: name.to_owned(),
                state,
                error,
            })
        })
        .collect()
}

/// A word for `sh -c`, single-quoted.
fn sh_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', "'\\''"))
}

fn last_line(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .map(|line| line.trim().to_owned())
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |elapsed| elapsed.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_are_read_from_service_ps() {
        let listing = "j.1|Complete 3 seconds ago|\n\
                       j.hg5juv7ibb8ditqiez944aqbm|Running 1 second ago|\n\
                       j.2|Failed 2 seconds ago|\"task: non-zero exit (2)\"\n\
                       other.1|Complete 1 second ago|\n";
        let tasks = parse_tasks(listing, "j", 3);
        assert_eq!(tasks.len(), 3);
        assert_eq!((tasks[0].shard, tasks[0].state.as_str()), (1, "Complete"));
        assert_eq!((tasks[1].shard, tasks[1].state.as_str()), (3, "Running"));
        assert_eq!(tasks[2].error, "task: non-zero exit (2)");
        assert_eq!(tasks[2].shard, 2);
    }

    #[test]
    fn the_task_command_quotes_the_flags() {
        let job = ShardJob {
            name: "j".into(),
            shards: 2,
            image: "i".into(),
            network: None,
            out_dir: PathBuf::from("/tmp/x"),
            lead: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            constraint: None,
            loadgen_args: vec![
                "-H".into(),
                "X: it's".into(),
                "http://nginx:8080/?a=1&b=2".into(),
            ],
        };
        let command = job.task_command();
        assert!(
            command.contains("--json '-H' 'X: it'\\''s' 'http://nginx:8080/?a=1&b=2' >"),
            "{command}"
        );
        assert!(command.starts_with("case \"$SLOT\" in ''|0|*[!0-9]*) I=$K"));
    }
}
