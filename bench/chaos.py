#!/usr/bin/env python3
"""The accounting invariant under chaos, for many seeds (the CI test runs a short set).

    python bench/chaos.py                       # seeds 1-10, 500 webhooks each
    python bench/chaos.py --seeds 3 7 --webhooks 1000
    python bench/chaos.py --root /path/to/another/checkout   # drive an older commit's processes

Each seed boots the Procfile's processes (web, two workers) on a Redis with AOF, and a schedule
drawn from the seed makes Copera slow, flaky and down, SIGKILLs and SIGTERMs workers, restarts
Redis and reloads the routes while webhooks arrive. Prints one line per seed:

    chaos seed=S webhooks=N accepted=A posted=P failed=F nothing=X lost=L duplicated=D ...

and the delivery ids (with their history) of any webhook lost or in more than one terminal state.
Exits 1 if any seed lost a webhook, left one in two states, or `stats` disagreed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.chaos_harness import ROOT, Plan, run


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="*", default=list(range(1, 11)))
    ap.add_argument("--webhooks", type=int, default=500)
    ap.add_argument("--rate", type=float, default=12.0, help="webhooks offered per second")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--root", type=Path, default=ROOT, help="checkout whose processes are driven")
    args = ap.parse_args()
    bad = 0
    for seed in args.seeds:
        result = run(Plan(seed, args.webhooks, args.rate, args.workers), args.root)
        print(result.summary(), flush=True)
        if result.duplicated:
            print(f"  duplicated (delivery id: posts): {json.dumps(result.duplicated)} "
                  f"(bound {result.duplicate_bound})")
        for delivery_id in result.lost + result.multiple:
            state = "lost" if delivery_id in result.lost else "in more than one state"
            print(f"  {state}: {delivery_id} {json.dumps(result.details[delivery_id])}")
        for line in result.stats_disagreements:
            print(f"  stats disagrees: {line}")
        for line in result.history_disagreements:
            print(f"  deliveries disagrees: {line}")
        if result.refused:
            print(f"  not accepted (final answers): {dict(result.refused)}")
        print(f"  logs: {result.logs}", flush=True)
        bad += not result.clean
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
