import pytest

from bot.sources import SOURCES
from bot.sources.base import Ignored, PayloadError
from tests.formatting import receive_fixture, render_fixture


def test_v3_triggered_incident_pages():
    assert render_fixture("pagerduty", "incident.triggered__v3.json") == [
        "🚨 **[Incident #2117 triggered: Checkout API 5xx rate above "
        "5%](https://acme.pagerduty.com/incidents/Q2KXB4C1ZT7M9A)**\n\n"
        "**Service:** [Checkout API](https://acme.pagerduty.com/services/PSV1234)\n"
        "**Assigned to:** [Riya Patel](https://acme.pagerduty.com/users/PUS5678)\n"
        "**Urgency:** high\n"
        "**Priority:** P1",
    ]


def test_v3_resolved_incident():
    assert render_fixture("pagerduty", "incident.resolved__v3.json") == [
        "✅ **[Incident #2117 resolved: Checkout API 5xx rate above "
        "5%](https://acme.pagerduty.com/incidents/Q2KXB4C1ZT7M9A)**\n\n"
        "**Service:** [Checkout API](https://acme.pagerduty.com/services/PSV1234)\n"
        "**By:** [Riya Patel](https://acme.pagerduty.com/users/PUS5678)",
    ]


def test_v2_acknowledged_incident():
    assert render_fixture("pagerduty", "incident.acknowledge__v2.json") == [
        "🟠 **[Incident #2117 acknowledged: Checkout API 5xx rate above "
        "5%](https://acme.pagerduty.com/incidents/Q2KXB4C1ZT7M9A)**\n\n"
        "**Service:** [Checkout API](https://acme.pagerduty.com/services/PSV1234)\n"
        "**Assigned to:** [Riya Patel](https://acme.pagerduty.com/users/PUS5678)\n"
        "**By:** [Riya Patel](https://acme.pagerduty.com/users/PUS5678)",
    ]


def test_v1_posts_one_message_per_incident():
    assert render_fixture("pagerduty", "incident.trigger__v1.json") == [
        "🚨 **[Incident #88 triggered: db-1 disk 95% "
        "full](https://acme.pagerduty.com/incidents/PINC001)**\n\n"
        "**Service:** [Databases](https://acme.pagerduty.com/services/PSV2222)\n"
        "**Assigned to:** [Omar Haddad](https://acme.pagerduty.com/users/PUS9999)",
        "🚨 **[Incident #89 triggered: db-2 disk 92% "
        "full](https://acme.pagerduty.com/incidents/PINC002)**\n\n"
        "**Service:** [Databases](https://acme.pagerduty.com/services/PSV2222)",
    ]


def test_v3_note_is_quoted():
    assert render_fixture("pagerduty", "incident.annotated__v3.json") == [
        "🔵 **[Incident #2117 note added: Checkout API 5xx rate above "
        "5%](https://acme.pagerduty.com/incidents/Q2KXB4C1ZT7M9A)**\n\n"
        "> Rolling back the 14:02 deploy.\n\n"
        "**By:** [Riya Patel](https://acme.pagerduty.com/users/PUS5678)"
    ]


def test_v3_acknowledged():
    assert render_fixture("pagerduty", "incident.acknowledged__v3.json") == [
        "🟠 **[Incident #2117 acknowledged: Checkout API 5xx rate above "
        "5%](https://acme.pagerduty.com/incidents/Q2KXB4C1ZT7M9A)**\n\n"
        "**Service:** [Checkout API](https://acme.pagerduty.com/services/PSV1234)\n"
        "**Assigned to:** [Riya Patel](https://acme.pagerduty.com/users/PUS5678)\n"
        "**By:** [Riya Patel](https://acme.pagerduty.com/users/PUS5678)\n"
        "**Priority:** P1",
    ]


def test_v3_unacknowledged_low_urgency_is_an_error():
    assert render_fixture("pagerduty", "incident.unacknowledged__ack_timeout.json") == [
        "🔴 **[Incident #2117 unacknowledged: Checkout API 5xx rate above "
        "5%](https://acme.pagerduty.com/incidents/Q2KXB4C1ZT7M9A)**\n\n"
        "**Service:** [Checkout API](https://acme.pagerduty.com/services/PSV1234)\n"
        "**Assigned to:** [Riya Patel](https://acme.pagerduty.com/users/PUS5678)\n"
        "**Urgency:** low",
    ]


