"""Run the benchmarks: `python -m tests.benchmarks [names...] [-- args for each]` (what `make bench` does).

Each benchmark is a script in tests/benchmarks/ (bench_*.py, plus moodle_fixture.py) runnable on its own.
They run one after the other, each in its own subprocess (a fresh interpreter: first-call costs and
memory are its own); their output is streamed, and a combined summary (status table, then every
output in full) is written to bench-results/summary.txt.

    python -m tests.benchmarks --list             what exists
    python -m tests.benchmarks                    all of them
    python -m tests.benchmarks lifecycle pdf_raw  some ("bench_" and ".py" are optional)
    python -m tests.benchmarks lifecycle -- --n 60 --no-gunicorn

Each benchmark may print FIGURE lines (format in tests/benchmarks/README.md); the runner collects them
and prints ONE summary table at the end: each figure, its goal, its anchor measured in the same run.

Benchmarks that need PostgreSQL read BENCH_DATABASE_URL (default
postgresql://postgres@127.0.0.1:5432/laurel_bench); that database is created here if missing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SUMMARY = ROOT / "bench-results" / "summary.txt"
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/laurel_bench"
# Announced by the issues; a missing one is reported as skipped rather than silently absent.
EXPECTED = ("bench_pdf_raw", "bench_pipeline", "bench_webhooks", "bench_analytics", "bench_lifecycle",
            "bench_verify", "bench_live", "bench_import", "bench_compliance", "moodle_fixture")
FIGURE_FIELDS = ("name", "median", "min", "max", "unit", "goal", "anchor", "anchor_median")


@dataclass
class Outcome:
    name: str
    status: str  # "ok" | "exit N" | "timeout" | "skipped: ..."
    seconds: float = 0.0
    output: str = ""


def available() -> list[str]:
    """Benchmark scripts present in this folder, by name without .py."""
    names = {p.stem for p in HERE.glob("bench_*.py")}
    if (HERE / "moodle_fixture.py").exists():
        names.add("moodle_fixture")
    return sorted(names)


def normalise(name: str) -> str:
    name = Path(name).name.removesuffix(".py")
    return name if name.startswith("bench_") or name == "moodle_fixture" else f"bench_{name}"


def selected(names: list[str]) -> list[str]:
    """The requested benchmarks, or every expected and present one, in a stable order."""
    if names:
        return [normalise(n) for n in names]
    return list(EXPECTED) + [n for n in available() if n not in EXPECTED]


def ensure_database(url: str) -> str:
    """CREATE DATABASE if missing; returns a note (PostgreSQL may simply not be there)."""
    try:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        target = make_url(url).set(drivername="postgresql+psycopg")
        engine = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database}):
                conn.execute(text(f'CREATE DATABASE "{target.database}"'))
        engine.dispose()
        return f"PostgreSQL: {target.render_as_string()}"
    except Exception as exc:  # the SQLite-only benchmarks still run
        return f"PostgreSQL not available ({type(exc).__name__}): benchmarks needing it will fail"


@dataclass
class Figure:
    """One `FIGURE|<name>|<median>|<min>|<max>|<unit>|<goal>|<anchor name>|<anchor median>` line."""

    bench: str
    name: str
    median: str
    low: str
    high: str
    unit: str
    goal: str
    anchor: str
    anchor_median: str

    @property
    def verdict(self) -> str:
        """ok | MISS against a goal written `< N`, `<= N`, `> N` or `>= N`; `-` for anything else."""
        parts = self.goal.split()
        if len(parts) != 2 or parts[0] not in ("<", "<=", ">", ">="):
            return "-"
        try:
            value, bound = float(self.median), float(parts[1])
        except ValueError:
            return "-"
        met = {"<": value < bound, "<=": value <= bound, ">": value > bound, ">=": value >= bound}[parts[0]]
        return "ok" if met else "MISS"


def figures(outcome: Outcome) -> list[Figure]:
    """The FIGURE lines in one benchmark's output (malformed ones are skipped)."""
    found = []
    for line in outcome.output.splitlines():
        if line.startswith("FIGURE|"):
            fields = line.rstrip("\n").split("|")[1:]
            if len(fields) == len(FIGURE_FIELDS):
                found.append(Figure(outcome.name, *fields))
    return found


