"""Automatic issuance: who meets which certification, and issuing each certificate exactly once.

A certificate is unique per user x certification x cycle (1 for the first, +1 per renewal). Two
completions arriving at once both compute the same next cycle; the database lets one insert win and the
other's SAVEPOINT is rolled back, so exactly one certificate exists whatever the interleaving.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from dateutil.relativedelta import relativedelta
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from app.database import begin_write, utcnow
from app.extensions import db
from app.models import Certificate, Certification, Enrollment, EvidenceSubmission, Payment, User
from app.services import audit, events
from app.services.errors import NotAllowed, ValidationError
from app.services.fields import checked_text, isodate
from app.services.lifecycle.rules import Step, course_result, gates_open, group_result, requirement_groups


@dataclass
class Assessment:
    """Whether a learner meets a certification now, and if not, why (human-readable reasons)."""

    certification: Certification
    met: bool
    reasons: list[str] = field(default_factory=list)  # "missing FA-102", "score 64 < 70 in FA-101", ...
    renewal_of: Certificate | None = None  # set when meeting it would renew this certificate
    held: Certificate | None = None  # a currently held certificate outside the renewal window
    steps: list[Step] = field(default_factory=list)  # the path as the learner sees it (groups, evidence)


@dataclass
class PathStep:
    """One certification on a learner's learning path."""

    certification: Certification
    assessment: Assessment
    held: Certificate | None  # latest certificate of this certification, if any


CHUNK = 500  # ids per IN (...) list in set-based loads (well under every driver's parameter limit)


@dataclass
class Done:
    """A completion as evaluation reads it (bulk work that inserted the row without an ORM object)."""

    completed_at: datetime
    score: float | None


@dataclass
class Held:
    """An enrollment as evaluation reads it: its status and completions (ORM rows or `Done`)."""

    status: str
    completions: list


@dataclass
class _Facts:
    """What a learner has done, loaded once per evaluation (two queries) and kept up to date as we issue."""

    enrollments: dict[int, Enrollment | Held]  # course_id -> enrollment (completions loaded)
    latest: dict[int, Certificate]  # certification_id -> highest-cycle certificate
    # certification_id -> [(status, submitted_at)] of the learner's evidence; read only when a rule needs it
    evidence: dict[int, list[tuple[str, datetime]]] = field(default_factory=dict)

    @classmethod
    def load(cls, user: User) -> _Facts:
        # populate_existing: rows committed by another transaction since we loaded them must count.
        fresh = {"populate_existing": True}
        enrollments = db.session.scalars(select(Enrollment).where(Enrollment.user_id == user.id)
                                         .options(joinedload(Enrollment.completions))  # one round trip
                                         .execution_options(**fresh)).unique().all()
        certs = db.session.scalars(select(Certificate).where(Certificate.user_id == user.id)
                                   .order_by(Certificate.cycle).execution_options(**fresh)).all()
        facts = cls({e.course_id: e for e in enrollments}, {c.certification_id: c for c in certs})
        if _needs_evidence():
            _load_evidence({user.id: facts}, [user.id])
        return facts

    @classmethod
    def load_many(cls, user_ids: list[int]) -> dict[int, _Facts]:
        """`load` for many learners: two queries per CHUNK learners instead of two per learner."""
        fresh = {"populate_existing": True}
        facts = {user_id: cls({}, {}) for user_id in user_ids}
        for start in range(0, len(user_ids), CHUNK):
            ids = user_ids[start:start + CHUNK]
            for row in db.session.scalars(select(Enrollment).where(Enrollment.user_id.in_(ids))
                                          .options(selectinload(Enrollment.completions))
                                          .execution_options(**fresh)):
                facts[row.user_id].enrollments[row.course_id] = row
            for cert in db.session.scalars(select(Certificate).where(Certificate.user_id.in_(ids))
                                           .order_by(Certificate.cycle).execution_options(**fresh)):
                facts[cert.user_id].latest[cert.certification_id] = cert
        if _needs_evidence():
            _load_evidence(facts, user_ids)
        return facts


def _needs_evidence() -> bool:
    return any(cert.evidence_required for cert in _rules())


