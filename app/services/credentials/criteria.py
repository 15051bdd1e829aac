"""What earning a certification takes, in words: the one criteria narrative of Open Badges 2.0 and 3.0.

Both formats describe the same rule the issuer applies (app/services/lifecycle/issuing.py): every
required course completed, each with at least the minimum score, and the prerequisite certifications
held. One function, so the two badges of one certificate never tell a verifier different rules.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.rules import display


def narrative(courses: Sequence[tuple[str, str]], min_score: float | None,
              prerequisites: Sequence[str] = ()) -> str:
    """`courses` as (code, title) pairs. Markdown-safe plain sentences (OB 3.0 allows Markdown)."""
    parts = []
    if courses:
        names = [f"{code} · {title}" if title else code for code, title in courses]
        lead = "Complete the course " if len(names) == 1 else f"Complete all {len(names)} courses: "
        parts.append(lead + "; ".join(names) + ".")
    if min_score is not None:
        parts.append(f"Score at least {display.score(min_score)} in each course.")
    if prerequisites:
        parts.append("Hold " + ", ".join(prerequisites) + ".")
    return " ".join(parts) or "Awarded by the issuer."
