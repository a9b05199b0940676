#!/usr/bin/env bash
# Side-by-side benchmarks of loadgen against wrk, oha and ab (make bench-loadgen).
#
# Starts slow_api and app_async on free loopback ports, then, alternating tools round by
# round (each round holds /tmp/lab-bench.lock, so no other lab benchmark runs at the same
# time), measures:
#   1. keep-alive, slow_api ?delay=0, c=64, DURATION s: loadgen -k vs wrk -t2 (and oha)
#   2. a new connection per request, slow_api ?delay=0, -n 20000 -c 50: loadgen vs ab
#   3. app_async ?delay=1, -r -n 2000 -c 200: loadgen vs ab (ab's lone first request)
# and prints a markdown table of medians and ratios (also saved to target/bench-loadgen.md).
#
# Within a round the tools take turns going first (odd rounds the other tool, even
# rounds loadgen), so that what one run leaves behind (TIME_WAIT sockets, a warm
# server) does not always favour the same tool. Every run's failures and non-2xx
# answers are checked: a run with any is reported, not silently averaged.
#
# Knobs (environment): ROUNDS (parts 1, default 5), NEW_ROUNDS (part 2, default 9),
# DURATION (keep-alive seconds, default 5), AB_ROUNDS (part 3, default 3),
# OHA (path to oha; default: PATH, then ~/.cargo/bin).
set -euo pipefail

cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-5}
NEW_ROUNDS=${NEW_ROUNDS:-9}
DURATION=${DURATION:-5}
AB_ROUNDS=${AB_ROUNDS:-3}
BIN=target/release
LOCK=/tmp/lab-bench.lock
OUT=target/bench-loadgen.md

OHA=${OHA:-$(command -v oha || true)}
if [ -z "$OHA" ] && [ -x "$HOME/.cargo/bin/oha" ]; then OHA=$HOME/.cargo/bin/oha; fi

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT

wait_healthy() {
    for _ in $(seq 200); do
        curl -fs "http://127.0.0.1:$1/healthz" >/dev/null && return 0
        sleep 0.05
    done
    echo "error: nothing healthy on port $1" >&2
    exit 1
}

# loadgen --json, checked: prints the field asked for, warns on failures or non-2xx.
loadgen_json() {
    local field=$1
    shift
    local json
    json=$("$BIN/loadgen" -q --json "$@")
    local bad
    bad=$(jq '.failed + .non_2xx' <<<"$json")
    [ "$bad" = 0 ] || echo "   warning: loadgen $*: $(jq -c '{complete, failed, failures, non_2xx}' <<<"$json")" >&2
    jq ".$field" <<<"$json"
}

