"""Personal API tokens: shown once, stored as a SHA-256, usable as `Authorization: Bearer`."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select

from app.database import utcnow
from app.extensions import db
from app.models import ApiToken, User
from app.rules import plain_text
from app.services import audit
from app.services.errors import ValidationError

TOKEN_PREFIX = "lau_"  # noqa: S105 (a public marker, not a secret)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user: User, name: str, actor: audit.Actor = None) -> tuple[ApiToken, str]:
    """Create a token for `user`; returns the row and the only copy of the secret."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Give the token a name."})
    problem = plain_text.problem(name)
    if problem:
        raise ValidationError({"name": problem})
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user=user, name=name[:100], token_hash=_digest(secret), prefix=secret[:10])
    db.session.add(token)
    db.session.flush()
    audit.record(actor or user, "token.created", "api_token", token.id, f"API token '{token.name}' created",
                 user_id=user.id)
    return token, secret


def revoke_token(token: ApiToken, actor: audit.Actor) -> None:
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(actor, "token.revoked", "api_token", token.id, f"API token '{token.name}' revoked",
                     user_id=token.user_id)


def user_for_token(secret: str) -> User | None:
    """The active user owning this live token, or None. Touches last_used_at."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(secret)))
    if token is None or token.is_revoked or not token.user.active:
        return None
    now = utcnow()
    # Write at most once a minute: a busy integration must not turn every GET into an UPDATE.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        token.last_used_at = now
    return token.user
