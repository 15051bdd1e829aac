"""Issue #11 items 8 and 11 (first half): every JSON body Laurel reads goes through app.strict_json, which
refuses deep nesting, duplicate keys and non-finite numbers with 400 and changes nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from standardwebhooks import Webhook

from app import strict_json
from app.extensions import db
from app.models import Enrollment, User
from app.models.integration import IncomingReceipt
from app.services.accounts import tokens
from app.services.integrations import registry
from app.services.lifecycle import catalog, enrollment

DEEP = "[" * 1000 + "]" * 1000
DEEP_OBJECT = '{"a":' * 1000 + "1" + "}" * 1000
HOSTILE = {
    "deep array": DEEP,
    "deep object": DEEP_OBJECT,
    "duplicate key": '{"name": "A", "name": "B"}',
    "NaN": '{"score": NaN}',
    "Infinity": '{"score": -Infinity}',
    "overflowing float": '{"score": 1e400}',
    "5,000-digit integer": '{"capacity": ' + "9" * 5000 + "}",
    "broken UTF-16": b'\xff\xfe{\x00"',  # a byte-order mark, then an odd number of bytes
}


# ---- the parser itself ----------------------------------------------------------------------------------

def test_nesting_up_to_the_limit_parses_and_one_more_is_refused():
    limit = strict_json.MAX_DEPTH
    assert strict_json.loads("[" * limit + "]" * limit) is not None
    with pytest.raises(strict_json.JSONInputError, match="Nested deeper"):
        strict_json.loads("[" * (limit + 1) + "]" * (limit + 1))


def test_brackets_inside_strings_do_not_count_as_nesting():
    text = json.dumps({"note": "[" * 500 + '\\"{' * 50, "quote": '"[[[', "list": [["x"]]})
    assert strict_json.loads(text)["list"] == [["x"]]


def test_duplicate_keys_are_refused_at_every_level():
    with pytest.raises(strict_json.JSONInputError, match="Duplicate key 'role'"):
        strict_json.loads('{"a": [{"role": "learner", "role": "admin"}]}')


@pytest.mark.parametrize("text", ["NaN", "[Infinity]", "[-Infinity]", "1e400", "[-1e999]"])
def test_non_finite_numbers_are_refused(text):
    with pytest.raises(strict_json.JSONInputError):
        strict_json.loads(text)


def test_bytes_in_any_json_encoding_still_parse():
    assert strict_json.loads('{"a": 1}'.encode("utf-16")) == {"a": 1}


def test_bytes_that_are_not_text_are_refused():
    with pytest.raises(strict_json.JSONInputError, match="not text"):
        strict_json.loads(HOSTILE["broken UTF-16"])


# ---- every JSON route -------------------------------------------------------------------------------------

@pytest.fixture
def ids(admin, learner):
    """One existing item of each kind an API route can name, so every route reaches its body."""
    course = catalog.create_course({"code": "FA-101", "title": "First aid"}, actor="test")
    certification = catalog.create_certification(
        {"name": "First Aid", "status": "active", "course_ids": [course.id]}, actor="test")
    certificate = enrollment.record_completion(learner, course, score=90, actor="test")[0]
    integration, _ = registry.create("incoming", {"name": "LMS"}, actor="test")
    db.session.commit()
    return {"courses": course.id, "certifications": certification.id, "certificates": certificate.id,
            "users": learner.id, "integrations": integration.id,
            "enrollments": db.session.scalar(select(Enrollment.id))}


def _bearer(user) -> dict:
    _, secret = tokens.create_token(user, "hardening")
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def _write_routes(app, ids: dict) -> list[tuple[str, str]]:
    """(method, url) of every API write route, its id filled with an existing item."""
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or rule.methods <= {"GET", "HEAD", "OPTIONS"}:
            continue
        url = rule.rule
        while url and "<" in url:  # each placeholder gets an item of the collection named just before it
            collection = url[:url.index("<")].rstrip("/").rsplit("/", 1)[-1]
            # Items the fixture does not make (deliveries, PDF copies): their bodies are tests/api's.
            url = url[:url.index("<")] + str(ids[collection]) + url[url.index(">") + 1:] \
                if collection in ids else ""
        if not url:
            continue
        routes += [(method, url) for method in sorted(rule.methods - {"GET", "HEAD", "OPTIONS"})]
    return routes


def _reads_json(app, method: str, url: str) -> bool:
    endpoint, _ = app.url_map.bind("localhost").match(url, method=method)
    operation = getattr(app.view_functions[endpoint], "operation", None)
    return bool(operation and operation.body)


def test_the_route_list_covers_every_api_write(app, ids):
    routes = _write_routes(app, ids)
    assert sum(_reads_json(app, m, u) for m, u in routes) == 26  # @endpoint bodies on items the fixture makes


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_every_api_write_refuses_hostile_json_with_400(app, client, admin, ids, kind):
    auth = _bearer(admin)
    for method, url in _write_routes(app, ids):
        if not _reads_json(app, method, url):
            continue
        response = client.open(url, method=method, data=HOSTILE[kind], headers=auth,
                               content_type="application/json")
        assert response.status_code == 400, (method, url, response.status_code, response.get_data()[:300])
        assert response.mimetype == "application/problem+json"
        assert "not valid JSON" in response.get_json()["detail"]


def test_routes_without_a_body_ignore_a_deep_one(app, client, admin, ids):
    auth = _bearer(admin)
    for method, url in _write_routes(app, ids):
        if _reads_json(app, method, url):
            continue
        response = client.open(url, method=method, data=DEEP, headers=auth, content_type="application/json")
        assert response.status_code < 500, (method, url, response.status_code)


def test_a_duplicate_role_does_not_promote_anyone(client, admin, learner):
    response = client.patch(f"/api/v1/users/{learner.id}", data='{"role": "learner", "role": "admin"}',
                            headers=_bearer(admin), content_type="application/json")
    assert response.status_code == 400
    assert "Duplicate key 'role'" in response.get_json()["detail"]
    db.session.expire_all()
    assert db.session.get(User, learner.id).role == "learner"


def test_a_browser_session_gets_the_same_400(client, login_as, admin, ids):
    browser = login_as(admin)
    response = browser.patch(f"/api/v1/courses/{ids['courses']}", data=DEEP,
                             headers={"X-CSRFToken": browser.csrf_token}, content_type="application/json")
    assert response.status_code == 400


# ---- the incoming hook --------------------------------------------------------------------------------

@pytest.fixture
def hook():
    integration, secret = registry.create("incoming", {"name": "LMS", "create_users": True}, actor="test")
    registry.set_active(integration, True, actor="test")
    db.session.commit()
    return integration, secret


def _signed_post(client, integration, secret, body: str | bytes, msg_id: str):
    when = datetime.now(UTC)
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(int(when.timestamp())),
               "webhook-signature": _signature(secret, msg_id, when, body),
               "Content-Type": "application/json"}
    data = body if isinstance(body, bytes) else body.encode()
    return client.post(f"/hooks/in/{integration.incoming_token}", data=data, headers=headers)


def _signature(secret: str, msg_id: str, when: datetime, body: str | bytes) -> str:
    if isinstance(body, str):
        return Webhook(secret).sign(msg_id, when, body)
    # The package signs text only; bytes that are not UTF-8 are signed by hand, per the specification.
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{int(when.timestamp())}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_the_incoming_hook_refuses_hostile_json_with_400(client, hook, kind):
    integration, secret = hook
    response = _signed_post(client, integration, secret, HOSTILE[kind], f"msg_{abs(hash(kind))}")
    assert response.status_code == 400, response.get_data()[:300]
    assert response.get_json()["error"] == "malformed_json"
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(IncomingReceipt)) == 0


def test_the_incoming_hook_refuses_a_duplicate_email(client, hook):
    integration, secret = hook
    body = ('{"type": "completion.record", "data": {"email": "a@example.com", "email": "b@example.com", '
            '"course_code": "X"}}')
    response = _signed_post(client, integration, secret, body, "msg_dup")
    assert response.status_code == 400 and "Duplicate key 'email'" in response.get_json()["detail"]


def test_the_incoming_hook_refuses_a_score_too_large_for_a_float(client, hook):
    integration, secret = hook
    body = ('{"type": "completion.record", "data": {"email": "a@example.com", "course_code": "X", '
            '"name": "A", "score": 1' + "0" * 400 + "}}")
    response = _signed_post(client, integration, secret, body, "msg_big")
    assert response.status_code == 422 and "score" in response.get_json()["fields"]


# ---- JSON from the servers Laurel calls (Moodle, OAuth2 token endpoints) ----------------------------

def test_a_moodle_site_answering_deep_json_is_an_invalid_response():
    from app.connectors.moodle.client import MoodleClient, MoodleError
    from tests.support.receiver import Receiver, Reply

    with Receiver() as rx, MoodleClient(rx.url, "token", allow_private=True) as client:
        rx.script(Reply(200, body=DEEP, headers={"Content-Type": "application/json"}))
        with pytest.raises(MoodleError) as failed:
            client.site_info()
    assert failed.value.errorcode == "invalidresponse"


@pytest.mark.parametrize("body", [DEEP, '{"access_token": "t", "access_token": "u"}'])
def test_a_token_endpoint_answering_hostile_json_is_an_oauth2_error(body):
    import requests

    from app.connectors.oauth2 import ClientCredentials, OAuth2Error, TokenCache
    from tests.support.receiver import Receiver, Reply

    with Receiver() as rx:
        rx.script(Reply(200, body=body, headers={"Content-Type": "application/json"}))
        credentials = ClientCredentials(rx.url_for("/token"), "id", "secret", cache=TokenCache())
        with pytest.raises(OAuth2Error, match="did not answer JSON"):
            credentials.get_token(session_factory=requests.Session)


def test_a_token_lifetime_too_large_for_a_float_falls_back_to_the_default():
    import requests

    from app.connectors.oauth2 import ClientCredentials, TokenCache
    from tests.support.receiver import Receiver, Reply

    with Receiver() as rx:
        rx.script(Reply(200, body='{"access_token": "t", "expires_in": 1' + "0" * 400 + "}"))
        credentials = ClientCredentials(rx.url_for("/token"), "id", "secret", cache=TokenCache())
        assert credentials.get_token(session_factory=requests.Session) == "t"
