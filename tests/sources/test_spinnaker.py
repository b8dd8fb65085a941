import json

import pytest

from bot.sources import SOURCES
from bot.sources.base import Ignored, PayloadError
from tests.formatting import fixture_bytes, receive_fixture, render_fixture

SPINNAKER = SOURCES["spinnaker"]
GIT = (
    "**Branch:** `main`\n"
    "**Commit:** [3c59dc0](https://github.com/acme/checkout/commit/3c59dc048e8850243be8079a5c74d079a1b2c3d4)\n"
    "**By:** maria.k@acme.example.test\n"
    "**Trigger:** git\n"
)
EXECUTION = "**Execution:** `01JDX4M8Q2W7Z3K5N9R1T6V0YB`"
ERRORS = (
    "- Deployment checkout-web exceeded its progress deadline\n"
    "- Pod checkout-web-7d9f8c6b5-x2lqp: ImagePullBackOff"
)


def test_pipeline_starting_from_a_git_push():
    assert render_fixture("spinnaker", "orca_pipeline_starting__git_push.json") == [
        f"🔵 **checkout Deploy to production started**\n\n{GIT}{EXECUTION}",
    ]


def test_wrapped_event_reads_the_same():
    assert render_fixture("spinnaker", "orca_pipeline_starting__wrapped.json") == render_fixture(
        "spinnaker", "orca_pipeline_starting__git_push.json")


def test_pipeline_complete():
    assert render_fixture("spinnaker", "orca_pipeline_complete__succeeded.json") == [
        f"✅ **checkout Deploy to production succeeded**\n\n{GIT}{EXECUTION}",
    ]


def test_canceled_pipeline_from_a_jenkins_build_links_the_build():
    assert render_fixture("spinnaker", "orca_pipeline_complete__canceled.json") == [
        "🟠 **[checkout Deploy to staging was canceled](https://jenkins.acme.example.test/job/checkout-build/412/)**\n\n"
        f"**Trigger:** jenkins\n{EXECUTION}",
    ]


def test_pipeline_failed_lists_failed_stages_and_their_errors():
    assert render_fixture("spinnaker", "orca_pipeline_failed__deploy_timeout.json") == [
        f"🔴 **checkout Deploy to production failed**\n\n{GIT}**Failed stages:** `Deploy (prod-k8s)`\n{EXECUTION}\n\n"
        f"{ERRORS}",
    ]


def test_stage_starting():
    assert render_fixture("spinnaker", "orca_stage_starting__deploy.json") == [
        f"🔵 **checkout Deploy to production stage Deploy (prod-k8s) started**\n\n{GIT}{EXECUTION}",
    ]


def test_stage_complete():
    assert render_fixture("spinnaker", "orca_stage_complete__bake.json") == [
        f"✅ **checkout Deploy to production stage Bake manifests succeeded**\n\n{GIT}{EXECUTION}",
    ]


def test_stage_failed():
    assert render_fixture("spinnaker", "orca_stage_failed__deploy.json") == [
        f"🔴 **checkout Deploy to production stage Deploy (prod-k8s) failed**\n\n{GIT}"
        f"**Failed stages:** `Deploy (prod-k8s)`\n{EXECUTION}\n\n{ERRORS}",
    ]


def test_task_events_are_ignored_with_a_reason():
    with pytest.raises(Ignored, match="reported by its stages"):
        receive_fixture("spinnaker", "orca_task_complete__bake_task.json")


def test_routing_facts_and_delivery_id():
    incoming = receive_fixture("spinnaker", "orca_pipeline_failed__deploy_timeout.json")
    [message] = SPINNAKER.format(incoming.event, incoming.payload)
    assert (incoming.branch, message.severity, message.repo) == ("main", "error", "acme/checkout")
    key, _ = SPINNAKER.delivery_key(incoming.event, incoming.payload, {}, b"")
    assert key == "id:d38e4f22-9c5a-4e7b-bf3a-7a4b2c6d9e83"


def test_other_echo_event_is_not_supported():
    payload = json.loads(fixture_bytes("spinnaker", "orca_pipeline_starting__git_push.json"))
    payload["details"]["type"] = "igor:build:complete"
    with pytest.raises(Ignored, match="igor:build:complete is not supported"):
        SPINNAKER.receive(json.dumps(payload).encode(), "application/json", {})


def test_pipeline_event_without_its_execution_is_rejected():
    payload = json.loads(fixture_bytes("spinnaker", "orca_pipeline_starting__git_push.json"))
    del payload["content"]["execution"]
    with pytest.raises(PayloadError):
        SPINNAKER.receive(json.dumps(payload).encode(), "application/json", {})


def test_payload_from_another_sender_is_rejected():
    with pytest.raises(PayloadError):
        SPINNAKER.receive(b'{"eventName": "x", "payload": "not an event"}', "application/json", {})
