"""Views' side of the manager scope (app/services/accounts/scope.py): a record about someone the signed-in
user may not see is "not found" (404), never "forbidden": its existence is not theirs to know."""

from __future__ import annotations

from flask import abort
from flask_login import current_user

from app.extensions import db
from app.models import User
from app.services.accounts import scope


def viewer() -> User:
    return current_user._get_current_object()


def person_or_404(user: User | None) -> User:
    if user is None or not scope.can_see_user(viewer(), user):
        abort(404)
    return user


def record_or_404(model: type, record_id: int):
    """The row (an enrollment, a certificate: anything with `user`) if its person is in scope, else 404."""
    row = db.session.get(model, record_id)
    if row is None:
        abort(404)
    person_or_404(row.user)
    return row
