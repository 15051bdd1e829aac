"""Session mail: iCalendar invitations (invite.ics), waitlist notices and the 24-hour reminders.

An invitation carries the session's UID (the same in every mail about it) and a SEQUENCE one higher
than the last one this person got (`SessionRegistration.ics_sequence`), so calendars update the event in
place (METHOD:REQUEST) or drop it (METHOD:CANCEL). The .ics travels inside the outbox row
(`attachments[].data`), so a mail sent again after a crash carries the same bytes.
"""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from email.utils import parseaddr
from urllib.parse import urlsplit

from flask import current_app
from icalendar import Calendar, Event, vCalAddress, vText
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from app.database import utcnow
from app.extensions import db
from app.models import SessionRegistration, TrainingSession
from app.rules import display
from app.services import audit
from app.services.messaging import outbox

REMINDER_BEFORE = timedelta(hours=24)
KINDS = {"new": "Invitation", "updated": "Updated", "cancelled": "Cancelled"}


def ics_uid(session: TrainingSession) -> str:
    host = urlsplit(current_app.config["BASE_URL"]).hostname or "laurel.local"
    return f"session-{session.uid}@{host}"


def build_ics(registration: SessionRegistration, method: str, sequence: int, now: datetime) -> bytes:
    """One VEVENT for this attendee: times in UTC, the session's UID, `sequence`, `method`."""
    session = registration.session
    calendar = Calendar()
    calendar.add("prodid", "-//Laurel//Training sessions//EN")
    calendar.add("version", "2.0")
    calendar.add("method", method)
    event = Event()
    event.add("uid", ics_uid(session))
    event.add("sequence", sequence)
    event.add("dtstamp", now)
    event.add("dtstart", session.starts_at)
    event.add("dtend", session.ends_at)
    event.add("summary", session.label)
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    if session.location or session.online_url:
        event.add("location", session.location or session.online_url)
    if session.online_url:
        event.add("url", session.online_url)
    event.add("description", f"{session.course.code}: {session.course.title}"
              + (f"\nJoin: {session.online_url}" if session.online_url else ""))
    sender = parseaddr(current_app.config["MAIL_DEFAULT_SENDER"])
    organizer = vCalAddress(f"mailto:{sender[1] or 'laurel@laurel.local'}")
    organizer.params["cn"] = vText(sender[0] or current_app.config.get("ORG_NAME", "Laurel"))
    event.add("organizer", organizer)
    attendee = vCalAddress(f"mailto:{registration.user.email}")
    attendee.params.update({"cn": vText(registration.user.name), "role": vText("REQ-PARTICIPANT"),
                            "partstat": vText("ACCEPTED")})
    event.add("attendee", attendee)
    calendar.add_component(event)
    return calendar.to_ical()


def _context(registration: SessionRegistration) -> dict:
    session = registration.session
    return {"name": registration.user.name, "course": session.course.title, "code": session.course.code,
            "title": session.label, "starts": display.zoned(session.starts_at, session.timezone),
            "ends": display.zoned(session.ends_at, session.timezone),
            "when": display.zoned_span(session.starts_at, session.ends_at, session.timezone),
            "starts_utc": display.moment(session.starts_at), "location": session.location,
            "online_url": session.online_url, "trainer": session.trainer.name if session.trainer else "",
            "session_url": _session_url(session)}


def _session_url(session: TrainingSession) -> str:
    try:
        return outbox.external_url("training.session_detail", session_id=session.id)
    except Exception:  # noqa: BLE001 - blueprint not registered (partial apps): the known path
        return f"{current_app.config['BASE_URL']}/training/sessions/{session.id}"


def send_invitation(registration: SessionRegistration, kind: str, now: datetime | None = None) -> None:
    """Mail `invite.ics`: "new" and "updated" as METHOD:REQUEST, "cancelled" as METHOD:CANCEL."""
    now = now or utcnow()
    session = registration.session
    sequence = max(registration.ics_sequence + 1, session.sequence)
    registration.ics_sequence = sequence
    if kind == "updated":  # a new time: the reminder is due again before it
        registration.reminded_at = now if session.starts_at - now <= REMINDER_BEFORE else None
    method = "CANCEL" if kind == "cancelled" else "REQUEST"
    ics = build_ics(registration, method, sequence, now)
    context = _context(registration) | {"kind": kind}
    outbox.queue_email(
        registration.user.email, "session_invitation", user_id=registration.user_id,
        dedupe_key=f"session-invite:{registration.id}:{sequence}",
        subject=f"{KINDS[kind]}: {session.label}, {context['starts']}", context=context,
        attachments=[{"filename": "invite.ics", "content_type": "text/calendar",
                      "data": base64.b64encode(ics).decode("ascii")}],
    )


def send_waitlist_notice(registration: SessionRegistration, *, cancelled: bool) -> None:
    session = registration.session
    context = _context(registration) | {"cancelled": cancelled}
    subject = (f"Cancelled: {session.label}, {context['starts']}" if cancelled
               else f"On the waitlist: {session.label}, {context['starts']}")
    outbox.queue_email(registration.user.email, "session_waitlist", user_id=registration.user_id,
                       dedupe_key=f"session-waitlist:{registration.id}:{int(registration.queued_at.timestamp())}"
                                  f":{int(cancelled)}",
                       subject=subject, context=context)


def send_due_reminders(now: datetime | None = None) -> int:
    """Remind everyone registered for a session starting within 24 hours, once (a conditional UPDATE of
    `reminded_at` picks the one sender however many sweeps run; the mail's dedupe key backs it)."""
    now = now or utcnow()
    due = db.session.scalars(
        select(SessionRegistration).join(SessionRegistration.session)
        .options(joinedload(SessionRegistration.session).joinedload(TrainingSession.course),
                 joinedload(SessionRegistration.user))
        .where(SessionRegistration.status == "registered", SessionRegistration.reminded_at.is_(None),
               TrainingSession.status == "scheduled", TrainingSession.starts_at > now,
               TrainingSession.starts_at <= now + REMINDER_BEFORE)
        .order_by(TrainingSession.starts_at, SessionRegistration.id)).unique().all()
    sent = 0
    for registration in due:
        claimed = db.session.execute(
            update(SessionRegistration).where(SessionRegistration.id == registration.id,
                                              SessionRegistration.reminded_at.is_(None))
            .values(reminded_at=now).execution_options(synchronize_session=False))
        if claimed.rowcount != 1:
            continue
        session = registration.session
        context = _context(registration)
        outbox.queue_email(registration.user.email, "session_reminder", user_id=registration.user_id,
                           dedupe_key=f"session-reminder:{registration.id}:{int(session.starts_at.timestamp())}",
                           subject=f"Tomorrow: {session.label}, {context['starts']}", context=context)
        sent += 1
    if sent:
        audit.record("system", "session.reminders_sent", "training_session", None,
                     f"{sent} session reminder(s) sent", count=sent)
    return sent
