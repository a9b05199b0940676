//! What the app_pg tests share: a real PostgreSQL, the real slow_api, the real app.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

pub use common::testing::postgres::Postgres;
pub use common::testing::{free_port, get, get_concurrently, Service};

pub const APP: &str = env!("CARGO_BIN_EXE_app_pg");

/// The workspace's slow_api binary (`CARGO_BIN_EXE_*` only names this crate's own),
/// built here if a single-package test run did not build it.
pub fn slow_api_bin() -> String {
    static BIN: OnceLock<String> = OnceLock::new();
    BIN.get_or_init(|| {
        // target/<profile>/deps/<test binary> -> target/<profile>/slow_api
        let exe = std::env::current_exe().expect("test binary path");
        let dir = exe
            .parent()
            .and_then(|deps| deps.parent())
            .expect("target directory")
            .to_path_buf();
        let bin: PathBuf = dir.join("slow_api");
        if !bin.exists() {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
            let mut command = Command::new(cargo);
            command.args(["build", "-p", "slow_api", "--bin", "slow_api"]);
            if dir.file_name().is_some_and(|name| name == "release") {
                command.arg("--release");
            }
            let status = command
                .status()
                .expect("cannot run cargo to build slow_api");
            assert!(status.success(), "building slow_api failed");
        }
        bin.to_string_lossy().into_owned()
    })
    .clone()
}

/// The slow API on a free port.
pub fn slow_api() -> Service {
    Service::start(&slow_api_bin(), "--port", &[])
}

/// app_pg with `driver`, in front of `api`, on `db`, plus `extra` flags.
pub fn app_pg(driver: &str, api: &Service, db: &Postgres, extra: &[&str]) -> Service {
    let port_api = api.port.to_string();
    let mut args = vec![
        "--driver",
        driver,
        "--port-api",
        &port_api,
        "--database-url",
        db.url(),
    ];
    args.extend_from_slice(extra);
    Service::start(APP, "--port-app", &args)
}
