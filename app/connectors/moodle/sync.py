"""Incremental Moodle sync planner: which (course, user) completions can have changed since the cursor.

No database here: :func:`fetch_changes` returns plain dataclasses (:class:`SyncBatch`) that the
caller turns into Laurel courses, users and completions.

Cost model: completion is one call per (course, user), so a full sync of 200 courses x 500 users is
100,000 calls. The planner only asks for pairs whose completion can have changed: users whose
``lastcourseaccess`` is at or after the previous cursor (minus a safety overlap). Completions set by a
teacher without the learner visiting the course do not move ``lastcourseaccess``: run a full sync
(``since=None``) now and then (e.g. weekly) to catch those.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.connectors.moodle.client import (
    COURSE_LEVEL_CODES,
    DEFAULT_OVERLAP,
    DEFAULT_PAGE_SIZE,
    CompletionStatus,
    MoodleClient,
    MoodleError,
    _utc,
)

#: Completion calls in flight at once (one per (course, user): 20,000 for 100 courses x 200 users).
#: Bounded so a sync never floods a Moodle site; every call still goes through the client's session
#: (outgoing-address policy, timeout), and the requests adapter keeps 10 connections per host.
CONCURRENCY = 8


@dataclass(frozen=True)
class MoodleCourse:
    id: int
    shortname: str
    fullname: str
    category_name: str
    summary: str
    visible: bool
    idnumber: str = ""


@dataclass(frozen=True)
class MoodleUser:
    id: int
    email: str  # lower-cased; "" when Moodle hides it from the token's user
    firstname: str
    lastname: str
    department: str  # IOMAD department name with a company filter, else the profile field
    username: str = ""


@dataclass(frozen=True)
class MoodleCompletion:
    course_id: int
    user_id: int
    user_email: str
    completed_at: datetime  # UTC
    course_shortname: str = ""
    time_known: bool = True  # False: Moodle gave no criterion time, completed_at is the sync time


@dataclass(frozen=True)
class CourseIssue:
    """A course the run could not finish; its cursor was not advanced, so the next run retries it."""

    course_id: int
    errorcode: str
    message: str


@dataclass
class SyncBatch:
    """What changed in Moodle since the last cursor.

    ``cursor`` is the new ``since`` (Moodle's clock at the start of the run) when every course went
    through; if some failed it stays at the previous value. ``course_cursors`` is exact per course:
    pass it back as ``since`` to retry only what failed and to scan newly added courses in full.
    """

    courses: list[MoodleCourse]
    users: list[MoodleUser]  # users whose completion was checked this run, once each
    completions: list[MoodleCompletion]
    cursor: int | None
    course_cursors: dict[int, int]
    issues: list[CourseIssue] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    stats: Counter[str] = field(default_factory=Counter)

    @property
    def has_changes(self) -> bool:
        return bool(self.users or self.completions)


@dataclass
class _Scope:
    """The company filter: which courses and users a run may look at (None: all)."""

    course_ids: set[int] | None = None
    departments: dict[int, str] | None = None  # user id -> IOMAD department name


def fetch_changes(client: MoodleClient, since: int | Mapping[int, int] | None = None,
                  company_id: int | None = None, *, overlap: int = DEFAULT_OVERLAP,
                  page_size: int = DEFAULT_PAGE_SIZE, concurrency: int = CONCURRENCY) -> SyncBatch:
    """Plan and run one sync: courses, then enrolled users page by page, then completion per changed pair.

    ``since`` is the cursor of the last successful sync (unix time; None: first sync, ask everyone),
    or a mapping course id -> cursor (a course missing from it is scanned in full). Only users whose
    ``lastcourseaccess >= since - overlap`` are asked for completion, ``concurrency`` calls at a time
    (1: one after the other). With ``company_id`` (IOMAD) only
    the company's courses and the users in its departments are considered.

    Raises MoodleError for run-level failures (bad token, missing functions, site unreachable);
    course-level failures land in ``issues`` and the run goes on.
    """
    calls_before = sum(client.calls.values())
    client.site_info()  # also proves the token and gives the server's clock
    started = client.server_time or int(time.time())
    missing = client.missing_functions(iomad=company_id is not None)
    if missing:
        raise MoodleError("missingfunctions", "The token's service lacks: " + ", ".join(missing)
                          + ". Add them to the external service in Moodle.")
    scope = _company_scope(client, company_id) if company_id is not None else _Scope()
    courses = [_course(c) for c in client.courses()
               if scope.course_ids is None or c["id"] in scope.course_ids]
    batch = SyncBatch(courses=courses, users=[], completions=[], cursor=None, course_cursors={})
    users: dict[int, MoodleUser] = {}
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="moodle") as pool:
        for course in courses:
            _course_step(client, pool, course, since, overlap, page_size, scope, started, batch, users)
    batch.users = sorted(users.values(), key=lambda u: u.id)
    batch.stats["courses"] = len(courses)
    batch.stats["api_calls"] = sum(client.calls.values()) - calls_before
    batch.cursor = started if not batch.issues else (since if isinstance(since, int) else None)
    return batch


def _course_step(client: MoodleClient, pool: ThreadPoolExecutor, course: MoodleCourse,
                 since: int | Mapping[int, int] | None, overlap: int, page_size: int, scope: _Scope,
                 started: int, batch: SyncBatch, users: dict[int, MoodleUser]) -> None:
    """One course: synced, or recorded as an issue (its cursor stays) when Moodle refuses it."""
    previous = since.get(course.id) if isinstance(since, Mapping) else since
    try:
        _sync_course(client, pool, course, previous, overlap, page_size, scope, started, batch, users)
    except MoodleError as exc:
        if not _course_level(exc):
            raise
        batch.issues.append(CourseIssue(course.id, exc.errorcode, exc.plain_message))
        if previous is not None:
            batch.course_cursors[course.id] = previous
        return
    batch.course_cursors[course.id] = started


def _sync_course(client: MoodleClient, pool: ThreadPoolExecutor, course: MoodleCourse, previous: int | None,
                 overlap: int, page_size: int, scope: _Scope, started: int, batch: SyncBatch,
                 users: dict[int, MoodleUser]) -> None:
    threshold = None if previous is None else previous - overlap
    asked: list[MoodleUser] = []
    for record in client.enrolled_users(course.id, page_size):
        if scope.departments is not None and record["id"] not in scope.departments:
            continue
        batch.stats["enrolments_seen"] += 1
        if threshold is not None and int(record.get("lastcourseaccess") or 0) < threshold:
            continue  # not in the course since the last sync: completion cannot have changed
        user = _user(record, scope)
        users.setdefault(user.id, user)
        if not user.email:
            # Without an email we cannot match a Laurel account, so the completion call would be wasted.
            batch.warnings.append(f"User {user.id} ({user.username}) has no visible email in Moodle; "
                                  "the token's user needs moodle/site:viewuseridentity.")
            continue
        asked.append(user)
    # The calls run CONCURRENCY at a time; results are taken in the users' order, so the batch is the
    # same as asking one by one. The first failure is raised where the sequential loop would have met
    # it (the completions before it are kept) and the calls not started yet are cancelled.
    statuses = pool.map(lambda u: _completion(client, course.id, u.id), asked)
    for user, status in zip(asked, statuses, strict=True):
        batch.stats["completion_calls"] += 1
        if status.reason:
            batch.stats[f"completion_{status.reason}"] += 1
        if status.completed:
            batch.completions.append(MoodleCompletion(
                course.id, user.id, user.email, status.completed_at or _utc(started), course.shortname,
                time_known=status.completed_at is not None))


def _completion(client: MoodleClient, course_id: int, user_id: int) -> CompletionStatus:
    return client.completion(course_id, user_id)


def _course_level(exc: MoodleError) -> bool:
    # "invalidrecord" for external_functions means the function itself is unknown: run-level.
    return exc.errorcode in COURSE_LEVEL_CODES and "external_functions" not in exc.message


def _company_scope(client: MoodleClient, company_id: int) -> _Scope:
    departments = {d["id"]: d.get("name", "") for d in client.departments(company_id)}
    if not departments:
        raise MoodleError("nocompany", f"IOMAD company {company_id} has no departments: "
                          "is the company id right?")
    members = {u["id"]: departments.get(u.get("departmentid"), "")
               for u in client.department_users(sorted(departments))}
    course_ids = {c["id"] for c in client.company_courses(company_id)}
    return _Scope(course_ids=course_ids, departments=members)


def _course(record: Mapping[str, Any]) -> MoodleCourse:
    return MoodleCourse(
        id=int(record["id"]), shortname=record.get("shortname", ""), fullname=record.get("fullname", ""),
        category_name=record.get("categoryname", ""), summary=record.get("summary", ""),
        visible=bool(record.get("visible", 1)), idnumber=record.get("idnumber", "") or "",
    )


def _user(record: Mapping[str, Any], scope: _Scope) -> MoodleUser:
    department = record.get("department", "") or ""
    if scope.departments is not None:
        department = scope.departments.get(record["id"]) or department
    return MoodleUser(
        id=int(record["id"]), email=(record.get("email") or "").strip().lower(),
        firstname=record.get("firstname", ""), lastname=record.get("lastname", ""),
        department=department, username=record.get("username", ""),
    )
