"""Live updates: what changed is announced on Redis pub/sub after the commit, and streamed to browsers.

A change made by anyone (a page, the API, a worker, a sync) calls `announce(...)` inside its
transaction; when the transaction commits, one message per topic goes out on the `laurel:live`
channel. Every open page holds one Server-Sent Events stream (`/live/stream`, served by the
Procfile's `live` process) that forwards the messages its user may see; htmx re-fetches the part of
the page named by the topic (`hx-trigger="sse:tiles"`), so the browser reads the new state with the
user's own permissions. The message itself carries nothing but the topic: no data leaks through it.

Polling stays as the fallback (a lost message, Redis flushed, a proxy that buffers streams): every
live part of a page also refreshes on a timer.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import redis
from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.queue import get_redis, pending_list, register_pending

CHANNEL = "laurel:live"
#: What a page can listen to; each is one `sse:<topic>` trigger in the templates.
TOPICS = ("tiles", "certificates", "enrollments", "deliveries", "bell")
_PENDING = "laurel_live_pending"
register_pending(_PENDING)  # a rolled-back SAVEPOINT takes back only its own announcements


@dataclass(frozen=True)
class Audience:
    """Who may hear about a change: the staff and/or named users. Staff who read everything hear every
    staff change; managers (and staff without that grant) only changes about people of `departments`
    (the departments the change is about: those of the people it concerns)."""

    staff: bool = True
    user_ids: frozenset[int] = frozenset()
    departments: frozenset[int] = frozenset()

    def includes(self, user_id: int, is_staff: bool, scope: frozenset[int] | None = None) -> bool:
        """`scope`: the listener's departments when they see only those (None: they see everyone)."""
        if user_id in self.user_ids:
            return True
        if not (self.staff and is_staff):
            return False
        return scope is None or bool(self.departments & scope)


def announce(session: Session, topic: str, *, staff: bool = True, user_ids: Iterable[int] = (),
             departments: Iterable[int] = ()) -> None:
    """Tell open pages about `topic` once the current transaction commits (dropped on rollback).
    `departments`: those of the people the change concerns (managers of them hear it too)."""
    if topic not in TOPICS:
        raise ValueError(f"unknown live topic {topic!r}")
    users = tuple(int(u) for u in user_ids if u is not None)
    depts = tuple(int(d) for d in departments if d is not None)
    pending_list(session, _PENDING).append((topic, staff, users, depts))


def _merged(announcements: list[tuple]) -> dict[str, Audience]:
    """One message per topic: staff if any announcement was for staff, every named user and department."""
    staff_topics: set[str] = set()
    users: dict[str, set[int]] = {}
    depts: dict[str, set[int]] = {}
    for topic, staff, user_ids, *rest in announcements:
        if staff:
            staff_topics.add(topic)
        users.setdefault(topic, set()).update(user_ids)
        depts.setdefault(topic, set()).update(rest[0] if rest else ())
    return {topic: Audience(topic in staff_topics, frozenset(ids), frozenset(depts[topic]))
            for topic, ids in users.items()}


def encode(topic: str, audience: Audience) -> str:
    return json.dumps({"topic": topic, "staff": audience.staff, "users": sorted(audience.user_ids),
                       "departments": sorted(audience.departments)})


def decode(raw: bytes | str) -> tuple[str, Audience] | None:
    """The message's topic and audience; None for anything malformed (never trusted further)."""
    try:
        data = json.loads(raw)
        topic, users = data["topic"], frozenset(int(u) for u in data.get("users", ()))
        depts = frozenset(int(d) for d in data.get("departments", ()))
    except (ValueError, TypeError, KeyError):
        return None
    if topic not in TOPICS:
        return None
    return topic, Audience(staff=bool(data.get("staff")), user_ids=users, departments=depts)


_COMMITTED = "laurel_live_committed"


@event.listens_for(Session, "after_commit")
def _mark_committed(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a released SAVEPOINT: the outer transaction has not committed yet
    if _PENDING in session.info:
        session.info[_COMMITTED] = session.info.pop(_PENDING)


@event.listens_for(Session, "after_transaction_end")
def _publish_committed(session: Session, transaction) -> None:
    # After every after_commit listener (the caches' generation bumps among them): a page that re-reads
    # on this message must find the caches already moved on, never a stale cached answer.
    if transaction.parent is not None:
        return
    pending = session.info.pop(_COMMITTED, None)
    if not pending:
        return
    try:
        with get_redis().pipeline(transaction=False) as pipe:
            for topic, audience in _merged(pending).items():
                pipe.publish(CHANNEL, encode(topic, audience))
            pipe.execute()
    except (redis.RedisError, OSError):
        # The change is committed; open pages catch up on their polling timer.
        current_app.logger.warning("live update not published (%s); pages fall back to polling",
                                   ", ".join(sorted({entry[0] for entry in pending})))



def stream(user_id: int, is_staff: bool, *, lifetime: float = 300.0, heartbeat: float = 15.0,
           client: redis.Redis | None = None, scope: frozenset[int] | None = None) -> Iterator[str]:
    """The Server-Sent Events text for one user: the topics they may see, as they happen.

    The stream ends after `lifetime` seconds (the browser reconnects at once, and the reconnect signs
    in again, so a user's changed role or ended session is honoured within that time); a comment line
    every `heartbeat` seconds keeps proxies from closing an idle connection and notices a gone client.
    """
    pubsub = (client or get_redis()).pubsub(ignore_subscribe_messages=True)
    try:
        pubsub.subscribe(CHANNEL)
        yield "retry: 2000\n: connected\n\n"
        started = last_beat = time.monotonic()
        while time.monotonic() - started < lifetime:
            message = pubsub.get_message(timeout=1.0)
            now = time.monotonic()
            if message is not None and message.get("type") == "message":
                decoded = decode(message["data"])
                if decoded and decoded[1].includes(user_id, is_staff, scope):
                    yield f"event: {decoded[0]}\ndata: {decoded[0]}\n\n"
                    last_beat = now
            elif now - last_beat >= heartbeat:
                yield ": ping\n\n"
                last_beat = now
    except (redis.RedisError, OSError):
        return  # Redis went away: end the stream; the browser reconnects and polls meanwhile
    finally:
        pubsub.close()
