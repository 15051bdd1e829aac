"""The internal event hook: lifecycle changes are announced here, and subscribers react.

`emit("certificate.issued", data)` runs every subscriber of that type (and of "*") inside the
current transaction, so what they write (outbox mails, webhook deliveries, notifications)
commits or rolls back together with the change itself. Subscribers must be quick: slow work
goes to a job with `enqueue_after_commit`.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime

from app.database import utcnow

Subscriber = Callable[["Event"], None]
_subscribers: dict[str, list[Subscriber]] = defaultdict(list)
_batch: ContextVar[dict | None] = ContextVar("laurel_events_batch", default=None)


@dataclass(frozen=True)
class Event:
    type: str
    data: dict
    id: str = field(default_factory=lambda: f"evt_{uuid.uuid4().hex}")
    timestamp: datetime = field(default_factory=utcnow)


def subscribe(event_type: str) -> Callable[[Subscriber], Subscriber]:
    """Decorator: call the function for every event of this type ("*" for all)."""

    def register(func: Subscriber) -> Subscriber:
        if func not in _subscribers[event_type]:
            _subscribers[event_type].append(func)
        return func

    return register


def emit(event_type: str, data: dict) -> Event:
    event = Event(event_type, data)
    for func in [*_subscribers.get(event_type, []), *_subscribers.get("*", [])]:
        func(event)
    return event


@contextmanager
def batch() -> Iterator[None]:
    """Many events from one piece of bulk work in one transaction (a CSV import, a sync run).

    Inside the block `batch_cache()` is a dict subscribers may keep lookups in that cannot change
    during the block (the outgoing webhook subscriptions: read once per import, not once per event).
    Nested blocks share the outer cache; it is dropped when the outer block ends.
    """
    if _batch.get() is not None:
        yield
        return
    token = _batch.set({})
    try:
        yield
    finally:
        _batch.reset(token)


def batch_cache() -> dict | None:
    """The current `batch()` block's cache, or None outside one (then look everything up each time)."""
    return _batch.get()
