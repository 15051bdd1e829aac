"""Issue 12, the webhook form that cannot trap: events as checkboxes grouped by object, only the chosen
authentication type's fields (the others hidden by static/js/show-for.js and ignored/cleared by the
service), and a refused private address that names the setting allowing it."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.connectors import egress
from app.connectors.http import UnsafeURLError, check_url
from app.extensions import db
from app.models.integration import Integration
from app.services.integrations import registry


def _form(client, **data) -> dict:
    return {"csrf_token": client.csrf_token, "name": "School ERP", "event_types": ["certificate.issued"],
            **data}


def test_events_are_grouped_checkboxes_and_auth_fields_are_marked(admin, login_as):
    page = login_as(admin).get("/integrations/new/generic_webhook").get_data(as_text=True)
    assert "<select" not in page.split('name="event_types"')[0][-300:]  # no Ctrl-click list
    assert len(re.findall(r'type="checkbox" name="event_types"', page)) >= 10
    for group in ("Certificate", "Enrollment", "Certification"):
        assert f"<legend>{group}</legend>" in page
    assert page.count('data-show-for="auth_type:oauth2"') == 4 and 'data-show-for="auth_type:basic"' in page
    assert "js/show-for.js" in page
    drop = login_as(admin).get("/integrations/new/file_drop").get_data(as_text=True)
    assert 'data-show-for="location:folder"' in drop and drop.count('data-show-for="location:s3"') == 6


def test_switching_auth_type_forgets_the_other_types_settings_and_secrets(admin, login_as, receiver,
                                                                         allow_private):
    client = login_as(admin)
    created = client.post("/integrations/new/generic_webhook", data=_form(
        client, url=receiver.url_for("/hook"), auth_type="basic", username="erp", password="pw-1234",
        token="ignored-token-5678", header_name="X-Ignored"))
    assert created.status_code == 200, created.get_data(as_text=True)[:2000]
    integration = db.session.scalars(select(Integration)).one()
    assert registry.credentials(integration) == {"password": "pw-1234"}  # the bearer token was not kept
    assert "header_name" not in integration.config and integration.config["username"] == "erp"

    saved = client.post(f"/integrations/{integration.id}/edit", data=_form(
        client, url=receiver.url_for("/hook"), auth_type="bearer", token="tok-9876", username="erp",
        password=""))
    assert saved.status_code == 302
    db.session.expire_all()
    integration = db.session.get(Integration, integration.id)
    assert integration.auth_type == "bearer"
    assert registry.credentials(integration) == {"token": "tok-9876"}
    assert set(integration.credential_hints) == {"token"} and "username" not in integration.config


def test_refused_private_address_names_the_setting(admin, login_as, app, monkeypatch):
    monkeypatch.setitem(app.config, "OUTGOING_ALLOW_PRIVATE", False)
    monkeypatch.setitem(app.config, "WEBHOOKS_ALLOW_PRIVATE", False)
    with pytest.raises(UnsafeURLError, match="set OUTGOING_ALLOW_PRIVATE=true"):
        check_url("http://127.0.0.1:9/x")
    assert egress.refusal("intranet", [egress.ipaddress.ip_address("10.1.2.3")]).startswith(
        "Private/intranet address refused: set OUTGOING_ALLOW_PRIVATE=true")
    client = login_as(admin)
    answer = client.post("/integrations/new/generic_webhook",
                         data=_form(client, url="http://10.0.0.5/hook", auth_type="none"))
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422 and "set OUTGOING_ALLOW_PRIVATE=true" in page
    assert 'id="url-error"' in page  # next to the field