def test_v3_reopened_pages_again():
    assert render_fixture("pagerduty", "incident.reopened__v3.json") == [
        "🚨 **[Incident #2117 reopened: Checkout API 5xx rate above "
        "5%](https://acme.pagerduty.com/incidents/Q2KXB4C1ZT7M9A)**\n\n"
        "**Service:** [Checkout API](https://acme.pagerduty.com/services/PSV1234)\n"
        "**Assigned to:** [Omar Haddad](https://acme.pagerduty.com/users/PUS9999)\n"
        "**By:** [Omar Haddad](https://acme.pagerduty.com/users/PUS9999)\n"
        "**Urgency:** high\n"
        "**Priority:** P1",
    ]


def test_v3_reassigned():
    assert render_fixture("pagerduty", "incident.reassigned__v3.json") == [
        "🔵 **[Incident #2117 reassigned: Checkout API 5xx rate above "
        "5%](https://acme.pagerduty.com/incidents/Q2KXB4C1ZT7M9A)**\n\n"
        "**Service:** [Checkout API](https://acme.pagerduty.com/services/PSV1234)\n"
        "**Assigned to:** [Omar Haddad](https://acme.pagerduty.com/users/PUS9999)\n"
        "**By:** [Riya Patel](https://acme.pagerduty.com/users/PUS5678)\n"
        "**Priority:** P1",
    ]


def test_v3_escalated():
    assert render_fixture("pagerduty", "incident.escalated__v3.json") == [
        "🔵 **[Incident #2117 escalated: Checkout API 5xx rate above "
        "5%](https://acme.pagerduty.com/incidents/Q2KXB4C1ZT7M9A)**\n\n"
        "**Service:** [Checkout API](https://acme.pagerduty.com/services/PSV1234)\n"
        "**Assigned to:** [Omar Haddad](https://acme.pagerduty.com/users/PUS9999), [Riya "
        "Patel](https://acme.pagerduty.com/users/PUS5678)\n"
        "**By:** [Riya Patel](https://acme.pagerduty.com/users/PUS5678)\n"
        "**Priority:** P1",
    ]


def test_v3_delegated_names_the_new_escalation_policy():
    assert render_fixture("pagerduty", "incident.delegated__v3.json") == [
        "🔵 **[Incident #2117 delegated: Checkout API 5xx rate above "
        "5%](https://acme.pagerduty.com/incidents/Q2KXB4C1ZT7M9A)**\n\n"
        "**Service:** [Checkout API](https://acme.pagerduty.com/services/PSV1234)\n"
        "**Assigned to:** [Omar Haddad](https://acme.pagerduty.com/users/PUS9999)\n"
        "**Escalation policy:** [Payments platform "
        "on-call](https://acme.pagerduty.com/escalation_policies/PEP3456)\n"
        "**By:** [Riya Patel](https://acme.pagerduty.com/users/PUS5678)\n"
        "**Priority:** P1",
    ]


def test_v3_priority_updated():
    assert render_fixture("pagerduty", "incident.priority_updated__v3.json") == [
        "🔵 **[Incident #2117 priority changed: Checkout API 5xx rate above "
        "5%](https://acme.pagerduty.com/incidents/Q2KXB4C1ZT7M9A)**\n\n"
        "**Service:** [Checkout API](https://acme.pagerduty.com/services/PSV1234)\n"
        "**Assigned to:** [Omar Haddad](https://acme.pagerduty.com/users/PUS9999)\n"
        "**By:** [Omar Haddad](https://acme.pagerduty.com/users/PUS9999)\n"
        "**Priority:** P2",
    ]


def test_v2_unacknowledged_by_timeout_names_no_actor():
    assert render_fixture("pagerduty", "incident.unacknowledge__v2_timeout.json") == [
        "🚨 **[Incident #2117 unacknowledged: Checkout API 5xx rate above "
        "5%](https://acme.pagerduty.com/incidents/Q2KXB4C1ZT7M9A)**\n\n"
        "**Service:** [Checkout API](https://acme.pagerduty.com/services/PSV1234)\n"
        "**Assigned to:** [Riya Patel](https://acme.pagerduty.com/users/PUS5678)\n"
        "**Urgency:** high",
    ]


