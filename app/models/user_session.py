"""Server-side sessions: one row per signed-in browser, so a session can be listed and ended."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import utcnow
from app.extensions import db
from app.models.user import User


class UserSession(db.Model):
    """The browser holds "<id>.<secret>" (Flask session and remember cookie); only SHA-256(secret) is
    stored, so a database dump cannot be turned into live cookies. Ended rows stay a few days for the
    audit trail, then the daily sweep deletes them."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ip: Mapped[str | None] = mapped_column(String(45))
    device: Mapped[str] = mapped_column(String(60), default="Unknown device")  # "Chrome on Windows"
    method: Mapped[str] = mapped_column(String(16), default="password")  # password, oidc, saml, passkey
    provider: Mapped[str | None] = mapped_column(String(64))  # "oidc:3": where SSO logout goes
    remember: Mapped[bool] = mapped_column(default=False)
    ended_at: Mapped[datetime | None] = mapped_column(index=True)
    ended_reason: Mapped[str | None] = mapped_column(String(32))

    # Joined: the per-request check reads the session and its user in one primary-key query.
    user: Mapped[User] = relationship(lazy="joined", innerjoin=True)

    @property
    def is_live(self) -> bool:
        return self.ended_at is None


__all__ = ["UserSession"]