def _load_evidence(facts: dict[int, _Facts], user_ids: list[int]) -> None:
    """The learners' evidence submissions (status and time only), one query per CHUNK learners."""
    table = EvidenceSubmission.__table__.c
    for start in range(0, len(user_ids), CHUNK):
        stmt = (select(table.user_id, table.certification_id, table.status, table.submitted_at)
                .where(table.user_id.in_(user_ids[start:start + CHUNK])).order_by(table.submitted_at))
        for user_id, cert_id, status, submitted_at in db.session.execute(stmt):
            facts[user_id].evidence.setdefault(cert_id, []).append((status, submitted_at))


def _assess(user: User, cert: Certification, facts: _Facts, now: datetime) -> tuple[Assessment, list]:
    result = Assessment(cert, met=False)
    if cert.status != "active":
        result.reasons.append("certification is archived" if cert.status == "archived"
                              else "certification is a draft")
    latest = facts.latest.get(cert.id)
    since = None
    if latest is not None:
        status = latest.status_at(now)
        if status == "revoked":
            result.reasons.append(f"certificate {latest.serial} was revoked")
        elif status == "valid":
            result.held = latest
            result.reasons.append(f"already held ({latest.serial})")
        else:  # expiring or expired: re-completions after the window opened renew it
            result.renewal_of = latest
            since = latest.renewal_opens_at or latest.expires_at
    completions = []
    for group in requirement_groups(cert):
        done, reasons = group_result(group, facts.enrollments, since)
        completions += done
        result.reasons += reasons
        result.steps.append(Step(group.label, "next" if reasons else "done", "; ".join(reasons)))
    missing = [p.name for p in cert.prerequisites if (held := facts.latest.get(p.id)) is None
               or held.status_at(now) not in ("valid", "expiring")]
    result.reasons += [f"needs prerequisite '{name}'" for name in missing]
    if cert.prerequisites:
        names = ", ".join(p.name for p in cert.prerequisites)
        result.steps.insert(0, Step(f"Hold {names}", "next" if missing else "done"))
    if not cert.courses:
        result.reasons.append("no required courses defined")
    fee = _fee_gate(user, cert, latest) if result.held is None else None  # payable before the courses too
    for reason, step in [*gates_open(cert, facts.evidence.get(cert.id, []), since), *([fee] if fee else [])]:
        result.reasons += [reason] if reason else []
        result.steps.append(step)
    result.met = not result.reasons
    return result, completions


def _fee_gate(user: User, cert: Certification, latest: Certificate | None) -> tuple[str, Step] | None:
    """The payment gate (app/services/payments owns the table and calls `evaluate` when a payment
    completes): None for a free certification, else (reason or "", the learner's step)."""
    if cert.price_amount is None:
        return None
    if fee_paid(user, cert, latest):
        return "", Step("Payment", "done", "paid")
    return "waiting for payment", Step("Payment", "next", "waiting for payment")


def fee_paid(user: User, cert: Certification, latest: Certificate | None) -> bool:
    """A free certification, or a paid (not fully refunded) payment for the cycle issuance would create
    (app/services/payments: a payment is for user x certification x cycle)."""
    if cert.price_amount is None:
        return True
    cycle = latest.cycle + 1 if latest is not None else 1
    return db.session.scalar(select(Payment.id).where(
        Payment.user_id == user.id, Payment.certification_id == cert.id, Payment.cycle == cycle,
        Payment.status == "paid").limit(1)) is not None


def assess(user: User, certification: Certification, now: datetime | None = None) -> Assessment:
    """Evaluate the requirements: all required courses completed (not withdrawn) with score >= min_score,
    prerequisites held (valid or expiring), certification active. For a renewal the completions must be
    after the previous certificate's renewal window opened."""
    return _assess(user, certification, _Facts.load(user), now or utcnow())[0]


def _in_prerequisite_order(certs: list[Certification]) -> list[Certification]:
    """Prerequisites before the certifications needing them (so one pass issues both), then by name."""
    by_id = {c.id: c for c in certs}
    ordered: list[Certification] = []
    done: set[int] = set()

    def visit(cert: Certification, path: frozenset[int]) -> None:
        if cert.id in done or cert.id in path:  # cycles are refused on save; never loop anyway
            return
        for prerequisite in cert.prerequisites:
            if prerequisite.id in by_id:
                visit(by_id[prerequisite.id], path | {cert.id})
        done.add(cert.id)
        ordered.append(cert)

    for cert in sorted(certs, key=lambda c: c.name):
        visit(cert, frozenset())
    return ordered


