"""The form view ceremony, written once: validate, call the service, commit or roll back, show errors.

Every form view used to repeat "form -> service -> except ValidationError: rollback + put_errors /
except NotAllowed -> else commit". Views now say what to do and what to show:

    done = submit(form, lambda: catalog.create_course(form.values(), actor=current_user))
    if done:
        return render_template(..., created=done.value)
    return render_template(..., form=form), 422

`attempt(action)` is the same without a form (a button), and `commit_or_409(action)` for actions whose
refusal is a plain 409. Nothing a refused service call flushed survives: the session is rolled back.

`answer=`: when the view's response reads the database (a list, a row with its relations), build it
from the action's value *before* the commit, `submit(form, action, answer=lambda row: render(...))`:
a database lost right after the commit then cannot turn a saved change into a 500 (`done.value` is the
response). See app/web/transactions.py.
"""

from __future__ import annotations

from collections.abc import Callable, Container
from dataclasses import dataclass
from typing import Any

from flask import abort

from app.extensions import db
from app.services.errors import NotAllowed, ValidationError


@dataclass(frozen=True)
class Outcome:
    """What a service call made of a request: done (committed, with the call's `value`) or `refusal`."""

    ok: bool
    value: Any = None
    refusal: str = ""

    def __bool__(self) -> bool:
        return self.ok


Answer = Callable[[Any], Any] | None


def submit(form, action: Callable[[], Any], *, fields: Container[str] | None = None,
           answer: Answer = None) -> Outcome:
    """Validate `form`; when valid, run `action` and commit. A service's ValidationError goes next to
    the fields (or on the form, see `put_errors`), a NotAllowed onto the form; both roll back."""
    if not form.validate_on_submit():
        return Outcome(False)
    try:
        value = action()
    except ValidationError as exc:
        db.session.rollback()
        put_errors(form, exc, fields)
        return Outcome(False, refusal="; ".join(exc.errors.values()))
    except NotAllowed as exc:
        db.session.rollback()
        form.form_errors.append(str(exc))
        return Outcome(False, refusal=str(exc))
    return _commit(value, answer)


def attempt(action: Callable[[], Any], *, answer: Answer = None) -> Outcome:
    """Run `action` and commit; a refusal (NotAllowed or ValidationError) rolls back and says why."""
    try:
        value = action()
    except (ValidationError, NotAllowed) as exc:
        db.session.rollback()
        message = "; ".join(exc.errors.values()) if isinstance(exc, ValidationError) else str(exc)
        return Outcome(False, refusal=message)
    return _commit(value, answer)


def _commit(value: Any, answer: Answer) -> Outcome:
    response = answer(value) if answer is not None else value  # built inside the transaction
    db.session.commit()
    return Outcome(True, response)


def commit_or_409(action: Callable[[], Any], *, answer: Answer = None) -> Any:
    """Run `action` and commit, returning its value (or `answer(value)`, built before the commit); a
    refusal answers 409 with the service's reason."""
    done = attempt(action, answer=answer)
    if not done:
        abort(409, description=done.refusal)
    return done.value


def put_errors(form, exc: ValidationError, fields: Container[str] | None = None) -> None:
    """Copy {field: message} next to the field, or onto the whole form when the form has no such field
    (or it is not among `fields`, when given: e.g. fields the current integration template shows)."""
    for name, message in exc.errors.items():
        field = getattr(form, name, None) if name and (fields is None or name in fields) else None
        if field is not None and isinstance(getattr(field, "errors", None), list | tuple):
            field.errors = [*field.errors, message]
        else:
            form.form_errors.append(message)
