"""Issue #11 item 1: one outgoing-address policy (app/connectors/egress.py) for every connection an admin
can point Laurel at, checked when saved (4xx naming OUTGOING_ALLOW_PRIVATE) and again at connect time.

Places: generic webhook URL, Slack webhook URL, OAuth2 token URL, Moodle site URL, S3 endpoint URL (CSV
drop and PDF export), SQL source database URL. Real receiver, real moto S3 server, real TCP listeners.
"""

from __future__ import annotations

import ipaddress
import socket

import pytest

from app.config import load_config
from app.connectors import egress, s3_bucket
from app.extensions import db
from app.services.accounts import tokens
from app.services.errors import ValidationError
from app.services.integrations import locations, moodle, registry, syncs, webhooks
from tests.support import s3

REFUSED_HOSTS = [
    "127.0.0.1",
    "localhost",  # a name whose DNS answer is loopback
    "::1",
    "::ffff:127.0.0.1",  # IPv4-mapped IPv6
    "0.0.0.0",  # noqa: S104 - a target to refuse, not a bind
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "fe80::1",
    "100.64.0.1",
    "2130706433",  # 127.0.0.1 spelled as one number
    "0177.0.0.1",  # ... in octal
    "127.1",  # ... shortened
    "::",  # the IPv6 unspecified address
    "fd00::1",  # IPv6 unique-local (private)
]


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


@pytest.fixture
def strict(app, monkeypatch):
    """The production default: both spellings of the switch off."""
    monkeypatch.setitem(app.config, "OUTGOING_ALLOW_PRIVATE", False)
    monkeypatch.setitem(app.config, "WEBHOOKS_ALLOW_PRIVATE", False)


# --------------------------------------------------------------------------- the policy itself


@pytest.mark.parametrize("host", REFUSED_HOSTS)
def test_policy_refuses_non_public_addresses_naming_the_setting(host):
    with pytest.raises(egress.AddressRefused, match="OUTGOING_ALLOW_PRIVATE"):
        egress.check_host(host, 443, allow_private=False)
    assert egress.check_host(host, 443, allow_private=True)


def test_policy_accepts_public_addresses():
    assert egress.check_host("93.184.215.14", 443, allow_private=False) == [
        ipaddress.ip_address("93.184.215.14")
    ]


def test_setting_is_outgoing_allow_private_with_the_old_name_as_alias(tmp_path):
    assert load_config(tmp_path, {})["OUTGOING_ALLOW_PRIVATE"] is False
    assert load_config(tmp_path, {"OUTGOING_ALLOW_PRIVATE": "true"})["OUTGOING_ALLOW_PRIVATE"] is True
    assert load_config(tmp_path, {"WEBHOOKS_ALLOW_PRIVATE": "true"})["OUTGOING_ALLOW_PRIVATE"] is True
    both = {"OUTGOING_ALLOW_PRIVATE": "false", "WEBHOOKS_ALLOW_PRIVATE": "true"}
    assert load_config(tmp_path, both)["OUTGOING_ALLOW_PRIVATE"] is False  # the new name wins
    assert egress.private_allowed({"WEBHOOKS_ALLOW_PRIVATE": True})  # set at run time by old code


# --------------------------------------------------------------------------- at save time, every place

SAVE_CASES = {
    "generic_webhook url": ("generic_webhook", "url", lambda h: {"url": f"http://{h}/hook",
                                                                   "event_types": ["ping"]}),
    "slack webhook_url": ("slack", "webhook_url", lambda h: {"webhook_url": f"https://{h}/services/x",
                                                            "event_types": ["ping"]}),
    "teams webhook_url": ("teams", "webhook_url", lambda h: {"webhook_url": f"https://{h}/webhook",
                                                            "event_types": ["ping"]}),
    "discord webhook_url": ("discord", "webhook_url", lambda h: {"webhook_url": f"https://{h}/api/webhooks/1/x",
                                                                "event_types": ["ping"]}),
    "oauth2 token_url": ("generic_webhook", "token_url", lambda h: {
        "url": "https://93.184.215.14/hook", "event_types": ["ping"], "auth_type": "oauth2",
        "token_url": f"https://{h}/token", "client_id": "c", "client_secret": "s"}),
    "moodle site_url": ("moodle", "site_url", lambda h: {"site_url": f"https://{h}/", "moodle_token": "t"}),
    "file_drop endpoint_url": ("file_drop", "endpoint_url", lambda h: {
        "location": "s3", "bucket": "laurel-drop", "endpoint_url": f"http://{h}:9000",
        "access_key_id": "k", "secret_access_key": "s"}),
    "pdf_export endpoint_url": ("pdf_export", "endpoint_url", lambda h: {
        "location": "s3", "bucket": "laurel-pdfs", "endpoint_url": f"http://{h}:9000",
        "access_key_id": "k", "secret_access_key": "s"}),
    "sql database_url": ("sql", "database_url", lambda h: {
        "database_url": f"postgresql://ro:pw@{h}:5432/hr", "query": "SELECT 1"}),
}


