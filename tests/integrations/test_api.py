"""The integrations REST API (on the one /api/v1 blueprint): admins only, the console's operations as JSON,
errors as problem+json. The endpoints of issue 11 item 14 are tested in tests/api/test_integrations.py."""

from app.extensions import db
from app.services.accounts import tokens


def _headers(user) -> dict:
    _, secret = tokens.create_token(user, "test")
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def test_create_activate_test_and_read_logs(client, admin, receiver, allow_private):
    auth = _headers(admin)
    created = client.post("/api/v1/integrations", headers=auth, json={
        "type": "generic_webhook", "name": "HR", "url": receiver.url, "event_types": ["certificate.issued"]})
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["signing_secret_once"].startswith("whsec_")
    integration_id = body["id"]

    shown = client.get(f"/api/v1/integrations/{integration_id}", headers=auth).get_json()
    assert shown["name"] == "HR" and "signing_secret_once" not in shown
    activated = client.post(f"/api/v1/integrations/{integration_id}/activate", headers=auth)
    assert activated.get_json()["active"] is True
    tested = client.post(f"/api/v1/integrations/{integration_id}/test", headers=auth)
    assert tested.status_code == 200 and tested.get_json()["ok"] is True
    assert receiver.wait_for(1)[0].json()["type"] == "ping"
    logs = client.get(f"/api/v1/integrations/{integration_id}/logs?level=info", headers=auth).get_json()
    assert logs["total"] >= 2 and logs["next"] is None
    deliveries = client.get(f"/api/v1/integrations/{integration_id}/deliveries", headers=auth).get_json()
    assert deliveries["items"][0]["request_headers"]["webhook-id"]
    listed = client.get("/api/v1/integrations", headers=auth).get_json()
    assert [i["id"] for i in listed["items"]] == [integration_id] and listed["total"] == 1
    health = client.get("/api/v1/integrations/health", headers=auth).get_json()
    assert health["integrations"]["active"] == 1
    assert client.delete(f"/api/v1/integrations/{integration_id}", headers=auth).status_code == 204
    assert client.get(f"/api/v1/integrations/{integration_id}", headers=auth).status_code == 404


def test_errors_are_problems(client, admin, learner):
    auth = _headers(admin)
    bad = client.post("/api/v1/integrations", headers=auth, json={"type": "generic_webhook", "name": ""})
    assert bad.status_code == 422 and bad.mimetype == "application/problem+json"
    assert bad.get_json()["errors"]
    assert client.get("/api/v1/integrations/999", headers=auth).status_code == 404
    made = client.post("/api/v1/integrations", headers=auth, json={"type": "incoming", "name": "In"})
    made = made.get_json()
    for query in ("page=x", "page=0", "per_page=201", "level=loud"):
        response = client.get(f"/api/v1/integrations/{made['id']}/logs?{query}", headers=auth)
        assert response.status_code == 422 and response.mimetype == "application/problem+json", query
    assert client.get("/api/v1/integrations/99999999999/logs", headers=auth).status_code == 404
    assert client.get("/api/v1/integrations", headers=_headers(learner)).status_code == 403
    assert client.get("/api/v1/integrations").status_code == 401
