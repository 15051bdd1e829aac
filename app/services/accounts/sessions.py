"""Server-side sessions: start one at sign-in, check it on every request, list and end them.

The browser holds a key "<row id>.<secret>" in its Flask session and in the remember cookie; the row
keeps only SHA-256(secret). Checking a key is one primary-key lookup (the user comes joined), so a
session ends for good the moment its row does: logout, "sign out everywhere else", a password change
or reset, deactivation, a role change, an admin, an MFA reset, or the idle/absolute lifetime.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, select, update

from app.database import utcnow
from app.extensions import db
from app.models import User, UserSession
from app.services import audit

# Why a session ended (ended_reason); the Sessions list and the audit trail show these words.
REASONS = {
    "logout": "signed out",
    "ended_by_user": "signed out from another device",
    "signed_out_elsewhere": "signed out everywhere else",
    "password_changed": "password changed",
    "password_reset": "password reset",
    "deactivated": "account deactivated",
    "role_changed": "role changed",
    "ended_by_admin": "ended by an admin",
    "mfa_reset": "two-factor sign-in reset",
    "email_changed": "email address changed",
    "idle": "idle too long",
    "expired": "reached its maximum age",
}
# last_seen_at is written at most this often per session: most requests then write nothing.
TOUCH_EVERY = timedelta(minutes=1)
# Ended rows are kept this long (who was signed in where, for an investigation), then deleted.
KEEP_ENDED = timedelta(days=7)
_KEY = re.compile(r"([1-9][0-9]{0,9})\.([A-Za-z0-9_-]{43})")


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def start(user: User, *, ip: str | None, user_agent: str | None, method: str = "password",
          provider: str | None = None, remember: bool = False) -> tuple[UserSession, str]:
    """A new live session for `user`; returns the row and the key the browser keeps (shown only here)."""
    secret = secrets.token_urlsafe(32)  # 43 characters
    row = UserSession(user=user, secret_hash=_hash(secret), ip=(ip or "")[:45] or None,
                      device=describe_device(user_agent or ""), method=method[:16],
                      provider=provider[:64] if provider else None, remember=remember)
    db.session.add(row)
    db.session.flush()
    return row, f"{row.id}.{secret}"


def find_live(key: str) -> UserSession | None:
    """The live session this key belongs to, or None (malformed, unknown, ended, expired, user inactive)."""
    match = _KEY.fullmatch(key or "")
    if match is None or int(match[1]) > 2147483647:
        return None
    row = db.session.get(UserSession, int(match[1]))
    if row is None or not hmac.compare_digest(row.secret_hash, _hash(match[2])):
        return None
    if row.ended_at is not None or not row.user.active or expiry_reason(row, utcnow()) is not None:
        return None
    return row


def _idle_limit(row: UserSession) -> timedelta:
    # "Keep me logged in" trades the short idle limit for the remember cookie's lifetime.
    config = current_app.config
    if row.remember:
        return timedelta(seconds=config["REMEMBER_COOKIE_DURATION"])
    return timedelta(minutes=config["SESSION_IDLE_MINUTES"])


def expiry_reason(row: UserSession, now: datetime) -> str | None:
    """"expired" past the absolute lifetime, "idle" past the idle one, else None."""
    if now - row.created_at > timedelta(hours=current_app.config["SESSION_MAX_HOURS"]):
        return "expired"
    if now - row.last_seen_at > _idle_limit(row):
        return "idle"
    return None


def touch(row: UserSession) -> bool:
    """Record activity, at most once a minute per session; True when a write is pending (commit it)."""
    now = utcnow()
    if now - row.last_seen_at < TOUCH_EVERY:
        return False
    row.last_seen_at = now
    return True


def live_sessions(user: User) -> list[UserSession]:
    """The user's live sessions, most recently used first (expired ones are already dead: left out)."""
    now = utcnow()
    rows = db.session.scalars(select(UserSession).where(UserSession.user_id == user.id,
                                                        UserSession.ended_at.is_(None))
                              .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc()))
    return [row for row in rows if expiry_reason(row, now) is None]


