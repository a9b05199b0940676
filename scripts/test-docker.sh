#!/usr/bin/env bash
# make test-docker: every compose file on the real Docker engine. For each file: build and
# start it, wait until every container is healthy, check the body on every published
# port, put a short load through it, stop a dependency and see the 502/503 the app owes
# its users, then take it down with its volumes.
#
#   LAB_BUILD=prebuilt (default here)  images copy host-built release binaries
#                                      (compose/Dockerfile.prebuilt, CI speed)
#   LAB_BUILD=source                   images build from source (compose/Dockerfile),
#                                      as users get them
#   LOADGEN=path                       ab-compatible load generator (default
#                                      the workspace's target/release/loadgen; ab works too)
#   FILES="a.yml b.yml"                only these compose files
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

tmp=$(mktemp -d)
current=""
cleanup() {
    [ -n "$current" ] && $COMPOSE -p "$current" -f "compose/$current.yml" down -v --remove-orphans >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT

results=()
failures=0
total=$SECONDS
for line in "${SCENARIOS[@]}"; do
    file=${line%%|*}
    if [ -n "${FILES:-}" ] && [[ " $FILES " != *" $file "* ]]; then continue; fi
    current=${file%.yml}
    current=lab-$current
    if ! run_file "$line"; then
        failures=$((failures + 1))
        results+=("$file|FAILED|-")
        echo "-- logs of compose/$file:" >&2
        $COMPOSE -p "$current" -f "compose/$file" logs --no-color --tail 10 >&2 || true
    fi
    $COMPOSE -p "$current" -f "compose/$file" down -v --remove-orphans >/dev/null 2>&1 || true
    current=""
done

say "summary ($((SECONDS - total)) s)"
printf '   %-20s %-22s %s\n' file result time
for r in "${results[@]}"; do IFS='|' read -r f res t <<<"$r"; printf '   %-20s %-22s %s\n' "$f" "$res" "$t"; done
[ "$failures" = 0 ] || { echo "$failures compose file(s) failed" >&2; exit 1; }
