"""Alert lifecycle (issue 12): durations, repeats, flapping, and escalation by DM, with real Redis
and the Copera stand-in."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

import pytest

from bot.config import ConfigError, parse_config
from bot.store import keys
from bot.store.alerts import AlertStore, alert_id
from bot.store.failed import FailedList
from bot.store.outbox import Outbox
from tests.conftest import CHANNEL, wait_for
from workers.escalation import Escalator

SECRET = "s3cret-for-tests-0123"
BEARER = {"Authorization": f"Bearer {SECRET}"}
ONCALL = "64b7f0c2e4b0a1a2b3c4d5f1"
OTHER_USER = "64b7f0c2e4b0a1a2b3c4d5f2"
GROUP = '{}:{alertname="DiskFull"}'


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def notification(status: str, started: float, ended: float | None = None, severity: str = "critical",
                 fingerprints=("a1b2c3d4e5f60718",)) -> dict:
    return {
        "version": "4", "groupKey": GROUP, "status": status, "receiver": "copera",
        "groupLabels": {"alertname": "DiskFull"},
        "commonLabels": {"alertname": "DiskFull", "severity": severity},
        "externalURL": "https://alertmanager.example.test",
        "alerts": [{"status": status, "labels": {"alertname": "DiskFull", "severity": severity, "instance": f"db-{i}"},
                    "annotations": {"summary": "disk full"}, "startsAt": iso(started),
                    "endsAt": iso(ended) if ended else "0001-01-01T00:00:00Z",
                    "generatorURL": "https://prometheus.example.test/graph", "fingerprint": fp}
                   for i, fp in enumerate(fingerprints)],
    }


def route(**options) -> dict:
    return {"am": {"source": "alertmanager", "channel": CHANNEL, "secret": SECRET, **options}}


def send(relay, body: dict) -> None:
    """Posts a notification as Alertmanager would, and lets the worker act on it. Alertmanager's
    repeats are minutes apart; here they are not, so the intake's redelivery window is cleared."""
    relay.redis.delete(*relay.redis.keys(keys.seen("am", "*")) or ["-"])
    assert relay.post("am", body, BEARER).status_code == 202
    relay.work()


def test_resolution_says_how_long_the_alert_fired_from_the_payload_times(make_relay, copera):
    relay = make_relay(route())
    start = time.time() - 1200
    send(relay, notification("firing", start))
    send(relay, notification("resolved", start, ended=start + 1200))
    firing, resolved = copera.texts(CHANNEL)
    assert "[FIRING:1] DiskFull" in firing and "Resolved after" not in firing
    assert resolved.endswith(f"✅ Resolved after 20m (firing since {time.strftime('%H:%M', time.gmtime(start))} UTC).")


def test_resolution_without_sender_times_uses_the_first_firing_seen(make_relay, copera):
    relay = make_relay({"kuma": {"source": "uptime-kuma", "channel": CHANNEL, "allow_unauthenticated": True}})
    monitor = {"id": 7, "name": "shop", "type": "http", "url": "https://shop.example.test"}
    relay.post("kuma", {"msg": "down", "monitor": monitor, "heartbeat": {"status": 0, "msg": "timeout"}})
    relay.work()
    aid = alert_id("kuma", "7")
    state = AlertStore(relay.redis).get(aid)
    # As if the monitor went down 5 minutes ago: the tracked first firing is the start.
    state.first_seen -= 300
    relay.redis.set(keys.alert_state(aid), state.encode())
    relay.post("kuma", {"msg": "up", "monitor": monitor, "heartbeat": {"status": 1, "msg": "200 OK", "ping": 12}})
    relay.work()
    assert "Resolved after 5m" in copera.texts(CHANNEL)[1]


