"""Periodic work, run by the cron process (see `schedule.py`). Every step is idempotent.

A Redis lock keeps two sweeps from running at once; the database rules (conditional updates,
unique keys) keep even an overlapping run from doing anything twice.

The recovery sweep runs every RECOVERY_INTERVAL_SECONDS (30 s by default) and does three things:
RQ's own registry cleanup (a dead worker's started jobs become failed or are retried by RQ), freeing
rows claimed by jobs no live worker holds (app/liveness.py), and re-enqueueing due work Redis lost.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

from flask import current_app
from redis.exceptions import LockError
from rq.registry import StartedJobRegistry
from rq.worker_registration import clean_worker_registry

from app import liveness
from app.database import utcnow
from app.extensions import db
from app.queue import QUEUES, get_queue, get_redis
from app.services import recovery
from app.services.messaging import outbox

LOCK_KEY = "laurel:lock:sweep"


def recover_stuck_work() -> dict:
    """Free abandoned claims, then re-enqueue work the database says is due but Redis may have lost."""
    # Short: a sweep killed with its worker must not block the next ones for long (overlap is harmless).
    lock = get_redis().lock(LOCK_KEY, timeout=120, blocking=False)
    if not lock.acquire():
        return {"skipped": "another sweep is running"}
    try:
        _clean_rq_registries()
        counts = free_abandoned()
        counts["mail"] = outbox.recover()
        for step in recovery.steps():
            counts.update(step())
        db.session.commit()
        return counts
    finally:
        with contextlib.suppress(LockError):  # expired meanwhile: nothing left to release
            lock.release()


def free_abandoned() -> dict:
    """Run every `register_abandoned` step, unless worker liveness is not known yet (Redis just
    flushed or started): then nobody is judged dead and the slow stuck-time fallbacks apply."""
    interval = current_app.config["WORKER_HEARTBEAT_SECONDS"]
    snap = liveness.snapshot(get_redis(), interval)
    if snap is None:
        return {}
    now = utcnow()
    # A claim is published before it commits (liveness.hold); the margin covers clock differences.
    claims = recovery.Claims(frozenset(snap.held), now - timedelta(seconds=interval), now)
    counts: dict = {}
    for step in recovery.abandoned_steps():
        counts.update(step(claims))
    return counts


def _clean_rq_registries() -> None:
    """RQ's abandoned-job handling, now instead of at a worker's next maintenance (every 10 min)."""
    for name in QUEUES:
        queue = get_queue(name)
        StartedJobRegistry(queue=queue).cleanup()
        clean_worker_registry(queue)
