"""The mail outbox: compose an email into a row, let a job send it, recover what got stuck.

Every email is an `OutboxEmail` row first. A job (`app.tasks.mail.send_email`) claims the row with
a conditional UPDATE, so however many times the job is enqueued (retries, the sweep, a flushed
Redis) a mail is handed to the server once -- unless the worker dies (or the database drops)
between the SMTP hand-over and the commit that records it: then the row is sent again, with the
same Message-ID, stored on the row when it is created (docs/reliability.md: at-least-once).
Failures are kept on the row with the error and retried with backoff.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid, parseaddr
from pathlib import Path

from flask import current_app, render_template
from sqlalchemy import Select, insert, select, update

from app import liveness
from app.database import utcnow
from app.extensions import db, mail
from app.models import OutboxEmail
from app.models.notification import MAIL_STATUSES
from app.queue import early_tolerance, enqueue_after_commit, waiting
from app.services import audit, organisation, recovery
from app.services.messaging import email_texts, mail_headers

SEND_JOB = "app.tasks.mail.send_email"
BACKOFF_SECONDS = (10, 60, 300, 1800, 7200, 21600)
#: Fallback only: a row "sending" this long is freed even when worker liveness is unknown. A worker
#: that died is normally detected within about a minute (`free_abandoned`, app/liveness.py).
STUCK_SENDING = timedelta(minutes=15)
ABANDONED = "The worker stopped during this attempt; sent again with the same Message-ID."


def external_url(endpoint: str, **values: object) -> str:
    """An absolute link under BASE_URL, usable outside a request (jobs, CLI)."""
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return current_app.config["BASE_URL"] + path


# RFC 2606 reserves .invalid: such an address can never receive mail, so none is queued for it.
NEVER_DELIVERED = ".invalid"


def queue_email(to: str, template: str, *, subject: str, context: dict, user_id: int | None = None,
                attachments: list[dict] | None = None, dedupe_key: str | None = None) -> OutboxEmail | None:
    """Render `emails/<template>.txt|.html` (or the admin's own text for it, see email_texts) into an
    outbox row and send it after commit.

    With a `dedupe_key`, a second call with the same key does nothing and returns None; so does an
    address under .invalid.
    """
    if to.strip().lower().endswith(NEVER_DELIVERED):
        return None  # a placeholder address (SCIM people without one): the bell still tells them
    if dedupe_key and db.session.scalar(select(OutboxEmail.id).where(OutboxEmail.dedupe_key == dedupe_key)):
        return None
    # An admin's own text (Admin > Emails) replaces subject and body; None when there is none or it failed.
    subject, text, html = _compose(template, subject, context)
    row = OutboxEmail(
        to=to, subject=subject, template=template, user_id=user_id, dedupe_key=dedupe_key,
        message_id=new_message_id(), text_body=text, html_body=html, attachments=attachments or [],
    )
    db.session.add(row)
    db.session.flush()
    _enqueue(row)
    return row


@dataclass(frozen=True)
class Mail:
    """One mail for `queue_many`: the arguments of `queue_email` (no dedupe key, no attachments)."""

    to: str
    template: str
    subject: str
    context: dict
    user_id: int | None = None


def queue_many(mails: list[Mail]) -> list[int]:
    """`queue_email` for many mails in one INSERT batch (bulk work: an expiry change of 200 certificates
    costs what one does). Each is sent after commit, like any outbox row. Returns the new rows' ids."""
    values = []
    brand = organisation.email_context()  # read once (outside a request it is a query each time)
    for one in mails:
        if one.to.strip().lower().endswith(NEVER_DELIVERED):
            continue
        subject, text, html = _compose(one.template, one.subject, one.context, brand)
        values.append({"to": one.to, "subject": subject, "template": one.template, "user_id": one.user_id,
                       "message_id": new_message_id(), "text_body": text, "html_body": html,
                       "attachments": []})
    if not values:
        return []
    table = OutboxEmail.__table__
    ids = list(db.session.execute(insert(table).returning(table.c.id),  # any order: each id gets its job
                                  values).scalars())
    for email_id in ids:  # a new row has made no attempt yet: the job id of its first one
        enqueue_after_commit(db.session, SEND_JOB, email_id, queue="high", job_id=f"mail-{email_id}-0")
    return ids


def _compose(template: str, subject: str, context: dict, brand: dict | None = None) -> tuple[str, str, str]:
    """(subject, text, html) of a mail: the admin's own text for it, else the file templates."""
    ctx = {**context, **(brand or organisation.email_context()), "base_url": current_app.config["BASE_URL"],
           "subject": subject}
    own = email_texts.render(template, ctx)
    if own is not None:
        return own.subject, own.text, own.html
    return (subject, render_template(f"emails/{template}.txt", **ctx),
            render_template(f"emails/{template}.html", **ctx))


def new_message_id() -> str:
    """A Message-ID in the sender's domain, made once per outbox row: every attempt reuses it, so a
    mail sent again after a crash can be recognised as the same message by the receiver."""
    domain = parseaddr(current_app.config["MAIL_DEFAULT_SENDER"])[1].rpartition("@")[2] or "laurel.local"
    return make_msgid(domain=domain)


def message_id(row: OutboxEmail) -> str:
    # Rows queued before message_id existed get one derived from the row: stable across attempts too.
    return row.message_id or f"<outbox-{row.id}.{int(row.created_at.timestamp())}@laurel.local>"


def _enqueue(row: OutboxEmail, delay: timedelta | None = None) -> None:
    # One job id per attempt: a retry is a new job, a duplicate of the same attempt collapses.
    enqueue_after_commit(db.session, SEND_JOB, row.id, queue="high", delay=delay, job_id=_job_id(row))


def _job_id(row: OutboxEmail) -> str:
    return f"mail-{row.id}-{row.attempts}"


def claim(email_id: int, now: datetime | None = None) -> OutboxEmail | None:
    """Take the row for sending if it is due and nobody else has it (conditional UPDATE).

    "Due" tolerates a job firing a little early (whole-second scheduling, clock differences):
    skipping it would leave the retry to the next sweep.
    """
    now = now or utcnow()
    result = db.session.execute(
        update(OutboxEmail)
        .where(OutboxEmail.id == email_id, OutboxEmail.status == "queued",
               OutboxEmail.next_attempt_at <= now + early_tolerance())
        .values(status="sending", attempts=OutboxEmail.attempts + 1, sending_since=now)
    )
    if result.rowcount != 1:
        return None
    liveness.hold("mail", email_id)
    return db.session.get(OutboxEmail, email_id, populate_existing=True)


def send(row: OutboxEmail) -> None:
    """Hand the message to the configured backend; raises on failure."""
    # Built with the email package's header API (mail_headers), never Flask-Mail's Message: its headers
    # are pasted as given, so a CR/LF in a stored name could add a header (issue #11). The Message-ID is
    # the row's own, the same on every attempt, so a receiver can drop a copy sent again after a crash.
    message = mail_headers.compose(
        sender=current_app.config["MAIL_DEFAULT_SENDER"], to=row.to, subject=row.subject,
        text=row.text_body, html=row.html_body, message_id=message_id(row),
        attachments=[(a["filename"], a["content_type"], _attachment_bytes(a)) for a in row.attachments or []],
    )
    if current_app.config["MAIL_BACKEND"] == "file":
        _write_to_folder(row, message)
    else:
        _send_smtp(message)


def _send_smtp(message: EmailMessage) -> None:
    """Through Flask-Mail's connection (its server, TLS and login settings); nothing is sent when
    Flask-Mail suppresses sending (MAIL_SUPPRESS_SEND, or TESTING)."""
    with mail.connect() as connection:
        if connection.host is not None:
            connection.host.send_message(message)


def _attachment_bytes(attachment: dict) -> bytes:
    if "data" in attachment:  # small attachments (a calendar invitation) travel in the row, base64
        return base64.b64decode(attachment["data"])
    from app.documents.storage import get_storage  # imported late: storage is optional for plain mail

    return get_storage().read(attachment["storage_key"])


def _write_to_folder(row: OutboxEmail, message: EmailMessage) -> None:
    """Development backend: keep the message as an .eml file in instance/mail/."""
    folder = Path(current_app.instance_path) / "mail"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{row.id:06d}.eml").write_bytes(message.as_bytes())


def mark_sent(row: OutboxEmail) -> None:
    row.status = "sent"
    row.sent_at = utcnow()
    row.sending_since = None
    row.last_error = None


def mark_failed(row: OutboxEmail, error: str) -> None:
    """Record the error; schedule a retry with backoff, or give up after MAIL_MAX_ATTEMPTS."""
    row.last_error = error[:2000]
    row.sending_since = None
    if row.attempts >= current_app.config["MAIL_MAX_ATTEMPTS"]:
        row.status = "failed"
        return
    delay = timedelta(seconds=BACKOFF_SECONDS[min(row.attempts - 1, len(BACKOFF_SECONDS) - 1)])
    row.status = "queued"
    row.next_attempt_at = utcnow() + delay
    _enqueue(row, delay=delay)


def resend(row: OutboxEmail, *, actor: audit.Actor) -> None:
    """Send again now (a failed mail, or a sent one someone did not receive).

    A mail that was sent gets a new Message-ID: the receiver must not drop it as a duplicate of
    the one that went missing. A failed one keeps its own (it may have reached someone).
    """
    if row.status == "sent":
        row.message_id = new_message_id()
    row.status = "queued"
    row.attempts = 0
    row.next_attempt_at = utcnow()
    row.last_error = None
    audit.record(actor, "mail.resent", "outbox_email", row.id, f"Mail to {row.to} queued again")
    _enqueue(row)


def recover(now: datetime | None = None) -> int:
    """Re-enqueue due mail from database state (Redis flushed, worker killed). Returns the count."""
    now = now or utcnow()
    db.session.execute(
        update(OutboxEmail)
        .where(OutboxEmail.status == "sending", OutboxEmail.sending_since < now - STUCK_SENDING)
        .values(status="queued", sending_since=None, next_attempt_at=now)
    )
    due = db.session.scalars(
        select(OutboxEmail).where(OutboxEmail.status == "queued", OutboxEmail.next_attempt_at <= now)
    ).all()
    alive = waiting([_job_id(row) for row in due])
    lost = [row for row in due if _job_id(row) not in alive]
    for row in lost:
        _enqueue(row)
    return len(lost)


@recovery.register_abandoned
def free_abandoned(claims: recovery.Claims) -> dict:
    """Rows "sending" whose job no live worker holds: queue them again now (same Message-ID)."""
    rows = db.session.execute(select(OutboxEmail.id, OutboxEmail.attempts).where(
        OutboxEmail.status == "sending", OutboxEmail.sending_since < claims.claimed_before)).all()
    freed = 0
    for email_id, attempts in rows:
        if not claims.abandoned("mail", email_id):
            continue
        result = db.session.execute(
            update(OutboxEmail)
            .where(OutboxEmail.id == email_id, OutboxEmail.status == "sending",
                   OutboxEmail.attempts == attempts)
            .values(status="queued", sending_since=None, next_attempt_at=claims.now, last_error=ABANDONED))
        if result.rowcount == 1:
            freed += 1
            enqueue_after_commit(db.session, SEND_JOB, email_id, queue="high",
                                 job_id=f"mail-{email_id}-{attempts}")
    return {"mail_abandoned": freed}


def log_query(status: str = "", search: str = "") -> Select:
    """The mail log for admins: newest first, by status and by recipient or subject."""
    stmt = select(OutboxEmail).order_by(OutboxEmail.created_at.desc(), OutboxEmail.id.desc())
    if status in MAIL_STATUSES:
        stmt = stmt.where(OutboxEmail.status == status)
    if search:
        stmt = stmt.where(OutboxEmail.to.contains(search.lower()) | OutboxEmail.subject.contains(search))
    return stmt
