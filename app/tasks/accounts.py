"""Account mail that must not run in the request (the answer's timing would tell who has an account)."""

from __future__ import annotations

from app.extensions import db
from app.services.accounts import users


def send_password_reset(email: str) -> None:
    """Look the address up and queue the reset mail if it belongs to an active account."""
    users.send_password_reset(email)
    db.session.commit()
