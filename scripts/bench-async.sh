#!/usr/bin/env bash
# Benchmarks app_async (one event loop by default) in front of slow_api with `ab`, the
# article's instrument, and reports the app's CPU time per 1,000 requests, peak RSS and
# peak thread count for each load.
#
#   scripts/bench-async.sh                  # the issue's three loads
#   WORKERS=2 CLIENT=async scripts/bench-async.sh
#   BASELINE=0 scripts/bench-async.sh       # without the last row (the heaviest load
#                                           # straight at slow_api, no app)
#
# ab sends its first request alone, then keeps c in flight: its best time for
# -n N -c C at delay D is D x (1 + ceil((N - 1) / C)), which is the ceiling printed here.
set -euo pipefail
cd "$(dirname "$0")/.."

WORKERS=${WORKERS:-1}
CLIENT=${CLIENT:-async}
PORT_API=${PORT_API:-14000}
PORT_APP=${PORT_APP:-13000}
LOADS=${LOADS:-"-n 2000 -c 200|-n 5000 -c 1000|-k -n 25000 -c 5000 -s 30"}
DELAY=${DELAY:-1}

scripts/ensure-packages.sh ab:apache2-utils
cargo build --release -q -p slow_api -p app_async

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

RUST_LOG=warn target/release/slow_api --port "$PORT_API" & pids+=($!)
RUST_LOG=warn WORKERS=$WORKERS CLIENT=$CLIENT target/release/app_async --port-app "$PORT_APP" --port-api "$PORT_API" &
app_pid=$!; pids+=($app_pid)
scripts/wait-healthy.sh "http://127.0.0.1:$PORT_API/healthz" "http://127.0.0.1:$PORT_APP/healthz"

clock_ticks=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

printf '%-28s %9s %9s %8s %7s %10s %8s %8s\n' load "req/s" ceiling "eff %" failed "cpu s/1k" "rss MB" threads
IFS='|' read -r -a load_list <<< "$LOADS"
for load in "${load_list[@]}"; do
    read -r -a flags <<< "$load"
    n=0; c=0
    for ((i = 0; i < ${#flags[@]}; i++)); do
        case ${flags[i]} in -n) n=${flags[i+1]} ;; -c) c=${flags[i+1]} ;; esac
    done
    ceiling=$(awk -v n="$n" -v c="$c" -v d="$DELAY" 'BEGIN { rounds = 1 + int((n - 1 + c - 1) / c); printf "%.1f", n / (d * rounds) }')
    peak_threads=0
    before=$(cpu_ticks "$app_pid")
    ab -r "${flags[@]}" "http://127.0.0.1:$PORT_APP/?delay=$DELAY" > /tmp/bench-async-ab.txt 2>&1 &
    ab_pid=$!
    while kill -0 "$ab_pid" 2>/dev/null; do
        threads=$(awk '/^Threads:/ {print $2}' "/proc/$app_pid/status")
        (( threads > peak_threads )) && peak_threads=$threads
        sleep 0.2
    done
    wait "$ab_pid" || { cat /tmp/bench-async-ab.txt; exit 1; }
    after=$(cpu_ticks "$app_pid")
    rps=$(awk '/^Requests per second/ {print $4}' /tmp/bench-async-ab.txt)
    failed=$(awk '/^Failed requests/ {print $3}' /tmp/bench-async-ab.txt)
    rss=$(awk '/^VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$app_pid/status")
    cpu_per_k=$(awk -v t=$((after - before)) -v hz="$clock_ticks" -v n="$n" 'BEGIN { printf "%.3f", t / hz / n * 1000 }')
    eff=$(awk -v r="$rps" -v c="$ceiling" 'BEGIN { printf "%.1f", 100 * r / c }')
    printf '%-28s %9s %9s %8s %7s %10s %8s %8s\n' "ab $load" "$rps" "$ceiling" "$eff" "$failed" "$cpu_per_k" "$rss" "$peak_threads"
done

# Know the instrument: the heaviest load again, straight at slow_api with no app in
# between. On a small machine ab and the slow API alone fall short of ab's ceiling; the
# app's row can only come close to this one, not to the ceiling.
if [ "${BASELINE:-1}" = 1 ]; then
    ab -r "${flags[@]}" "http://127.0.0.1:$PORT_API/?delay=$DELAY" > /tmp/bench-async-ab.txt 2>&1 \
        || { cat /tmp/bench-async-ab.txt; exit 1; }
    rps=$(awk '/^Requests per second/ {print $4}' /tmp/bench-async-ab.txt)
    failed=$(awk '/^Failed requests/ {print $3}' /tmp/bench-async-ab.txt)
    eff=$(awk -v r="$rps" -v c="$ceiling" 'BEGIN { printf "%.1f", 100 * r / c }')
    printf '%-28s %9s %9s %8s %7s %10s %8s %8s\n' "same, slow_api alone" "$rps" "$ceiling" "$eff" "$failed" - - -
fi
