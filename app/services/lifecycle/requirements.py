"""Editing a certification's requirement rules and evidence settings (the catalog calls these).

Groups come as data: [{"mode": "all" | "any", "count": N (any), "min_score": x or None,
"courses": [{"course_id": id, "min_score": x or None}, ...]}, ...]. `Certification.courses` stays the
union of the groups' courses (lists, reminders, imports and credentials read it), and `min_score` the
single "all of" group's minimum (None otherwise), so the old `course_ids` / `min_score` keep their meaning.
"""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import GROUP_MODES, Certification, Course, RequirementCourse, RequirementGroup, User
from app.rules import display
from app.services.fields import clean_int, clean_score

MAX_GROUPS = 20
MAX_COURSES_PER_GROUP = 100
ASSESSOR_ROLES = ("admin", "staff", "manager")


def groups_data(cert: Certification) -> list[dict]:
    """The public shape of the groups (API, audit); the legacy rule when the certification has none."""
    if not cert.requirement_groups:
        if not cert.courses:
            return []
        return [{"mode": "all", "count": None, "min_score": cert.min_score,
                 "courses": [{"course_id": c.id, "min_score": None} for c in cert.courses]}]
    return [{"mode": g.mode, "count": g.required_count if g.mode == "any" else None, "min_score": g.min_score,
             "courses": [{"course_id": i.course_id, "min_score": i.min_score} for i in g.items]}
            for g in cert.requirement_groups]


def clean_groups(value: object) -> list[dict]:
    """Check the groups (ValueError with the message for the field); courses are loaded, so the result
    holds Course rows: [{"mode", "count", "min_score", "courses": [(Course, min_score)]}]."""
    if not isinstance(value, list | tuple):
        raise ValueError("Give a list of requirement groups.")
    if len(value) > MAX_GROUPS:
        raise ValueError(f"At most {MAX_GROUPS} requirement groups.")
    wanted: list[tuple[int, dict, list[tuple[int, float | None]]]] = []
    seen: set[int] = set()
    for number, group in enumerate(value, start=1):
        if not isinstance(group, dict):
            raise ValueError(f"Group {number}: give an object with mode and courses.")
        mode = str(group.get("mode") or "all").strip().lower()
        if mode not in GROUP_MODES:
            raise ValueError(f"Group {number}: mode must be 'all' or 'any'.")
        items = group.get("courses") or []
        if not isinstance(items, list | tuple) or len(items) > MAX_COURSES_PER_GROUP:
            raise ValueError(f"Group {number}: give at most {MAX_COURSES_PER_GROUP} courses.")
        courses = []
        for item in items:
            course_id, minimum = _course_item(item, number)
            if course_id in seen:
                raise ValueError(f"Group {number}: a course can be in one group only.")
            seen.add(course_id)
            courses.append((course_id, minimum))
        if not courses:
            continue  # an empty group (the blank row of the editor): nothing to require
        try:
            min_score = clean_score(group.get("min_score"))
            count = clean_int(group.get("count"), minimum=1) if mode == "any" else None
        except ValueError as problem:
            raise ValueError(f"Group {number}: {problem}") from None
        if mode == "any" and (count is None or count > len(courses)):
            raise ValueError(f"Group {number}: say how many of its {len(courses)} courses are needed "
                             f"(1 to {len(courses)}).")
        wanted.append((number, {"mode": mode, "count": count, "min_score": min_score}, courses))
    found = {c.id: c for c in db.session.scalars(select(Course).where(Course.id.in_(seen)))} if seen else {}
    missing = sorted(seen - found.keys())
    if missing:
        raise ValueError(f"Unknown course id(s): {', '.join(map(str, missing))}.")
    return [{**group, "courses": [(found[i], m) for i, m in courses]} for _, group, courses in wanted]


def _course_item(item: object, number: int) -> tuple[int, float | None]:
    if isinstance(item, dict):
        raw_id, raw_min = item.get("course_id"), item.get("min_score")
    else:
        raw_id, raw_min = item, None
    try:
        course_id = clean_int(raw_id, minimum=1)
        minimum = clean_score(raw_min)
    except ValueError as problem:
        raise ValueError(f"Group {number}: {problem}") from None
    if course_id is None:
        raise ValueError(f"Group {number}: each course needs its course_id.")
    return course_id, minimum


def legacy_groups(courses: list[Course], min_score: float | None) -> list[dict]:
    """`course_ids` + `min_score` as groups: one "all of" group."""
    if not courses:
        return []
    return [{"mode": "all", "count": None, "min_score": min_score, "courses": [(c, None) for c in courses]}]


def assign_groups(cert: Certification, groups: list[dict]) -> None:
    """Replace the certification's groups; keep `courses` (the union) and `min_score` in step."""
    cert.requirement_groups = [
        RequirementGroup(position=position, mode=g["mode"], required_count=g["count"],
                         min_score=g["min_score"],
                         items=[RequirementCourse(course_id=course.id, course=course, position=index,
                                                  min_score=minimum)
                                for index, (course, minimum) in enumerate(g["courses"])])
        for position, g in enumerate(groups)]
    cert.courses = sorted({course.id: course for g in groups for course, _ in g["courses"]}.values(),
                          key=lambda c: c.code)
    if groups:  # none: a draft without courses keeps the minimum it was given
        cert.min_score = groups[0]["min_score"] if len(groups) == 1 and groups[0]["mode"] == "all" else None


def clean_assessors(value: object) -> list[User]:
    """Assessor ids (a list, or "1, 2" from a form): active admins, staff members or managers."""
    if value in (None, ""):
        return []
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or len(items) > 50:
        raise ValueError("Give at most 50 assessor ids.")
    ids = {clean_int(i, minimum=1) for i in items} - {None}
    people = list(db.session.scalars(select(User).where(User.id.in_(ids)))) if ids else []
    if len(people) != len(ids) or any(not u.active or u.role not in ASSESSOR_ROLES for u in people):
        raise ValueError("Choose active admins, staff members or managers.")
    return sorted(people, key=lambda u: u.id)


def assessor_choices() -> list[User]:
    return list(db.session.scalars(select(User).where(User.active.is_(True), User.role.in_(ASSESSOR_ROLES))
                                   .order_by(User.name)))


def minimums_from_text(text: str, codes: dict[str, int]) -> dict[int, float]:
    """Per-course minimums typed as "FA-101: 80, FA-102: 75" (the editor without JavaScript), for the
    group's courses `codes` ({code lowercased: course id}): {course id: score}. ValueError when unclear."""
    found: dict[int, float] = {}
    for part in (text or "").replace(";", ",").replace("\n", ",").split(","):
        if not part.strip():
            continue
        code, _, score = part.replace("=", ":").rpartition(":")
        course_id = codes.get(code.strip().lower())
        if course_id is None:
            raise ValueError(f"'{part.strip()[:40]}': write CODE: score for a course of this group.")
        minimum = clean_score(score.strip())
        if minimum is None:
            raise ValueError(f"'{part.strip()[:40]}': give a score from 0 to 100.")
        found[course_id] = minimum
    return found


def minimums_text(group: RequirementGroup) -> str:
    return ", ".join(f"{i.course.code}: {display.score(i.min_score)}" for i in group.items
                     if i.min_score is not None)
