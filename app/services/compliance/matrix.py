"""The compliance matrix: people x required certifications, one SQL statement for a page of cells (the
total comes with it, `COUNT(*) OVER ()`) and one for the summary (per department and per certification,
UNION ALL of two GROUP BYs). Python only shapes the few rows that come back; no loop over people.

Managers and staff without the "reads everything" grant see only the people of their departments
(app/services/accounts/scope.py); the department filter takes in the departments below the chosen one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime

import redis
from flask import current_app
from sqlalchemy import Select, func, literal, select, union_all
from sqlalchemy.sql.elements import ColumnElement

from app.extensions import db
from app.models import Certification, Department, Exemption, Requirement, User, department_managers
from app.queue import get_redis
from app.services.accounts import departments, scope
from app.services.compliance.assignments import COMPLIANT, STATES, cell_rows, moment_of, state_of
from app.services.errors import ValidationError
from app.services.lifecycle import generations


@dataclass(frozen=True)
class Filters:
    department_id: int | None = None
    certification_id: int | None = None
    state: str = ""
    user_id: int | None = None
    unmanaged: bool = False  # only people no manager looks after (the admins' digest)

    def __post_init__(self) -> None:
        if self.state and self.state not in STATES:
            raise ValidationError({"state": f"One of {', '.join(STATES)}."})


@dataclass
class Cell:
    user_id: int
    name: str
    email: str
    department: str | None
    certification_id: int
    certification: str
    state: str
    due_at: datetime | None
    expires_at: datetime | None
    days_left: int | None
    exemption_reason: str | None
    exemption_expires_on: date | None

    def data(self) -> dict:
        """The API / CSV shape (ISO 8601 dates)."""
        return {"user_id": self.user_id, "name": self.name, "email": self.email,
                "department": self.department,
                "certification_id": self.certification_id, "certification": self.certification,
                "state": self.state, "due_at": _iso(self.due_at), "expires_at": _iso(self.expires_at),
                "days_left": self.days_left, "exemption_reason": self.exemption_reason,
                "exemption_expires_on": _iso(self.exemption_expires_on)}


@dataclass
class Tally:
    id: int | None
    name: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATES, 0))

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def compliant(self) -> int:
        return sum(self.counts[s] for s in COMPLIANT)

    @property
    def percent(self) -> float | None:
        return None if not self.total else round(100 * self.compliant / self.total, 1)

    def data(self) -> dict:
        return {"id": self.id, "name": self.name, "total": self.total, "compliant": self.compliant,
                "percent": self.percent, "states": dict(self.counts)}


@dataclass
class Summary:
    overall: Tally
    departments: list[Tally]
    certifications: list[Tally]

    def data(self) -> dict:
        return {"overall": self.overall.data(), "departments": [t.data() for t in self.departments],
                "certifications": [t.data() for t in self.certifications]}

    @classmethod
    def from_data(cls, data: dict) -> Summary:
        def tally(item: dict) -> Tally:
            counts = {state: int(item["states"].get(state, 0)) for state in STATES}
            return Tally(item["id"], item["name"], counts)

        return cls(tally(data["overall"]), [tally(t) for t in data["departments"]],
                   [tally(t) for t in data["certifications"]])


def visible_filters(viewer: User, department_id: int | None, certification_id: int | None,
                    state: str = "") -> Filters | None:
    """The filters, or None when the department is unknown or outside the viewer's departments, or the
    certification unknown (the page and the API answer 404: another department's existence is not theirs
    to learn)."""
    if department_id is not None and (departments.get(department_id) is None
                                      or not scope.sees_department(viewer, department_id)):
        return None
    if certification_id is not None and db.session.get(Certification, certification_id) is None:
        return None
    return Filters(department_id=department_id, certification_id=certification_id, state=state)


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _people(f: Filters, viewer: User | None) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if viewer is not None:
        visible = scope.department_ids(viewer)
        if visible is not None:
            conditions.append(User.department_id.in_(sorted(visible)))
    if f.department_id is not None:
        conditions.append(User.department_id.in_(departments.subtree_select([f.department_id])))
    if f.user_id is not None:
        conditions.append(User.id == f.user_id)
    if f.unmanaged:
        managed = departments.subtree_select(select(department_managers.c.department_id))
        conditions.append(User.department_id.is_(None) | User.department_id.not_in(managed))
    return conditions


def _grouped(f: Filters, now: datetime, viewer: User | None):
    """One row per cell (person x certification) and its state."""
    requirements = [Requirement.certification_id == f.certification_id] if f.certification_id else []
    wide = f.department_id is None and f.user_id is None
    rows = cell_rows(now, _people(f, viewer), requirements, wide=wide).subquery("cell_rows")
    return rows, state_of(rows.c, now).label("state")


def _core(f: Filters, now: datetime, viewer: User | None) -> Select:
    """Every cell in the filters (state included): ids, name, state, dates (no lookups yet)."""
    grouped, state = _grouped(f, now, viewer)
    core = select(grouped.c.user_id, grouped.c.name, grouped.c.department_id, grouped.c.certification_id,
                  state, grouped.c.due, grouped.c.expires_at, grouped.c.exemption_id).subquery("core")
    stmt = select(core)
    return stmt.where(core.c.state == f.state) if f.state else stmt


def _details(core) -> Select:
    """The cells of `core` (a subquery) with e-mail, department, certification and exemption."""
    return (select(core, User.email, Department.name.label("department"),
                   Certification.name.label("certification"), Exemption.reason.label("exemption_reason"),
                   Exemption.expires_on.label("exemption_expires_on"))
            .join(User, User.id == core.c.user_id)
            .join(Certification, Certification.id == core.c.certification_id)
            .outerjoin(Department, Department.id == core.c.department_id)
            .outerjoin(Exemption, Exemption.id == core.c.exemption_id))


def _cells(f: Filters, now: datetime, viewer: User | None) -> Select:
    return _details(_core(f, now, viewer).subquery("matrix"))


def _ordered(stmt: Select) -> Select:
    c = stmt.selected_columns
    return stmt.order_by(c.name, c.user_id, c.certification, c.certification_id)


def _cell(row, now: datetime) -> Cell:
    days_left = None
    if row.state == "expiring" and row.expires_at is not None:
        days_left = max(0, (row.expires_at - now).days)
    return Cell(user_id=row.user_id, name=row.name, email=row.email, department=row.department,
                certification_id=row.certification_id, certification=row.certification, state=row.state,
                due_at=moment_of(row.due), expires_at=row.expires_at, days_left=days_left,
                exemption_reason=row.exemption_reason if row.state == "exempt" else None,
                exemption_expires_on=row.exemption_expires_on if row.state == "exempt" else None)


def page_statement(f: Filters, now: datetime, viewer: User | None, page: int, per_page: int) -> Select:
    """A page of cells with the number of all cells in the filters on each row (one statement): ordered,
    counted and cut first, the e-mail, names and exemption looked up for the page's rows only."""
    core = _core(f, now, viewer)
    c = core.selected_columns
    cut = (core.add_columns(func.count().over().label("total_cells"))
           .order_by(c.name, c.user_id, c.certification_id)
           .limit(per_page).offset((page - 1) * per_page).subquery("cut"))
    return _details(cut).order_by(cut.c.name, cut.c.user_id, Certification.name, cut.c.certification_id)


