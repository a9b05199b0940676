//! The pinned Python environment of `make bench-python`: a venv under `target/`, made
//! from `python/requirements.lock` with exact versions, and remade whenever the lock
//! file or the interpreter changes.
//!
//! The interpreter is `$LAB_PYTHON`, else Debian's `/usr/bin/python3`, else `python3`
//! on `PATH`; the venv is `$LAB_VENV`, else `target/python-venv` in the workspace.
//! uWSGI and psycopg2 are built from source by pip, so the machine needs a compiler,
//! Python's headers and libpq's (`make python-deps` installs them as root on Debian).
//! When something is missing, [`prepare`] says what and how to install it, and the
//! Python rows of a comparison are skipped with that reason.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::procs::{find_executable, is_executable, log_tail, Service};

/// The lock file, relative to the workspace root.
pub const LOCK_FILE: &str = "python/requirements.lock";

/// The Debian packages pip needs to build the lock file's packages.
pub const DEBIAN_PACKAGES: &str = "python3 python3-venv python3-dev build-essential libpq-dev";

/// The workspace root (the lab runs from a checkout).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_owned)
}

/// `python/`: the apps the Python servers load.
pub fn app_dir() -> PathBuf {
    root().join("python")
}

/// Where the venv lives: `$LAB_VENV`, else `target/python-venv`.
pub fn venv_dir() -> PathBuf {
    std::env::var_os("LAB_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/python-venv"))
}

/// The interpreter the venv is made from: `$LAB_PYTHON`, else `/usr/bin/python3`, else
/// `python3` on `PATH`.
pub fn interpreter() -> anyhow::Result<PathBuf> {
    let hint = format!(
        "install it with `sudo apt-get install -y {DEBIAN_PACKAGES}` (or set LAB_PYTHON=/path/to/python3)"
    );
    if let Some(path) = std::env::var_os("LAB_PYTHON") {
        let path = PathBuf::from(path);
        return if is_executable(&path) {
            Ok(path)
        } else {
            Err(anyhow::anyhow!(
                "Python interpreter {} (LAB_PYTHON) not found: {hint}",
                path.display()
            ))
        };
    }
    let debian = PathBuf::from("/usr/bin/python3");
    if is_executable(&debian) {
        return Ok(debian);
    }
    find_executable("python3", "LAB_PYTHON", &[])
        .ok_or_else(|| anyhow::anyhow!("python3 not found: {hint}"))
}

/// A ready venv.
#[derive(Debug, Clone)]
pub struct Venv {
    pub dir: PathBuf,
    /// The interpreter it was made from.
    pub interpreter: PathBuf,
    /// `Python 3.11.2`.
    pub version: String,
    /// `name==version`, as the lock file pins them.
    pub packages: Vec<String>,
}

impl Venv {
    /// A program of the venv (`bin/gunicorn`, `bin/python`).
    pub fn bin(&self, name: &str) -> PathBuf {
        self.dir.join("bin").join(name)
    }
}

/// The pins of the lock file (`name==version` lines).
pub fn pins(lock: &str) -> Vec<String> {
    lock.lines()
        .map(str::trim)
        .filter(|line| line.contains("==") && !line.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// Makes sure the venv matches the lock file, building it if not (the first time: a
/// minute or two, uWSGI and psycopg2 compile). `say` hears what is going on. Errors
/// are a reason to skip the Python rows, with what to install.
pub fn prepare(say: &dyn Fn(&str)) -> anyhow::Result<Venv> {
    let python = interpreter()?;
    let lock_path = root().join(LOCK_FILE);
    let lock = std::fs::read_to_string(&lock_path)
        .map_err(|err| anyhow::anyhow!("cannot read {}: {err}", lock_path.display()))?;
    let dir = venv_dir();
    let stamp_text = format!("interpreter {}\n{lock}", python.display());
    let stamp = dir.join("lab-lock.txt");
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|err| anyhow::anyhow!("cannot create {}: {err}", parent.display()))?;
    }
    // One preparer at a time (parallel tests share the venv).
    let _lock = crate::procs::FileLock::acquire(&dir.with_extension("lock"))?;
    let venv_python = dir.join("bin/python");
    let fresh = std::fs::read_to_string(&stamp).is_ok_and(|text| text == stamp_text)
        && is_executable(&venv_python);
    if !fresh {
        say(&format!(
            "python: making {} from {LOCK_FILE} with {} (pip builds uWSGI and psycopg2: a minute or two, once)",
            dir.display(),
            python.display()
        ));
        if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .map_err(|err| anyhow::anyhow!("cannot remove {}: {err}", dir.display()))?;
        }
        let log = dir.with_extension("log");
        let mut venv = Command::new(&python);
        venv.arg("-m").arg("venv").arg(&dir);
        run(venv, "python3 -m venv", &log).map_err(|tail| {
            anyhow::anyhow!(
                "cannot make a venv with {}: {tail} (install: `sudo apt-get install -y {DEBIAN_PACKAGES}`)",
                python.display()
            )
        })?;
        let mut pip = Command::new(dir.join("bin/pip"));
        pip.args(["install", "--quiet", "--disable-pip-version-check"])
            .args(["--use-pep517", "-r"])
            .arg(&lock_path);
        run(pip, "pip install", &log).map_err(|tail| {
            anyhow::anyhow!(
                "pip install -r {LOCK_FILE} failed (no access to the package index, or missing build packages: `sudo apt-get install -y {DEBIAN_PACKAGES}`): {tail}"
            )
        })?;
        std::fs::write(&stamp, &stamp_text)
            .map_err(|err| anyhow::anyhow!("cannot write {}: {err}", stamp.display()))?;
    }
    let version = Command::new(&venv_python)
        .arg("--version")
        .output()
        .ok()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .filter(|version| !version.is_empty())
        .ok_or_else(|| anyhow::anyhow!("{} does not run", venv_python.display()))?;
    Ok(Venv {
        dir,
        interpreter: python,
        version,
        packages: pins(&lock),
    })
}

/// Runs a setup command as a supervised child (an interrupt stops it too), its output
/// in `log`; on failure, the log's last lines.
fn run(command: Command, what: &str, log: &Path) -> anyhow::Result<()> {
    let mut service = Service::spawn(what, command, log, libc::SIGTERM)?;
    match service.wait() {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(anyhow::anyhow!("{what} {status}: {}", log_tail(log, 3))),
        Err(err) => Err(anyhow::anyhow!("{what}: {err}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_file_pins_every_package_the_lab_names() {
        let lock = std::fs::read_to_string(root().join(LOCK_FILE)).expect("lock file");
        let pins = pins(&lock);
        for name in [
            "Flask",
            "Werkzeug",
            "requests",
            "gevent",
            "greenlet",
            "gunicorn",
            "uWSGI",
            "aiohttp",
            "psycopg2",
            "psycogreen",
        ] {
            assert!(
                pins.iter().any(|pin| pin.starts_with(&format!("{name}=="))),
                "{name} is not pinned in {LOCK_FILE}"
            );
        }
        assert!(pins.iter().all(|pin| !pin.ends_with("==")));
    }
}
