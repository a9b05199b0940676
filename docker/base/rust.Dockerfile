# Stand-in for the official `rust:1-bookworm` image (CI aid, built by
# scripts/docker-images.sh): Debian bookworm + a C toolchain for linking + the host's
# Rust toolchain, laid out where the official image keeps it. Containers here cannot
# verify crates.io's TLS certificate (the host's network intercepts it), so the stand-in
# also carries the host's crate cache and builds offline; the official image downloads.
ARG BASE=debian:bookworm-slim
FROM ${BASE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev make pkg-config ca-certificates \
 && rm -rf /var/lib/apt/lists/*
ENV RUSTUP_HOME=/usr/local/rustup \
    CARGO_HOME=/usr/local/cargo \
    PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
COPY toolchain /usr/local/rustup/toolchains/stable-x86_64-unknown-linux-gnu
RUN mkdir -p /usr/local/cargo/bin \
 && for tool in /usr/local/rustup/toolchains/stable-x86_64-unknown-linux-gnu/bin/*; do \
        ln -s "$tool" /usr/local/cargo/bin/; \
    done \
 && chmod -R a+w /usr/local/cargo \
 && cargo --version && rustc --version
# Last and cheap: refreshed whenever Cargo.lock changes (the layers above stay cached).
COPY registry /usr/local/cargo/registry
ENV CARGO_NET_OFFLINE=true
ARG CARGO_LOCK_SHA=unknown
LABEL lab.cargo-lock-sha=${CARGO_LOCK_SHA}