def page(f: Filters, now: datetime, viewer: User | None, page: int = 1,
         per_page: int = 50) -> tuple[list[Cell], int]:
    """(cells of this page, number of cells in the filters)."""
    rows = db.session.execute(page_statement(f, now, viewer, page, per_page)).all()
    total = rows[0].total_cells if rows else _count(f, now, viewer) if page > 1 else 0
    return [_cell(row, now) for row in rows], total


def _count(f: Filters, now: datetime, viewer: User | None) -> int:
    """Past the last page no row carries the total: count them (only then)."""
    return db.session.scalar(select(func.count()).select_from(_cells(f, now, viewer).subquery())) or 0


def person(user: User, now: datetime) -> list[Cell]:
    """Every required certification of one person with its state (the learner page)."""
    return page(Filters(user_id=user.id), now, None, 1, 500)[0]


def stream(f: Filters, now: datetime, viewer: User | None) -> Iterator[Cell]:
    """Every cell in the filters, read in batches (CSV export)."""
    for row in db.session.execute(_ordered(_cells(f, now, viewer)).execution_options(yield_per=1000)):
        yield _cell(row, now)


def summary_statement(f: Filters, now: datetime, viewer: User | None) -> Select:
    """Cells per (department, state) and per (certification, state): counted first, named after."""
    grouped, state = _grouped(replace(f, state=""), now, viewer)
    cells = select(grouped.c.department_id, grouped.c.certification_id, state).cte("cells")
    per_department = (select(cells.c.department_id.label("key"), cells.c.state, func.count().label("n"))
                      .group_by(cells.c.department_id, cells.c.state).subquery("per_department"))
    per_certification = (select(cells.c.certification_id.label("key"), cells.c.state, func.count().label("n"))
                         .group_by(cells.c.certification_id, cells.c.state).subquery("per_certification"))
    by_department = (select(literal("department").label("axis"), per_department.c.key,
                            Department.name.label("label"), per_department.c.state, per_department.c.n)
                     .outerjoin(Department, Department.id == per_department.c.key))
    by_certification = (select(literal("certification").label("axis"), per_certification.c.key,
                               Certification.name.label("label"), per_certification.c.state,
                               per_certification.c.n)
                        .join(Certification, Certification.id == per_certification.c.key))
    return union_all(by_department, by_certification)


