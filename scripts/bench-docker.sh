#!/usr/bin/env bash
# make bench-docker: make bench-all's scenarios through the compose files. For each
# compose file: build and start it, wait until healthy, run each of its scenarios' loads
# (the lab's scenario table, `lab bench --list --json`) against the published port with
# the workspace's loadgen, take it down. Prints the table and writes
# results/bench-docker.{md,json}; `make bench-docker` then updates the docs (`lab docs`).
# Then the container tax: each row beside the same scenario's native row from the
# committed results/bench-all.json (its own run and date, named in the table's header),
# as a second table in results/bench-docker.md and `native` fields in the JSON rows.
#
#   LAB_BUILD=prebuilt|source, COMPOSE=..., LOADGEN=...   as for make test-docker
#   EXTRA=1                                                also the c=1000 rows
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

source scripts/docker-common.sh
scripts/ensure-packages.sh jq:jq

# Only the scenario table is read from it: a debug build is enough.
cargo build --locked -q -p lab
scenarios=$(target/debug/lab bench --list --json |
    jq -c --arg extra "${EXTRA:-0}" '.[] | select(.compose != null) | select($extra == "1" or (.extra | not))')

current=""
cleanup() { [ -n "$current" ] && $COMPOSE -p "lab-bench-${current%.yml}" -f "compose/$current" down -v --remove-orphans >/dev/null 2>&1 || true; }
trap cleanup EXIT INT TERM

mkdir -p results
out=results/bench-docker.md
rows_json=$(mktemp)
started_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)
compose_version=$($COMPOSE version --short 2>/dev/null || $COMPOSE version | head -n 1)
# The nginx the nginx rows run: the image's own binary (on the CI machine a stand-in
# built from Debian's package under the official tag, so the tag alone would mislead).
nginx_version=$(docker run --rm --entrypoint nginx nginx:1.27-bookworm -v 2>&1 | sed -n 's|^nginx version: ||p')
{
    echo "# bench-docker results"
    echo
    echo "Run $started_at on $(nproc) CPU(s); compose client $COMPOSE $compose_version; image nginx:1.27-bookworm runs $nginx_version; LAB_BUILD=$LAB_BUILD. Ceiling: loadgen's, min(c, capacity) / delay."
    echo
    echo "| scenario | compose file (port) | load | complete | failed | non-2xx | requests/s | ceiling | efficiency | p50 ms | p99 ms |"
    echo "|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|"
} > "$out"

failures=0
for file in $(jq -r '.compose.file' <<<"$scenarios" | awk '!seen[$0]++'); do
    current=$file
    project=lab-bench-${file%.yml}
    say "compose/$file"
    $COMPOSE -p "$project" -f "compose/$file" up -d --build >/tmp/lab-bench-docker-up.log 2>&1 || {
        tail -n 30 /tmp/lab-bench-docker-up.log >&2; exit 1; }
    wait_healthy "$project" "$file"
    while read -r row; do
        id=$(jq -r .id <<<"$row"); port=$(jq -r .compose.port <<<"$row")
        n=$(jq -r .load.requests <<<"$row"); c=$(jq -r .load.concurrency <<<"$row"); delay=$(jq -r .load.delay <<<"$row")
        keep=$(jq -r 'if .load.keep_alive then "-k" else "" end' <<<"$row")
        ceiling=$(jq -r .ceiling_rps <<<"$row")
        report=$(flock /tmp/lab-bench.lock "$LOADGEN" --json $keep -r -n "$n" -c "$c" "http://127.0.0.1:$port/?delay=$delay")
        line=$(jq -r --arg id "$id" --arg where "$file ($port)" --arg load "${keep:+$keep }-n $n -c $c delay=$delay" --argjson ceiling "$ceiling" '
            "| \($id) | \($where) | \($load) | \(.complete) | \(.failed) | \(.non_2xx) | \(.requests_per_second * 100 | round / 100) | \($ceiling) | \((.complete - .non_2xx) / .time_taken_s / $ceiling * 100 | round)% | \(.latency_ms.p50 | round) | \(.latency_ms.p99 | round) |"' <<<"$report")
        echo "$line" | tee -a "$out"
        jq -c --arg id "$id" --arg file "$file" --argjson port "$port" --argjson ceiling "$ceiling" '{
            id: $id, compose_file: $file, port: $port,
            requests: .requested, concurrency: .concurrency, delay_s: '"$delay"', keep_alive: .keep_alive,
            complete, failed, non_2xx, requests_per_second, ceiling_rps: $ceiling,
            efficiency: ((.complete - .non_2xx) / .time_taken_s / $ceiling),
            p50_ms: .latency_ms.p50, p99_ms: .latency_ms.p99 }' <<<"$report" >>"$rows_json"
        [ "$(jq -r '.failed + .non_2xx' <<<"$report")" = 0 ] || failures=$((failures + 1))
    done < <(jq -c --arg f "$file" 'select(.compose.file == $f)' <<<"$scenarios")
    $COMPOSE -p "$project" -f "compose/$file" down -v --remove-orphans >/dev/null 2>&1
    current=""
