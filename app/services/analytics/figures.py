"""Analytics: the figures behind the Analytics page, its CSV exports, the API and the scheduled report.

Every number is an SQL aggregate (see `analytics_queries`); Python only shapes the few aggregate rows
(zero-filling months, ordering statuses, rounding). Each figure has a URL name:

charts  issued-per-month, by-certification, status, by-department, by-category, completion-rate,
        completion-by-department, engagement
tables  top-performers, recent-completions, expiring

A chart is {name, title, type, dimension, labels, datasets: [{key, label, data}], details: [...]}: the
datasets are plotted, the details only appear in the text-alternative table and the CSV. A table is
{name, title, columns: [{key, label}], rows: [{key: value}], summary}.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from app.database import utcnow
from app.extensions import db
from app.models import CERTIFICATE_STATUSES, ENGAGEMENT_KINDS
from app.services.analytics import queries as q
from app.services.analytics.filters import (
    FILTER_KEYS,
    Filters,
    filter_choices,
    month_key,
    month_window,
    parse_filters,
)
from app.services.analytics.filters import describe as describe_filters
from app.services.errors import ValidationError

__all__ = ["CHARTS", "FIGURES", "FILTER_KEYS", "TABLES", "Figure", "Filters", "chart", "csv_export",
           "describe_filters", "figure_data", "filter_choices", "fold_tail", "page_data", "parse_filters",
           "parse_limit", "table"]

NO_DEPARTMENT = "No department"
UNCATEGORISED = "Uncategorised"
ENGAGEMENT_LABELS = {"view": "Views", "download": "Downloads", "share": "Shares",
                     "linkedin": "LinkedIn clicks"}
STATUS_LABELS = {"valid": "Valid", "expiring": "Expiring", "expired": "Expired", "revoked": "Revoked"}
MAX_LIMIT = 1000


@dataclass(frozen=True)
class Figure:
    name: str
    title: str
    kind: str  # "chart" | "table"
    description: str
    chart_type: str = "bar"
    default_limit: int = 0  # tables: rows on the page and in the API unless ?limit= says otherwise


CHARTS = {f.name: f for f in (
    Figure("issued-per-month", "Certificates issued per month", "chart",
           "Certificates issued per calendar month (UTC): the date range, else the last 12 months.", "bar"),
    Figure("by-certification", "Certificates by certification", "chart",
           "Certificates issued (in the date range) per certification, most first.", "bar"),
    Figure("status", "Certificate status", "chart",
           "Certificates (issued in the date range) by status today: valid, expiring, expired, revoked.",
           "doughnut"),
    Figure("by-department", "Certificates by department", "chart",
           "Certificates issued (in the date range) by the holder's department.", "bar"),
    Figure("by-category", "Certificates by course category", "chart",
           "Certificates issued (in the date range) under each course category their certification requires; "
           "a certification spanning two categories counts in both.", "bar"),
    Figure("completion-rate", "Completion rate per course", "chart",
           "Completed enrolments / enrolments not withdrawn, per course (enrolled in the date range).",
           "bar"),
    Figure("completion-by-department", "Completion rate per department", "chart",
           "Completed enrolments / enrolments not withdrawn, per learner department.", "bar"),
    Figure("engagement", "Engagement per month", "chart",
           "Certificate views, downloads, shares and LinkedIn clicks per month (the date range, else the "
           "last 12 months).", "line"),
)}
TABLES = {f.name: f for f in (
    Figure("top-performers", "Top performers", "table",
           "Learners by certificates held (valid or expiring, issued in the date range), then average score "
           "of their completed enrolments.", default_limit=10),
    Figure("recent-completions", "Recent completions", "table",
           "The latest course completions (completed in the date range), newest first.", default_limit=20),
    Figure("expiring", "Expiring in the next 90 days", "table",
           "Held certificates expiring within 30, 60 and 90 days, soonest first (the date range does not "
           "apply).", default_limit=50),
)}
FIGURES = {**CHARTS, **TABLES}


def _dataset(key: str, label: str, data: list) -> dict:
    return {"key": key, "label": label, "data": data}


def _chart(name: str, f: Filters, dimension: str, labels: list[str], datasets: list[dict],
           details: list[dict] | None = None) -> dict:
    figure = CHARTS[name]
    return {"name": name, "title": figure.title, "type": figure.chart_type, "description": figure.description,
            "filters": f.data(), "dimension": dimension, "labels": labels, "datasets": datasets,
            "details": details or []}


def _rate(completed: int, enrolled: int) -> float:
    return round(100 * completed / enrolled, 1) if enrolled else 0.0


def _issued_per_month(f: Filters, now: datetime) -> dict:
    start, end, labels = month_window(f, now)
    counts = {month_key(month): n for month, n in db.session.execute(q.issued_per_month(f, start, end))}
    return _chart("issued-per-month", f, "Month", labels,
                  [_dataset("issued", "Certificates issued", [counts.get(m, 0) for m in labels])])


def _by_certification(f: Filters, now: datetime) -> dict:
    rows = db.session.execute(q.by_certification(f)).all()
    return _chart("by-certification", f, "Certification", [name for _, name, _ in rows],
                  [_dataset("issued", "Certificates issued", [n for *_, n in rows])])


def _status(f: Filters, now: datetime) -> dict:
    counts = dict(db.session.execute(q.status_breakdown(f, now)).all())
    data = [counts.get(s, 0) for s in CERTIFICATE_STATUSES]
    return _chart("status", f, "Status", [STATUS_LABELS[s] for s in CERTIFICATE_STATUSES],
                  [_dataset("certificates", "Certificates", data)])


def _by_department(f: Filters, now: datetime) -> dict:
    rows = db.session.execute(q.by_department(f)).all()
    return _chart("by-department", f, "Department", [d or NO_DEPARTMENT for d, _ in rows],
                  [_dataset("issued", "Certificates issued", [n for _, n in rows])])


def _by_category(f: Filters, now: datetime) -> dict:
    rows = db.session.execute(q.by_category(f)).all()
    return _chart("by-category", f, "Course category", [c or UNCATEGORISED for c, _ in rows],
                  [_dataset("issued", "Certificates issued", [int(n) for _, n in rows])])


def _completion_rate(f: Filters, now: datetime) -> dict:
    rows = db.session.execute(q.completion_by_course(f)).all()
    return _chart("completion-rate", f, "Course", [code for _, code, *_ in rows],
                  [_dataset("rate", "Completion rate (%)", [_rate(c, e) for *_, c, e in rows])],
                  [_dataset("title", "Course title", [title for _, _, title, *_ in rows]),
                   _dataset("completed", "Completed", [c for *_, c, _ in rows]),
                   _dataset("enrolled", "Enrolled (not withdrawn)", [e for *_, e in rows])])


def _completion_by_department(f: Filters, now: datetime) -> dict:
    rows = db.session.execute(q.completion_by_department(f)).all()
    return _chart("completion-by-department", f, "Department", [d or NO_DEPARTMENT for d, *_ in rows],
                  [_dataset("rate", "Completion rate (%)", [_rate(c, e) for _, c, e in rows])],
                  [_dataset("completed", "Completed", [c for _, c, _ in rows]),
                   _dataset("enrolled", "Enrolled (not withdrawn)", [e for *_, e in rows])])


def _engagement(f: Filters, now: datetime) -> dict:
    start, end, labels = month_window(f, now)
    totals = {(month_key(m), kind): int(n) for m, kind, n in db.session.execute(q.engagement(f, start, end))}
    return _chart("engagement", f, "Month", labels,
                  [_dataset(kind, ENGAGEMENT_LABELS[kind], [totals.get((m, kind), 0) for m in labels])
                   for kind in ENGAGEMENT_KINDS])


_CHART_BUILDERS: dict[str, Callable[[Filters, datetime], dict]] = {
    "issued-per-month": _issued_per_month, "by-certification": _by_certification, "status": _status,
    "by-department": _by_department, "by-category": _by_category, "completion-rate": _completion_rate,
    "completion-by-department": _completion_by_department, "engagement": _engagement,
}


def chart(name: str, f: Filters, now: datetime | None = None) -> dict:
    """One chart's data (see the module docstring for the shape)."""
    return _CHART_BUILDERS[name](f, now or utcnow())


