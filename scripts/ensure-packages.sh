#!/usr/bin/env bash
# Makes sure the commands the lab needs are installed: ensure-packages.sh CMD:DEBIAN_PACKAGE ...
# (CMD may be an absolute path instead: a file the package installs).
# As root on Debian it installs what is missing with apt-get; elsewhere it stops with the
# exact command to run.
set -euo pipefail

missing_packages=()
for pair in "$@"; do
    command_name=${pair%%:*}
    package=${pair#*:}
    # A name that starts with / is a file the package installs (headers, a doc dir).
    if [[ $command_name == /* ]]; then
        [ -e "$command_name" ] || missing_packages+=("$package")
    elif ! command -v "$command_name" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$command_name" ]; then
        missing_packages+=("$package")
    fi
done
[ ${#missing_packages[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${missing_packages[*]} with apt-get" >&2
    if [ -z "$(find /var/lib/apt/lists -name '*Packages*' -newermt '-1 day' 2>/dev/null | head -n 1)" ]; then
        apt-get update -qq
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing_packages[@]}" >/dev/null
else
    echo "error: missing ${missing_packages[*]}; install with: sudo apt-get install -y ${missing_packages[*]}" >&2
    exit 1
fi