# The summary reads every cell of the organisation (400,000 at 20,000 people x 20 requirements: about a
# second of SQL), so it is kept in Redis under a generation that every commit changing what a cell reads
# bumps (app/services/lifecycle/generations.py), like the dashboard tiles; what moves with the clock alone
# (a due date passing, an expiry) waits at most DASHBOARD_CACHE_SECONDS.
GENERATION = "compliance"
generations.track(GENERATION, {table: generations.ANY for table in (
    "certificates", "users", "departments", "department_managers", "certifications",
    "compliance_requirements", "compliance_requirement_people", "compliance_exemptions")})
SUMMARY_KEY = "laurel:compliance:summary:{generation}:{rest}"


def summary(f: Filters, now: datetime, viewer: User | None) -> Summary:
    """Totals and compliance % per department (the person's own department) and per certification, from
    the cache while nothing it counts has changed (and for `now` to the minute)."""
    seconds = current_app.config.get("DASHBOARD_CACHE_SECONDS", 30)
    if not seconds:
        return _summary(f, now, viewer)
    try:
        client = get_redis()
        key = SUMMARY_KEY.format(generation=generations.current(GENERATION),
                                 rest=_summary_scope(f, now, viewer))
        raw = client.get(key)
        if raw:
            return Summary.from_data(json.loads(raw))
        # The key was taken before counting: a change meanwhile bumps past it, never serving older data.
        result = _summary(f, now, viewer)
        client.set(key, json.dumps(result.data()), ex=seconds)
        return result
    except redis.RedisError:
        return _summary(f, now, viewer)


def _summary_scope(f: Filters, now: datetime, viewer: User | None) -> str:
    visible = scope.department_ids(viewer) if viewer is not None else None
    people = "all" if visible is None else ",".join(map(str, sorted(visible)))
    filters = f"{f.department_id}:{f.certification_id}:{f.user_id}:{int(f.unmanaged)}"
    return hashlib.sha256(f"{now:%Y-%m-%dT%H:%M}|{filters}|{people}".encode()).hexdigest()[:32]


def _summary(f: Filters, now: datetime, viewer: User | None) -> Summary:
    tallies: dict[tuple[str, int | None], Tally] = {}
    overall = Tally(None, "All")
    for axis, key, label, state, n in db.session.execute(summary_statement(f, now, viewer)):
        tally = tallies.setdefault((axis, key), Tally(key, label or "No department"))
        tally.counts[state] += n
        if axis == "certification":
            overall.counts[state] += n

    def ordered(axis: str) -> list[Tally]:
        return sorted((t for (a, _), t in tallies.items() if a == axis),
                      key=lambda t: (t.name.lower(), t.id or 0))

    return Summary(overall, ordered("department"), ordered("certification"))
