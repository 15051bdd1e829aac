"""/api/v1/integrations: the integrations console as JSON (admins only).

Create from a template, read, change, delete (soft: a deleted integration is 404 here, its history stays),
activate, deactivate, test, sync now, logs and health. Deliveries are in ./deliveries.py, PDF copies in
./pdf_copies.py. The rules live in app/services/integrations/; these views only map HTTP to them.
"""

from __future__ import annotations

from flask import url_for

from app.api.base import Param, actor, bp, committed, created, endpoint, paginate
from app.models.integration import INTEGRATION_TYPES, LOG_LEVELS, Integration
from app.services.integrations import health, syncs, webhooks
from app.services.integrations import registry as integrations

TAG = "Integrations"
FILTERS = (
    Param("type", {"type": "string", "enum": list(INTEGRATION_TYPES)}, "Only this template."),
    Param("status", {"type": "string", "enum": ["active", "inactive"]}, "Only active or inactive ones."),
)
SECRETS_NOTE = ("Secrets (api_key, token, password, client_secret, moodle_token, database_url, webhook_url, "
                "access_key_id, secret_access_key) are write-only: responses carry a masked hint.")


@bp.get("/integrations")
@endpoint("List integrations", access="admin", tag=TAG, response="Integration", paginated=True,
          params=FILTERS, description="By name. Deleted integrations are not listed.")
def list_integrations(query: dict):
    stmt = integrations.integration_query(query["type"] or "", query["status"] or "")
    return paginate(stmt, query, integrations.integration_data)


@bp.post("/integrations")
@endpoint("Create an integration from a template", access="admin", tag=TAG, response="IntegrationCreated",
          status=201, body="IntegrationCreate",
          description="`type` picks the template; the integration starts inactive. The signing secret "
                      "(outgoing and incoming types) is in `signing_secret_once`, shown only here. "
                      + SECRETS_NOTE)
def create_integration(body: dict):
    integration, secret = integrations.create(body["type"], body, actor=actor())
    answer = {**integrations.integration_data(integration), "signing_secret_once": secret}
    return committed(created(answer, url_for("api.get_integration", id=integration.id)))


@bp.get("/integrations/health")
@endpoint("Integrations health at a glance", access="admin", tag=TAG, response="IntegrationHealth",
          description="Counts by status, the failing integrations and the delivery backlog.")
def integrations_health():
    return health.health()


@bp.get("/integrations/<id:id>")
@endpoint("Get an integration", access="admin", tag=TAG, response="Integration", load=Integration)
def get_integration(item: Integration):
    return integrations.integration_data(item)


@bp.patch("/integrations/<id:id>")
@endpoint("Change an integration's settings", access="admin", tag=TAG, response="Integration",
          load=Integration, body="IntegrationUpdate",
          description="Partial: only the fields sent change; an empty secret keeps the stored one. "
                      + SECRETS_NOTE)
def update_integration(item: Integration, body: dict):
    integrations.update(item, body, actor=actor())
    return committed(integrations.integration_data(item))


@bp.delete("/integrations/<id:id>")
@endpoint("Delete an integration", access="admin", tag=TAG, load=Integration, status=204,
          description="Soft: it stops at once and is 404 from then on; its logs and deliveries are kept.")
def delete_integration(item: Integration):
    integrations.delete(item, actor=actor())
    return committed(""), 204


@bp.post("/integrations/<id:id>/activate")
@endpoint("Activate an integration", access="admin", tag=TAG, response="Integration", load=Integration,
          body="Empty", description="Clears the failure state (a fresh start). No body (or `{}`).")
def activate_integration(item: Integration, body: dict):
    integrations.set_active(item, True, actor=actor())
    return committed(integrations.integration_data(item))


@bp.post("/integrations/<id:id>/deactivate")
@endpoint("Deactivate an integration", access="admin", tag=TAG, response="Integration", load=Integration,
          body="Empty", description="No body (or `{}`).")
def deactivate_integration(item: Integration, body: dict):
    integrations.set_active(item, False, actor=actor())
    return committed(integrations.integration_data(item))


@bp.post("/integrations/<id:id>/test")
@endpoint("Test an integration", access="admin", tag=TAG, response="TestResult", load=Integration,
          body="Empty", errors=(409,),
          description="Outgoing: sends a `ping` now (no retries). Syncs and PDF exports: a dry run that "
                      "changes nothing. Incoming integrations have no test: 409.")
def test_integration(item: Integration, body: dict):
    result = webhooks.send_test(item, actor=actor()) if item.is_outgoing else syncs.test(item)
    return committed(result)


@bp.post("/integrations/<id:id>/sync")
@endpoint("Sync now", access="admin", tag=TAG, response="Queued", status=202, load=Integration,
          body="Empty", errors=(409,),
          description="Queues a run of a Moodle, SQL or file integration (also when inactive); its result "
                      "appears in the logs. A run already going makes this one a no-op. Other types: 409.")
def sync_integration(item: Integration, body: dict):
    syncs.sync_now(item, actor=actor())
    return committed({"queued": 1}), 202


@bp.get("/integrations/<id:id>/logs")
@endpoint("An integration's log", access="admin", tag=TAG, response="IntegrationLog", load=Integration,
          paginated=True, params=(Param("level", {"type": "string", "enum": list(LOG_LEVELS)},
                                        "This level and above (warning: warnings and errors)."),),
          description="Newest first.")
def integration_logs(item: Integration, query: dict):
    return paginate(integrations.log_query(item, query["level"] or ""), query, integrations.log_data)
