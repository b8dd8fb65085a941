import json

import pytest

from bot.sources import SOURCES
from bot.sources.base import Ignored, PayloadError
from tests.formatting import fixture_bytes, receive_fixture, render_fixture

FLUX = SOURCES["flux"]


def test_kustomization_reconciled_shows_branch_commit_and_applied_objects():
    assert render_fixture("flux", "info__kustomization_applied.json") == [
        "✅ **Kustomization flux-system/apps: reconciliation succeeded**\n\n"
        "**Branch:** `main`\n"
        "**Commit:** `9c1185a`\n"
        "**Summary:** cluster: prod-eu-1\n"
        "**Controller:** kustomize-controller\n\n"
        "> Deployment/shop/checkout configured\n"
        "> Service/shop/checkout unchanged\n"
        "> HorizontalPodAutoscaler/shop/checkout created",
    ]


def test_helm_upgrade_failure_shows_the_chart_version_and_error():
    assert render_fixture("flux", "error__helmrelease_upgrade_failed.json") == [
        "🔴 **HelmRelease shop/payments-api: upgrade failed**\n\n"
        "**Revision:** `2.4.1`\n"
        "**Summary:** cluster: prod-eu-1\n"
        "**Controller:** helm-controller\n\n"
        "> Helm upgrade failed for release shop/payments-api with chart payments-api@2.4.1: context deadline exceeded",
    ]


def test_event_routing_facts_branch_kind_and_namespace():
    incoming = receive_fixture("flux", "info__kustomization_applied.json")
    [message] = FLUX.format(incoming.event, incoming.payload)
    assert incoming.event == "info" and incoming.branch == "main"
    assert message.routing_facts() == {
        "severity": "success", "status": None, "branch": "main", "repo": "apps",
        "labels": {"kind": "Kustomization", "namespace": "flux-system"},
    }


@pytest.mark.parametrize("revision, branch", [
    ("main/9c1185a5c5e9fc54612808977ee8f548b2258d31", "main"),  # Flux < 2.0
    ("refs/heads/dev@sha1:9c1185a5c5e9fc54612808977ee8f548b2258d31", "dev"),
    ("latest@sha256:3f9a0c1d2e", None),  # an OCI artifact is no git branch
])
def test_revision_spellings(revision, branch):
    payload = json.loads(fixture_bytes("flux", "info__kustomization_applied.json"))
    payload["metadata"]["revision"] = revision
    assert FLUX.receive(json.dumps(payload).encode(), "application/json", {}).branch == branch


def test_trace_severity_is_not_supported():
    payload = json.loads(fixture_bytes("flux", "info__kustomization_applied.json"))
    payload["severity"] = "trace"
    with pytest.raises(Ignored, match="event trace is not supported"):
        FLUX.receive(json.dumps(payload).encode(), "application/json", {})


def test_payload_from_another_sender_is_rejected():
    with pytest.raises(PayloadError) as err:
        FLUX.receive(b'{"severity": "info", "message": "hello"}', "application/json", {})
    assert "involvedObject" in err.value.details
