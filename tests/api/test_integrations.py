"""The integrations endpoints of /api/v1 (issue 11 item 14: what the console can do): redeliver one delivery,
replay failed deliveries since T, sync now, list and retry failed PDF copies. Real database, Redis and
receiver; every answer is checked against the OpenAPI document (the `as_*` clients)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.database import utcnow
from app.extensions import db
from app.models import AuditEvent
from app.models.integration import ExportedPdf, WebhookDelivery
from app.queue import get_queue
from app.services.integrations import registry, syncs, webhooks
from tests.support.receiver import Receiver


@pytest.fixture
def receiver(app, monkeypatch):
    monkeypatch.setitem(app.config, "OUTGOING_ALLOW_PRIVATE", True)  # the receiver is on loopback
    with Receiver() as rx:
        yield rx


def _audited(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _webhook(url: str, *, active: bool = True):
    integration, _ = registry.create("generic_webhook", {"name": "HR", "url": url, "event_types": ["ping"]},
                                     actor="test")
    if active:
        registry.set_active(integration, True, actor="test")
    db.session.commit()
    return integration


def _failed_delivery(integration, *, age: timedelta = timedelta(0)) -> WebhookDelivery:
    """A delivery (a real ping to the receiver) marked failed, made `age` old."""
    result = webhooks.send_test(integration, actor="test")
    row = db.session.get(WebhookDelivery, result["delivery_id"])
    row.status, row.created_at = "failed", utcnow() - age
    db.session.commit()
    return row


def _sync_integration(tmp_path):
    integration, _ = registry.create("file_drop", {"name": "Drop", "folder": str(tmp_path)}, actor="test")
    db.session.commit()
    return integration


def _pdf_export(tmp_path, world, statuses=("failed", "exported")):
    integration, _ = registry.create("pdf_export", {"name": "Archive", "folder": str(tmp_path)}, actor="test")
    registry.set_active(integration, True, actor="test")
    rows = [ExportedPdf(integration_id=integration.id, certificate_id=cert.id, pdf_key=f"pdfs/{cert.id}.pdf",
                        status=status, attempts=4, last_error="disk full" if status == "failed" else None)
            for cert, status in zip((world.lena_cert, world.other_cert), statuses, strict=True)]
    db.session.add_all(rows)
    db.session.commit()
    return integration, rows


# ---- redeliver one delivery -----------------------------------------------------------------------------


def test_redeliver_one_delivery(as_admin, receiver):
    integration = _webhook(receiver.url_for("/hook"))
    row = _failed_delivery(integration)
    response = as_admin.post(f"/deliveries/{row.id}/redeliver")
    assert response.status_code == 202
    assert response.get_json()["status"] == "pending" and response.get_json()["id"] == row.id
    assert _audited("webhook.redelivered")[0].actor_label == "admin@example.com"
    assert get_queue("default").count + get_queue("high").count + get_queue("low").count >= 1
    assert as_admin.get(f"/deliveries/{row.id}").get_json()["status"] == "pending"
    again = as_admin.post(f"/deliveries/{row.id}/redeliver")
    assert again.status_code == 409 and "on its way" in again.get_json()["detail"]


def test_redeliver_refusals(as_admin, as_staff, receiver):
    integration = _webhook(receiver.url_for("/hook"))
    row = _failed_delivery(integration)
    assert as_admin.post("/deliveries/987654/redeliver").status_code == 404
    assert as_admin.post(f"/deliveries/{row.id}/redeliver", json={"now": True}).status_code == 422
    assert as_staff.post(f"/deliveries/{row.id}/redeliver").status_code == 403
    registry.set_active(integration, False, actor="test")
    db.session.commit()
    inactive = as_admin.post(f"/deliveries/{row.id}/redeliver")
    assert inactive.status_code == 409 and "Activate" in inactive.get_json()["detail"]
    assert _audited("webhook.redelivered") == []


# ---- replay failed since T ------------------------------------------------------------------------------


def test_replay_failed_deliveries_since(as_admin, receiver):
    integration = _webhook(receiver.url_for("/hook"))
    old = _failed_delivery(integration, age=timedelta(days=3))
    recent = _failed_delivery(integration, age=timedelta(hours=1))
    since = (utcnow() - timedelta(days=1)).isoformat().replace("+00:00", "Z")
    response = as_admin.post(f"/integrations/{integration.id}/replay", json={"since": since})
    assert response.status_code == 202 and response.get_json() == {"queued": 1}
    db.session.expire_all()
    assert db.session.get(WebhookDelivery, recent.id).status == "pending"
    assert db.session.get(WebhookDelivery, old.id).status == "failed"
    assert _audited("webhook.replayed")[0].data["since"].startswith(since[:16])


def test_replay_refusals(as_admin, as_learner, receiver):
    integration = _webhook(receiver.url_for("/hook"), active=False)
    url = f"/integrations/{integration.id}/replay"
    for body, field in (({}, "since"), ({"since": "yesterday"}, "since"),
                        ({"since": "x", "extra": 1}, "extra")):
        response = as_admin.post(url, json=body)
        assert response.status_code == 422 and field in response.get_json()["errors"], body
    assert as_admin.post(url, json={"since": "2026-01-01T00:00:00Z"}).status_code == 409  # inactive
    assert as_admin.post("/integrations/987654/replay", json={"since": "2026-01-01T00:00:00Z"}).status_code \
        == 404
    assert as_learner.post(url, json={"since": "2026-01-01T00:00:00Z"}).status_code == 403
    registry.delete(integration, actor="test")
    db.session.commit()
    assert as_admin.post(url, json={"since": "2026-01-01T00:00:00Z"}).status_code == 404  # deleted


# ---- sync now -------------------------------------------------------------------------------------------


def test_sync_now_queues_a_run_and_is_audited(as_admin, tmp_path, jobs):
    integration = _sync_integration(tmp_path)
    response = as_admin.post(f"/integrations/{integration.id}/sync")
    assert response.status_code == 202 and response.get_json() == {"queued": 1}
    assert [job.func_name for job in get_queue("low").jobs] == [syncs.RUN_JOB]
    assert _audited("integration.sync_requested")[0].subject_id == str(integration.id)
    jobs()
    logs = as_admin.get(f"/integrations/{integration.id}/logs").get_json()["items"]
    assert any(line["message"] == "Sync requested by an admin" for line in logs)
    assert integration.id in {r["id"] for r in as_admin.get("/integrations").get_json()["items"]}


def test_sync_now_refusals(as_admin, as_staff, receiver, tmp_path):
    webhook = _webhook(receiver.url_for("/hook"))
    refused = as_admin.post(f"/integrations/{webhook.id}/sync")
    assert refused.status_code == 409 and "sync" in refused.get_json()["detail"]
    assert as_admin.post("/integrations/987654/sync").status_code == 404
    drop = _sync_integration(tmp_path)
    assert as_admin.post(f"/integrations/{drop.id}/sync", json={"now": 1}).status_code == 422
    assert as_staff.post(f"/integrations/{drop.id}/sync").status_code == 403
    assert get_queue("low").count == 0 and _audited("integration.sync_requested") == []


# ---- failed PDF copies ----------------------------------------------------------------------------------


def test_list_and_retry_one_failed_pdf_copy(as_admin, tmp_path, world):
    integration, (failed, exported) = _pdf_export(tmp_path, world)
    listed = as_admin.get(f"/integrations/{integration.id}/pdf-copies?status=failed").get_json()
    assert [c["id"] for c in listed["items"]] == [failed.id]
    assert listed["items"][0]["last_error"] == "disk full"
    assert listed["items"][0]["serial"] == world.lena_cert.serial
    assert as_admin.get(f"/integrations/{integration.id}/pdf-copies").get_json()["total"] == 2

    response = as_admin.post(f"/integrations/{integration.id}/pdf-copies/{failed.id}/retry")
    assert response.status_code == 202
    assert (response.get_json()["status"], response.get_json()["attempts"]) == ("pending", 0)
    assert "app.tasks.integrations.export_pdf" in [job.func_name for job in get_queue("low").jobs]
    assert _audited("integration.exports_retried")[0].data["count"] == 1
    again = as_admin.post(f"/integrations/{integration.id}/pdf-copies/{failed.id}/retry")
    assert again.status_code == 409 and "pending" in again.get_json()["detail"]
    assert as_admin.post(f"/integrations/{integration.id}/pdf-copies/{exported.id}/retry").status_code == 409


def test_retry_all_failed_pdf_copies(as_admin, tmp_path, world):
    integration, rows = _pdf_export(tmp_path, world, statuses=("failed", "failed"))
    response = as_admin.post(f"/integrations/{integration.id}/pdf-copies/retry")
    assert response.status_code == 202 and response.get_json() == {"queued": 2}
    assert as_admin.get(f"/integrations/{integration.id}/pdf-copies?status=failed").get_json()["total"] == 0
    assert as_admin.post(f"/integrations/{integration.id}/pdf-copies/retry").get_json() == {"queued": 0}


def test_pdf_copy_refusals(as_admin, as_staff, as_learner, tmp_path, world, receiver):
    integration, (failed, _) = _pdf_export(tmp_path, world)
    other, _ = registry.create("pdf_export", {"name": "Other", "folder": str(tmp_path)}, actor="test")
    webhook = _webhook(receiver.url_for("/hook"))
    db.session.commit()
    base = f"/integrations/{integration.id}/pdf-copies"
    assert as_admin.post(f"/integrations/{other.id}/pdf-copies/{failed.id}/retry").status_code == 404
    assert as_admin.post(f"{base}/987654/retry").status_code == 404
    assert as_admin.post("/integrations/987654/pdf-copies/retry").status_code == 404
    assert as_admin.post(f"/integrations/{webhook.id}/pdf-copies/retry").status_code == 409
    assert as_admin.get(f"{base}?status=lost").status_code == 422
    assert as_admin.get(f"{base}?per_page=0").status_code == 422
    assert as_admin.post(f"{base}/retry", json={"all": True}).status_code == 422
    assert as_staff.post(f"{base}/retry").status_code == 403
    assert as_learner.get(base).status_code == 403
    assert _audited("integration.exports_retried") == []


# ---- the rest of the integrations API, on @endpoint ----------------------------------------------------


def test_lists_are_standard_pages(as_admin):
    for n in range(3):
        registry.create("incoming", {"name": f"In {n}"}, actor="test")
    db.session.commit()
    page = as_admin.get("/integrations?per_page=2&type=incoming")
    assert page.get_json()["total"] == 3 and len(page.get_json()["items"]) == 2
    assert 'rel="next"' in page.headers["Link"]
    for query in ("page=0", "per_page=201", "page=x", "type=ftp", "status=failing"):
        assert as_admin.get(f"/integrations?{query}").status_code == 422, query


def test_unknown_fields_and_bad_values_are_422(as_admin):
    created = as_admin.post("/integrations", json={"type": "incoming", "name": "In", "colour": "red"})
    assert created.status_code == 422 and list(created.get_json()["errors"]) == ["colour"]
    bad = as_admin.post("/integrations", json={"type": "incoming", "name": "In\u0000"})
    assert bad.status_code == 422 and "name" in bad.get_json()["errors"]
    made = as_admin.post("/integrations", json={"type": "incoming", "name": "In"})
    assert made.status_code == 201
    assert made.headers["Location"].endswith(f"/integrations/{made.get_json()['id']}")
    patched = as_admin.patch(f"/integrations/{made.get_json()['id']}", json={"type": "sql"})
    assert patched.status_code == 422 and list(patched.get_json()["errors"]) == ["type"]
    no_test = as_admin.post(f"/integrations/{made.get_json()['id']}/test")
    assert no_test.status_code == 409


def test_deleted_integrations_are_gone(as_admin):
    made = as_admin.post("/integrations", json={"type": "incoming", "name": "In"}).get_json()
    assert as_admin.delete(f"/integrations/{made['id']}").status_code == 204
    for method, suffix in (("GET", ""), ("PATCH", ""), ("DELETE", ""), ("POST", "/activate"),
                           ("GET", "/logs"), ("GET", "/deliveries"), ("POST", "/sync")):
        assert as_admin.open(method, f"/integrations/{made['id']}{suffix}").status_code == 404, suffix
