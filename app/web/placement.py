"""One storage place for every process: a web process refuses to serve beside workers that keep files
somewhere it cannot read (local folders on several hosts), and says so (app/liveness.place_conflict).

On its first request each web process announces where it keeps files (a heartbeat that is not a
worker's), so workers started later see it too. Tests build the app without this (TESTING).
"""

from __future__ import annotations

import os
import socket
import threading

import redis
from flask import Response, current_app, request

from app import liveness
from app.documents import storage
from app.queue import get_redis

_checked: dict[int, str | None] = {}  # pid -> the conflict found on this process's first request
_checking = threading.Lock()  # a process's first requests arrive on several threads at once


def _conflict() -> str | None:
    pid = os.getpid()
    if pid in _checked:
        return _checked[pid]
    with _checking:
        return _check_once(pid)


def _check_once(pid: int) -> str | None:
    if pid not in _checked:
        where = storage.place(current_app.config, current_app.instance_path)
        name = f"web.{socket.gethostname()}.{pid}"
        try:
            client = get_redis()
            _checked[pid] = liveness.place_conflict(client, where, name)
            if _checked[pid] is None:
                liveness.start(client, name, current_app.config["WORKER_HEARTBEAT_SECONDS"], worker=False,
                               place=where)
        except redis.RedisError:
            return None  # Redis away: /healthz says so; check again on the next request
    return _checked[pid]


def _refuse_when_misplaced():
    if request.endpoint == "static":
        return None
    conflict = _conflict()
    if conflict:
        current_app.logger.error(conflict)
        return Response(f"Laurel cannot serve from this host. {conflict}\n", status=503,
                        mimetype="text/plain", headers={"Retry-After": "60"})
    return None


def init_app(app) -> None:
    if not app.testing:
        app.before_request(_refuse_when_misplaced)
