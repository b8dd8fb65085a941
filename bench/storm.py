#!/usr/bin/env python3
"""Alert storm: N Alertmanager alerts in T seconds to one channel, through the running relay, with a
Copera stand-in that enforces the per-minute limit with 429s.

    python bench/storm.py                 # N=1500, T=30 s, limit 100/min
    python bench/storm.py --alerts 300 --seconds 10 --limit 100

Reports: all delivered (yes/no), posts sent, peak posts in any 60 s, 429s received, and the time
until the last event was visible in the channel.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from harness import Stack

CHANNEL = "5f0c0ffee0c0ffee0c0ffee0"
SECRET = "bench-storm-secret-0123456789"


def alert(i: int) -> bytes:
    name = f"storm-{i:05d}"
    return json.dumps({
        "version": "4", "groupKey": f'{{}}:{{alertname="{name}"}}', "status": "firing", "receiver": "relay",
        "groupLabels": {"alertname": name}, "commonLabels": {"alertname": name, "severity": "critical"},
        "commonAnnotations": {"summary": "Error budget burning"}, "externalURL": "https://am.example.com",
        "truncatedAlerts": 0,
        "alerts": [{"status": "firing", "labels": {"alertname": name, "severity": "critical",
                                                   "instance": f"web-{i % 40}"},
                    "annotations": {"summary": "Error budget burning"}, "startsAt": "2026-11-27T10:00:00Z",
                    "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "https://prom.example.com/graph",
                    "fingerprint": f"{i:016x}"}],
    }).encode()


def post(url: str, body: bytes) -> int:
    req = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "Authorization": f"Bearer {SECRET}"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--alerts", type=int, default=1500)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--limit", type=int, default=100, help="per-minute limit of Copera and of the relay")
    ap.add_argument("--timeout", type=float, default=600.0, help="give up waiting after this many seconds")
    args = ap.parse_args()

    routes = {"storm": {"source": "alertmanager", "channel": CHANNEL, "secret": SECRET}}
    env = {"COPERA_RATE_LIMIT_PER_MINUTE": str(args.limit)}
    with Stack(routes, env) as stack:
        stack.copera.limit_per_minute = args.limit
        url = f"{stack.url}/hooks/storm"
        statuses = []
        started = time.time()

        def send(i):
            delay = started + i * args.seconds / args.alerts - time.time()
            if delay > 0:
                time.sleep(delay)
            statuses.append(post(url, alert(i)))

        with ThreadPoolExecutor(16) as pool:
            list(pool.map(send, range(args.alerts)))
        sent_at = time.time()
        wanted = {f"storm-{i:05d}" for i in range(args.alerts)}
        seen: set[str] = set()
        last_visible = None
        lock = threading.Lock()
        while time.time() - started < args.timeout:
            with lock:
                seen = {m for t in stack.copera.texts(CHANNEL) for m in re.findall(r"storm-\d{5}", t)}
            if seen >= wanted:
                last_visible = max(m["t"] for m in stack.copera.messages)
                break
            time.sleep(0.5)
        posts = sorted(m["t"] for m in stack.copera.messages)
        peak = max((sum(1 for t in posts if s <= t < s + 60) for s in posts), default=0)
        throttled = stack.copera.statuses().count(429)
        counts = [len(re.findall(r"storm-\d{5}", t)) for t in stack.copera.texts(CHANNEL)]

    accepted = sum(1 for s in statuses if s == 202)
    print(f"storm: {args.alerts} alerts in {args.seconds:g} s, limit {args.limit}/min")
    print(f"  accepted (202)            {accepted}/{args.alerts}")
    print(f"  sending took              {sent_at - started:.1f} s")
    print(f"  all delivered             {'yes' if seen >= wanted else 'no'} ({len(seen & wanted)}/{args.alerts})")
    print(f"  posts sent                {len(posts)} (events per post: min {min(counts, default=0)}, "
          f"max {max(counts, default=0)})")
    print(f"  peak posts in any 60 s    {peak}")
    print(f"  429s received             {throttled}")
    if last_visible:
        print(f"  last event visible after  {last_visible - started:.1f} s")
    return 0 if seen >= wanted and throttled == 0 and peak <= args.limit else 1


if __name__ == "__main__":
    sys.exit(main())
