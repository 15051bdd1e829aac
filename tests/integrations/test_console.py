"""The integrations console: admins only, templates, secrets shown once, logs, deliveries, health."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models.integration import Integration, IntegrationLog, WebhookDelivery
from app.services.integrations import registry


def test_only_admins_get_in(login_as, staff, learner, client):
    assert login_as(staff).get("/integrations/").status_code == 403
    assert login_as(learner).get("/integrations/health").status_code == 403
    assert client.get("/integrations/").status_code == 302


def test_create_from_template_shows_the_secret_once(admin, login_as, receiver, allow_private):
    client = login_as(admin)
    assert "CSV drop folder" in client.get("/integrations/new").get_data(as_text=True)
    response = client.post(
        "/integrations/new/generic_webhook",
        data={
            "csrf_token": client.csrf_token,
            "name": "School ERP",
            "url": receiver.url_for("/hook"),
            "event_types": ["certificate.issued", "certificate.revoked"],
            "auth_type": "bearer",
            "token": "tok-SUPERSECRET-9876",
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "will not be shown again" in page, page[page.find("<main") :][
        :3000
    ]
    integration = db.session.scalars(select(Integration)).one()
    secret = registry.signing_secrets(integration)[0]
    assert secret in page
    detail = client.get(f"/integrations/{integration.id}").get_data(as_text=True)
    assert secret not in detail and "tok-SUPERSECRET-9876" not in detail
    assert "••••9876" in detail and integration.signing_secret_hint in detail
    edit = client.get(f"/integrations/{integration.id}/edit").get_data(as_text=True)
    assert "tok-SUPERSECRET-9876" not in edit and "leave blank to keep it" in edit
    saved = client.post(
        f"/integrations/{integration.id}/edit",
        data={
            "csrf_token": client.csrf_token,
            "name": "School ERP 2",
            "url": receiver.url_for("/hook"),
            "event_types": ["certificate.issued"],
            "auth_type": "bearer",
            "token": "",
        },
    )
    assert saved.status_code == 302
    db.session.expire_all()
    assert registry.credentials(integration) == {"token": "tok-SUPERSECRET-9876"}


def test_form_errors_rerender_with_422(admin, login_as):
    client = login_as(admin)
    response = client.post(
        "/integrations/new/generic_webhook",
        data={"csrf_token": client.csrf_token, "name": "", "url": "http://127.0.0.1/x", "auth_type": "none"},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "non-public" in page and "Choose at least one event type." in page
    assert db.session.scalars(select(Integration)).all() == []


def test_activate_deactivate_delete_keeps_history(admin, login_as, make_webhook, receiver):
    integration, _ = make_webhook(receiver.url_for("/hook"), active=False)
    client = login_as(admin)
    headers = {"X-CSRFToken": client.csrf_token}
    assert client.post(f"/integrations/{integration.id}/activate", headers=headers).status_code == 302
    assert client.post(f"/integrations/{integration.id}/deactivate", headers=headers).status_code == 302
    assert client.post(f"/integrations/{integration.id}/delete", headers=headers).status_code == 302
    db.session.expire_all()
    row = db.session.get(Integration, integration.id)
    assert row.deleted_at is not None and not row.active
    assert client.get(f"/integrations/{integration.id}").status_code == 404
    assert "Receiver" not in client.get("/integrations/").get_data(as_text=True)
    messages = db.session.scalars(
        select(IntegrationLog.message).where(IntegrationLog.integration_id == integration.id)
    ).all()
    assert {"Integration activated", "Integration deactivated", "Integration deleted"} <= set(messages)


def test_logs_paginate_and_filter_by_level(admin, login_as, make_webhook, receiver):
    integration, _ = make_webhook(receiver.url_for("/hook"))
    for n in range(60):
        registry.log(integration, "warning" if n % 3 else "error", f"line {n}")
    db.session.commit()
    client = login_as(admin)
    page = client.get(f"/integrations/{integration.id}/logs?level=error").get_data(as_text=True)
    assert "line 57" in page and "line 58" not in page
    fragment = client.get(f"/integrations/{integration.id}/logs?page=2", headers={"HX-Request": "true"})
    assert "<html" not in fragment.get_data(as_text=True) and "line 0" in fragment.get_data(as_text=True)


def test_deliveries_log_and_redeliver(admin, login_as, make_webhook, receiver, catalog_one, learner, jobs):
    from tests.integrations.test_webhooks import complete

    _, course = catalog_one
    integration, _ = make_webhook(receiver.url_for("/hook"))
    complete(learner, course)
    jobs()
    client = login_as(admin)
    row = db.session.scalars(select(WebhookDelivery)).one()
    listing = client.get(f"/integrations/{integration.id}/deliveries").get_data(as_text=True)
    assert "certificate.issued" in listing and "delivered" in listing
    detail = client.get(f"/integrations/deliveries/{row.id}").get_data(as_text=True)
    assert "webhook-signature" in detail and "&#34;type&#34;:&#34;certificate.issued&#34;" in detail
    again = client.post(
        f"/integrations/deliveries/{row.id}/redeliver",
        headers={"X-CSRFToken": client.csrf_token, "HX-Request": "true"},
    )
    assert again.status_code == 200 and "pending" in again.get_data(as_text=True)
    jobs()
    assert len(receiver.wait_for(2)) == 2


def test_health_page_and_json(admin, login_as, make_webhook, receiver):
    integration, _ = make_webhook(receiver.url_for("/hook"))
    registry.note_failure(integration, "HTTP 500")
    db.session.commit()
    client = login_as(admin)
    data = client.get("/integrations/health", headers={"Accept": "application/json"}).json
    assert data["status"] == "failing" and data["integrations"]["failing"] == 1
    assert data["failing"][0]["last_error"] == "HTTP 500"
    assert "Integration health" in client.get("/integrations/health").get_data(as_text=True)
    assert "Integrations" in client.get("/integrations/").get_data(as_text=True)
