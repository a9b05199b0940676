#!/usr/bin/env bash
# The article's bonus as a benchmark: app_pg's blocking vs async driver, then the async
# driver under 1000 concurrent clients with growing pools.
#
#   scripts/bench-pg.sh [quick|pools|all]      (default: all)
#   PG_MAX_CONNECTIONS=200 POOLS=100 scripts/bench-pg.sh pools
#
# Starts a throwaway PostgreSQL (max_connections 100 as by default), the slow API and
# app_pg on loopback ports, runs ab under `flock /tmp/lab-bench.lock` (one load test at
# a time on a shared machine), prints ab's key lines, and stops everything it started.
# Needs release binaries (`make build`) and ab (apache2-utils).
set -euo pipefail
cd "$(dirname "$0")/.."

what=${1:-all}
bin=target/release
PG_PORT=${PG_PORT:-55433}
API_PORT=${API_PORT:-4100}
APP_PORT=${APP_PORT:-3100}
LOCK=${LOCK:-/tmp/lab-bench.lock}
PG_MAX_CONNECTIONS=${PG_MAX_CONNECTIONS:-100}
POOLS=${POOLS:-25 50 100}
pg_dir=$(mktemp -d /tmp/lab-bench-pg.XXXXXX)
app_log=$(mktemp /tmp/lab-bench-app-pg.XXXXXX.log)
pids=()

cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    scripts/throwaway-postgres.sh stop "$pg_dir"
    [ -n "${KEEP_APP_LOG:-}" ] && cp "$app_log" "$KEEP_APP_LOG"
    rm -f "$app_log"
}
trap cleanup EXIT

wait_healthy() {
    for _ in $(seq 1 300); do
        if curl -fs -o /dev/null "http://127.0.0.1:$1/healthz"; then return 0; fi
        sleep 0.1
    done
    echo "error: nothing healthy on port $1 after 30 s" >&2
    exit 1
}

# ab's lines that matter, plus the 99th percentile.
summary() {
    grep -E 'Concurrency Level|Time taken|Complete requests|Failed requests|Non-2xx|Requests per second|^ +(50|99)%' || true
}

# What the app logged as failed requests (WARN lines), counted by message.
app_failures() {
    sed -e 's/\x1b\[[0-9;]*m//g' "$app_log" | grep ' WARN ' | sed -e 's/^.* WARN //' \
        | sort | uniq -c | sed -e 's/^/  app log: /' || true
}

# The app on APP_PORT with the given environment; stops the previous one first.
app_pid=""
start_app() {
    if [ -n "$app_pid" ]; then kill "$app_pid"; wait "$app_pid" 2>/dev/null || true; fi
    env RUST_LOG="${APP_RUST_LOG:-warn}" PORT_APP="$APP_PORT" PORT_API="$API_PORT" DATABASE_URL="$url" "$@" \
        "$bin/app_pg" >"$app_log" 2>&1 &
    app_pid=$!
    pids+=("$app_pid")
    wait_healthy "$APP_PORT"
}

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
url=$(scripts/throwaway-postgres.sh start "$pg_dir" "$PG_PORT" "$PG_MAX_CONNECTIONS")
RUST_LOG=warn "$bin/slow_api" --port "$API_PORT" &
pids+=($!)
wait_healthy "$API_PORT"

if [ "$what" = quick ] || [ "$what" = all ]; then
    for driver in blocking async; do
        start_app DRIVER=$driver
        echo "== DRIVER=$driver: ab -r -n 10 -c 5 ?delay=1   (floor 3.0 s; article: blocking 6.670 s, async 3.148 s)"
        flock "$LOCK" ab -r -n 10 -c 5 "http://127.0.0.1:$APP_PORT/?delay=1" 2>&1 | summary
        app_failures
    done
fi

if [ "$what" = pools ] || [ "$what" = all ]; then
    echo "== PostgreSQL max_connections = $PG_MAX_CONNECTIONS (3 of them reserved for superusers)"
    for pool in $POOLS; do
        # The wait timeout is raised so that queued requests measure the pool, not 503s.
        start_app DRIVER=async POOL_SIZE=$pool POOL_WAIT_TIMEOUT=60
        echo "== DRIVER=async POOL_SIZE=$pool: ab -r -n 5000 -c 1000 ?delay=1   (pool ceiling $((pool * 2)) requests/s)"
        flock "$LOCK" ab -r -s 120 -n 5000 -c 1000 "http://127.0.0.1:$APP_PORT/?delay=1" 2>&1 | summary
        app_failures
    done
fi
