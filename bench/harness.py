"""Boots the relay the way a PaaS does (the Procfile's `web` and `worker`), next to a private
redis-server and the test suite's Copera stand-in, for the benchmarks in this folder."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.copera_stub import CoperaStub  # noqa: E402

TOKEN = "cp_key_bench_token_0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def procfile() -> dict[str, str]:
    kinds = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#") and ":" in line:
            kind, cmd = line.split(":", 1)
            kinds[kind.strip()] = cmd.strip()
    return kinds


class Stack:
    """Redis + Copera stand-in + the relay's processes; use as a context manager."""

    def __init__(self, routes: dict, env: dict | None = None, kinds=("web", "worker"), workers: int = 1):
        self.routes = routes
        self.extra_env = env or {}
        self.kinds = kinds
        self.workers = workers
        self.procs: list[subprocess.Popen] = []

    def __enter__(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="relay-bench-"))
        self.redis_port = free_port()
        self.port = free_port()
        self.procs.append(subprocess.Popen(
            ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.tmp)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        self.copera = CoperaStub(TOKEN).start()
        (self.tmp / "relay.yml").write_text(yaml.safe_dump({"routes": self.routes}))
        self.env = {**os.environ, "PORT": str(self.port), "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
                    "COPERA_API_TOKEN": TOKEN, "COPERA_API_URL": self.copera.url,
                    "RELAY_CONFIG": str(self.tmp / "relay.yml"), "LOG_FORMAT": "json",
                    "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
                    **self.extra_env}
        kinds = procfile()
        for kind in self.kinds:
            for i in range(self.workers if kind == "worker" else 1):
                log = open(self.tmp / f"{kind}{i}.log", "wb")
                self.procs.append(subprocess.Popen(["bash", "-c", "exec " + kinds[kind]], cwd=ROOT, env=self.env,
                                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        if "web" in self.kinds:
            self.wait_healthy()
        return self

    def wait_healthy(self, timeout: float = 60):
        end = time.time() + timeout
        while time.time() < end:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise SystemExit(f"relay did not become healthy; logs in {self.tmp}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def pids(self, kind: str) -> list[int]:
        """PIDs of a process type and its children (gunicorn workers)."""
        index = 1 + list(self.kinds).index(kind) if kind in self.kinds else None
        if index is None:
            return []
        root = self.procs[index].pid
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(root)], capture_output=True, text=True).stdout
        return [root] + [int(p) for p in out.split()]

    def __exit__(self, *exc):
        for p in reversed(self.procs[1:]):
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for p in reversed(self.procs[1:]):
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
        self.procs[0].terminate()
        self.procs[0].wait(10)
        self.copera.stop()
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(self.tmp, ignore_errors=True)


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except FileNotFoundError:
        pass
    return 0.0
