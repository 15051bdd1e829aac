"""A registry of recovery steps the sweep runs: each capability adds its own.

Keeps the sweep free of imports from every capability that has background work.
"""

from __future__ import annotations

from collections.abc import Callable

_steps: list[Callable[[], dict]] = []


def register(step: Callable[[], dict]) -> Callable[[], dict]:
    if step not in _steps:
        _steps.append(step)
    return step


def steps() -> list[Callable[[], dict]]:
    return list(_steps)
