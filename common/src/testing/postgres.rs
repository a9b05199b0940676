//! A real PostgreSQL for tests: a throwaway cluster, or the one in `DATABASE_URL`.
//!
//! [`Postgres::start`] makes a fresh cluster with the installed server binaries
//! (`initdb`, `pg_ctl`, `postgres`): in a new directory under the system temp dir,
//! listening on a free 127.0.0.1 port only (its Unix socket inside that directory), with
//! the role and database the lab expects (`example`/`example`, not a superuser) and
//! durability off (nothing in it is worth keeping). Dropping it stops the server and
//! deletes the directory.
//!
//! The binaries are found in `$PG_BIN`, else on `PATH`, else in the newest
//! `/usr/lib/postgresql/*/bin` (where Debian's `postgresql-15` package puts them).
//!
//! `initdb` refuses to run as root. When the tests run as root (CI, containers) every
//! server command runs as the `postgres` user (Debian's package creates it), or as
//! `nobody` when there is none, through `setpriv` (util-linux), and the directory is
//! given to that user.
//!
//! A developer whose PostgreSQL already runs sets `DATABASE_URL` instead; the tests
//! then use it as is, and the tests that must stop the server are skipped.
//! `scripts/throwaway-postgres.sh` does the same steps for the Makefile's targets.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use super::free_port;

/// A PostgreSQL server the tests may use.
pub struct Postgres {
    url: String,
    cluster: Option<Cluster>,
}

/// A cluster this harness made, and so may stop, start and delete.
struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    /// Uid and gid the server runs as, when the tests run as root.
    owner: Option<(u32, u32)>,
}

impl Postgres {
    /// The server in `DATABASE_URL` if set, else a new throwaway cluster.
    pub fn start() -> Postgres {
        Self::start_with_max_connections(100)
    }

    /// As [`Postgres::start`], with the throwaway cluster's `max_connections`.
    pub fn start_with_max_connections(max_connections: u32) -> Postgres {
        if let Ok(url) = std::env::var("DATABASE_URL") {
            if !url.is_empty() {
                eprintln!("tests use the PostgreSQL in DATABASE_URL");
                return Postgres { url, cluster: None };
            }
        }
        let port = free_port();
        let cluster = Cluster::create(port, max_connections);
        cluster.start();
        Postgres {
            url: format!("postgres://example:example@127.0.0.1:{port}/example"),
            cluster: Some(cluster),
        }
    }

    /// `postgres://example:example@127.0.0.1:PORT/example`, or the given `DATABASE_URL`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Whether this harness owns the server (and so can stop and restart it).
    pub fn is_throwaway(&self) -> bool {
        self.cluster.is_some()
    }

    /// Stops the server (fast shutdown: open connections are closed).
    pub fn stop(&self) {
        self.owned().pg_ctl(&["-m", "fast", "-w", "stop"]);
    }

    /// Starts the stopped server again, on the same port, and waits until it accepts.
    pub fn restart(&self) {
        self.owned().start();
    }

    fn owned(&self) -> &Cluster {
        self.cluster
            .as_ref()
            .expect("only a throwaway cluster can be stopped (DATABASE_URL is set)")
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if let Some(cluster) = &self.cluster {
            if cluster.dir.join("data/postmaster.pid").exists() {
                let _ = cluster
                    .command("pg_ctl")
                    .args(["-D", &cluster.data(), "-m", "immediate", "-w", "stop"])
                    .output();
            }
            let _ = std::fs::remove_dir_all(&cluster.dir);
        }
    }
}

