#!/usr/bin/env python3
"""The compose files agree with the scenario table (docs/design.md).

SCENARIOS is the lab's scenario table (the one make bench-all runs): which compose file
and published port serve each scenario, with which binary and which workers / threads /
client / driver / protocol. Every compose file is also held to the house rules:
ports on 127.0.0.1 only, init: true, a health check on every service, depends_on with
condition service_healthy, a top comment naming the article's section, no `version:`;
and to the hardening every service gets (docs/docker.md): read_only, cap_drop ALL,
no-new-privileges, memory and CPU limits, a nofile ulimit, a stop_grace_period longer
than the apps' 30 s drain, json-file log rotation, not root for nginx and PostgreSQL, and
nginx with the one main configuration (nginx/nginx.conf).

Run by `make test` (and `make check-compose`); exits 1 with one line per disagreement.
"""
import json
import os
import pathlib
import re
import subprocess
import sys

try:
    import yaml
except ImportError:
    sys.exit("error: PyYAML missing; install with: sudo apt-get install -y python3-yaml")

ROOT = pathlib.Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "compose"

# The scenario table is the lab's (lab/src/scenarios.rs, the one definition that
# make bench-all runs), read through `lab bench --list --json`. LAB may name a built
# lab binary; otherwise cargo builds and runs it.
VIA = {"direct": None, "nginx_http": "proxy_pass", "nginx_http_keep_alive": "proxy_pass+keepalive", "nginx_uwsgi": "uwsgi_pass"}


