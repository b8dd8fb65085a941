import json

import pytest

from bot.sources import SOURCES
from bot.sources.base import Ignored, PayloadError
from tests.formatting import fixture_bytes, render_fixture

OCTOPUS = SOURCES["octopus"]
TASK = "https://octopus.acme.example.test/app#/Spaces-1/tasks/ServerTasks-20931"


def test_deployment_succeeded_names_project_release_environment_and_who():
    assert render_fixture("octopus", "DeploymentSucceeded__production.json") == [
        f"✅ **[Acme Web 2.7.0 deployed to Production]({TASK})**\n\n"
        "**By:** maria.k\n\n"
        "Deploy to Production succeeded for Acme Web release 2.7.0 to Production",
    ]


def test_tenanted_deployment_failed_by_the_system_names_the_tenant_not_the_service_account():
    assert render_fixture("octopus", "DeploymentFailed__tenant.json") == [
        f"🔴 **[Acme Web 2.7.1 failed to deploy to Production]({TASK})**\n\n"
        "**Tenant:** Globex\n\n"
        "Deploy to Production failed for Acme Web release 2.7.1 to Production for Globex",
    ]


def test_deployment_started():
    assert render_fixture("octopus", "DeploymentStarted__staging.json") == [
        f"🔵 **[Acme Web 2.7.0 is deploying to Staging]({TASK})**\n\n"
        "**By:** maria.k\n\n"
        "Deploy to Staging started for Acme Web release 2.7.0 to Staging",
    ]


def test_deployment_queued():
    assert render_fixture("octopus", "DeploymentQueued__scheduled.json") == [
        f"🔵 **[Acme Web 2.7.0 is queued for Staging]({TASK})**\n\n"
        "**By:** maria.k\n\n"
        "Deploy to Staging queued for Acme Web release 2.7.0 to Staging",
    ]


def test_manual_intervention_is_a_warning():
    assert render_fixture("octopus", "ManualInterventionInterruptionRaised__approval.json") == [
        f"🟠 **[Acme Web 2.7.0 awaits manual intervention in Production]({TASK})**\n\n"
        "**By:** maria.k\n\n"
        'Manual intervention "Approve production release" requested for Acme Web release 2.7.0 to Production',
    ]


def test_guided_failure_is_an_error():
    assert render_fixture("octopus", "GuidedFailureInterruptionRaised__step_failed.json") == [
        f"🔴 **[Acme Web 2.7.1 awaits a guided failure decision in Production]({TASK})**\n\n"
        "**By:** maria.k\n\n"
        'Guided failure raised for step "Run database migrations" in Acme Web release 2.7.1 to Production',
    ]


def test_unhealthy_target_fires_and_healthy_resolves():
    assert render_fixture("octopus", "MachineUnhealthy__web_01.json") == [
        "🟠 **[web-01 is unhealthy](https://octopus.acme.example.test/app#/Spaces-1/tasks/ServerTasks-20940)**\n\n"
        "**At:** 2026-11-28T21:30:12.118+00:00\n\n"
        "Machine web-01 is now unhealthy: the Tentacle did not respond within 60 seconds",
    ]
    assert render_fixture("octopus", "MachineHealthy__web_01.json") == [
        "✅ **[web-01 is healthy](https://octopus.acme.example.test/app#/Spaces-1/tasks/ServerTasks-20944)**\n\n"
        "**At:** 2026-11-28T21:30:12.118+00:00\n\n"
        "Machine web-01 is now healthy",
    ]


def _event(**changes) -> dict:
    payload = json.loads(fixture_bytes("octopus", "DeploymentSucceeded__production.json"))
    payload["Payload"]["Event"].update(changes)
    return payload


def test_references_outside_the_message_are_ignored_and_without_a_task_the_audit_is_linked():
    payload = _event(RelatedDocumentIds=["Projects-12"],
                     MessageReferences=[{"ReferencedDocumentId": "Projects-12", "StartIndex": 500, "Length": 8}])
    incoming = OCTOPUS.receive(json.dumps(payload).encode(), "application/json", {})
    [message] = OCTOPUS.format(incoming.event, incoming.payload)
    assert message.title == "Deployment deployed to an environment"
    assert message.url == payload["Payload"]["ServerAuditUri"]


def test_redelivery_is_recognised_by_the_event_id():
    payload = _event()
    key, _ = OCTOPUS.delivery_key("DeploymentSucceeded", payload, {}, b"")
    assert key == "id:Events-90412"


def test_unknown_category_is_not_supported():
    with pytest.raises(Ignored, match="event DocumentModified is not supported"):
        OCTOPUS.receive(json.dumps(_event(Category="DocumentModified")).encode(), "application/json", {})


def test_payload_from_another_sender_is_rejected():
    with pytest.raises(PayloadError):
        OCTOPUS.receive(b'{"Event": {"Category": "DeploymentFailed"}}', "application/json", {})
