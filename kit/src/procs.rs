//! Child processes that never outlive the runner.
//!
//! Every service the runner starts is the leader of its own process group, so that one
//! `killpg` reaches what it forked too (app_sync's workers, nginx's workers, the
//! PostgreSQL backends). Each group is registered while it runs; the interrupt handler
//! ([`install_interrupt_handler`]) stops every registered group, removes the scratch
//! directories, and exits. A child also gets `PR_SET_PDEATHSIG`, so even a runner killed
//! with SIGKILL takes its direct children along. What is no child of the runner (a
//! compose project, whose containers the Docker engine runs) registers a command that
//! takes it down ([`Teardown`]); the handler runs it too.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// A registered process group and the signal that asks it to stop.
#[derive(Clone, Copy)]
struct Group {
    pgid: i32,
    stop_signal: i32,
}

static GROUPS: Mutex<Vec<Group>> = Mutex::new(Vec::new());
static SCRATCH_DIRS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
/// The commands of the registered [`Teardown`]s, by id: `(id, program, arguments)`.
static TEARDOWNS: Mutex<Vec<(u64, String, Vec<String>)>> = Mutex::new(Vec::new());
static NEXT_TEARDOWN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Set once an interrupt is being handled: a run cut short must not write its results.
static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether SIGINT or SIGTERM arrived (the handler is stopping everything and will exit).
pub fn interrupted() -> bool {
    INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst)
}

/// After an interrupt, leaves the exit to the handler ([`install_interrupt_handler`]):
/// it stops every service first, then exits with 128 + the signal's number. A main
/// thread that returned on its own meanwhile (a load cut short, a file not written)
/// would exit first, with its own status, and leave the services behind. Returns at
/// once when there was no interrupt.
pub fn await_interrupt_exit() {
    if interrupted() {
        loop {
            std::thread::park();
        }
    }
}

/// Stops the runner's children on SIGINT (Ctrl-C) and SIGTERM, then exits with
/// 128 + the signal's number. Call once, early, from the main thread.
pub fn install_interrupt_handler() -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("interrupt".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(err) => {
                    let _ = ready_tx.send(Err(err.to_string()));
                    return;
                }
            };
            let code = runtime.block_on(async move {
                let streams = signal(SignalKind::interrupt())
                    .and_then(|int| Ok((int, signal(SignalKind::terminate())?)));
                let (mut int, mut term) = match streams {
                    Ok(streams) => streams,
                    Err(err) => {
                        let _ = ready_tx.send(Err(err.to_string()));
                        return None;
                    }
                };
                let _ = ready_tx.send(Ok(()));
                tokio::select! {
                    _ = int.recv() => Some(128 + libc::SIGINT),
                    _ = term.recv() => Some(128 + libc::SIGTERM),
                }
            });
            if let Some(code) = code {
                INTERRUPTED.store(true, std::sync::atomic::Ordering::SeqCst);
                eprintln!("\ninterrupted: stopping every service the runner started");
                stop_everything();
                std::process::exit(code);
            }
        })?;
    match ready_rx.recv() {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => anyhow::bail!("cannot install the signal handler: {err}"),
        Err(_) => anyhow::bail!("cannot install the signal handler"),
    }
}