def live_session_of(user: User, session_id: int) -> UserSession | None:
    """One of `user`'s own live sessions by its id (another user's, or an ended one: None)."""
    row = db.session.get(UserSession, session_id)
    if row is None or row.user_id != user.id or row.ended_at is not None:
        return None
    return row


def _end_rows(stmt_where, reason: str) -> int:
    result = db.session.execute(update(UserSession).where(UserSession.ended_at.is_(None), *stmt_where)
                                .values(ended_at=utcnow(), ended_reason=reason)
                                .execution_options(synchronize_session="fetch"))
    return result.rowcount or 0


def end(row: UserSession, *, reason: str, actor: audit.Actor) -> None:
    """End one session (logout, or "Sign out" on a row of the Sessions list)."""
    _check_reason(reason)
    if row.ended_at is not None:
        return
    row.ended_at = utcnow()
    row.ended_reason = reason
    action = "user.logged_out" if reason == "logout" else "user.session_ended"
    audit.record(actor, action, "user", row.user_id, f"Session on {row.device} ended: {REASONS[reason]}",
                 session=row.id, reason=reason)


def end_all(user: User, *, reason: str, except_current: UserSession | None = None,
            actor: audit.Actor = None) -> int:
    """End every live session of `user` (all but `except_current` when given); returns how many.

    Their remember cookies die with them (they carry the same key). Also bumps `session_version`, which
    outstanding password-reset and invitation links are bound to: they stop working too."""
    _check_reason(reason)
    where = [UserSession.user_id == user.id]
    if except_current is not None:
        where.append(UserSession.id != except_current.id)
    count = _end_rows(where, reason)
    user.session_version += 1
    if not count:  # a new account setting its first password: nothing to report
        return 0
    kept = " (this device kept)" if except_current is not None else ""
    audit.record(actor if actor is not None else user, "user.sessions_ended", "user", user.id,
                 f"{count} session(s) ended{kept}: {REASONS[reason]}", reason=reason, count=count)
    return count


def _check_reason(reason: str) -> None:
    if reason not in REASONS:
        raise ValueError(f"Unknown session end reason {reason!r}")


def clean_up(now: datetime | None = None) -> dict:
    """Daily: end sessions past their idle or absolute lifetime, delete rows ended over a week ago."""
    now = now or utcnow()
    config = current_app.config
    oldest = now - timedelta(hours=config["SESSION_MAX_HOURS"])
    expired = _end_rows([UserSession.created_at < oldest], "expired")
    short = now - timedelta(minutes=config["SESSION_IDLE_MINUTES"])
    remembered = now - timedelta(seconds=config["REMEMBER_COOKIE_DURATION"])
    idle = _end_rows([UserSession.remember.is_(False), UserSession.last_seen_at < short], "idle")
    idle += _end_rows([UserSession.remember.is_(True), UserSession.last_seen_at < remembered], "idle")
    deleted = db.session.execute(delete(UserSession).where(UserSession.ended_at < now - KEEP_ENDED)
                                 .execution_options(synchronize_session=False)).rowcount or 0
    return {"expired": expired, "idle": idle, "deleted": deleted}


# Order matters: Edge and Opera say "Chrome" too, Chrome says "Safari", iPhone says "Mac OS X".
_BROWSERS = (("Edg", "Edge"), ("OPR/", "Opera"), ("Opera", "Opera"), ("Firefox/", "Firefox"),
             ("FxiOS", "Firefox"), ("CriOS", "Chrome"), ("Chrome/", "Chrome"), ("Safari/", "Safari"))
_SYSTEMS = (("iPhone", "iPhone"), ("iPad", "iPad"), ("Android", "Android"), ("Windows", "Windows"),
            ("CrOS", "ChromeOS"), ("Mac OS X", "macOS"), ("Macintosh", "macOS"), ("Linux", "Linux"))


def describe_device(user_agent: str) -> str:
    """"Chrome on Windows" from a User-Agent header: a few known words, never the raw (untrusted) text."""
    agent = user_agent[:512]
    browser = next((name for marker, name in _BROWSERS if marker in agent), None)
    system = next((name for marker, name in _SYSTEMS if marker in agent), None)
    if browser and system:
        return f"{browser} on {system}"
    return browser or (f"Browser on {system}" if system else "Unknown device")
