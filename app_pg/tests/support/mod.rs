//! What the app_pg tests share: a real PostgreSQL, and the real slow_api and app_pg,
//! both run in this process (slow_api's and [`app_pg::run`], each on its own thread
//! and actix system, on 127.0.0.1:0).
#![allow(dead_code, unused_imports)]

pub use app_pg::{Config, Driver};
pub use kit::postgres::Postgres;
pub use kit::testing::in_process::{config_from_args, InProcess};
pub use kit::testing::{free_port, get, get_concurrently};

/// Both drivers, as `--driver` names them.
pub fn drivers() -> &'static [Driver] {
    <Driver as clap::ValueEnum>::value_variants()
}

/// A throwaway PostgreSQL (role and database `example`) for one test.
pub fn postgres() -> Postgres {
    kit::testing::postgres(100)
}

/// The slow API in this process, on a free port.
pub use kit::testing::slow_api;

/// app_pg's configuration for `driver`, upstream `api_url`, on `db`, plus `extra` flags,
/// as the binary parses them.
pub fn config(driver: Driver, api_url: &str, db: &Postgres, extra: &[&str]) -> Config {
    let database_url = db.url();
    let mut args = vec!["--api-url", api_url, "--database-url", &database_url];
    args.extend_from_slice(extra);
    Config {
        driver,
        ..config_from_args(&args)
    }
}

/// app_pg in this process; it is ready once `/healthz` (`SELECT 1`) answers 200.
pub fn start(config: Config) -> InProcess {
    InProcess::start("app_pg", move |listener, stop| {
        actix_web::rt::System::new().block_on(app_pg::run(listener, config, stop))
    })
}

/// app_pg with `driver`, in front of `api`, on `db`, plus `extra` flags.
pub fn app_pg(driver: Driver, api: &InProcess, db: &Postgres, extra: &[&str]) -> InProcess {
    start(config(driver, &api.url("/"), db, extra))
}
