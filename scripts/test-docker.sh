#!/usr/bin/env bash
# make test-docker: every compose file on the real Docker engine. For each file: build and
# start it, wait until every container is healthy, check the body on every published
# port, put a short load through it, stop a dependency and see the 502/503 the app owes
# its users, then take it down with its volumes. Then the overlays: compose/prometheus.yml
# on a topology, until Prometheus' API shows the requests sent to the app; and
# compose/live.yml, whose page runs a load from its container and streams it. Last,
# `lab bench-docker` shortened to one row (`make bench-docker`'s pipeline: up, healthy,
# load, down, its JSON and page, the container tax).
#
#   LAB_BUILD=prebuilt (default here)  images copy host-built release binaries
#                                      (compose/Dockerfile.prebuilt, CI speed)
#   LAB_BUILD=source                   images build from source (compose/Dockerfile),
#                                      as users get them
#   LOADGEN=path                       ab-compatible load generator (default
#                                      the workspace's target/release/loadgen; ab works too)
#   FILES="a.yml b.yml"                only these compose files (prometheus.yml, live.yml: the overlays;
#                                      bench-docker: the shortened lab bench-docker)
#   COMPOSE="docker compose"           the compose client (default: v2 if present, else v1)
#
# A compose file whose service is not in this workspace yet is skipped with a loud
# message; any other failure fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

source scripts/docker-common.sh

# file | services' binaries | published port:load ... | dependency to stop | statuses then
# (a stopped app's address drops nginx's SYN: 504 after proxy_connect_timeout, or 502)
# Load "heavy" is `-r -n 400 -c 100 ?delay=0.5` (ceiling 200 rps); "light" is
# `-r -n 10 -c 5 ?delay=0.5` for the ports that serve one request at a time.
# Port 5432 is PostgreSQL: checked with pg_isready, no HTTP load.
SCENARIOS=(
    "sync-devserver.yml|slow_api app_sync|3000:light 3001:heavy|slow_api|502"
    "sync-workers.yml|slow_api app_sync|3000:heavy|slow_api|502"
    "async-gevent.yml|slow_api app_async|3000:heavy 3001:light|slow_api|502"
    "async-workers.yml|slow_api app_async|3000:heavy|slow_api|502"
    "nginx-sync.yml|slow_api app_sync|8080:heavy|app_sync|502 504"
    "nginx-async.yml|slow_api app_async|8080:heavy|app_async|502 504"
    "nginx-uwsgi.yml|slow_api app_async|8080:heavy|app_async|502 504"
    "nginx-uwsgi-sync.yml|slow_api app_sync|8080:heavy|app_sync|502 504"
    "bonus-postgres.yml|slow_api app_pg|3000:light 3001:light 5432:postgres|postgres|503"
)
MIN_HEAVY_RPS=${MIN_HEAVY_RPS:-100} # half the 200 rps ceiling: a generous bound on a noisy 2-core box

# overlay | topology it is added to | binaries | port to send requests to | job | scrape target of that app
# Prometheus must show the target up and http_requests_total >= what was sent.
OVERLAYS=(
    "prometheus.yml|async-gevent.yml|slow_api app_async|3000|apps|app_async:9100"
)
PROM_URL=http://127.0.0.1:9090
PROM_REQUESTS=20     # -r -n 20 -c 10 ?delay=0.1, plus the one body check
PROM_DEADLINE=45     # seconds for the scrape (every 5 s) to show them

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# GET url -> prints the status code; the body lands in $tmp/body.
fetch() { curl -sS -m 20 -o "$tmp/body" -w '%{http_code}' "$1" 2>/dev/null || true; }

# load PORT KIND -> checks the counts; prints the summary line.
load() {
    local port=$1 kind=$2 n c out complete failed non2xx rps
    if [ "$kind" = heavy ]; then n=400; c=100; else n=10; c=5; fi
    out=$(flock /tmp/lab-bench.lock "$LOADGEN" -r -n "$n" -c "$c" "http://127.0.0.1:$port/?delay=0.5" 2>&1) || {
        echo "$out" | tail -n 5 >&2; echo "load generator failed" >&2; return 1; }
    complete=$(awk -F: '/^Complete requests/ {gsub(/ /,"",$2); print $2}' <<<"$out")
    failed=$(awk -F: '/^Failed requests/ {gsub(/ /,"",$2); print $2}' <<<"$out")
    non2xx=$(awk -F: '/^Non-2xx responses/ {gsub(/ /,"",$2); print $2}' <<<"$out")
    rps=$(awk '/^Requests per second/ {print $4}' <<<"$out")
    echo "   port $port: -n $n -c $c ?delay=0.5: complete $complete, failed $failed, non-2xx ${non2xx:-0}, $rps rps"
    [ "$complete" = "$n" ] && [ "$failed" = 0 ] && [ -z "$non2xx" ] || { echo "load through $port lost requests" >&2; return 1; }
    if [ "$kind" = heavy ]; then
        awk -v r="$rps" -v m="$MIN_HEAVY_RPS" 'BEGIN { exit !(r >= m) }' || {
            echo "$rps rps through $port is under $MIN_HEAVY_RPS (ceiling 200)" >&2; return 1; }
    fi
}

