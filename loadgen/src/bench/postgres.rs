//! A throwaway PostgreSQL cluster: `initdb` into a scratch directory, `postgres` in the
//! foreground as a child on a free loopback port, gone when dropped.
//!
//! PostgreSQL refuses to run as root; when the runner is root, the cluster belongs to
//! the `postgres` user (Debian's package makes it), else `nobody`, and every command
//! runs as that user. The server is a plain child in its own process group (no
//! `pg_ctl`, which would detach it), so the runner's Ctrl-C handling reaches it.
//! The binaries are found as app_pg's test harness finds them: `$PG_BIN`, `PATH`,
//! `/usr/lib/postgresql/*/bin`.

use std::ffi::CString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::procs::{log_tail, Service};

/// What to install when PostgreSQL is missing.
pub const PACKAGE_HINT: &str = "PostgreSQL server binaries (initdb, postgres) not found: install them with `apt-get install -y postgresql-15` (or set PG_BIN=/path/to/bin)";

/// The role and database the apps use (DESIGN.md's `example`; trusted on loopback, so
/// the password in the URL is not checked).
const ROLE: &str = "example";

/// The directory holding `initdb` and `postgres`: `$PG_BIN`, else where
/// `initdb` is on `PATH`, else Debian's `/usr/lib/postgresql/<version>/bin`.
pub fn find_bin_dir() -> Option<PathBuf> {
    let complete = |dir: &Path| {
        super::procs::is_executable(&dir.join("initdb"))
            && super::procs::is_executable(&dir.join("postgres"))
    };
    if let Some(dir) = std::env::var_os("PG_BIN") {
        let dir = PathBuf::from(dir);
        return complete(&dir).then_some(dir);
    }
    if let Some(initdb) = super::procs::find_executable("initdb", "INITDB", &[]) {
        if let Some(dir) = initdb.parent().filter(|dir| complete(dir)) {
            return Some(dir.to_owned());
        }
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|entry| entry.path().join("bin"))
        .filter(|dir| complete(dir))
        .collect();
    versions.sort();
    versions.pop()
}

/// A running cluster.
pub struct Postgres {
    pub service: Service,
    /// `postgres://example:example@127.0.0.1:PORT/example`
    pub url: String,
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

fn as_user(command: &mut Command, user: Option<(u32, u32)>) {
    if let Some((uid, gid)) = user {
        command.uid(uid).gid(gid);
    }
    // Locale and home of the runner's shell are not the cluster's business, and the
    // user may not be allowed into the runner's working directory.
    command
        .env("LC_ALL", "C")
        .env("HOME", "/tmp")
        .env_remove("PGDATA")
        .current_dir(std::env::temp_dir());
}

/// Creates a cluster in `dir` (which must be empty) and starts it on `port`.
pub fn start(bin_dir: &Path, dir: &Path, port: u16) -> anyhow::Result<Postgres> {
    let user = unprivileged_user()?;
    if let Some((uid, gid)) = user {
        std::os::unix::fs::chown(dir, Some(uid), Some(gid))
            .map_err(|err| anyhow::anyhow!("cannot hand {} to nobody: {err}", dir.display()))?;
    }
    let data = dir.join("data");
    let sockets = dir.join("sockets");
    std::fs::create_dir_all(&sockets)?;
    if let Some((uid, gid)) = user {
        std::os::unix::fs::chown(&sockets, Some(uid), Some(gid))?;
    }

    // Both set-up commands run as registered services: an interrupt stops them too.
    let mut initdb = Command::new(bin_dir.join("initdb"));
    initdb
        .arg("-D")
        .arg(&data)
        .args(["-U", ROLE, "--auth=trust", "--encoding=UTF8", "--no-locale"])
        // A scratch cluster: no need to wait for the disk.
        .arg("--no-sync");
    as_user(&mut initdb, user);
    let initdb_log = dir.join("initdb.log");
    let status = Service::spawn("initdb", initdb, &initdb_log, libc::SIGTERM)?
        .wait()
        .map_err(|err| anyhow::anyhow!("cannot run initdb: {err}"))?;
    if !status.success() {
        anyhow::bail!("initdb failed ({status}): {}", log_tail(&initdb_log, 3));
    }

    // The database, in single-user mode: no client program needed.
    let mut single = Command::new(bin_dir.join("postgres"));
    single.args(["--single", "-D"]).arg(&data).arg("postgres");
    as_user(&mut single, user);
    let single_log = dir.join("single.log");
    let mut service = Service::spawn_with_stdin(
        "postgres --single",
        single,
        &single_log,
        libc::SIGTERM,
        std::process::Stdio::piped(),
    )?;
    service.feed(&format!("CREATE DATABASE {ROLE} OWNER {ROLE};\n"))?;
    let status = service.wait()?;
    if !status.success() {
        anyhow::bail!(
            "creating the database failed ({status}): {}",
            log_tail(&single_log, 3)
        );
    }

    let mut postgres = Command::new(bin_dir.join("postgres"));
    postgres
        .arg("-D")
        .arg(&data)
        .arg("-p")
        .arg(port.to_string())
        .arg("-k")
        .arg(&sockets)
        .args([
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "max_connections=300",
            // Durability is not what is measured here.
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
        ]);
    as_user(&mut postgres, user);
    let log = dir.join("postgres.log");
    // SIGINT is PostgreSQL's fast shutdown: it does not wait for clients to leave.
    let mut service = Service::spawn("postgres", postgres, &log, libc::SIGINT)?;

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = service.exited() {
            anyhow::bail!("postgres exited early ({status}): {}", service.log_tail(3));
        }
        let ready = std::fs::read_to_string(&log)
            .is_ok_and(|text| text.contains("ready to accept connections"));
        if ready && std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        if Instant::now() > deadline {
            anyhow::bail!("postgres not ready after 30 s: {}", service.log_tail(3));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(Postgres {
        service,
        url: format!("postgres://{ROLE}:{ROLE}@127.0.0.1:{port}/{ROLE}"),
    })
}
