"""Plain-dict operations for the REST API (/api/v1/integrations ...): the API blueprint only wires them.

Every function returns JSON-ready dicts; a missing (or deleted) integration raises `LookupError` (404),
bad input `ValidationError` (422, `errors` per field), a refused action `NotAllowed` (409). The caller
commits. Secrets are accepted on create/update and never returned (only masked hints).
"""

from __future__ import annotations

from datetime import datetime

from app.extensions import db
from app.models.integration import LOG_LEVELS
from app.services import audit, integration_health, integrations, syncs, webhooks
from app.services.errors import ValidationError
from app.services.numbers import MAX_ID


def _get(integration_id: int):
    if not 0 < integration_id <= MAX_ID:  # beyond PostgreSQL's integer: simply not found
        raise LookupError(f"No integration {integration_id}.")
    integration = integrations.get(integration_id)
    if integration is None:
        raise LookupError(f"No integration {integration_id}.")
    return integration


def _page(stmt, page: int, per_page: int, shape) -> dict:
    result = db.paginate(stmt, page=max(page, 1), per_page=min(max(per_page, 1), 100), error_out=False)
    return {
        "items": [shape(row) for row in result.items],
        "page": result.page,
        "per_page": result.per_page,
        "total": result.total,
    }


def list_integrations(kind: str = "", status: str = "") -> dict:
    rows = db.session.scalars(integrations.integration_query(kind, status)).all()
    return {"items": [integrations.integration_data(i) for i in rows]}


def get_integration(integration_id: int) -> dict:
    return integrations.integration_data(_get(integration_id))


def create_integration(fields: dict, *, actor: audit.Actor) -> dict:
    """`fields["type"]` picks the template; the response carries `signing_secret_once` (shown only here)."""
    integration, secret = integrations.create(str(fields.get("type", "")), fields, actor=actor)
    return {**integrations.integration_data(integration), "signing_secret_once": secret}


def update_integration(integration_id: int, fields: dict, *, actor: audit.Actor) -> dict:
    return integrations.integration_data(integrations.update(_get(integration_id), fields, actor=actor))


def delete_integration(integration_id: int, *, actor: audit.Actor) -> None:
    integrations.delete(_get(integration_id), actor=actor)


def activate(integration_id: int, *, actor: audit.Actor) -> dict:
    integration = _get(integration_id)
    integrations.set_active(integration, True, actor=actor)
    return integrations.integration_data(integration)


def deactivate(integration_id: int, *, actor: audit.Actor) -> dict:
    integration = _get(integration_id)
    integrations.set_active(integration, False, actor=actor)
    return integrations.integration_data(integration)


def test(integration_id: int, *, actor: audit.Actor) -> dict:
    """Ping (outgoing) or dry run (syncs); {"ok": bool, ...details}."""
    integration = _get(integration_id)
    if integration.is_outgoing:
        return webhooks.send_test(integration, actor=actor)
    return syncs.test(integration)


def logs(integration_id: int, *, level: str = "", page: int = 1, per_page: int = 50) -> dict:
    if level and level not in LOG_LEVELS:
        raise ValidationError({"level": f"One of {', '.join(LOG_LEVELS)}."})
    stmt = integrations.log_query(_get(integration_id), level)
    return _page(stmt, page, per_page, integrations.log_data)


def deliveries(integration_id: int, *, status: str = "", page: int = 1, per_page: int = 25) -> dict:
    stmt = webhooks.delivery_query(_get(integration_id), status)
    return _page(stmt, page, per_page, lambda row: webhooks.delivery_data(row, full=True))


def replay(integration_id: int, since: datetime, *, actor: audit.Actor) -> dict:
    return {"replayed": webhooks.replay_failed(_get(integration_id), since, actor=actor)}


def health() -> dict:
    return integration_health.health()
