"""Route features end to end: channel rules, severity and branch filters, templates, SNS confirmation."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from bot.config import ConfigError, parse_config
from tests.conftest import CHANNEL, OTHER_CHANNEL
from tests.formatting import fixture_bytes

SECRET = "s3cret-for-tests-0123"
BEARER = {"Authorization": f"Bearer {SECRET}"}
ONCALL = "0000000000000000000000aa"


def alert(name: str, severity: str, status: str = "firing") -> dict:
    return {
        "version": "4", "groupKey": f"{{}}:{{alertname=\"{name}\"}}", "status": status, "receiver": "relay",
        "groupLabels": {"alertname": name}, "commonLabels": {"alertname": name, "severity": severity},
        "commonAnnotations": {}, "externalURL": "https://am.example.com", "truncatedAlerts": 0,
        "alerts": [{"status": status, "labels": {"alertname": name, "severity": severity, "instance": "db-1"},
                    "annotations": {"summary": f"{name} on db-1"}, "startsAt": "2026-11-27T10:00:00Z",
                    "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "https://prom.example.com/graph",
                    "fingerprint": hashlib.sha1(name.encode()).hexdigest()[:16]}],
    }


def test_channel_rules_send_critical_alerts_to_oncall(make_relay, copera):
    relay = make_relay({"am": {"source": "alertmanager", "secret": SECRET, "channels": [
        {"channel": ONCALL, "when": {"severity": ["critical"]}},
        {"channel": CHANNEL},
    ]}})
    relay.post("am", alert("DiskFull", "critical"), BEARER)
    relay.post("am", alert("SlowQueries", "warning"), BEARER)
    relay.work()
    assert ["DiskFull" in t for t in copera.texts(ONCALL)] == [True]
    assert ["SlowQueries" in t for t in copera.texts(CHANNEL)] == [True]


def test_label_rules_and_min_severity(make_relay, copera):
    relay = make_relay({"am": {"source": "alertmanager", "secret": SECRET, "min_severity": "error", "channels": [
        {"channel": ONCALL, "when": {"labels": {"alertname": "Disk*"}}},
        {"channel": CHANNEL},
    ]}})
    relay.post("am", alert("DiskFull", "critical"), BEARER)
    relay.post("am", alert("SlowQueries", "warning"), BEARER)  # below min_severity
    relay.post("am", alert("SlowQueries", "warning", status="resolved"), BEARER)  # resolutions always pass
    relay.work()
    assert len(copera.texts(ONCALL)) == 1
    assert len(copera.texts(CHANNEL)) == 1 and "RESOLVED" in copera.texts(CHANNEL)[0]


def test_branch_filter_ignores_other_branches_at_intake(make_relay):
    body = fixture_bytes("github", "push__commits.json")
    branch = json.loads(body)["ref"].removeprefix("refs/heads/")
    relay = make_relay({
        "only-release": {"source": "github", "channel": CHANNEL, "secret": SECRET, "branches": ["release/*"]},
        "this-branch": {"source": "github", "channel": CHANNEL, "secret": SECRET, "branches": [branch]},
    })
    headers = {"X-GitHub-Event": "push",
               "X-Hub-Signature-256": "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()}
    r = relay.post("only-release", body, headers)
    assert r.json == {"status": "ignored", "reason": f"branch {branch} is not in this route's branches"}
    assert relay.post("this-branch", body, headers).status_code == 202


def test_the_branch_filter_runs_once_per_webhook(make_relay, copera, monkeypatch):
    """An event whose branch intake knows is filtered there; the worker does not judge it again."""
    from bot.config import Route

    body = fixture_bytes("github", "push__commits.json")
    branch = json.loads(body)["ref"].removeprefix("refs/heads/")
    relay = make_relay({"gh": {"source": "github", "channel": CHANNEL, "secret": SECRET, "branches": [branch]}})
    judged = []
    real = Route.branch_filter_reason
    monkeypatch.setattr(Route, "branch_filter_reason", lambda self, b: judged.append(b) or real(self, b))
    headers = {"X-GitHub-Event": "push",
               "X-Hub-Signature-256": "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()}
    assert relay.post("gh", body, headers).status_code == 202
    relay.work()
    assert judged == [branch]
    assert len(copera.texts()) == 1


def test_exclude_events_with_patterns(make_relay):
    relay = make_relay({"gh": {"source": "github", "channel": CHANNEL, "secret": SECRET,
                               "exclude_events": ["workflow_*"]}})
    body = b'{"action": "completed"}'
    sig = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    r = relay.post("gh", body, {"X-GitHub-Event": "workflow_job", "X-Hub-Signature-256": sig})
    assert r.json == {"status": "ignored", "reason": "event workflow_job is excluded by this route"}


def test_template_renders_in_the_sandbox_with_escaping(make_relay, copera):
    template = "{{ message.severity | upper }}: {{ payload.message }} {{ payload.url | link('details') }}"
    relay = make_relay({"g": {"source": "generic", "channel": CHANNEL, "secret": SECRET, "template": template}})
    relay.post("g", {"message": "*disk* [x](javascript:1)", "level": "warning", "url": "https://x.example/1"},
               BEARER)
    relay.work()
    assert copera.texts(CHANNEL) == ["WARNING: \\*disk\\* [x\\](javascript:1) [details](https://x.example/1)"]


@pytest.mark.parametrize("template, error", [
    ("{{ payload.__class__ }}", "access to internal attribute '__class__' is not allowed"),
    ("{{ payload['__globals__'] }}", "access to internal attribute '__globals__' is not allowed"),
    ("{% if %}", "syntax error on line 1"),
])
def test_bad_templates_stop_the_relay_at_start_up(template, error):
    doc = {"routes": {"g": {"source": "generic", "channel": CHANNEL, "secret": SECRET, "template": template}}}
    with pytest.raises(ConfigError) as err:
        parse_config(doc, {})
    assert str(err.value).startswith("route 'g', field 'template': ") and error in str(err.value)


def test_template_runtime_errors_fall_back_to_the_default_format(make_relay, copera):
    relay = make_relay({"g": {"source": "generic", "channel": CHANNEL, "secret": SECRET,
                              "template": "{{ payload.message.mro() }}"}})
    relay.post("g", {"message": "hello"}, BEARER)
    relay.work()
    assert copera.texts(CHANNEL) == ["🔵 **hello**"]


def test_sns_subscription_is_confirmed_only_where_the_route_allows(make_relay, copera, monkeypatch):
    visited = []
    relay = make_relay({
        "yes": {"source": "aws-sns", "channel": CHANNEL, "secret": SECRET, "confirm_subscription": True},
        "no": {"source": "aws-sns", "channel": OTHER_CHANNEL, "secret": SECRET},
    })
    monkeypatch.setattr(relay.runtime, "http_get", visited.append)
    body = fixture_bytes("aws-sns", "SubscriptionConfirmation__basic.json")
    for route in ("yes", "no"):
        r = relay.client.post(f"/hooks/{route}?token={SECRET}", data=body,
                              headers={"Content-Type": "text/plain; charset=UTF-8"})
        assert r.status_code == 202
    relay.work()
    assert visited == [json.loads(body)["SubscribeURL"]]
    assert len(copera.texts(CHANNEL)) == 1 and len(copera.texts(OTHER_CHANNEL)) == 1


@pytest.mark.parametrize("route, message", [
    ({"source": "nope", "channel": CHANNEL, "secret": "x"}, "route 'r', field 'source': unknown source 'nope'"),
    ({"source": "generic", "channel": "123", "secret": "x"}, "route 'r', field 'channel': must be 24 hex"),
    ({"source": "generic", "channel": CHANNEL}, "route 'r', field 'secret': missing secret"),
    ({"source": "generic", "channel": CHANNEL, "secret": "${MISSING_VAR}"},
     "route 'r', field 'secret': environment variable MISSING_VAR is not set"),
    ({"source": "generic", "channel": CHANNEL, "secret": "x", "colour": "red"}, "route 'r', field 'colour': Unknown"),
])
def test_config_errors_name_the_route_and_field(route, message):
    with pytest.raises(ConfigError) as err:
        parse_config({"routes": {"r": route}}, {})
    assert message in str(err.value)


def test_env_expansion_and_unauthenticated_opt_in():
    cfg = parse_config({"routes": {
        "a": {"source": "generic", "channel": "${CH}", "secret": "${SEC}"},
        "b": {"source": "generic", "channel": CHANNEL, "allow_unauthenticated": True},
    }}, {"CH": CHANNEL, "SEC": "from-env-secret"})
    assert cfg.routes["a"].secret == "from-env-secret"
    assert cfg.routes["a"].channels[0].channel == CHANNEL
    assert cfg.routes["b"].secret is None
