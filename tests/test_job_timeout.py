"""RQ's job timeout is never swallowed: a webhook whose formatting (or route template) outlasts it
fails as a job, lands on the relay's failed list with the reason, and no fallback message is posted
in its place."""

from __future__ import annotations

import pytest
from rq import Queue
from rq.serializers import JSONSerializer

from bot.enqueue import QUEUE_NAME
from bot.sources import SOURCES
from bot.store.failed import FailedList
from bot.templates import MAX_RAW_OUTPUT, Template
from tests.conftest import CHANNEL
from workers.__main__ import RelayWorker

SECRET = "s3cret-for-tests-0123"
BEARER = {"Authorization": f"Bearer {SECRET}"}


def _spin(*args, **kwargs):
    while True:
        pass


def _run_with_timeout(relay, seconds: int = 1):
    queue = Queue(QUEUE_NAME, connection=relay.redis, serializer=JSONSerializer)
    for job in queue.jobs:
        job.timeout = seconds
        job.retries_left = 0  # this failure is the last
        job.save()
    RelayWorker([QUEUE_NAME], connection=relay.redis, serializer=JSONSerializer).work(burst=True)
    relay.runtime.dispatcher.drain(5)


@pytest.mark.parametrize("where", ["formatter", "template"])
def test_a_job_timeout_fails_the_job_and_is_recorded(make_relay, copera, monkeypatch, where):
    route = {"source": "generic", "channel": CHANNEL, "secret": SECRET}
    if where == "template":
        route["template"] = "{{ payload.message }}"
        monkeypatch.setattr("jinja2.runtime.Context.resolve_or_missing", _spin)
        # The template's own 1 s budget would race RQ's 1 s timeout; here RQ's must fire.
        monkeypatch.setattr(Template.render, "__defaults__", (30.0, MAX_RAW_OUTPUT))
    else:
        monkeypatch.setattr(SOURCES["generic"], "format", _spin)
    relay = make_relay({"ops": route})
    delivery_id = relay.post("ops", {"message": "slow"}, BEARER).get_json()["delivery_id"]
    _run_with_timeout(relay)
    assert copera.messages == [], "no fallback message stands in for the timed-out webhook"
    failed = FailedList(relay.redis).list()
    assert [e["delivery_id"] for e in failed] == [delivery_id]
    assert failed[0]["reason"] == ("the worker could not process this webhook: "
                                   "formatting took longer than the job timeout")