def _active_certifications() -> list[Certification]:
    stmt = (select(Certification).where(Certification.status == "active")
            .options(selectinload(Certification.courses), selectinload(Certification.prerequisites),
                     selectinload(Certification.requirement_groups)))
    return list(db.session.scalars(stmt))


_RULES_KEY = "laurel_issuing_rules"


def _rules() -> list[Certification]:
    """Active certifications, prerequisites first: loaded per call, or once per `rules_snapshot` block."""
    cached = db.session.info.get(_RULES_KEY)
    if cached is not None:
        return cached
    return _in_prerequisite_order(_active_certifications())


@contextmanager
def rules_snapshot() -> Iterator[None]:
    """Evaluate every completion inside the block against the certification rules as they are now.

    For bulk work in one transaction (a sync applies thousands of completions): loading the active
    certifications with their courses and prerequisites costs three queries, per completion otherwise.
    A certification changed by someone else during the block applies from the next evaluation after it.
    """
    if _RULES_KEY in db.session.info:  # nested: the outer snapshot holds
        yield
        return
    db.session.info[_RULES_KEY] = _in_prerequisite_order(_active_certifications())
    try:
        yield
    finally:
        db.session.info.pop(_RULES_KEY, None)


def lock_learner(user: User) -> None:
    """Serialise evaluations per learner (SELECT ... FOR UPDATE on the user row; SQLite: BEGIN IMMEDIATE).

    Two completions of *different* last requirements committed at once would otherwise each miss the
    other's uncommitted row and neither would issue. Behind the lock the second evaluation reads the
    first one's committed completion (READ COMMITTED) and issues; the unique constraint remains the
    guarantee against doubles.
    """
    begin_write(db.session.connection())  # SQLite's lock: its single writer (FOR UPDATE is ignored)
    db.session.execute(select(User.id).where(User.id == user.id).with_for_update())


def lock_learners(user_ids: list[int]) -> None:
    """`lock_learner` for many learners at once, in id order (two bulk lockers never deadlock)."""
    begin_write(db.session.connection())
    ids = sorted(set(user_ids))
    for start in range(0, len(ids), CHUNK):
        db.session.execute(select(User.id).where(User.id.in_(ids[start:start + CHUNK]))
                           .order_by(User.id).with_for_update())


def evaluate_many(users: list[User], *, actor: audit.Actor = "system", now: datetime | None = None,
                  enrollments: dict[int, dict[int, Enrollment | Held]] | None = None,
                  new_user_ids: set[int] = frozenset()) -> list[Certificate]:
    """`evaluate` for many learners in one go (a CSV import, a sync): the same certificates, written
    set-based. The caller holds `lock_learners` for every learner who existed before this transaction
    (a learner created in it is invisible to everyone else). The certificates go in with one INSERT
    batch instead of a SAVEPOINT each: under the locks no other transaction can issue for these
    learners, and should the unique constraint still refuse one, the whole batch fails (NotAllowed,
    the caller's transaction is rolled back): never a double, never a half.

    `enrollments` ({user id: {course id: enrollment or `Held`, with completions}}), when given, is every
    enrollment of those learners as the caller holds them (loaded under the locks, or created in this
    transaction): they are not read again. `new_user_ids`: learners created in this transaction (they
    hold no certificate, nothing to read)."""
    now = now or utcnow()
    rules = _rules()
    if not rules or not users:
        return []
    if enrollments is None:
        facts = _Facts.load_many([u.id for u in users])
    else:
        facts = {u.id: _Facts(enrollments.get(u.id, {}), {}) for u in users}
        held = [u.id for u in users if u.id not in new_user_ids]
        if _needs_evidence():
            _load_evidence(facts, held)
        for start in range(0, len(held), CHUNK):
            stmt = (select(Certificate).where(Certificate.user_id.in_(held[start:start + CHUNK]))
                    .order_by(Certificate.cycle).execution_options(populate_existing=True))
            for cert in db.session.scalars(stmt):
                facts[cert.user_id].latest[cert.certification_id] = cert
    planned: list[tuple[Certificate, User, Certification, Certificate | None]] = []
    for user in users:
        mine = facts[user.id]
        for cert in rules:
            assessment, completions = _assess(user, cert, mine, now)
            if assessment.met:
                row = _new_row(user, cert, actor=actor, now=now, completions=completions,
                               renewed_from=assessment.renewal_of)
                mine.latest[cert.id] = row
                planned.append((row, user, cert, assessment.renewal_of))
    if not planned:
        return []
    try:
        stored = _insert_many([p[0] for p in planned], now)
    except IntegrityError:
        raise NotAllowed("Certificates were issued to some of these learners meanwhile: "
                         "nothing was applied, try again.") from None
    for row, (_, user, cert, renewed_from) in zip(stored, planned, strict=True):
        _announce(row, user, cert, actor, renewed_from)
    return stored


