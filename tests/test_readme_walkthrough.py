"""The README's own commands, as a newcomer types them (the bash blocks marked `<!-- newcomer:… -->`),
against the Procfile's processes (gunicorn web + worker), the suite's Redis and the Copera stand-in.
The only change made to a block is the port: the README says 8000, the test takes a free one."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import redis

from bench.harness import procfile
from bot.store.failed import FailedList
from tests.conftest import CHANNEL, OTHER_CHANNEL, TOKEN, free_port, wait_for

ROOT = Path(__file__).resolve().parent.parent
SECRETS = {"DEMO_SECRET": "demo-secret-change-me", "GITHUB_WEBHOOK_SECRET": "gh-secret-for-the-walkthrough",
           "ALERTMANAGER_SECRET": "am-secret-for-the-walkthrough"}


def readme_blocks() -> dict[str, str]:
    readme = (ROOT / "README.md").read_text()
    return {m.group(1): m.group(2)
            for m in re.finditer(r"<!-- newcomer:([a-z-]+)[^>]*-->\n```bash\n(.*?)```", readme, re.S)}


def test_readme_marks_every_walkthrough_block():
    assert set(readme_blocks()) == {"quickstart-post", "second-terminal", "github-signed", "alertmanager",
                                    "not-posting"}


def test_the_readme_commands_work_as_written(tmp_path, redis_url, copera):
    blocks = readme_blocks()
    port = free_port()
    (tmp_path / ".venv").symlink_to(Path(sys.prefix))
    (tmp_path / "relay.yml").write_text(f"""routes:
  demo:
    source: generic
    channel: "{CHANNEL}"
    secret: ${{DEMO_SECRET}}
  github:
    source: github
    channel: "{CHANNEL}"
    secret: ${{GITHUB_WEBHOOK_SECRET}}
  alerts:
    source: alertmanager
    channel: "{OTHER_CHANNEL}"
    secret: ${{ALERTMANAGER_SECRET}}
""")
    shutil.copy(ROOT / "tests" / "fixtures" / "github" / "push__commits.json", tmp_path / "push.json")
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("COPERA_", "RELAY_", "REDIS_", "METRICS_", "FLASK_", "VIRTUAL_ENV"))
             and k not in SECRETS}
    common = {**clean, "PYTHONPATH": str(ROOT), "REDIS_URL": redis_url, "LOG_FORMAT": "json"}
    # The relay's terminal holds the token and the secrets; an operator's terminal and a sender's hold
    # only what the README's commands use.
    relay_env = {**common, **SECRETS, "COPERA_API_TOKEN": TOKEN, "COPERA_API_URL": copera.url, "PORT": str(port),
                 "RELAY_CONFIG": str(tmp_path / "relay.yml"), "WEB_CONCURRENCY": "1",
                 "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    operator_env = {**common, "RELAY_CONFIG": str(tmp_path / "relay.yml")}
    sender_env = {**clean, **SECRETS}
    logs = {kind: open(tmp_path / f"{kind}.log", "wb") for kind in ("web", "worker")}
    procs = [subprocess.Popen(["bash", "-c", "exec " + cmd], cwd=ROOT, env=relay_env, stdout=logs[kind],
                              stderr=subprocess.STDOUT, start_new_session=True)
             for kind, cmd in procfile().items()]

    def run(name: str, env: dict) -> str:
        script = blocks[name].replace("127.0.0.1:8000", f"127.0.0.1:{port}")
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, (name, done.stdout, done.stderr)
        return done.stdout

    def answers(output: str) -> list[dict]:
        return [json.loads(line) for line in output.splitlines() if line.startswith("{")]

    try:
        assert wait_for(lambda: _healthy(port), 30), (tmp_path / "web.log").read_text()
        [queued] = answers(run("quickstart-post", sender_env))
        assert queued["status"] == "queued"
        assert wait_for(lambda: len(copera.messages) == 1, 20), (tmp_path / "worker.log").read_text()
        assert copera.messages[0]["channel"] == CHANNEL
        assert copera.messages[0]["message"].startswith("✅ **Backup finished**")

        second = run("second-terminal", operator_env)
        row = next(line for line in second.splitlines() if queued["delivery_id"] in line).split()
        assert row[2:7] == ["demo", "message", "posted", "204", "1"]
        assert '"text": "✅ **Backup finished**' in second

        assert [a["status"] for a in answers(run("github-signed", sender_env))] == ["queued"]
        assert [a["status"] for a in answers(run("alertmanager", sender_env))] == ["queued"]
        assert wait_for(lambda: len(copera.messages) == 3, 20), (tmp_path / "worker.log").read_text()
        by_channel = {m["channel"]: m["message"] for m in copera.messages[1:]}
        assert "DiskFull" in by_channel[OTHER_CHANNEL] and "db-1" in by_channel[OTHER_CHANNEL]
        assert "push" in by_channel[CHANNEL].lower() or "commit" in by_channel[CHANNEL].lower()

        # "It's not posting": the channel refuses the integration, then it is added and the message replayed.
        copera.forbidden = {CHANNEL}
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/hooks/demo", data=b'{"message": "Restore test finished"}', method="POST",
            headers={"Authorization": f"Bearer {SECRETS['DEMO_SECRET']}", "Content-Type": "application/json"})
        refused_id = json.loads(urllib.request.urlopen(request, timeout=10).read())["delivery_id"]
        failed = FailedList(redis.Redis.from_url(redis_url))
        assert wait_for(lambda: failed.count() == 1, 20), (tmp_path / "worker.log").read_text()
        copera.forbidden = set()
        activated = {**operator_env, "PATH": f"{tmp_path / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}"}
        report = run("not-posting", activated).splitlines()  # the terminal of "second-terminal"
        row = next(line for line in report if line.endswith(refused_id)).split()
        assert row[2:7] == ["demo", "message", "failed", "403", "1"]
        assert any(line.startswith(f"{refused_id}  route=demo channel={CHANNEL} status=403") for line in report)
        assert report[-1] == "queued 1 message(s) again"
        assert wait_for(lambda: len(copera.messages) == 4, 20), (tmp_path / "worker.log").read_text()
        assert copera.messages[3]["message"] == "🔵 **Restore test finished**"
    finally:
        for proc in procs:
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as answer:
            return answer.status == 200
    except OSError:
        return False
