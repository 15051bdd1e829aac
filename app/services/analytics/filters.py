"""Analytics filters (parsed and validated from query strings) and the month helpers shared by queries."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, literal_column, select
from sqlalchemy.sql.elements import ColumnElement

from app.extensions import db
from app.models import Certification, User
from app.services.accounts import scope
from app.services.accounts.users import department_names
from app.services.errors import ValidationError

MAX_TEXT = 120
MIN_YEAR, MAX_YEAR = 2000, 2100
MAX_MONTHS = 120  # a monthly chart over ten years is the most anyone reads
FILTER_KEYS = ("from", "to", "certification", "department", "category")


@dataclass(frozen=True)
class Filters:
    """What the page, the exports, the API and the report narrow the figures to.

    `date_from`/`date_to` are inclusive UTC days. Blank means "no restriction".
    """

    date_from: date | None = None
    date_to: date | None = None
    certification_id: int | None = None
    department: str = ""
    category: str = ""
    # Whose records count, from who is asking (app/services/accounts/scope.py), never from the query
    # string: None is everyone; else the people of these departments (a manager's, with those below).
    departments: frozenset[int] | None = None

    @property
    def start(self) -> datetime | None:
        return datetime.combine(self.date_from, time.min, tzinfo=UTC) if self.date_from else None

    @property
    def end(self) -> datetime | None:
        """Exclusive upper bound: the day after `date_to`, at midnight UTC."""
        if self.date_to is None:
            return None
        return datetime.combine(self.date_to + timedelta(days=1), time.min, tzinfo=UTC)

    @property
    def narrows_certificates(self) -> bool:
        return bool(self.certification_id or self.department or self.category or self.departments is not None)

    def args(self) -> dict[str, str]:
        """The non-blank filters as query-string arguments (for links, exports and pushed URLs)."""
        values = {"from": self.date_from.isoformat() if self.date_from else "",
                  "to": self.date_to.isoformat() if self.date_to else "",
                  "certification": str(self.certification_id or ""),
                  "department": self.department, "category": self.category}
        return {key: value for key, value in values.items() if value}

    def data(self) -> dict:
        """The JSON shape echoed by the API."""
        return {"from": self.date_from.isoformat() if self.date_from else None,
                "to": self.date_to.isoformat() if self.date_to else None,
                "certification": self.certification_id, "department": self.department or None,
                "category": self.category or None}


def parse_filters(args: Mapping[str, str], viewer: User | None = None) -> Filters:
    """Validate query-string filters; raises ValidationError({field: message}) for anything off.
    `viewer`: the figures count only the people they may see."""
    errors: dict[str, str] = {}
    date_from = _date(args.get("from", ""), "from", errors)
    date_to = _date(args.get("to", ""), "to", errors)
    if date_from and date_to and date_from > date_to:
        errors["to"] = "The end date is before the start date."
    certification_id = _certification(args.get("certification", ""), errors)
    department = _text(args.get("department", ""), "department", errors)
    category = _text(args.get("category", ""), "category", errors)
    if errors:
        raise ValidationError(errors)
    return Filters(date_from, date_to, certification_id, department, category,
                   scope.department_ids(viewer) if viewer is not None else None)


def _date(raw: str, field: str, errors: dict[str, str]) -> date | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        value = date.fromisoformat(raw)
    except ValueError:
        errors[field] = "Use a date like 2026-03-31."
        return None
    if len(raw) != 10 or not MIN_YEAR <= value.year <= MAX_YEAR:
        errors[field] = f"Use a date like 2026-03-31, between {MIN_YEAR} and {MAX_YEAR}."
        return None
    return value


def _certification(raw: str, errors: dict[str, str]) -> int | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9 or int(raw) < 1:
        errors["certification"] = "Choose a certification from the list."
        return None
    if db.session.get(Certification, int(raw)) is None:
        errors["certification"] = "That certification does not exist."
        return None
    return int(raw)


def _text(raw: str, field: str, errors: dict[str, str]) -> str:
    value = (raw or "").strip()
    if len(value) > MAX_TEXT or any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        errors[field] = f"Use at most {MAX_TEXT} printable characters."
        return ""
    return value


# -- months ---------------------------------------------------------------------------------------------

def month_bucket(column) -> ColumnElement:
    """The month a timestamp or date falls in, grouped in SQL: date_trunc on PostgreSQL, strftime elsewhere.

    Read the values back through `month_key`.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        return func.date_trunc(literal_column("'month'"), column)
    return func.strftime(literal_column("'%Y-%m'"), column)


def month_key(value: object) -> str:
    """'YYYY-MM' for what `month_bucket` returned (a datetime on PostgreSQL, a string on SQLite)."""
    if isinstance(value, date | datetime):
        return f"{value.year:04d}-{value.month:02d}"
    return str(value)[:7]


def month_start(day: date) -> datetime:
    return datetime(day.year, day.month, 1, tzinfo=UTC)


def add_months(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 + months
    return moment.replace(year=index // 12, month=index % 12 + 1, day=1)


def month_window(filters: Filters, now: datetime) -> tuple[datetime, datetime, list[str]]:
    """[start, end) and the 'YYYY-MM' labels of a monthly chart: the filter's range, else the last 12 months
    (this one included). Ranges longer than MAX_MONTHS keep their last MAX_MONTHS months."""
    end = filters.end or now
    last = month_start((end - timedelta(microseconds=1)).date())
    start = filters.start or add_months(last, -11)
    first = month_start(start.date())
    if (last.year - first.year) * 12 + last.month - first.month >= MAX_MONTHS:
        first = add_months(last, -(MAX_MONTHS - 1))
        start = first
    labels = []
    cursor = first
    while cursor <= last:
        labels.append(f"{cursor.year:04d}-{cursor.month:02d}")
        cursor = add_months(cursor, 1)
    return start, end, labels


def filter_choices(viewer: User | None = None) -> dict[str, list]:
    """Options for the filter form: certifications (id, name), departments (those `viewer` may see, in
    tree order) and categories in use."""
    from app.models import Course

    certifications = db.session.execute(
        select(Certification.id, Certification.name).order_by(Certification.name)).all()
    departments = department_names(viewer)
    categories = db.session.scalars(select(Course.category).where(Course.category.is_not(None))
                                    .distinct().order_by(Course.category)).all()
    return {"certifications": [tuple(row) for row in certifications], "departments": list(departments),
            "categories": list(categories)}


def describe(f: Filters, certifications: list[tuple[int, str]]) -> str:
    """The filters in words for the page ("date 2026-01-01 to …; department “Nursing”"); blank if none.
    `certifications` are the (id, name) choices of the form."""
    parts = []
    if f.date_from or f.date_to:
        parts.append(f"date {f.date_from or '…'} to {f.date_to or '…'}")
    if f.certification_id:
        parts.append(f"certification “{dict(certifications).get(f.certification_id, f.certification_id)}”")
    if f.department:
        parts.append(f"department “{f.department}”")
    if f.category:
        parts.append(f"category “{f.category}”")
    return "; ".join(parts)
