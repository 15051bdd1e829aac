"""One item of a sync run: applied in its own savepoint, counted on the run, logged when it fails.

Shared by every sync source (app.services.integrations.syncs runs them; the Moodle mapping in
app.services.integrations.moodle applies its items through `item`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db
from app.models.integration import Integration, SyncRun
from app.services import audit
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


def item(run: SyncRun, integration: Integration, kind: str, label: str, apply: Callable[[], str], *,
         tally: Counter[str] | None = None) -> str:
    """Apply one item in a savepoint; `apply` returns created/updated/unchanged. Failures are counted.

    `tally`: count the outcome there instead of on the run (the caller adds it up once at the end:
    thousands of items would otherwise each rewrite the run's row). Audit rows an `audit.batch()` holds
    for an item that fails are dropped with its savepoint."""
    mark = audit.batch_mark()
    try:
        with db.session.begin_nested():
            outcome = apply()
    except ITEM_ERRORS as exc:
        audit.drop_after(mark)
        count(run, kind, "failed")
        integrations.log(
            integration, "warning", f"{kind[:-1].capitalize()} {label} failed: {exc}", run_id=run.id
        )
        return "failed"
    if tally is not None:
        tally[outcome] += 1
    else:
        count(run, kind, outcome)
    return outcome
