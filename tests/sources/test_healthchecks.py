import json

import pytest

from bot.message import render
from bot.sources import SOURCES
from bot.sources.base import Ignored, PayloadError
from bot.sources.healthchecks import TEMPLATE
from tests.formatting import Headers, receive_fixture, render_fixture


def test_check_down_fires_with_exit_status_and_tags():
    assert render_fixture("healthchecks", "down__cron_failed.json") == [
        "🔴 **[Nightly DB backup is down](https://healthchecks.io/checks/6f1c2d3e-4a5b-4c6d-8e7f-90a1b2c3d4e5/"
        "details/)**\n\n"
        "**Down since:** 2026-11-28T03:17:02+00:00\n"
        "**Last exit status:** `2`\n"
        "**Tags:** `prod`, `backups`",
    ]


def test_check_up_resolves():
    assert render_fixture("healthchecks", "up__recovered.json") == [
        "✅ **[Nightly DB backup is up](https://healthchecks.io/checks/6f1c2d3e-4a5b-4c6d-8e7f-90a1b2c3d4e5/"
        "details/)**\n\n"
        "**Up since:** 2026-11-28T04:02:45+00:00\n"
        "**Last exit status:** `0`\n"
        "**Tags:** `prod`, `backups`",
    ]


def test_check_without_exit_status_or_tags_omits_them():
    assert render_fixture("healthchecks", "down__no_ping_self_hosted.json") == [
        '🔴 **[Invoice "sync" job is down](https://hc.example.test/checks/0b9a8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d/'
        'details/)**\n\n'
        "**Down since:** 2026-11-28T09:30:00+00:00",
    ]


def test_down_and_up_are_one_alert_keyed_by_check_code():
    source = SOURCES["healthchecks"]
    down = receive_fixture("healthchecks", "down__cron_failed.json")
    up = receive_fixture("healthchecks", "up__recovered.json")
    [fired] = source.format(down.event, down.payload)
    [resolved] = source.format(up.event, up.payload)
    code = "6f1c2d3e-4a5b-4c6d-8e7f-90a1b2c3d4e5"
    assert (fired.severity, fired.status, fired.alert.key) == ("error", "firing", code)
    assert (resolved.severity, resolved.status, resolved.alert.key) == ("success", "resolved", fired.alert.key)
    assert resolved.alert.ended_at is not None


def test_recommended_template_filled_in_is_accepted():
    # What Healthchecks makes of the template: $NAME_JSON becomes a JSON string, the rest plain text.
    filled = (TEMPLATE.replace("$NAME_JSON", json.dumps('Report "weekly"'))
              .replace("$STATUS", "down").replace("$CODE", "a1b2c3d4-0000-4000-8000-000000000001")
              .replace("$SLUG", "report").replace("$TAGS", "reports").replace("$NOW", "2026-11-28T10:00:00+00:00")
              .replace("$EXITSTATUS", "-1"))
    assert "$" not in filled
    incoming = SOURCES["healthchecks"].receive(filled.encode(), "application/json", Headers())
    assert _rendered(incoming) == [
        '🔴 **[Report "weekly" is down](https://healthchecks.io/checks/a1b2c3d4-0000-4000-8000-000000000001/'
        'details/)**\n\n'
        "**Down since:** 2026-11-28T10:00:00+00:00\n"
        "**Tags:** `reports`",
    ]


def _rendered(incoming):
    return [render(m) for m in SOURCES["healthchecks"].format(incoming.event, incoming.payload)]


def test_unknown_status_is_not_supported():
    body = b'{"name": "Nightly DB backup", "status": "paused"}'
    with pytest.raises(Ignored, match="not supported"):
        SOURCES["healthchecks"].receive(body, "application/json", Headers())


@pytest.mark.parametrize("body", [
    b'{"status": "down"}',
    b'{"name": "Nightly DB backup"}',
    b'{"monitor_friendly_name": "Shop", "alert_type": "1"}',
])
def test_payload_not_from_healthchecks_is_rejected(body):
    with pytest.raises(PayloadError):
        SOURCES["healthchecks"].receive(body, "application/json", Headers())
