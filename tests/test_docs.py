"""The README documents what the code does: its sources table is generated from the registry."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_readme_sources_table_matches_the_registry():
    result = subprocess.run([sys.executable, "scripts/sources_doc.py", "--check"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_readme_names_the_test_command_ci_runs():
    readme = (ROOT / "README.md").read_text()
    assert "./scripts/test" in readme and "./scripts/run" in readme
    assert "./scripts/test" in (ROOT / ".ci" / "run").read_text()


def _readme_variables() -> set[str]:
    import re

    readme = (ROOT / "README.md").read_text()
    table = readme.split("### Environment", 1)[1].split("\n#", 1)[0]
    return {name for row in table.splitlines() if row.startswith("| `")
            for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split("|")[1])}


def test_readme_environment_table_lists_exactly_what_the_processes_read():
    """Settings reads its variables through one mapping: record what it asks for. gunicorn.conf.py
    reads the web server's own; PROMETHEUS_MULTIPROC_DIR is internal (set by gunicorn.conf.py)."""
    import re

    from bot.settings import Settings

    class Recording(dict):
        def __init__(self):
            super().__init__()
            self.asked: set[str] = set()

        def get(self, key, default=None):
            self.asked.add(key)
            return super().get(key, default)

    env = Recording()
    Settings.from_env(env)
    gunicorn = set(re.findall(r"os\.environ\.get\([\"'](\w+)", (ROOT / "gunicorn.conf.py").read_text()))
    read = env.asked | gunicorn - {"PROMETHEUS_MULTIPROC_DIR"}
    assert _readme_variables() == read


def test_no_module_reads_the_environment_behind_settings():
    """Every setting goes through Settings (validated, documented); only the config loader
    (`${VAR}` expansion), the metrics bootstrap and gunicorn.conf.py read os.environ."""
    allowed = {"bot/settings.py", "bot/config.py", "bot/metrics.py"}
    offenders = [str(p.relative_to(ROOT)) for folder in ("bot", "workers") for p in (ROOT / folder).rglob("*.py")
                 if "os.environ" in p.read_text() or "getenv(" in p.read_text()]
    assert sorted(set(offenders) - allowed) == []


def test_a_bad_setting_stops_the_worker_with_its_name(tmp_path):
    import os

    env = {**os.environ, "RELAY_HISTORY_SIZE": "lots", "RELAY_CONFIG": str(tmp_path / "none.yml")}
    result = subprocess.run([sys.executable, "-m", "workers"], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 2
    assert "RELAY_HISTORY_SIZE must be an integer, got 'lots'" in result.stderr
    assert "Traceback" not in result.stderr
