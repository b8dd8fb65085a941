"""Seeded chaos against the relay's processes, and the accounting check that follows it.

The processes are started as the Procfile says (`web` once, `worker` several times) next to a
redis-server with AOF persistence and the Copera stand-in. A sender posts webhooks over HTTP while a
schedule drawn from `random.Random(seed)` makes Copera slow (beyond the lease), flaky or down,
SIGKILLs and SIGTERMs workers (restarting them, as a PaaS does), restarts Redis and reloads the
routes file. Afterwards every webhook answered 202 must be in exactly one visible terminal state:
posted (its marker reached Copera), on the failed list with a reason, or "nothing to post" with a
reason; and `flask --app bot stats` must agree with those counts.

Used by `tests/test_chaos.py` (CI, a few seeds) and `bench/chaos.py` (many seeds, on demand).
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import redis
import yaml
from rq import Queue
from rq.serializers import JSONSerializer

from bench.harness import free_port, procfile
from tests.copera_stub import CoperaStub

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "cp_key_chaos_token_0123456789"
SECRET = "chaos-secret-0123456789abcdef"
QUEUE_NAME = "relay-webhooks"  # bot.enqueue.QUEUE_NAME, spelt here so an older checkout can be driven too
MARKER = re.compile(r"mk(\d+)x(\d+)")

# Lease and timing knobs that make a run short: a 2 s lease (the smallest allowed) that a 3.5 s
# Copera outlasts, and a maximum delivery age that turns an outage into failed entries with a
# reason rather than a wait of a day. Copera's limit and the relay's are raised from 100 to
# 6,000 a minute, or 500 posts alone would take five minutes.
LEASE_SECONDS = 2
SLOW_SECONDS = 3.5
MAX_DELIVERY_AGE = 20
RATE_LIMIT = 6000
DELIVERY_THREADS = 4
DIGEST_MAX_ITEMS = 200  # workers.digest.MAX_ITEMS: the most items one post (one in-flight batch) holds

CHANNELS = {"ops": "c0ffee000000000000000001", "dev": "c0ffee000000000000000002",
            "builds": "c0ffee000000000000000003", "forbidden": "c0ffee000000000000000004",
            "extra": "c0ffee000000000000000005"}
LEVELS = ["info", "warning", "error", "critical", "success"]

COPERA_MODES = {  # name: (delay, flaky share, down)
    "normal": (0.0, 0.0, False),
    "slow": (SLOW_SECONDS, 0.0, False),
    "flaky": (0.0, 0.4, False),
    "slow+flaky": (SLOW_SECONDS, 0.4, False),
    "down": (0.0, 0.0, True),
}


def routes_document(sender_name: str = "Dev", with_extra: bool = True) -> dict:
    """`ops` drops info messages (nothing to post, with the reason), Copera refuses `forbidden`'s
    channel (403: the failed list), and a reload may remove `extra` while its jobs wait."""
    routes = {
        "ops": {"source": "generic", "channel": CHANNELS["ops"], "secret": SECRET, "min_severity": "warning"},
        "dev": {"source": "generic", "channel": CHANNELS["dev"], "secret": SECRET, "sender_name": sender_name},
        "builds": {"source": "generic", "channel": CHANNELS["builds"], "secret": SECRET},
        "forbidden": {"source": "generic", "channel": CHANNELS["forbidden"], "secret": SECRET},
    }
    if with_extra:
        routes["extra"] = {"source": "generic", "channel": CHANNELS["extra"], "secret": SECRET}
    return {"routes": routes}


@dataclass(frozen=True)
class Plan:
    seed: int
    webhooks: int = 500
    rate: float = 12.0  # webhooks offered per second
    workers: int = 2
    quiesce_timeout: float = 90.0

    @property
    def duration(self) -> float:
        return self.webhooks / self.rate


def schedule(plan: Plan) -> list[tuple[float, str, str]]:
    """(second, action, argument) events, sorted; the same seed always gives the same schedule."""
    rng = random.Random(plan.seed)
    span = plan.duration
    events, t, modes = [], 0.5, []
    while t < span:
        if not modes:  # every mode once, in a seeded order, before any repeats
            modes = list(COPERA_MODES)
            rng.shuffle(modes)
        events.append((t, "copera", modes.pop()))
        t += rng.uniform(3.0, 8.0)
    per = max(1, round(span / 20))
    for action, count in (("sigkill", per + 1), ("sigterm", per), ("redis", per), ("reload", per + 1)):
        for _ in range(count):
            events.append((rng.uniform(2.0, span), action, str(rng.randrange(plan.workers))))
    return sorted(events)


@dataclass
class Accepted:
    index: int
    route: str
    level: str
    delivery_id: str
    answer: int  # 202, or 200 "duplicate" when a lost 202 was retried


@dataclass
class Result:
    plan: Plan
    offered: int = 0
    accepted: list[Accepted] = field(default_factory=list)
    refused: Counter = field(default_factory=Counter)  # final non-2xx answers (404 of a removed route)
    posted: int = 0
    failed: int = 0
    nothing: int = 0
    maybe_posted: int = 0  # posted, then failed for good after its worker died: listed as "may be in the channel"
    lost: list[str] = field(default_factory=list)
    multiple: list[str] = field(default_factory=list)  # in more than one terminal state
    duplicated: dict[str, int] = field(default_factory=dict)  # delivery id -> times posted
    stats_disagreements: list[str] = field(default_factory=list)
    history_disagreements: list[str] = field(default_factory=list)  # `deliveries` names another end
    quiescent: bool = False
    late_acks: int = 0  # "posted after the channel's lease expired" in the workers' logs
    kills: int = 0
    sigterms: int = 0
    redis_restarts: int = 0
    reloads: int = 0
    details: dict[str, dict] = field(default_factory=dict)  # history of lost/multiple deliveries
    logs: str = ""

    @property
    def clean(self) -> bool:
        return self.quiescent and not (self.lost or self.multiple or self.stats_disagreements
                                       or self.history_disagreements)

    @property
    def duplicate_bound(self) -> int:
        """Only a post whose acknowledgement never reached Redis can repeat: a killed worker's
        in-flight batches, or every worker's when Redis restarts mid-post."""
        events = self.kills + self.redis_restarts * self.plan.workers
        return events * DELIVERY_THREADS * DIGEST_MAX_ITEMS

    def summary(self) -> str:
        return (f"chaos seed={self.plan.seed} webhooks={self.offered} accepted={len(self.accepted)} "
                f"posted={self.posted} failed={self.failed} nothing={self.nothing} maybe_posted={self.maybe_posted} "
                f"lost={len(self.lost)} "
                f"duplicated={len(self.duplicated)} kills={self.kills} sigterms={self.sigterms} "
                f"redis_restarts={self.redis_restarts} reloads={self.reloads} late_acks={self.late_acks} "
                f"quiescent={self.quiescent}")


