"""Webhook deliveries of outgoing integrations (admins): list, read, redeliver one, replay failed since T.

The same services as the console (app/services/integrations/webhooks.py), audited the same way.
"""

from __future__ import annotations

from app.api.base import Param, actor, bp, committed, endpoint, paginate
from app.models.integration import DELIVERY_STATUSES, Integration, WebhookDelivery
from app.services.integrations import webhooks

TAG = "Integrations"


def _full(row: WebhookDelivery) -> dict:
    return webhooks.delivery_data(row, full=True)


@bp.get("/integrations/<id:id>/deliveries")
@endpoint("An integration's webhook deliveries", access="admin", tag=TAG, response="Delivery",
          load=Integration, paginated=True,
          params=(Param("status", {"type": "string", "enum": list(DELIVERY_STATUSES)}, "Only this status."),),
          description="Newest first, with the request and response of the last attempt.")
def integration_deliveries(item: Integration, query: dict):
    return paginate(webhooks.delivery_query(item, query["status"] or ""), query, _full)


@bp.post("/integrations/<id:id>/replay")
@endpoint("Replay failed deliveries since a moment", access="admin", tag=TAG, response="Queued",
          status=202, load=Integration, body="Replay", errors=(409,),
          description="Queues again every failed or abandoned delivery created since `since`, with the "
                      "same webhook-id (receivers deduplicate). An inactive integration: 409.")
def replay_deliveries(item: Integration, body: dict):
    queued = webhooks.replay_failed(item, body["since"], actor=actor())
    return committed({"queued": queued}), 202


@bp.get("/deliveries/<id:id>")
@endpoint("Get a webhook delivery", access="admin", tag=TAG, response="Delivery", load=WebhookDelivery)
def get_delivery(item: WebhookDelivery):
    return _full(item)


@bp.post("/deliveries/<id:id>/redeliver")
@endpoint("Redeliver one webhook delivery", access="admin", tag=TAG, response="Delivery", status=202,
          load=WebhookDelivery, body="Empty", errors=(409,),
          description="Sends it again now with the same webhook-id (a fresh retry cycle). Already on its way "
                      "(pending, delivering) or its integration inactive: 409.")
def redeliver_delivery(item: WebhookDelivery, body: dict):
    webhooks.redeliver(item, actor=actor())
    return committed(_full(item)), 202