def test_v2_resolved():
    assert render_fixture("pagerduty", "incident.resolve__v2.json") == [
        "✅ **[Incident #2117 resolved: Checkout API 5xx rate above "
        "5%](https://acme.pagerduty.com/incidents/Q2KXB4C1ZT7M9A)**\n\n"
        "**Service:** [Checkout API](https://acme.pagerduty.com/services/PSV1234)\n"
        "**By:** [Riya Patel](https://acme.pagerduty.com/users/PUS5678)",
    ]


def test_v2_assigned():
    assert render_fixture("pagerduty", "incident.assign__v2.json") == [
        "🔵 **[Incident #2117 reassigned: Checkout API 5xx rate above "
        "5%](https://acme.pagerduty.com/incidents/Q2KXB4C1ZT7M9A)**\n\n"
        "**Service:** [Checkout API](https://acme.pagerduty.com/services/PSV1234)\n"
        "**Assigned to:** [Omar Haddad](https://acme.pagerduty.com/users/PUS9999)\n"
        "**By:** [Riya Patel](https://acme.pagerduty.com/users/PUS5678)",
    ]


def test_v2_escalated():
    assert render_fixture("pagerduty", "incident.escalate__v2.json") == [
        "🔵 **[Incident #2117 escalated: Checkout API 5xx rate above "
        "5%](https://acme.pagerduty.com/incidents/Q2KXB4C1ZT7M9A)**\n\n"
        "**Service:** [Checkout API](https://acme.pagerduty.com/services/PSV1234)\n"
        "**Assigned to:** [Omar Haddad](https://acme.pagerduty.com/users/PUS9999), [Riya "
        "Patel](https://acme.pagerduty.com/users/PUS5678)\n"
        "**By:** [Riya Patel](https://acme.pagerduty.com/users/PUS5678)",
    ]


def test_v2_delegated_names_the_new_escalation_policy():
    assert render_fixture("pagerduty", "incident.delegate__v2.json") == [
        "🔵 **[Incident #2117 delegated: Checkout API 5xx rate above "
        "5%](https://acme.pagerduty.com/incidents/Q2KXB4C1ZT7M9A)**\n\n"
        "**Service:** [Checkout API](https://acme.pagerduty.com/services/PSV1234)\n"
        "**Assigned to:** [Omar Haddad](https://acme.pagerduty.com/users/PUS9999)\n"
        "**Escalation policy:** [Payments platform "
        "on-call](https://acme.pagerduty.com/escalation_policies/PEP3456)\n"
        "**By:** [Riya Patel](https://acme.pagerduty.com/users/PUS5678)",
    ]


def test_ping_is_ignored():
    with pytest.raises(Ignored) as err:
        receive_fixture("pagerduty", "pagey.ping__v3.json")
    assert "ping" in err.value.reason


def test_unsupported_event_type():
    with pytest.raises(Ignored) as err:
        receive_fixture("pagerduty", "incident.status_update_published__v3.json")
    assert err.value.reason == "event incident.status_update_published is not supported"


def test_delivery_id_comes_from_the_payload():
    v3 = receive_fixture("pagerduty", "incident.resolved__v3.json")
    v1 = receive_fixture("pagerduty", "incident.trigger__v1.json")
    source = SOURCES["pagerduty"]
    assert source.payload_delivery_id(v3.event, v3.payload) == "01DEN8F7Q3XK1Y2Z4W6V8U0T2S"
    assert source.payload_delivery_id(v1.event, v1.payload) == (
        "1b2c3d4e-5f60-11e4-8e1e-22000ae31361,1b2c3d4e-5f60-11e4-8e1e-22000ae31362"
    )


def test_payload_from_another_sender_is_rejected():
    with pytest.raises(PayloadError):
        SOURCES["pagerduty"].receive(b'{"message": "Backup finished"}', "application/json", {})


def test_v3_event_without_incident_is_rejected():
    body = b'{"event": {"event_type": "incident.triggered"}}'
    with pytest.raises(PayloadError) as err:
        SOURCES["pagerduty"].receive(body, "application/json", {})
    assert "event" in err.value.details
