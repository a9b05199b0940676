#!/usr/bin/env python3
"""What watching a run live costs: the CPU of `lab live`'s streaming, in % of one core.

Starts `lab live` (target/release), runs SCENARIO with CLIENTS clients at DELAY for
SECONDS with one listener on its event stream, then reads the CPU time of the threads
that exist only because someone watches: `glance` (ten looks a second at the load,
/proc and the app's last /metrics) and the page server's threads (actix-web: the SSE
stream). The load generator, the services and the /metrics scraper run in `make bench`
too and are not counted.

    scripts/live-cost.py [SCENARIO [CLIENTS [DELAY [SECONDS]]]]   (async 1000 1 20)

Prints one line per thread kind and the total, and exits 1 if the total is 2% of one
core or more (the live page's budget).
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

LIMIT_PERCENT = 2.0


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ticks(pid):
    """CPU clock ticks (user + system) of each thread of pid, by name."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as stat:
                text = stat.read()
        except OSError:
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        used = int(fields[11]) + int(fields[12])
        out.setdefault(name, 0)
        out[name] += used
    return out


def main():
    scenario, clients, delay, seconds = (sys.argv[1:] + ["async", "1000", "1", "20"][len(sys.argv) - 1 :])[:4]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    lab = os.path.join(root, "target", "release", "lab")
    port = free_port()
    server = subprocess.Popen(
        [lab, "live", "--port", str(port), "--bench-lock", os.environ.get("BENCH_LOCK", "/tmp/lab-bench.lock")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1).read()
                break
            except OSError:
                time.sleep(0.05)
        body = json.dumps(
            {"scenario": scenario, "clients": int(clients), "delay": float(delay), "seconds": float(seconds)}
        ).encode()
        request = urllib.request.Request(base + "/api/runs", data=body, headers={"Content-Type": "application/json"})
        run = json.load(urllib.request.urlopen(request, timeout=10))["id"]
        samples = 0
        glance_ticks = 0
        with urllib.request.urlopen(f"{base}/api/runs/{run}/events", timeout=float(seconds) + 120) as stream:
            event = None
            for raw in stream:
                line = raw.decode().rstrip("\n")
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    if event is None:
                        samples += 1
                        # The glance thread ends with the load: read it while it lives.
                        glance_ticks = max(glance_ticks, ticks(server.pid).get("glance", 0))
                    elif event == "summary":
                        row = json.loads(line[6:])
                    event = None
        threads = ticks(server.pid)
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=60)
    hz = os.sysconf("SC_CLK_TCK")
    page = sum(used for name, used in threads.items() if name.startswith("actix"))
    taken = row["time_taken_s"]
    glance_ms = glance_ticks * 1000 / hz
    page_ms = page * 1000 / hz
    total = (glance_ms + page_ms) / 1000 / taken * 100
    print(f"run: {scenario}, {clients} clients, delay {delay} s, {taken:.1f} s, {samples} samples streamed, "
          f"{row['complete']} complete, {row['requests_per_second']:.1f} requests/s")
    print(f"glance thread: {glance_ms:.0f} ms CPU")
    print(f"page server (actix threads): {page_ms:.0f} ms CPU")
    print(f"streaming: {total:.2f}% of one core (limit {LIMIT_PERCENT}%)")
    return 0 if total < LIMIT_PERCENT else 1


if __name__ == "__main__":
    sys.exit(main())