@pytest.mark.parametrize("case", SAVE_CASES)
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "::ffff:127.0.0.1",
                                  "0.0.0.0", "10.0.0.5", "169.254.169.254"])  # noqa: S104
def test_every_outgoing_setting_is_checked_when_saved(strict, case, host):
    kind, field, fields = SAVE_CASES[case]
    with pytest.raises(ValidationError) as caught:
        registry.create(kind, {"name": "x", **fields(_url_host(host))}, actor="test")
    assert "OUTGOING_ALLOW_PRIVATE" in caught.value.errors[field]
    db.session.rollback()
    assert db.session.scalars(registry.integration_query()).all() == []


def _api_headers(user) -> dict:
    _, secret = tokens.create_token(user, "test")
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


@pytest.mark.parametrize("case", SAVE_CASES)
def test_api_answers_422_with_the_field_and_creates_nothing(strict, client, admin, case):
    kind, field, fields = SAVE_CASES[case]
    auth = _api_headers(admin)
    answer = client.post("/api/v1/integrations", headers=auth,
                         json={"type": kind, "name": "x", **fields("127.0.0.1")})
    assert answer.status_code == 422, answer.get_json()
    assert "OUTGOING_ALLOW_PRIVATE" in answer.get_json()["errors"][field]
    assert client.get("/api/v1/integrations", headers=auth).get_json()["items"] == []


def test_console_form_re_renders_with_the_error(strict, admin, login_as):
    client = login_as(admin)
    answer = client.post("/integrations/new/sql", data={
        "csrf_token": client.csrf_token, "name": "HR", "database_url": "postgresql://ro:pw@[::1]/hr",
        "query": "SELECT 1"})
    assert answer.status_code == 422
    assert "OUTGOING_ALLOW_PRIVATE" in answer.get_data(as_text=True)
    assert db.session.scalars(registry.integration_query()).all() == []


# --------------------------------------------------------------------------- at connect time, every place


def _turn_off(app, monkeypatch) -> None:
    """The integration was saved while private addresses were allowed; the switch is off now."""
    monkeypatch.setitem(app.config, "OUTGOING_ALLOW_PRIVATE", False)
    monkeypatch.setitem(app.config, "WEBHOOKS_ALLOW_PRIVATE", False)


def test_webhook_and_slack_are_refused_at_connect_time(app, receiver, make_webhook, monkeypatch):
    hook, _ = make_webhook(receiver.url_for("/hook"), events=["ping"])
    slack, _ = make_webhook(receiver.url_for("/slack"), events=["ping"], kind="slack")
    _turn_off(app, monkeypatch)
    for integration in (hook, slack):
        result = webhooks.send_test(integration, actor="test")
        assert not result["ok"] and "OUTGOING_ALLOW_PRIVATE" in result["error"]
    assert receiver.requests == []


def test_oauth2_token_url_is_refused_at_connect_time(app, receiver, make_webhook, monkeypatch):
    token_url = receiver.token_endpoint()
    integration, _ = make_webhook("https://93.184.215.14/hook", events=["ping"], auth_type="oauth2",
                                  token_url=token_url, client_id="c", client_secret="s")
    _turn_off(app, monkeypatch)
    result = webhooks.send_test(integration, actor="test")
    assert not result["ok"] and "Authentication failed" in result["error"]
    assert "OUTGOING_ALLOW_PRIVATE" in result["error"]
    assert receiver.requests == []


def test_moodle_is_refused_at_connect_time(app, receiver, allow_private, monkeypatch):
    integration, _ = registry.create(
        "moodle", {"name": "LMS", "site_url": receiver.url, "moodle_token": "t"}, actor="test"
    )
    db.session.commit()
    _turn_off(app, monkeypatch)
    result = moodle.test(integration)
    assert not result["ok"] and "OUTGOING_ALLOW_PRIVATE" in result["error"]
    assert receiver.requests == []


