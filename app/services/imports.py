"""CSV import of learners, enrollments and completions: parse -> preview -> apply."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from app.services import audit

COLUMNS = ("email", "name", "department", "course_code", "status", "score", "completed_at")
SAMPLE_CSV = ""  # filled in below with the downloadable sample


@dataclass
class ImportRow:
    line: int
    email: str
    name: str
    department: str | None
    course_code: str
    status: str
    score: float | None
    completed_at: datetime | None


@dataclass
class ImportPreview:
    rows: list[ImportRow] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line number, reason)

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.rows)


@dataclass
class ImportResult:
    users_created: int = 0
    enrollments_created: int = 0
    enrollments_updated: int = 0
    completions_recorded: int = 0
    certificates_issued: int = 0
    unchanged: int = 0


def parse(file_bytes: bytes) -> ImportPreview:
    """Validate the whole file; every bad row is reported as (line number, reason)."""
    raise NotImplementedError


def apply(preview: ImportPreview, *, actor: audit.Actor) -> ImportResult:
    """Apply a clean preview in the caller's transaction; NotAllowed if the preview has errors.
    Re-applying the same file changes nothing (everything counted as unchanged)."""
    raise NotImplementedError