run_file() { # one SCENARIOS line
    local file bins ports dep want project bin entry port kind got deadline
    IFS='|' read -r file bins ports dep want <<<"$1"
    project=lab-${file%.yml}
    for bin in $bins; do
        if ! have_service "$bin"; then
            loud "SKIPPED compose/$file: service $bin is not in this workspace yet ($([ "$LAB_BUILD" = prebuilt ] && echo "no target/release/$bin" || echo "no $bin/Cargo.toml"))"
            results+=("$file|SKIPPED (no $bin)|-")
            return 0
        fi
    done
    for entry in $ports; do
        if port_busy "${entry%%:*}"; then
            echo "error: 127.0.0.1:${entry%%:*} is already in use; compose/$file publishes it" >&2
            return 1
        fi
    done

    local start=$SECONDS
    say "compose/$file ($COMPOSE, LAB_BUILD=$LAB_BUILD)"
    # v1's classic builder leaves a failed step's container behind unless told not to.
    $COMPOSE -p "$project" -f "compose/$file" build $([ "$COMPOSE" = docker-compose ] && echo --force-rm) >"$tmp/build.log" 2>&1 || { tail -n 30 "$tmp/build.log" >&2; return 1; }
    $COMPOSE -p "$project" -f "compose/$file" up -d --build >"$tmp/up.log" 2>&1 || { tail -n 30 "$tmp/up.log" >&2; return 1; }
    wait_healthy "$project" "$file" || return 1
    echo "   all containers healthy after $((SECONDS - start)) s"

    for entry in $ports; do
        port=${entry%%:*}
        kind=${entry#*:}
        if [ "$kind" = postgres ]; then
            $COMPOSE -p "$project" -f "compose/$file" exec -T postgres \
                pg_isready -h 127.0.0.1 -U example -d example >/dev/null \
                && (exec 3<>"/dev/tcp/127.0.0.1/$port") \
                || { echo "PostgreSQL is not ready on $port" >&2; return 1; }
            echo "   port $port: PostgreSQL accepts connections"
            continue
        fi
        got=$(fetch "http://127.0.0.1:$port/?delay=0.1")
        echo "   port $port: $got $(head -n 1 "$tmp/body")"
        [ "$got" = 200 ] && grep -q '^Hi there! slow api response' "$tmp/body" || {
            echo "unexpected answer on $port" >&2; return 1; }
        load "$port" "$kind" || return 1
    done

    $COMPOSE -p "$project" -f "compose/$file" stop "$dep" >/dev/null 2>&1
    for entry in $ports; do
        port=${entry%%:*}
        [ "${entry#*:}" = postgres ] && continue
        deadline=$((SECONDS + 30))
        until got=$(fetch "http://127.0.0.1:$port/?delay=0.1"); [[ " $want " == *" $got "* ]]; do
            [ $SECONDS -ge $deadline ] && { echo "port $port answered $got, not $want, with $dep stopped" >&2; return 1; }
            sleep 1
        done
        echo "   $dep stopped: port $port answers $got $(head -n 1 "$tmp/body")"
    done
    results+=("$file|ok|$((SECONDS - start)) s")
}

# promql QUERY -> prints the first result's value, or nothing.
promql() {
    curl -sS -m 5 -G "$PROM_URL/api/v1/query" --data-urlencode "query=$1" 2>/dev/null \
        | jq -r '.data.result[0].value[1] // empty' 2>/dev/null || true
}

run_overlay() { # one OVERLAYS line
    local overlay file bins port job target project image bin p start deadline sent got up health
    IFS='|' read -r overlay file bins port job target <<<"$1"
    project=lab-${file%.yml}-${overlay%.yml}
    for bin in $bins; do
        if ! have_service "$bin"; then
            loud "SKIPPED compose/$file + compose/$overlay: service $bin is not in this workspace yet"
            results+=("$file+$overlay|SKIPPED (no $bin)|-")
            return 0
        fi
    done
    image=$(awk '$1 == "image:" {print $2; exit}' "compose/$overlay")
    docker image inspect "$image" >/dev/null 2>&1 || {
        echo "base image $image is missing and this engine may not pull: run make docker-images" >&2; return 1; }
    for p in 3000 3001 9090; do
        if port_busy "$p"; then echo "error: 127.0.0.1:$p is already in use; compose/$file + $overlay publish it" >&2; return 1; fi
    done

    start=$SECONDS
    say "compose/$file + compose/$overlay ($COMPOSE, LAB_BUILD=$LAB_BUILD)"
    $COMPOSE -p "$project" -f "compose/$file" -f "compose/$overlay" up -d --build >"$tmp/up.log" 2>&1 || { tail -n 30 "$tmp/up.log" >&2; return 1; }
    wait_healthy "$project" "$file" "$overlay" || return 1
    echo "   all containers healthy after $((SECONDS - start)) s"

    got=$(fetch "http://127.0.0.1:$port/?delay=0.1")
    [ "$got" = 200 ] || { echo "port $port answered $got before the load" >&2; return 1; }
    flock /tmp/lab-bench.lock "$LOADGEN" -r -n "$PROM_REQUESTS" -c 10 "http://127.0.0.1:$port/?delay=0.1" >"$tmp/load.log" 2>&1 \
        && grep -q "^Complete requests: *$PROM_REQUESTS\$" "$tmp/load.log" || {
        tail -n 5 "$tmp/load.log" >&2; echo "load through $port did not complete" >&2; return 1; }
    sent=$((PROM_REQUESTS + 1))
    echo "   port $port: sent $sent requests"

    deadline=$((SECONDS + PROM_DEADLINE))
    while :; do
        up=$(promql "up{job=\"$job\",instance=\"$target\"}")
        got=$(promql "sum(http_requests_total{job=\"$job\",instance=\"$target\"})")
        [ "$up" = 1 ] && [ -n "$got" ] && [ "$got" -ge "$sent" ] && break
        if [ $SECONDS -ge $deadline ]; then
            health=$(curl -sS -m 5 "$PROM_URL/api/v1/targets" 2>/dev/null | jq -r --arg t "$target" \
                'first(.data.activeTargets[] | select(.labels.instance == $t) | "target \(.health) \(.lastError)") // "not a scrape target"' 2>/dev/null || echo "no answer from $PROM_URL")
            echo "Prometheus after ${PROM_DEADLINE} s: up{instance=\"$target\"}=${up:-none}, sum(http_requests_total)=${got:-none}, expected up 1 and >= $sent ($target: $health)" >&2
            return 1
        fi
        sleep 1
    done
    echo "   Prometheus: up{job=\"$job\",instance=\"$target\"} = $up, sum(http_requests_total{...}) = $got (>= $sent) after $((SECONDS - start)) s"
    curl -sS -m 5 "$PROM_URL/api/v1/targets" | jq -r '.data.activeTargets[] | "     target \(.labels.job) \(.labels.instance): \(.health)"' | sort
    results+=("$file+$overlay|ok|$((SECONDS - start)) s")
}

# The live page's overlay: on async-gevent.yml, a run of `async` (100 clients, delay
# 0.2 s, 3 s) from the page's container must stream samples whose server side comes from
# the app's /metrics over the network, and end with the row.
LIVE_FILE=async-gevent.yml
LIVE_RUN='{"scenario": "async", "clients": 100, "delay": 0.2, "seconds": 3}'

run_live() {
    local project=lab-${LIVE_FILE%.yml}-live start id bin p lock
    for bin in slow_api app_async lab; do
        if ! have_service "$bin"; then
            loud "SKIPPED compose/$LIVE_FILE + compose/live.yml: $bin is not built"
            results+=("$LIVE_FILE+live.yml|SKIPPED (no $bin)|-")
            return 0
        fi
    done
    for p in 3000 3001 8089; do
        if port_busy "$p"; then echo "error: 127.0.0.1:$p is already in use; compose/$LIVE_FILE + live.yml publish it" >&2; return 1; fi
    done
    start=$SECONDS
    say "compose/$LIVE_FILE + compose/live.yml ($COMPOSE, LAB_BUILD=$LAB_BUILD)"
    LIVE_COMPOSE_FILE=$LIVE_FILE $COMPOSE -p "$project" -f "compose/$LIVE_FILE" -f compose/live.yml up -d --build >"$tmp/up.log" 2>&1 || { tail -n 30 "$tmp/up.log" >&2; return 1; }
    wait_healthy "$project" "$LIVE_FILE" live.yml || return 1
    echo "   all containers healthy after $((SECONDS - start)) s"
    curl -sS -m 10 http://127.0.0.1:8089/api/scenarios >"$tmp/scenarios.json"
    python3 - "$tmp/scenarios.json" "$LIVE_FILE" <<'PY' || return 1
import json, sys
ids = [row["id"] for row in json.load(open(sys.argv[1]))]
if "async" not in ids or "sync-workers" in ids:
    sys.exit(f"the page in the overlay of {sys.argv[2]} offers {ids}: expected its own topologies only")
print(f"   the page offers {', '.join(ids)}")
PY
    # The host's bench lock for the whole run: the load runs in the container.
    exec {lock}>/tmp/lab-bench.lock
    flock "$lock"
    id=$(curl -sS -m 10 -X POST -H 'Content-Type: application/json' -d "$LIVE_RUN" http://127.0.0.1:8089/api/runs | jq -r '.id // empty')
    [ -n "$id" ] && curl -sS -N -m 60 "http://127.0.0.1:8089/api/runs/$id/events" >"$tmp/events" || true
    exec {lock}>&-
    [ -n "$id" ] || { echo "POST /api/runs did not start a run" >&2; return 1; }
    python3 - "$tmp/events" <<'PY' || return 1
import json, sys
samples, summary, event = [], None, None
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    if line.startswith("event: "):
        event = line[7:]
    elif line.startswith("data: "):
        data = json.loads(line[6:])
        if event is None:
            samples.append(data)
        elif event == "summary":
            summary = data
        event = None
if summary is None:
    sys.exit(f"the stream ended without its summary after {len(samples)} samples")
most = lambda key: max((s[key] or 0) for s in samples) if samples else 0
problems = []
if len(samples) < 10: problems.append(f"{len(samples)} samples")
if most("clients_in_flight") != 100: problems.append(f"at most {most('clients_in_flight')} in flight on the clients' side")
if most("server_in_flight") < 50: problems.append(f"at most {most('server_in_flight')} in flight in the app's /metrics")
if most("threads") < 1: problems.append("no threads from the app's process_threads")
if summary.get("error") or summary["complete"] == 0: problems.append(f"row: {summary.get('error')}, {summary['complete']} complete")
if problems:
    sys.exit("the live run: " + "; ".join(problems))
print(f"   live run of async: {len(samples)} samples, in flight {most('clients_in_flight')} (clients) / "
      f"{most('server_in_flight'):.0f} (app's /metrics), app threads {most('threads')}, "
      f"{summary['complete']} complete at {summary['requests_per_second']:.1f} requests/s")
PY
    results+=("$LIVE_FILE+live.yml|ok|$((SECONDS - start)) s")
}

# `lab bench-docker` on one row of sync-devserver.yml with a 0.2 s delay: its 10 requests
# must all answer 2xx, the project must be gone after, and the page must hold both
# tables, the row beside the native run's (whose load differs: a 1 s delay).
BENCH_DOCKER_ROW=devserver-threaded

run_bench_docker() {
    local start=$SECONDS out=$tmp/bench-docker p
    for bin in slow_api app_sync; do
        if ! have_service "$bin"; then
            loud "SKIPPED lab bench-docker: $bin is not built"
            results+=("lab bench-docker|SKIPPED (no $bin)|-")
            return 0
        fi
    done
    for p in 3000 3001; do
        if port_busy "$p"; then echo "error: 127.0.0.1:$p is already in use; compose/sync-devserver.yml publishes it" >&2; return 1; fi
    done
    say "lab bench-docker --scenario $BENCH_DOCKER_ROW --delay 0.2 ($COMPOSE, LAB_BUILD=$LAB_BUILD)"
    cargo build --release --locked -q -p lab
    # The lab takes the bench lock for the load itself.
    COMPOSE="$COMPOSE" LAB_BUILD="$LAB_BUILD" target/release/lab bench-docker \
        --scenario "$BENCH_DOCKER_ROW" --delay 0.2 --results "$out" >"$tmp/bench-docker.log" 2>&1 || {
        tail -n 20 "$tmp/bench-docker.log" >&2; echo "lab bench-docker failed" >&2; return 1; }
    [ -z "$($COMPOSE -p lab-bench-sync-devserver -f compose/sync-devserver.yml ps -q)" ] || {
        echo "lab bench-docker left compose project lab-bench-sync-devserver up" >&2; return 1; }
    python3 - "$out" "$BENCH_DOCKER_ROW" <<'PY' || return 1
import json, sys
out, row_id = sys.argv[1:]
run = json.load(open(f"{out}/bench-docker.json"))
page = open(f"{out}/bench-docker.md").read()
rows = run["rows"]
problems = []
if [row["id"] for row in rows] != [row_id]: problems.append(f"rows {[row['id'] for row in rows]}")
for row in rows:
    if row["error"] or row["complete"] != row["requests"] or row["failed"] or row["non_2xx"]:
        problems.append(f"{row['id']}: {row['complete']} of {row['requests']} complete, {row['failed']} failed, {row['non_2xx']} non-2xx, error {row['error']}")
for needed in ["| scenario | compose file (port) |", "## The container tax", f"| {row_id} | -n 10 -c 5 delay=0.2 | native load differs"]:
    if needed not in page: problems.append(f"the page lacks {needed!r}")
if problems:
    sys.exit("lab bench-docker: " + "; ".join(problems))
print(f"   {row_id}: {rows[0]['complete']} complete at {rows[0]['requests_per_second']:.1f} requests/s (ceiling {rows[0]['ceiling_rps']:.0f}); both tables written")
PY
    results+=("lab bench-docker|ok|$((SECONDS - start)) s")
}

tmp=$(mktemp -d)
current=() # the compose arguments (-p project -f file...) of what is up now
cleanup() {
    [ ${#current[@]} -gt 0 ] && $COMPOSE "${current[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT

results=()
failures=0
total=$SECONDS
for line in "${SCENARIOS[@]}"; do
    file=${line%%|*}
    if [ -n "${FILES:-}" ] && [[ " $FILES " != *" $file "* ]]; then continue; fi
    current=(-p "lab-${file%.yml}" -f "compose/$file")
    if ! run_file "$line"; then
        failures=$((failures + 1))
        results+=("$file|FAILED|-")
        echo "-- logs of compose/$file:" >&2
        $COMPOSE "${current[@]}" logs --no-color --tail 10 >&2 || true
    fi
    $COMPOSE "${current[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
    current=()
done
for line in "${OVERLAYS[@]}"; do
    IFS='|' read -r overlay file _ _ _ target <<<"$line"
    if [ -n "${FILES:-}" ] && [[ " $FILES " != *" $overlay "* ]]; then continue; fi
    current=(-p "lab-${file%.yml}-${overlay%.yml}" -f "compose/$file" -f "compose/$overlay")
    if ! run_overlay "$line"; then
        failures=$((failures + 1))
        results+=("$file+$overlay|FAILED|-")
        echo "-- logs of prometheus and ${target%%:*} (compose/$file + compose/$overlay):" >&2
        $COMPOSE "${current[@]}" logs --no-color --tail 15 prometheus "${target%%:*}" >&2 || true
    fi
    $COMPOSE "${current[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
    current=()
done

if [ -z "${FILES:-}" ] || [[ " $FILES " == *" live.yml "* ]]; then
    current=(-p "lab-${LIVE_FILE%.yml}-live" -f "compose/$LIVE_FILE" -f compose/live.yml)
    if ! run_live; then
        failures=$((failures + 1))
        results+=("$LIVE_FILE+live.yml|FAILED|-")
        echo "-- logs of live and app_async (compose/$LIVE_FILE + compose/live.yml):" >&2
        $COMPOSE "${current[@]}" logs --no-color --tail 15 live app_async >&2 || true
    fi
    $COMPOSE "${current[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
    current=()
fi

if [ -z "${FILES:-}" ] || [[ " $FILES " == *" bench-docker "* ]]; then
    if ! run_bench_docker; then
        failures=$((failures + 1))
        results+=("lab bench-docker|FAILED|-")
    fi
    # What the lab takes down itself; again in case it could not.
    $COMPOSE -p lab-bench-sync-devserver -f compose/sync-devserver.yml down -v --remove-orphans >/dev/null 2>&1 || true
fi

say "summary ($((SECONDS - total)) s)"
printf '   %-31s %-22s %s\n' file result time
for r in "${results[@]}"; do IFS='|' read -r f res t <<<"$r"; printf '   %-31s %-22s %s\n' "$f" "$res" "$t"; done
[ "$failures" = 0 ] || { echo "$failures compose file(s) failed" >&2; exit 1; }
