"""Moodle/IOMAD sync: map a `SyncBatch` from app.connectors.moodle onto Laurel.

Courses are keyed by (source "moodle:<integration id>", external_id = Moodle course id), learners by
email, completions go through `enrollment.record_completion` (idempotent, issues certificates).
The cursor is per course; a course where an item failed keeps its previous cursor so the next run
looks at it again.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select

from app.connectors.http import make_session
from app.connectors.moodle import (
    MoodleClient,
    MoodleCompletion,
    MoodleCourse,
    MoodleError,
    MoodleUser,
    fetch_changes,
)
from app.extensions import db
from app.models import Completion, Course, Enrollment, User
from app.models.integration import Integration, SyncRun
from app.rules import completion_dates, plain_text
from app.services import audit, events
from app.services.accounts import users as accounts
from app.services.errors import NotAllowed
from app.services.integrations import registry as integrations
from app.services.integrations.sync_items import ITEM_ERRORS, actor_for, count, item
from app.services.lifecycle import catalog, enrollment, imports, issuing
from app.services.numbers import whole_number

TIMEOUT = 30.0
_TAGS = re.compile(r"<[^>]+>")


def client_for(integration: Integration) -> MoodleClient:
    session = make_session(integrations.allow_private(), timeout=TIMEOUT)
    creds = integrations.credentials(integration)
    return MoodleClient(
        integration.config["site_url"], creds.get("moodle_token", ""), session=session, timeout=TIMEOUT
    )


def _company(integration: Integration) -> int | None:
    raw = str((integration.config or {}).get("company_id") or "").strip()
    return whole_number(raw, minimum=0)


def test(integration: Integration) -> dict:
    """Site info + the functions the token lacks, in plain words. Changes nothing."""
    client = client_for(integration)
    try:
        info = client.site_info()
        missing = client.missing_functions(iomad=_company(integration) is not None)
    except MoodleError as exc:
        return {"ok": False, "error": exc.plain_message, "errorcode": exc.errorcode}
    finally:
        client.session.close()
    message = (
        f"Connected to {info.get('sitename')} (Moodle {info.get('release', '?')}) as {info.get('username')}."
    )
    if missing:
        message += " The token's service lacks: " + ", ".join(missing) + "."
    return {
        "ok": not missing,
        "message": message,
        "site_name": info.get("sitename"),
        "missing_functions": missing,
    }


def run(integration: Integration, sync_run: SyncRun) -> str:
    """Fetch what changed since the cursor and apply it item by item. MoodleError = the run failed."""
    cursor = {int(k): int(v) for k, v in ((integration.cursor or {}).get("courses") or {}).items()}
    client = client_for(integration)
    try:
        batch = fetch_changes(client, cursor or None, _company(integration))
    finally:
        client.session.close()
    # The webhook subscriptions read once and the audit rows written in one batch for the whole run.
    with events.batch(), audit.batch():
        source = f"moodle:{integration.id}"
        courses: dict[int, Course] = {}
        failed_courses: set[int] = set()
        for mc in batch.courses:
            outcome = item(
                sync_run, integration, "courses", mc.shortname, lambda mc=mc: _course(integration, source, mc)
            )
            found = _find_course(source, mc.id)
            if outcome == "failed" or found is None:
                failed_courses.add(mc.id)
            else:
                courses[mc.id] = found
        create_users = (integration.config or {}).get("create_users", True) is not False
        for mu in batch.users:
            if mu.email:
                item(sync_run, integration, "users", mu.email,
                     lambda mu=mu: _user(integration, mu, create_users))
        failed_courses |= _completions(integration, sync_run, batch.completions, courses)
    for issue in batch.issues:
        integrations.log(
            integration, "warning", f"Course {issue.course_id}: {issue.message}", run_id=sync_run.id
        )
    for warning in sorted(set(batch.warnings))[:20]:
        integrations.log(integration, "warning", warning, run_id=sync_run.id)
    new_cursor = {cid: ts for cid, ts in batch.course_cursors.items() if cid not in failed_courses}
    new_cursor.update({cid: cursor[cid] for cid in failed_courses if cid in cursor})
    integration.cursor = {"courses": {str(k): v for k, v in sorted(new_cursor.items())}}
    sync_run.details = {
        **(sync_run.details or {}),
        "api_calls": batch.stats.get("api_calls", 0),
        "course_issues": len(batch.issues),
    }
    return (
        f"{len(batch.courses)} course(s), {len(batch.users)} learner(s) checked, "
        f"{len(batch.completions)} completion(s) reported, {batch.stats.get('api_calls', 0)} API calls"
    )


def _find_course(source: str, moodle_id: int) -> Course | None:
    return db.session.scalar(
        select(Course).where(Course.source == source, Course.external_id == str(moodle_id))
    )


def _free_code(shortname: str, moodle_id: int) -> str:
    code = (shortname.strip() or f"moodle-{moodle_id}")[:40]
    if db.session.scalar(select(Course.id).where(func.lower(Course.code) == code.lower())) is None:
        return code
    return f"{code[:30]}-M{moodle_id}"


def _course(integration: Integration, source: str, mc: MoodleCourse) -> str:
    fields = {
        "title": (mc.fullname or mc.shortname)[:200],
        "category": mc.category_name[:80] or None,
        # HTML whitespace means nothing: stray control characters in a summary are cleaned, not refused.
        # Names and codes are refused (the item fails with the reason) by the catalog's own rules.
        "description": plain_text.clean_multiline(html.unescape(_TAGS.sub(" ", mc.summary or "")))
        .strip()[:5000],
    }
    actor = actor_for(integration)
    course = _find_course(source, mc.id)
    if course is None:
        catalog.create_course(
            {**fields, "code": _free_code(mc.shortname, mc.id), "source": source, "external_id": str(mc.id)},
            actor=actor,
        )
        return "created"
    changed = {k: v for k, v in fields.items() if (getattr(course, k) or None) != (v or None)}
    if not changed:
        return "unchanged"
    catalog.update_course(course, changed, actor=actor)
    return "updated"


def _user(integration: Integration, mu: MoodleUser, create: bool) -> str:
    if accounts.find_by_email(mu.email) is not None:
        return "unchanged"
    if not create:
        raise LookupError("no Laurel account with this email (creating learners is off)")
    name = f"{mu.firstname} {mu.lastname}".strip() or mu.username or mu.email
    accounts.create_user(mu.email, name, "learner", mu.department[:120] or None, actor=actor_for(integration))
    return "created"


def _completions(
    integration: Integration,
    sync_run: SyncRun,
    completions: list[MoodleCompletion],
    courses: dict[int, Course],
) -> set[int]:
    """Apply every completion in its own savepoint; returns the Moodle ids of courses where one failed.

    Each learner is evaluated once, after all their completions (issue 16: not once per completion),
    set-based; the webhook subscriptions are read once (`events.batch`) and the audit rows written in
    one batch (`audit.batch`, minus those of failed items)."""
    failed: set[int] = set()
    tally: Counter[str] = Counter()
    # One reading of the certification rules and of what Laurel already has, not 3-6 queries per item.
    with issuing.rules_snapshot(), events.batch(), audit.batch():
        known = _Known.load(completions, courses)
        completions = _apply_in_bulk(integration, completions, courses, known, tally)
        for done in completions:
            label = f"{done.user_email} in {done.course_shortname or done.course_id}"
            known.locking = None
            outcome = item(
                sync_run, integration, "completions", label,
                lambda c=done: _completion(integration, c, courses, known), tally=tally,
            )
            if outcome == "failed":
                failed.add(done.course_id)
            elif known.locking is not None:
                # The item's savepoint was released: its learner lock stays held until the run commits
                # (a savepoint rolled back would have dropped it), so later items need not ask again.
                known.locked.add(known.locking)
                if outcome == "created":
                    known.evaluate[known.locking] = known.users_by_id[known.locking]
        _evaluate(integration, list(known.evaluate.values()))
    for outcome, n in tally.items():
        count(sync_run, "completions", outcome, n)
    return failed


def _apply_in_bulk(integration: Integration, completions: list[MoodleCompletion], courses: dict[int, Course],
                   known: _Known, tally: Counter[str]) -> list[MoodleCompletion]:
    """Apply, set-based like a CSV import (`imports.apply_rows`, in one savepoint), every completion that
    certainly passes: its learner and course exist, its date is allowed, one per learner x course.
    Returns those left for the item-by-item path (which says why each one fails), or all of them
    should the batch fail."""
    rows: list[imports.ImportRow] = []
    rest: list[MoodleCompletion] = []
    seen: set[tuple[int, int]] = set()
    for done in completions:
        user, course = known.users.get(_email_key(done.user_email)), courses.get(done.course_id)
        if (user is None or course is None or (user.id, course.id) in seen
                or completion_dates.problem(done.completed_at)):
            rest.append(done)
            continue
        seen.add((user.id, course.id))
        rows.append(imports.ImportRow(len(rows) + 1, user.email, "", None, course.code, "completed", None,
                                      done.completed_at if done.time_known else None))
    if not rows:
        return rest
    try:
        with db.session.begin_nested():
            result = imports.apply_rows(rows, actor=actor_for(integration), source="moodle")
    except ITEM_ERRORS:
        return completions  # e.g. a concurrent writer: item by item, each with its own outcome
    for outcome, n in (("created", result.completions_recorded), ("unchanged", result.unchanged)):
        if n:
            tally[outcome] += n
    return rest


def _evaluate(integration: Integration, learners: list[User]) -> None:
    """Issue what the learners with new completions now meet: in one batch, or, should a concurrent
    issuer make the batch fail, learner by learner (each in its own savepoint, as a single completion
    would). Their locks are held (taken by their completion items)."""
    actor = actor_for(integration)
    try:
        with db.session.begin_nested():
            issuing.evaluate_many(learners, actor=actor)
    except NotAllowed:
        for user in learners:
            with db.session.begin_nested():
                issuing.evaluate(user, actor=actor, locked=True)


def _email_key(email: str) -> str:
    return email.strip().lower()  # as accounts.find_by_email


@dataclass
class _Known:
    """What Laurel had before the completions were applied, read in a few set-based queries.

    Only used to skip work that is certainly done already (a completion is never removed by a sync) and
    to find learners; everything else takes the authoritative path (`enrollment.apply_completion` under
    the learner lock), so the outcome per item is what it would be without this.
    """

    users: dict[str, User]  # _email_key -> user
    recorded: set[tuple[int, int, datetime]]  # (user id, course id, completed_at)
    completed: set[tuple[int, int]]  # (user id, course id) of enrollments with status completed
    locked: set[int] = field(default_factory=set)  # learners whose lock this transaction holds
    locking: int | None = None  # the learner the current item locks
    users_by_id: dict[int, User] = field(default_factory=dict)  # learners of the items applied
    evaluate: dict[int, User] = field(default_factory=dict)  # learners with a new completion, in order

    @classmethod
    def load(cls, completions: list[MoodleCompletion], courses: dict[int, Course]) -> _Known:
        users: dict[str, User] = {}
        for chunk in _chunks(sorted({_email_key(c.user_email) for c in completions})):
            users.update((u.email, u) for u in db.session.scalars(select(User).where(User.email.in_(chunk))))
        user_ids = sorted({u.id for u in users.values()})
        course_ids = sorted({c.id for c in courses.values()})
        recorded: set[tuple[int, int, datetime]] = set()
        completed: set[tuple[int, int]] = set()
        need_status = any(not c.time_known for c in completions)
        for users_chunk in _chunks(user_ids):
            for courses_chunk in _chunks(course_ids):
                recorded.update(tuple(row) for row in db.session.execute(
                    select(Completion.user_id, Completion.course_id, Completion.completed_at).where(
                        Completion.user_id.in_(users_chunk), Completion.course_id.in_(courses_chunk)
                    )
                ))
                if need_status:
                    completed.update(tuple(row) for row in db.session.execute(
                        select(Enrollment.user_id, Enrollment.course_id).where(
                            Enrollment.user_id.in_(users_chunk), Enrollment.course_id.in_(courses_chunk),
                            Enrollment.status == "completed",
                        )
                    ))
        return cls(users, recorded, completed)

    def user(self, email: str) -> User | None:
        # A learner created meanwhile by someone else is still found, as before.
        return self.users.get(_email_key(email)) or accounts.find_by_email(email)

    def already(self, user: User, course: Course, done: MoodleCompletion) -> bool:
        if not done.time_known:
            return (user.id, course.id) in self.completed
        return (user.id, course.id, done.completed_at) in self.recorded


def _chunks(values: list, size: int = 500) -> Iterator[list]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _completion(
    integration: Integration, done: MoodleCompletion, courses: dict[int, Course], known: _Known
) -> str:
    course = courses.get(done.course_id)
    if course is None:
        raise LookupError(f"course {done.course_id} was not synced")
    user = known.user(done.user_email)
    if user is None:
        raise LookupError(f"no Laurel account for {done.user_email}")
    if known.already(user, course, done):
        return "unchanged"
    if not done.time_known and _already(user, course, done):
        return "unchanged"  # completed since we looked: a time-less completion must not be added again
    known.locking = user.id
    known.users_by_id[user.id] = user
    recorded = enrollment.apply_completion(
        user,
        course,
        completed_at=done.completed_at,
        actor=actor_for(integration),
        source="moodle",
        locked=user.id in known.locked,
        evaluate=False,  # once per learner at the end of the run (`_evaluate`)
    )
    return "created" if recorded.completion is not None else "unchanged"


def _already(user: User, course: Course, done: MoodleCompletion) -> bool:
    """Moodle gave no time: the sync time would differ on every run, so a completed enrollment counts."""
    row = db.session.scalar(
        select(Enrollment).where(Enrollment.user_id == user.id, Enrollment.course_id == course.id)
    )
    return row is not None and row.status == "completed"


# --- enrolling in Moodle (compliance auto-enrolment) -----------------------------------------------

ENROL_FUNCTIONS = ("core_user_get_users_by_field", "enrol_manual_enrol_users")
STUDENT_ROLE_ID = 5  # Moodle's default "student" role


def enrol_learner(course: Course, user: User) -> str:
    """Enrol `user` in the Moodle course `course` was synced from (manual enrolment, student role), found
    by e-mail address. Returns what happened; logs it on the integration. The token needs the two
    functions of ENROL_FUNCTIONS (and the Moodle course the manual enrolment method)."""
    kind, _, raw_id = (course.source or "").partition(":")
    integration_id = whole_number(raw_id, minimum=1) if kind == "moodle" else None
    integration = integrations.get(integration_id) if integration_id else None
    moodle_course = whole_number(course.external_id or "", minimum=1)
    if integration is None or not integration.active or moodle_course is None:
        return "skipped: no active Moodle integration maps this course"
    with client_for(integration) as client:
        missing = client.missing_functions(ENROL_FUNCTIONS)
        if missing:
            integrations.log(integration, "warning", f"Cannot enrol {user.email} in {course.code}: the token "
                             f"lacks {', '.join(missing)}")
            return "skipped: the token lacks " + ", ".join(missing)
        found = client.call("core_user_get_users_by_field", field="email", values=[user.email]) or []
        if not found:
            integrations.log(integration, "warning", f"{user.email} has no Moodle account: not enrolled in "
                             f"{course.code}")
            return "skipped: no Moodle account"
        client.call("enrol_manual_enrol_users", enrolments=[
            {"roleid": STUDENT_ROLE_ID, "userid": int(found[0]["id"]), "courseid": moodle_course}])
    integrations.log(integration, "info", f"Enrolled {user.email} in {course.code} (compliance requirement)")
    return "enrolled"
