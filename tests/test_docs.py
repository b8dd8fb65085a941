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


def test_every_source_has_fixtures_and_tests():
    from bot.sources import SOURCES

    for name, source in SOURCES.items():
        module = type(source).__module__.rsplit(".", 1)[-1]
        assert list((ROOT / "tests" / "fixtures" / name).glob("*.*")), f"no fixtures for {name}"
        assert (ROOT / "tests" / "sources" / f"test_{module}.py").exists(), f"no tests for {name}"
