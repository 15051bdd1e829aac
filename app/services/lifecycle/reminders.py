"""The daily lifecycle mail: renewal reminders, expiry notices and the weekly admin digest.

Each is sent once, however often the sweep runs and however many sweeps overlap:
- a reminder is a `ReminderSent` row, unique per certificate x reminder day, inserted in a SAVEPOINT
  (the loser of a race gets an IntegrityError and skips); the mail also carries the dedupe key
  `reminder:<cert>:<days>`;
- an expiry is a conditional UPDATE of `Certificate.expired_notified_at` (only one writer wins);
- a digest is an outbox row with the dedupe key `digest:<ISO year>-W<week>:<admin id>`.

Reminders stop when the certificate is revoked or a newer cycle exists (renewed). A missed sweep does
not send a burst: only the most urgent reminder day that is due goes out. Reminder and expiry mail
respect `User.reminder_emails`; the event and the in-app notification are sent regardless.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from app.database import utcnow
from app.extensions import db
from app.models import Certificate, Certification, OutboxEmail, ReminderSent, User
from app.services import audit, events
from app.services.lifecycle.certificates import certificate_data, verify_url
from app.services.messaging import outbox


def is_superseded(cert: Certificate) -> bool:
    return bool(db.session.scalar(select(Certificate.superseded()).where(Certificate.id == cert.id)))


def key_suffix(cert: Certificate) -> str:
    """Appended to the reminder and expiry mail dedupe keys once an admin set the expiry anew
    (expiry.py): its reminders start over, and must not be taken for the ones already sent."""
    return f":e{int(cert.expiry_set_at.timestamp())}" if cert.expiry_set_at else ""


def due_day(cert: Certificate, schedule: list[int], now: datetime) -> int | None:
    """The most urgent reminder day whose moment has come (None before the first one)."""
    if cert.expires_at is None or cert.expires_at <= now:
        return None
    left = cert.expires_at - now
    due = [d for d in schedule if d > 0 and left <= timedelta(days=d)]
    return min(due) if due else None


def _schedule(certification: Certification) -> list[int]:
    return sorted({int(d) for d in (certification.reminder_days or []) if int(d) > 0}, reverse=True)


def send_due_reminders(now: datetime | None = None) -> int:
    """Send every reminder that is due now, once. Returns how many were sent."""
    now = now or utcnow()
    certifications = db.session.scalars(select(Certification)).all()
    horizon = max((max(_schedule(c), default=0) for c in certifications), default=0)
    if horizon == 0:
        return 0
    candidates = db.session.scalars(
        select(Certificate).options(joinedload(Certificate.user), joinedload(Certificate.certification))
        .where(Certificate.revoked_at.is_(None), Certificate.expires_at.is_not(None),
               Certificate.expires_at > now, Certificate.expires_at <= now + timedelta(days=horizon),
               ~Certificate.superseded())
        .order_by(Certificate.expires_at)
    ).unique().all()
    if not candidates:
        return 0
    sent_days: dict[int, set[int]] = {}
    for cert_id, days in db.session.execute(select(ReminderSent.certificate_id, ReminderSent.days).where(
            ReminderSent.certificate_id.in_([c.id for c in candidates]))):
        sent_days.setdefault(cert_id, set()).add(days)
    count = 0
    for cert in candidates:
        days = due_day(cert, _schedule(cert.certification), now)
        if days is None or days in sent_days.get(cert.id, set()):
            continue
        if _send_reminder(cert, days, now):
            count += 1
    return count


def _send_reminder(cert: Certificate, days: int, now: datetime) -> bool:
    holder: User = cert.user
    emailed = holder.active and holder.reminder_emails
    try:
        with db.session.begin_nested():
            db.session.add(ReminderSent(certificate_id=cert.id, days=days, emailed=emailed, sent_at=now))
            db.session.flush()
    except IntegrityError:  # another sweep sent it meanwhile
        return False
    days_left = max(0, (cert.expires_at - now).days)
    audit.record("system", "certificate.reminder_sent", "certificate", cert.id,
                 f"{cert.serial}: renewal reminder ({days} days before expiry)"
                 + ("" if emailed else ", no mail (opted out)"),
                 serial=cert.serial, days=days, emailed=emailed)
    events.emit("certificate.expiring", {**certificate_data(cert, now), "days_left": days_left,
                                         "reminder_days": days})
    if emailed:
        name = _certification_name(cert)
        outbox.queue_email(
            holder.email, "certificate_reminder", user_id=holder.id,
            dedupe_key=f"reminder:{cert.id}:{days}{key_suffix(cert)}",
            subject=f"Your {name} certificate expires in {_days(days_left)}",
            context=_context(cert) | {"days_left": days_left},
        )
    return True


def notify_expired(now: datetime | None = None) -> int:
    """Certificates past their expiry not yet announced: emit certificate.expired and tell the holder."""
    now = now or utcnow()
    ids = db.session.scalars(select(Certificate.id).where(
        Certificate.revoked_at.is_(None), Certificate.expires_at.is_not(None), Certificate.expires_at <= now,
        Certificate.expired_notified_at.is_(None)).order_by(Certificate.expires_at)).all()
    count = 0
    for cert_id in ids:
        claimed = db.session.execute(
            update(Certificate).where(Certificate.id == cert_id, Certificate.expired_notified_at.is_(None))
            .values(expired_notified_at=now).execution_options(synchronize_session=False))
        if claimed.rowcount != 1:
            continue
        cert = db.session.get(Certificate, cert_id, populate_existing=True)
        renewed = is_superseded(cert)
        audit.record("system", "certificate.expired", "certificate", cert.id, f"{cert.serial} expired",
                     serial=cert.serial, renewed=renewed)
        events.emit("certificate.expired", certificate_data(cert, now))
        holder = cert.user
        # A holder who already renewed keeps a valid certificate: no "your certificate expired" mail.
        if not renewed and holder.active and holder.reminder_emails:
            name = _certification_name(cert)
            outbox.queue_email(holder.email, "certificate_expired", user_id=holder.id,
                               dedupe_key=f"expired:{cert.id}{key_suffix(cert)}",
                               subject=f"Your {name} certificate has expired", context=_context(cert))
        count += 1
    return count


def _certification_name(cert: Certificate) -> str:
    return (cert.snapshot or {}).get("certification_name") or cert.certification.name


def _days(n: int) -> str:
    return "1 day" if n == 1 else f"{n} days"


def _context(cert: Certificate) -> dict:
    snap = cert.snapshot or {}
    return {
        "name": cert.user.name, "certification": _certification_name(cert), "serial": cert.serial,
        "expires_at": cert.expires_at, "issued_at": cert.issued_at, "verify_url": verify_url(cert),
        "courses": [c.get("title") or c.get("code") for c in snap.get("courses", [])],
        "certificates_url": _url("sharing.my_certificates", "/me/certificates"),
        "preferences_url": _url("accounts.profile", "/profile"),
    }


def _url(endpoint: str, fallback: str) -> str:
    try:
        return outbox.external_url(endpoint)
    except Exception:  # noqa: BLE001 - blueprint not registered (partial apps): the known path
        return current_app.config["BASE_URL"] + fallback


# --- weekly admin digest -------------------------------------------------------------------------

DIGEST_HORIZON = timedelta(days=30)
DIGEST_LIST_LIMIT = 20
DigestSection = Callable[[datetime], dict | None]
_digest_sections: list[DigestSection] = []


def register_digest_section(func: DigestSection) -> DigestSection:
    """More "needs attention" for the digest (e.g. failing webhook endpoints). The function returns
    None (nothing to say) or {"title": str, "count": int, "items": [str], "link": absolute URL or None}."""
    if func not in _digest_sections:
        _digest_sections.append(func)
    return func


def digest_week(now: datetime) -> str:
    year, week, _ = now.isocalendar()
    return f"{year}-W{week}"


def send_weekly_digest(now: datetime | None = None, *, force: bool = False) -> int:
    """On DIGEST_WEEKDAY (or later that ISO week, if the sweep missed the day) mail every active admin
    once per ISO week. Returns how many digests were queued."""
    now = now or utcnow()
    if not force and now.weekday() < current_app.config["DIGEST_WEEKDAY"]:
        return 0
    admins = db.session.scalars(select(User).where(User.role == "admin", User.active.is_(True))
                                .order_by(User.id)).all()
    if not admins:
        return 0
    context = digest_context(now)
    week = digest_week(now)
    count = 0
    for admin in admins:
        row = outbox.queue_email(admin.email, "admin_digest", user_id=admin.id,
                                 dedupe_key=f"digest:{week}:{admin.id}",
                                 subject=f"{current_app.config['ORG_NAME']} weekly digest ({week})",
                                 context=context | {"name": admin.name})
        count += row is not None
    if count:
        audit.record("system", "digest.sent", "digest", week, f"Weekly digest {week} to {count} admin(s)",
                     recipients=count)
    return count


def digest_context(now: datetime) -> dict:
    """What the digest says: expiring in 30 days, failed mail, failed PDFs, and registered sections."""
    base = current_app.config["BASE_URL"]
    expiring_stmt = (select(Certificate)
                     .options(joinedload(Certificate.user), joinedload(Certificate.certification))
                     .where(Certificate.revoked_at.is_(None), Certificate.expires_at > now,
                            Certificate.expires_at <= now + DIGEST_HORIZON, ~Certificate.superseded())
                     .order_by(Certificate.expires_at))
    expiring = db.session.scalars(expiring_stmt.limit(DIGEST_LIST_LIMIT)).unique().all()
    failed_pdfs_stmt = (select(Certificate).where(Certificate.pdf_status == "failed")
                        .order_by(Certificate.id.desc()))
    failed_mail_stmt = (select(OutboxEmail).where(OutboxEmail.status == "failed")
                        .order_by(OutboxEmail.id.desc()))
    sections = [s for s in (section(now) for section in _digest_sections) if s]
    return {
        "week": digest_week(now),
        "expiring_count": _count(expiring_stmt),
        "expiring": [{"holder": c.user.name, "certification": _certification_name(c), "serial": c.serial,
                      "expires_at": c.expires_at, "verify_url": verify_url(c)} for c in expiring],
        "failed_mail_count": _count(failed_mail_stmt),
        "failed_mail": [{"to": m.to, "subject": m.subject, "error": (m.last_error or "")[:200]}
                        for m in db.session.scalars(failed_mail_stmt.limit(DIGEST_LIST_LIMIT))],
        "failed_pdf_count": _count(failed_pdfs_stmt),
        "failed_pdfs": [{"serial": c.serial, "error": (c.pdf_error or "")[:200]}
                        for c in db.session.scalars(failed_pdfs_stmt.limit(DIGEST_LIST_LIMIT))],
        "sections": sections,
        "mail_log_url": _url("admin.mail_log", "/admin/mail") + "?status=failed",
        "dashboard_url": base + "/",
    }


def _count(stmt) -> int:
    return db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
