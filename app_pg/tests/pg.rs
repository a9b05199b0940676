//! app_pg against a real PostgreSQL (a throwaway cluster, or `DATABASE_URL`) and the
//! real slow API, both in this process. Timings are asserted with generous bounds; the
//! benchmarks (`make bench-pg`) measure them.

mod support;

use std::time::{Duration, Instant};

use support::*;
use time::OffsetDateTime;

/// The timestamp in `Hi there! slow api response (<NOW()>, '')`.
fn row_timestamp(body: &str) -> OffsetDateTime {
    let inner = body
        .strip_prefix("Hi there! slow api response (")
        .and_then(|rest| rest.strip_suffix(", '')"))
        .unwrap_or_else(|| panic!("unexpected body {body:?}"));
    OffsetDateTime::parse(inner, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|err| panic!("{inner:?} is not a timestamp: {err}"))
}

/// The body, the row, and the bound parameter (S/2 for the upstream, then S/2 in
/// pg_sleep($1)): NOW() is taken after the upstream half, and the answer after the
/// database half.
#[test]
fn answers_upstream_body_and_row_for_both_drivers() {
    let db = postgres();
    let api = slow_api();
    for &driver in drivers() {
        let app = app_pg(driver, &api, &db, &[]);
        let started = OffsetDateTime::now_utc();
        let clock = Instant::now();
        let reply = get(&app.url("/?delay=1.2"));
        let elapsed = clock.elapsed();
        assert_eq!(reply.status, 200, "{driver:?}: {}", reply.body);
        let now = row_timestamp(&reply.body);
        let finished = OffsetDateTime::now_utc();
        // 0.6 s upstream, then the query: NOW() lies between the two halves.
        assert!(
            now >= started + Duration::from_millis(550) && now <= finished,
            "{driver:?}: NOW() {now} not after the upstream half ({started} .. {finished})"
        );
        // ...and the query really slept the bound 0.6 s.
        assert!(
            elapsed >= Duration::from_millis(1150),
            "{driver:?}: answered in {elapsed:?}"
        );
        assert!(
            finished - now >= Duration::from_millis(550),
            "{driver:?}: pg_sleep ended {:?} after NOW()",
            finished - now
        );
        // Absent delay means 1 s, zero works.
        assert_eq!(get(&app.url("/")).status, 200, "{driver:?}");
        assert_eq!(get(&app.url("/?delay=0")).status, 200, "{driver:?}");
    }
}

/// Text, negative, non-finite and SQL fragments are 400s with a reason; the app and its
/// connections are fine afterwards.
#[test]
fn bad_delays_are_400() {
    let db = postgres();
    let api = slow_api();
    for &driver in drivers() {
        let app = app_pg(driver, &api, &db, &[]);
        for query in [
            "delay=abc",
            "delay=-1",
            "delay=nan",
            "delay=inf",
            "delay=1e400",
            "delay=1;%20DROP%20TABLE%20x",
            "delay=1)%3B%20SELECT%20pg_sleep(30)%3B--",
            "delay=0.5::text",
            "delay='1'",
            "delay=99999",
        ] {
            let started = Instant::now();
            let reply = get(&app.url(&format!("/?{query}")));
            assert_eq!(reply.status, 400, "{driver:?} {query}: {}", reply.body);
            assert!(reply.body.starts_with("bad delay"), "{driver:?} {query}");
            assert_eq!(
                reply.body.trim_end().lines().count(),
                1,
                "{driver:?} {query}"
            );
            assert!(
                started.elapsed() < Duration::from_secs(2),
                "{driver:?} {query}"
            );
        }
        let reply = get(&app.url("/?delay=0.2"));
        assert_eq!(reply.status, 200, "{driver:?}: {}", reply.body);
    }
}

/// Five one-second requests at once. Each answer carries its query's `NOW()` (when that
/// query's transaction began), and each query sleeps 0.5 s in PostgreSQL. The async
/// driver runs the database halves together: some two of them began less than a
/// `pg_sleep` apart, so they overlapped. The blocking driver runs them one after
/// another: each began at least 0.5 s after the one before it. Read from the database's
/// own clock, so a busy machine slows the test down but cannot flip its verdict.
#[test]
fn async_overlaps_blocking_serialises_the_database_half() {
    let db = postgres();
    let api = slow_api();
    let async_app = app_pg(Driver::Async, &api, &db, &[]);
    let blocking_app = app_pg(Driver::Blocking, &api, &db, &[]);
    let half = Duration::from_millis(500);

    let query_starts = |app: &InProcess| -> Vec<OffsetDateTime> {
        let (replies, took) = get_concurrently(&app.url("/?delay=1"), 5);
        assert!(replies.iter().all(|r| r.status == 200), "{replies:?}");
        eprintln!("5 x delay=1 in {took:?}");
        let mut starts: Vec<OffsetDateTime> =
            replies.iter().map(|r| row_timestamp(&r.body)).collect();
        starts.sort();
        starts
    };
    let gaps = |starts: &[OffsetDateTime]| -> Vec<Duration> {
        starts
            .windows(2)
            .map(|pair| Duration::try_from(pair[1] - pair[0]).unwrap_or_default())
            .collect()
    };

    let async_gaps = gaps(&query_starts(&async_app));
    assert!(
        async_gaps.iter().any(|gap| *gap < half),
        "async driver: no two queries overlapped (gaps between their starts {async_gaps:?})"
    );
    let blocking_gaps = gaps(&query_starts(&blocking_app));
    assert!(
        blocking_gaps.iter().all(|gap| *gap >= half),
        "blocking driver: queries overlapped (gaps between their starts {blocking_gaps:?})"
    );
}

