"""Requirement rules: groups of courses ("all of", "any N of") with minimum scores, and the issuance gates
(evidence approval) that come after them. Pure functions over what issuing loaded (no queries)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.models import Certification, Completion, Course
from app.rules import display


@dataclass
class Step:
    """One step on a certification's path: the prerequisites, a requirement group or the evidence."""

    label: str  # "All of FA-101, FA-102", "Any 2 of ...", "Evidence"
    state: str  # "done", "next" (the learner's move) or "waiting" (an assessor's move)
    detail: str = ""


@dataclass
class Group:
    """A requirement group as issuing reads it (from RequirementGroup rows, or the legacy rule)."""

    mode: str  # "all" or "any"
    needed: int
    courses: list[tuple[Course, float | None]]  # (course, its effective minimum score)

    @property
    def label(self) -> str:
        codes = ", ".join(course.code for course, _ in self.courses)
        return f"All of {codes}" if self.mode == "all" else f"Any {self.needed} of {codes}"


def requirement_groups(cert: Certification) -> list[Group]:
    """The certification's groups. Without group rows: one "all of" group of its courses with its minimum
    score (the rule before groups existed, and what migration 0022 wrote for every certification)."""
    if not cert.requirement_groups:
        legacy = [(course, cert.min_score) for course in cert.courses]
        return [Group("all", len(legacy), legacy)] if legacy else []
    return [Group(g.mode, g.needed, [(i.course, _minimum(i.min_score, g.min_score)) for i in g.items])
            for g in cert.requirement_groups if g.items]


def _minimum(course_minimum: float | None, group_minimum: float | None) -> float | None:
    return course_minimum if course_minimum is not None else group_minimum


def course_result(enrollment, code: str, min_score: float | None,
                  since: datetime | None) -> tuple[Completion | None, str | None]:
    """The completion that satisfies one required course, or the reason there is none. `enrollment` is an
    Enrollment or issuing's `Held` (status and completions)."""
    if enrollment is None or enrollment.status != "completed":
        state = "withdrawn from" if enrollment is not None and enrollment.status == "withdrawn" else "missing"
        return None, f"{state} {code}"
    completions = [c for c in enrollment.completions if since is None or c.completed_at >= since]
    if not completions:
        return None, f"{code} not completed again since {display.day(since)}" if since else f"missing {code}"
    if min_score is None:
        return max(completions, key=lambda c: c.completed_at), None
    scored = [c for c in completions if c.score is not None]
    if not scored:
        return None, f"no score recorded in {code}"
    best = max(scored, key=lambda c: (c.score, c.completed_at))
    if best.score < min_score:
        return None, (f"score {display.score(best.score)} in {code} is below the minimum "
                      f"{display.score(min_score)}")
    return best, None


def group_result(group: Group, enrollments: dict, since: datetime | None) -> tuple[list, list[str]]:
    """(the satisfying (course, completion) pairs, the reasons the group is not met yet). "All of" lists
    every course short; "any N of" one line: how many are done, and why attempted ones do not count."""
    done, failed = [], []
    for course, min_score in group.courses:
        completion, reason = course_result(enrollments.get(course.id), course.code, min_score, since)
        if reason:
            failed.append(reason)
        else:
            done.append((course, completion))
    if group.mode == "all":
        return done, failed
    if len(done) >= group.needed:
        return done, []
    codes = ", ".join(course.code for course, _ in group.courses)
    tried = [r for r in failed if not r.startswith(("missing", "withdrawn"))]
    why = f" ({'; '.join(tried)})" if tried else ""
    return done, [f"needs {group.needed} of {codes}: {len(done)} done{why}"]


def gates_open(cert: Certification, evidence: list[tuple[str, datetime]],
               since: datetime | None) -> list[tuple[str, Step]]:
    """The issuance gates after the requirements, each one clearly named function over its own facts
    (evidence here; a fee gate joins this list): (reason, path step) per gate, "" for an open gate."""
    gates = []
    if cert.evidence_required:
        gates.append(evidence_approved(evidence, since) or ("", Step("Evidence", "done", "approved")))
    return gates


def evidence_approved(evidence: list[tuple[str, datetime]],
                      since: datetime | None) -> tuple[str, Step] | None:
    """None when an approved submission counts (for a renewal: one submitted since the renewal window
    opened); else the reason and the learner's step. `evidence`: (status, submitted_at), oldest first."""
    statuses = [status for status, at in evidence if since is None or at >= since]
    if "approved" in statuses:
        return None
    if "pending" in statuses:
        return "waiting for evidence approval", Step("Evidence", "waiting", "waiting for evidence approval")
    if statuses and statuses[-1] == "rejected":
        return ("evidence was not approved: submit it again",
                Step("Evidence", "next", "not approved: submit it again"))
    return "evidence not submitted yet", Step("Evidence", "next", "submit your evidence")
