#!/usr/bin/env bash
# Load from several hosts: K loadgen shards as a swarm job, then one merged report
# (docs/11-swarm.md, "Load from several hosts").
#
#   scripts/swarm-loadgen-shards.sh K URL [loadgen flags...]
#   e.g. scripts/swarm-loadgen-shards.sh 3 http://nginx:8080/?delay=1 -k -n 30000 -c 1500
#
# Each of the K tasks of a `replicated-job` service runs
#   loadgen --shard SLOT/K --start-at T --json FLAGS URL > OUT/shard-SLOT.json
# with SLOT swarm's {{.Task.Slot}} (1..K) and T one common start time (now + LEAD
# seconds, so that every shard has been scheduled and started), in a directory
# bind-mounted from each node (OUT, default /tmp/lab-shards; on several hosts, a shared
# filesystem or copy the files back), then `loadgen merge` sums the counts and adds
# the HDR histograms.
#
# NEEDS loadgen's `--shard I/K`, `--start-at T` and `loadgen merge` (being added to
# loadgen at the time of writing: until then the tasks fail with loadgen's usage error).
#
#   NETWORK   the stack's overlay network to join (default lab-sync-workers_default:
#             the URL may then name the service, http://nginx:8080/); empty: host ports
#   IMAGE     default flask-gevent-lab/loadgen:${LAB_TAG:-local} (make swarm-images)
#   OUT       default /tmp/lab-shards      LEAD  default 10 (seconds)
#   CONSTRAINT  e.g. node.labels.loadgen==true (one shard per labelled node with
#               --replicas-max-per-node 1; see the chapter)
set -euo pipefail
cd "$(dirname "$0")/.."

[ $# -ge 2 ] || { sed -n '2,12p' "$0" >&2; exit 2; }
K=$1 URL=$2
shift 2
IMAGE=${IMAGE:-flask-gevent-lab/loadgen:${LAB_TAG:-local}}
OUT=${OUT:-/tmp/lab-shards}
LEAD=${LEAD:-10}
NETWORK=${NETWORK-lab-sync-workers_default}
NAME=lab-loadgen-shards

mkdir -p "$OUT" && chmod 0777 "$OUT"
rm -f "$OUT"/shard-*.json
start_at=$(($(date +%s) + LEAD))

args=(service create --name "$NAME" --mode replicated-job --replicas "$K"
      --restart-condition none --detach
      --mount "type=bind,source=$OUT,target=/out"
      --env "SLOT={{.Task.Slot}}" --env "K=$K" --env "START_AT=$start_at"
      --entrypoint /bin/sh)
[ -n "$NETWORK" ] && args+=(--network "$NETWORK")
[ -n "${CONSTRAINT:-}" ] && args+=(--constraint "$CONSTRAINT" --replicas-max-per-node 1)
# The flags are quoted into the task's shell command line.
flags=$(printf ' %q' "$@" "$URL")
docker "${args[@]}" "$IMAGE" -c \
    "exec /usr/local/bin/loadgen --shard \"\$SLOT/\$K\" --start-at \"\$START_AT\" --json$flags > /out/shard-\$SLOT.json"

# A job's tasks end in Complete (or Failed): wait for all K, not a fixed time.
trap 'docker service rm "$NAME" >/dev/null 2>&1 || true' EXIT
while :; do
    states=$(docker service ps "$NAME" --format '{{.CurrentState}}' | awk '{print $1}')
    done_count=$(grep -c '^Complete$' <<<"$states" || true)
    failed=$(grep -cE '^(Failed|Rejected)$' <<<"$states" || true)
    [ "$failed" = 0 ] || { docker service ps --no-trunc "$NAME" >&2; echo "error: $failed shard(s) failed" >&2; exit 1; }
    [ "$done_count" = "$K" ] && break
    sleep 1
done
target/release/loadgen merge "$OUT"/shard-*.json
