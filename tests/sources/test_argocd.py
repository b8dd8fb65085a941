import json
from pathlib import Path

import pytest

from bot.sources import SOURCES
from bot.sources.base import Ignored, PayloadError
from tests.formatting import fixture_bytes, render_fixture

ARGO = SOURCES["argocd"]
APP = "[checkout {}](https://argocd.acme.example.test/applications/argocd/checkout)"
COMMIT = "**Commit:** [8f14e45](https://github.com/acme/shop-deploy/commit/8f14e45fceea167a5a36dedd4bea2543c2a1b7e9)\n"
WHERE = "**Project:** shop\n**Destination:** https://kubernetes.default.svc / shop-prod\n"


def test_deployed_links_the_app_and_the_commit_and_names_who_synced():
    assert render_fixture("argocd", "deployed__healthy.json") == [
        f"✅ **{APP.format('deployed')}**\n\n{COMMIT}**By:** maria.k\n{WHERE}**Sync:** Synced\n**Health:** Healthy",
    ]


def test_sync_succeeded_while_still_progressing():
    assert render_fixture("argocd", "sync-succeeded__progressing.json") == [
        f"✅ **{APP.format('synced')}**\n\n{COMMIT}{WHERE}**Sync:** Synced\n**Health:** Progressing",
    ]


def test_sync_running():
    assert render_fixture("argocd", "sync-running__manual.json") == [
        f"🔵 **{APP.format('is syncing')}**\n\n{COMMIT}**By:** maria.k\n{WHERE}**Sync:** OutOfSync\n"
        "**Health:** Healthy",
    ]


def test_sync_failed_quotes_the_operation_message():
    assert render_fixture("argocd", "sync-failed__hook.json") == [
        f"🔴 **{APP.format('sync failed')}**\n\n{COMMIT}**By:** maria.k\n{WHERE}**Sync:** OutOfSync\n"
        "**Health:** Degraded\n\n"
        '> one or more synchronization tasks completed unsuccessfully, reason: Job.batch "db-migrate" failed: '
        "BackoffLimitExceeded",
    ]


def test_health_degraded_after_a_good_sync_does_not_quote_the_sync_message():
    assert render_fixture("argocd", "health-degraded__crashloop.json") == [
        f"🔴 **{APP.format('is degraded')}**\n\n{COMMIT}{WHERE}**Sync:** Synced\n**Health:** Degraded",
    ]


def test_sync_status_unknown_is_a_warning():
    assert render_fixture("argocd", "sync-status-unknown__repo_unreachable.json") == [
        f"🟠 **{APP.format('sync status is unknown')}**\n\n{COMMIT}{WHERE}**Sync:** Unknown\n**Health:** Healthy",
    ]


def test_state_that_answers_no_trigger_is_not_supported():
    payload = json.loads(fixture_bytes("argocd", "deployed__healthy.json"))
    payload.update(operationPhase="", syncStatus="Synced", healthStatus="Healthy")
    with pytest.raises(Ignored, match="event other is not supported"):
        ARGO.receive(json.dumps(payload).encode(), "application/json", {})


def test_multi_source_app_without_repo_url_shows_the_revision_unlinked():
    payload = json.loads(fixture_bytes("argocd", "deployed__healthy.json"))
    payload["repoURL"] = ""
    incoming = ARGO.receive(json.dumps(payload).encode(), "application/json", {})
    [message] = ARGO.format(incoming.event, incoming.payload)
    assert "**Commit:** `8f14e45`" in message.body[0]


def test_payload_from_another_sender_is_rejected():
    with pytest.raises(PayloadError):
        ARGO.receive(b'{"application": "checkout", "status": "Synced"}', "application/json", {})


def test_subscribed_filter_drops_other_events():
    with pytest.raises(Ignored, match="filtered"):
        ARGO.receive(fixture_bytes("argocd", "deployed__healthy.json"), "application/json", {},
                     screen=lambda event: "filtered" if event != "sync-failed" else None)


def _template_lines(text: str) -> list[str]:
    """The recommended body's lines, without indentation (the README indents it less)."""
    start = text.index('"app": {{toJson')
    return [line.strip() for line in text[start:text.index("}\n", start)].splitlines()]


def test_readme_recommends_the_template_the_module_documents():
    from bot.sources import argocd

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert len(_template_lines(argocd.__doc__)) == 12
    assert _template_lines(readme) == _template_lines(argocd.__doc__)
