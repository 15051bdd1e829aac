"""The sign-in policy: "SSO only for non-admins" (Admin › Sign-in).

With it on, the login page shows only the single sign-on buttons; a password is refused server-side for
everybody but admins, who keep a break-glass password login at /login?local=1 (audited: it is the
way in when the identity provider is down or misconfigured). Password resets are refused for non-admins.
"""

from __future__ import annotations

from app.extensions import db
from app.models import OrganisationSettings, User
from app.services import audit

SETTINGS_ID = 1  # the one organisation_settings row (app.services.organisation)

PASSWORD_REFUSED = "Password sign-in is turned off here: use your organisation's single sign-on."  # noqa: S105


def sso_only() -> bool:
    row = db.session.get(OrganisationSettings, SETTINGS_ID)
    return bool(row and row.sso_only)


def set_sso_only(enabled: bool, *, actor: audit.Actor) -> None:
    row = db.session.get(OrganisationSettings, SETTINGS_ID)
    if row is None:
        row = OrganisationSettings(id=SETTINGS_ID)
        db.session.add(row)
    if bool(row.sso_only) == enabled:
        return
    row.sso_only = enabled
    audit.record(actor, "sso.policy_changed", "organisation", SETTINGS_ID,
                 f"SSO only for non-admins turned {'on' if enabled else 'off'}", sso_only=enabled)


def password_allowed(user: User) -> bool:
    """May this (authenticated) user sign in, or reset, with a password under the current policy?"""
    return user.role == "admin" or not sso_only()


def record_break_glass(user: User, ip: str | None) -> None:
    audit.record(user, "user.break_glass_login", "user", user.id,
                 "Admin signed in with a password while SSO only is on (break-glass)", ip=ip)
