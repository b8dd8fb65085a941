#!/usr/bin/env python3
"""Writes the README's table of sources from the registry (`--check` fails if it is out of date).

    python scripts/sources_doc.py          # rewrite the table in README.md
    python scripts/sources_doc.py --check  # exit 1 if README.md differs (run by the tests)
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.sources import SOURCES  # noqa: E402

START, END = "<!-- sources:start -->", "<!-- sources:end -->"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table() -> str:
    rows = ["| source | sender | authentication | events | where to set it up |", "|---|---|---|---|---|"]
    for s in SOURCES.values():
        d = s.describe()
        events = ", ".join(f"`{e}`" for e in d["events"])
        rows.append(f"| `{d['source']}` | {_cell(d['title'])} | {_cell(d['auth'])} | {_cell(events)} | "
                    f"{_cell(d['setup'])} |")
    return "\n".join(rows)


def render(readme: str) -> str:
    head, _, rest = readme.partition(START)
    _, _, tail = rest.partition(END)
    return f"{head}{START}\n{table()}\n{END}{tail}"


def main() -> int:
    path = ROOT / "README.md"
    current = path.read_text()
    wanted = render(current)
    if "--check" in sys.argv:
        if current != wanted:
            print("README.md's sources table is out of date: run python scripts/sources_doc.py", file=sys.stderr)
            return 1
        return 0
    path.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main())
