"""Which open pages hear about which lifecycle events (app/live.py streams them after the commit).

Staff pages (dashboard tiles, certificate and enrollment lists) hear about every change; a learner
hears about changes to their own certificates and enrollments, so their dashboard updates too.
"""

from __future__ import annotations

from app import live
from app.extensions import db
from app.models import User
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
    if owner is None and event.type.startswith("user.") and isinstance(event.data, dict):
        owner = event.data.get("id")
    departments = _department_of(owner)
    for topic in topics:
        # The tiles are staff-only; lists are also the owner's own dashboard. Managers of the owner's
        # department (or one above it: they hold it in their scope) hear it through `departments`.
        live.announce(db.session, topic, user_ids=() if topic == "tiles" or owner is None else (owner,),
                      departments=departments)


def _department_of(user_id: object) -> tuple[int, ...]:
    """The department of the person an event is about (usually already in the session: no query)."""
    if not isinstance(user_id, int):
        return ()
    with db.session.no_autoflush:  # a subscriber runs mid-change: never flush half-made rows from here
        user = db.session.get(User, user_id)
    return (user.department_id,) if user is not None and user.department_id else ()