class Chaos:
    """One run: the stack, the sender, the schedule, then the accounting."""

    def __init__(self, plan: Plan, root: Path = ROOT):
        self.plan = plan
        self.root = Path(root)
        self.rng = random.Random(plan.seed)
        self.result = Result(plan)
        self.tmp = Path(tempfile.mkdtemp(prefix=f"relay-chaos-{plan.seed}-"))
        self.workers: list[subprocess.Popen | None] = [None] * plan.workers
        self.procs_lock = threading.Lock()
        self.restarters: list[threading.Thread] = []
        self.reload_count = 0
        self.web = self.redis_proc = self.copera = None

    # -- the stack -------------------------------------------------------------------------------
    def start(self) -> None:
        self.redis_port, self.port = free_port(), free_port()
        self.start_redis()
        self.copera = CoperaStub(TOKEN).start()
        self.copera.limit_per_minute = RATE_LIMIT
        self.copera.forbidden = {CHANNELS["forbidden"]}
        self.copera.rng = random.Random(self.plan.seed)
        self.write_routes(routes_document())
        bin_dir = Path(sys.executable).parent
        self.env = {
            **os.environ, "PORT": str(self.port), "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "COPERA_API_TOKEN": TOKEN, "COPERA_API_URL": self.copera.url, "RELAY_CONFIG": str(self.tmp / "relay.yml"),
            "LOG_FORMAT": "json", "RELAY_LEASE_SECONDS": str(LEASE_SECONDS),
            "COPERA_RATE_LIMIT_PER_MINUTE": str(RATE_LIMIT), "RELAY_MAX_DELIVERY_AGE": str(MAX_DELIVERY_AGE),
            "RELAY_DELIVERY_THREADS": str(DELIVERY_THREADS), "RELAY_HISTORY_SIZE": "100000",
            "WEB_CONCURRENCY": "1", "PROMETHEUS_MULTIPROC_DIR": str(self.tmp),
            "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        }
        self.commands = procfile()
        self.web = self.spawn("web", "web")
        for slot in range(self.plan.workers):
            self.workers[slot] = self.spawn("worker", f"worker{slot}")
        self.wait_healthy()

    def spawn(self, kind: str, name: str) -> subprocess.Popen:
        log = open(self.tmp / f"{name}.log", "ab")
        return subprocess.Popen(["bash", "-c", "exec " + self.commands[kind]], cwd=self.root, env=self.env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def start_redis(self) -> None:
        self.redis_proc = subprocess.Popen(
            ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes", "--appendfsync", "always", "--dir", str(self.tmp)],
            stdout=open(self.tmp / "redis.log", "ab"), stderr=subprocess.STDOUT)
        client = redis.Redis(port=self.redis_port)
        for _ in range(200):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
            except redis.ResponseError:  # LOADING the AOF
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def wait_healthy(self, timeout: float = 60.0) -> None:
        end = time.time() + timeout
        while time.time() < end:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"the web process did not become healthy; logs in {self.tmp}")

    def write_routes(self, document: dict) -> None:
        """Replaces the routes file in one rename, as an editor or a config tool does."""
        staging = self.tmp / "relay.yml.new"
        staging.write_text(yaml.safe_dump(document))
        os.replace(staging, self.tmp / "relay.yml")

    def stop(self) -> None:
        for t in self.restarters:
            t.join(40)
        for proc in [self.web, *self.workers]:
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in [self.web, *self.workers]:
            if proc is None:
                continue
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        if self.redis_proc is not None:
            self.redis_proc.terminate()
            self.redis_proc.wait(10)
        if self.copera is not None:
            self.copera.stop()
        r = self.result
        r.late_acks = sum(log.read_text(errors="replace").count("posted after the channel's lease expired")
                          for log in self.tmp.glob("worker*.log"))
        if r.clean and not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(self.tmp, ignore_errors=True)
            r.logs = "(removed after a clean run; BENCH_KEEP=1 keeps them)"
        else:
            r.logs = str(self.tmp)

    # -- the schedule ----------------------------------------------------------------------------
    def apply(self, action: str, arg: str) -> None:
        if action == "copera":
            self.set_copera(arg)
        elif action in ("sigkill", "sigterm"):
            self.signal_worker(int(arg), signal.SIGKILL if action == "sigkill" else signal.SIGTERM)
        elif action == "redis":
            self.restart_redis()
        elif action == "reload":
            self.reload_routes()

    def set_copera(self, mode: str) -> None:
        delay, flaky, down = COPERA_MODES[mode]
        with self.copera.lock:
            self.copera.delay, self.copera.flaky = delay, flaky
            self.copera.mode = "down" if down else "ok"

    def signal_worker(self, slot: int, sig: int) -> None:
        """Signals a worker and starts a new one in its place once it has exited (a PaaS restart)."""
        with self.procs_lock:
            proc = self.workers[slot]
            if proc is None or proc.poll() is not None:
                return
            self.workers[slot] = None
        proc.send_signal(sig)
        if sig == signal.SIGKILL:
            self.result.kills += 1
        else:
            self.result.sigterms += 1

        def restart():
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:  # a graceful stop that hangs is a kill after all
                proc.kill()
                proc.wait(10)
                self.result.kills += 1
            with self.procs_lock:
                self.workers[slot] = self.spawn("worker", f"worker{slot}")

        thread = threading.Thread(target=restart, daemon=True)
        thread.start()
        self.restarters.append(thread)

    def restart_redis(self) -> None:
        self.redis_proc.terminate()
        self.redis_proc.wait(30)
        time.sleep(0.5)
        self.start_redis()
        self.result.redis_restarts += 1

    def reload_routes(self) -> None:
        """A benign edit (another sender name on `dev`), and every other time `extra` removed or back;
        the workers are told with SIGHUP, the web process notices the file's change itself."""
        self.reload_count += 1
        self.write_routes(routes_document(sender_name=f"Dev {self.reload_count}",
                                          with_extra=self.reload_count % 2 == 0))
        with self.procs_lock:
            for proc in self.workers:
                if proc is not None and proc.poll() is None:
                    proc.send_signal(signal.SIGHUP)
        self.result.reloads += 1

    # -- the sender --------------------------------------------------------------------------------
    def webhook(self, index: int) -> tuple[str, str, bytes]:
        route = self.rng.choice(["ops", "ops", "dev", "builds", "forbidden", "extra"])
        level = self.rng.choice(LEVELS)
        marker = f"mk{self.plan.seed}x{index}"
        body = {"message": f"chaos event {marker} on {route}", "title": "chaos event", "level": level}
        return route, level, json.dumps(body).encode()

    def send_all(self) -> None:
        """Posts at a steady rate; like a real sender, retries a 503, a 5xx or a connection error
        until answered (only a 202, or the 200 "duplicate" of a retried 202, counts as accepted)."""
        started = time.time()
        for index in range(self.plan.webhooks):
            pause = started + index / self.plan.rate - time.time()
            if pause > 0:
                time.sleep(pause)
            route, level, body = self.webhook(index)
            self.result.offered += 1
            status, answer = self.post(route, body)
            if status in (200, 202) and answer.get("delivery_id"):
                self.result.accepted.append(Accepted(index, route, level, answer["delivery_id"], status))
            else:
                self.result.refused[status] += 1

    def post(self, route: str, body: bytes, give_up_after: float = 120.0) -> tuple[int, dict]:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/hooks/{route}", data=body, method="POST",
                                         headers={"Content-Type": "application/json",
                                                  "Authorization": f"Bearer {SECRET}"})
        end = time.time() + give_up_after
        while True:
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    return response.status, json.loads(response.read() or b"{}")
            except urllib.error.HTTPError as exc:
                if exc.code < 500 or time.time() > end:
                    return exc.code, {}
            except OSError:
                if time.time() > end:
                    return 0, {}
            time.sleep(0.25)

    # -- the run -------------------------------------------------------------------------------
    def run(self) -> Result:
        try:
            self.start()
            sender = threading.Thread(target=self.send_all, daemon=True)
            began = time.time()
            sender.start()
            for at, action, arg in schedule(self.plan):
                pause = began + at - time.time()
                if pause > 0:
                    time.sleep(pause)
                self.apply(action, arg)
            sender.join()
            for t in self.restarters:
                t.join(40)
            self.set_copera("normal")
            self.write_routes(routes_document(sender_name="Dev", with_extra=True))
            self.result.quiescent = self.wait_quiescent(self.plan.quiesce_timeout)
            self.account()
        finally:
            self.stop()
        return self.result

    def flask(self, *args: str) -> str:
        """A `flask --app bot` command, run as an operator types it."""
        done = subprocess.run(["flask", "--app", "bot", *args], cwd=self.root, env=self.env, capture_output=True,
                              text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"flask --app bot {' '.join(args)} failed: {done.stderr[-2000:]}")
        return done.stdout

    def backlog(self) -> dict[str, int]:
        """What `stats` says waits, and the RQ registries it does not show (retries, running jobs)."""
        text = self.flask("stats")
        queued = int(re.search(r"queued for formatting: (\d+)", text).group(1))
        waiting = int(re.search(r"waiting to post: (\d+)", text).group(1))
        queue = Queue(QUEUE_NAME, connection=redis.Redis(port=self.redis_port), serializer=JSONSerializer)
        return {"queued": queued, "waiting": waiting, "scheduled": queue.scheduled_job_registry.count,
                "started": queue.started_job_registry.count,
                "intermediate": len(queue.intermediate_queue.get_job_ids())}

    def wait_quiescent(self, timeout: float) -> bool:
        end, calm = time.time() + timeout, 0
        while time.time() < end:
            calm = calm + 1 if not any(self.backlog().values()) else 0
            if calm >= 2:
                return True
            time.sleep(1.0)
        return False

    # -- the accounting ----------------------------------------------------------------------------
    def account(self) -> None:
        r = self.result
        failed_entries = json.loads(self.flask("failed", "--json", "--limit", "1000000"))
        history = {e["delivery_id"]: e for e in json.loads(self.flask("deliveries", "--json", "--limit", "1000000"))}
        stats_text = self.flask("stats")
        failed_ids = {e["delivery_id"] for e in failed_entries if e.get("reason")}
        # Copera accepted a post whose worker died before the acknowledgement, and every retry then
        # failed: the failed entry says it may already be in the channel, which is its one state.
        maybe_posted_ids = {e["delivery_id"] for e in failed_entries if e.get("maybe_posted")}
        posts = Counter(int(m.group(2)) for text in self.copera.texts() for m in MARKER.finditer(text)
                        if int(m.group(1)) == self.plan.seed)
        ends = ["posted", "failed", "nothing to post"]  # as `deliveries` names them
        for a in r.accepted:
            entry = history.get(a.delivery_id, {})
            states = [posts[a.index] > 0, a.delivery_id in failed_ids,
                      entry.get("outcome") == "nothing to post" and bool(entry.get("reason"))]
            if states[0] and a.delivery_id in maybe_posted_ids:
                states[0] = False
                r.maybe_posted += 1
            r.posted += states[0]
            r.failed += states[1]
            r.nothing += states[2]
            if posts[a.index] > 1:
                r.duplicated[a.delivery_id] = posts[a.index]
            if sum(states) == 1 and entry.get("outcome") != ends[states.index(True)]:
                r.history_disagreements.append(f"{a.delivery_id} is {ends[states.index(True)]}, "
                                               f"but `deliveries` says {entry.get('outcome')!r}")
            if sum(states) != 1:
                (r.lost if not any(states) else r.multiple).append(a.delivery_id)
                r.details[a.delivery_id] = {"route": a.route, "level": a.level, "index": a.index,
                                            "posts": posts[a.index], "on_failed_list": states[1],
                                            "history": entry}
        self.compare_stats(stats_text, failed_entries, posts, history)

    def compare_stats(self, text: str, failed_entries: list[dict], posts: Counter, history: dict) -> None:
        """`stats` per route: queued = accepted; nothing = webhooks `deliveries` shows as "nothing to
        post"; failed = entries on the failed list; posted lies
        between the distinct webhooks posted and the posts Copera saw (a post whose acknowledgement
        was lost is counted once, by the worker that posted it again); nothing waits."""
        r, rows = self.result, {}
        maybe_posted = {e["delivery_id"] for e in failed_entries if e.get("maybe_posted")}
        columns = text.splitlines()[0].split()[3:]  # after "route (last hour)"
        for line in text.splitlines():
            cells = line.split()
            if len(cells) == len(columns) + 1 and cells[0] in CHANNELS:
                rows[cells[0]] = dict(zip(columns, map(int, cells[1:]), strict=True))
        for route in CHANNELS:
            row = rows.get(route)
            if row is None:
                r.stats_disagreements.append(f"stats shows no row for route {route}")
                continue
            mine = [a for a in r.accepted if a.route == route]
            failed = sum(1 for e in failed_entries if e["route"] == route)
            distinct = sum(1 for a in mine if posts[a.index] and a.delivery_id not in maybe_posted)
            seen = sum(posts[a.index] for a in mine)
            if row["queued"] != len(mine):
                r.stats_disagreements.append(f"{route}: stats queued {row['queued']}, accepted {len(mine)}")
            nothing = sum(1 for a in mine if history.get(a.delivery_id, {}).get("outcome") == "nothing to post")
            if row["nothing"] != nothing:
                r.stats_disagreements.append(f"{route}: stats nothing {row['nothing']}, deliveries {nothing}")
            if row["failed"] != failed:
                r.stats_disagreements.append(f"{route}: stats failed {row['failed']}, failed list {failed}")
            if not distinct <= row["posted"] <= seen:
                r.stats_disagreements.append(f"{route}: stats posted {row['posted']}, distinct posted {distinct}, "
                                             f"posts seen by Copera {seen}")
        footer = re.search(r"queued for formatting: (\d+)\s+waiting to post: (\d+).*failed: (\d+)", text)
        if footer is None:
            r.stats_disagreements.append("stats has no backlog line")
        elif footer.groups() != ("0", "0", str(len(failed_entries))):
            r.stats_disagreements.append(f"stats backlog line {footer.group(0)!r}; failed list {len(failed_entries)}")


def run(plan: Plan, root: Path = ROOT) -> Result:
    return Chaos(plan, root).run()
