//! `lab live` (`make live`): watch a topology meet its load, in a browser.
//!
//! A page on 127.0.0.1:8089 (`LIVE_PORT`) picks a row of the scenario table, sets the
//! clients, the delay and the seconds, and starts a run: the same pipeline as `make
//! bench` ([`crate::runner::load_and_measure`]), with a watch that streams one sample
//! every 100 ms (requests in flight on both sides, answers per second, p50 and p99,
//! errors by kind, the app's threads, memory and CPU, and the two ceilings) as
//! Server-Sent Events, and the row `make bench` prints at the end.
//!
//! The HTTP API, which the page uses and scripts and tests can too:
//!
//! | request | answer |
//! |---|---|
//! | `GET /api/scenarios` | the rows, each with what its ceiling depends on |
//! | `POST /api/runs` `{"scenario", "clients", "delay", "seconds", "ramp_seconds"?, "ramp_from"?, "beside"?}` | 201 `{"id"}`; 400 `{"error"}` on bad input; 409 while another run holds the bench lock |
//! | `GET /api/runs` | the runs, newest first |
//! | `GET /api/runs/{id}` | one run: its request, state, and at the end its row and table |
//! | `GET /api/runs/{id}/events` | `text/event-stream`: `event: start`, a `data:` sample per interval (each names its scenario), `event: summary` with the row (side by side: the two rows) |
//! | `DELETE /api/runs/{id}` | stops it (the requests in flight finish) |
//!
//! A run holds the bench lock (`/tmp/lab-bench.lock`) while it runs, so it never shares
//! the cores with a benchmark; it ends by its duration whether or not a browser watches.
//!
//! Natively a run starts its topology on loopback ports and reads its processes from
//! `/proc`. In a container beside a compose file's services (`compose/live.yml`,
//! `--compose-file`), it loads the service that publishes the row's port over the
//! file's network and reads the app's processes from its `/metrics`.

mod run;

use std::collections::BTreeMap;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use actix_web::body::{BodySize, MessageBody};
use actix_web::http::header;
use actix_web::web::{self, Bytes};
use actix_web::{App, HttpResponse, HttpServer};
use tokio::sync::mpsc::UnboundedReceiver;

use run::{Lane, Run};
pub use run::{RunRequest, Sample, ScenarioInfo, State, MAX_CLIENTS, MAX_DELAY, MAX_SECONDS};

use crate::results::{Outcome, Row};
use crate::runner::{self, Line, Ui};
use crate::scenarios::{Scenario, SCENARIOS};
use crate::target::{Remote, Target};
use kit::procs::FileLock;

/// The page: HTML, its style and its script in one file, drawn on canvas; nothing
/// from a CDN.
const PAGE: &str = include_str!("page.html");

/// How many finished runs the server remembers.
const KEEP_RUNS: usize = 20;

/// How the server runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where it listens (127.0.0.1, or 0.0.0.0 in a container).
    pub address: SocketAddr,
    /// Where `slow_api`, the apps and the other binaries are.
    pub bin_dir: PathBuf,
    /// The bench lock a run holds (`BENCH_LOCK`).
    pub bench_lock: PathBuf,
    /// In a container beside a compose file's services (`compose/live.yml`): the file
    /// whose topologies the page loads, over its network, instead of starting them.
    pub compose_file: Option<String>,
}

/// The server's state: the runs, the next id.
struct Live {
    options: Options,
    runs: Mutex<BTreeMap<u64, Arc<Run>>>,
    next_id: AtomicU64,
}

/// Serves the page and the API until Ctrl-C (the lab's interrupt handler stops every
/// service a run started, then exits).
pub fn serve(options: Options) -> anyhow::Result<()> {
    if let Some(file) = &options.compose_file {
        let files: std::collections::BTreeSet<&str> = SCENARIOS
            .iter()
            .filter_map(|scenario| scenario.compose.map(|compose| compose.file))
            .collect();
        if !files.contains(&file.as_str()) {
            anyhow::bail!(
                "no topology of the table runs in {file:?}; the compose files: {}",
                files.into_iter().collect::<Vec<_>>().join(", ")
            );
        }
    }
    let address = options.address;
    let live = web::Data::new(Live {
        options,
        runs: Mutex::new(BTreeMap::new()),
        next_id: AtomicU64::new(1),
    });
    let server = HttpServer::new(move || {
        App::new()
            .app_data(live.clone())
            .app_data(web::JsonConfig::default().error_handler(|err, _| {
                let reason = format!("the body is not a run: {err}");
                actix_web::error::InternalError::from_response(err, bad_request(&reason)).into()
            }))
            .route("/", web::get().to(page))
            .route("/healthz", web::get().to(healthz))
            .route("/api/scenarios", web::get().to(scenarios))
            .route("/api/runs", web::post().to(start_run))
            .route("/api/runs", web::get().to(list_runs))
            .route("/api/runs/{id}", web::get().to(show_run))
            .route("/api/runs/{id}", web::delete().to(stop_run))
            .route("/api/runs/{id}/events", web::get().to(events))
            .default_service(web::to(not_found))
    })
    // One thread serves the page: the loads run on their own.
    .workers(1)
    // Ctrl-C is the lab's: it stops the services a run started before exiting.
    .disable_signals()
    .bind(address)
    .map_err(|err| anyhow::anyhow!("cannot listen on {address}: {err}"))?;
    eprintln!("lab live: http://{address}/ (Ctrl-C stops it)");
    actix_web::rt::System::new()
        .block_on(server.run())
        .map_err(|err| anyhow::anyhow!("the live server failed: {err}"))
}

