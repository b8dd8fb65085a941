import json

import pytest

from bot.sources import SOURCES
from bot.sources.base import Ignored, PayloadError
from tests.formatting import Headers, render_fixture

SOURCE = SOURCES["harbor"]
DIGEST = "sha256:8c2e6a0d4f8b2c6e0a4d8f2b6c0e4a8d2f6b0c4e8a2d6f0b4c8e2a6d0f4b8c21"


def receive(payload: dict):
    return SOURCE.receive(json.dumps(payload).encode(), "application/json", Headers())


def test_push():
    assert render_fixture("harbor", "PUSH_ARTIFACT__tag.json") == [
        "🔵 **shop/checkout-web: artifact pushed**\n\n**robot$shop+ci** pushed `shop/checkout-web:1.14.0`."
    ]


def test_scan_with_a_critical_finding_is_critical():
    assert render_fixture("harbor", "SCANNING_COMPLETED__critical.json") == [
        "🚨 **shop/checkout-web: vulnerabilities found**\n\n"
        "Vulnerability scan by Trivy finished:\n\n"
        "`shop/checkout-web:1.14.0`: Critical **1**, High **3**, Low **7** (9 fixable)"
    ]


def test_clean_scan_of_an_untagged_artifact():
    assert render_fixture("harbor", "SCANNING_COMPLETED__clean_untagged.json") == [
        "✅ **shop/checkout-web: no vulnerabilities**\n\n"
        "Vulnerability scan by Trivy finished:\n\n"
        f"`shop/checkout-web@{DIGEST}`: no vulnerabilities found."
    ]


def test_quota_exceeded():
    assert render_fixture("harbor", "QUOTA_EXCEED__push.json") == [
        "🔴 **shop: project quota exceeded**\n\n"
        "**Artifact:** `shop/checkout-web:nightly`\n"
        "**Pushed by:** jdoe\n\n"
        "adding 312.4 MiB of storage resource, which when updated to current usage of 9.8 GiB will exceed "
        "the configured upper limit of 10.0 GiB."
    ]


def test_failed_replication():
    assert render_fixture("harbor", "REPLICATION__failed.json") == [
        "🔴 **Replication failed: Mirror releases to the DR site**\n\n"
        "From `https://registry.example.com/shop` to `dr-registry/shop`.\n\n"
        "- `checkout-web [1 item(s) in total]`: unauthorized: authentication required"
    ]


def test_pulls_are_ignored():
    with pytest.raises(Ignored, match="pulls are not posted"):
        receive({"type": "PULL_ARTIFACT", "operator": "robot$shop+deploy", "event_data": {"resources": []}})


def test_unsupported_event():
    with pytest.raises(Ignored, match="not supported"):
        receive({"type": "UPLOAD_CHART", "operator": "admin", "event_data": {}})


def test_payload_not_from_harbor_is_rejected():
    with pytest.raises(PayloadError) as err:
        receive({"eventType": "git.push", "resource": {}})
    assert set(err.value.details) >= {"type", "event_data"}
