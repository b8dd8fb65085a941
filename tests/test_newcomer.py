"""The newcomer's path (issue 14): commands run through the `flask` entry point, as people type
them, in a directory of their own with its own relay.yml."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CHANNEL, OTHER_CHANNEL

ROOT = Path(__file__).resolve().parent.parent
SECRET = "demo-secret-for-tests-0123"
DEMO = f"""routes:
  demo:
    source: generic
    channel: "{CHANNEL}"
    secret: ${{DEMO_SECRET}}
"""


def flask(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """`flask --app bot <args>` in `cwd`, with the caller's environment minus the relay's own
    variables, so that nothing but `env` (and files in `cwd`) configures it."""
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("COPERA_", "RELAY_", "REDIS_", "DEMO_", "METRICS_", "FLASK_"))}
    base.update(PYTHONPATH=str(ROOT), LOG_FORMAT="text", **(env or {}))
    return subprocess.run([sys.executable, "-m", "flask", "--app", "bot", *args], cwd=cwd, env=base,
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def workdir(tmp_path):
    (tmp_path / "relay.yml").write_text(DEMO)
    return tmp_path


def test_hooks_lists_each_route_url_through_the_flask_command(workdir, redis_url):
    result = flask("hooks", "--base-url", "https://relay.example.test/", cwd=workdir,
                   env={"REDIS_URL": redis_url, "DEMO_SECRET": SECRET})
    assert result.returncode == 0, result.stderr
    row = result.stdout.splitlines()[1].split()
    assert row == ["demo", "generic", CHANNEL, "https://relay.example.test/hooks/demo"]


def test_a_json_body_sent_as_a_form_is_read_as_json(make_relay, copera):
    """curl -d without -H 'Content-Type: application/json', as the README's script example once was."""
    relay = make_relay({"scripts": {"source": "generic", "channel": CHANNEL, "secret": SECRET}})
    form = {"Authorization": f"Bearer {SECRET}", "Content-Type": "application/x-www-form-urlencoded"}
    answer = relay.client.post("/hooks/scripts", data=b'{"message": "Backup finished", "level": "success"}',
                               headers=form)
    assert answer.status_code == 202, answer.json
    relay.work()
    assert [m["message"] for m in copera.messages] == ["✅ **Backup finished**"]
    refused = relay.client.post("/hooks/scripts", data=b"message=hello", headers=form)
    assert refused.status_code == 400
    assert "Content-Type: application/json" in refused.json["message"]


def test_read_only_commands_need_no_webhook_secret_and_find_scripts_run_redis(workdir, redis_url):
    (workdir / ".run").mkdir()
    (workdir / ".run" / "env").write_text(f"# written by scripts/run\nREDIS_URL={redis_url}\n")
    for command in (["stats"], ["deliveries"], ["deliveries", "demo"], ["failed"], ["hooks"]):
        result = flask(*command, cwd=workdir)
        assert result.returncode == 0, (command, result.stderr)
    assert "demo" in flask("stats", cwd=workdir).stdout
    # A variable set in the environment wins over the file, and the error says which Redis it tried.
    elsewhere = flask("stats", cwd=workdir, env={"REDIS_URL": "redis://127.0.0.1:1/0"})
    assert elsewhere.returncode == 1 and "REDIS_URL=redis://127.0.0.1:1/0:" in elsewhere.stderr
    (workdir / ".run" / "env").write_text("REDIS_URL=redis://127.0.0.1:1/0\n")
    stale = flask("failed", cwd=workdir)
    assert "(from .run/env, written by scripts/run)" in stale.stderr
    # Commands that act for a route still need its secret.
    assert "environment variable DEMO_SECRET is not set" in flask("send-test", "demo", cwd=workdir).stderr


def test_a_dry_run_is_recorded_as_dry_run_not_as_posted(make_relay, copera, caplog):
    relay = make_relay({"demo": {"source": "generic", "channel": CHANNEL, "secret": SECRET}}, dry_run=True)
    assert relay.post("demo", {"message": "hello"}, {"Authorization": f"Bearer {SECRET}"}).status_code == 202
    with caplog.at_level("INFO", logger="relay.delivery"):
        relay.work()
    assert copera.messages == []
    assert [r.getMessage() for r in caplog.records if r.name == "relay.delivery"] == [
        "dry run: would post", "dry run: not sent"]
    runner = relay.app.test_cli_runner()
    [row] = json.loads(runner.invoke(args=["deliveries", "demo", "--json"]).output)
    assert (row["outcome"], row["copera_status"], row["text"]) == ("dry_run", "-", "🔵 **hello**")
    table = runner.invoke(args=["stats"]).output.splitlines()
    counts = dict(zip(table[0].split()[3:], next(r for r in table if r.startswith("demo ")).split()[1:], strict=True))
    assert (counts["queued"], counts["posted"], counts["dry_run"]) == ("1", "0", "1")
    assert "relay_messages_posted_total{" not in relay.client.get("/metrics").get_data(as_text=True)


