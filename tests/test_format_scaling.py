"""Formatting is linear in the payload: no sender's fixture, inflated with hostile shapes, takes
disproportionately longer at four times the size. A quadratic step (one payload froze a worker
for a minute) shows as a ratio near 16; linear work stays near 4.

Ratios of best-of-three times, not absolute times: a loaded 2-core machine slows both sizes of one
measurement alike, and the best of three discards the runs another process interrupted. Below a
floor the ratio is noise, so it is only judged where the larger size takes measurable time.
bench/format.py measures the same at 1 MiB against the 0.5 s budget.
"""

import time

import pytest

from bot import markdown as md
from tests.hostile import SHAPES, case, format_seconds, inflate, worst_per_source

SMALL, LARGE = 64 * 1024, 256 * 1024
FLOOR_SECONDS = 0.02


@pytest.fixture(scope="module")
def worst():
    return worst_per_source(SMALL)


def test_every_source_scales_linearly_on_its_worst_shape(worst):
    assert len(worst) >= 40, "most sources have fixtures the generator can inflate"
    superlinear = {}
    for source, (_, fixture, shape) in worst.items():
        event, payload = case(source, fixture)
        small = format_seconds(source, event, inflate(payload, shape, SMALL), repeat=3)
        large = format_seconds(source, event, inflate(payload, shape, LARGE), repeat=3)
        if large > FLOOR_SECONDS and large / max(small, 1e-6) > 8:
            superlinear[source] = (fixture, shape, round(small, 4), round(large, 4))
    assert superlinear == {}


@pytest.mark.parametrize("shape", sorted(s for s in SHAPES if s != "many"))
def test_escaping_untrusted_text_is_linear(shape):
    """The escaping every formatter relies on, without any source's truncation in front of it: a run
    of blank lines made the line-start escape rescan the rest of the run from every line (20 KB of
    newlines in a Slack attachment took 4.9 s)."""
    make = SHAPES[shape]

    def seconds(n: int) -> float:
        value = "log:" + make(n)
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            md.text(value)
            best = min(best, time.perf_counter() - started)
        return best

    # Smaller than the sources' sizes: a quadratic escape at 256 KiB would run for minutes.
    small, large = seconds(8 * 1024), seconds(32 * 1024)
    assert large < FLOOR_SECONDS or large / max(small, 1e-6) < 8, (small, large)
