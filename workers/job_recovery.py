"""Re-runs format jobs whose worker process died mid-job (SIGKILL, OOM, a dyno restart).

RQ notices abandoned jobs only through its periodic maintenance, whose lock a killed worker can
hold for 15 minutes. Instead, each worker process keeps a short-lived "alive" key fresh, and the
recovery sweep puts back on the queue any started job whose worker's key is gone, and any job
stuck between RQ's dequeue and its started registry. Re-running is safe: a job's messages enter
the outbox at most once per delivery (see `Outbox.push`).
"""

from __future__ import annotations

import logging
import threading
import time

import redis
from rq import Queue
from rq.serializers import JSONSerializer

from bot.store import keys

log = logging.getLogger("relay.recovery")

ALIVE_SECONDS = 10
STUCK_SECONDS = 10


def _alive_key(worker_name: str) -> str:
    return keys.alive(worker_name)


class JobRecovery:
    def __init__(self, connection: redis.Redis, queue_name: str):
        self.redis = connection
        self.queue = Queue(queue_name, connection=connection, serializer=JSONSerializer)
        self.worker_name: str | None = None
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None

    def beat(self) -> None:
        if self.worker_name:
            self.redis.set(_alive_key(self.worker_name), "1", ex=ALIVE_SECONDS)

    def start_heartbeat(self, every: float = 2.0) -> None:
        def loop():
            while not self._stop.wait(every):
                try:
                    self.beat()
                except redis.RedisError:
                    pass

        self._heartbeat = threading.Thread(target=loop, name="alive-heartbeat", daemon=True)
        self._heartbeat.start()

    def stop(self) -> None:
        self._stop.set()
        # A beat in progress would write the key again after the delete below, and the process
        # would look alive for another ALIVE_SECONDS.
        if self._heartbeat is not None and self._heartbeat is not threading.current_thread():
            self._heartbeat.join(timeout=5)
        if self.worker_name:
            try:
                self.redis.delete(_alive_key(self.worker_name))
            except redis.RedisError:
                pass

    def sweep(self) -> int:
        """Requeues orphaned jobs; returns how many."""
        registry = self.queue.started_job_registry
        # Raw registry entries ("<job id>:<execution id>"): an execution's own hash may already
        # have expired when its worker died, so RQ's helpers that load executions would fail.
        entries = [e.decode() for e in self.redis.zrange(registry.key, 0, -1)]
        started = {registry.parse_job_id(e) for e in entries}
        requeued = 0
        for entry in entries:
            job = self.queue.fetch_job(registry.parse_job_id(entry))
            if job is None:
                self.redis.zrem(registry.key, entry)
            elif job.worker_name and not self.redis.exists(_alive_key(job.worker_name)):
                self._requeue(job, [entry])
                requeued += 1
        intermediate = self.queue.intermediate_queue
        now = time.time()
        for job_id in intermediate.get_job_ids():
            if job_id in started:
                continue
            key = keys.stuck_since(job_id)
            if self.redis.set(key, now, nx=True, ex=3600):
                continue
            if now - float(self.redis.get(key) or now) > STUCK_SECONDS:
                job = self.queue.fetch_job(job_id)
                intermediate.remove(job_id)
                self.redis.delete(key)
                if job is not None:
                    self._requeue(job, [])
                    requeued += 1
        if requeued:
            log.warning("re-queued jobs of a dead worker", extra={"jobs": requeued})
        return requeued

    def _requeue(self, job, entries: list[str]) -> None:
        # The dead execution's record would make RQ fail when the re-run finishes, so it goes
        # first. A crash between these steps leaves the job for the next sweep; running a job
        # twice is harmless (its messages enter the outbox once).
        self.redis.delete(job.execution_registry.key)
        self.queue.enqueue_job(job, at_front=True)
        if entries:
            self.redis.zrem(self.queue.started_job_registry.key, *entries)
