"""Automatic issuance: who meets which certification, and issuing each certificate exactly once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from app.models import Certificate, Certification, User
from app.services import audit


@dataclass
class Assessment:
    """Whether a learner meets a certification now, and if not, why (human-readable reasons)."""

    certification: Certification
    met: bool
    reasons: list[str] = field(default_factory=list)  # "missing FA-102", "score 64 < 70 in FA-101", ...
    renewal_of: Certificate | None = None  # set when meeting it would renew this certificate
    held: Certificate | None = None  # a currently held certificate outside the renewal window


@dataclass
class PathStep:
    """One certification on a learner's learning path."""

    certification: Certification
    assessment: Assessment
    held: Certificate | None  # latest certificate of this certification, if any


def assess(user: User, certification: Certification, now: datetime | None = None) -> Assessment:
    """Evaluate the requirements: all required courses completed (not withdrawn) with score >= min_score,
    prerequisites held (valid or expiring), certification active. For a renewal the completions must be
    after the previous certificate's renewal window opened."""
    raise NotImplementedError


def evaluate(user: User, *, actor: audit.Actor = "system", now: datetime | None = None) -> list[Certificate]:
    """Issue every active certification the user now meets, exactly once (DB constraint + SAVEPOINT).

    Returns the certificates issued by this call (renewals included)."""
    raise NotImplementedError


def issue(user: User, certification: Certification, *, actor: audit.Actor, note: str | None = None,
          renewed_from: Certificate | None = None, now: datetime | None = None,
          cycle: int | None = None) -> Certificate:
    """Issue one certificate (manual issue when `note` is given). Audited; emits certificate.issued
    (and certificate.renewed). Raises NotAllowed if that cycle was issued already."""
    raise NotImplementedError


def learning_path(user: User, now: datetime | None = None) -> list[PathStep]:
    """Active certifications for the learner's dashboard, prerequisites first, with what is missing."""
    raise NotImplementedError
