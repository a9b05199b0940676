//! What the app_pg tests share: a real PostgreSQL, the real slow_api, the real app.
#![allow(dead_code)]

pub use lab::postgres::Postgres;
pub use lab::testing::{free_port, get, get_concurrently, Service};

pub const APP: &str = env!("CARGO_BIN_EXE_app_pg");

/// A throwaway PostgreSQL (role and database `example`) for one test.
pub fn postgres() -> Postgres {
    lab::testing::postgres(100)
}

/// The slow API on a free port.
pub use lab::testing::start_slow_api as slow_api;

/// app_pg with `driver`, in front of `api`, on `db`, plus `extra` flags.
pub fn app_pg(driver: &str, api: &Service, db: &Postgres, extra: &[&str]) -> Service {
    let port_api = api.port.to_string();
    let database_url = db.url();
    let mut args = vec![
        "--driver",
        driver,
        "--port-api",
        &port_api,
        "--database-url",
        &database_url,
    ];
    args.extend_from_slice(extra);
    Service::start(APP, "--port-app", &args)
}
