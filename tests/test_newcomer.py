"""The newcomer's path (issue 14): commands run through the `flask` entry point, as people type
them, in a directory of their own with its own relay.yml."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CHANNEL

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
