"""SCIM directories: one bearer token per identity provider that provisions people (Entra ID, Okta ...).

The token is shown once and kept as a SHA-256, like API tokens. Revoking a directory refuses its token
at once; the people and departments it provisioned stay.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select

from app.database import utcnow
from app.extensions import db
from app.models.scim import ScimDirectory
from app.rules import plain_text
from app.services import audit
from app.services.errors import ValidationError

TOKEN_PREFIX = "scim_"  # noqa: S105 (a public marker, not a secret)
MAX_NAME = 100
MAX_TOKEN = 200


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def clean_name(raw: str) -> str:
    name = " ".join((raw or "").split()) if isinstance(raw, str) else ""
    if not name:
        raise ValidationError({"name": "Give the directory a name, e.g. Microsoft Entra ID."})
    problem = plain_text.problem(raw)
    if problem:
        raise ValidationError({"name": problem})
    if len(name) > MAX_NAME:
        raise ValidationError({"name": f"At most {MAX_NAME} characters."})
    return name


def create_directory(name: str, *, send_invitations: bool, actor: audit.Actor) -> tuple[ScimDirectory, str]:
    """A new directory and the only copy of its token."""
    name = clean_name(name)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    directory = ScimDirectory(name=name, token_hash=_digest(token), prefix=token[:10],
                              send_invitations=bool(send_invitations))
    db.session.add(directory)
    db.session.flush()
    audit.record(actor, "scim.directory_created", "scim_directory", directory.id,
                 f"SCIM directory '{name}' created", send_invitations=directory.send_invitations)
    return directory, token


def revoke_directory(directory: ScimDirectory, *, actor: audit.Actor) -> None:
    if directory.revoked_at is None:
        directory.revoked_at = utcnow()
        audit.record(actor, "scim.directory_revoked", "scim_directory", directory.id,
                     f"SCIM directory '{directory.name}' revoked")


def directory_for_token(token: str) -> ScimDirectory | None:
    """The live directory this bearer token belongs to, or None. Touches last_used_at (once a minute)."""
    if not isinstance(token, str) or not token.startswith(TOKEN_PREFIX) or len(token) > MAX_TOKEN:
        return None
    digest = _digest(token)
    directory = db.session.scalar(select(ScimDirectory).where(ScimDirectory.token_hash == digest))
    if directory is None or directory.is_revoked or not hmac.compare_digest(directory.token_hash, digest):
        return None
    now = utcnow()
    if directory.last_used_at is None or (now - directory.last_used_at).total_seconds() > 60:
        directory.last_used_at = now
    return directory


def directories() -> list[ScimDirectory]:
    return list(db.session.scalars(select(ScimDirectory).order_by(ScimDirectory.revoked_at.is_not(None),
                                                                   ScimDirectory.name, ScimDirectory.id)))


def get(directory_id: int) -> ScimDirectory | None:
    return db.session.get(ScimDirectory, directory_id)
