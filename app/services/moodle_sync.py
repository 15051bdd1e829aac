"""Moodle/IOMAD sync: map a `SyncBatch` from app.integrations.moodle onto Laurel.

Courses are keyed by (source "moodle:<integration id>", external_id = Moodle course id), learners by
email, completions go through `enrollment.record_completion` (idempotent, issues certificates).
The cursor is per course; a course where an item failed keeps its previous cursor so the next run
looks at it again.
"""

from __future__ import annotations

import html
import re

from sqlalchemy import func, select

from app.extensions import db
from app.integrations.http import make_session
from app.integrations.moodle import (
    MoodleClient,
    MoodleCompletion,
    MoodleCourse,
    MoodleError,
    MoodleUser,
    fetch_changes,
)
from app.models import Completion, Course, Enrollment, User
from app.models.integration import Integration, SyncRun
from app.services import accounts, catalog, enrollment, integrations
from app.services.syncs import actor_for, item

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
    return int(raw) if raw.isdigit() else None


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
            item(sync_run, integration, "users", mu.email, lambda mu=mu: _user(integration, mu, create_users))
    for mc_done in batch.completions:
        label = f"{mc_done.user_email} in {mc_done.course_shortname or mc_done.course_id}"
        outcome = item(
            sync_run,
            integration,
            "completions",
            label,
            lambda c=mc_done: _completion(integration, c, courses),
        )
        if outcome == "failed":
            failed_courses.add(mc_done.course_id)
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
        "description": html.unescape(_TAGS.sub(" ", mc.summary or "")).strip()[:5000],
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


def _completion(integration: Integration, done: MoodleCompletion, courses: dict[int, Course]) -> str:
    course = courses.get(done.course_id)
    if course is None:
        raise LookupError(f"course {done.course_id} was not synced")
    user = accounts.find_by_email(done.user_email)
    if user is None:
        raise LookupError(f"no Laurel account for {done.user_email}")
    if _already(user, course, done):
        return "unchanged"
    enrollment.record_completion(
        user, course, completed_at=done.completed_at, actor=actor_for(integration), source="moodle"
    )
    return "created"


def _already(user: User, course: Course, done: MoodleCompletion) -> bool:
    row = db.session.scalar(
        select(Enrollment).where(Enrollment.user_id == user.id, Enrollment.course_id == course.id)
    )
    if row is None:
        return False
    if not done.time_known:  # Moodle gave no time: the sync time would differ on every run
        return row.status == "completed"
    return (
        db.session.scalar(
            select(Completion.id).where(
                Completion.enrollment_id == row.id, Completion.completed_at == done.completed_at
            )
        )
        is not None
    )