def scenario_table():
    command = [os.environ["LAB"]] if os.environ.get("LAB") else [
        "cargo", "run", "--quiet", "--locked", "-p", "lab", "--"]
    try:
        listing = subprocess.run(command + ["bench", "--list", "--json"], cwd=ROOT, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as err:
        sys.exit(f"error: cannot read the scenario table from `lab bench --list --json`: {err}")
    table = {}
    for row in json.loads(listing.stdout):
        if row.get("compose"):
            table[row["id"]] = (row["compose"]["file"], row["compose"]["port"], "app_" + row["app"]["binary"], row["app_env"], VIA[row["front"]], row["compose"]["service"], row["compose"]["app"])
    return table


# scenario: (file, published port, binary, settings the service must run with, via nginx,
# the service that publishes the port, the app's service)
SCENARIOS = scenario_table()
# The services' defaults (docs/reference.md): a variable left unset means this.
DEFAULTS = {"WORKERS": "1", "THREADS": "1", "PROTOCOL": "http", "CLIENT": "async", "DRIVER": "async", "HOST": "127.0.0.1"}
# Published ports that are not a scenario: PostgreSQL for the bonus, Prometheus, the live page.
OTHER_PORTS = {("bonus-postgres.yml", 5432), ("prometheus.yml", 9090), ("live.yml", 8089)}
# Overlays added to a topology's file (`-f async-gevent.yml -f prometheus.yml`), not a
# topology of the article: held to the house rules, but no article section to name.
OVERLAYS = {"prometheus.yml", "live.yml"}

errors = []


def fail(where, message):
    errors.append(f"{where}: {message}")


def env_of(service):
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def binary_of(service):
    build = service.get("build") or {}
    return (build.get("args") or {}).get("BIN") if isinstance(build, dict) else None


def published(service):
    """[(host ip, host port, container port)] of a service's short-syntax ports."""
    out = []
    for entry in service.get("ports") or []:
        match = re.fullmatch(r"(?:([\d.]+):)?(\d+):(\d+)", str(entry))
        out.append((match.group(1), int(match.group(2)), int(match.group(3))) if match else (None, None, str(entry)))
    return out


def load(name):
    path = COMPOSE / name
    text = path.read_text()
    return text, yaml.safe_load(text)


APP_DRAIN_S = 30  # the apps' SHUTDOWN_TIMEOUT default (docs/reference.md)
MAIN_NGINX_CONF = (ROOT / "nginx" / "nginx.conf").resolve()


def seconds(value):
    """Compose durations as the files write them: 40s, 1m10s."""
    match = re.fullmatch(r"(?:(\d+)m)?(?:(\d+)s)?", str(value or ""))
    return int(match.group(1) or 0) * 60 + int(match.group(2) or 0) if match and value else 0


def check_hardened(at, service):
    if service.get("read_only") is not True:
        fail(at, "read_only: true is missing (a tmpfs for what it writes)")
    if service.get("cap_drop") != ["ALL"]:
        fail(at, "cap_drop: [ALL] is missing")
    if "no-new-privileges:true" not in (service.get("security_opt") or []):
        fail(at, "security_opt no-new-privileges:true is missing")
    if not service.get("mem_limit") or not service.get("cpus"):
        fail(at, "memory and CPU limits (mem_limit, cpus) are missing")
    nofile = ((service.get("ulimits") or {}).get("nofile") or {})
    if not isinstance(nofile, dict) or not nofile.get("soft") or not nofile.get("hard"):
        fail(at, "a nofile ulimit (soft and hard) is missing")
    if seconds(service.get("stop_grace_period")) <= APP_DRAIN_S:
        fail(at, f"stop_grace_period must be longer than the apps' {APP_DRAIN_S} s drain")
    logging = service.get("logging") or {}
    options = logging.get("options") or {}
    if logging.get("driver") != "json-file" or "max-size" not in options or "max-file" not in options:
        fail(at, "json-file logging with max-size and max-file (rotation) is missing")
    image = str(service.get("image", ""))
    if image.startswith(("nginx:", "postgres:")) and str(service.get("user", "root")).split(":")[0] in ("root", "0"):
        fail(at, f"{image} must run as a non-root user")
    if image.startswith("nginx:"):
        mounts = [str(v).rsplit(":", 2) for v in service.get("volumes") or []]
        if not any(len(m) == 3 and m[1] == "/etc/nginx/nginx.conf" and (COMPOSE / m[0]).resolve() == MAIN_NGINX_CONF for m in mounts):
            fail(at, "must mount ../nginx/nginx.conf as /etc/nginx/nginx.conf (the one main configuration)")


files = {}
for path in sorted(COMPOSE.glob("*.yml")):
    text, doc = load(path.name)
    files[path.name] = doc
    where = f"compose/{path.name}"
    first = text.splitlines()[0] if text else ""
    if path.name not in OVERLAYS and not (first.startswith("# The article's") or first.startswith("# The article")):
        fail(where, "the first line must be a comment naming the article's section")
    if "version" in doc:
        fail(where, "no `version:` key (the Compose Specification, read by v1.29 and v2)")
    for name, service in (doc.get("services") or {}).items():
        at = f"{where} service {name}"
        if service.get("init") is not True:
            fail(at, "init: true is missing")
        if not (service.get("healthcheck") or {}).get("test"):
            fail(at, "no health check")
        for dep, how in (service.get("depends_on") or {}).items() if isinstance(service.get("depends_on"), dict) else []:
            if (how or {}).get("condition") != "service_healthy":
                fail(at, f"depends_on {dep} must use condition: service_healthy")
        if isinstance(service.get("depends_on"), list):
            fail(at, "depends_on must be a mapping with condition: service_healthy")
        for ip, host_port, container_port in published(service):
            if ip != "127.0.0.1":
                fail(at, f"port {host_port or container_port} must be published on 127.0.0.1 only")
            elif host_port != container_port:
                fail(at, f"publishes {host_port} from container port {container_port}; keep them equal")
            elif (path.name, host_port) not in OTHER_PORTS and not any(
                f == path.name and p == host_port for f, p, *_ in SCENARIOS.values()
            ):
                fail(at, f"port {host_port} is no scenario's port")
        check_hardened(at, service)
        env = env_of(service)
        # The apps call the slow API; slow_api is it, and `lab` (live.yml) calls the apps.
        if binary_of(service) and binary_of(service) not in ("slow_api", "lab"):
            if env.get("API_URL") != "http://slow_api:4000/":
                fail(at, "API_URL must be http://slow_api:4000/")
            if env.get("HOST") != "0.0.0.0":
                fail(at, "HOST must be 0.0.0.0 in a container")


def service_on_port(doc, port):
    return [(name, s) for name, s in (doc.get("services") or {}).items() if any(p[1] == port for p in published(s))]


for scenario, (file, port, binary, settings, via, publisher, app) in SCENARIOS.items():
    where = f"scenario {scenario} (compose/{file}:{port})"
    doc = files.get(file)
    if doc is None:
        fail(where, "compose file missing")
        continue
    owners = service_on_port(doc, port)
    if len(owners) != 1:
        fail(where, f"{len(owners)} services publish port {port}, expected 1")
        continue
    name, service = owners[0]
    if name != publisher:
        fail(where, f"{name} publishes port {port}, the scenario table says {publisher}")
    if via:
        # nginx publishes the port; the app is the upstream its config names.
        mounts = [str(v) for v in service.get("volumes") or []]
        confs = [m.split(":")[0] for m in mounts if m.endswith("/etc/nginx/conf.d/default.conf:ro")]
        if not str(service.get("image", "")).startswith("nginx:") or len(confs) != 1:
            fail(where, "must be the nginx image with one config mounted as conf.d/default.conf")
            continue
        conf = (COMPOSE / confs[0]).resolve()
        text = conf.read_text()
        upstream = re.search(r"upstream\s+\w+\s*\{[^}]*?server\s+([\w-]+):(\d+)", text)
        if not upstream:
            fail(where, f"{conf.name} has no upstream server")
            continue
        if ("uwsgi_pass" in via) != ("uwsgi_pass" in text) or ("proxy_pass" in via) != ("proxy_pass" in text):
            fail(where, f"{conf.name} must use {via.split('+')[0]}")
        if ("keepalive" in via) != bool(re.search(r"^\s*keepalive\s+\d+;", text, re.M)):
            fail(where, f"{conf.name}: upstream keep-alive {'required' if 'keepalive' in via else 'not expected'}")
        app_name, app_port = upstream.group(1), upstream.group(2)
        service = (doc.get("services") or {}).get(app_name)
        if service is None:
            fail(where, f"{conf.name} proxies to {app_name}, which is no service of {file}")
            continue
        if env_of(service).get("PORT_APP") != app_port:
            fail(where, f"{conf.name} proxies to port {app_port}, {app_name} listens on {env_of(service).get('PORT_APP')}")
        name = app_name
    elif env_of(service).get("PORT_APP") != str(port):
        fail(where, f"{name} publishes {port} but PORT_APP is {env_of(service).get('PORT_APP')}")
    if name != app:
        fail(where, f"the app is {name}, the scenario table says {app}")
    if env_of(service).get("METRICS_PORT") != "9100":
        fail(where, f"{name} must serve /metrics on METRICS_PORT 9100 (lab live reads it)")
    if binary_of(service) != binary:
        fail(where, f"{name} builds {binary_of(service)}, expected {binary}")
    env = env_of(service)
    for key, value in settings.items():
        actual = env.get(key, DEFAULTS[key])
        if actual != value:
            fail(where, f"{name} runs with {key}={actual}, the scenario says {value}")

# The swarm stacks are generated from one template (swarm/generate.py): they must be
# what it writes, so a hand edit to one of them cannot drift from the other two.
stacks = subprocess.run([sys.executable, str(ROOT / "swarm" / "generate.py"), "--check"], capture_output=True, text=True)
if stacks.returncode != 0:
    fail("swarm/", (stacks.stderr or stacks.stdout).strip())

if errors:
    print("\n".join(errors))
    sys.exit(1)
print(f"compose files agree with the {len(SCENARIOS)} scenarios ({len(files)} files checked)")