async fn page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(PAGE)
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok\n")
}

async fn not_found() -> HttpResponse {
    HttpResponse::NotFound().json(serde_json::json!({ "error": "no such page" }))
}

fn bad_request(reason: &str) -> HttpResponse {
    HttpResponse::BadRequest().json(serde_json::json!({ "error": reason }))
}

async fn scenarios(live: web::Data<Live>) -> HttpResponse {
    let rows: Vec<ScenarioInfo> = SCENARIOS
        .iter()
        .filter(|scenario| live.serves(scenario))
        .map(ScenarioInfo::of)
        .collect();
    HttpResponse::Ok().json(rows)
}

impl Live {
    /// Whether the page offers `scenario`: every row natively; beside a compose file,
    /// the rows that file runs.
    fn serves(&self, scenario: &Scenario) -> bool {
        match &self.options.compose_file {
            None => true,
            Some(file) => scenario.compose.is_some_and(|compose| compose.file == file),
        }
    }
}

async fn start_run(live: web::Data<Live>, request: web::Json<RunRequest>) -> HttpResponse {
    let request = request.into_inner();
    let lanes = match request.check() {
        Ok(lanes) => lanes,
        Err(reason) => return bad_request(&reason),
    };
    if let Some(scenario) = lanes.iter().find(|scenario| !live.serves(scenario)) {
        let file = live.options.compose_file.as_deref().unwrap_or_default();
        return bad_request(&format!(
            "scenario {:?} does not run in {file}; this page loads only its topologies",
            scenario.id
        ));
    }
    let lock = match FileLock::try_acquire(&live.options.bench_lock) {
        Ok(Some(lock)) => lock,
        Ok(None) => {
            return HttpResponse::Conflict().json(serde_json::json!({
                "error": format!(
                    "another run holds the bench lock ({}): wait for it to end",
                    live.options.bench_lock.display()
                )
            }))
        }
        Err(err) => {
            return HttpResponse::InternalServerError()
                .json(serde_json::json!({ "error": format!("{err:#}") }))
        }
    };
    let id = live.next_id.fetch_add(1, Ordering::Relaxed);
    let run = Arc::new(Run::new(id, request, lanes));
    {
        let mut runs = live.runs.lock().unwrap_or_else(PoisonError::into_inner);
        runs.insert(id, Arc::clone(&run));
        while runs.len() > KEEP_RUNS {
            runs.pop_first();
        }
    }
    let place = match live.options.compose_file {
        Some(_) => Place::Compose,
        None => Place::Native(live.options.bin_dir.clone()),
    };
    let spawned = std::thread::Builder::new()
        .name(format!("live-run-{id}"))
        .spawn(move || conduct(&run, &place, lock));
    match spawned {
        Ok(_) => HttpResponse::Created()
            .insert_header((header::LOCATION, format!("/api/runs/{id}")))
            .json(serde_json::json!({ "id": id })),
        Err(err) => HttpResponse::InternalServerError()
            .json(serde_json::json!({ "error": format!("cannot start the run: {err}") })),
    }
}

/// Where a run's topology is.
enum Place {
    /// Started by the run from the binaries in this directory, on loopback ports.
    Native(PathBuf),
    /// Running beside this container: the compose file's services.
    Compose,
}

