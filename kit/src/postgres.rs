//! The one throwaway PostgreSQL: `initdb` into a scratch directory, `postgres` in the
//! foreground on a free loopback port, gone when dropped. The runner's pg rows, the
//! services' tests and `make pg-up` all use it.
//!
//! The cluster is what the compose file's official image makes: role and database
//! `example` (password `example`, checked with SCRAM over TCP, not a superuser),
//! listening on 127.0.0.1 only, with durability off (nothing in it is worth keeping).
//!
//! PostgreSQL refuses to run as root; when the caller is root, the cluster belongs to
//! the `postgres` user (Debian's package makes it), else `nobody`, and every command
//! runs as that user. The server is a plain child in its own process group (no
//! `pg_ctl`, which would detach it), so the supervisor ([`crate::procs`]) stops it on
//! Ctrl-C. The binaries are `$PG_BIN`, else where `initdb` is on `PATH`, else Debian's
//! newest `/usr/lib/postgresql/<version>/bin`.

use std::ffi::CString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::procs::{find_executable, is_executable, log_tail, ScratchDir, Service};

/// What to install when PostgreSQL is missing.
pub const PACKAGE_HINT: &str = "PostgreSQL server binaries (initdb, postgres) not found: install them with `apt-get install -y postgresql-15` (or set PG_BIN=/path/to/bin)";

/// The role, its password and its database, as the compose file's `POSTGRES_*` set them.
const ROLE: &str = "example";

/// How long the server may take to accept connections.
const READY_WITHIN: Duration = Duration::from_secs(30);

