"""Hostile, inflated payloads for every source's fixtures, and the time to format and render them.
Shared by tests/test_format_scaling.py (CI, small sizes) and bench/format.py (1 MiB, on demand).

A fixture is received as intake receives it, then its free-text strings (anything with a space,
or longer than a word) are replaced by one hostile shape, sized so that the payload grows by about
`size` characters; the "many" shape instead repeats every list's elements. Enum-like words stay
as they are, so the formatter takes the same paths as for the real payload.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from bot.message import render
from bot.sources import SOURCES
from tests.formatting import FIXTURES, receive_fixture


def _repeat(unit: str) -> Callable[[int], str]:
    return lambda n: (unit * (n // len(unit) + 1))[:n]


SHAPES: dict[str, Callable[[int], str]] = {
    "spaces_and_newlines": _repeat(" \n"),
    "newlines": _repeat("\n"),
    "markdown_specials": _repeat("*_`[]()#>-+=|~<&!@\\ "),
    "one_long_word": _repeat("a"),
    "deep_list": _repeat("- - - - - - - - 1. > # item\n  "),
    "many": _repeat(""),  # lists grow instead; see inflate()
}


def _free_text(value: str) -> bool:
    return " " in value or len(value) > 24


def _text_leaves(value) -> int:
    if isinstance(value, dict):
        return sum(_text_leaves(v) for v in value.values())
    if isinstance(value, list):
        return sum(_text_leaves(v) for v in value)
    return 1 if isinstance(value, str) and _free_text(value) else 0


def inflate(payload, shape: str, size: int):
    """A copy of `payload` grown by about `size` characters of `shape`."""
    if shape == "many":
        unit = max(1, len(json.dumps(payload)))
        copies = max(2, size // unit)

        def grow(value):
            # The outermost lists on each path grow; lists inside them are copied as they are, or
            # nested lists would multiply the size.
            if isinstance(value, dict):
                return {k: grow(v) for k, v in value.items()}
            if isinstance(value, list) and value:
                return value * copies
            return value

        return grow(payload)
    each = max(1, size // max(1, _text_leaves(payload)))
    make = SHAPES[shape]

    def swap(value):
        if isinstance(value, dict):
            return {k: swap(v) for k, v in value.items()}
        if isinstance(value, list):
            return [swap(v) for v in value]
        if isinstance(value, str) and _free_text(value):
            return make(each)
        return value

    return swap(payload)


def cases() -> list[tuple[str, str, str, object]]:
    """(source, fixture, event, validated payload) for every fixture intake accepts as it is."""
    found = []
    for name in SOURCES:
        for path in sorted((FIXTURES / name).glob("*.*")) if (FIXTURES / name).is_dir() else []:
            try:
                incoming = receive_fixture(name, path.name)
            except Exception:  # fixtures that need headers their tests give (signatures, …)
                continue
            found.append((name, path.name, incoming.event, incoming.payload))
    return found


def format_seconds(source: str, event: str, payload, repeat: int = 1, clock=time.perf_counter) -> float:
    """Best of `repeat` runs of format + render; formatter errors count as done (the worker sends
    a fallback message then), so only time is measured. `clock=time.thread_time` counts only this
    thread's CPU time, which other processes on a loaded machine do not inflate (for ratios)."""
    best = float("inf")
    for _ in range(repeat):
        started = clock()
        try:
            for message in SOURCES[source].format(event, payload):
                render(message)
        except Exception:
            pass
        best = min(best, clock() - started)
    return best


def worst_per_source(size: int, cases_=None) -> dict[str, tuple[float, str, str]]:
    """For each source: (seconds, fixture, shape) of its slowest inflated fixture at `size`."""
    worst: dict[str, tuple[float, str, str]] = {}
    for source, fixture, event, payload in cases_ or cases():
        for shape in SHAPES:
            seconds = format_seconds(source, event, inflate(payload, shape, size))
            if seconds > worst.get(source, (-1.0,))[0]:
                worst[source] = (seconds, fixture, shape)
    return worst


def case(source: str, fixture: str) -> tuple[str, object]:
    incoming = receive_fixture(source, fixture)
    return incoming.event, incoming.payload

