#!/usr/bin/env python3
"""Delivery throughput and end-to-end latency, measured side by side with the naive design.

    python bench/worker.py                  # 2,000 messages to 2,000 channels; latency at 5 webhooks/s
    python bench/worker.py --messages 500 --latency-seconds 10

1. Throughput: N Alertmanager webhooks for N distinct channels are queued while no worker runs,
   then one worker process starts and the time until the Copera stand-in has all N messages is
   measured, with the rate limit lifted. The same N messages then go through the naive design
   (bench/naive.py: one RQ SimpleWorker job per message that formats and posts with a reused
   requests.Session). Reports messages/s for both and the ratio.
2. Latency: the full relay (web + worker, as the Procfile runs them) receives 5 webhooks/s, each to
   its own channel, below the rate limit; reports p50/p99 from the sender's 202 to the stand-in's
   receipt, and the RSS of one web worker and the queue worker afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
import urllib.request

import redis
from harness import ROOT, TOKEN, Stack, rss_mb

SECRET = "bench-worker-secret-0123456789"
UNLIMITED = "10000000"


def channel(i: int) -> str:
    return f"{i + 1:024x}"


def alert(i: int, tag: str) -> dict:
    name = f"{tag}-{i:05d}"
    return {"version": "4", "groupKey": f'{{}}:{{alertname="{name}"}}', "status": "firing", "receiver": "r",
            "groupLabels": {"alertname": name}, "commonLabels": {"alertname": name, "severity": "warning"},
            "commonAnnotations": {"summary": "Queue backlog growing"}, "externalURL": "https://am.example.com",
            "alerts": [{"status": "firing", "labels": {"alertname": name, "severity": "warning",
                                                       "instance": f"worker-{i % 50}"},
                        "annotations": {"summary": "Queue backlog growing"}, "startsAt": "2026-11-27T10:00:00Z",
                        "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "https://prom.example.com/graph",
                        "fingerprint": f"{i:016x}"}]}


def wait_for(stack, count: int, timeout: float) -> float | None:
    end = time.time() + timeout
    while time.time() < end:
        if len(stack.copera.messages) >= count:
            return max(m["t"] for m in stack.copera.messages)
        time.sleep(0.05)
    return None


def relay_throughput(n: int) -> float:
    from bot.enqueue import Enqueuer
    from bot.sources import SOURCES
    from bot.sources.base import Incoming

    routes = {f"r{i}": {"source": "alertmanager", "channel": channel(i), "secret": SECRET} for i in range(n)}
    env = {"COPERA_RATE_LIMIT_PER_MINUTE": UNLIMITED}
    with Stack(routes, env, kinds=()) as stack:
        enqueuer = Enqueuer(redis.Redis(port=stack.redis_port))
        source = SOURCES["alertmanager"]

        class Route:
            def __init__(self, name):
                self.name, self.source = name, source

        for i in range(n):
            enqueuer.accept(Route(f"r{i}"), Incoming("alert", alert(i, "thr")), {}, str(i).encode())
        worker = subprocess.Popen([sys.executable, "-m", "workers"], cwd=ROOT, env=stack.env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        started = time.time()
        last = wait_for(stack, n, 300)
        worker.terminate()
        worker.wait(30)
    if last is None:
        raise SystemExit("relay did not deliver everything")
    return n / (last - started)


def naive_throughput(n: int) -> float:
    from rq import Queue

    with Stack({}, {}, kinds=()) as stack:
        connection = redis.Redis(port=stack.redis_port)
        queue = Queue("naive", connection=connection)
        for i in range(n):
            queue.enqueue("bench.naive.post_message", "alertmanager", "alert", alert(i, "naive"), channel(i))
        env = {**stack.env, "PYTHONPATH": str(ROOT)}
        worker = subprocess.Popen([sys.executable, "-m", "rq.cli", "worker", "--burst", "--worker-class",
                                   "rq.SimpleWorker", "--url", f"redis://127.0.0.1:{stack.redis_port}", "-q", "naive"],
                                  cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started = time.time()
        last = wait_for(stack, n, 300)
        worker.wait(60)
    if last is None:
        raise SystemExit("naive worker did not deliver everything")
    return n / (last - started)


def latency(seconds: float, rate: float = 5.0) -> tuple[list[float], float, float]:
    n = int(seconds * rate)
    routes = {f"r{i}": {"source": "alertmanager", "channel": channel(i), "secret": SECRET} for i in range(n)}
    with Stack(routes, {"COPERA_RATE_LIMIT_PER_MINUTE": UNLIMITED}) as stack:
        accepted = {}
        start = time.time()
        for i in range(n):
            delay = start + i / rate - time.time()
            if delay > 0:
                time.sleep(delay)
            req = urllib.request.Request(f"{stack.url}/hooks/r{i}", data=json.dumps(alert(i, "lat")).encode(),
                                         method="POST", headers={"Content-Type": "application/json",
                                                                 "Authorization": f"Bearer {SECRET}"})
            with urllib.request.urlopen(req, timeout=10) as r:
                assert r.status == 202
            accepted[f"lat-{i:05d}"] = time.time()
        wait_for(stack, n, 30)
        received = {}
        for m in stack.copera.messages:
            for marker in set(re.findall(r"lat-\d{5}", m["message"])):
                received.setdefault(marker, m["t"])
        lat = sorted((received[k] - accepted[k]) * 1000 for k in accepted if k in received)
        web_rss = max(rss_mb(pid) for pid in stack.pids("web")[1:])
        worker_rss = max(rss_mb(pid) for pid in stack.pids("worker"))
    return lat, web_rss, worker_rss


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--latency-seconds", type=float, default=20)
    args = ap.parse_args()
    os.environ.setdefault("COPERA_API_TOKEN", TOKEN)
    relay = relay_throughput(args.messages)
    naive = naive_throughput(args.messages)
    print(f"throughput, {args.messages} messages to {args.messages} channels, rate limit lifted:")
    print(f"  relay worker (outbox, limiter, history, 1 process): {relay:7.0f} messages/s")
    print(f"  naive RQ SimpleWorker (format + post per job):      {naive:7.0f} messages/s")
    print(f"  ratio relay/naive: {relay / naive:.2f}")
    lat, web_rss, worker_rss = latency(args.latency_seconds)
    print(f"end-to-end at 5 webhooks/s ({len(lat)} webhooks): p50 {lat[len(lat) // 2]:.1f} ms  "
          f"p99 {lat[min(len(lat) - 1, int(len(lat) * 0.99))]:.1f} ms")
    print(f"RSS after the run: web worker {web_rss:.0f} MB, queue worker {worker_rss:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
