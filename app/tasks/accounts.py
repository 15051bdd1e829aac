"""Account mail that must not run in the request (the answer's timing would tell who has an account)."""

from __future__ import annotations

from app.extensions import db
from app.services import audit
from app.services.accounts import users
from app.services.identity import policy


def send_password_reset(email: str) -> None:
    """Look the address up and queue the reset mail if it belongs to an active account (and, with
    SSO only on, to an admin: the others have no password to reset)."""
    user = users.find_by_email(email)
    if user is not None and not policy.password_allowed(user):
        audit.record("system", "user.password_reset_refused", "user", user.id,
                     "Password reset not sent: SSO only for non-admins")
    else:
        users.send_password_reset(email)
    db.session.commit()
