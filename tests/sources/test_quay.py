import json

import pytest

from bot.sources import SOURCES
from bot.sources.base import Ignored, PayloadError
from bot.sources.quay import TEMPLATE
from tests.formatting import Headers, fixture_bytes, receive_fixture, render_fixture

BUILD_PAGE = "https://quay.io/repository/acme/storefront/build/296ec063-5f86-4706-a469-f0a400bf9df2"
COMMIT = ("**Branch:** `main`\n"
          "**Commit:** [b7f7d2b](https://github.com/acme/storefront/commit/b7f7d2b948aacbe844ee465122a85a9368b2b735)"
          " Bump checkout SDK to 4.2\n"
          "**By:** dana\n"
          "**Image tags:** `main`, `latest`\n"
          "**Trigger:** github")


def test_repo_push_lists_tags_and_how_to_pull():
    assert render_fixture("quay", "repo_push__two_tags.json") == [
        "🔵 **[Image pushed to acme/storefront](https://quay.io/repository/acme/storefront)**\n\n"
        "**Tags:** `v1.4.2`, `latest`\n"
        "**Pull:** `docker pull quay.io/acme/storefront:v1.4.2`",
    ]


@pytest.mark.parametrize("fixture, head", [
    ("build_queued__github_push.json", "🔵 **[acme/storefront build is queued]"),
    ("build_start__github_push.json", "🔵 **[acme/storefront build started]"),
    ("build_success__github_push.json", "✅ **[acme/storefront build succeeded]"),
    ("build_cancelled__github_push.json", "🟠 **[acme/storefront build was cancelled]"),
])
def test_build_events_name_branch_commit_author_and_tags(fixture, head):
    assert render_fixture("quay", fixture) == [f"{head}({BUILD_PAGE})**\n\n{COMMIT}"]


def test_build_failure_quotes_the_error():
    assert render_fixture("quay", "build_failure__dockerfile_error.json") == [
        f"🔴 **[acme/storefront build failed]({BUILD_PAGE})**\n\n{COMMIT}\n\n"
        "> Could not build image: COPY failed: file not found in build context: package-lock.json",
    ]


def test_manual_build_without_trigger():
    assert render_fixture("quay", "build_success__manual_upload.json") == [
        "✅ **[acme/storefront build succeeded](https://quay.io/repository/acme/storefront/build/"
        "5a1e0c9d-3b2f-4e8a-9c7d-1f0e2d3c4b5a)**\n\n"
        "**Image tags:** `latest`\n"
        "**Trigger:** manual",
    ]


def test_one_vulnerability_fires_with_its_priority():
    assert render_fixture("quay", "vulnerability_found__one.json") == [
        "🔴 **[acme/storefront: High vulnerability found](https://quay.io/repository/acme/storefront)**\n\n"
        "**Tags:** `latest`, `v1.4.2`\n\n"
        "- [CVE-2026-10001](https://security-tracker.debian.org/tracker/CVE-2026-10001) (High) — A heap overflow in "
        "libexample's parser allows remote code execution.",
    ]


def test_several_vulnerabilities_worst_first():
    assert render_fixture("quay", "vulnerability_found__several.json") == [
        "🚨 **[acme/storefront: 2 vulnerabilities found (worst: Critical)](https://quay.io/repository/acme/storefront)**"
        "\n\n"
        "**Tags:** `latest`\n\n"
        "- [CVE-2026-10003](https://access.redhat.com/security/cve/CVE-2026-10003) (Critical) — Remote code execution "
        "in openssl-example.\n"
        "- [CVE-2026-10002](https://access.redhat.com/security/cve/CVE-2026-10002) (Medium) — Out-of-bounds read in "
        "zlib-example.",
    ]


def _one(fixture):
    incoming = receive_fixture("quay", fixture)
    [message] = SOURCES["quay"].format(incoming.event, incoming.payload)
    return message


def test_vulnerabilities_are_a_firing_alert_of_the_repository():
    one, several = _one("vulnerability_found__one.json"), _one("vulnerability_found__several.json")
    assert (one.severity, one.status, one.alert.key) == ("error", "firing", "acme/storefront")
    assert one.alert.status == "firing"
    assert (several.severity, several.alert.key) == ("critical", "acme/storefront")
    assert one.alert.revision != several.alert.revision


def test_builds_have_a_branch_and_a_dedup_key():
    source = SOURCES["quay"]
    incoming = receive_fixture("quay", "build_failure__dockerfile_error.json")
    assert incoming.branch == "main"
    assert _one("build_failure__dockerfile_error.json").severity == "error"
    body = fixture_bytes("quay", "build_failure__dockerfile_error.json")
    assert source.delivery_key(incoming.event, incoming.payload, Headers(), body) == (
        "id:296ec063-5f86-4706-a469-f0a400bf9df2:build_failure", source.dedup_seconds_sender_id)
    push = receive_fixture("quay", "repo_push__two_tags.json")
    assert push.branch is None
    assert source.delivery_key(push.event, push.payload, Headers(), b"{}")[0].startswith("sha256:")


def _apply_template(event: str, data: dict) -> bytes:
    """What Quay's JSONTemplate makes of the template: a string that is exactly ${name} becomes the
    value of `name` in the event data, null when absent."""
    template = json.loads(TEMPLATE.replace("<event>", event))
    return json.dumps({k: data.get(v[2:-1]) if v.startswith("${") else v for k, v in template.items()}).encode()


def test_recommended_template_filled_in_is_accepted():
    # The event data of a push as Quay's documentation shows it.
    data = {"name": "repository", "repository": "acme/tools", "namespace": "acme", "docker_url": "quay.io/acme/tools",
            "homepage": "https://quay.io/repository/acme/tools", "updated_tags": ["latest"]}
    body = _apply_template("repo_push", data)
    incoming = SOURCES["quay"].receive(body, "application/json", Headers())
    assert incoming.event == "repo_push"
    [message] = SOURCES["quay"].format(incoming.event, incoming.payload)
    assert message.title == "Image pushed to acme/tools"


def test_vulnerability_notification_without_a_vulnerability_is_ignored():
    body = _apply_template("vulnerability_found", {"repository": "acme/tools", "tags": ["latest"]})
    with pytest.raises(Ignored, match="names no vulnerability"):
        SOURCES["quay"].receive(body, "application/json", Headers())


def test_unknown_event_is_not_supported():
    body = _apply_template("repo_mirror_sync_failed", {"repository": "acme/tools", "message": "sync failed"})
    with pytest.raises(Ignored, match="not supported"):
        SOURCES["quay"].receive(body, "application/json", Headers())


@pytest.mark.parametrize("body", [
    # Quay's data without the template: no event name.
    b'{"repository": "acme/tools", "docker_url": "quay.io/acme/tools", "updated_tags": ["latest"]}',
    b'{"event": "repo_push", "updated_tags": ["latest"]}',
    b'{"event": "repo_push", "repository": "acme/tools", "updated_tags": null}',
    b'{"event": "build_start", "repository": "acme/tools", "build_id": null}',
    b'{"event": "vulnerability_found", "repository": "acme/tools", "vulnerability": {"priority": "High"}}',
])
def test_payload_not_from_the_quay_template_is_rejected(body):
    with pytest.raises(PayloadError):
        SOURCES["quay"].receive(body, "application/json", Headers())