@pytest.mark.parametrize("repeats, expected", [
    ("remind", ["[FIRING:1]", "🔁 Still firing since"]),
    ("full", ["[FIRING:1]", "[FIRING:1]"]),
    ("suppress", ["[FIRING:1]"]),
])
def test_repeats_of_a_firing_alert_follow_the_route_option(make_relay, copera, repeats, expected):
    relay = make_relay(route(repeats=repeats))
    start = time.time() - 3 * 3600
    send(relay, notification("firing", start))
    send(relay, notification("firing", start))
    texts = copera.texts(CHANNEL)
    assert [e in t for e, t in zip(expected, texts, strict=True)] == [True] * len(expected)
    if repeats == "remind":
        # A slow machine may add seconds between the two sends.
        assert re.match(rf"🔁 Still firing since {time.strftime('%H:%M', time.gmtime(start))} UTC \(3h( \d+s)?\): ",
                        texts[1])
        assert "DiskFull" in texts[1] and len(texts[1]) < 200


def test_a_group_gaining_an_alert_is_posted_in_full_not_reminded(make_relay, copera):
    relay = make_relay(route())
    start = time.time() - 60
    send(relay, notification("firing", start))
    send(relay, notification("firing", start, fingerprints=("a1b2c3d4e5f60718", "0f9e8d7c6b5a4321")))
    assert "[FIRING:2]" in copera.texts(CHANNEL)[1]


def test_flapping_is_announced_once_then_summarized_until_it_settles(make_relay, copera):
    relay = make_relay(route(flapping={"changes": 3, "within": "30m"}))
    now = time.time()
    for _ in range(3):
        send(relay, notification("firing", now))
        send(relay, notification("resolved", now, ended=now + 1))
    texts = copera.texts(CHANNEL)
    # fire, resolve, fire, resolve, then the third start is the flapping notice; its resolution is held.
    assert ["FIRING" in t for t in texts[:4:2]] == [True, True]
    assert texts[4].startswith("〰️ **Flapping:**") and "started firing 3 times in 30m" in texts[4]
    assert len(texts) == 5
    send(relay, notification("firing", now))  # still within the window: held back too
    assert len(copera.texts(CHANNEL)) == 5
    # Half an hour passes: the starts leave the window.
    store, aid = AlertStore(relay.redis), alert_id("am", GROUP)
    state = store.get(aid)
    state.starts = [t - 1900 for t in state.starts]
    relay.redis.set(keys.alert_state(aid), state.encode())
    send(relay, notification("resolved", now, ended=now + 1))
    settled = copera.texts(CHANNEL)[-1]
    assert "RESOLVED" in settled and "Settled after flapping" in settled and "2 change(s) were not posted" in settled
    assert store.get(aid).flapping_since is None


def test_a_flapping_alert_that_goes_quiet_is_summarized_once_by_the_escalation_loop(make_relay, copera):
    relay = make_relay(route(flapping={"changes": 3, "within": "30m"}))
    now = time.time()
    for _ in range(3):
        send(relay, notification("firing", now))
        send(relay, notification("resolved", now, ended=now + 1))
    assert len(copera.texts(CHANNEL)) == 5  # the last resolution was held back
    store, aid = AlertStore(relay.redis), alert_id("am", GROUP)
    flapping_since = store.get(aid).flapping_since
    # Within the window of the last start nothing settles; a whole window after it, once.
    assert escalator(relay, ahead=1790).post_settled() == 0
    assert escalator(relay, ahead=1801).post_settled() == 1
    assert escalator(relay, ahead=1802).post_settled() == 0
    # Queued as of the loop's clock, half an hour ahead: the channel's outbox holds it until then.
    [summary] = Outbox(relay.redis).peek(CHANNEL, 10)
    assert summary.text == (f"〰️ Settled after flapping since {time.strftime('%H:%M', time.gmtime(flapping_since))} "
                            "UTC (1 change held back); now resolved: **[RESOLVED:1] DiskFull**")
    assert (summary.route, summary.event, summary.status) == ("am", "settled", "resolved")
    state = store.get(aid)
    assert (state.flapping_since, state.summarized, state.settle_due) == (None, 0, None)
    assert relay.redis.zcard(keys.SETTLES) == 0


