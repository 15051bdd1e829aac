"""`flask --app wsgi serve`: the web server, worker(s) and cron as child processes.

On a fresh machine with no REDIS_URL it starts the embedded Redis first and hands its URL to
every child, so all of them share one. Ctrl-C (or SIGTERM) stops the children, then Redis.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from app import embedded_redis
from app.queue import RENDER_QUEUES, WORK_QUEUES


def _commands(app, workers: int) -> list[tuple[str, list[str]]]:
    python = sys.executable
    bind = f"{app.config['HOST']}:{app.config['PORT']}"
    web = [python, "-m", "gunicorn", "--bind", bind, "--workers", "2", "--threads", "4",
           "--worker-class", "gthread", "--access-logfile", "-", "--log-level", "warning", "wsgi:app"]
    # Live updates (app/live.py) on the next port: each open page holds a stream, so streams get their
    # own process and thread pool and never take a thread a page request needs.
    live = [python, "-m", "gunicorn", "--bind", f"{app.config['HOST']}:{live_port(app)}", "--workers", "1",
            "--threads", "200", "--worker-class", "gthread", "--graceful-timeout", "3",
            "--log-level", "warning", "wsgi:app"]
    flask = [python, "-m", "flask", "--app", "wsgi"]
    procs = [("web", web), ("live", live)]
    # Mail and webhooks never wait behind a render: renders have their own worker (app/queue.py).
    work = [*flask, "worker", "--queues", ",".join(WORK_QUEUES)]
    procs += [(f"worker{i + 1}", work) for i in range(workers)]
    procs.append(("render", [*flask, "worker", "--queues", ",".join(RENDER_QUEUES)]))
    procs.append(("cron", [*flask, "cron"]))
    return procs


def live_port(app) -> int:
    return app.config.get("LIVE_PORT") or app.config["PORT"] + 1


def _wait_until_up(url: str, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2):  # noqa: S310 (our own server)
                return True
        except OSError as exc:
            if getattr(exc, "code", None) == 503:
                return True  # up; the worker may still be starting
            time.sleep(0.3)
    return False


def run(app, workers: int = 1) -> None:
    env = dict(os.environ)
    embedded = not app.config.get("REDIS_URL")
    instance = Path(app.instance_path)
    if embedded:
        env["REDIS_URL"] = embedded_redis.ensure_running(instance)
    env["LIVE_PORT"] = str(live_port(app))  # pages connect to the live process on its own port
    children = [(name, subprocess.Popen(cmd, env=env)) for name, cmd in _commands(app, workers)]
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    url = f"http://{app.config['HOST']}:{app.config['PORT']}"
    if _wait_until_up(url):
        _banner(url, app)
    try:
        while not stopping:
            for name, proc in children:
                if proc.poll() is not None:
                    print(f"[laurel] {name} exited with {proc.returncode}; stopping everything.", flush=True)
                    stopping = True
            time.sleep(0.5)
    finally:
        _stop_children(children)
        if embedded:
            embedded_redis.stop(instance)
        print("[laurel] stopped.", flush=True)


def _stop_children(children) -> None:
    for _, proc in children:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for _, proc in children:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()


def _banner(url: str, app) -> None:
    from app import demo

    lines = ["", f"  Laurel is running at {url}", ""]
    lines += [f"  {role:<8} {email:<28} password: {password}" for role, email, password in demo.LOGINS]
    lines += ["", "  Mail is written to instance/mail/ and shown in Admin > Mail log"
              if app.config["MAIL_BACKEND"] == "file" else ""]
    lines += ["  Single sign-on: add an OpenID provider under Admin > Sign-in, or start with OIDC_ISSUER,",
              "  OIDC_CLIENT_ID, OIDC_CLIENT_SECRET and OIDC_LABEL set (docs/sso.md).",
              "  Ctrl-C stops everything.", ""]
    print("\n".join(lines), flush=True)