def fold_tail(data: dict, keep: int = 15) -> dict:
    """For the page: keep the first `keep` labels of a long chart and fold the rest into "Other (n)".
    Only summed counts are folded; rate charts are cut instead."""
    if len(data["labels"]) <= keep:
        return data
    rest = len(data["labels"]) - keep
    summable = data["name"] not in ("completion-rate", "completion-by-department")
    labels = [*data["labels"][:keep], *([f"Other ({rest})"] if summable else [])]

    def cut(dataset: dict) -> dict:
        tail = [sum(v for v in dataset["data"][keep:] if isinstance(v, int))] if summable else []
        return {**dataset, "data": [*dataset["data"][:keep], *tail]}

    return {**data, "labels": labels, "datasets": [cut(d) for d in data["datasets"]],
            "details": [cut(d) for d in data["details"]], "folded": rest}


# -- tables ---------------------------------------------------------------------------------------------

TABLE_COLUMNS: dict[str, list[tuple[str, str]]] = {
    "top-performers": [("name", "Name"), ("email", "Email"), ("department", "Department"),
                       ("held", "Certificates held"), ("average_score", "Average score")],
    "recent-completions": [("completed_at", "Completed at"), ("name", "Name"), ("email", "Email"),
                           ("department", "Department"), ("course_code", "Course"),
                           ("course_title", "Course title"), ("score", "Score")],
    "expiring": [("expires_at", "Expires at"), ("within_days", "Within (days)"), ("serial", "Serial"),
                 ("name", "Name"), ("email", "Email"), ("department", "Department"),
                 ("certification", "Certification")],
}


