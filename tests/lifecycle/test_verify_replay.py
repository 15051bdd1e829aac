"""The replay of anonymous verify answers (app/web/replay.py): a repeated request is answered with the
bytes Flask sent before, after one Redis round trip, and never when the answer could differ."""

from __future__ import annotations

import pytest
import redis
from flask import request_started

from app.extensions import db
from app.services.lifecycle import revocation
from app.services.sharing import engagement
from app.tasks.sweep import recover_stuck_work

JSON = {"Accept": "application/json"}


@pytest.fixture
def cert(learner, earn):
    return earn(learner)


@pytest.fixture
def flask_ran(app):
    """How many requests reached Flask (a replayed answer never does)."""
    seen = []

    def started(sender, **extra):
        seen.append(1)

    request_started.connect(started, app)
    yield seen
    request_started.disconnect(started, app)


def _same(first, second) -> None:
    assert second.status_code == first.status_code and second.data == first.data
    assert sorted(second.headers.items()) == sorted(first.headers.items())


@pytest.mark.parametrize("path, headers", [("/verify/{code}", {}), ("/verify/{code}", JSON),
                                           ("/verify/{code}.json", {}), ("/verify/{missing}", {}),
                                           ("/verify/{missing}.json", {})])
def test_a_repeated_anonymous_request_is_replayed_byte_for_byte(client, cert, flask_ran, path, headers):
    address = path.format(code=cert.code, missing="z" * len(cert.code))
    first = client.get(address, headers=headers)
    flask_ran.clear()
    second = client.get(address, headers=headers)
    assert flask_ran == []  # hit and miss alike
    _same(first, second)
    assert "Set-Cookie" not in second.headers and second.headers["Cache-Control"] == "public, max-age=60"


def test_html_and_json_of_one_address_are_kept_apart(client, cert):
    html = client.get(f"/verify/{cert.code}")
    as_json = client.get(f"/verify/{cert.code}", headers=JSON)
    assert client.get(f"/verify/{cert.code}").data == html.data
    assert client.get(f"/verify/{cert.code}", headers=JSON).get_json() == as_json.get_json()
    assert html.mimetype == "text/html" and as_json.mimetype == "application/json"


def test_a_revoke_is_seen_by_the_very_next_request(client, cert, flask_ran):
    client.get(f"/verify/{cert.code}")
    client.get(f"/verify/{cert.code}")
    revocation.revoke(cert, "Exam fraud", actor="test")
    db.session.commit()
    flask_ran.clear()
    answer = client.get(f"/verify/{cert.code}")
    assert flask_ran == [1] and "Exam fraud" in answer.get_data(as_text=True)
    flask_ran.clear()
    again = client.get(f"/verify/{cert.code}")
    assert flask_ran == [] and again.data == answer.data


def test_every_view_is_counted_once_replayed_or_not(client, cert):
    for _ in range(4):
        assert client.get(f"/verify/{cert.code}").status_code == 200
    revocation.revoke(cert, "Exam fraud", actor="test")  # the next one falls through after our round trip
    db.session.commit()
    assert client.get(f"/verify/{cert.code}").status_code == 200
    recover_stuck_work()
    db.session.expire_all()
    assert engagement.totals(cert.id)["view"] == 5


def test_the_rate_limit_holds_and_refused_requests_are_not_counted(app, client, cert):
    app.config["VERIFY_RATE_LIMIT"] = "3 per minute"
    try:
        answers = [client.get(f"/verify/{cert.code}").status_code for _ in range(6)]
    finally:
        app.config.pop("VERIFY_RATE_LIMIT")
    assert answers == [200, 200, 200, 429, 429, 429]
    later = client.get(f"/verify/{cert.code}")  # under the default limit (a window of its own) again
    assert later.status_code == 200
    recover_stuck_work()
    db.session.expire_all()
    assert engagement.totals(cert.id)["view"] == 4


@pytest.mark.parametrize("how", ["session cookie", "remember cookie", "query string", "conditional",
                                 "authorization", "head"])
def test_what_could_differ_always_goes_to_flask(client, cert, flask_ran, how):
    address = f"/verify/{cert.code}"
    first = client.get(address)
    flask_ran.clear()
    if how == "session cookie":
        client.set_cookie("session", "anything")
        response = client.get(address)
        assert response.headers["Cache-Control"] == "private, no-cache"
    elif how == "remember cookie":
        client.set_cookie("remember_token", "1|anything")
        client.get(address)
    elif how == "query string":
        client.get(address + "?utm_source=qr")
    elif how == "conditional":
        assert client.get(address, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    elif how == "authorization":
        client.get(address, headers={"Authorization": "Bearer nothing"})
    else:
        client.head(address)
    assert flask_ran == [1]


def test_without_redis_flask_answers(app, client, cert, flask_ran, monkeypatch):
    client.get(f"/verify/{cert.code}")
    broken = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    monkeypatch.setitem(app.extensions, "laurel_redis", broken)
    flask_ran.clear()
    answer = client.get(f"/verify/{cert.code}")
    assert answer.status_code == 200 and flask_ran == [1]


def test_hostile_addresses_never_reach_the_replay_and_never_fail(client, cert):
    for address in (f"/verify/{cert.code}%00", "/verify/" + "a" * 5000, "/verify/%2e%2e%2fetc",
                    f"/verify/{cert.code}/", "/verify/\u202e" + cert.code):
        assert client.get(address).status_code < 500
        assert client.get(address).status_code < 500


def test_the_old_share_link_is_replayed_with_its_own_limit_and_no_view(app, client, cert, flask_ran):
    first = client.get(f"/s/{cert.code}")
    assert first.status_code == 301 and first.headers["Location"].endswith(f"/verify/{cert.code}")
    flask_ran.clear()
    again = client.get(f"/s/{cert.code}")
    assert flask_ran == [] and again.status_code == 301 and again.headers == first.headers
    app.config["SHARE_RATE_LIMIT"] = "3 per minute"
    try:
        answers = [client.get(f"/s/{cert.code}").status_code for _ in range(5)]
    finally:
        app.config.pop("SHARE_RATE_LIMIT")
    assert answers == [301, 301, 301, 429, 429]  # a window of its own (the limit is part of its key)
    recover_stuck_work()
    db.session.expire_all()
    assert engagement.totals(cert.id)["view"] == 0  # the redirect is not a view; following it would be