done
# The container tax: the same scenario natively, from the committed bench-all run.
native=results/bench-all.json
jq -s --arg at "$started_at" --argjson cpus "$(nproc)" --arg compose "$compose_version" --arg build "$LAB_BUILD" \
    --arg nginx "$nginx_version" --slurpfile all "$native" '
    ($all[0].scenarios | map({key: .id, value: .}) | from_entries) as $by_id
    | {started_at: $at, cpus: $cpus, compose: $compose, lab_build: $build, nginx_image: $nginx,
       native_run: {file: "results/bench-all.json", started_at: $all[0].started_at},
       rows: map(. + {native: ($by_id[.id] // null | if . == null then null else
           {requests: .load.requests, concurrency: .load.concurrency, delay_s: .load.delay_s,
            requests_per_second, efficiency, p50_ms: .latency_ms.p50, p99_ms: .latency_ms.p99} end)})}' \
    "$rows_json" >results/bench-docker.json
rm -f "$rows_json"
{
    echo
    echo "## The container tax: each row beside its native run"
    echo
    echo "Docker: this run ($started_at). Native: \`make bench-all\`, $(jq -r .native_run.started_at results/bench-docker.json), as results/bench-all.json held when this run began, the same load from the same loadgen on the same machine, but not side by side: the two runs' noise differs. docker/native: the requests/s ratio; p99 ms: the 99th-percentile latency, native then Docker."
    echo
    echo "| scenario | load | native requests/s | Docker requests/s | docker/native | native efficiency | Docker efficiency | native p99 ms | Docker p99 ms |"
    echo "|---|---|--:|--:|--:|--:|--:|--:|--:|"
    jq -r '.rows[] | "| \(.id) | -n \(.requests) -c \(.concurrency) delay=\(.delay_s) | " + (if .native == null then "no native row | \(.requests_per_second * 100 | round / 100) | - | - | \(.efficiency * 100 | round)% | - | \(.p99_ms | round) |"
        elif .native.concurrency != .concurrency or .native.requests != .requests then "native load differs (-n \(.native.requests) -c \(.native.concurrency)) | \(.requests_per_second * 100 | round / 100) | - | - | \(.efficiency * 100 | round)% | - | \(.p99_ms | round) |"
        else "\(.native.requests_per_second * 100 | round / 100) | \(.requests_per_second * 100 | round / 100) | \(.requests_per_second / .native.requests_per_second * 1000 | round / 1000) | \(.native.efficiency * 100 | round)% | \(.efficiency * 100 | round)% | \(.native.p99_ms | round) | \(.p99_ms | round) |" end)' results/bench-docker.json
} | tee -a "$out"
echo "wrote $out and results/bench-docker.json"
[ "$failures" = 0 ] || { echo "$failures scenario(s) had failed or non-2xx requests" >&2; exit 1; }
