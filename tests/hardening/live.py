"""A real web server (gunicorn, gthread, like the Procfile) and real RQ worker processes on the test
database and Redis, for tests where separate processes must write at once. Ports 7600-7699."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def stack_env(app, storage_root: Path, smtp_port: int, **extra: str) -> dict[str, str]:
    from app.queue import redis_url

    return {**os.environ, "LAUREL_INSTANCE_PATH": app.instance_path,
            "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "REDIS_URL": redis_url(),
            "STORAGE_ROOT": str(storage_root), "BASE_URL": "http://localhost", "MAIL_BACKEND": "smtp",
            "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp_port), "PYTHONUNBUFFERED": "1",
            "RATELIMIT_ENABLED": "false", "WEBHOOKS_ALLOW_PRIVATE": "true", **extra}


def start_web(env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2",
               "--threads", "4", "--worker-class", "gthread", "--log-level", "warning", "wsgi:app"]
    with log.open("ab") as out:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True, stdout=out, stderr=out)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2):  # noqa: S310
                return proc
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.2)
    stop(proc)
    raise AssertionError(f"gunicorn did not start:\n{log.read_text(errors='replace')[-3000:]}")


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--no-scheduler"]
    with log.open("ab") as out:
        return subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True, stdout=out, stderr=out)


def stop(proc: subprocess.Popen) -> None:
    """Stop one process this test started (its own process group: gunicorn's workers, RQ's horse)."""
    if proc.poll() is None:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait(5)
