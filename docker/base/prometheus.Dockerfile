# Stand-in for the official `prom/prometheus` image (CI aid, built by
# scripts/docker-images.sh): Debian's prometheus package, run like the official image
# (config in /etc/prometheus, data in /prometheus, port 9090), with wget for the
# compose health check as the official busybox-based image has.
ARG BASE=debian:bookworm-slim
FROM ${BASE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends prometheus wget ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /prometheus && chown prometheus:prometheus /prometheus
USER prometheus
WORKDIR /prometheus
EXPOSE 9090
ENTRYPOINT ["/usr/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]