def test_a_change_that_settles_a_flapping_alert_first_leaves_the_loop_nothing_to_post(make_relay, copera):
    relay = make_relay(route(flapping={"changes": 2, "within": "30m"}))
    now = time.time()
    for _ in range(2):
        send(relay, notification("firing", now))
        send(relay, notification("resolved", now, ended=now + 1))
    store, aid = AlertStore(relay.redis), alert_id("am", GROUP)
    state = store.get(aid)
    state.starts = [t - 1900 for t in state.starts]
    relay.redis.set(keys.alert_state(aid), state.encode())
    send(relay, notification("firing", now))
    assert "Settled after flapping" in copera.texts(CHANNEL)[-1]
    assert relay.redis.zcard(keys.SETTLES) == 0
    assert escalator(relay, ahead=3600).post_settled() == 0


def escalating(after="10m", users=(ONCALL,), **more) -> dict:
    return route(escalate={"after": after, "min_severity": "error", "users": list(users)}, **more)


def escalator(relay, ahead: float = 601) -> Escalator:
    """An escalation loop whose clock is `ahead` seconds in the future: past a 10m deadline by default."""
    return Escalator(relay.redis, clock=lambda: time.time() + ahead)


def test_escalation_dm_once_then_resolved_dm(make_relay, copera):
    relay = make_relay(escalating(users=(ONCALL, OTHER_USER)))
    start = time.time()
    send(relay, notification("firing", start))
    assert escalator(relay, ahead=590).fire_due() == 0  # not yet due
    assert escalator(relay).fire_due() == 2
    assert escalator(relay).fire_due() == 0
    relay.work()
    assert copera.dms(OTHER_USER) == copera.dms(ONCALL)
    [dm] = copera.dms(ONCALL)
    assert dm.startswith("🚨 **Escalation:** [[FIRING:1] DiskFull](https://alertmanager.example.test) has been firing "
                         "for 10m")
    assert f"channel `{CHANNEL}`" in dm and "route `am`" in dm and "https://prometheus.example.test/graph" in dm
    send(relay, notification("resolved", start, ended=start + 90))
    assert copera.dms(ONCALL)[1].startswith("✅ **Resolved after 1m 30s:** [[RESOLVED:1] DiskFull]")
    assert len(copera.dms(OTHER_USER)) == 2
    assert 202 in copera.statuses()


def test_an_alert_resolved_before_the_deadline_is_never_escalated(make_relay, copera):
    relay = make_relay(escalating())
    start = time.time()
    send(relay, notification("firing", start))
    send(relay, notification("resolved", start, ended=start + 0.5))
    assert escalator(relay).fire_due() == 0
    relay.work()
    assert copera.dms() == []
    assert len(copera.texts(CHANNEL)) == 2


def test_alerts_below_min_severity_are_not_escalated(make_relay, copera):
    relay = make_relay(escalating())
    send(relay, notification("firing", time.time(), severity="warning"))
    assert relay.redis.zcard(keys.ESCALATIONS) == 0


def test_a_repeat_does_not_move_the_deadline_and_a_reescalation_needs_a_new_firing(make_relay, copera):
    relay = make_relay(escalating())
    start = time.time()
    send(relay, notification("firing", start))
    due = relay.redis.zscore(keys.ESCALATIONS, alert_id("am", GROUP))
    time.sleep(0.2)
    send(relay, notification("firing", start))
    assert relay.redis.zscore(keys.ESCALATIONS, alert_id("am", GROUP)) == due


def test_a_dm_copera_refuses_is_on_the_failed_list_with_the_reason(make_relay, copera):
    relay = make_relay(escalating())
    copera.unknown_users.add(ONCALL)
    send(relay, notification("firing", time.time()))
    assert escalator(relay).fire_due() == 1
    relay.work()
    [entry] = FailedList(relay.redis).list(10)
    assert entry["channel"] == f"dm:{ONCALL}" and entry["copera_status"] == 400
    assert entry["reason"] == "User not found in this workspace"


