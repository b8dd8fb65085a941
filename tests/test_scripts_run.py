"""`./scripts/run` as a newcomer uses it: it starts, accepts a webhook, and Ctrl+C stops it cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parent.parent


def test_ctrl_c_stops_web_worker_and_redis_without_tracebacks(tmp_path):
    port = free_port()
    (tmp_path / "relay.yml").write_text(
        "routes:\n  demo:\n    source: generic\n    channel: '64b7f0c2e4b0a1a2b3c4d5e6'\n    secret: ${DEMO_SECRET}\n")
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "COPERA_API_TOKEN", "RELAY_CONFIG")}
    env.update(PORT=str(port), RELAY_CONFIG=str(tmp_path / "relay.yml"), DEMO_SECRET="demo-secret-for-tests",
               LOG_FORMAT="json")
    # A session of its own, like a terminal's foreground job: Ctrl+C signals the whole group.
    proc = subprocess.Popen(["bash", "scripts/run"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not any("relay on http" in line for line in lines):
            assert proc.poll() is None, "".join(lines)
            time.sleep(0.2)
        deadline = time.time() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                    break
            except OSError:
                assert time.time() < deadline, "".join(lines)
                time.sleep(0.2)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/hooks/demo", data=json.dumps({"message": "hello"}).encode(), method="POST",
            headers={"Content-Type": "application/json", "Authorization": "Bearer demo-secret-for-tests"})
        assert urllib.request.urlopen(request, timeout=10).status == 202
        deadline = time.time() + 30
        while time.time() < deadline and not any("dry run: would post" in line for line in lines):
            time.sleep(0.2)
        # A second terminal: no REDIS_URL, no webhook secret; scripts/run's .run/env points it at the relay.
        second = {k: v for k, v in env.items() if k not in ("DEMO_SECRET", "PORT")}
        stats = subprocess.run([sys.executable, "-m", "flask", "--app", "bot", "stats"], cwd=ROOT, env=second,
                               capture_output=True, text=True, timeout=60)
        assert stats.returncode == 0, stats.stderr
        assert next(row for row in stats.stdout.splitlines() if row.startswith("demo ")).split()[1] == "1"
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    reader.join(5)
    output = "".join(lines)
    assert "dry run: would post" in output
    assert "Traceback" not in output, output
    assert '"msg": "worker stopped"' in output, output
    assert "Shutting down: Master" in output
    assert not (ROOT / ".run" / "env").exists()


@pytest.mark.parametrize("access_log", [False, True])
def test_web_process_logs_only_json_lines_when_asked(tmp_path, redis_url, access_log):
    """gunicorn's own lines (boot, workers, signals) use the relay's JSON format too; access lines
    come only when asked for."""
    from bench.harness import procfile

    port = free_port()
    (tmp_path / "relay.yml").write_text("routes:\n  demo:\n    source: generic\n"
                                        "    channel: '64b7f0c2e4b0a1a2b3c4d5e6'\n    secret: s3cret-for-tests-0123\n")
    env = {**os.environ, "PORT": str(port), "RELAY_CONFIG": str(tmp_path / "relay.yml"), "REDIS_URL": redis_url,
           "LOG_FORMAT": "json", "WEB_CONCURRENCY": "2",
           **({"GUNICORN_CMD_ARGS": "--access-logfile -"} if access_log else {}),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.Popen(["bash", "-c", "exec " + procfile()["web"]], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline = time.time() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                    break
            except OSError:
                assert time.time() < deadline and proc.poll() is None
                time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    lines = [line for line in output.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # fails on any plain-text line
    loggers = {r["logger"] for r in records}
    assert "gunicorn.error" in loggers and "relay" in loggers
    assert any(r["msg"].startswith("Handling signal") for r in records)
    # The health checks above were answered with an access line each only when one was asked for.
    assert ("gunicorn.access" in loggers) == access_log
