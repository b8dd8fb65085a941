"""Operating the relay: CLI commands, the admin API, metrics, logs without secrets, config reload."""

from __future__ import annotations

import json
import logging
import re
import time
import urllib.request

import pytest
import yaml

from bot.config import ConfigWatcher
from bot.logs import JsonFormatter, register_secret
from tests.conftest import CHANNEL, OTHER_CHANNEL, TOKEN

SECRET = "s3cret-for-tests-0123"
BEARER = {"Authorization": f"Bearer {SECRET}"}
ROUTES = {"ops": {"source": "generic", "channel": CHANNEL, "secret": SECRET, "sender_name": "Ops"},
          "weak": {"source": "generic", "channel": OTHER_CHANNEL, "secret": "short"}}


def test_sources_json_lists_every_source_with_events_and_auth(make_relay):
    out = make_relay(ROUTES).app.test_cli_runner().invoke(args=["sources", "--json"])
    data = json.loads(out.output)
    names = [d["source"] for d in data]
    assert len(names) >= 30 and {"github", "alertmanager", "generic", "slack", "json"} <= set(names)
    github = next(d for d in data if d["source"] == "github")
    assert "push" in github["events"] and github["auth"].startswith("X-Hub-Signature-256: sha256=")


def test_every_command_has_help(make_relay):
    runner = make_relay(ROUTES).app.test_cli_runner()
    for command in ["sources", "preview", "check-config", "hooks", "channels", "send-test", "deliveries",
                    "stats", "failed", "replay"]:
        result = runner.invoke(args=[command, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output, command


def test_check_config_warns_about_weak_secrets(make_relay):
    result = make_relay(ROUTES).app.test_cli_runner().invoke(args=["check-config"])
    assert result.exit_code == 0
    assert "ok: 2 route(s)" in result.output
    assert "warning: route weak has a weak secret (< 16 characters)" in result.output


def test_check_config_online_reports_unreachable_channels(make_relay, copera):
    copera.channels = [{"_id": CHANNEL, "name": "alerts"}]
    result = make_relay(ROUTES).app.test_cli_runner().invoke(args=["check-config", "--online"])
    assert result.exit_code == 1
    assert f"ok: channel {CHANNEL} (alerts)" in result.output
    assert f"error: channel {OTHER_CHANNEL} is not visible to the token (routes: weak)" in result.output


def test_channels_finds_ids_by_name(make_relay, copera):
    result = make_relay(ROUTES).app.test_cli_runner().invoke(args=["channels"])
    assert result.exit_code == 0
    assert result.output.splitlines() == [f"{'a' * 24}  alerts", f"{'b' * 24}  deploys"]


def test_send_test_posts_to_the_route_channel(make_relay, copera):
    result = make_relay(ROUTES).app.test_cli_runner().invoke(args=["send-test", "ops"])
    assert result.exit_code == 0, result.output
    assert copera.messages[0]["channel"] == CHANNEL and copera.messages[0]["name"] == "Ops"
    assert "Copera Relay test for route ops" in copera.messages[0]["message"]
    assert make_relay(ROUTES).app.test_cli_runner().invoke(args=["send-test", "nope"]).exit_code == 1


def test_routes_and_preview(make_relay, tmp_path):
    runner = make_relay(ROUTES).app.test_cli_runner()
    table = runner.invoke(args=["hooks", "--base-url", "https://relay.example.com"]).output
    assert "https://relay.example.com/hooks/ops" in table
    payload = tmp_path / "p.json"
    payload.write_text(json.dumps({"message": "Disk almost full", "level": "warning"}))
    assert runner.invoke(args=["preview", "generic", str(payload)]).output == "🟠 **Disk almost full**\n"


def test_deliveries_and_stats_show_what_happened(make_relay, copera):
    relay = make_relay(ROUTES)
    relay.post("ops", {"message": "first"}, BEARER)
    relay.post("ops", {"message": "x"}, {"Authorization": "Bearer wrong"})
    relay.work()
    runner = relay.app.test_cli_runner()
    rows = json.loads(runner.invoke(args=["deliveries", "ops", "--json"]).output)
    assert len(rows) == 1
    assert rows[0]["outcome"] == "posted" and rows[0]["copera_status"] == "204" and rows[0]["attempts"] == 1
    assert rows[0]["text"] == "🔵 **first**" and rows[0]["event"] == "message"
    table = runner.invoke(args=["stats"]).output
    ops_row = next(line for line in table.splitlines() if line.startswith("ops "))
    assert ops_row.split()[1:] == ["1", "0", "0", "0", "1", "0", "1", "0", "0", "0"]


def test_admin_api_needs_its_token(make_relay):
    assert make_relay(ROUTES).client.get("/admin/routes").status_code == 404
    relay = make_relay(ROUTES, env={"RELAY_ADMIN_TOKEN": "admin-token-0123456789"})
    assert relay.client.get("/admin/routes").status_code == 401
    assert relay.client.get("/admin/routes", headers={"Authorization": "Bearer nope"}).status_code == 401
    r = relay.client.get("/admin/routes", headers={"Authorization": "Bearer admin-token-0123456789"})
    assert r.status_code == 200 and [x["route"] for x in r.json["routes"]] == ["ops", "weak"]
    assert SECRET not in r.get_data(as_text=True)


def test_admin_api_deliveries_and_hourly_stats(make_relay, copera):
    relay = make_relay(ROUTES, env={"RELAY_ADMIN_TOKEN": "admin-token-0123456789"})
    auth = {"Authorization": "Bearer admin-token-0123456789"}
    relay.post("ops", {"message": "hello"}, BEARER)
    relay.work()
    deliveries = relay.client.get("/admin/deliveries?route=ops", headers=auth).json["deliveries"]
    assert [(d["outcome"], d["text"]) for d in deliveries] == [("posted", "🔵 **hello**")]
    stats = relay.client.get("/admin/stats", headers=auth).json
    assert stats["routes"]["ops"] == {"queued": 1, "formatted": 1, "posted": 1}
    assert len(stats["minutes"]) == 60
    assert relay.client.get("/admin/deliveries?route=nope", headers=auth).status_code == 404


def test_metrics_in_one_process(make_relay, copera):
    relay = make_relay(ROUTES, env={"METRICS_TOKEN": "metrics-token-0123"})
    relay.post("ops", {"message": "hello"}, BEARER)
    relay.work()
    assert relay.client.get("/metrics").status_code == 401
    text = relay.client.get("/metrics", headers={"Authorization": "Bearer metrics-token-0123"}).get_data(as_text=True)
    assert 'relay_messages_posted_total{route="ops",status="204"} 1.0' in text
    assert "relay_outbox_depth 0.0" in text and "relay_queue_depth 0.0" in text
    assert re.search(r'relay_webhooks_received_total\{outcome="queued",route="ops",source="generic"\} \d', text)
    assert SECRET not in text and TOKEN not in text


def test_metrics_aggregate_gunicorn_workers_end_to_end():
    from bench.harness import Stack

    routes = {"ops": {"source": "generic", "channel": CHANNEL, "secret": SECRET}}
    with Stack(routes, env={"WEB_CONCURRENCY": "3", "WEB_THREADS": "1"}) as stack:
        for i in range(30):
            req = urllib.request.Request(f"{stack.url}/hooks/ops", data=json.dumps({"message": f"m{i}"}).encode(),
                                         headers={"Content-Type": "application/json", **BEARER}, method="POST")
            assert urllib.request.urlopen(req, timeout=10).status == 202
        # Generous bounds: on a loaded machine the three gunicorn workers and the worker start slowly.
        deadline = time.time() + 60
        while time.time() < deadline and len(stack.copera.messages) < 1:
            time.sleep(0.2)
        deadline = time.time() + 60
        while time.time() < deadline:
            text = urllib.request.urlopen(f"{stack.url}/metrics", timeout=10).read().decode()
            if "relay_outbox_depth 0.0" in text and "relay_queue_depth 0.0" in text:
                break
            time.sleep(0.3)
        pids = stack.pids("web")
    queued = re.search(r'relay_webhooks_received_total\{outcome="queued",route="ops",source="generic"\} (\S+)', text)
    assert queued and float(queued.group(1)) == 30, text
    posted = re.findall(r'relay_messages_(?:posted)_total\{route="ops",status="204"\} (\S+)', text)
    assert posted == ["30.0"]
    assert len(pids) == 4  # master + 3 workers shared the requests


def test_logs_never_contain_secrets(make_relay, copera, caplog):
    relay = make_relay(ROUTES)
    with caplog.at_level(logging.DEBUG):
        relay.post("ops", {"message": "ok"}, BEARER)
        relay.post("ops", {"message": "x"}, {"Authorization": f"Bearer {SECRET}x"})
        relay.client.post(f"/hooks/ops?token={SECRET}", json={"message": "query token"})
        relay.client.post("/hooks/ops?token=wrong-token-value", json={"message": "bad"})
        relay.work()
    rendered = "\n".join(JsonFormatter().format(r) for r in caplog.records)
    assert rendered and SECRET not in rendered and TOKEN not in rendered
    assert "wrong-token-value" not in rendered


def test_a_secret_logged_by_mistake_is_redacted():
    register_secret("leaky-secret-value-123")
    record = logging.makeLogRecord({"msg": "oops %s", "args": ("leaky-secret-value-123",), "levelname": "INFO"})
    assert "leaky-secret-value-123" not in JsonFormatter().format(record)


def test_config_reload_keeps_old_routes_when_the_new_file_is_invalid(tmp_path, caplog):
    path = tmp_path / "relay.yml"
    path.write_text(yaml.safe_dump({"routes": ROUTES}))
    watcher = ConfigWatcher(str(path), interval=0)
    assert set(watcher.get().routes) == {"ops", "weak"}
    path.write_text(yaml.safe_dump({"routes": {**ROUTES, "new": {**ROUTES["ops"]}}}))
    assert set(watcher.get().routes) == {"ops", "weak", "new"}
    path.write_text("routes: {broken: {source: nope}}")
    with caplog.at_level(logging.ERROR):
        assert set(watcher.get().routes) == {"ops", "weak", "new"}
    assert "keeping the previous routes" in caplog.text


def test_web_process_picks_up_a_changed_routes_file(redis_url, tmp_path):
    from bot import create_app
    from bot.settings import Settings

    path = tmp_path / "routes.yml"
    path.write_text(yaml.safe_dump({"routes": ROUTES}))
    app = create_app(Settings.from_env({"REDIS_URL": redis_url, "RELAY_CONFIG": str(path)}))
    client = app.test_client()
    assert client.post("/hooks/later", json={"message": "x"}, headers=BEARER).status_code == 404
    path.write_text(yaml.safe_dump({"routes": {**ROUTES, "later": ROUTES["ops"]}}))
    app.extensions["relay"].routes.watcher._next_check = 0
    assert client.post("/hooks/later", json={"message": "x"}, headers=BEARER).status_code == 202


@pytest.mark.parametrize("header", ["Authorization", "X-Hub-Signature-256"])
def test_error_bodies_do_not_echo_credentials(make_relay, header):
    relay = make_relay({"gh": {"source": "github", "channel": CHANNEL, "secret": SECRET}, **ROUTES})
    r = relay.post("gh", b"{}", {header: f"sha256={SECRET}", "X-GitHub-Event": "push"})
    assert r.status_code == 401 and SECRET not in r.get_data(as_text=True)


def test_replay_all_shows_progress_on_a_long_list_and_keeps_the_order(make_relay, copera, monkeypatch):
    from bot import operations
    from bot.store.failed import FailedList

    relay = make_relay(ROUTES)
    copera.forbidden = {CHANNEL}
    for i in range(5):
        relay.post("ops", {"message": f"evt-{i}"}, BEARER)
        relay.work()
    copera.forbidden = set()
    monkeypatch.setattr(operations, "REPLAY_BATCH", 2)
    result = relay.app.test_cli_runner().invoke(args=["replay", "--all"])
    assert result.exit_code == 0, result.output
    assert "replaying" in result.output and "queued 5 message(s) again" in result.output
    assert FailedList(relay.redis).count() == 0
    relay.work()
    assert re.findall(r"evt-\d", " ".join(copera.texts(CHANNEL))) == [f"evt-{i}" for i in range(5)]
