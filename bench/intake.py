#!/usr/bin/env python3
"""Intake throughput and latency against the bare-framework ceiling, measured side by side.

    python bench/intake.py                     # 16 connections, 10 s, 3 rounds each
    python bench/intake.py --seconds 5 --rounds 1

Starts the relay's `web` process exactly as the Procfile does and a bare Flask app (bench/bare_app.py)
under the same gunicorn.conf.py, then drives both with wrk (Debian package `wrk`) using distinct
2 KB Alertmanager payloads, alternating rounds so that machine noise hits both alike. Then an
open-loop client at a fixed 200 requests/s measures the relay's p50/p99 latency.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import redis
from harness import ROOT, Stack, free_port, rss_mb

SECRET = "bench-intake-secret-0123456789"
ROUTES = {"am": {"source": "alertmanager", "channel": "5f0c0ffee0c0ffee0c0ffee0", "secret": SECRET}}


def payload(marker: str = "FINGERPRINT") -> str:
    """About 2 KB: a typical Alertmanager notification with two firing alerts."""
    alerts = [{
        "status": "firing",
        "labels": {"alertname": "HighRequestLatency", "severity": "critical", "instance": f"api-{i}:9100",
                   "job": "api", "service": "checkout", "team": "payments", "region": "eu-west-1"},
        "annotations": {"summary": "p99 latency above 1s for 10 minutes",
                        "description": "The checkout API p99 latency has been above 1 second for the last ten "
                                       "minutes on this instance. Check the database connection pool and "
                                       "recent deploys.", "runbook_url": "https://runbooks.example.com/latency"},
        "startsAt": "2026-11-27T10:00:00.000Z", "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "https://prometheus.example.com/graph?g0.expr=histogram_quantile%280.99%29&g0.tab=1",
        "fingerprint": f"{marker}{i}",
    } for i in range(2)]
    return json.dumps({
        "version": "4", "groupKey": '{}/{severity="critical"}:{alertname="HighRequestLatency"}',
        "truncatedAlerts": 0, "status": "firing", "receiver": "copera",
        "groupLabels": {"alertname": "HighRequestLatency"},
        "commonLabels": {"alertname": "HighRequestLatency", "severity": "critical", "job": "api"},
        "commonAnnotations": {"summary": "p99 latency above 1s for 10 minutes"},
        "externalURL": "https://alertmanager.example.com", "alerts": alerts,
    })


WRK_SCRIPT = """
local template = [==[%s]==]
-- thread_id must stay a global: setup() assigns it in each thread's own Lua state.
counter = 0
thread_id = 0
local threads = 0
function setup(thread)
  thread:set("thread_id", threads)
  threads = threads + 1
end
function request()
  counter = counter + 1
  local body = template:gsub("FINGERPRINT", string.format("%%04d%%012d", thread_id, counter))
  return wrk.format("POST", nil, {["Content-Type"] = "application/json",
                                   ["Authorization"] = "Bearer %s"}, body)
end
"""


def wrk(url: str, seconds: float, connections: int, script: Path) -> dict:
    out = subprocess.run(["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds:g}s", "--latency",
                          "-s", str(script), url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def pct(p):
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)", out, re.M)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50": pct(50), "p99": pct(99), "non2xx": int(errors.group(1)) if errors else 0}


def bare_server(port: int):
    env = {**os.environ, "PORT": str(port)}
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "bench.bare_app:app"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/hooks/x", data=b"{}",
                                                          headers={"Content-Type": "application/json"}), timeout=1)
            return proc
        except OSError:
            time.sleep(0.1)
    raise SystemExit("bare app did not start")


def open_loop(url: str, rate: float, seconds: float) -> list[float]:
    """Sends `rate` requests/s regardless of answers (no coordinated omission); returns latencies in ms."""
    latencies: list[float] = []
    lock = threading.Lock()
    start = time.perf_counter()
    n = int(rate * seconds)

    def one(i):
        req = urllib.request.Request(url, data=payload(f"open{i:012d}").encode(), method="POST",
                                     headers={"Content-Type": "application/json", "Authorization": f"Bearer {SECRET}"})
        t0 = time.perf_counter()
        urllib.request.urlopen(req, timeout=10).read()
        with lock:
            latencies.append((time.perf_counter() - t0) * 1000)

    threads = []
    for i in range(n):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        t = threading.Thread(target=one, args=(i,))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    return latencies


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--connections", type=int, default=16)
    args = ap.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk")
    tmp = Path(tempfile.mkdtemp(prefix="relay-intake-bench-"))
    script = tmp / "post.lua"
    script.write_text(WRK_SCRIPT % (payload(), SECRET))
    print(f"payload: {len(payload())} bytes; {args.connections} connections, {args.seconds:g} s x {args.rounds} "
          f"rounds; WEB_CONCURRENCY={os.environ.get('WEB_CONCURRENCY', '2')} "
          f"WEB_THREADS={os.environ.get('WEB_THREADS', '4')}")
    bare_port = free_port()
    bare = bare_server(bare_port)
    results = {"relay": [], "bare": []}
    try:
        with Stack(ROUTES, kinds=("web",)) as stack:
            relay_url = f"{stack.url}/hooks/am"
            bare_url = f"http://127.0.0.1:{bare_port}/hooks/am"
            wrk(relay_url, 2, args.connections, script)  # warm-up
            wrk(bare_url, 2, args.connections, script)
            redis_client = redis.Redis(port=stack.redis_port)
            for r in range(args.rounds):
                for name, url in (("relay", relay_url), ("bare", bare_url)):
                    # No worker drains the queue here; each round starts from an empty Redis, as a
                    # relay whose workers keep up would be, instead of one holding every job so far.
                    redis_client.flushall()
                    res = wrk(url, args.seconds, args.connections, script)
                    results[name].append(res)
                    print(f"  round {r + 1} {name:5}: {res['rps']:8.0f} req/s  p50 {res['p50']:6.2f} ms  "
                          f"p99 {res['p99']:6.2f} ms  non-2xx {res['non2xx']}")
            lat = sorted(open_loop(relay_url, 200, args.seconds))
            web_rss = max(rss_mb(pid) for pid in stack.pids("web")[1:])
    finally:
        bare.terminate()
        bare.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)
    med = {k: statistics.median(x["rps"] for x in v) for k, v in results.items()}
    print(f"relay: {med['relay']:.0f} req/s (median)   bare: {med['bare']:.0f} req/s   "
          f"ratio relay/bare: {med['relay'] / med['bare']:.2f}")
    print(f"relay at 200 req/s open loop: p50 {lat[len(lat) // 2]:.2f} ms  p99 {lat[int(len(lat) * 0.99)]:.2f} ms  "
          f"({len(lat)} requests)")
    print(f"web worker RSS after the run: {web_rss:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