def test_dms_wait_for_copera_rate_limit_like_posts(make_relay, copera):
    relay = make_relay(escalating())
    send(relay, notification("firing", time.time()))
    copera.throttle_next, copera.retry_after = 1, 1
    escalator(relay).fire_due()
    relay.work(timeout=10)
    assert copera.statuses()[-2:] == [429, 202]
    assert len(copera.dms(ONCALL)) == 1


def test_a_rerun_job_does_not_count_the_alert_twice(make_relay, copera):
    from workers.jobs import process_webhook

    relay = make_relay(route(flapping={"changes": 2, "within": "1h"}))
    envelope = {"delivery_id": "d-1", "route": "am", "source": "alertmanager", "event": "alert",
                "payload": notification("firing", time.time()), "received_at": time.time()}
    process_webhook(envelope)
    process_webhook(envelope)  # RQ re-runs a job whose worker died
    state = AlertStore(relay.redis).get(alert_id("am", GROUP))
    assert len(state.starts) == 1 and state.flapping_since is None


def test_escalations_command_lists_pending_and_escalated_alerts(make_relay, copera):
    relay = make_relay(escalating())
    runner = relay.app.test_cli_runner()
    assert runner.invoke(args=["escalations"]).output == "no open escalations\n"
    send(relay, notification("firing", time.time()))
    out = runner.invoke(args=["escalations"]).output
    assert out.startswith("pending    route=am alert='[FIRING:1] DiskFull' firing since ") and "DM 1 user(s)" in out
    escalator(relay).fire_due()
    out = runner.invoke(args=["escalations"]).output
    assert out.startswith("escalated  route=am") and ONCALL in out


def test_check_config_names_the_escalation(make_relay):
    relay = make_relay(escalating())
    out = relay.app.test_cli_runner().invoke(args=["check-config"]).output
    assert "ok: route am escalates error alerts still firing after 10m to 1 user(s) by DM" in out


@pytest.mark.parametrize("options, error", [
    ({"repeats": "sometimes"}, "field 'repeats': Must be one of: full, remind, suppress."),
    ({"escalate": {"after": "10 minutes", "users": [ONCALL]}},
     "field 'escalate.after': '10 minutes' is not a duration"),
    ({"escalate": {"after": "10m", "users": ["alice"]}}, "field 'escalate.users[0]': must be 24 hex characters"),
    ({"escalate": {"after": "10m", "users": [ONCALL], "min_severity": "info"}}, "field 'escalate.min_severity'"),
    ({"escalate": {"after": "10m"}}, "field 'escalate.users': Missing data"),
    ({"flapping": {"changes": 1}}, "field 'flapping.changes'"),
])
def test_lifecycle_options_are_validated(options, error):
    with pytest.raises(ConfigError, match=re.escape(error)):
        parse_config({"routes": {"am": {"source": "alertmanager", "channel": CHANNEL, "secret": SECRET, **options}}})


def test_copera_stub_direct_message_errors(copera):
    import requests

    url = copera.url + "/chat/direct-message/send-message"
    auth = {"Authorization": f"Bearer {copera.token}"}
    assert requests.post(url, json={"userId": ONCALL, "message": "hi"}, headers=auth).status_code == 202
    assert requests.post(url, json={"userId": "nope", "message": "hi"}, headers=auth).status_code == 400
    assert requests.post(url, json={"userId": ONCALL, "message": "hi"}).status_code == 401
    copera.throttle_next = 1
    limited = requests.post(url, json={"userId": ONCALL, "message": "hi"}, headers=auth)
    assert limited.status_code == 429 and limited.json()["retryAfter"] >= 1
    assert wait_for(lambda: copera.dms(ONCALL) == ["hi"], 1)


