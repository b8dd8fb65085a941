"""Shared fixtures: a private redis-server on a free port (never the user's 6379), a Copera stand-in
on loopback, and a relay (Flask app + worker runtime) wired to both."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import redis
import yaml

from bot import create_app
from bot.config import parse_config
from bot.settings import Settings
from tests.copera_stub import CoperaStub
from workers import runtime as runtime_module

TOKEN = "cp_key_test_token_0123456789"
CHANNEL = "64b7f0c2e4b0a1a2b3c4d5e6"
OTHER_CHANNEL = "64b7f0c2e4b0a1a2b3c4d5e7"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition, timeout: float, interval: float = 0.05) -> bool:
    """Polls `condition` until it holds or `timeout` passes; returns its last value."""
    end = time.time() + timeout
    while time.time() < end:
        if condition():
            return True
        time.sleep(interval)
    return condition()


class RedisServer:
    """A throwaway redis-server process the suite owns."""

    def __init__(self, tmp: Path):
        if not shutil.which("redis-server"):
            pytest.exit("redis-server is not installed; run ./scripts/test, which installs it", returncode=2)
        self.tmp = tmp
        self.port = free_port()
        self.proc = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.tmp)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server):
    if redis_server.proc.poll() is not None:
        redis_server.start()
    redis.Redis.from_url(redis_server.url).flushall()
    return redis_server.url


@pytest.fixture(scope="session")
def copera_session():
    stub = CoperaStub(TOKEN).start()
    yield stub
    stub.stop()


@pytest.fixture
def copera(copera_session):
    copera_session.reset()
    return copera_session


class Relay:
    """The web app and an in-process worker runtime sharing one routes document."""

    def __init__(self, routes: dict, env: dict, extra: dict | None = None):
        document = {"routes": routes, **(extra or {})}
        self.settings = Settings.from_env(env)
        self.config = parse_config(document, env)
        self.app = create_app(self.settings, self.config)
        self.client = self.app.test_client()
        self.runtime = runtime_module.install(runtime_module.Runtime(self.settings, self.config))
        self.redis = self.runtime.redis

    def post(self, route: str, body, headers=None, **kw):
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        return self.client.post(f"/hooks/{route}", data=data, headers=hdrs, **kw)

    def work(self, timeout: float = 10.0):
        """Runs queued jobs (burst, in this process) and then the delivery loop until idle."""
        from rq.serializers import JSONSerializer

        from bot.enqueue import QUEUE_NAME
        from workers.__main__ import RelayWorker

        RelayWorker([QUEUE_NAME], connection=self.redis, serializer=JSONSerializer).work(burst=True)
        self.runtime.dispatcher.drain(timeout)


@pytest.fixture
def make_relay(redis_url, copera, tmp_path):
    made = []

    def make(routes: dict, env: dict | None = None, extra: dict | None = None, dry_run: bool = False) -> Relay:
        full_env = {
            "REDIS_URL": redis_url,
            "COPERA_API_URL": copera.url,
            "RELAY_CONFIG": str(tmp_path / "relay.yml"),
            "LOG_FORMAT": "json",
            **({} if dry_run else {"COPERA_API_TOKEN": TOKEN}),
            **(env or {}),
        }
        (tmp_path / "relay.yml").write_text(yaml.safe_dump({"routes": routes, **(extra or {})}))
        relay = Relay(routes, full_env, extra)
        made.append(relay)
        return relay

    yield make
    runtime_module.install(None)
