import pytest

from bot.sources import SOURCES
from bot.sources.base import Ignored, PayloadError
from tests.formatting import Headers, receive_fixture, render_fixture

API = "https://dashboard.render.com/web/srv-d2k4f8acme01/events"


@pytest.mark.parametrize("fixture, text", [
    ("build_started__web_service.json", f"🔵 **[acme-api build started]({API})**"),
    ("build_ended__failed.json", f"🔴 **[acme-api build failed]({API})**"),
    ("deploy_started__web_service.json", f"🔵 **[acme-api deploy started]({API})**"),
    ("deploy_ended__succeeded.json", f"✅ **[acme-api deploy succeeded]({API})**"),
    ("deploy_ended__canceled.json", f"🟠 **[acme-api deploy was canceled]({API})**"),
    ("cron_job_run_ended__unsuccessful.json",
     "🔴 **[nightly-report cron run failed](https://dashboard.render.com/cron/crn-d3m7nightly1/events)**"),
])
def test_runs(fixture, text):
    assert render_fixture("render", fixture) == [text]


def test_server_failed_fires_an_alert():
    assert render_fixture("render", "server_failed__web_service.json") == [
        f"🔴 **[acme-api server failed]({API})**\n\n"
        "**Service:** `srv-d2k4f8acme01`\n"
        "**Since:** 2026-11-28T22:15:09.731Z",
    ]
    incoming = receive_fixture("render", "server_failed__web_service.json")
    [message] = SOURCES["render"].format(incoming.event, incoming.payload)
    assert (message.severity, message.status, message.alert.key) == ("error", "firing", "render:srv-d2k4f8acme01")


def test_server_available_resolves_it():
    assert render_fixture("render", "server_available__web_service.json") == [
        f"✅ **[acme-api is available again]({API})**\n\n"
        "**Service:** `srv-d2k4f8acme01`\n"
        "**At:** 2026-11-28T22:18:44.002Z",
    ]
    incoming = receive_fixture("render", "server_available__web_service.json")
    [message] = SOURCES["render"].format(incoming.event, incoming.payload)
    assert (message.severity, message.status, message.alert.key) == ("success", "resolved", "render:srv-d2k4f8acme01")


def test_severity_of_a_failed_deploy_feeds_routing():
    body = b'{"type": "deploy_ended", "data": {"serviceId": "srv-x1", "status": "failed"}}'
    source = SOURCES["render"]
    incoming = source.receive(body, "application/json", Headers({}))
    [message] = source.format(incoming.event, incoming.payload)
    assert (message.severity, message.title, message.url) == (
        "error", "srv-x1 deploy failed", "https://dashboard.render.com/web/srv-x1/events")


def test_unknown_service_kind_has_no_link():
    body = b'{"type": "deploy_started", "data": {"serviceId": "dpg-pg1", "serviceName": "acme-db"}}'
    source = SOURCES["render"]
    incoming = source.receive(body, "application/json", Headers({}))
    assert source.format(incoming.event, incoming.payload)[0].url is None


def test_dedup_on_the_webhook_id():
    source = SOURCES["render"]
    incoming = receive_fixture("render", "deploy_ended__succeeded.json")
    key, _ = source.delivery_key(incoming.event, incoming.payload, Headers({"webhook-id": "msg_2x9"}), b"")
    assert key == "id:msg_2x9"


def test_unknown_event_is_not_supported():
    body = b'{"type": "disk_created", "data": {"serviceId": "srv-x1"}}'
    with pytest.raises(Ignored, match="not supported"):
        SOURCES["render"].receive(body, "application/json", Headers({}))


@pytest.mark.parametrize("body", [b'{"state": "live"}', b'{"type": "deploy_ended", "data": {"status": "failed"}}'])
def test_payload_not_from_render_is_rejected(body):
    with pytest.raises(PayloadError):
        SOURCES["render"].receive(body, "application/json", Headers({}))