#: What `_new_row` sets on every certificate: the columns of the bulk INSERT (the rest take defaults).
_NEW_COLUMNS = ("user_id", "certification_id", "cycle", "code", "issued_at", "expires_at", "renewal_opens_at",
                "renewed_from_id", "issue_note", "issued_by_id", "snapshot")


def _insert_many(rows: list[Certificate], now: datetime) -> list[Certificate]:
    """Insert the certificates with Core (INSERT ... RETURNING id, then their serials in one UPDATE
    batch) and load them back in one SELECT per CHUNK. The ORM's unit of work inserts a table with a
    self-reference (renewed_from) row by row; this is ~5x cheaper for thousands of certificates."""
    table = Certificate.__table__
    insert_stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    serials = update(table).where(table.c.id == bindparam("row_id")).values(serial=bindparam("row_serial"))
    ids: list[int] = []
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start:start + CHUNK]
        values = [{key: getattr(row, key) for key in _NEW_COLUMNS} for row in chunk]
        new_ids = list(db.session.execute(insert_stmt, values).scalars())
        db.session.execute(serials, [{"row_id": i, "row_serial": _serial_for(i, now)} for i in new_ids])
        ids += new_ids
    loaded: dict[int, Certificate] = {}
    for start in range(0, len(ids), CHUNK):
        loaded.update((c.id, c) for c in db.session.scalars(
            select(Certificate).where(Certificate.id.in_(ids[start:start + CHUNK]))))
    return [loaded[i] for i in ids]


def evaluate(user: User, *, actor: audit.Actor = "system", now: datetime | None = None,
             locked: bool = False) -> list[Certificate]:
    """Issue every active certification the user now meets, exactly once (DB constraint + SAVEPOINT).

    `locked`: the caller already holds `lock_learner(user)` in this transaction (no second round trip).
    Returns the certificates issued by this call (renewals included)."""
    now = now or utcnow()
    if not locked:
        lock_learner(user)
    rules = _rules()
    if not rules:
        return []  # nothing can be met: no need to read what the learner has done
    facts = _Facts.load(user)
    issued: list[Certificate] = []
    for cert in rules:
        assessment, completions = _assess(user, cert, facts, now)
        if not assessment.met:
            continue
        created = _insert(user, cert, actor=actor, now=now, completions=completions,
                          renewed_from=assessment.renewal_of)
        if created is not None:
            facts.latest[cert.id] = created
            issued.append(created)
    return issued


def issue(user: User, certification: Certification, *, actor: audit.Actor, note: str | None = None,
          renewed_from: Certificate | None = None, now: datetime | None = None,
          cycle: int | None = None) -> Certificate:
    """Issue one certificate (manual issue when `note` is given). Audited; emits certificate.issued
    (and certificate.renewed). Raises NotAllowed if the learner holds a valid one already (outside its
    renewal window) or that cycle was issued already."""
    note = checked_text((note or "").strip(), "note", multiline=True) or None
    if note is not None and len(note) > 2000:
        raise ValidationError({"note": "At most 2000 characters."})
    now = now or utcnow()
    lock_learner(user)  # two manual issues at once: the second sees the first certificate
    facts = _Facts.load(user)
    completions = []
    for course in certification.courses:
        completion, _ = course_result(facts.enrollments.get(course.id), course.code, None, None)
        if completion is not None:
            completions.append((course, completion))
    latest = facts.latest.get(certification.id)
    if latest is not None and renewed_from is None and latest.status_at(now) == "valid":
        raise NotAllowed(f"{user.name} already holds {certification.name} ({latest.serial}).")
    if cycle is None:
        cycle = (renewed_from.cycle if renewed_from else (latest.cycle if latest else 0)) + 1
    created = _insert(user, certification, actor=actor, now=now, completions=completions,
                      renewed_from=renewed_from, note=note, cycle=cycle)
    if created is None:
        raise NotAllowed(f"{user.name} already has this certificate (issue {cycle}).")
    return created