impl Cluster {
    fn create(port: u16, max_connections: u32) -> Cluster {
        let bin = find_bin();
        let owner = server_owner();
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let dir = std::env::temp_dir().join(format!(
            "lab-postgres-{}-{port}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|err| panic!("cannot create {}: {err}", dir.display()));
        if let Some((uid, gid)) = owner {
            chown(&dir, uid, gid);
        }
        let cluster = Cluster { dir, bin, owner };

        let pwfile = cluster.dir.join("pwfile");
        std::fs::write(&pwfile, "example\n").expect("cannot write the password file");
        if let Some((uid, gid)) = owner {
            chown(&pwfile, uid, gid);
        }
        cluster.run(
            cluster.command("initdb").args([
                "-D",
                &cluster.data(),
                "-U",
                "postgres",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ]),
            None,
        );
        let settings = format!(
            "\nlisten_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{}'\n\
             max_connections = {max_connections}\nfsync = off\nsynchronous_commit = off\n\
             full_page_writes = off\n",
            cluster.dir.display()
        );
        std::fs::OpenOptions::new()
            .append(true)
            .open(cluster.dir.join("data/postgresql.conf"))
            .and_then(|mut conf| conf.write_all(settings.as_bytes()))
            .expect("cannot write postgresql.conf");
        // The role and database, in single-user mode: no client program needed.
        cluster.run(
            cluster
                .command("postgres")
                .args(["--single", "-D", &cluster.data(), "postgres"]),
            Some(
                "CREATE ROLE example LOGIN PASSWORD 'example';\n\
                 CREATE DATABASE example OWNER example;\n",
            ),
        );
        cluster
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    fn start(&self) {
        let log = self.dir.join("server.log").display().to_string();
        self.pg_ctl(&["-l", &log, "-w", "-t", "60", "start"]);
    }

    fn pg_ctl(&self, args: &[&str]) {
        let data = self.data();
        let mut command = self.command("pg_ctl");
        command.args(["-D", &data]).args(args);
        self.run(&mut command, None);
    }

    /// One of the server binaries, as the cluster's owner, from inside its directory
    /// (the owner may not be allowed into the caller's working directory).
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        let mut command = match self.owner {
            Some((uid, gid)) => {
                let mut command = Command::new("setpriv");
                command
                    .arg(format!("--reuid={uid}"))
                    .arg(format!("--regid={gid}"))
                    .args(["--clear-groups", "--"])
                    .arg(path);
                command
            }
            None => Command::new(path),
        };
        command.current_dir(&self.dir).env_remove("PGDATA");
        command
    }

    /// Runs a command to completion; panics with its output if it fails.
    fn run(&self, command: &mut Command, stdin: Option<&str>) {
        let output = spawn_and_wait(command, stdin)
            .unwrap_or_else(|err| panic!("cannot run {command:?}: {err}"));
        if !output.status.success() {
            panic!(
                "{command:?} failed ({}):\n{}{}\nserver log:\n{}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr),
                std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
            );
        }
    }
}

fn spawn_and_wait(command: &mut Command, stdin: Option<&str>) -> std::io::Result<Output> {
    // pg_ctl start leaves the server running with our pipes open unless they are
    // redirected; the server writes to its own log file, so give it none of ours.
    command
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn()?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes())?;
    }
    child.wait_with_output()
}

/// The directory holding `initdb`, `pg_ctl` and `postgres`.
fn find_bin() -> PathBuf {
    if let Some(dir) = std::env::var_os("PG_BIN") {
        return PathBuf::from(dir);
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if dir.join("initdb").is_file() && dir.join("pg_ctl").is_file() {
                return dir;
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).unwrap_or_else(|| {
        panic!(
            "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found on PATH or in \
             /usr/lib/postgresql/*/bin: install them (apt-get install -y postgresql-15), \
             set PG_BIN to their directory, or set DATABASE_URL to a running server"
        )
    })
}

/// Who runs the server: nobody special unless we are root, which initdb refuses.
fn server_owner() -> Option<(u32, u32)> {
    // SAFETY: geteuid(2) has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    let id = |flag: &str, user: &str| -> Option<u32> {
        let output = Command::new("id").args([flag, user]).output().ok()?;
        if !output.status.success() {
            return None;
        }
        String::from_utf8_lossy(&output.stdout).trim().parse().ok()
    };
    ["postgres", "nobody"]
        .iter()
        .find_map(|user| Some((id("-u", user)?, id("-g", user)?)))
        .or_else(|| panic!("running as root, and neither a postgres nor a nobody user exists"))
}

fn chown(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::chown(path, Some(uid), Some(gid))
        .unwrap_or_else(|err| panic!("cannot give {} to uid {uid}: {err}", path.display()));
}
