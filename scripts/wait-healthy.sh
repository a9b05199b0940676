#!/usr/bin/env bash
# Waits until every URL given answers 200 (30 s at most each), e.g. a service's /healthz.
set -euo pipefail
for url in "$@"; do
    for _ in $(seq 300); do
        if [ "$(curl -s -o /dev/null -w '%{http_code}' "$url" 2>/dev/null)" = 200 ]; then
            continue 2
        fi
        sleep 0.1
    done
    echo "error: $url did not become healthy within 30 s" >&2
    exit 1
done