def _snapshot(user: User, cert: Certification, completions: list, issued_at: datetime,
              expires_at: datetime | None) -> dict:
    courses = [{"code": course.code, "title": course.title, "score": c.score,
                "completed_at": isodate(c.completed_at)} for course, c in completions]
    scores = [c["score"] for c in courses if c["score"] is not None]
    return {"holder_name": user.name, "holder_email": user.email, "certification_name": cert.name,
            "certification_description": cert.description or "", "courses": courses,
            "score": round(sum(scores) / len(scores), 1) if scores else None,
            "issuer_name": cert.issuer_name, "signatory_name": cert.signatory_name,
            "signatory_title": cert.signatory_title, "issued_at": isodate(issued_at),
            "expires_at": isodate(expires_at)}


def _insert(user: User, cert: Certification, *, actor: audit.Actor, now: datetime, completions: list,
            renewed_from: Certificate | None, note: str | None = None,
            cycle: int | None = None) -> Certificate | None:
    """Insert the certificate inside a SAVEPOINT; None when a concurrent issuer got there first."""
    row = _new_row(user, cert, actor=actor, now=now, completions=completions, renewed_from=renewed_from,
                   note=note, cycle=cycle)
    try:
        with db.session.begin_nested():  # a real SAVEPOINT on SQLite too (database.configure_sqlite)
            db.session.add(row)
            db.session.flush()
            row.serial = _serial(row, now)
            db.session.flush()
    except IntegrityError:
        return None
    _announce(row, user, cert, actor, renewed_from)
    return row


def _serial(row: Certificate, now: datetime) -> str:
    return _serial_for(row.id, now)


def _serial_for(certificate_id: int, now: datetime) -> str:
    return f"LAU-{now.year}-{certificate_id:06d}"


def _new_row(user: User, cert: Certification, *, actor: audit.Actor, now: datetime, completions: list,
             renewed_from: Certificate | None, note: str | None = None,
             cycle: int | None = None) -> Certificate:
    """The certificate row, not yet added to the session."""
    if cycle is None:
        cycle = renewed_from.cycle + 1 if renewed_from else 1
    expires_at = now + relativedelta(months=cert.validity_months) if cert.validity_months else None
    return Certificate(
        user_id=user.id, certification_id=cert.id, cycle=cycle, code=secrets.token_urlsafe(16),
        issued_at=now, expires_at=expires_at,
        renewal_opens_at=expires_at - timedelta(days=cert.renewal_window_days) if expires_at else None,
        renewed_from_id=renewed_from.id if renewed_from else None, issue_note=note,
        issued_by_id=actor.id if isinstance(actor, User) else None,
        snapshot=_snapshot(user, cert, completions, now, expires_at),
    )


def _announce(row: Certificate, user: User, cert: Certification, actor: audit.Actor,
              renewed_from: Certificate | None) -> None:
    from app.services.lifecycle.certificates import (
        certificate_data,  # late: certificates imports mail helpers
    )

    how = "manually" if row.issue_note else "automatically"
    audit.record(actor, "certificate.issued", "certificate", row.id,
                 f"{row.serial} {cert.name} issued {how} to {user.email}", serial=row.serial,
                 user_id=user.id, certification_id=cert.id, cycle=row.cycle, note=row.issue_note,
                 renewed_from_id=row.renewed_from_id)
    data = certificate_data(row)
    events.emit("certificate.issued", data)
    if renewed_from is not None:
        audit.record(actor, "certificate.renewed", "certificate", row.id,
                     f"{row.serial} renews {renewed_from.serial}", renewed_from_id=renewed_from.id)
        events.emit("certificate.renewed", data)


def learning_path(user: User, now: datetime | None = None) -> list[PathStep]:
    """Active certifications for the learner's dashboard, prerequisites first, with what is missing.

    Certifications held and not yet inside their renewal window are left out (nothing to earn there).
    """
    now = now or utcnow()
    facts = _Facts.load(user)
    steps = []
    for cert in _rules():
        assessment, _ = _assess(user, cert, facts, now)
        if assessment.held is None:
            steps.append(PathStep(cert, assessment, facts.latest.get(cert.id)))
    return steps
