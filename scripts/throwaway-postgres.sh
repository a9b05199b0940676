#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for app_pg, from the installed server binaries.
#
#   throwaway-postgres.sh start DIR PORT [MAX_CONNECTIONS]   # prints DATABASE_URL
#   throwaway-postgres.sh stop DIR                          # stops it and deletes DIR
#
# It creates the role and database the lab expects (example/example, not a superuser),
# listens on 127.0.0.1:PORT only, keeps its socket inside DIR, and trades durability
# for speed (fsync off): nothing in it is worth keeping. initdb refuses to run as root,
# so as root the cluster belongs to the `postgres` user (Debian's package creates it),
# or to `nobody` when there is none. Same steps as app_pg's test harness
# (common::testing::postgres).
set -euo pipefail

find_bin() {
    if [ -n "${PG_BIN:-}" ]; then echo "$PG_BIN"; return; fi
    if command -v initdb >/dev/null 2>&1; then dirname "$(command -v initdb)"; return; fi
    local newest
    newest=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    if [ -n "$newest" ] && [ -x "$newest/initdb" ]; then echo "$newest"; return; fi
    echo "error: PostgreSQL server binaries (initdb, pg_ctl, postgres) not found;" \
        "install them with: apt-get install -y postgresql-15, or set PG_BIN" >&2
    exit 1
}

as_owner() {
    if [ "$(id -u)" = 0 ]; then
        local user=postgres
        id -u postgres >/dev/null 2>&1 || user=nobody
        setpriv --reuid="$(id -u "$user")" --regid="$(id -g "$user")" --clear-groups -- "$@"
    else
        "$@"
    fi
}

case "${1:-}" in
start)
    dir=${2:?usage: $0 start DIR PORT [MAX_CONNECTIONS]}
    port=${3:?usage: $0 start DIR PORT [MAX_CONNECTIONS]}
    max_connections=${4:-100}
    bin=$(find_bin)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    cd "$dir"
    if [ "$(id -u)" = 0 ]; then
        user=postgres
        id -u postgres >/dev/null 2>&1 || user=nobody
        chown "$(id -u "$user"):$(id -g "$user")" "$dir"
    fi
    echo "example" >"$dir/pwfile"
    chmod 644 "$dir/pwfile"
    as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth-local=trust \
        --auth-host=scram-sha-256 --no-sync -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = $max_connections
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
    # The role and database, in single-user mode: no client program needed.
    printf '%s\n' "CREATE ROLE example LOGIN PASSWORD 'example';" \
        "CREATE DATABASE example OWNER example;" |
        as_owner "$bin/postgres" --single -D "$dir/data" postgres >"$dir/single.log" 2>&1 \
        || { cat "$dir/single.log" >&2; exit 1; }
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null \
        || { cat "$dir/server.log" >&2; exit 1; }
    echo "postgres://example:example@127.0.0.1:$port/example"
    ;;
stop)
    dir=${2:?usage: $0 stop DIR}
    bin=$(find_bin)
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
    fi
    rm -rf "$dir"
    ;;
*)
    echo "usage: $0 start DIR PORT [MAX_CONNECTIONS] | stop DIR" >&2
    exit 2
    ;;
esac
