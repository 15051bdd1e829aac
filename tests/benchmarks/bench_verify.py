"""Verify page throughput and latency against a Flask hello-world, both served the Procfile way.

    python tests/benchmarks/bench_verify.py [--runs 3] [--seconds 5] [--connections 8]
                                            [--learners 20000] [--keep]

What it does:
1. Its own PostgreSQL database `laurel_bench_verify` (BENCH_DATABASE_URL's name + `_verify`), built by
   the migrations and seeded set-based by bench_lifecycle's seed (20,000 learners, 100,000 certificates); one
   certificate is made public for the share page.
2. Starts two gunicorns with the Procfile's `web:` command line (read from the Procfile: gthread, the same
   workers and threads, access log on, sent to /dev/null): `wsgi:app` configured from the environment
   like production (DATABASE_URL, REDIS_URL or the embedded Redis; VERIFY_RATE_LIMIT raised, not off)
   and the anchor, tests/benchmarks/hello_app.py.
3. Drives each with tests/benchmarks/loadgen.py: `--connections` keep-alive connections on loopback,
   `--seconds` each after 1 s of warm-up, anonymous requests: the hello-world, then /verify/<code> as
   HTML and JSON, for a code that exists and one that does not, and the public share page /s/<code>.
   Each run measures the anchor again, so ratios compare figures taken minutes apart at most.
4. Prints a table per run, the medians, and FIGURE lines (tests/benchmarks/README.md) for `make bench`.

Goals (issue 16): every verify case >= 0.5x the hello-world's req/s, p99 < 20 ms at 8 connections.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # run as a plain script from anywhere

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import URL, make_url  # noqa: E402

from tests.benchmarks import bench_lifecycle as lifecycle  # noqa: E402
from tests.benchmarks.loadgen import Result, load  # noqa: E402

RESULTS = ROOT / "bench-results" / "verify.txt"
RATIO_GOAL, P99_GOAL_MS = 0.5, 20.0


@dataclass
class Case:
    name: str
    path: str
    headers: dict
    expect: int


def cases(fixtures: dict) -> list[Case]:
    html, as_json = {"Accept": "text/html"}, {"Accept": "application/json"}
    return [Case("verify html hit", f"/verify/{fixtures['code']}", html, 200),
            Case("verify html miss", f"/verify/{fixtures['missing']}", html, 404),
            Case("verify json hit", f"/verify/{fixtures['code']}", as_json, 200),
            Case("verify json miss", f"/verify/{fixtures['missing']}", as_json, 404),
            Case("old share link (301 to verify)", f"/s/{fixtures['public_code']}", html, 301)]


# --------------------------------------------------------------------------------------------- servers

def procfile_command(bind: str, target: str) -> list[str]:
    """The Procfile's web: line, with its ${VAR:-default} expanded, another bind address and app."""
    line = next(row for row in (ROOT / "Procfile").read_text().splitlines() if row.startswith("web:"))
    expanded = re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: os.environ.get(m.group(1)) or m.group(2), line[4:])
    words = shlex.split(expanded)
    words[0] = str(Path(sys.executable).with_name(words[0]))
    words[words.index("--bind") + 1] = bind
    words[-1] = target
    # Not a serving setting: gunicorn 27's control socket has one default path per user, which two
    # servers (or another gunicorn on the machine) would fight over.
    return [*words[:-1], "--no-control-socket", target]


