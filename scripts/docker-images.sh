#!/usr/bin/env bash
# CI aid, never needed by users: builds local stand-ins for the public base images the
# compose files and Dockerfiles name, for machines whose Docker engine cannot pull (this
# project's CI has an engine but no registry). Each stand-in is built from Debian
# packages under the official name, so `docker-compose -f compose/FILE.yml up` runs the
# files unchanged. Idempotent: an image that already exists is skipped (FORCE=1 rebuilds).
#
#   debian:bookworm-slim   debootstrap --variant=minbase from the host's Debian mirror + docker import
#   rust:1-bookworm        debian:bookworm-slim + gcc + the host's Rust toolchain and crate cache
#                          (copied, not downloaded; rebuilt when Cargo.lock changes)
#   nginx:1.27-bookworm    debian:bookworm-slim + Debian's nginx, run like the official image
#   postgres:15            debian:bookworm-slim + Debian's postgresql-15, with an entrypoint that
#                          honours POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB like the official one
#   prom/prometheus:v2.53.0 debian:bookworm-slim + Debian's prometheus (2.42.0, bookworm's), run
#                          like the official image: entrypoint the binary, so the overlay's flags
#                          work unchanged (for compose/prometheus.yml; see docs/docker.md)
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_IMAGE=${DEBIAN_IMAGE:-debian:bookworm-slim}
RUST_IMAGE=${RUST_IMAGE:-rust:1-bookworm}
NGINX_IMAGE=${NGINX_IMAGE:-nginx:1.27-bookworm}
POSTGRES_IMAGE=${POSTGRES_IMAGE:-postgres:15}
PROMETHEUS_IMAGE=${PROMETHEUS_IMAGE:-prom/prometheus:v2.53.0}
FORCE=${FORCE:-0}

# The mirror apt already uses on this host (deb822 or one-line format), else deb.debian.org.
mirror() {
    local uri
    uri=$(grep -hsE '^URIs:.*debian/?$' /etc/apt/sources.list.d/*.sources | head -n 1 | awk '{print $2}')
    [ -n "$uri" ] || uri=$(grep -hsE '^deb +(\[[^]]*\] +)?https?://[^ ]+/debian/? +bookworm ' /etc/apt/sources.list | head -n 1 | grep -oE 'https?://[^ ]+' || true)
    echo "${uri:-http://deb.debian.org/debian}"
}

have() { [ "$FORCE" != 1 ] && docker image inspect "$1" >/dev/null 2>&1; }
say() { printf '== %s\n' "$*"; }
elapsed() { echo "$(($(date +%s) - $1)) s"; }

build_debian() {
    if have "$DEBIAN_IMAGE"; then say "$DEBIAN_IMAGE exists, skipped"; return; fi
    scripts/ensure-packages.sh debootstrap:debootstrap
    local start rootfs
    start=$(date +%s)
    rootfs=$(mktemp -d /var/tmp/lab-rootfs.XXXXXX)
    trap 'rm -rf "$rootfs"' RETURN
    say "debootstrap bookworm from $(mirror) into $rootfs"
    debootstrap --variant=minbase bookworm "$rootfs" "$(mirror)" >"$rootfs.log" 2>&1 \
        || { tail -n 20 "$rootfs.log"; echo "error: debootstrap failed (log: $rootfs.log)" >&2; exit 1; }
    rm -f "$rootfs.log"
    # What the official slim image does: no docs, man pages or apt caches, and a
    # policy-rc.d so packages never try to start services during a build.
    cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
CFG
    printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d" && chmod +x "$rootfs/usr/sbin/policy-rc.d"
    printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' >"$rootfs/etc/apt/apt.conf.d/docker-no-recommends"
    printf 'Types: deb\nURIs: %s\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$(mirror)" \
        >"$rootfs/etc/apt/sources.list.d/debian.sources"
    rm -f "$rootfs/etc/apt/sources.list"
    find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
    rm -rf "$rootfs"/usr/share/{man,info,locale}/* "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/log/*.log
    tar -C "$rootfs" -c . | docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["bash"]' - "$DEBIAN_IMAGE" >/dev/null
    say "$DEBIAN_IMAGE built in $(elapsed "$start")"
}

# The official rust image installs rustup under /usr/local/{rustup,cargo}; the stand-in
# copies the host's active toolchain there instead of downloading one.
build_rust() {
    local lock_sha
    lock_sha=$(sha256sum Cargo.lock | cut -c1-16)
    if have "$RUST_IMAGE" && [ "$(docker image inspect -f '{{index .Config.Labels "lab.cargo-lock-sha"}}' "$RUST_IMAGE")" = "$lock_sha" ]; then
        say "$RUST_IMAGE exists (crate cache matches Cargo.lock), skipped"; return
    fi
    # Every crate Cargo.lock names, in the host's cache, for the stand-in's offline build.
    cargo fetch --locked >/dev/null
    local start ctx sysroot
    start=$(date +%s)
    sysroot=$(rustc --print sysroot)
    ctx=$(mktemp -d /var/tmp/lab-rust-ctx.XXXXXX)
    trap 'rm -rf "$ctx"' RETURN
    mkdir -p "$ctx/toolchain"
    # bin/ and lib/ are what cargo and rustc need; docs and sources stay behind.
    cp -a "$sysroot/bin" "$sysroot/lib" "$ctx/toolchain/"
    [ -d "$sysroot/libexec" ] && cp -a "$sysroot/libexec" "$ctx/toolchain/"
    rm -rf "$ctx/toolchain/lib/rustlib/src" "$ctx/toolchain/lib/rustlib/etc"
    mkdir -p "$ctx/registry"
    cp -a "${CARGO_HOME:-$HOME/.cargo}/registry/index" "${CARGO_HOME:-$HOME/.cargo}/registry/cache" "$ctx/registry/"
    cp docker/base/rust.Dockerfile "$ctx/Dockerfile"
    say "$RUST_IMAGE from $DEBIAN_IMAGE + $(rustc --version) ($(du -sh "$ctx/toolchain" | cut -f1))"
    docker build -q --build-arg BASE="$DEBIAN_IMAGE" --build-arg CARGO_LOCK_SHA="$lock_sha" -t "$RUST_IMAGE" "$ctx" >/dev/null
    say "$RUST_IMAGE built in $(elapsed "$start")"
}

build_from_dockerfile() { # NAME DOCKERFILE
    if have "$1"; then say "$1 exists, skipped"; return; fi
    local start
    start=$(date +%s)
    docker build -q --build-arg BASE="$DEBIAN_IMAGE" -t "$1" -f "docker/base/$2" docker/base >/dev/null
    say "$1 built in $(elapsed "$start")"
}

command -v docker >/dev/null && docker info >/dev/null 2>&1 || { echo "error: no Docker engine reachable (docker info failed)" >&2; exit 1; }
total=$(date +%s)
build_debian
build_rust
build_from_dockerfile "$NGINX_IMAGE" nginx.Dockerfile
build_from_dockerfile "$POSTGRES_IMAGE" postgres.Dockerfile
build_from_dockerfile "$PROMETHEUS_IMAGE" prometheus.Dockerfile
say "base images ready in $(elapsed "$total")"
docker image ls --format '{{.Repository}}:{{.Tag}}\t{{.Size}}' | grep -E "^(${DEBIAN_IMAGE}|${RUST_IMAGE}|${NGINX_IMAGE}|${POSTGRES_IMAGE}|${PROMETHEUS_IMAGE})\s" || true
