import json

import pytest

from bot.sources import SOURCES
from bot.sources.base import Ignored, PayloadError
from tests.formatting import Headers, render_fixture

SOURCE = SOURCES["harbor"]
DIGEST = "sha256:8c2e6a0d4f8b2c6e0a4d8f2b6c0e4a8d2f6b0c4e8a2d6f0b4c8e2a6d0f4b8c21"
DIGEST_2 = "sha256:5d1b9f3a7c2e6b0d4f8a2c6e0b4d8f2a6c0e4b8d2f6a0c4e8b2d6f0a4c8e2b97"


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


def test_deleted_artifact_lists_each_tag():
    assert render_fixture("harbor", "DELETE_ARTIFACT__two_tags.json") == [
        "🔵 **shop/checkout-web: artifact deleted**\n\n"
        "**jdoe** deleted `shop/checkout-web:1.9.0`, `shop/checkout-web:1.9.0-rc1`.",
    ]


def test_failed_scan_is_an_error():
    assert render_fixture("harbor", "SCANNING_FAILED__scanner_error.json") == [
        "🔴 **shop/checkout-web: scan failed**\n\nThe vulnerability scan of `shop/checkout-web:1.15.0` failed.",
    ]


def test_stopped_scan_of_an_untagged_artifact_names_its_digest():
    assert render_fixture("harbor", "SCANNING_STOPPED__by_admin.json") == [
        f"🟠 **shop/checkout-web: scan was stopped**\n\nThe vulnerability scan of `shop/checkout-web@{DIGEST_2}` "
        "was stopped.",
    ]


def test_quota_warning():
    assert render_fixture("harbor", "QUOTA_WARNING__storage.json") == [
        "🟠 **shop: project quota nearly used up**\n\n"
        "**Artifact:** `shop/checkout-web:1.15.1`\n"
        "**Pushed by:** robot$shop+ci\n\n"
        "quota usage reach 86%: resource storage used 8.6 GiB of 10.0 GiB",
    ]


def test_tag_retention_says_which_artifacts_it_deleted():
    assert render_fixture("harbor", "TAG_RETENTION__deleted_old_releases.json") == [
        "✅ **shop: tag retention succeeded**\n\n"
        "Kept 11 of 14 artifacts.\n\n"
        "Deleted:\n\n"
        "- `checkout-web:1.6.0`\n"
        "- `checkout-web:1.6.1`\n"
        "- `checkout-web:1.7.0`",
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