def test_the_senders_delivery_id_finds_the_webhook_everywhere(make_relay, copera):
    admin = {"Authorization": "Bearer admin-token-0123456789"}
    relay = make_relay({"demo": {"source": "generic", "channel": CHANNEL, "secret": SECRET}},
                       env={"RELAY_ADMIN_TOKEN": "admin-token-0123456789"})
    copera.forbidden = {CHANNEL}
    sent = [relay.post("demo", {"message": f"m{i}"}, {"Authorization": f"Bearer {SECRET}"}).json["delivery_id"]
            for i in range(3)]
    relay.work()
    runner = relay.app.test_cli_runner()
    listing = runner.invoke(args=["failed"]).output.splitlines()
    assert sorted(line.split()[0] for line in listing) == sorted(sent)
    one = runner.invoke(args=["deliveries", sent[0]]).output.splitlines()
    assert len(one) == 2 and one[1].split()[-1] == sent[0] and " failed " in one[1]
    assert [d["delivery_id"] for d in relay.client.get(f"/admin/deliveries?delivery_id={sent[1]}",
                                                       headers=admin).json["deliveries"]] == [sent[1]]
    picked = relay.client.get(f"/admin/failed?delivery_id={sent[1]}", headers=admin).json
    assert [e["delivery_id"] for e in picked["failed"]] == [sent[1]] and picked["count"] == 3
    copera.forbidden = set()
    replay = runner.invoke(args=["replay", sent[0]])
    assert replay.exit_code == 0 and "queued 1 message(s) again" in replay.output, replay.output
    relay.work()
    assert [m["message"] for m in copera.messages] == ["🔵 **m0**"]
    replay = runner.invoke(args=["replay", "--route", "demo"])
    assert replay.exit_code == 0 and "queued 2 message(s) again" in replay.output
    relay.work()
    assert len(copera.messages) == 2 and "**m1**" in copera.messages[1]["message"]  # one digest of two
    assert "**m2**" in copera.messages[1]["message"]
    missing = runner.invoke(args=["replay", sent[0]])
    assert missing.exit_code == 1 and f"no failed message with delivery id {sent[0]}" in missing.output


def test_each_message_counts_once_and_attempts_are_counted_as_attempts(make_relay, copera):
    """The issue's case: a 403 (which also raises a notice), a replay that fails again, a replay that posts."""
    relay = make_relay({"demo": {"source": "generic", "channel": CHANNEL, "secret": SECRET}},
                       extra={"notices_channel": OTHER_CHANNEL})
    copera.forbidden = {CHANNEL}
    delivery_id = relay.post("demo", {"message": "m"}, {"Authorization": f"Bearer {SECRET}"}).json["delivery_id"]
    relay.work()
    runner = relay.app.test_cli_runner()
    assert "queued 1 message(s)" in runner.invoke(args=["replay", delivery_id]).output
    relay.work()
    copera.forbidden = set()
    assert "queued 1 message(s)" in runner.invoke(args=["replay", delivery_id]).output
    relay.work()
    assert [m["channel"] for m in copera.messages] == [OTHER_CHANNEL, CHANNEL]  # the notice, then the message
    table = runner.invoke(args=["stats"]).output.splitlines()
    counts = dict(zip(table[0].split()[3:], next(r for r in table if r.startswith("demo ")).split()[1:], strict=True))
    assert counts == {"queued": "1", "duplicate": "0", "ignored": "0", "invalid": "0", "unauthorized": "0",
                      "nothing": "0", "posted": "1", "dry_run": "0", "failed": "1", "post_attempts_failed": "2"}
    metrics = relay.client.get("/metrics").get_data(as_text=True)
    assert 'relay_messages_posted_total{route="demo",status="204"} 1.0' in metrics
    assert 'relay_messages_failed_total{route="demo",status="403"} 1.0' in metrics
    assert 'relay_post_attempts_failed_total{route="demo",status="403"} 2.0' in metrics


