"""One item of a sync run: applied in its own savepoint, counted on the run, logged when it fails.

Shared by every sync source (app.services.integrations.syncs runs them; the Moodle mapping in
app.services.integrations.moodle applies its items through `item`).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db
from app.models.integration import Integration, SyncRun
from app.services.errors import NotAllowed, ValidationError
from app.services.integrations import registry as integrations

ITEM_ERRORS = (ValidationError, NotAllowed, SQLAlchemyError, ValueError, LookupError)


def actor_for(integration: Integration) -> str:
    return f"integration:{integration.id}"


def count(run: SyncRun, kind: str, outcome: str, n: int = 1, *, total: bool = True) -> None:
    """Add to the run's totals (unless `total` is False) and to its per-kind details."""
    if total:
        setattr(run, outcome, getattr(run, outcome) + n)
    details = dict(run.details or {})
    bucket = dict(details.get(kind, {}))
    bucket[outcome] = bucket.get(outcome, 0) + n
    details[kind] = bucket
    run.details = details


def item(run: SyncRun, integration: Integration, kind: str, label: str, apply: Callable[[], str]) -> str:
    """Apply one item in a savepoint; `apply` returns created/updated/unchanged. Failures are counted."""
    try:
        with db.session.begin_nested():
            outcome = apply()
    except ITEM_ERRORS as exc:
        count(run, kind, "failed")
        integrations.log(
            integration, "warning", f"{kind[:-1].capitalize()} {label} failed: {exc}", run_id=run.id
        )
        return "failed"
    count(run, kind, outcome)
    return outcome
