"""Moodle fetch benchmark: a big simulated site (100 courses x 200 users), full then incremental.

Times the web-service side only (`fetch_changes`: what a sync asks Moodle); the whole sync, applying
the completions in Laurel included, is measured by bench_webhooks.py (part 2).

Run: ``.venv/bin/python tests/benchmarks/moodle_fixture.py [courses] [users]``. Other benchmarks can use
:func:`big_moodle` to get a running simulator and a connected client.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a plain script from anywhere

from app.connectors.moodle import MoodleClient, fetch_changes  # noqa: E402
from tests.support.moodle_simulator import MoodleSimulator, big_site  # noqa: E402


@contextmanager
def big_moodle(courses: int = 100, users: int = 200) -> Iterator[tuple[MoodleSimulator, MoodleClient]]:
    """A running big simulated site and a client with the all-functions token."""
    with (
        MoodleSimulator(big_site(courses, users)) as sim,
        MoodleClient(sim.url, "full", allow_private=True) as client,  # the simulator is on loopback
    ):
        yield sim, client


def main(courses: int = 100, users: int = 200) -> None:
    import os

    from app.connectors.moodle.sync import CONCURRENCY

    with big_moodle(courses, users) as (sim, client):
        # Anchor in the same run: the same full fetch one call at a time (as before issue 16).
        started = time.perf_counter()
        sequential = fetch_changes(client, None, concurrency=1)
        one_by_one = time.perf_counter() - started
        started = time.perf_counter()
        first = fetch_changes(client, None)
        full = time.perf_counter() - started
        assert first.completions == sequential.completions, "concurrent fetching changed the batch"
        print(f"full sync: {full:.2f} s with {CONCURRENCY} calls in flight, {first.stats['api_calls']} calls "
              f"({first.stats['api_calls'] / full:.0f}/s), {len(first.completions)} completions; "
              f"anchor one call at a time: {one_by_one:.2f} s; load average {os.getloadavg()[0]:.2f}")
        # A handful of learners come back and finish something.
        pairs = sorted(sim.site.enrolments)[:: max(1, len(sim.site.enrolments) // 20)][:20]
        for course_id, user_id in pairs:
            sim.site.complete(course_id, user_id)
        started = time.perf_counter()
        second = fetch_changes(client, first.cursor)
        incremental = time.perf_counter() - started
        print(f"incremental sync: {incremental:.2f} s, {second.stats['api_calls']} calls, "
              f"{second.stats['completion_calls']} completion calls, {len(second.completions)} completions")


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:3]))
