import pytest

from bot.sources import SOURCES
from bot.sources.base import Ignored, PayloadError
from tests.formatting import Headers, receive_fixture, render_fixture

MAIN_COMMIT = (
    "**Branch:** `main`\n"
    "**Commit:** [9f86d08](https://github.com/acme/web/commit/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b) "
    "Add pricing page\n"
    "**By:** kim-l"
)
PREVIEW_COMMIT = (
    "**Branch:** `new-header`\n"
    "**Commit:** [2c26b46](https://github.com/acme/web/commit/2c26b46b68ffc68ff99b453c1d30413413422d70) "
    "Try the new header\n"
    "**By:** ravi-m"
)
LIVE = "**URL:** [https://acme-web-7hq2mxc9-acme.vercel.app](https://acme-web-7hq2mxc9-acme.vercel.app)"


def test_production_deployment_created():
    assert render_fixture("vercel", "deployment.created__production.json") == [
        "🔵 **[acme-web production deployment started](https://vercel.com/acme/acme-web/7Hq2mXc9)**\n\n" + MAIN_COMMIT,
    ]


def test_production_deployment_succeeded_links_the_live_url():
    assert render_fixture("vercel", "deployment.succeeded__production.json") == [
        "✅ **[acme-web production deployment succeeded](https://vercel.com/acme/acme-web/7Hq2mXc9)**\n\n"
        + MAIN_COMMIT + "\n" + LIVE,
    ]


def test_deployment_without_git_metadata():
    assert render_fixture("vercel", "deployment.succeeded__cli_no_git.json") == [
        "✅ **[acme-web production deployment succeeded](https://vercel.com/acme/acme-web/9Zx4cVb6)**\n\n"
        "**URL:** [https://acme-web-9zx4cvb6-acme.vercel.app](https://acme-web-9zx4cvb6-acme.vercel.app)",
    ]


def test_preview_deployment_error_has_no_live_url():
    assert render_fixture("vercel", "deployment.error__preview.json") == [
        "🔴 **[acme-web preview deployment failed](https://vercel.com/acme/acme-web/3Kd8pLw2)**\n\n" + PREVIEW_COMMIT,
    ]


def test_preview_deployment_canceled():
    assert render_fixture("vercel", "deployment.canceled__preview.json") == [
        "🟠 **[acme-web preview deployment was canceled](https://vercel.com/acme/acme-web/5Rt1nBv4)**\n\n"
        + PREVIEW_COMMIT,
    ]


def test_deployment_promoted():
    assert render_fixture("vercel", "deployment.promoted__production.json") == [
        "✅ **[acme-web production deployment was promoted](https://vercel.com/acme/acme-web/7Hq2mXc9)**\n\n"
        + MAIN_COMMIT + "\n" + LIVE,
    ]


def test_severity_and_branch_feed_routing():
    source = SOURCES["vercel"]
    incoming = receive_fixture("vercel", "deployment.error__preview.json")
    assert incoming.branch == "new-header"
    [message] = source.format(incoming.event, incoming.payload)
    assert (message.severity, message.branch, message.repo) == ("error", "new-header", "acme-web")


def test_dedup_on_the_event_id():
    source = SOURCES["vercel"]
    incoming = receive_fixture("vercel", "deployment.created__production.json")
    key, _ = source.delivery_key(incoming.event, incoming.payload, Headers({}), b"")
    assert key == "id:evt_Created0001"


def test_unknown_event_is_not_supported():
    body = b'{"type": "project.created", "id": "evt_1", "payload": {"project": {"id": "prj_1"}}}'
    with pytest.raises(Ignored, match="not supported"):
        SOURCES["vercel"].receive(body, "application/json", Headers({}))


@pytest.mark.parametrize("body", [
    b'{"state": "READY"}',
    b'{"type": "deployment.succeeded", "payload": {"project": {"id": "prj_1"}}}',
])
def test_payload_not_from_vercel_is_rejected(body):
    with pytest.raises(PayloadError):
        SOURCES["vercel"].receive(body, "application/json", Headers({}))
