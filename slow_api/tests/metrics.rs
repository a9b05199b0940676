//! `GET /metrics` on slow_api: on its port and on `--metrics-port`.

use kit::testing::in_process::{config_from_args, InProcess};
use kit::testing::scrape_metrics as scrape;
use kit::testing::{free_port, get};

#[test]
fn metrics_count_what_was_sent_on_both_ports() {
    let metrics_port = free_port().to_string();
    let config: slow_api::Config = config_from_args(&["--metrics-port", &metrics_port]);
    let api = InProcess::start("slow_api", move |listener, stop| {
        actix_web::rt::System::new().block_on(slow_api::run([listener], config, stop))
    });
    for _ in 0..3 {
        assert_eq!(get(&api.url("/?delay=0")).status, 200);
    }
    assert_eq!(get(&api.url("/?delay=abc")).status, 400);
    assert_eq!(get(&api.url("/healthz")).status, 200);

    let other = format!("http://127.0.0.1:{metrics_port}");
    assert_eq!(get(&format!("{other}/healthz")).status, 200);
    for url in [api.url("/metrics"), format!("{other}/metrics")] {
        let page = scrape(&url);
        kit::testing::assert_requests_counted(&page, 3, 1);
        assert_eq!(page.get("http_requests_in_flight", &[]), Some(0.0));
        // No upstream here: the gauge is left out.
        assert_eq!(page.get("upstream_requests_in_flight", &[]), None);
    }
}
