"""In-app notifications: the bell. Lifecycle events become one message for the certificate holder.

Subscribers run inside the transaction that emitted the event, so a notification exists exactly when
the change it announces does.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import func, select, update
from werkzeug.routing import BuildError

from app import live
from app.database import utcnow
from app.extensions import db
from app.models import Certificate, Notification
from app.rules import display
from app.services import events

RECENT = 8


def create(user_id: int, kind: str, title: str, body: str = "", link: str | None = None, *,
           flush: bool = True) -> Notification:
    """Add one notification; `flush=False` leaves the INSERT to the next flush (batched with the others
    of a bulk import: the event subscriber needs no id)."""
    row = Notification(user_id=user_id, kind=kind, title=title[:200], body=body, link=link)
    db.session.add(row)
    if flush:
        db.session.flush()
    live.announce(db.session, "bell", staff=False, user_ids=(user_id,))
    return row


def unread_count(user_id: int) -> int:
    return db.session.scalar(select(func.count(Notification.id)).where(
        Notification.user_id == user_id, Notification.read_at.is_(None))) or 0


def recent(user_id: int, limit: int = RECENT) -> list[Notification]:
    """Newest first: unread ones and then read ones."""
    return list(db.session.scalars(select(Notification).where(Notification.user_id == user_id)
                                   .order_by(Notification.created_at.desc(), Notification.id.desc())
                                   .limit(limit)))


def query(user_id: int):
    return (select(Notification).where(Notification.user_id == user_id)
            .order_by(Notification.created_at.desc(), Notification.id.desc()))


def get_own(user_id: int, notification_id: int) -> Notification | None:
    """The notification if it belongs to this user (someone else's looks like a missing one)."""
    row = db.session.get(Notification, notification_id)
    return row if row is not None and row.user_id == user_id else None


def mark_read(row: Notification) -> None:
    if row.read_at is None:
        row.read_at = utcnow()
        db.session.flush()


def mark_all_read(user_id: int) -> int:
    result = db.session.execute(update(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None)).values(read_at=utcnow())
        .execution_options(synchronize_session=False))
    return result.rowcount or 0


def _certificate_link(cert: Certificate) -> str:
    try:
        path = current_app.url_map.bind("localhost").build("sharing.my_certificates", {})
    except BuildError:
        path = "/me/certificates"
    return f"{path}#cert-{cert.id}"


def _name(cert: Certificate) -> str:
    return (cert.snapshot or {}).get("certification_name") or cert.certification.name


def _certificate(event: events.Event) -> Certificate | None:
    cert_id = event.data.get("id")
    return db.session.get(Certificate, cert_id) if cert_id else None


MESSAGES = {
    "certificate.issued": ("issued", "Certificate issued: {name}",
                           "Congratulations! Your certificate {serial} is ready to download and share."),
    "certificate.renewed": ("renewed", "Certificate renewed: {name}",
                            "Your certificate has been renewed as {serial}."),
    "certificate.revoked": ("revoked", "Certificate revoked: {name}",
                            "Your certificate {serial} has been revoked. Reason: {reason}"),
    "certificate.reissued": ("reissued", "Certificate corrected: {name}",
                             "Your certificate {serial} was corrected and reissued ({summary})."),
    "certificate.reinstated": ("reinstated", "Certificate valid again: {name}",
                               "The revocation of your certificate {serial} was lifted."),
    "certificate.expiring": ("expiring", "{name} expires in {days_left} days",
                             "Renew it before {expires} to stay certified ({serial})."),
    "certificate.expired": ("expired", "Certificate expired: {name}",
                            "Your certificate {serial} expired on {expires}. "
                            "Complete the courses again to renew."),
}


def _notify(event: events.Event) -> None:
    cert = _certificate(event)
    if cert is None:
        return
    if event.type == "certificate.issued" and cert.renewed_from_id:
        return  # a renewal: certificate.renewed says it once
    if event.type == "certificate.expired" and db.session.scalar(
            select(Certificate.superseded()).where(Certificate.id == cert.id)):
        return  # already renewed: nothing to act on (built only here: the expression costs ~2 ms)
    kind, title, body = MESSAGES[event.type]
    values = {"name": _name(cert), "serial": cert.serial, "reason": cert.revoke_reason or "",
              "days_left": event.data.get("days_left", ""),
              "expires": display.day(cert.expires_at), "summary": event.data.get("summary", "")}
    create(cert.user_id, kind, title.format(**values), body.format(**values), _certificate_link(cert),
           flush=False)


for _type in MESSAGES:
    events.subscribe(_type)(_notify)
