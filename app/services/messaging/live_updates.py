"""Which open pages hear about which lifecycle events (app/live.py streams them after the commit).

Staff pages (dashboard tiles, certificate and enrollment lists) hear about every change; a learner
hears about changes to their own certificates and enrollments, so their dashboard updates too.
"""

from __future__ import annotations

from app import live
from app.extensions import db
from app.services import events

#: event type prefix -> the topics it refreshes
_TOPICS: dict[str, tuple[str, ...]] = {
    "certificate.": ("certificates", "tiles"),
    "enrollment.": ("enrollments", "tiles"),
    "certification.": ("tiles",),
    "user.": ("tiles",),
}


@events.subscribe("*")
def _on_event(event: events.Event) -> None:
    topics = next((t for prefix, t in _TOPICS.items() if event.type.startswith(prefix)), ())
    owner = event.data.get("user_id") if isinstance(event.data, dict) else None
    for topic in topics:
        # The tiles are staff-only; lists are also the owner's own dashboard.
        live.announce(db.session, topic, user_ids=() if topic == "tiles" or owner is None else (owner,))
