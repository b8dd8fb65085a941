import json

import pytest

from bot.sources import SOURCES
from bot.sources.base import Ignored, PayloadError
from tests.formatting import Headers, receive_fixture, render_fixture

DASH = "https://dash.cloudflare.com/9035f53656c247e895c5a6939ae8a0e0/pages/view/acme-docs"


def test_production_deployment_succeeded_links_the_live_url():
    assert render_fixture("cloudflare-pages", "pages_event_alert__production_success.json") == [
        f"✅ **[acme-docs production deployment succeeded]({DASH}/4f9c2a1e-7b3d-4e8a-9c61-2d5f8e0b7a34)**\n\n"
        "**Branch:** `main`\n"
        "**Commit:** `5e1f0c9` Document the new rate limits\n"
        "**URL:** [https://4f9c2a1e.acme-docs.pages.dev](https://4f9c2a1e.acme-docs.pages.dev)\n\n"
        "> Deployment of acme-docs to production succeeded.",
    ]


def test_preview_deployment_failed():
    assert render_fixture("cloudflare-pages", "pages_event_alert__preview_failed.json") == [
        f"🔴 **[acme-docs preview deployment failed]({DASH}/a81d3e57-2c94-4b06-8f1a-6e3d9c2b5f70)**\n\n"
        "**Branch:** `search-box`\n"
        "**Commit:** `c4d5e6f` Add a search box\n\n"
        "> Deployment of acme-docs to preview failed.",
    ]


def test_without_deployment_data_the_outcome_comes_from_the_text():
    assert render_fixture("cloudflare-pages", "pages_event_alert__text_only_started.json") == [
        "🔵 **Cloudflare Pages deployment (Docs deployments) started**\n\n"
        "> A deployment of acme-docs has started.",
    ]


@pytest.mark.parametrize(("text", "expected"), [
    ("Deployment of docs failed after success of the build step.", ("error", "failed")),
    ("Your deployment was successful.", ("success", "succeeded")),
    ("Something else happened to docs.", ("info", "was updated")),
])
def test_outcome_words(text, expected):
    body = json.dumps({"text": text, "alert_type": "pages_event_alert", "data": {}}).encode()
    source = SOURCES["cloudflare-pages"]
    incoming = source.receive(body, "application/json", Headers({}))
    [message] = source.format(incoming.event, incoming.payload)
    assert message.severity == expected[0]
    assert message.title.endswith(expected[1])


def test_severity_and_branch_feed_routing():
    source = SOURCES["cloudflare-pages"]
    incoming = receive_fixture("cloudflare-pages", "pages_event_alert__preview_failed.json")
    assert incoming.branch == "search-box"
    [message] = source.format(incoming.event, incoming.payload)
    assert (message.severity, message.branch, message.repo) == ("error", "search-box", "acme-docs")


def test_dedup_on_correlation_id_and_time():
    source = SOURCES["cloudflare-pages"]
    incoming = receive_fixture("cloudflare-pages", "pages_event_alert__production_success.json")
    key, _ = source.delivery_key(incoming.event, incoming.payload, Headers({}), b"")
    assert key == "id:0b6f1a3c9d2e4f5a8b7c6d5e4f3a2b1c:1795946402"


def test_save_and_test_message_is_acknowledged_not_posted():
    with pytest.raises(Ignored, match="test message"):
        receive_fixture("cloudflare-pages", "test__save_and_test.json")


def test_other_cloudflare_alerts_are_not_supported():
    body = (b'{"text": "Origin health changed", "alert_type": "health_check_status_notification", "data": {}, '
            b'"ts": 1136214245, "alert_correlation_id": "000eaa907ed24e78946d3a93adb2ae57"}')
    with pytest.raises(Ignored, match="not supported"):
        SOURCES["cloudflare-pages"].receive(body, "application/json", Headers({}))


@pytest.mark.parametrize("body", [
    b'{"message": "hello"}',
    b'{"text": "hello", "title": "not cloudflare"}',
    b'{"text": 5, "alert_type": "pages_event_alert"}',
])
def test_payload_not_from_cloudflare_is_rejected(body):
    with pytest.raises(PayloadError):
        SOURCES["cloudflare-pages"].receive(body, "application/json", Headers({}))
