"""The accounting invariant under chaos, in CI: two seeds (one of 500 webhooks) through the
Procfile's processes while Copera is slow beyond the lease, flaky and down, workers are SIGKILLed
and SIGTERMed, Redis restarts (AOF on) and the routes are reloaded. Every webhook answered 202 ends
in exactly one visible terminal state and `stats` agrees. `bench/chaos.py` runs many more seeds.

Each run prints its summary line (`pytest -s`), e.g.
`chaos seed=11 webhooks=500 accepted=... posted=... failed=... nothing=... lost=0 duplicated=...`.
"""

from __future__ import annotations

import json

import pytest

from tests.chaos_harness import COPERA_MODES, Plan, run, schedule

PLANS = [Plan(seed=11, webhooks=500), Plan(seed=23, webhooks=300)]


def test_the_schedule_is_the_seeds_and_holds_every_kind_of_event():
    for plan in PLANS:
        events = schedule(plan)
        assert events == schedule(plan)
        assert events != schedule(Plan(plan.seed + 1, plan.webhooks))
        assert {action for _, action, _ in events} == {"copera", "sigkill", "sigterm", "redis", "reload"}
        modes = {arg for _, action, arg in events if action == "copera"}
        assert modes <= set(COPERA_MODES)
        assert {"slow", "slow+flaky"} & modes and {"down", "flaky", "slow+flaky"} & modes, modes
        assert all(0 <= at <= plan.duration for at, _, _ in events)


@pytest.mark.parametrize("plan", PLANS, ids=lambda p: f"seed{p.seed}-{p.webhooks}")
def test_every_accepted_webhook_ends_in_exactly_one_visible_state(plan):
    result = run(plan)
    print("\n" + result.summary())
    context = f"{result.summary()}; logs in {result.logs}"
    assert result.quiescent, f"still working {plan.quiesce_timeout:.0f} s after the chaos ended: {context}"
    # A sender's retries end in an answer; only a route removed by a reload may refuse (404).
    assert set(result.refused) <= {404}, (dict(result.refused), context)
    assert len(result.accepted) + sum(result.refused.values()) == result.offered == plan.webhooks
    assert not result.lost, json.dumps({i: result.details[i] for i in result.lost}, indent=1) + "\n" + context
    assert not result.multiple, json.dumps({i: result.details[i] for i in result.multiple}, indent=1) + context
    assert result.posted + result.failed + result.nothing == len(result.accepted)
    assert not result.stats_disagreements, (result.stats_disagreements, context)
    assert not result.history_disagreements, (result.history_disagreements[:20], context)
    # The run exercised what it claims: all three end states, kills, a Redis restart, reloads.
    assert result.posted and result.failed and result.nothing, context
    assert result.kills and result.redis_restarts and result.reloads, context
    extra_posts = sum(n - 1 for n in result.duplicated.values())
    assert extra_posts <= result.duplicate_bound, (result.duplicated, context)