def _value(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 1)
    if isinstance(value, Decimal):
        return round(float(value), 1)
    return value


def _table_rows(name: str, f: Filters, now: datetime, limit: int | None):
    """Rows of a table as tuples in TABLE_COLUMNS order, straight from SQL (streamed by the caller)."""
    if name == "top-performers":
        stmt = q.top_performers(f, now, limit)
        return (row[1:] for row in db.session.execute(stmt.execution_options(yield_per=1000)))
    if name == "recent-completions":
        return db.session.execute(q.recent_completions(f, limit).execution_options(yield_per=1000))
    return db.session.execute(q.expiring(f, now, limit).execution_options(yield_per=1000))


def _expiring_summary(f: Filters, now: datetime) -> dict:
    counts = dict(db.session.execute(q.expiring_summary(f, now)).all())
    within = {str(days): counts.get(days, 0) for days in q.EXPIRY_BUCKETS}
    return {"within": within, "total": sum(within.values())}


def table(name: str, f: Filters, now: datetime | None = None, limit: int | None = None) -> dict:
    """One table's first rows (the figure's default limit unless given) and, for `expiring`, the
    per-bucket counts over all matching certificates."""
    now = now or utcnow()
    figure = TABLES[name]
    keys = [key for key, _ in TABLE_COLUMNS[name]]
    limit = limit or figure.default_limit
    rows = [dict(zip(keys, map(_value, row), strict=True)) for row in _table_rows(name, f, now, limit)]
    result = {"name": name, "title": figure.title, "description": figure.description, "filters": f.data(),
              "limit": limit, "columns": [{"key": k, "label": label} for k, label in TABLE_COLUMNS[name]],
              "rows": rows}
    if name == "expiring":
        result["summary"] = _expiring_summary(f, now)
    return result


def figure_data(name: str, f: Filters, now: datetime | None = None, limit: int | None = None) -> dict:
    """A chart or a table by its URL name (KeyError for unknown names)."""
    if name in CHARTS:
        return chart(name, f, now)
    if name not in TABLES:
        raise KeyError(name)
    return table(name, f, now, limit)


def parse_limit(raw: str | None) -> int | None:
    """?limit= for table figures: 1..MAX_LIMIT, blank for the default."""
    raw = (raw or "").strip()
    if not raw:
        return None
    if len(raw) > 5 or not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise ValidationError({"limit": f"Use a whole number from 1 to {MAX_LIMIT}."})
    return int(raw)


def page_data(f: Filters, now: datetime | None = None) -> dict:
    """Everything the Analytics page shows: {charts: [...], tables: {name: table}}."""
    now = now or utcnow()
    return {"charts": [chart(name, f, now) for name in CHARTS],
            "tables": {name: table(name, f, now) for name in TABLES}}


# -- CSV ------------------------------------------------------------------------------------------------

def csv_export(name: str, f: Filters, now: datetime | None = None,
               chart_data: dict | None = None) -> tuple[list[str], Callable[[], Iterator]]:
    """(header, rows) for a figure's CSV, `rows()` giving a chart's labels x datasets and details (from
    `chart_data` when the caller has the data already), or every row of a table (read from a server-side
    cursor in batches, never all in memory). `rows` is a function so that a streamed response runs the
    table query only while its body is sent (app/web/streaming.py)."""
    now = now or utcnow()
    if name in CHARTS:
        data = chart_data or _CHART_BUILDERS[name](f, now)
        series = [*data["datasets"], *data["details"]]
        header = [data["dimension"], *(s["label"] for s in series)]
        return header, lambda: zip(data["labels"], *(s["data"] for s in series), strict=True)
    header = [label for _, label in TABLE_COLUMNS[name]]
    return header, lambda: (map(_value, row) for row in _table_rows(name, f, now, None))
