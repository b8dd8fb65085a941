"""The shape the codebase promises: dependencies point one way (workers/ -> bot/), and one module
names every Redis key."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_bot_never_imports_workers():
    offenders = {str(p.relative_to(ROOT)): sorted(n for n in _imports(p) if n.split(".")[0] == "workers")
                 for p in (ROOT / "bot").rglob("*.py")}
    assert {p: n for p, n in offenders.items() if n} == {}


def test_one_module_names_the_relays_redis_keys():
    """Key strings (`relay:...`, RQ's `rq:...`) appear only in bot/store/keys.py; RQ's keys are
    reached through RQ's API."""
    pattern = re.compile(r"""["'](relay|rq):""")
    offenders = [str(p.relative_to(ROOT)) for folder in ("bot", "workers") for p in (ROOT / folder).rglob("*.py")
                 if p != ROOT / "bot" / "store" / "keys.py" and pattern.search(p.read_text())]
    assert offenders == []
