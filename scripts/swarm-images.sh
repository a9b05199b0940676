#!/usr/bin/env bash
# make swarm-images: the images the stack files (swarm/*.yml) run, under stable tags,
# because `docker stack deploy` cannot build: flask-gevent-lab/{slow_api,app_sync,app_async,loadgen}:TAG
# (loadgen: for load from several hosts, `swarm shards` / make swarm-shards).
#
#   LAB_BUILD=prebuilt (default)  copy host-built release binaries (compose/Dockerfile.prebuilt),
#                                 staged in target/docker-bin/ as make test-docker does
#   LAB_BUILD=source              build from source inside Docker (compose/Dockerfile), as users do
#   LAB_TAG=local (default)       the tag; on several hosts push them to a registry (docs/11-swarm.md)
#
# nginx is the nginx:1.27-bookworm image itself (its configuration is a swarm config).
set -euo pipefail
cd "$(dirname "$0")/.."

LAB_BUILD=${LAB_BUILD:-prebuilt}
LAB_TAG=${LAB_TAG:-local}
BINS=(slow_api app_sync app_async loadgen)
case "$LAB_BUILD" in
    prebuilt) dockerfile=compose/Dockerfile.prebuilt ;;
    source) dockerfile=compose/Dockerfile ;;
    *) echo "error: LAB_BUILD must be prebuilt or source, not $LAB_BUILD" >&2; exit 2 ;;
esac

command -v docker >/dev/null && docker info >/dev/null 2>&1 || { echo "error: no Docker engine reachable (docker info failed)" >&2; exit 1; }
for image in debian:bookworm-slim nginx:1.27-bookworm $([ "$LAB_BUILD" = source ] && echo rust:1-bookworm); do
    docker image inspect "$image" >/dev/null 2>&1 || {
        echo "error: base image $image is missing and this engine may not pull: run make docker-images" >&2
        exit 1
    }
done

if [ "$LAB_BUILD" = prebuilt ]; then
    echo "== host release build, staged in target/docker-bin/"
    # Only what the images run, not the lab's binaries.
    cargo build --release --locked -q $(printf -- '-p %s ' "${BINS[@]}") -p healthcheck
    mkdir -p target/docker-bin
    for bin in "${BINS[@]}" healthcheck; do cp -f "target/release/$bin" target/docker-bin/; done
fi

for bin in "${BINS[@]}"; do
    start=$SECONDS
    docker build -q --force-rm -f "$dockerfile" --build-arg BIN="$bin" -t "flask-gevent-lab/$bin:$LAB_TAG" . >/dev/null
    echo "== flask-gevent-lab/$bin:$LAB_TAG ($LAB_BUILD) built in $((SECONDS - start)) s"
done
docker image ls --format '{{.Repository}}:{{.Tag}}\t{{.ID}}\t{{.Size}}' | grep '^flask-gevent-lab/'
