"""Worker liveness: heartbeat keys each worker process re-creates, and the rows its current job holds.

Every `AppWorker` process (and every work horse it forks) runs a small heartbeat thread that writes
``laurel:alive:<name>`` every ``WORKER_HEARTBEAT_SECONDS`` with a time to live of three periods. The
value says which outbox/delivery/render rows the running job has claimed (`hold`). So:

- a worker killed with ``kill -9`` stops beating: after three periods its rows are listed nowhere
  and the recovery sweep frees them (`services/recovery.abandoned_steps`), within about a minute;
- a job that ended without finishing its row (the database dropped before its last commit) no
  longer lists it either: freed the same way, while the worker lives on;
- a Redis flush removes the keys, but the threads write them again within one period; until the
  keys have existed for a full time to live, `snapshot` answers None and nobody is judged dead.

The thread beats independently of the job, so a long in-process job never makes its worker look
dead, and `/healthz` (services/health.py) sees live workers again a few seconds after a flush.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
from dataclasses import dataclass, field

import redis

PREFIX = "laurel:alive:"
#: The names of the processes that beat (re-added by every beat), so readers need no key scan.
NAMES_KEY = "laurel:alive-names"
#: Set (without expiry) by the first heartbeat after Redis starts empty: liveness is trusted only
#: once every live process has had a full time to live to report itself.
SINCE_KEY = "laurel:alive-since"
TTL_PERIODS = 3

_held: set[str] = set()
_held_lock = threading.Lock()
_heartbeat: Heartbeat | None = None
_start_lock = threading.Lock()


def hold(kind: str, row_id: int) -> None:
    """Record that this process's current job claimed a row, and publish it at once (before the
    claim commits, so recovery never sees the claim without its holder). A process that does not
    beat (a test, a shell) cannot vouch for its claims: nothing is recorded."""
    beat = _heartbeat
    if beat is None or beat.pid != os.getpid():
        return
    with _held_lock:
        _held.add(f"{kind}:{row_id}")
    beat.publish()


def release_all() -> None:
    """The job ended: whatever it claimed is either finished in the database or orphaned."""
    with _held_lock:
        had = bool(_held)
        _held.clear()
    beat = _heartbeat
    if had and beat is not None and beat.pid == os.getpid():
        beat.publish()


def held() -> list[str]:
    with _held_lock:
        return sorted(_held)


class Heartbeat(threading.Thread):
    """A daemon thread re-creating this process's liveness key every `interval` seconds."""

    def __init__(self, client: redis.Redis, name: str, interval: float, *, worker: bool = True,
                 place: str = ""):
        super().__init__(name=f"laurel-heartbeat-{name}", daemon=True)
        self.client, self.worker_name, self.interval = client, name, interval
        self.place = place  # where this process keeps files (documents/storage.place)
        self.worker = worker  # False for a forked work horse: it holds rows but is not a worker
        self.pid = os.getpid()
        self.stopped = threading.Event()
        # One publish at a time: a beat that read `held` before a claim must not land after the claim's
        # own publish and erase it from the key.
        self._publishing = threading.Lock()

    @property
    def ttl(self) -> int:
        return max(1, round(self.interval * TTL_PERIODS))

    def publish(self) -> None:
        with self._publishing:
            self._write()

    def _write(self) -> None:
        value = json.dumps({"pid": self.pid, "host": socket.gethostname(), "worker": self.worker,
                            "at": time.time(), "held": held(), "place": self.place})
        try:
            with self.client.pipeline() as pipe:
                pipe.set(PREFIX + self.worker_name, value, ex=self.ttl)
                pipe.sadd(NAMES_KEY, self.worker_name)
                pipe.set(SINCE_KEY, time.time(), nx=True)
                pipe.execute()
        except redis.RedisError:
            pass  # Redis away: the next beat tries again; nothing here may stop the worker

    def run(self) -> None:
        while not self.stopped.is_set():
            self.publish()
            self.stopped.wait(self.interval)

    def stop(self) -> None:
        self.stopped.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout=5)  # a beat in flight must not re-create the key after it is deleted
        with contextlib.suppress(redis.RedisError):
            self.client.delete(PREFIX + self.worker_name)
            self.client.srem(NAMES_KEY, self.worker_name)


def start(client: redis.Redis, name: str, interval: float, *, worker: bool = True,
          place: str = "") -> Heartbeat:
    """Start this process's heartbeat (once per process: a forked horse starts its own). Thread-safe: a
    web process's first requests arrive on several threads at once."""
    global _heartbeat
    with _start_lock:
        if _heartbeat is not None and _heartbeat.pid == os.getpid() and _heartbeat.is_alive():
            return _heartbeat
        beat = Heartbeat(client, name, interval, worker=worker, place=place)
        beat.publish()
        beat.start()
        _heartbeat = beat
        return beat


def stop() -> None:
    global _heartbeat
    beat = _heartbeat
    if beat is not None and beat.pid == os.getpid():
        beat.stop()
        _heartbeat = None


@dataclass
class Snapshot:
    """Who is alive now: worker names with their last beat (epoch seconds), and every held row."""

    workers: dict[str, float] = field(default_factory=dict)
    held: set[str] = field(default_factory=set)
    places: dict[str, str] = field(default_factory=dict)  # process name -> where it keeps files


def read(client: redis.Redis) -> Snapshot:
    """Every live process's heartbeat, whatever their age (the keys expire on their own)."""
    snap = Snapshot()
    names = sorted(n.decode() if isinstance(n, bytes) else n for n in client.smembers(NAMES_KEY))
    for name, raw in zip(names, client.mget([PREFIX + n for n in names]) if names else [], strict=True):
        if raw is None:
            client.srem(NAMES_KEY, name)  # its key expired: the process stopped beating
            continue
        try:
            value = json.loads(raw)
        except ValueError:
            continue
        if value.get("worker", True):
            snap.workers[name] = float(value.get("at") or 0)
        snap.held.update(value.get("held") or [])
        if value.get("place"):
            snap.places[name] = str(value["place"])
    return snap


def place_conflict(client: redis.Redis, own_place: str, own_name: str = "") -> str | None:
    """Why this process must not run beside the live ones, or None: files kept in a local folder are
    invisible to a process on another host (or with another folder), so a PDF rendered there could
    never be downloaded here."""
    others = {name: where for name, where in read(client).places.items()
              if name != own_name and where != own_place}
    if not others or not any(p.startswith("local:") for p in (own_place, *others.values())):
        return None
    name, where = sorted(others.items())[0]
    return (f"Local file storage cannot be shared between hosts: this process keeps files in {own_place}, "
            f"but the running process {name} keeps them in {where}. Run every host on one S3-compatible "
            "bucket (STORAGE_BACKEND=s3, S3_BUCKET, S3_ENDPOINT_URL; README: Running on several machines), "
            "or run all processes on one host with one STORAGE_ROOT.")


def snapshot(client: redis.Redis, interval: float) -> Snapshot | None:
    """The live processes, or None while liveness cannot be trusted yet (Redis just started or was
    flushed: a live worker may not have re-created its key)."""
    since = client.get(SINCE_KEY)
    if since is None or time.time() - float(since) < interval * TTL_PERIODS:
        return None
    return read(client)
