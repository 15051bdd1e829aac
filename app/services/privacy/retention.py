"""The retention policy, enforced by the daily sweep: what is deleted after how long.

Four kinds (docs/privacy.md): mail bodies (the mail log keeps who, what and when; the text goes),
audit rows, the PDFs of certificates that expired long ago (the certificate itself stays verifiable),
and finished data exports past their expiry (always, even with retention off: the person was promised
it). `report(now)` counts exactly what `enforce(now)` deletes for the same `now`; both are set-based
and a second run finds nothing left to do.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Select, delete, func, or_, select, update

from app.database import utcnow
from app.extensions import db
from app.models import AuditEvent, Certificate, OutboxEmail
from app.services import audit
from app.services.documents import rendering
from app.services.privacy import exports, policy

KINDS = ("mail_bodies", "audit_rows", "expired_pdfs", "data_exports")
LABELS = {"mail_bodies": "Mail bodies", "audit_rows": "Audit rows",
          "expired_pdfs": "Expired certificates' PDFs", "data_exports": "Expired data exports"}
PDF_DELETED = "Deleted by the retention policy: the certificate expired long ago."


def years_before(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year - years, day=28)


def _mail(rules: policy.Policy, now: datetime):  # type: ignore[no-untyped-def]
    return (OutboxEmail.created_at < now - timedelta(days=rules.mail_body_days),
            OutboxEmail.status.in_(("sent", "failed")),
            or_(OutboxEmail.text_body != "", OutboxEmail.html_body != ""))


def _audit(rules: policy.Policy, now: datetime):  # type: ignore[no-untyped-def]
    return (AuditEvent.at < years_before(now, rules.audit_years),)


def _pdfs(rules: policy.Policy, now: datetime):  # type: ignore[no-untyped-def]
    return (Certificate.expires_at < years_before(now, rules.expired_pdf_years),
            Certificate.pdf_key.is_not(None))


def _count(model, conditions) -> int:  # type: ignore[no-untyped-def]
    return db.session.scalar(select(func.count()).select_from(model).where(*conditions)) or 0


def _exports(now: datetime) -> Select:
    return exports.expired_query(now)


def report(now: datetime | None = None, rules: policy.Policy | None = None) -> dict[str, int]:
    """The dry run: how many of each kind a run now would delete."""
    now, rules = now or utcnow(), rules or policy.current()
    return {
        "mail_bodies": _count(OutboxEmail, _mail(rules, now)),
        "audit_rows": _count(AuditEvent, _audit(rules, now)),
        "expired_pdfs": _count(Certificate, _pdfs(rules, now)),
        "data_exports": db.session.scalar(select(func.count()).select_from(_exports(now).subquery())) or 0,
    }


def enforce(now: datetime | None = None, *, force: bool = False) -> dict[str, int]:
    """Delete what the policy says is due (only expired exports while retention is off, unless `force`).
    Returns the counts; audited when anything went."""
    now, rules = now or utcnow(), policy.current()
    done = dict.fromkeys(KINDS, 0)
    done["data_exports"] = exports.delete_expired(now)
    if rules.retention_enabled or force:
        done["mail_bodies"] = db.session.execute(
            update(OutboxEmail).where(*_mail(rules, now)).values(text_body="", html_body="")
            .execution_options(synchronize_session=False)).rowcount or 0
        done["audit_rows"] = db.session.execute(
            delete(AuditEvent).where(*_audit(rules, now))
            .execution_options(synchronize_session=False)).rowcount or 0
        done["expired_pdfs"] = _delete_pdfs(rules, now)
    if any(done.values()):
        audit.record("system", "privacy.retention", "privacy_settings", 1,
                     "Retention policy applied: "
                     + ", ".join(f"{LABELS[k].lower()} {v}" for k, v in done.items()),
                     **done)
    return done


def _delete_pdfs(rules: policy.Policy, now: datetime) -> int:
    rows = db.session.execute(select(Certificate.id, Certificate.pdf_key).where(*_pdfs(rules, now))).all()
    if not rows:
        return 0
    db.session.execute(update(Certificate).where(Certificate.id.in_([r.id for r in rows]))
                       .values(pdf_key=None, pdf_error=PDF_DELETED)
                       .execution_options(synchronize_session=False))
    for row in rows:
        rendering.discard(row.pdf_key)
    return len(rows)