@contextmanager
def served(target: str, env: dict, probe: str):
    port = lifecycle.free_port()
    command = procfile_command(f"127.0.0.1:{port}", target)
    proc = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        lifecycle.wait_until_up(base, proc) if probe == "/login" else wait_for(base + probe, proc)
        yield base, proc, command
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def wait_for(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited ({url})")
        try:
            requests.get(url, timeout=10)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError(f"server did not answer ({url})")


def cpu_seconds(master: subprocess.Popen) -> float:
    """User + system CPU of a gunicorn's workers (its children), from /proc (0 where unavailable)."""
    try:
        children = Path(f"/proc/{master.pid}/task/{master.pid}/children").read_text().split()
        total = 0
        for pid in children:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")
    except OSError:
        return 0.0


@dataclass
class Measure:
    name: str
    result: Result
    cpu_ms: float  # server CPU per request

    def line(self, anchor: Measure | None) -> str:
        ratio = f"{self.result.rps / anchor.result.rps:6.3f}x" if anchor else "      -"
        statuses = ",".join(f"{k}:{v}" for k, v in sorted(self.result.statuses.items()))
        result = self.result
        return (f"{self.name:<18} {result.rps:9.0f} {ratio} {result.p50:7.2f} {result.p99:7.2f}"
                f" {self.cpu_ms:7.2f}  {statuses}")


def measure(name: str, base: str, proc, case_path: str, headers: dict, args) -> Measure:
    before = cpu_seconds(proc)
    result = load(base + case_path, connections=args.connections, seconds=args.seconds, warmup=1.0,
                  headers=headers)
    spent = cpu_seconds(proc) - before
    total = result.requests or 1
    return Measure(name, result, spent * 1000 / total)


# --------------------------------------------------------------------------------------------- main

def bench_url() -> URL:
    url = make_url(os.environ.get("BENCH_DATABASE_URL") or lifecycle.DEFAULT_URL)
    return url.set(drivername="postgresql+psycopg", database=lifecycle.own_database(url, "verify"))


def prepare(url: URL, instance: Path, learners: int, keep: bool) -> tuple[object, dict]:
    """Schema and data (unless --keep finds them), the app (it also starts the embedded Redis)."""
    lifecycle.ensure_database(url)
    engine = create_engine(url)
    os.environ["LAUREL_INSTANCE_PATH"] = str(instance)
    from app import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": url.render_as_string(hide_password=False),
                      "REDIS_URL": os.environ.get("BENCH_REDIS_URL") or os.environ.get("REDIS_URL") or None})
    with engine.connect() as conn:
        try:
            count = conn.scalar(text("SELECT count(*) FROM certificates"))
            seeded = count == learners * lifecycle.CERTS_PER_LEARNER
        except Exception:
            seeded = False
    if not (keep and seeded):
        lifecycle.reset_schema(engine)
        lifecycle.build_schema(app)
        started = time.perf_counter()
        lifecycle.seed(engine, lifecycle.Sizes(learners), datetime.now(UTC))
        print(f"  seeded {learners * lifecycle.CERTS_PER_LEARNER} certificates in "
              f"{time.perf_counter() - started:.1f} s", flush=True)
    with engine.begin() as conn:
        code = conn.scalar(text("SELECT code FROM certificates WHERE revoked_at IS NULL ORDER BY id LIMIT 1"))
        public = conn.scalar(text(
            "UPDATE certificates SET public = true WHERE id = (SELECT id FROM certificates"
            " WHERE revoked_at IS NULL ORDER BY id DESC LIMIT 1) RETURNING code"))
    engine.dispose()
    return app, {"code": code, "missing": "0" * len(code), "public_code": public}


def app_env(url: URL, app) -> dict:
    env = {"DATABASE_URL": url.set(drivername="postgresql").render_as_string(hide_password=False),
           "VERIFY_RATE_LIMIT": "10000000 per minute", "SHARE_RATE_LIMIT": "10000000 per minute",
           "RATELIMIT_KEY_PREFIX": "laurel-bench-verify",
           "LAUREL_INSTANCE_PATH": app.instance_path, "SECRET_KEY": app.config["SECRET_KEY"]}
    if app.config.get("REDIS_URL"):
        env["REDIS_URL"] = app.config["REDIS_URL"]
    return env


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="rounds over every case (default 3)")
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per case (default 5)")
    parser.add_argument("--connections", type=int, default=8, help="keep-alive connections (default 8)")
    parser.add_argument("--learners", type=int, default=20_000, help="x5 certificates (default 20000)")
    parser.add_argument("--keep", action="store_true", help="reuse the data already seeded")
    return parser.parse_args(argv)


