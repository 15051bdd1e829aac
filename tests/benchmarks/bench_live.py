"""Live updates under load: 200 open SSE streams hear a change within 1 s while pages stay fast.

    python tests/benchmarks/bench_live.py [--clients 200] [--events 20] [--runs 3] [--pages 200]

The Procfile way, on loopback: `web` (gunicorn, 2 workers x 4 threads, gthread) and `live` (gunicorn,
1 worker, gthread, one thread per stream), the demo data on SQLite (or BENCH_DATABASE_URL with --pg),
a real Redis (BENCH_REDIS_URL, default redis://127.0.0.1:6379/12).

Each run:
1. anchor: page latency (admin dashboard and certificate list, 8 concurrent clients) with no stream open;
2. opens --clients streams as an admin (each a real HTTP connection to `live`, read line by line);
3. makes --events real changes (a draft certification is created: `certification.created`, which
   refreshes the staff tiles) from this process, through the same commit path the app uses, one every
   0.25 s, while the 8 page clients run again; every stream records when it heard each change.
Figures: delivery latency (commit -> event line read by the client) p50/p99 over all streams and events,
and page p95 with the streams open, next to the no-stream anchor and the goals (p99 < 1 s, p95 < 150 ms).
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

PASSWORD = "laurel-demo"
ADMIN = "admin@example.com"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
PAGES = ("/", "/certificates")
GOAL_DELIVERY_MS = 1000.0
GOAL_PAGE_MS = 150.0
# Flask-Login's session protection ties the session to the browser: every client sends the same one.
USER_AGENT = "laurel-bench-live"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


class Servers:
    """The web and live processes on free ports, one instance folder, the demo data seeded once."""

    def __init__(self, database_url: str | None, redis_url: str) -> None:
        self.instance = Path(tempfile.mkdtemp(prefix="laurel-bench-live-"))
        self.web_port, self.live_port = free_port(), free_port()
        self.env = {**os.environ, "LAUREL_INSTANCE_PATH": str(self.instance), "REDIS_URL": redis_url,
                    "DATABASE_URL": database_url or f"sqlite:///{self.instance / 'laurel.db'}",
                    "SECRET_KEY": "bench-live-secret-key-0123456789", "RATELIMIT_ENABLED": "false",
                    "LIVE_PORT": str(self.live_port), "PORT": str(self.web_port),
                    "BASE_URL": f"http://127.0.0.1:{self.web_port}", "PYTHONPATH": str(ROOT)}
        self.procs: list[subprocess.Popen] = []

    def prepare(self) -> None:
        flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
        for step in (["db", "upgrade"], ["seed-demo"]):
            subprocess.run([*flask, *step], cwd=ROOT, env=self.env, check=True, capture_output=True)

    def start(self) -> None:
        gunicorn = [sys.executable, "-m", "gunicorn", "--worker-class", "gthread", "--log-level", "warning"]
        self.procs = [
            subprocess.Popen([*gunicorn, "--bind", f"127.0.0.1:{self.web_port}", "--workers", "2",
                              "--threads", "4", "wsgi:app"], cwd=ROOT, env=self.env),
            subprocess.Popen([*gunicorn, "--bind", f"127.0.0.1:{self.live_port}", "--workers", "1",
                              "--threads", "500", "--graceful-timeout", "3", "wsgi:app"],
                             cwd=ROOT, env=self.env),
        ]
        for port in (self.web_port, self.live_port):
            wait_until_up(port)

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(self.instance, ignore_errors=True)


def wait_until_up(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/login")
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing answers on port {port}")


def log_in(port: int) -> str:
    """The session cookie of the demo admin."""
    import requests

    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    base = f"http://127.0.0.1:{port}"
    token = CSRF_RE.search(session.get(f"{base}/login").text).group(1)
    answer = session.post(f"{base}/login", data={"email": ADMIN, "password": PASSWORD, "csrf_token": token},
                          allow_redirects=False)
    assert answer.status_code == 302, f"login: {answer.status_code}"
    return "; ".join(f"{c.name}={c.value}" for c in session.cookies)


class Stream(threading.Thread):
    """One browser's EventSource: a kept-open GET /live/stream, read line by line."""

    def __init__(self, port: int, cookie: str, origin: str) -> None:
        super().__init__(daemon=True)
        self.port, self.cookie, self.origin = port, cookie, origin
        self.connected = threading.Event()
        self.heard: list[float] = []  # perf_counter() of each "event: tiles" line
        self.stop = False

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        conn.request("GET", "/live/stream", headers={"Cookie": self.cookie, "Origin": self.origin,
                                                     "Accept": "text/event-stream", "User-Agent": USER_AGENT})
        response = conn.getresponse()
        while not self.stop:
            line = response.fp.readline()
            if not line:
                return
            if line.startswith(b"retry:"):
                self.connected.set()
            elif line.strip() == b"event: tiles":
                self.heard.append(time.perf_counter())


