"""Registries of recovery steps the sweep runs: each capability adds its own.

Keeps the sweep free of imports from every capability that has background work. Two kinds:

- `register`: find work the database says is due but Redis may have lost (flushed, never enqueued);
- `register_abandoned`: free rows a job claimed and will never finish -- its worker died (no
  heartbeat) or the job ended without its last commit (database dropped). Such a step gets the
  rows live processes still hold (`app.liveness`) and only judges rows claimed before a cut-off.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

_steps: list[Callable[[], dict]] = []
_abandoned_steps: list[Callable[[Claims], dict]] = []


@dataclass(frozen=True)
class Claims:
    """What recovery knows about claimed rows: ``held`` lists "kind:id" for every row a live
    process's job holds; a row claimed before ``claimed_before`` and not held is abandoned."""

    held: frozenset[str]
    claimed_before: datetime
    now: datetime

    def abandoned(self, kind: str, row_id: int) -> bool:
        return f"{kind}:{row_id}" not in self.held


def register(step: Callable[[], dict]) -> Callable[[], dict]:
    if step not in _steps:
        _steps.append(step)
    return step


def steps() -> list[Callable[[], dict]]:
    return list(_steps)


def register_abandoned(step: Callable[[Claims], dict]) -> Callable[[Claims], dict]:
    if step not in _abandoned_steps:
        _abandoned_steps.append(step)
    return step


def abandoned_steps() -> list[Callable[[Claims], dict]]:
    return list(_abandoned_steps)
