"""Scheduled analytics reports: admins choose weekly or monthly; each finished period is mailed once.

The cron process runs `app.tasks.reports.send_scheduled_reports` every hour. For each subscription the
period reported is the last *finished* one (last ISO week Monday-Sunday, or last calendar month, UTC);
the outbox's `dedupe_key` f"report:{frequency}:{period}:{user_id}" makes sending it a second time a no-op,
however often the job runs. The mail carries the key numbers; the CSV of the certificates issued in the
period is stored once per period and attached at send time.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import case, func, select
from werkzeug.routing import BuildError

from app.database import utcnow
from app.extensions import db
from app.models import REPORT_FREQUENCIES, Certificate, Certification, Completion, ReportSubscription, User
from app.services import audit
from app.services.analytics import figures
from app.services.analytics.filters import Filters, add_months
from app.services.analytics.queries import held
from app.services.errors import NotAllowed, ValidationError
from app.services.messaging.outbox import external_url, queue_email

CSV_HEADER = ["Serial", "Name", "Email", "Department", "Certification", "Issued at", "Expires at", "Status"]


@dataclass(frozen=True)
class Period:
    frequency: str
    key: str  # "2026-W14" or "2026-03"
    start: datetime  # inclusive, UTC midnight
    end: datetime  # exclusive

    @property
    def label(self) -> str:
        last_day = (self.end - timedelta(days=1)).date()
        if self.frequency == "weekly":
            return f"week {self.key} ({self.start.date().isoformat()} to {last_day.isoformat()})"
        return self.start.strftime("%B %Y")

    @property
    def filters(self) -> Filters:
        return Filters(date_from=self.start.date(), date_to=(self.end - timedelta(days=1)).date())


def subscription_for(user: User) -> ReportSubscription | None:
    return db.session.scalar(select(ReportSubscription).where(ReportSubscription.user_id == user.id))


def set_subscription(user: User, frequency: str, *, actor: audit.Actor) -> ReportSubscription | None:
    """Choose "weekly", "monthly", or "" (no report). Admins only."""
    if user.role != "admin":
        raise NotAllowed("Only administrators receive scheduled reports.")
    frequency = (frequency or "").strip().lower()
    if frequency not in ("", *REPORT_FREQUENCIES):
        raise ValidationError({"frequency": "Choose weekly, monthly or no report."})
    current = subscription_for(user)
    if not frequency:
        if current is not None:
            db.session.delete(current)
            audit.record(actor, "report.unsubscribed", "user", user.id, f"{user.email} stopped the report")
        db.session.flush()
        return None
    if current is None:
        current = ReportSubscription(user_id=user.id, frequency=frequency)
        db.session.add(current)
    elif current.frequency == frequency:
        return current
    current.frequency = frequency
    audit.record(actor, "report.subscribed", "user", user.id, f"{user.email} gets the {frequency} report",
                 frequency=frequency)
    db.session.flush()
    return current


def last_period(frequency: str, now: datetime | None = None) -> Period:
    """The last finished period before `now`: the previous ISO week, or the previous calendar month."""
    now = (now or utcnow()).astimezone(UTC)
    today = datetime(now.year, now.month, now.day, tzinfo=UTC)
    if frequency == "weekly":
        end = today - timedelta(days=today.weekday())
        start = end - timedelta(days=7)
        year, week, _ = start.isocalendar()
        return Period("weekly", f"{year}-W{week:02d}", start, end)
    end = today.replace(day=1)
    start = add_months(end, -1)
    return Period("monthly", f"{start.year:04d}-{start.month:02d}", start, end)


def key_numbers(period: Period, now: datetime | None = None) -> dict:
    """The report's figures, each an SQL aggregate: issued, revoked and completions in the period; held and
    expiring within 30 days now; the top certifications issued in the period."""
    now = now or utcnow()
    in_period = (Certificate.issued_at >= period.start) & (Certificate.issued_at < period.end)
    revoked = (Certificate.revoked_at >= period.start) & (Certificate.revoked_at < period.end)
    expiring = held(now) & (Certificate.expires_at <= now + timedelta(days=30))
    issued_n, revoked_n, held_n, expiring_n = db.session.execute(select(
        func.count(case((in_period, 1))), func.count(case((revoked, 1))),
        func.count(case((held(now), 1))), func.count(case((expiring, 1))),
    )).one()
    completions = db.session.scalar(select(func.count(Completion.id)).where(
        Completion.completed_at >= period.start, Completion.completed_at < period.end))
    by_cert = figures.chart("by-certification", period.filters, now)
    top = list(zip(by_cert["labels"], by_cert["datasets"][0]["data"], strict=True))[:5]
    return {"issued": issued_n, "revoked": revoked_n, "completions": completions, "held": held_n,
            "expiring_30_days": expiring_n, "top_certifications": top}


def period_csv(period: Period, now: datetime | None = None) -> bytes:
    """Every certificate issued in the period, oldest first (rows read in batches from the database)."""
    now = now or utcnow()
    stmt = (select(Certificate.serial, User.name, User.email, User.department, Certification.name,
                   Certificate.issued_at, Certificate.expires_at, Certificate.status_case(now))
            .join(User, User.id == Certificate.user_id)
            .join(Certification, Certification.id == Certificate.certification_id)
            .where(Certificate.issued_at >= period.start, Certificate.issued_at < period.end)
            .order_by(Certificate.issued_at, Certificate.id))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    for row in db.session.execute(stmt.execution_options(yield_per=1000)):
        writer.writerow([_cell(v) for v in row])
    return buffer.getvalue().encode("utf-8")


def _cell(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value  # spreadsheet formula injection
    return "" if value is None else value


def _attachment(period: Period, now: datetime) -> list[dict]:
    """Store the period's CSV once and describe it for the outbox (attached when the mail is sent)."""
    from app.documents.storage import get_storage

    key = f"reports/{period.frequency}-{period.key}.csv"
    storage = get_storage()
    if not storage.exists(key):
        storage.put(key, period_csv(period, now), "text/csv")
    return [{"filename": f"laurel-{period.frequency}-report-{period.key}.csv", "content_type": "text/csv",
             "storage_key": key}]


def dedupe_key(period: Period, user_id: int) -> str:
    return f"report:{period.frequency}:{period.key}:{user_id}"


def send_due(now: datetime | None = None) -> int:
    """Queue the report for every subscribed active admin whose last finished period was not sent yet.
    Returns how many mails were queued."""
    from app.models import OutboxEmail

    now = now or utcnow()
    rows = db.session.execute(
        select(ReportSubscription.frequency, User)
        .join(User, User.id == ReportSubscription.user_id)
        .where(User.active.is_(True), User.role == "admin").order_by(User.id)).all()
    queued = 0
    for frequency, user in rows:
        period = last_period(frequency, now)
        key = dedupe_key(period, user.id)
        if db.session.scalar(select(OutboxEmail.id).where(OutboxEmail.dedupe_key == key)):
            continue
        numbers = key_numbers(period, now)
        context = {"name": user.name, "period": period, "numbers": numbers,
                   "analytics_url": _analytics_url(period)}
        subject = f"{current_app.config['ORG_NAME']} certification report: {period.label}"
        if queue_email(user.email, "report", subject=subject, context=context, user_id=user.id,
                       attachments=_attachment(period, now), dedupe_key=key):
            queued += 1
    return queued


def _analytics_url(period: Period) -> str:
    try:
        return external_url("analytics.index", **period.filters.args())
    except BuildError:  # the analytics blueprint is not registered (partial apps): the plain path
        return f"{current_app.config['BASE_URL']}/analytics/"