def figures(runs: list[dict[str, Measure]], names: list[str]) -> list[str]:
    """FIGURE|<name>|<median>|<min>|<max>|<unit>|<goal>|<anchor name>|<anchor median> per case."""
    anchor_rps = [run["hello-world"].result.rps for run in runs]
    anchor_p99 = [run["hello-world"].result.p99 for run in runs]
    anchor_cpu = [run["hello-world"].cpu_ms for run in runs]
    lines = []
    for name in names:
        ratios = [run[name].result.rps / run["hello-world"].result.rps for run in runs]
        p99s = [run[name].result.p99 for run in runs]
        lines.append(f"FIGURE|{name} throughput|{statistics.median(ratios):.3f}|{min(ratios):.3f}|"
                     f"{max(ratios):.3f}|x hello-world req/s|>= {RATIO_GOAL}|hello-world req/s|"
                     f"{statistics.median(anchor_rps):.0f}")
        lines.append(f"FIGURE|{name} p99|{statistics.median(p99s):.1f}|{min(p99s):.1f}|{max(p99s):.1f}|ms|"
                     f"< {P99_GOAL_MS:g}|hello-world p99 ms|{statistics.median(anchor_p99):.1f}")
        # Server CPU per request: steadier than req/s on a shared machine (no goal of its own).
        cpus = [run[name].cpu_ms for run in runs]
        lines.append(f"FIGURE|{name} server CPU|{statistics.median(cpus):.2f}|{min(cpus):.2f}|"
                     f"{max(cpus):.2f}|ms/request|-|hello-world CPU ms|{statistics.median(anchor_cpu):.2f}")
    return lines


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    url, instance = bench_url(), Path(tempfile.mkdtemp(prefix="laurel-bv-"))
    print(f"database {url.render_as_string()}", flush=True)
    app, fixtures = prepare(url, instance, args.learners, args.keep)
    runs: list[dict[str, Measure]] = []
    out: list[str] = []
    wrong: list[str] = []
    try:
        with served("tests.benchmarks.hello_app:app", {}, "/") as (hello, hello_proc, command), \
             served("wsgi:app", app_env(url, app), "/login") as (laurel, laurel_proc, _):
            out.append("both servers: " + " ".join(shlex.quote(w) for w in command[1:]).replace(
                "tests.benchmarks.hello_app:app", "<app>"))
            for number in range(1, args.runs + 1):
                run = {"hello-world": measure("hello-world", hello, hello_proc, "/", {}, args)}
                for case in cases(fixtures):
                    run[case.name] = measure(case.name, laurel, laurel_proc, case.path, case.headers, args)
                    statuses = run[case.name].result.statuses
                    if set(statuses) - {case.expect}:
                        wrong.append(f"run {number} {case.name}: statuses {dict(statuses)}, "
                                     f"expected only {case.expect}")
                runs.append(run)
                head = (f"run {number}: {args.connections} connections, {args.seconds:g} s per case\n"
                        f"{'case':<18} {'req/s':>9} {'ratio':>7} {'p50 ms':>7} {'p99 ms':>7} {'cpu ms':>7}"
                        f"  statuses")
                block = "\n".join([head, *(m.line(None if k == "hello-world" else run["hello-world"])
                                           for k, m in run.items())])
                print(block + "\n", flush=True)
                out.append(block)
    finally:
        with app.app_context():
            from app.extensions import db

            db.engine.dispose()
        lifecycle.stop_embedded_redis(app, instance)
        shutil.rmtree(instance, ignore_errors=True)
    names = [case.name for case in cases(fixtures)]
    lines = figures(runs, names)
    out += [*wrong, f"load average at the end: {lifecycle.load_average()} on {os.cpu_count()} CPUs", *lines]
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text("\n\n".join(out) + "\n")
    print("\n".join(out[-len(lines) - 1 - len(wrong):-len(lines)]))
    print("\n".join(lines), flush=True)
    misses = [line for line in lines if not goal_met(line)]
    return 1 if misses or wrong else 0


def goal_met(figure: str) -> bool:
    _, _, median, _, _, _, goal, *_ = figure.split("|")
    if goal == "-":
        return True
    sign, bound = goal.split()
    return float(median) >= float(bound) if sign == ">=" else float(median) < float(bound)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