def test_a_worker_restart_between_firing_and_deadline_still_escalates_once(make_relay, copera, tmp_path):
    import signal

    from tests.test_worker_process import WorkerProcess

    relay = make_relay(escalating(after="3s"))
    first = WorkerProcess(relay, tmp_path)
    started = []
    try:
        assert relay.post("am", notification("firing", time.time()), BEARER).status_code == 202
        assert wait_for(lambda: len(copera.texts(CHANNEL)) == 1, 20)
        assert first.stop(signal.SIGKILL) == -signal.SIGKILL
        assert copera.dms() == [] and relay.redis.zcard(keys.ESCALATIONS) == 1
        # Two workers come back; both see the deadline pass, one escalates.
        started = [WorkerProcess(relay, tmp_path), WorkerProcess(relay, tmp_path)]
        assert wait_for(lambda: len(copera.dms(ONCALL)) == 1, 20)
        time.sleep(2.5)  # several more passes of both escalation loops
        assert len(copera.dms(ONCALL)) == 1
        assert relay.redis.zcard(keys.ESCALATIONS) == 0
    finally:
        for worker in [first, *started]:
            if worker.proc.poll() is None:
                worker.proc.kill()
                worker.proc.wait(10)
        # A killed worker's RQ scheduler child holds a copy of its Redis socket, so the dead worker's
        # blocking dequeue stays open on the server and would take the next test's first job.
        for client in relay.redis.client_list():
            if "b" in client["flags"]:
                relay.redis.client_kill_filter(_id=client["id"])


