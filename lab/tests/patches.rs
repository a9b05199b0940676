//! The patches under `docs/patches/` apply to the crates `Cargo.lock` builds: each is
//! named `CRATE-VERSION-what.patch`, `CRATE` is locked at `VERSION`, and `patch
//! --dry-run` applies it cleanly to that crate's source. A dependency bump that leaves a
//! patch behind fails here rather than in `make patch-bench` later.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_owned()
}

/// `awc-3.11.0-client-codec-per-thread.patch` -> ("awc", "3.11.0").
fn crate_and_version(file_name: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = file_name.strip_suffix(".patch")?.split('-').collect();
    let at = parts.iter().position(|part| {
        let numbers: Vec<&str> = part.split('.').collect();
        numbers.len() == 3 && numbers.iter().all(|n| n.parse::<u64>().is_ok())
    })?;
    (at > 0).then(|| (parts[..at].join("-"), parts[at].to_owned()))
}

/// Each package of the workspace's build: (name, version) -> its source directory.
fn locked_sources() -> Vec<(String, String, PathBuf)> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--locked",
            "--format-version",
            "1",
            "--manifest-path",
        ])
        .arg(root().join("Cargo.toml"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).expect("cargo metadata's JSON");
    metadata["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .filter_map(|package| {
            let manifest = Path::new(package["manifest_path"].as_str()?);
            Some((
                package["name"].as_str()?.to_owned(),
                package["version"].as_str()?.to_owned(),
                manifest.parent()?.to_owned(),
            ))
        })
        .collect()
}

#[test]
fn patch_names_say_crate_and_version() {
    assert_eq!(
        crate_and_version("awc-3.11.0-client-codec-per-thread.patch"),
        Some(("awc".to_owned(), "3.11.0".to_owned()))
    );
    assert_eq!(
        crate_and_version("actix-http-3.20.0-header-index.patch"),
        Some(("actix-http".to_owned(), "3.20.0".to_owned()))
    );
    assert_eq!(crate_and_version("3.20.0-no-crate.patch"), None);
    assert_eq!(crate_and_version("awc-latest.patch"), None);
    assert_eq!(crate_and_version("awc-3.11.0-notes.md"), None);
}

#[test]
fn every_patch_applies_to_the_locked_version_of_its_crate() {
    let dir = root().join("docs/patches");
    let mut patches: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("docs/patches exists")
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "patch"))
        .collect();
    patches.sort();
    assert!(!patches.is_empty(), "no patch in {}", dir.display());
    let sources = locked_sources();
    for patch in patches {
        let file_name = patch.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let (name, version) = crate_and_version(file_name)
            .unwrap_or_else(|| panic!("{file_name}: name it CRATE-VERSION-what.patch"));
        let locked: Vec<&(String, String, PathBuf)> =
            sources.iter().filter(|(n, _, _)| *n == name).collect();
        let Some((_, _, source)) = locked.iter().find(|(_, v, _)| *v == version) else {
            panic!(
                "{file_name}: Cargo.lock builds {name} {:?}, not {version}: refresh the patch against it (and `make patch-bench PATCH=...`)",
                locked.iter().map(|(_, v, _)| v).collect::<Vec<_>>()
            );
        };
        let applied = Command::new("patch")
            .args([
                "--dry-run",
                "--batch",
                "--forward",
                "--fuzz=0",
                "--silent",
                "-p1",
                "-d",
            ])
            .arg(source)
            .arg("-i")
            .arg(&patch)
            .output()
            .unwrap_or_else(|err| {
                panic!("cannot run patch ({err}); install it with: apt-get install -y patch")
            });
        assert!(
            applied.status.success(),
            "{file_name} does not apply to {}: {}{}",
            source.display(),
            String::from_utf8_lossy(&applied.stdout),
            String::from_utf8_lossy(&applied.stderr)
        );
    }
}
