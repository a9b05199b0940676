#!/usr/bin/env bash
# The article's ab loads against app_sync's three models (and the thread-per-connection
# model at c=1000), with what each costs: CPU seconds per 1,000 requests, peak RSS and
# peak thread count of the whole app_sync process tree (master + workers).
#
# Usage: scripts/bench-sync.sh [CASE...]   (cases: devserver threaded threaded-1000
#        workers-200 workers-1000 nginx-uwsgi; default: all but nginx-uwsgi)
# Run it through `make bench-sync`, which builds first and holds /tmp/lab-bench.lock so
# that no other benchmark shares the CPU meanwhile.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-target/release}
PORT_API=${BENCH_PORT_API:-47100}
PORT_APP=${BENCH_PORT_APP:-47101}
PORT_NGINX=${BENCH_PORT_NGINX:-47102}
DELAY=${DELAY:-1}
CLK_TCK=$(getconf CLK_TCK)
WORK=$(mktemp -d /tmp/bench-sync.XXXXXX)
PIDS=()

cleanup() {
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

# ab opens up to 1,000 sockets; the app as many, plus as many to the upstream.
ulimit -n "$(ulimit -Hn)"

wait_healthy() { # port
    for _ in $(seq 1 200); do
        curl -fsS -o /dev/null "http://127.0.0.1:$1/healthz" 2>/dev/null && return 0
        sleep 0.05
    done
    echo "error: nothing healthy on port $1" >&2
    return 1
}

tree() { # pid: the pid and its children
    echo "$1"
    pgrep -P "$1" || true
}

cpu_ticks() { # pid: utime+stime of the tree, in clock ticks
    local total=0 pid
    for pid in $(tree "$1"); do
        [ -r "/proc/$pid/stat" ] || continue
        total=$((total + $(awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/$pid/stat")))
    done
    echo "$total"
}

sample() { # pid outfile: every 0.2 s, "threads rss_kib" summed over the tree
    while kill -0 "$1" 2>/dev/null; do
        local threads=0 rss=0 pid t r
        for pid in $(tree "$1"); do
            t=$(awk '/^Threads:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
            r=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
            threads=$((threads + ${t:-0}))
            rss=$((rss + ${r:-0}))
        done
        echo "$threads $rss" >>"$2"
        sleep 0.2
    done
}

"$BIN/slow_api" --port "$PORT_API" >"$WORK/slow_api.log" 2>&1 &
PIDS+=($!)
wait_healthy "$PORT_API"

run_case() { # name ab_n ab_c cap port app_args...   (cap: requests the model serves at once)
    local name=$1 n=$2 c=$3 cap=$4 port=$5
    shift 5
    RUST_LOG=warn "$BIN/app_sync" --port-app "$PORT_APP" --port-api "$PORT_API" "$@" \
        >"$WORK/$name.app.log" 2>&1 &
    local app=$!
    PIDS+=("$app")
    if [ "$port" = "$PORT_NGINX" ]; then start_nginx; fi
    wait_healthy "$port"
    sleep 0.5 # let the workers finish starting before counting their CPU

    local before after samples="$WORK/$name.samples"
    before=$(cpu_ticks "$app")
    sample "$app" "$samples" &
    local sampler=$!
    ab -r -n "$n" -c "$c" "http://127.0.0.1:$port/?delay=$DELAY" >"$WORK/$name.ab" 2>&1 || true
    after=$(cpu_ticks "$app")
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
    if [ "$port" = "$PORT_NGINX" ]; then stop_nginx; fi
    kill -TERM "$app"
    wait "$app" || echo "warning: app_sync ($name) exited with $?" >&2

    local ab=$WORK/$name.ab
    local took rps complete failed p50 p99 threads rss
    took=$(awk '/^Time taken for tests:/ {print $5}' "$ab")
    rps=$(awk '/^Requests per second:/ {print $4}' "$ab")
    complete=$(awk '/^Complete requests:/ {print $3}' "$ab")
    failed=$(awk '/^Failed requests:/ {print $3}' "$ab")
    p50=$(awk '$1 == "50%" {print $2}' "$ab")
    p99=$(awk '$1 == "99%" {print $2}' "$ab")
    threads=$(sort -n -k1 "$samples" | tail -n 1 | cut -d' ' -f1)
    rss=$(sort -n -k2 "$samples" | tail -n 1 | cut -d' ' -f2)
    if [ -z "$complete" ]; then
        echo "error: ab failed for $name:" >&2
        tail -n 5 "$ab" >&2
        return 1
    fi
    # ab's best time: delay x (1 + ceil((n - 1) / min(c, cap))): its first request goes
    # alone, then the server serves at most min(c, cap) at a time.
    local best
    best=$(awk -v d="$DELAY" -v n="$n" -v c="$c" -v cap="$cap" \
        'BEGIN { k = (c < cap ? c : cap); r = int((n - 1) / k); if (r * k < n - 1) r++; printf "%.1f", d * (1 + r) }')
    printf '%-14s %-22s %5s %5s %4s %7s %7s %6s %8s %6s %6s %8s %7s %6s\n' \
        "$name" "$*" "$n" "$c" "$failed" "$best" "$took" \
        "$(awk -v b="$best" -v t="$took" 'BEGIN {printf "%.0f%%", b / t * 100}')" \
        "$rps" "$p50" "$p99" \
        "$(awk -v t=$((after - before)) -v k="$CLK_TCK" -v n="$complete" 'BEGIN {printf "%.2f", t / k / n * 1000}')" \
        "$((rss / 1024))" "$threads"
}

start_nginx() {
    mkdir -p "$WORK/nginx"
    sed -e "s/@PORT_NGINX@/$PORT_NGINX/; s/@PORT_APP@/$PORT_APP/; s#@DIR@#$WORK/nginx#g" \
        >"$WORK/nginx/nginx.conf" <<'EOF'
worker_processes 1;
daemon off;
pid @DIR@/nginx.pid;
error_log @DIR@/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path @DIR@/body;
    proxy_temp_path @DIR@/proxy;
    fastcgi_temp_path @DIR@/fastcgi;
    uwsgi_temp_path @DIR@/uwsgi;
    scgi_temp_path @DIR@/scgi;
    server {
        listen 127.0.0.1:@PORT_NGINX@ backlog=4096;
        location / {
            include /etc/nginx/uwsgi_params;
            uwsgi_read_timeout 120s;
            uwsgi_pass 127.0.0.1:@PORT_APP@;
        }
    }
}
EOF
    /usr/sbin/nginx -e "$WORK/nginx/error.log" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" &
    NGINX=$!
}

stop_nginx() {
    kill -QUIT "$NGINX" 2>/dev/null || true
    wait "$NGINX" 2>/dev/null || true
}

cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=(devserver threaded threaded-1000 workers-200 workers-1000)

echo "ab -r -n N -c C 'http://127.0.0.1:PORT/?delay=$DELAY' against app_sync; CPU, RSS and threads for the app_sync process tree"
printf '%-14s %-22s %5s %5s %4s %7s %7s %6s %8s %6s %6s %8s %7s %6s\n' \
    case "app_sync flags" N C fail best_s time_s "%best" "req/s" "p50ms" "p99ms" "cpu_s/1k" "rss_MiB" threads
for case in "${cases[@]}"; do
    case $case in
    devserver) run_case devserver 10 5 1 "$PORT_APP" --workers 1 --threads 1 ;;
    threaded) run_case threaded 10 5 100000 "$PORT_APP" --threads 0 ;;
    threaded-1000) run_case threaded-1000 5000 1000 100000 "$PORT_APP" --threads 0 ;;
    workers-200) run_case workers-200 2000 200 200 "$PORT_APP" --workers 4 --threads 50 ;;
    workers-1000) run_case workers-1000 5000 1000 200 "$PORT_APP" --workers 4 --threads 50 ;;
    nginx-uwsgi) run_case nginx-uwsgi 2000 200 200 "$PORT_NGINX" --workers 4 --threads 50 --protocol uwsgi ;;
    *) echo "error: unknown case $case" >&2; exit 2 ;;
    esac
done
