//! The live page in a real browser: headless Chromium over WebDriver (Debian's
//! `chromium` and `chromium-driver`, which `make test-deps` installs) opens the page,
//! runs `async` with 200 clients, delay 0.2 s, for 3 s, and checks what it drew.
//!
//! It saves a screenshot: into the test's scratch directory, or where
//! `LIVE_SCREENSHOT` says (`make live-screenshot` writes docs/images/live-async.png).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use fantoccini::{ClientBuilder, Locator};
use kit::procs;
use kit::testing::{free_port, services_bin_dir, Service};
use serde_json::json;

/// chromedriver on a free port, stopped (with its browsers) on drop.
struct Driver {
    _process: procs::Service,
    port: u16,
}

impl Driver {
    fn start(dir: &Path) -> Driver {
        let bin = procs::find_executable("chromedriver", "CHROMEDRIVER", &["/usr/bin"])
            .expect("chromedriver (make test-deps installs chromium-driver)");
        let port = free_port();
        let mut command = Command::new(bin);
        command.arg(format!("--port={port}"));
        let process = procs::Service::spawn(
            "chromedriver",
            command,
            &dir.join("chromedriver.log"),
            libc::SIGTERM,
        )
        .expect("chromedriver starts");
        let ready = support::wait_for(Duration::from_secs(30), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
                && kit::testing::get(&format!("http://127.0.0.1:{port}/status"))
                    .body
                    .contains("\"ready\":true")
        });
        assert!(ready, "chromedriver never got ready");
        Driver {
            _process: process,
            port,
        }
    }
}

fn screenshot_path(dir: &Path) -> PathBuf {
    std::env::var_os("LIVE_SCREENSHOT").map_or_else(|| dir.join("live-async.png"), PathBuf::from)
}

#[test]
fn the_page_draws_a_run_as_it_happens() {
    let dir = support::scratch("live-browser");
    let lock = dir.join("bench.lock").display().to_string();
    let bin_dir = services_bin_dir().display().to_string();
    let live = Service::start(
        env!("CARGO_BIN_EXE_lab"),
        "--port",
        &["live", "--bench-lock", &lock, "--bin-dir", &bin_dir],
    );
    let driver = Driver::start(&dir);
    let screenshot = screenshot_path(&dir);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (samples, most_in_flight, table) = runtime.block_on(async {
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1200,1250"],
            }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let browser = ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
            .expect("a browser session");
        browser.goto(&live.url("/")).await.expect("the page");
        // The page fills the list from GET /api/scenarios.
        let async_option = Locator::Css("#scenario option[value=async]");
        browser
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(async_option)
            .await
            .expect("the scenarios");
        browser
            .find(Locator::Id("scenario"))
            .await
            .expect("the list")
            .select_by_value("async")
            .await
            .expect("async");
        for (field, value) in [("clients", "200"), ("delay", "0.2"), ("seconds", "3")] {
            let input = browser.find(Locator::Id(field)).await.expect(field);
            input.clear().await.expect("cleared");
            input.send_keys(value).await.expect("typed");
        }
        browser
            .find(Locator::Id("start"))
            .await
            .expect("Start")
            .click()
            .await
            .expect("pressed");
        browser
            .wait()
            .at_most(Duration::from_secs(60))
            .for_element(Locator::Css("#summary[data-state=done]"))
            .await
            .expect("the summary");
        let chart = browser
            .find(Locator::Id("in-flight"))
            .await
            .expect("the chart");
        let number = |value: Option<String>| -> u64 {
            value.and_then(|value| value.parse().ok()).unwrap_or(0)
        };
        let samples = number(chart.attr("data-samples").await.expect("samples"));
        let most = number(chart.attr("data-max-in-flight").await.expect("in flight"));
        let table = browser
            .find(Locator::Css("#summary table"))
            .await
            .expect("the row's table")
            .text()
            .await
            .expect("its text");
        let png = browser.screenshot().await.expect("a screenshot");
        if let Some(parent) = screenshot.parent() {
            std::fs::create_dir_all(parent).expect("its directory");
        }
        std::fs::write(&screenshot, &png).expect("saved");
        browser.close().await.expect("closed");
        (samples, most, table)
    });
    assert!(samples >= 10, "the chart drew {samples} samples");
    assert!(
        most_in_flight >= 150,
        "it showed at most {most_in_flight} requests in flight"
    );
    assert!(table.contains("async"), "{table}");
    let png = std::fs::read(&screenshot).expect("the screenshot");
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    let started = Instant::now();
    drop(driver);
    assert!(started.elapsed() < Duration::from_secs(30));
}
