import hashlib

import pytest

from bot.sources import SOURCES
from bot.sources.base import Ignored, PayloadError
from tests.formatting import Headers, fixture_bytes, receive_fixture, render_fixture

STOREFRONT = "0b6f4d2a-93c1-4e58-a7d0-6c1e2f3a4b5c"


def test_new_issues_fire_worst_first_with_fix_versions():
    assert render_fixture("snyk", "project_snapshot__new_issues.json") == [
        "🚨 **[acme/storefront:package.json: 2 new issues](https://app.snyk.io/org/acme/project/"
        "0b6f4d2a-93c1-4e58-a7d0-6c1e2f3a4b5c)**\n\n"
        "**Organization:** Acme\n"
        "**Project:** github / npm\n"
        "**Branch:** `main`\n"
        "**Open issues:** 1 critical, 1 high, 2 medium, 3 low\n\n"
        "- **Critical** [Remote Code Execution (RCE)](https://security.snyk.io/vuln/SNYK-JS-EXAMPLETEMPLATE-1000002)"
        " in `example-template@4.0.0, 4.0.2`\n"
        "- **High** [Prototype Pollution](https://security.snyk.io/vuln/SNYK-JS-EXAMPLEPARSER-1000001)"
        " in `example-parser@2.3.1` (fixed in `2.3.4`)",
    ]


def test_removed_issues_leaving_the_project_clean_resolve_it():
    assert render_fixture("snyk", "project_snapshot__all_fixed.json") == [
        "✅ **[acme/billing-api:pom.xml: 1 issue no longer found](https://app.snyk.io/org/acme/project/"
        "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d)**\n\n"
        "**Organization:** Acme\n"
        "**Project:** gitlab / maven\n"
        "**Open issues:** none\n\n"
        "- **Medium** [XML External Entity (XXE) Injection](https://security.snyk.io/vuln/"
        "SNYK-JAVA-COMEXAMPLE-2000001) in `com.example:xml-kit@1.9.0`",
    ]


def test_new_and_removed_issues_are_two_messages():
    assert render_fixture("snyk", "project_snapshot__new_and_fixed.json") == [
        "🟠 **[registry.example.com/acme/worker:1.42: 1 new issue](https://app.snyk.io/org/acme/project/"
        "1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9)**\n\n"
        "**Organization:** Acme\n"
        "**Project:** cli / deb\n"
        "**Open issues:** 1 medium, 12 low\n\n"
        "- **Medium** [Out-of-bounds Read](https://security.snyk.io/vuln/SNYK-DEBIAN12-EXAMPLELIB-3000001)"
        " in `examplelib/libexample1@1.2.3-4`",
        "✅ **[registry.example.com/acme/worker:1.42: 1 issue no longer found](https://app.snyk.io/org/acme/project/"
        "1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9)**\n\n"
        "**Organization:** Acme\n"
        "**Project:** cli / deb\n"
        "**Open issues:** 1 medium, 12 low\n\n"
        "- **High** [Improper Certificate Validation](https://security.snyk.io/vuln/SNYK-DEBIAN12-EXAMPLESSL-3000002)"
        " in `examplessl/libexamplessl3@3.0.11-1`",
    ]


def _messages(fixture):
    incoming = receive_fixture("snyk", fixture)
    return SOURCES["snyk"].format(incoming.event, incoming.payload)


def test_alert_identity_is_the_project_and_a_partial_fix_does_not_resolve_it():
    [fired] = _messages("project_snapshot__new_issues.json")
    assert (fired.severity, fired.status, fired.alert.key, fired.alert.status) == (
        "critical", "firing", STOREFRONT, "firing")
    ids = "SNYK-JS-EXAMPLEPARSER-1000001|SNYK-JS-EXAMPLETEMPLATE-1000002"
    assert fired.alert.revision == hashlib.sha256(ids.encode()).hexdigest()[:16]
    [resolved] = _messages("project_snapshot__all_fixed.json")
    assert (resolved.severity, resolved.status, resolved.alert.status) == ("success", "resolved", "resolved")
    assert resolved.alert.key == "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
    new, fixed = _messages("project_snapshot__new_and_fixed.json")
    assert (new.severity, new.status, new.alert.status) == ("warning", "firing", "firing")
    assert (fixed.severity, fixed.status, fixed.alert) == ("success", "resolved", None)


def test_branch_is_the_projects_branch():
    assert receive_fixture("snyk", "project_snapshot__new_issues.json").branch == "main"
    assert receive_fixture("snyk", "project_snapshot__all_fixed.json").branch is None


def test_versioned_event_header_and_transport_id_dedup():
    source = SOURCES["snyk"]
    body = fixture_bytes("snyk", "project_snapshot__new_issues.json")
    headers = Headers({"X-Snyk-Event": "project_snapshot/v0",
                       "X-Snyk-Transport-ID": "998fe884-18a0-45db-8ae0-e379eea3bc0a"})
    incoming = source.receive(body, "application/json", headers)
    assert incoming.event == "project_snapshot"
    assert source.delivery_key(incoming.event, incoming.payload, headers, body) == (
        "id:998fe884-18a0-45db-8ae0-e379eea3bc0a", source.dedup_seconds_sender_id)


def test_ping_and_unchanged_snapshots_post_nothing():
    with pytest.raises(Ignored, match="ping"):
        receive_fixture("snyk", "ping__created.json", {"X-Snyk-Event": "ping/v0"})
    with pytest.raises(Ignored, match="no new or removed issues"):
        receive_fixture("snyk", "project_snapshot__unchanged.json")


def test_unknown_event_is_not_supported():
    with pytest.raises(Ignored, match="not supported"):
        SOURCES["snyk"].receive(b"{}", "application/json", Headers({"X-Snyk-Event": "project_imported/v0"}))


@pytest.mark.parametrize("body, event", [
    (b'{"project": {"id": "p1"}}', "project_snapshot/v0"),
    (b'{"project": {"name": "x"}, "newIssues": [], "removedIssues": []}', "project_snapshot/v0"),
    (b'{"project": {"id": "p1"}, "newIssues": [{"title": "x"}], "removedIssues": []}', "project_snapshot/v0"),
    (fixture_bytes("snyk", "project_snapshot__new_issues.json"), None),
])
def test_payload_not_from_snyk_is_rejected(body, event):
    headers = Headers({"X-Snyk-Event": event} if event else {})
    with pytest.raises(PayloadError):
        SOURCES["snyk"].receive(body, "application/json", headers)
