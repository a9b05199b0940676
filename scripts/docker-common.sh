# What test-docker.sh and `make bench-docker` (`lab bench-docker`) share: LAB_BUILD, the
# compose client, the base images, the host-built binaries the prebuilt images copy; and
# for test-docker.sh the load generator and waiting for a compose project to be healthy
# (lab/src/docker/mod.rs waits the same way). Sourced with the repository root as the
# working dir.

LAB_BUILD=${LAB_BUILD:-prebuilt}
case "$LAB_BUILD" in
    prebuilt) export LAB_DOCKERFILE=Dockerfile.prebuilt ;;
    source) export LAB_DOCKERFILE=Dockerfile ;;
    *) echo "error: LAB_BUILD must be prebuilt or source, not $LAB_BUILD" >&2; exit 2 ;;
esac

scripts/ensure-packages.sh curl:curl flock:util-linux
if [ -z "${COMPOSE:-}" ]; then
    if docker compose version >/dev/null 2>&1; then
        COMPOSE="docker compose"
    else
        scripts/ensure-packages.sh docker-compose:docker-compose
        COMPOSE=docker-compose
    fi
fi
$COMPOSE version >/dev/null 2>&1 || { echo "error: no compose client ($COMPOSE)" >&2; exit 1; }

if [ -z "${LOADGEN:-}" ]; then
    # The workspace's own load generator (LOADGEN=ab works too: same command line).
    cargo build --release --locked -q -p loadgen
    LOADGEN=$root/target/release/loadgen
fi

say() { printf '\n== %s\n' "$*"; }
loud() { printf '\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n!! %s\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n' "$*" >&2; }

# Every base image the files name must exist: no registry here to pull from.
for image in debian:bookworm-slim nginx:1.27-bookworm postgres:15 $([ "$LAB_BUILD" = source ] && echo rust:1-bookworm); do
    docker image inspect "$image" >/dev/null 2>&1 || {
        echo "error: base image $image is missing and this engine may not pull: run make docker-images" >&2
        exit 1
    }
done

if [ "$LAB_BUILD" = prebuilt ]; then
    say "host release build, staged in target/docker-bin/"
    # What the images run (as compose/Dockerfile builds): the services, the probe, and
    # the lab for the live page's overlay (compose/live.yml).
    cargo build --release --locked -p slow_api -p app_sync -p app_async -p app_pg -p healthcheck -p lab
    mkdir -p target/docker-bin
    for bin in slow_api app_sync app_async app_pg healthcheck lab; do
        if [ -x "target/release/$bin" ]; then cp -f "target/release/$bin" target/docker-bin/; else rm -f "target/docker-bin/$bin"; fi
    done
fi

have_service() { # binary name: in this workspace (and built, for prebuilt images)?
    if [ "$LAB_BUILD" = prebuilt ]; then [ -x "target/docker-bin/$1" ]; else [ -f "$1/Cargo.toml" ]; fi
}

wait_healthy() { # project file [overlay file...]
    local project=$1 deadline=$((SECONDS + 180)) ids id state unhealthy file args=()
    shift
    for file in "$@"; do args+=(-f "compose/$file"); done
    while :; do
        ids=$($COMPOSE -p "$project" "${args[@]}" ps -q)
        unhealthy=()
        for id in $ids; do
            state=$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$id")
            [ "$state" = healthy ] || unhealthy+=("$(docker inspect -f '{{.Name}}' "$id" | tr -d /): $state")
        done
        [ -n "$ids" ] && [ ${#unhealthy[@]} = 0 ] && return 0
        [ $SECONDS -ge $deadline ] && { echo "not healthy after 180 s: ${unhealthy[*]:-no containers}" >&2; return 1; }
        sleep 1
    done
}