@pytest.mark.parametrize("source, fixture, key, status", [
    ("alertmanager", "alert__firing.json", '{}:{alertname="HighLatency", job="api"}', "firing"),
    ("alertmanager", "alert__resolved.json", '{}:{alertname="TargetDown"}', "resolved"),
    ("grafana", "alert__firing.json", '{}/{}:{alertname="CheckoutErrors", grafana_folder="Shop"}', "firing"),
    ("grafana", "legacy_alert__ok.json", "12", "resolved"),
    ("pagerduty", "incident.triggered__v3.json", "Q2KXB4C1ZT7M9A", "firing"),
    ("pagerduty", "incident.resolve__v2.json", "Q2KXB4C1ZT7M9A", "resolved"),
    ("pagerduty", "incident.acknowledged__v3.json", None, None),
    ("opsgenie", "Create__p1.json", "3b8f2c1e-7d4a-4e9b-a1c2-5f6e7d8c9b0a", "firing"),
    ("opsgenie", "Close__basic.json", "3b8f2c1e-7d4a-4e9b-a1c2-5f6e7d8c9b0a", "resolved"),
    ("sentry", "issue__resolved.json", "5123456789", "resolved"),
    ("sentry", "metric_alert__critical.json", "318", "firing"),
    ("datadog", "alert__triggered.json", "8b3c1e4f0a9d27c6e5b4a3f2d1c0b9a8", "firing"),
    ("datadog", "recovery__recovered.json", "8b3c1e4f0a9d27c6e5b4a3f2d1c0b9a8", "resolved"),
    ("datadog", "alert__multi_alert_group.json", "5521907:env:prod,service:checkout-api", "firing"),
    ("datadog", "recovery__multi_alert_group.json", "5521907:env:prod,service:checkout-api", "resolved"),
    ("statuspage", "incident_update__investigating.json", "n1c5r8w2g7ty", "firing"),
    ("statuspage", "incident_update__resolved.json", "n1c5r8w2g7ty", "resolved"),
    ("statuspage", "component_update__major_outage.json", "f4k1w8x2c6pj", "firing"),
    ("statuspage", "component_update__operational.json", "f4k1w8x2c6pj", "resolved"),
    ("statuspage", "incident_update__scheduled_maintenance.json", None, None),
    ("airbrake", "error__with_backtrace.json", "2817364455019283746", "firing"),
    ("raygun", "NewErrorOccurred__with_custom_data.json", "4k2h9x/318862541", "firing"),
    ("raygun", "HourlyFollowUp__still_failing.json", "4k2h9x/318862541", "firing"),
    ("raygun", "StatusChanged__resolved.json", "4k2h9x/318862541", "resolved"),
    ("raygun", "CommentAdded__note.json", None, None),
    ("newrelic", "issue__activated.json", "3f9c7a52-1d4e-4b8a-9a61-2c5e0d7b8e14", "firing"),
    ("newrelic", "incident__legacy_open.json", "51820339", "firing"),
    ("zabbix", "problem__high.json", "991845", "firing"),
    ("zabbix", "resolved__high.json", "991845", "resolved"),
    ("uptimerobot", "down__http.json", "795612044", "firing"),
    ("uptime-kuma", "down__http.json", "12", "firing"),
    ("pingdom", "down__http.json", "8812345", "firing"),
    ("pingdom", "up__smtp.json", "8812399", "resolved"),
    ("freshping", "down__not_responding.json", "731990", "firing"),
    ("azure-monitor", "metric_alert__fired.json", "/subscriptions/11111111-2222-3333-4444-555555555555/providers/"
     "Microsoft.AlertsManagement/alerts/6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "firing"),
    ("google-cloud-monitoring", "incident.open__cpu_threshold.json", "0.nx3k7q2vbe8d", "firing"),
    ("google-cloud-monitoring", "incident.closed__uptime_check.json", "0.m2p9w4r7ha1c", "resolved"),
    ("kibana", "active__metric_threshold_warning.json",
     "5d7e8f90-8f4a-11ee-9b1d-2f7c9e0a4d51:db-2.acme.example.test", "firing"),
    ("kibana", "recovered__metric_threshold.json",
     "5d7e8f90-8f4a-11ee-9b1d-2f7c9e0a4d51:db-2.acme.example.test", "resolved"),
    ("updown", "check.down__timeout.json", "k4x2", "firing"),
    ("updown", "check.up__recovered.json", "k4x2", "resolved"),
    ("aws-sns", "Notification__alarm.json", "arn:aws:cloudwatch:us-east-1:123456789012:alarm:web-1 high CPU", "firing"),
    ("aws-sns", "Notification__alarm_ok.json", "arn:aws:cloudwatch:us-east-1:123456789012:alarm:web-1 high CPU",
     "resolved"),
])
def test_alerting_sources_name_their_alerts(source, fixture, key, status):
    from bot.sources import SOURCES
    from tests.formatting import receive_fixture

    incoming = receive_fixture(source, fixture)
    ref = SOURCES[source].format(incoming.event, incoming.payload)[0].alert
    assert (ref and ref.key, ref and ref.status) == (key, status)


def test_sender_times_become_the_alert_start_and_end():
    from bot.sources import SOURCES
    from tests.formatting import receive_fixture

    incoming = receive_fixture("alertmanager", "alert__resolved.json")
    ref = SOURCES["alertmanager"].format(incoming.event, incoming.payload)[0].alert
    assert ref.ended_at - ref.started_at == 750  # 12m30s, from startsAt and endsAt
    incoming = receive_fixture("pagerduty", "incident.triggered__v3.json")
    assert SOURCES["pagerduty"].format(incoming.event, incoming.payload)[0].alert.started_at == 1714878763.0


@pytest.mark.parametrize("source, firing, resolved, line", [
    ("datadog", "alert__multi_alert_group.json", "recovery__multi_alert_group.json",
     "✅ Resolved after 25m 30s (firing since 2024-05-02 10:00 UTC)."),
    ("statuspage", "incident_update__investigating.json", "incident_update__resolved.json",
     "✅ Resolved after 42m 23s (firing since 2024-05-02 09:22 UTC)."),
    ("statuspage", "component_update__major_outage.json", "component_update__operational.json",
     "✅ Resolved after 38m 30s (firing since 2024-05-02 09:20 UTC)."),
    ("raygun", "NewErrorOccurred__with_custom_data.json", "StatusChanged__resolved.json",
     "✅ Resolved after 2h 36m (firing since 2024-04-22 14:03 UTC)."),
])
def test_a_sources_resolution_says_how_long_its_alert_fired(make_relay, copera, source, firing, resolved, line):
    from tests.formatting import fixture_bytes

    relay = make_relay({"mon": {"source": source, "channel": CHANNEL, "allow_unauthenticated": True}})
    for fixture in (firing, resolved):
        assert relay.post("mon", fixture_bytes(source, fixture)).status_code == 202
        relay.work()
    fired, ended = copera.texts(CHANNEL)
    assert "Resolved after" not in fired
    assert ended.endswith("\n\n" + line)


def test_a_datadog_renotification_is_reminded_and_a_move_to_warn_is_posted(make_relay, copera):
    import json

    from tests.formatting import fixture_bytes

    relay = make_relay({"dd": {"source": "datadog", "channel": CHANNEL, "allow_unauthenticated": True}})
    fired = json.loads(fixture_bytes("datadog", "alert__multi_alert_group.json"))
    for transition, notification_id in (("Triggered", "1"), ("Re-Triggered", "2"), ("Warn", "3")):
        title = fired["title"].replace("Triggered", transition)
        relay.post("dd", {**fired, "title": title, "alert_transition": transition, "id": notification_id})
        relay.work()
    first, reminder, warn = copera.texts(CHANNEL)
    assert first.startswith("🚨 **[[P1] [Triggered on")
    assert reminder.startswith("🔁 Still firing since 2024-05-02 10:00 UTC (")
    assert warn.startswith("🚨 **[[P1] [Warn on {env:prod,service:checkout-api}] Checkout API error rate")


def test_a_statuspage_incident_update_is_posted_and_its_redelivery_reminded(make_relay, copera):
    from tests.formatting import fixture_bytes

    relay = make_relay({"status": {"source": "statuspage", "channel": CHANNEL, "allow_unauthenticated": True}})
    for fixture in ("incident_update__investigating.json", "incident_update__identified.json",
                    "incident_update__identified.json"):
        relay.redis.delete(*relay.redis.keys(keys.seen("status", "*")) or ["-"])
        assert relay.post("status", fixture_bytes("statuspage", fixture)).status_code == 202
        relay.work()
    investigating, identified, again = copera.texts(CHANNEL)
    assert "`investigating`" in investigating
    assert identified.startswith("🔴 **[Card payments failing](https://stspg.io/x7Kp2)**\n\n**Status:** `identified`")
    assert again.startswith("🔁 Still firing since 2024-05-02 09:22 UTC (")


def test_a_raygun_follow_up_is_reminded_and_an_error_that_came_back_posted(make_relay, copera):
    from tests.formatting import fixture_bytes

    relay = make_relay({"rg": {"source": "raygun", "channel": CHANNEL, "allow_unauthenticated": True}})
    # No StatusChanged between: the error came back without the relay seeing it resolved.
    for fixture in ("NewErrorOccurred__with_custom_data.json", "FiveMinuteFollowUp__still_failing.json",
                    "ErrorReoccurred__after_resolved.json"):
        assert relay.post("rg", fixture_bytes("raygun", fixture)).status_code == 202
        relay.work()
    new, follow_up, back = copera.texts(CHANNEL)
    assert new.startswith("🔴 **[New error: TypeError")
    assert follow_up.startswith("🔁 Still firing since 2024-04-22 14:03 UTC (")
    assert back.startswith("🔴 **[Error reoccurred: TypeError")


def test_each_airbrake_notice_of_an_error_group_is_posted_in_full(make_relay, copera):
    import json

    from tests.formatting import fixture_bytes

    relay = make_relay({"ab": {"source": "airbrake", "channel": CHANNEL, "allow_unauthenticated": True}})
    error = json.loads(fixture_bytes("airbrake", "error__with_backtrace.json"))
    for notice in ("2817364455019290001", "2817364455019290002"):
        error["error"]["last_notice"]["id"] = notice
        assert relay.post("ab", error).status_code == 202
        relay.work()
    first, second = copera.texts(CHANNEL)
    assert first == second and first.startswith("🔴 **[PG::ConnectionBad")
    assert AlertStore(relay.redis).get(alert_id("ab", "2817364455019283746")).notified == 2