@pytest.mark.parametrize("kind", ["file_drop", "pdf_export"])
def test_s3_endpoint_is_refused_at_connect_time(app, s3_endpoint, bucket, monkeypatch, kind):
    integration, _ = registry.create(kind, {
        "name": "Bucket", "location": "s3", "bucket": bucket, "endpoint_url": s3_endpoint,
        "region": s3.REGION, "access_key_id": s3.KEY_ID, "secret_access_key": s3.SECRET}, actor="test")
    db.session.commit()
    assert syncs.test(integration)["ok"]
    _turn_off(app, monkeypatch)
    result = syncs.test(integration)
    assert not result["ok"] and "OUTGOING_ALLOW_PRIVATE" in result["error"]


def test_s3_client_rechecks_before_every_request(s3_endpoint, bucket):
    """Even a client built while the endpoint passed (DNS changed since) checks each request."""
    settings = s3_bucket.BucketSettings(bucket=bucket, endpoint_url=s3_endpoint, region=s3.REGION,
                                        access_key_id=s3.KEY_ID, secret_access_key=s3.SECRET)
    with pytest.raises(s3_bucket.BucketError, match="OUTGOING_ALLOW_PRIVATE"):
        s3_bucket.S3Target(settings).put("x.pdf", b"%PDF", "application/pdf")
    assert "x.pdf" not in {o["Key"] for o in s3.client(s3_endpoint).list_objects_v2(Bucket=bucket)
                           .get("Contents", [])}
    allowed = s3_bucket.BucketSettings(**{**settings.__dict__, "allow_private": True})
    assert s3_bucket.S3Target(allowed).put("x.pdf", b"%PDF", "application/pdf").endswith("x.pdf")


def test_s3_endpoint_check_endpoint_refuses_metadata(strict):
    with pytest.raises(s3_bucket.BucketError, match="OUTGOING_ALLOW_PRIVATE"):
        locations.check_endpoint("http://169.254.169.254/")


@pytest.fixture
def listener():
    """A real TCP listener on loopback (port in this engineer's range if free) that records accepts."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(False)
    yield sock
    sock.close()


def _accepted(sock: socket.socket) -> bool:
    try:
        conn, _ = sock.accept()
    except BlockingIOError:
        return False
    conn.close()
    return True


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens once the socket is closed


def test_sql_source_is_refused_before_connecting_open_and_closed_ports_look_the_same(
    app, allow_private, listener, monkeypatch
):
    open_port, closed_port = listener.getsockname()[1], _closed_port()
    made = []
    for port in (open_port, closed_port):
        integration, _ = registry.create(
            "sql", {"name": f"p{port}", "database_url": f"postgresql://ro:pw@127.0.0.1:{port}/hr",
                    "query": "SELECT email, course_code FROM t"}, actor="test")
        made.append(integration)
    db.session.commit()
    _turn_off(app, monkeypatch)
    results = [syncs.test(i) for i in made]
    assert not results[0]["ok"] and "OUTGOING_ALLOW_PRIVATE" in results[0]["error"]
    # Same words for the open and the closed port (only the port number differs), and no connect.
    ports = (open_port, closed_port)
    first, second = (r["error"].replace(str(p), "P") for r, p in zip(results, ports, strict=True))
    assert first == second
    assert not _accepted(listener)


def test_sql_source_run_is_refused_at_connect_time(app, allow_private, listener, monkeypatch, jobs):
    port = listener.getsockname()[1]
    integration, _ = registry.create(
        "sql", {"name": "HR", "database_url": f"postgresql://ro:pw@localhost:{port}/hr",
                "query": "SELECT email, course_code FROM t"}, actor="test")
    registry.set_active(integration, True, actor="test")
    db.session.commit()
    _turn_off(app, monkeypatch)
    syncs.enqueue(integration, "manual")
    db.session.commit()
    jobs()
    from sqlalchemy import select

    from app.models.integration import SyncRun

    run = db.session.scalars(select(SyncRun)).one()
    assert run.status == "failed" and "OUTGOING_ALLOW_PRIVATE" in run.message
    assert not _accepted(listener)


def test_moodle_client_built_without_a_session_follows_the_policy_too(receiver):
    from app.connectors.moodle import MoodleClient, MoodleError

    with MoodleClient(receiver.url, "t", timeout=5) as client, pytest.raises(MoodleError) as caught:
        client.site_info()
    assert "OUTGOING_ALLOW_PRIVATE" in caught.value.plain_message
    assert receiver.requests == []
