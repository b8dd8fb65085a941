#!/usr/bin/env python3
"""Worst-case formatting time per source on 1 MiB hostile payloads (issue: one payload froze a worker).

    python bench/format.py               # 1 MiB, every source, budget 0.5 s
    python bench/format.py --size 262144 --budget 0.2

Each source's fixtures (those intake accepts as they are) are inflated with every hostile shape of
tests/hostile.py; the table shows each source's slowest case. Then, for the slowest source, the
same case at 64 KiB, 256 KiB and 1 MiB side by side: linear work grows about 4x per step.
Exits 1 if any case exceeds the budget.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.sources import SOURCES
from tests.hostile import case, cases, format_seconds, inflate, worst_per_source


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=1024 * 1024)
    ap.add_argument("--budget", type=float, default=0.5)
    args = ap.parse_args()
    found = cases()
    worst = worst_per_source(args.size, found)
    print(f"{len(found)} fixtures of {len(worst)} sources, inflated by {args.size:,} characters; "
          f"{len(SOURCES) - len(worst)} sources have no fixture intake accepts without its test's headers")
    print(f"{'source':20} {'worst s':>8}  fixture / shape")
    for source, (seconds, fixture, shape) in sorted(worst.items(), key=lambda kv: -kv[1][0]):
        flag = "  OVER BUDGET" if seconds > args.budget else ""
        print(f"{source:20} {seconds:8.3f}  {fixture} / {shape}{flag}")
    source, (_, fixture, shape) = max(worst.items(), key=lambda kv: kv[1][0])
    event, payload = case(source, fixture)
    steps = [args.size // 16, args.size // 4, args.size]
    times = [format_seconds(source, event, inflate(payload, shape, n), repeat=3) for n in steps]
    print(f"scaling of {source} {fixture} / {shape}: " + "  ".join(
        f"{n // 1024} KiB {t:.3f} s" for n, t in zip(steps, times, strict=True))
        + f"  (x{times[1] / max(times[0], 1e-6):.1f}, x{times[2] / max(times[1], 1e-6):.1f} per 4x)")
    return 1 if any(seconds > args.budget for seconds, _, _ in worst.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