/// The database goes away: a 503 within a few seconds (bad input is still a 400, and
/// /healthz says so); it comes back: 200 again, same app process, also when nothing
/// was asked of it meanwhile.
#[test]
fn database_down_is_503_and_back_is_200() {
    let mut db = postgres();
    let api = slow_api();
    let apps = [
        (Driver::Async, app_pg(Driver::Async, &api, &db, &[])),
        (Driver::Blocking, app_pg(Driver::Blocking, &api, &db, &[])),
    ];
    for (driver, app) in &apps {
        assert_eq!(get(&app.url("/?delay=0.2")).status, 200, "{driver:?}");
    }

    db.stop();
    for (driver, app) in &apps {
        for _ in 0..3 {
            let started = Instant::now();
            let reply = get(&app.url("/?delay=0.2"));
            assert_eq!(reply.status, 503, "{driver:?}: {}", reply.body);
            assert!(
                reply.body.starts_with("database"),
                "{driver:?}: {}",
                reply.body
            );
            assert!(
                started.elapsed() < Duration::from_secs(6),
                "{driver:?}: 503 took {:?}",
                started.elapsed()
            );
        }
        assert_eq!(get(&app.url("/healthz")).status, 503, "{driver:?}");
        assert_eq!(get(&app.url("/?delay=x")).status, 400, "{driver:?}");
    }

    db.restart().expect("PostgreSQL restarts");
    for (driver, app) in &apps {
        for _ in 0..3 {
            let reply = get(&app.url("/?delay=0.2"));
            assert_eq!(
                reply.status, 200,
                "{driver:?} after restart: {}",
                reply.body
            );
        }
        assert_eq!(get(&app.url("/healthz")).status, 200, "{driver:?}");
    }

    // Restarted while the apps sat idle: their open connections are dead, and the very
    // first request afterwards must still succeed.
    db.stop();
    db.restart().expect("PostgreSQL restarts");
    for (driver, app) in &apps {
        let reply = get(&app.url("/?delay=0.2"));
        assert_eq!(
            reply.status, 200,
            "{driver:?} after idle restart: {}",
            reply.body
        );
    }
}

/// A pool of 2 and 10 requests at once: eight wait their turn (about 2 s, within the
/// wait timeout), none fails; the database halves run two at a time.
#[test]
fn small_pool_makes_requests_wait_not_fail() {
    let db = postgres();
    let api = slow_api();
    let app = app_pg(
        Driver::Async,
        &api,
        &db,
        &["--pool-size", "2", "--pool-wait-timeout", "10"],
    );
    let (replies, elapsed) = get_concurrently(&app.url("/?delay=1"), 10);
    let failed: Vec<_> = replies.iter().filter(|r| r.status != 200).collect();
    assert!(failed.is_empty(), "{failed:?}");
    // 0.5 s upstream, then five rounds of two 0.5 s queries.
    assert!(
        elapsed >= Duration::from_millis(2400),
        "10 requests through a pool of 2 took {elapsed:?}: the pool did not limit them"
    );
}

/// Past the wait timeout an exhausted pool is a 503 that says so, and the pool is
/// fine afterwards.
#[test]
fn pool_exhausted_past_wait_timeout_is_503() {
    let db = postgres();
    let api = slow_api();
    let app = app_pg(
        Driver::Async,
        &api,
        &db,
        &["--pool-size", "1", "--pool-wait-timeout", "0.5"],
    );
    let (replies, _) = get_concurrently(&app.url("/?delay=4"), 3);
    let ok = replies.iter().filter(|r| r.status == 200).count();
    let busy: Vec<_> = replies.iter().filter(|r| r.status == 503).collect();
    assert_eq!(ok, 1, "{replies:?}");
    assert_eq!(busy.len(), 2, "{replies:?}");
    assert!(
        busy.iter().all(|r| r.body.starts_with("database busy")),
        "{busy:?}"
    );
    assert_eq!(get(&app.url("/?delay=0.2")).status, 200);
}

/// Upstream failures are the upstream's: 502 when it is down, 504 when too slow.
#[test]
fn upstream_failures_are_502_and_504() {
    let db = postgres();
    let api = slow_api();
    for &driver in drivers() {
        let dead_api = format!("http://127.0.0.1:{}/", free_port());
        let app = start(config(driver, &dead_api, &db, &[]));
        let reply = get(&app.url("/?delay=0.2"));
        assert_eq!(reply.status, 502, "{driver:?}: {}", reply.body);

        let app = app_pg(driver, &api, &db, &["--upstream-timeout", "0.5"]);
        let reply = get(&app.url("/?delay=4"));
        assert_eq!(reply.status, 504, "{driver:?}: {}", reply.body);
        assert_eq!(get(&app.url("/?delay=0.2")).status, 200, "{driver:?}");
    }
}