/// The directory holding `initdb` and `postgres`: `$PG_BIN`, else where `initdb` is on
/// `PATH`, else Debian's newest `/usr/lib/postgresql/<version>/bin`.
pub fn find_bin_dir() -> Option<PathBuf> {
    let complete =
        |dir: &Path| is_executable(&dir.join("initdb")) && is_executable(&dir.join("postgres"));
    if let Some(dir) = std::env::var_os("PG_BIN") {
        let dir = PathBuf::from(dir);
        return complete(&dir).then_some(dir);
    }
    if let Some(initdb) = find_executable("initdb", "INITDB", &[]) {
        if let Some(dir) = initdb.parent().filter(|dir| complete(dir)) {
            return Some(dir.to_owned());
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            complete(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// How to make the cluster.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// The port to listen on (127.0.0.1).
    pub port: u16,
    /// `max_connections`: the blocking driver opens one per request; pools hold theirs.
    pub max_connections: u32,
}

/// A running (or stopped, see [`Postgres::stop`]) throwaway cluster. Fields drop in
/// order: the server, then its directory.
pub struct Postgres {
    server: Option<Service>,
    bin_dir: PathBuf,
    user: Option<(u32, u32)>,
    settings: Settings,
    dir: ScratchDir,
}

impl Postgres {
    /// Creates a cluster in a new scratch directory and starts it.
    pub fn start(settings: Settings) -> anyhow::Result<Postgres> {
        let bin_dir = find_bin_dir().ok_or_else(|| anyhow::anyhow!(PACKAGE_HINT))?;
        let user = unprivileged_user()?;
        let dir = ScratchDir::new("postgres")?;
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).map_err(|err| {
                anyhow::anyhow!("cannot hand {} to the server: {err}", dir.path().display())
            })?;
        }
        let mut postgres = Postgres {
            server: None,
            bin_dir,
            user,
            settings,
            dir,
        };
        postgres.create()?;
        postgres.restart()?;
        Ok(postgres)
    }

    /// `postgres://example:example@127.0.0.1:PORT/example`
    pub fn url(&self) -> String {
        format!(
            "postgres://{ROLE}:{ROLE}@127.0.0.1:{}/{ROLE}",
            self.settings.port
        )
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.settings.port
    }

    /// Stops the server (fast shutdown: open connections are closed); the data stays.
    pub fn stop(&mut self) {
        if let Some(mut server) = self.server.take() {
            server.stop(Duration::from_secs(10));
        }
    }

    /// Starts the server (again), on the same port, and waits until it accepts.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.stop();
        let port = self.settings.port;
        let mut postgres = self.command("postgres");
        postgres
            .arg("-D")
            .arg(self.data())
            .arg("-p")
            .arg(port.to_string())
            .arg("-k")
            .arg(self.sockets())
            .args(["-c", "listen_addresses=127.0.0.1"])
            .arg("-c")
            .arg(format!("max_connections={}", self.settings.max_connections))
            // Durability is not what is measured here.
            .args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
            .args(["-c", "full_page_writes=off"]);
        let log = self.dir.path().join("postgres.log");
        // SIGINT is PostgreSQL's fast shutdown: it does not wait for clients to leave.
        let mut server = Service::spawn("postgres", postgres, &log, libc::SIGINT)?;
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            if let Some(status) = server.exited() {
                anyhow::bail!("postgres exited early ({status}): {}", server.log_tail(3));
            }
            let ready = std::fs::read_to_string(&log)
                .is_ok_and(|text| text.contains("ready to accept connections"));
            if ready && std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            if Instant::now() > deadline {
                anyhow::bail!(
                    "postgres not ready after {READY_WITHIN:?}: {}",
                    server.log_tail(3)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.server = Some(server);
        Ok(())
    }

    /// `initdb`, then the role and the database in single-user mode (no client needed).
    /// Both run as supervised services: an interrupt stops them too.
    fn create(&mut self) -> anyhow::Result<()> {
        std::fs::create_dir_all(self.sockets())?;
        let pwfile = self.dir.path().join("pwfile");
        std::fs::write(&pwfile, format!("{ROLE}\n"))?;
        if let Some((uid, gid)) = self.user {
            std::os::unix::fs::chown(self.sockets(), Some(uid), Some(gid))?;
            std::os::unix::fs::chown(&pwfile, Some(uid), Some(gid))?;
        }
        let mut initdb = self.command("initdb");
        initdb
            .arg("-D")
            .arg(self.data())
            .arg("--pwfile")
            .arg(&pwfile)
            .args([
                "-U",
                "postgres",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
            ])
            .args(["--encoding=UTF8", "--no-locale"])
            // A scratch cluster: no need to wait for the disk.
            .arg("--no-sync");
        let initdb_log = self.dir.path().join("initdb.log");
        let status = Service::spawn("initdb", initdb, &initdb_log, libc::SIGTERM)?
            .wait()
            .map_err(|err| anyhow::anyhow!("cannot run initdb: {err}"))?;
        if !status.success() {
            anyhow::bail!("initdb failed ({status}): {}", log_tail(&initdb_log, 3));
        }

        let mut single = self.command("postgres");
        single
            .args(["--single", "-D"])
            .arg(self.data())
            .arg("postgres");
        let single_log = self.dir.path().join("single.log");
        let mut service = Service::spawn_with_stdin(
            "postgres --single",
            single,
            &single_log,
            libc::SIGTERM,
            Stdio::piped(),
        )?;
        service.feed(&format!(
            "CREATE ROLE {ROLE} LOGIN PASSWORD '{ROLE}';\nCREATE DATABASE {ROLE} OWNER {ROLE};\n"
        ))?;
        let status = service.wait()?;
        if !status.success() {
            anyhow::bail!(
                "creating the role and database failed ({status}): {}",
                log_tail(&single_log, 3)
            );
        }
        Ok(())
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn sockets(&self) -> PathBuf {
        self.dir.path().join("sockets")
    }

    /// One of the server binaries, as the cluster's owner.
    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(self.bin_dir.join(program));
        if let Some((uid, gid)) = self.user {
            command.uid(uid).gid(gid);
        }
        // Locale and home of the caller's shell are not the cluster's business, and the
        // owner may not be allowed into the caller's working directory.
        command
            .env("LC_ALL", "C")
            .env("HOME", "/tmp")
            .env_remove("PGDATA")
            .current_dir(std::env::temp_dir());
        command
    }
}

/// uid and gid of `postgres` (or `nobody`), when running as root.
fn unprivileged_user() -> anyhow::Result<Option<(u32, u32)>> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    for user in ["postgres", "nobody"] {
        let name = CString::new(user)?;
        // SAFETY: getpwnam with a valid C string; the result is read at once.
        let entry = unsafe { libc::getpwnam(name.as_ptr()) };
        if !entry.is_null() {
            // SAFETY: non-null pointer returned by getpwnam.
            return Ok(Some(unsafe { ((*entry).pw_uid, (*entry).pw_gid) }));
        }
    }
    anyhow::bail!(
        "running as root, and neither a `postgres` nor a `nobody` user exists to run PostgreSQL as"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real cluster: the URL the apps get, a stop that refuses connections and a
    /// restart on the same port with the same data.
    #[test]
    fn a_throwaway_cluster_stops_and_restarts_on_its_port() {
        assert!(find_bin_dir().is_some(), "{PACKAGE_HINT}");
        let port = crate::ports::free_port().expect("a free port");
        let mut db = Postgres::start(Settings {
            port,
            max_connections: 20,
        })
        .expect("start PostgreSQL");
        assert_eq!(db.port(), port);
        assert_eq!(
            db.url(),
            format!("postgres://example:example@127.0.0.1:{port}/example")
        );
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
        db.stop();
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
        db.restart().expect("restart");
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    }
}
