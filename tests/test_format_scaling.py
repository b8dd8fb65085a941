"""Formatting is linear in the payload: no sender's fixture, inflated with hostile shapes, takes
disproportionately longer at four times the size. A quadratic step (one payload froze a worker
for a minute) shows as a ratio near 16; linear work stays near 4.

Ratios of best-of-three times in this thread's CPU time (`time.thread_time`), not wall-clock
times: other processes on a loaded 2-core machine do not inflate it, and the best of three discards
cache and frequency noise. A ratio over the bound is measured again before it counts, so a one-off
disturbance does not fail the suite while a quadratic step (×16) fails both times. Below a floor the
ratio is noise, so it is only judged where the larger size takes measurable time.
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
        small_payload, large_payload = inflate(payload, shape, SMALL), inflate(payload, shape, LARGE)
        for _attempt in range(2):
            small = format_seconds(source, event, small_payload, repeat=3, clock=time.thread_time)
            large = format_seconds(source, event, large_payload, repeat=3, clock=time.thread_time)
            if not (large > FLOOR_SECONDS and large / max(small, 1e-6) > 8):
                superlinear.pop(source, None)
                break
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
            started = time.thread_time()
            md.text(value)
            best = min(best, time.thread_time() - started)
        return best

    # Smaller than the sources' sizes: a quadratic escape at 256 KiB would run for minutes.
    for _attempt in range(2):
        small, large = seconds(8 * 1024), seconds(32 * 1024)
        if large < FLOOR_SECONDS or large / max(small, 1e-6) < 8:
            return
    pytest.fail(f"escaping {shape} is superlinear: {small:.4f} s at 8 KiB, {large:.4f} s at 32 KiB")
