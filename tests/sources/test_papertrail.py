import pytest

from bot.sources import SOURCES
from bot.sources.base import PayloadError
from tests.formatting import render_fixture


def test_matched_lines_take_the_worst_severity():
    assert render_fixture("papertrail", "search_events__errors.txt") == [
        '🚨 **[Search "Production errors" found 3 matches](https://papertrailapp.com/searches/88231)**\n\n'
        "**Query:** `severity:(error OR critical) -healthcheck`\n\n"
        "```\n"
        "May 20 03:12:08 web-1 puma: ActiveRecord::ConnectionTimeoutError: could not obtain a connection from the "
        "pool within 5.000 seconds\n"
        "May 20 03:12:09 web-2 puma: Worker 3 exited: out of memory\n"
        "May 20 03:12:11 web-1 nginx: upstream timed out (110: Connection timed out) while reading response header\n"
        "```",
    ]


def test_counts_only_alert_sums_per_sender():
    assert render_fixture("papertrail", "search_counts__per_sender.txt") == [
        '🔵 **[Search "Sidekiq retries" found 15 matches](https://papertrailapp.com/searches/88240)**\n\n'
        "**Query:** `program:sidekiq retry`\n"
        "**By sender:** `worker-1`: 13, `worker-2`: 2",
    ]


def test_search_without_events_or_counts_is_rejected():
    body = b'payload={"saved_search": {"id": 1, "name": "Production errors"}}'
    with pytest.raises(PayloadError):
        SOURCES["papertrail"].receive(body, "application/x-www-form-urlencoded", {})


def test_payload_from_another_sender_is_rejected():
    with pytest.raises(PayloadError):
        SOURCES["papertrail"].receive(b'{"message": "Backup finished"}', "application/json", {})
