//! What the app_pg tests share: a real PostgreSQL, the real slow_api, the real app.
#![allow(dead_code)]

pub use common::testing::postgres::Postgres;
pub use common::testing::{free_port, get, get_concurrently, Service};

pub const APP: &str = env!("CARGO_BIN_EXE_app_pg");

/// The slow API on a free port.
pub use common::testing::start_slow_api as slow_api;

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
