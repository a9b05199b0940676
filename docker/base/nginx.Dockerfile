# Stand-in for the official `nginx` image (CI aid, built by scripts/docker-images.sh):
# Debian's nginx, configured like the official image: configs in /etc/nginx/conf.d,
# logs to stdout/stderr, foreground, graceful stop on SIGQUIT, curl for health checks.
ARG BASE=debian:bookworm-slim
FROM ${BASE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends nginx curl ca-certificates \
 && rm -rf /var/lib/apt/lists/* /etc/nginx/sites-enabled/* \
 && mkdir -p /etc/nginx/conf.d \
 && ln -sf /dev/stdout /var/log/nginx/access.log \
 && ln -sf /dev/stderr /var/log/nginx/error.log
EXPOSE 80
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