def figure_table(outcomes: list[Outcome]) -> str:
    """The one summary table `make bench` ends with."""
    rows = [f for o in outcomes for f in figures(o)]
    if not rows:
        return "No FIGURE lines were printed."
    head = (f"{'figure':<34} {'median':>9} {'min..max':>17} {'unit':<20} {'goal':<8} {'':4} "
            f"{'anchor (same run)':<22} {'median':>8}")
    lines = [head, "-" * len(head)]
    for f in rows:
        spread = f"{f.low}..{f.high}"
        lines.append(f"{f.name:<34} {f.median:>9} {spread:>17} {f.unit:<20} {f.goal:<8} {f.verdict:4} "
                     f"{f.anchor:<22} {f.anchor_median:>8}")
    return "\n".join(lines)


def run(name: str, args: list[str], timeout: float) -> Outcome:
    """Run one script in a subprocess, streaming its output and keeping a copy."""
    script = HERE / f"{name}.py"
    if not script.exists():
        return Outcome(name, "skipped: not written yet")
    print(f"\n===== {name} {' '.join(args)}", flush=True)
    started, lines = time.perf_counter(), []
    proc = subprocess.Popen([sys.executable, str(script), *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, bufsize=1)
    status = "ok"
    try:
        for line in proc.stdout:
            print(line, end="", flush=True)
            lines.append(line)
            if time.perf_counter() - started > timeout:
                proc.kill()
                status = "timeout"
                break
        code = proc.wait()
    finally:
        proc.stdout.close()
    if status == "ok" and code != 0:
        status = f"exit {code}"
    return Outcome(name, status, time.perf_counter() - started, "".join(lines))


def summary(outcomes: list[Outcome], notes: list[str]) -> str:
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    head = [f"Benchmarks run {time.strftime('%Y-%m-%d %H:%M:%S')}", *notes,
            f"load average at the end: {load} on {os.cpu_count()} CPUs", "",
            f"{'benchmark':<20} {'status':<28} {'seconds':>8}"]
    head += [f"{o.name:<20} {o.status:<28} {o.seconds:8.1f}" for o in outcomes]
    head += ["", figure_table(outcomes)]
    bodies = [f"\n===== {o.name} ({o.status})\n{o.output.rstrip()}" for o in outcomes if o.output]
    return "\n".join(head) + "\n" + "\n".join(bodies) + "\n"


def parse_args(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    extra: list[str] = []
    if "--" in argv:
        at = argv.index("--")
        argv, extra = argv[:at], argv[at + 1:]
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per benchmark (default 1800)")
    return parser.parse_args(argv), extra


def list_benchmarks() -> None:
    present = available()
    for name in sorted(set(present) | set(EXPECTED)):
        doc = ""
        if name in present:
            text = (HERE / f"{name}.py").read_text(encoding="utf-8")
            doc = text.split('"""')[1].strip().splitlines()[0] if text.startswith('"""') else ""
        print(f"{name:<20} {doc if name in present else '(missing: not written yet)'}")


def main(argv: list[str] | None = None) -> int:
    args, extra = parse_args(sys.argv[1:] if argv is None else argv)
    if args.list:
        list_benchmarks()
        return 0
    os.environ.setdefault("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    notes = [ensure_database(os.environ["BENCH_DATABASE_URL"])]
    outcomes = [run(name, extra, args.timeout) for name in selected(args.names)]
    SUMMARY.parent.mkdir(exist_ok=True)
    SUMMARY.write_text(summary(outcomes, notes), encoding="utf-8")
    print("\n" + summary(outcomes, notes).split("\n\n=====")[0])
    print(f"summary written to {SUMMARY.relative_to(ROOT)}")
    return 0 if all(o.status == "ok" or o.status.startswith("skipped") for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