/// Stops every registered group (in parallel, each with its own stop signal), runs
/// every registered [`Teardown`] and removes every registered scratch directory.
pub fn stop_everything() {
    let groups: Vec<Group> = GROUPS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    for group in &groups {
        killpg(group.pgid, group.stop_signal);
    }
    let deadline = Instant::now() + Duration::from_secs(3);
    while groups.iter().any(|group| group_alive(group.pgid)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    for group in &groups {
        killpg(group.pgid, libc::SIGKILL);
    }
    let deadline = Instant::now() + Duration::from_secs(2);
    while groups.iter().any(|group| group_alive(group.pgid)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let teardowns = TEARDOWNS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    for (_, program, args) in &teardowns {
        eprintln!("interrupted: {program} {}", args.join(" "));
        if let Err(err) = output_of(
            program,
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
            &[],
        ) {
            eprintln!("{err}");
        }
    }
    for dir in SCRATCH_DIRS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
    {
        // A process that was still writing into it may need a second pass.
        for _ in 0..3 {
            if std::fs::remove_dir_all(dir).is_ok() || !dir.exists() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn killpg(pgid: i32, signal: i32) {
    // SAFETY: kill(2) on a process group this runner created; harmless if it is gone.
    unsafe {
        libc::kill(-pgid, signal);
    }
}

/// Whether any process of group `pgid` is still running (zombies do not count).
pub fn group_alive(pgid: i32) -> bool {
    crate::procfs::processes()
        .iter()
        .any(|process| process.pgrp == pgid && process.state != 'Z')
}

/// A command that takes down what the runner started but does not own as a process (a
/// compose project): run by the interrupt handler while registered. Dropping it
/// unregisters the command without running it: the owner takes the thing down itself.
pub struct Teardown {
    id: u64,
}

impl Teardown {
    /// Registers `program args` to run on an interrupt.
    pub fn register(program: &str, args: &[&str]) -> Teardown {
        let id = NEXT_TEARDOWN.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        TEARDOWNS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((
                id,
                program.to_owned(),
                args.iter().map(|arg| (*arg).to_owned()).collect(),
            ));
        Teardown { id }
    }
}

impl Drop for Teardown {
    fn drop(&mut self) {
        TEARDOWNS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|(id, _, _)| *id != self.id);
    }
}

/// Runs `program args` with `env` added and waits for it; returns its stdout, trimmed.
/// The error names the command and quotes what it said (stderr, else stdout).
pub fn output_of(program: &str, args: &[&str], env: &[(&str, String)]) -> anyhow::Result<String> {
    let shown = format!("{program} {}", args.join(" "));
    let output = Command::new(program)
        .args(args)
        .envs(env.iter().map(|(key, value)| (*key, value.as_str())))
        .stdin(Stdio::null())
        .output()
        .map_err(|err| anyhow::anyhow!("cannot run `{shown}`: {err}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let said = if stderr.trim().is_empty() {
            stdout.trim().to_owned()
        } else {
            stderr.trim().to_owned()
        };
        anyhow::bail!("`{shown}` failed ({}): {said}", output.status);
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// A scratch directory under the system temp dir, removed on drop and on interrupt.
pub struct ScratchDir {
    path: PathBuf,
}

impl ScratchDir {
    pub fn new(label: &str) -> anyhow::Result<ScratchDir> {
        let path = std::env::temp_dir().join(format!(
            "lab-{}-{label}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |elapsed| elapsed.subsec_nanos())
        ));
        std::fs::create_dir_all(&path)
            .map_err(|err| anyhow::anyhow!("cannot create {}: {err}", path.display()))?;
        SCRATCH_DIRS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(path.clone());
        Ok(ScratchDir { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
        SCRATCH_DIRS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|dir| dir != &self.path);
    }
}

/// A running service: the leader of its own process group, stopped on drop.
pub struct Service {
    /// A short name for messages (`slow_api`, `app_sync`, `nginx`, `postgres`).
    pub name: String,
    child: std::process::Child,
    pgid: i32,
    stop_signal: i32,
    log: PathBuf,
    stopped: bool,
}

impl Service {
    /// Starts `command` in a new process group with stdout and stderr going to `log`.
    /// `stop_signal` is what asks it to finish (SIGTERM; SIGINT for PostgreSQL's fast
    /// shutdown).
    pub fn spawn(
        name: &str,
        command: Command,
        log: &Path,
        stop_signal: i32,
    ) -> anyhow::Result<Service> {
        Self::spawn_with_stdin(name, command, log, stop_signal, Stdio::null())
    }

    /// As [`Service::spawn`], with the given standard input (e.g. `Stdio::piped()`).
    pub fn spawn_with_stdin(
        name: &str,
        mut command: Command,
        log: &Path,
        stop_signal: i32,
        stdin: Stdio,
    ) -> anyhow::Result<Service> {
        let out = File::create(log)
            .map_err(|err| anyhow::anyhow!("cannot create {}: {err}", log.display()))?;
        let err = out.try_clone()?;
        // SAFETY: `getpid` and `prctl` are async-signal-safe; nothing else runs here.
        let parent = unsafe { libc::getpid() };
        unsafe {
            command.pre_exec(move || {
                // Die with the runner even if it is killed with SIGKILL.
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                if libc::getppid() != parent {
                    return Err(std::io::Error::other("the runner is gone"));
                }
                Ok(())
            });
        }
        command
            .process_group(0)
            .stdin(stdin)
            .stdout(out)
            .stderr(err);
        // Registered before it runs: an interrupt right after spawn still reaches it.
        let mut groups = GROUPS.lock().unwrap_or_else(PoisonError::into_inner);
        let child = command
            .spawn()
            .map_err(|err| anyhow::anyhow!("cannot start {name}: {err}"))?;
        let pgid = i32::try_from(child.id()).unwrap_or(i32::MAX);
        groups.push(Group { pgid, stop_signal });
        drop(groups);
        Ok(Service {
            name: name.to_owned(),
            child,
            pgid,
            stop_signal,
            log: log.to_owned(),
            stopped: false,
        })
    }

    pub fn pid(&self) -> i32 {
        self.pgid
    }

    /// The exit status, if the leader has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits for a short-lived command (initdb) to finish; its group stays registered
    /// until then, so an interrupt stops it too.
    pub fn wait(&mut self) -> std::io::Result<ExitStatus> {
        let status = self.child.wait()?;
        self.stopped = true;
        let pgid = self.pgid;
        GROUPS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|group| group.pgid != pgid);
        Ok(status)
    }

    /// Writes `text` to the command's standard input and closes it.
    pub fn feed(&mut self, text: &str) -> std::io::Result<()> {
        use std::io::Write;
        match self.child.stdin.take() {
            Some(mut stdin) => stdin.write_all(text.as_bytes()),
            None => Err(std::io::Error::other("no standard input to write to")),
        }
    }

    /// The last lines the service logged (for an error message).
    pub fn log_tail(&self, lines: usize) -> String {
        log_tail(&self.log, lines)
    }

    /// Sends `signal` (SIGKILL, say) to the whole group instead of its stop signal,
    /// and reaps it as [`Service::stop`] does: a crash, for the chaos runner.
    pub fn kill(&mut self, signal: i32) {
        self.stop_signal = signal;
        self.stop(Duration::from_secs(5));
    }

    /// Asks the group to stop, waits up to `grace`, then kills what is left and reaps
    /// the leader.
    pub fn stop(&mut self, grace: Duration) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        killpg(self.pgid, self.stop_signal);
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            let _ = self.child.try_wait();
            if !group_alive(self.pgid) {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        if group_alive(self.pgid) {
            killpg(self.pgid, libc::SIGKILL);
            let deadline = Instant::now() + Duration::from_secs(2);
            while group_alive(self.pgid) && Instant::now() < deadline {
                let _ = self.child.try_wait();
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        let _ = self.child.wait();
        let pgid = self.pgid;
        GROUPS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|group| group.pgid != pgid);
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(5));
    }
}

/// The last `lines` lines of a log file, on one line each, `|`-separated.
pub fn log_tail(path: &Path, lines: usize) -> String {
    let mut text = String::new();
    if let Ok(mut file) = File::open(path) {
        let len = file.metadata().map_or(0, |meta| meta.len());
        let _ = file.seek(SeekFrom::Start(len.saturating_sub(4096)));
        let mut bytes = Vec::new();
        let _ = file.read_to_end(&mut bytes);
        text = String::from_utf8_lossy(&bytes).into_owned();
    }
    let tail: Vec<&str> = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect();
    tail[tail.len().saturating_sub(lines)..].join(" | ")
}

/// Finds an executable: `override_var` if set (a path), else `name` in `PATH`, else in
/// the `extra` directories.
pub fn find_executable(name: &str, override_var: &str, extra: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(override_var) {
        let path = PathBuf::from(path);
        return is_executable(&path).then_some(path);
    }
    let path_dirs = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path_dirs)
        .chain(extra.iter().map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

pub fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// Raises the hard open-files limit to at least `wanted` where allowed (root), then the
/// soft one to the hard one, and returns the soft limit. The services inherit it: at
/// 10,000 clients an async proxy holds 20,000 sockets (each client's, and its
/// upstream's), over a 20,000 hard limit.
pub fn raise_open_files(wanted: u64) -> u64 {
    use rlimit::Resource;
    if let Ok((_, hard)) = Resource::NOFILE.get() {
        if hard < wanted {
            // Only root may raise the hard limit; elsewhere this fails and the soft
            // limit still goes up to the hard one below.
            let _ = Resource::NOFILE.set(wanted, wanted);
        }
    }
    rlimit::increase_nofile_limit(u64::MAX).unwrap_or(0)
}

/// The bench lock every load takes (the Makefile's `BENCH_LOCK`), so that loads never
/// share the machine's cores.
pub const BENCH_LOCK: &str = "/tmp/lab-bench.lock";

/// The bench lock's path: `BENCH_LOCK` from the environment, else [`BENCH_LOCK`].
pub fn bench_lock_path() -> PathBuf {
    std::env::var_os("BENCH_LOCK").map_or_else(|| PathBuf::from(BENCH_LOCK), PathBuf::from)
}

/// An exclusive `flock` on a file, released on drop: the bench lock
/// (`/tmp/lab-bench.lock`, so that loads never share the machine's cores) and the
/// Python venv's build lock.
pub struct FileLock(std::fs::File);

impl FileLock {
    /// Waits until the lock on `path` (created if missing) is this process's.
    pub fn acquire(path: &Path) -> anyhow::Result<FileLock> {
        FileLock::lock(path, libc::LOCK_EX)?
            .ok_or_else(|| anyhow::anyhow!("cannot lock {}", path.display()))
    }

    /// The lock on `path` if nobody holds it now; `None` if someone does.
    pub fn try_acquire(path: &Path) -> anyhow::Result<Option<FileLock>> {
        FileLock::lock(path, libc::LOCK_EX | libc::LOCK_NB)
    }

    fn lock(path: &Path, operation: i32) -> anyhow::Result<Option<FileLock>> {
        use std::os::fd::AsRawFd;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|err| anyhow::anyhow!("cannot open {}: {err}", path.display()))?;
        // SAFETY: flock(2) on a descriptor this function owns.
        if unsafe { libc::flock(file.as_raw_fd(), operation) } == 0 {
            return Ok(Some(FileLock(file)));
        }
        let err = std::io::Error::last_os_error();
        if err.kind() == std::io::ErrorKind::WouldBlock {
            return Ok(None);
        }
        anyhow::bail!("cannot lock {}: {err}", path.display())
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        use std::os::fd::AsRawFd;
        // SAFETY: unlocking the descriptor locked in `acquire`.
        unsafe {
            libc::flock(self.0.as_raw_fd(), libc::LOCK_UN);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_is_not_taken_twice_and_is_free_again_on_drop() {
        let dir = ScratchDir::new("file-lock").expect("scratch");
        let path = dir.path().join("bench.lock");
        let held = FileLock::acquire(&path).expect("locked");
        // flock locks belong to the open file: a second open in this process conflicts.
        assert!(FileLock::try_acquire(&path).expect("tried").is_none());
        drop(held);
        assert!(FileLock::try_acquire(&path).expect("tried").is_some());
    }

    #[test]
    fn a_teardown_is_registered_until_dropped_and_commands_say_why_they_failed() {
        let count = || TEARDOWNS.lock().map_or(0, |list| list.len());
        let before = count();
        let teardown = Teardown::register("true", &[]);
        assert_eq!(count(), before + 1);
        drop(teardown);
        assert_eq!(count(), before);
        assert_eq!(output_of("echo", &["hi"], &[]).expect("echo"), "hi");
        let err = output_of("sh", &["-c", "echo nope >&2; exit 3"], &[]).expect_err("fails");
        assert!(err.to_string().contains("nope"), "{err}");
    }

    #[test]
    fn a_log_tail_is_its_last_non_empty_lines_on_one_line() {
        let dir = ScratchDir::new("log-tail").expect("scratch");
        let log = dir.path().join("app.log");
        std::fs::write(&log, "one\n\ntwo\nthree\n\n").expect("write");
        assert_eq!(log_tail(&log, 2), "two | three");
        assert_eq!(log_tail(&log, 10), "one | two | three");
        assert_eq!(log_tail(&dir.path().join("missing.log"), 2), "");
    }

    #[test]
    fn a_scratch_dir_goes_with_its_handle() {
        let dir = ScratchDir::new("gone").expect("scratch");
        let path = dir.path().to_owned();
        assert!(path.is_dir());
        drop(dir);
        assert!(!path.exists());
    }

    #[test]
    fn executables_are_found_only_when_executable() {
        let dir = ScratchDir::new("exe").expect("scratch");
        let plain = dir.path().join("plain");
        std::fs::write(&plain, "").expect("write");
        assert!(!is_executable(&plain));
        assert!(!is_executable(dir.path()));
        assert!(is_executable(Path::new("/bin/sh")));
        let extra = dir.path().to_str().expect("utf-8 path");
        assert_eq!(
            find_executable("plain", "LAB_TEST_NO_SUCH_VAR", &[extra]),
            None
        );
    }

    #[test]
    fn a_supervised_service_is_stopped_with_its_group() {
        let dir = ScratchDir::new("service").expect("scratch");
        let mut command = Command::new("sleep");
        command.arg("30");
        let mut service = Service::spawn(
            "sleep",
            command,
            &dir.path().join("sleep.log"),
            libc::SIGTERM,
        )
        .expect("spawn sleep");
        let pgid = service.pid();
        assert!(group_alive(pgid));
        assert!(service.exited().is_none());
        service.stop(Duration::from_secs(5));
        assert!(!group_alive(pgid));
    }
}