def test_check_config_lists_every_missing_variable_at_once_and_summarises_routes(tmp_path, redis_url):
    (tmp_path / "relay.yml").write_text((ROOT / "relay.example.yml").read_text())
    failing = flask("check-config", cwd=tmp_path, env={"REDIS_URL": redis_url})
    assert failing.returncode == 1
    for where, name in [("route 'github', field 'channel'", "COPERA_CHANNEL_ID"),
                        ("route 'github', field 'secret'", "GITHUB_WEBHOOK_SECRET"),
                        ("route 'alerts', field 'channels[0].channel'", "COPERA_ONCALL_CHANNEL_ID"),
                        ("route 'alerts', field 'secret'", "ALERTMANAGER_SECRET"),
                        ("route 'scripts', field 'secret'", "SCRIPTS_SECRET")]:
        assert f"{where}: environment variable {name} is not set" in failing.stderr, failing.stderr
    env = {"REDIS_URL": redis_url, "COPERA_CHANNEL_ID": CHANNEL, "COPERA_ONCALL_CHANNEL_ID": OTHER_CHANNEL,
           "GITHUB_WEBHOOK_SECRET": SECRET, "ALERTMANAGER_SECRET": SECRET, "SCRIPTS_SECRET": SECRET}
    ok = flask("check-config", cwd=tmp_path, env=env)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.splitlines()[1:7] == [
        "route github: source github, POST /hooks/github",
        f"  channel: {CHANNEL}",
        "  filters: events push, pull_request, release, workflow_*, deployment_status",
        "route alerts: source alertmanager, POST /hooks/alerts",
        f"  channels: {OTHER_CHANNEL} when severity=['critical'], {CHANNEL}",
        "  filters: none"]


def test_schema_errors_of_every_route_at_once_in_one_notation():
    from bot.config import ConfigError, parse_config

    with pytest.raises(ConfigError) as caught:
        parse_config({"routes": {
            "a": {"source": "alertmanager", "secret": SECRET, "channels": [{"channel": "nope"}]},
            "b": {"source": "generic", "secret": SECRET}}}, {})
    assert str(caught.value) == ("route 'a', field 'channels[0].channel': must be 24 hex characters; "
                                 "route 'b', field 'channel': a route needs a channel (or channels)")


def test_preview_applies_a_routes_filters_rules_and_template_and_names_the_events(tmp_path, redis_url):
    (tmp_path / "relay.yml").write_text(f"""routes:
  deploys:
    source: generic
    channel: "{CHANNEL}"
    secret: ${{UNSET_IN_THIS_TERMINAL}}
    min_severity: warning
    template: "{{{{ message.severity | upper }}}}: {{{{ payload.message }}}}"
  gh:
    source: github
    channel: "{CHANNEL}"
    secret: ${{UNSET_IN_THIS_TERMINAL}}
""")
    (tmp_path / "warn.json").write_text(json.dumps({"message": "disk 91%", "level": "warning"}))
    (tmp_path / "info.json").write_text(json.dumps({"message": "all good"}))
    env = {"REDIS_URL": redis_url}
    assert flask("preview", "deploys", "warn.json", cwd=tmp_path, env=env).stdout == (
        f"to channel {CHANNEL}:\nWARNING: disk 91%\n")
    assert flask("preview", "deploys", "info.json", cwd=tmp_path, env=env).stdout == (
        "nothing to post: severity info is below this route's min_severity warning\n")
    assert flask("preview", "generic", "info.json", cwd=tmp_path, env=env).stdout == "🔵 **all good**\n"
    push = str(ROOT / "tests" / "fixtures" / "github" / "push__commits.json")
    no_event = flask("preview", "gh", push, cwd=tmp_path, env=env)
    assert "github names the event in the X-GitHub-Event header: pass --event, one of " in no_event.stdout + \
        no_event.stderr
    assert "pull_request, pull_request_review" in no_event.stdout + no_event.stderr
    assert flask("preview", "gh", push, "--event", "push", cwd=tmp_path, env=env).stdout.startswith(
        f"to channel {CHANNEL}:\n")


def test_metrics_content_type_has_one_charset_and_a_disabled_admin_api_says_so(make_relay):
    relay = make_relay({"demo": {"source": "generic", "channel": CHANNEL, "secret": SECRET}})
    assert relay.client.get("/metrics").headers["Content-Type"] == "text/plain; version=1.0.0; charset=utf-8"
    for path in ("/admin", "/admin/", "/admin/routes", "/admin/failed?route=demo"):
        answer = relay.client.get(path)
        assert answer.status_code == 404 and answer.json == {
            "error": "admin_disabled", "message": "the admin API is off; set RELAY_ADMIN_TOKEN to turn it on"}, path


def test_send_test_says_when_copera_cannot_be_reached(workdir, redis_url):
    from tests.conftest import TOKEN, free_port

    down = f"http://127.0.0.1:{free_port()}"
    result = flask("send-test", "demo", cwd=workdir, env={"REDIS_URL": redis_url, "DEMO_SECRET": SECRET,
                                                          "COPERA_API_TOKEN": TOKEN, "COPERA_API_URL": down})
    assert result.returncode == 1
    assert f"Error: could not reach Copera at COPERA_API_URL={down}: connection error: ConnectionError" \
        in result.stderr, result.stderr