# ab, checked: prints the line's value, warns on failures or non-2xx.
ab_checked() {
    local label=$1 column=$2
    shift 2
    local out
    out=$(ab -q "$@" 2>&1)
    if grep -qE '^(Non-2xx responses|Failed requests: +[1-9])' <<<"$out"; then
        echo "   warning: ab $*: $(grep -E '^(Complete|Failed|Non-2xx)' <<<"$out" | tr -s ' ' | paste -sd ';')" >&2
    fi
    awk -v label="$label" -v col="$column" 'index($0, label) == 1 { print $col }' <<<"$out"
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

API_PORT=$(free_port)
APP_PORT=$(free_port)
RUST_LOG=warn "$BIN/slow_api" --port "$API_PORT" &
pids+=($!)
RUST_LOG=warn "$BIN/app_async" --port-app "$APP_PORT" --api-url "http://127.0.0.1:$API_PORT/" &
pids+=($!)
wait_healthy "$API_PORT"
wait_healthy "$APP_PORT"
API="http://127.0.0.1:$API_PORT/?delay=0"
APP="http://127.0.0.1:$APP_PORT/?delay=1"

tmp=$(mktemp -d)
trap 'cleanup; rm -rf "$tmp"' EXIT

echo "== 1. keep-alive, c=64, ${DURATION}s, slow_api ?delay=0: loadgen vs wrk${OHA:+ vs oha} ($ROUNDS rounds)"
[ -n "$OHA" ] || echo "   (oha not found: cargo install oha; skipping it)"
for round in $(seq "$ROUNDS"); do
    exec 9>"$LOCK"
    flock 9
    run_wrk() { wrk=$(wrk -t2 -c64 -d"${DURATION}s" "$API" | awk '/Requests\/sec/ { print $2 }'); }
    run_lg() { lg=$(loadgen_json requests_per_second -k -c 64 -t "$DURATION" "$API"); }
    if [ $((round % 2)) = 1 ]; then run_wrk; run_lg; else run_lg; run_wrk; fi
    line="round $round: wrk $wrk, loadgen $lg"
    echo "$wrk" >>"$tmp/wrk"
    echo "$lg" >>"$tmp/lg_ka"
    echo "$lg $wrk" | awk '{ print $1 / $2 }' >>"$tmp/ratio_wrk"
    if [ -n "$OHA" ]; then
        oha=$("$OHA" --no-tui -z "${DURATION}s" -c 64 "$API" | awk '/Requests\/sec/ { print $2 }')
        echo "$oha" >>"$tmp/oha"
        echo "$lg $oha" | awk '{ print $1 / $2 }' >>"$tmp/ratio_oha"
        line="$line, oha $oha"
    fi
    flock -u 9
    echo "   $line requests/s"
done

echo "== 2. new connection per request, -n 20000 -c 50, slow_api ?delay=0: loadgen vs ab ($NEW_ROUNDS rounds)"
for round in $(seq "$NEW_ROUNDS"); do
    exec 9>"$LOCK"
    flock 9
    run_ab() { ab=$(ab_checked "Requests per second" 4 -n 20000 -c 50 "$API"); }
    run_lg() { lg=$(loadgen_json requests_per_second -n 20000 -c 50 "$API"); }
    if [ $((round % 2)) = 1 ]; then run_ab; run_lg; else run_lg; run_ab; fi
    flock -u 9
    echo "$ab" >>"$tmp/ab_new"
    echo "$lg" >>"$tmp/lg_new"
    echo "$lg $ab" | awk '{ print $1 / $2 }' >>"$tmp/ratio_ab_new"
    echo "   round $round: ab $ab, loadgen $lg requests/s"
done

echo "== 3. app_async ?delay=1, -r -n 2000 -c 200: loadgen vs ab ($AB_ROUNDS rounds)"
for round in $(seq "$AB_ROUNDS"); do
    exec 9>"$LOCK"
    flock 9
    run_ab() { ab=$(ab_checked "Time taken for tests" 5 -r -n 2000 -c 200 "$APP"); }
    run_lg() { lg=$(loadgen_json time_taken_s -r -n 2000 -c 200 "$APP"); }
    if [ $((round % 2)) = 1 ]; then run_ab; run_lg; else run_lg; run_ab; fi
    flock -u 9
    echo "$ab" >>"$tmp/ab_app"
    echo "$lg" >>"$tmp/lg_app"
    # loadgen's time against ab's minus its lone first request (one delay, 1 s).
    echo "$lg $ab" | awk '{ print $1 / ($2 - 1) }' >>"$tmp/ratio_app"
    echo "   round $round: ab $ab s, loadgen $lg s"
done

m() { median <"$tmp/$1"; }
{
    echo "| comparison | loadgen (median) | other tool (median) | median of per-round ratios |"
    echo "|---|---|---|---|"
    printf '| keep-alive c=64 %ss vs `wrk -t2 -c64` | %.0f req/s | %.0f req/s | loadgen/wrk = %.3f |\n' \
        "$DURATION" "$(m lg_ka)" "$(m wrk)" "$(m ratio_wrk)"
    if [ -n "$OHA" ]; then
        printf '| keep-alive c=64 %ss vs `oha -c 64` | %.0f req/s | %.0f req/s | loadgen/oha = %.3f |\n' \
            "$DURATION" "$(m lg_ka)" "$(m oha)" "$(m ratio_oha)"
    fi
    printf '| new connection per request, `-n 20000 -c 50` vs `ab` | %.0f req/s | %.0f req/s | loadgen/ab = %.3f |\n' \
        "$(m lg_new)" "$(m ab_new)" "$(m ratio_ab_new)"
    if [ -s "$tmp/ratio_app" ]; then
        printf '| app_async `?delay=1 -r -n 2000 -c 200` vs `ab` (time) | %.3f s | %.3f s | loadgen/(ab - 1 s) = %.3f |\n' \
            "$(m lg_app)" "$(m ab_app)" "$(m ratio_app)"
    fi
} | tee "$OUT"
echo "(saved to $OUT; $ROUNDS rounds keep-alive, $NEW_ROUNDS new-connection, $AB_ROUNDS app_async; $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg))"
