#!/usr/bin/env python3
"""Offline check of formatters against the shared corpus, without Redis or HTTP.

    python scripts/corpus_check.py github gitlab         # scores per source
    python scripts/corpus_check.py github --show 3       # print rendered messages
    python scripts/corpus_check.py github --misses       # cases that missed facts or failed

It runs each corpus payload through the same `Source.receive()` and `format()` the relay uses and
scores the result with the conformance checker's own fact extraction, so a formatter can be tuned
before the full stack run. The corpus and the checker are not part of this repository: point
RELAY_SHARED at the folder that holds `corpus/` and `conformance/` (default: `../shared`).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
SHARED = os.environ.get("RELAY_SHARED") or os.path.join(ROOT, "..", "shared")
CONFORMANCE = os.path.join(SHARED, "conformance")
sys.path.insert(0, CONFORMANCE)  # run.py imports its neighbour stack.py

from werkzeug.datastructures import Headers  # noqa: E402


def _conformance():
    """The checker's own module, loaded by path (its name, `run`, says nothing about where it is)."""
    spec = importlib.util.spec_from_file_location("conformance_run", os.path.join(CONFORMANCE, "run.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_run = _conformance()
ZULIP_TO_RELAY, encode, facts, has_fact, payload_text, plan = (
    _run.ZULIP_TO_RELAY, _run.encode, _run.facts, _run.has_fact, _run.payload_text, _run.plan)

from bot.message import render  # noqa: E402
from bot.sources import SOURCES  # noqa: E402
from bot.sources.base import Ignored, PayloadError  # noqa: E402


def run_case(source, case):
    body, ctype = encode(case["path"], case["content_type"])
    try:
        incoming = source.receive(body, ctype, Headers(case["headers"]))
    except Ignored as exc:
        return "ignored", [exc.reason]
    except PayloadError as exc:
        return "invalid", [exc.message + " " + json.dumps(exc.details)[:300]]
    try:
        texts = [render(m) for m in source.format(incoming.event, incoming.payload)]
    except Exception:
        return "crash", [traceback.format_exc()]
    return "ok", texts


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sources", nargs="*")
    ap.add_argument("--show", type=int, default=0)
    ap.add_argument("--misses", action="store_true")
    args = ap.parse_args()
    wanted = set(args.sources) or set(SOURCES)
    cases = plan(os.path.join(SHARED, "corpus"), {s: {} for s in wanted if s in SOURCES}, set())
    known = set(ZULIP_TO_RELAY.values())
    rows = {}
    for case in cases:
        source = SOURCES[case["source"]]
        outcome, texts = run_case(source, case)
        row = rows.setdefault(
            case["source"],
            {
                "cases": 0,
                "ok": 0,
                "msg": 0,
                "delivered": 0,
                "facts": 0,
                "hits": 0,
                "crash": 0,
                "examples_bad": 0,
                "ratios": [],
            },
        )
        row["cases"] += 1
        row["crash"] += outcome == "crash"
        if case["kind"] == "example" and outcome in ("invalid", "crash"):
            row["examples_bad"] += 1
        if case["kind"] == "message":
            row["msg"] += 1
            got = "\n".join(texts) if outcome == "ok" else ""
            fs = set()
            raw = payload_text(open(case["path"], "rb").read())
            for content in case["contents"]:
                fs |= facts(content, case["topic"], raw)
            hits = sum(1 for f in fs if has_fact(f, got))
            row["facts"] += len(fs)
            row["hits"] += hits
            row["delivered"] += bool(got)
            if got:
                row["ratios"].append(len(got) / max(80, sum(len(x) for x in case["contents"])))
            missed = sorted(f[1] for f in fs if not has_fact(f, got))
            if args.misses and (missed or not got):
                print(f"--- {case['source']} {case['fixture']} [{outcome}] missed={missed}")
                print("  zulip: " + (case["contents"][0] if case["contents"] else "")[:400].replace("\n", "\n  "))
                print("  ours:  " + ("\n".join(texts))[:600].replace("\n", "\n  "))
        elif args.misses and outcome in ("invalid", "crash"):
            print(f"--- {case['source']} {case['fixture']} [{case['kind']}: {outcome}] {texts[0][:300]}")
        if args.show and outcome == "ok" and row.get("shown", 0) < args.show:
            row["shown"] = row.get("shown", 0) + 1
            print(f"=== {case['source']} {case['fixture']}\n" + "\n---\n".join(texts))
    print(f"{'source':18} {'cases':>5} {'delivered':>10} {'recall':>7} {'size':>5} {'crash':>5} {'bad-ex':>6}")
    for name, r in sorted(rows.items()):
        ratios = sorted(r["ratios"])
        med = f"{ratios[len(ratios) // 2]:.2f}" if ratios else "-"
        deliv = f"{100 * r['delivered'] / r['msg']:.1f}%" if r["msg"] else "-"
        recall = f"{100 * r['hits'] / r['facts']:.1f}%" if r["facts"] else "-"
        print(f"{name:18} {r['cases']:5d} {deliv:>10} {recall:>7} {med:>5} {r['crash']:5d} {r['examples_bad']:6d}")
    missing = sorted(s for s in wanted if s not in SOURCES)
    if missing:
        print("not registered:", ", ".join(missing), "(corpus names:", ", ".join(sorted(known & set(missing))) + ")")


if __name__ == "__main__":
    main()