/// A run, on its own thread: each lane's topology started (or found beside us) and
/// loaded at the same time, on a thread of its own, while the watch streams; what was
/// started stopped; then the bench lock freed and the stream ended with the rows, in
/// that order, so that a client which starts the next run on hearing the summary gets
/// the lock.
fn conduct(run: &Arc<Run>, place: &Place, lock: FileLock) {
    let rows: Vec<Row> = std::thread::scope(|scope| {
        let lanes: Vec<_> = run
            .scenarios
            .iter()
            .enumerate()
            .map(|(index, scenario)| {
                let run = Arc::clone(run);
                (
                    scenario,
                    scope.spawn(move || lane(&run, index, scenario, place)),
                )
            })
            .collect();
        lanes
            .into_iter()
            .map(|(scenario, lane)| {
                lane.join().unwrap_or_else(|_| {
                    let mut row = Row::new(scenario);
                    row.outcome = Outcome::Failed("the lane's thread panicked".into());
                    row
                })
            })
            .collect()
    });
    drop(lock);
    run.finish(rows);
}

/// One lane of a run: its row.
fn lane(run: &Arc<Run>, index: usize, scenario: &Scenario, place: &Place) -> Row {
    let runtime = match crate::load::runtime() {
        Ok(runtime) => runtime,
        Err(err) => {
            let mut row = Row::new(scenario);
            row.outcome = Outcome::Failed(format!("{err:#}"));
            return row;
        }
    };
    let ui = Ui::watched(Arc::new(Lane {
        run: Arc::clone(run),
        index,
    }));
    let target = match place {
        Place::Native(bin_dir) => {
            kit::stack::start(&scenario.topology(), bin_dir).map(Target::from)
        }
        Place::Compose => Ok(Target::Remote(beside(scenario))),
    };
    let line = Line {
        label: scenario.id,
        expected_s: run.request.seconds,
        after_s: 0.0,
    };
    runner::load_and_measure(
        &runtime,
        scenario,
        target,
        Some(run.request.timed()),
        &ui,
        line,
    )
}

/// A row's topology as its compose file runs it, seen from another container of the
/// file's network: the service that publishes its port, and its app's `/metrics` on
/// `METRICS_PORT` 9100.
fn beside(scenario: &Scenario) -> Remote {
    match scenario.compose {
        Some(compose) => Remote {
            url: format!("http://{}:{}/", compose.service, compose.port),
            metrics: (compose.app, METRICS_PORT)
                .to_socket_addrs()
                .ok()
                .and_then(|mut addresses| addresses.next()),
        },
        // Refused by `serves` before a run starts.
        None => Remote {
            url: String::new(),
            metrics: None,
        },
    }
}

/// The port of every app's `/metrics` in the compose files.
const METRICS_PORT: u16 = 9100;

fn find(live: &Live, id: &str) -> Option<Arc<Run>> {
    let id: u64 = id.parse().ok()?;
    live.runs
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&id)
        .cloned()
}

fn no_run(id: &str) -> HttpResponse {
    HttpResponse::NotFound().json(serde_json::json!({ "error": format!("no run {id:?}") }))
}

/// A run as `GET /api/runs` and `GET /api/runs/{id}` show it.
fn describe(run: &Run) -> serde_json::Value {
    let rows = run.rows();
    serde_json::json!({
        "id": run.id,
        "request": run.request,
        "state": run.state(),
        "table": rows.as_deref().map(crate::results::markdown_table),
        "row": rows.as_ref().and_then(|rows| rows.first()),
        "rows": rows,
    })
}

async fn list_runs(live: web::Data<Live>) -> HttpResponse {
    let runs: Vec<serde_json::Value> = live
        .runs
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .values()
        .rev()
        .map(|run| describe(run))
        .collect();
    HttpResponse::Ok().json(runs)
}

async fn show_run(live: web::Data<Live>, id: web::Path<String>) -> HttpResponse {
    match find(&live, &id) {
        Some(run) => HttpResponse::Ok().json(describe(&run)),
        None => no_run(&id),
    }
}

async fn stop_run(live: web::Data<Live>, id: web::Path<String>) -> HttpResponse {
    match find(&live, &id) {
        Some(run) => {
            run.stop();
            HttpResponse::Ok().json(describe(&run))
        }
        None => no_run(&id),
    }
}

async fn events(live: web::Data<Live>, id: web::Path<String>) -> HttpResponse {
    match find(&live, &id) {
        Some(run) => HttpResponse::Ok()
            .content_type("text/event-stream")
            .insert_header((header::CACHE_CONTROL, "no-cache"))
            .body(EventStream(run.listen())),
        None => no_run(&id),
    }
}

/// The body of `GET /api/runs/{id}/events`: the run's events as they come, ending with
/// the summary.
struct EventStream(UnboundedReceiver<Bytes>);

impl MessageBody for EventStream {
    type Error = std::convert::Infallible;

    fn size(&self) -> BodySize {
        BodySize::Stream
    }

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        self.0.poll_recv(cx).map(|event| event.map(Ok))
    }
}