def page_samples(port: int, cookie: str, count: int, clients: int = 8) -> list[float]:
    samples: list[float] = []
    lock = threading.Lock()

    def worker(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        local = []
        for i in range(count // clients):
            path = PAGES[(index + i) % len(PAGES)]
            started = time.perf_counter()
            conn.request("GET", path, headers={"Cookie": cookie, "User-Agent": USER_AGENT})
            response = conn.getresponse()
            response.read()
            assert response.status == 200, f"{path}: {response.status}"
            local.append((time.perf_counter() - started) * 1000)
        with lock:
            samples.extend(local)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return samples


def make_changes(app, events: int, gap: float) -> list[float]:
    """Real changes through the app's commit path; returns when each commit started."""
    from app.extensions import db
    from app.services.lifecycle import catalog

    sent = []
    with app.app_context():
        for i in range(events):
            started = time.perf_counter()
            catalog.create_certification({"name": f"Live bench {time.time_ns()} {i}", "status": "draft",
                                          "validity_months": 12}, actor="bench")
            db.session.commit()
            sent.append(started)
            time.sleep(gap)
    return sent


def one_run(servers: Servers, app, clients: int, events: int, pages: int) -> dict[str, float]:
    cookie = log_in(servers.web_port)
    page_samples(servers.web_port, cookie, 40)  # warm-up
    anchor = page_samples(servers.web_port, cookie, pages)
    origin = f"http://127.0.0.1:{servers.web_port}"
    streams = [Stream(servers.live_port, cookie, origin) for _ in range(clients)]
    for stream in streams:
        stream.start()
    for stream in streams:
        if not stream.connected.wait(30):
            raise RuntimeError("a stream did not connect within 30 s")
    loaded: list[float] = []
    pager = threading.Thread(target=lambda: loaded.extend(page_samples(servers.web_port, cookie, pages)))
    pager.start()
    sent = make_changes(app, events, gap=0.25)
    pager.join()
    time.sleep(1.5)
    for stream in streams:
        stream.stop = True
    delays = []
    for stream in streams:
        for started in sent:
            after = [t for t in stream.heard if t >= started]
            delays.append((min(after) - started) * 1000 if after else 60_000.0)
    return {"delivery_p50": percentile(delays, 0.5), "delivery_p99": percentile(delays, 0.99),
            "missed": sum(1 for d in delays if d >= 60_000), "page_p95": percentile(loaded, 0.95),
            "anchor_p95": percentile(anchor, 0.95)}


def bench_app(servers: Servers):
    os.environ.update({k: v for k, v in servers.env.items() if k not in ("PORT",)})
    from app import create_app

    return create_app()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--pg", action="store_true", help="PostgreSQL (BENCH_DATABASE_URL) instead of SQLite")
    args = parser.parse_args()
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
    database = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/laurel_bench") \
        if args.pg else None
    servers = Servers(database, redis_url)
    servers.prepare()
    servers.start()
    results = []
    try:
        app = bench_app(servers)
        for run in range(args.runs):
            results.append(one_run(servers, app, args.clients, args.events, args.pages))
            print(f"run {run + 1}: " + ", ".join(f"{k} {v:.1f}" for k, v in results[-1].items()), flush=True)
    finally:
        servers.stop()
    report(results, args)
    return 0


def spread(results: list[dict], key: str) -> tuple[float, float, float]:
    values = [r[key] for r in results]
    return statistics.median(values), min(values), max(values)


def report(results: list[dict], args) -> None:
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\n{args.clients} streams, {args.events} changes per run, {args.runs} runs; load average {load}")
    print(f"{'figure':<44} {'median':>9} {'min':>9} {'max':>9}  goal / anchor")
    rows = [("SSE delivery p99, ms", "delivery_p99", f"< {GOAL_DELIVERY_MS:.0f} ms"),
            ("SSE delivery p50, ms", "delivery_p50", ""),
            ("page p95 with streams open, ms", "page_p95", f"< {GOAL_PAGE_MS:.0f} ms"),
            ("page p95 with no stream (anchor), ms", "anchor_p95", "same run"),
            ("events missed", "missed", "0")]
    for label, key, goal in rows:
        median, low, high = spread(results, key)
        print(f"{label:<44} {median:9.1f} {low:9.1f} {high:9.1f}  {goal}")
    delivery, page, anchor = (spread(results, k) for k in ("delivery_p99", "page_p95", "anchor_p95"))
    print(f"FIGURE|sse_delivery_p99|{delivery[0]:.1f}|{delivery[1]:.1f}|{delivery[2]:.1f}|ms|<{GOAL_DELIVERY_MS:.0f}"
          f"|spec limit|{GOAL_DELIVERY_MS:.0f}")
    print(f"FIGURE|page_p95_with_{args.clients}_streams|{page[0]:.1f}|{page[1]:.1f}|{page[2]:.1f}|ms"
          f"|<{GOAL_PAGE_MS:.0f}|page p95 no streams|{anchor[0]:.1f}")


if __name__ == "__main__":
    sys.exit(main())
