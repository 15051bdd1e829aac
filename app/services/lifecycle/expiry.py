"""Expiry administration: extend (by days or months) or set the expiry of many certificates at once.

Set-based, so 200 certificates cost what 1 does: the certificates are read and locked in one statement
per CHUNK, changed with one UPDATE batch, their now-undue reminders forgotten with one DELETE batch,
audited per certificate in one INSERT batch (`audit.batch`) and the holders' mails inserted in one flush.
Reminders start over from the new date: a `reminders_sent` row for a reminder day that is no longer
due is deleted (that reminder goes out again when its day comes; mail dedupe keys carry the change's
moment), and an expired certificate whose new date lies ahead will be announced as expired again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from dateutil.relativedelta import relativedelta
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from app.database import begin_write, utcnow
from app.extensions import db
from app.models import Certificate, ReminderSent, User
from app.rules import display
from app.services import audit
from app.services.accounts import scope
from app.services.errors import ValidationError
from app.services.fields import check_fields, clean_date, clean_int, isodate
from app.services.lifecycle.certificates import verify_url
from app.services.lifecycle.corrections import clean_reason
from app.services.messaging import outbox

MAX_CERTIFICATES = 1000  # per request
MAX_DAYS, MAX_MONTHS = 3650, 120  # one extension: ten years at most
MAX_YEARS_AHEAD = 50  # a set date: within 50 years from today
CHUNK = 500
MODES = ("extend_days", "extend_months", "set_date")


@dataclass(frozen=True)
class Change:
    """What to do: `mode` in MODES with its `amount` (days or months) or `on` (a date), and why."""

    mode: str
    reason: str
    amount: int | None = None
    on: date | None = None


def clean_change(fields: dict) -> Change:
    """{mode, amount | expires_on, reason} -> a Change, or ValidationError per field."""
    mode = str(fields.get("mode") or "").strip()
    errors: dict[str, str] = {}
    if mode not in MODES:
        errors["mode"] = "Choose: extend by days, extend by months, or set the date."
    checks = {"reason": clean_reason}
    if mode in ("extend_days", "extend_months"):
        top = MAX_DAYS if mode == "extend_days" else MAX_MONTHS
        checks["amount"] = lambda v: _required(clean_int(v, minimum=1, maximum=top), f"Enter 1 to {top}.")
    elif mode == "set_date":
        checks["expires_on"] = lambda v: _required(clean_date(v), "Enter the new expiry date.")
    values, problems = check_fields({"reason": None, "amount": None, "expires_on": None, **fields}, checks)
    errors.update(problems)
    if errors:
        raise ValidationError(errors)
    return Change(mode, values["reason"], values.get("amount"), values.get("expires_on"))


def _required(value, message: str):
    if value is None:
        raise ValueError(message)
    return value


def new_expiry(cert: Certificate, change: Change) -> datetime:
    if change.mode == "set_date":
        assert change.on is not None
        return datetime.combine(change.on, time(23, 59, 59), tzinfo=UTC)  # valid through that whole day
    if cert.expires_at is None:
        raise ValueError("does not expire: set a date instead of extending")
    if change.mode == "extend_days":
        return cert.expires_at + timedelta(days=change.amount or 0)
    return cert.expires_at + relativedelta(months=change.amount or 0)


def lock_certificates(ids: Sequence[int]) -> list[Certificate]:
    """The certificates with these ids, locked for this transaction (FOR UPDATE; SQLite's write lock),
    holders and certifications loaded, in id order."""
    begin_write(db.session.connection())
    rows: list[Certificate] = []
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), CHUNK):
        rows += db.session.scalars(
            select(Certificate).where(Certificate.id.in_(ordered[start:start + CHUNK]))
            .order_by(Certificate.id)
            .options(selectinload(Certificate.user), selectinload(Certificate.certification))
            .with_for_update(of=Certificate).execution_options(populate_existing=True)).all()
    return rows


def change_expiry(certs: Sequence[Certificate], change: Change, *, actor: audit.Actor,
                  now: datetime | None = None) -> int:
    """Apply `change` to every certificate or to none: ValidationError naming the refused ones (revoked,
    never expiring when extending, a date before the issue date or too far ahead). Returns the count."""
    now = now or utcnow()
    if not certs:
        raise ValidationError({"certificate_ids": "Select at least one certificate."})
    if len(certs) > MAX_CERTIFICATES:
        raise ValidationError({"certificate_ids": f"At most {MAX_CERTIFICATES} certificates at once."})
    latest = now + relativedelta(years=MAX_YEARS_AHEAD)
    planned: list[tuple[Certificate, datetime]] = []
    refused: list[str] = []
    for cert in certs:
        if cert.revoked_at is not None:
            refused.append(f"{cert.serial} is revoked")
            continue
        try:
            expires = new_expiry(cert, change)
        except ValueError as exc:
            refused.append(f"{cert.serial} {exc}")
            continue
        if expires <= cert.issued_at:
            refused.append(f"{cert.serial}: the expiry would be before its issue date "
                           f"({display.day(cert.issued_at)})")
        elif expires > latest:
            refused.append(f"{cert.serial}: the expiry would be more than {MAX_YEARS_AHEAD} years ahead")
        else:
            planned.append((cert, expires))
    if refused:
        field = "expires_on" if change.mode == "set_date" else "certificate_ids"
        shown = "; ".join(refused[:10]) + (f"; and {len(refused) - 10} more" if len(refused) > 10 else "")
        raise ValidationError({field: f"Nothing was changed: {shown}."})
    previous = {cert.id: cert.expires_at for cert, _ in planned}
    _write(planned, now)
    _record(planned, previous, change, actor, now)
    return len(planned)


def _write(planned: list[tuple[Certificate, datetime]], now: datetime) -> None:
    table = Certificate.__table__
    values = []
    for cert, expires in planned:
        # The renewal window keeps its length as frozen at issue (or the certification's, if it had none).
        window = (cert.expires_at - cert.renewal_opens_at if cert.expires_at and cert.renewal_opens_at
                  else timedelta(days=cert.certification.renewal_window_days))
        values.append({"row_id": cert.id, "new_expires": expires, "new_opens": expires - window,
                       "new_notified": cert.expired_notified_at if expires <= now else None,
                       "left_days": max(0, (expires - now).days)})
    db.session.execute(update(table).where(table.c.id == bindparam("row_id")).values(
        expires_at=bindparam("new_expires"), renewal_opens_at=bindparam("new_opens"),
        expired_notified_at=bindparam("new_notified"), expiry_set_at=now), values)
    # A reminder day that is not due under the new date goes out again when it is.
    sent = ReminderSent.__table__
    db.session.execute(delete(sent).where(sent.c.certificate_id == bindparam("row_id"),
                                          sent.c.days < bindparam("left_days")),
                       [{"row_id": v["row_id"], "left_days": v["left_days"]} for v in values])
    for cert, value in zip((c for c, _ in planned), values, strict=True):  # the session's rows agree
        for key, new in (("expires_at", value["new_expires"]), ("renewal_opens_at", value["new_opens"]),
                         ("expired_notified_at", value["new_notified"]), ("expiry_set_at", now)):
            set_committed_value(cert, key, new)


def _record(planned: list[tuple[Certificate, datetime]], previous: dict[int, datetime | None],
            change: Change, actor: audit.Actor, now: datetime) -> None:
    how = {"extend_days": f"extended by {change.amount} day(s)",
           "extend_months": f"extended by {change.amount} month(s)", "set_date": "set"}[change.mode]
    mails = []
    with audit.batch():
        for cert, expires in planned:
            before = previous[cert.id]
            audit.record(actor, "certificate.expiry_changed", "certificate", cert.id,
                         f"{cert.serial} expiry {how}: {display.day(expires)}", serial=cert.serial,
                         mode=change.mode, amount=change.amount, expires_at=isodate(expires),
                         previous_expires_at=isodate(before), reason=change.reason)
            holder = cert.user
            mails.append(outbox.Mail(
                holder.email, "certificate_expiry_changed", user_id=holder.id,
                subject=f"The expiry of your certificate {cert.serial} has changed",
                context={"name": (cert.snapshot or {}).get("holder_name") or holder.name,
                         "certification": (cert.snapshot or {}).get("certification_name")
                         or cert.certification.name,
                         "serial": cert.serial, "expires_at": expires, "previous": before,
                         "reason": change.reason, "verify_url": verify_url(cert)}))
    outbox.queue_many(mails)




def all_visible(certs: Sequence[Certificate], viewer: User | None) -> bool:
    """Every holder is one `viewer` may see (None: everyone). Reads the loaded holders, no query per row."""
    return viewer is None or all(scope.can_see_user(viewer, cert.user) for cert in certs)
