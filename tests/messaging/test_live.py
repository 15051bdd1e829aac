"""Live updates (app/live.py): announced on commit, streamed over SSE to the users allowed to see them.

Real Redis pub/sub (the run's Redis: a server or the embedded one); the stream is the generator the
`/live/stream` route returns, read as a browser would read it.
"""

from __future__ import annotations

import json
import threading

import pytest
import redis

from app import live
from app.extensions import db
from app.queue import get_redis
from app.services.messaging import notifications


def _listen(channel_client):
    pubsub = channel_client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(live.CHANNEL)
    pubsub.get_message(timeout=1)  # the subscribe confirmation
    return pubsub


def _published(pubsub, wait: float = 1.0) -> list[dict]:
    out = []
    while (message := pubsub.get_message(timeout=wait)) is not None:
        out.append(json.loads(message["data"]))
        wait = 0.2
    return out


def test_a_commit_publishes_each_topic_once_with_its_audience(learner, issue):
    pubsub = _listen(get_redis())
    issue(learner)  # certificate.issued: the certificates list (staff + the holder) and the tiles
    messages = _published(pubsub)
    topics = {m["topic"]: m for m in messages}
    assert set(topics) >= {"certificates", "tiles", "bell"}
    assert len(messages) == len(topics), "one message per topic per commit"
    # "departments": the holder's, so managers of it (or of a department above it) hear it too.
    assert topics["certificates"] == {"topic": "certificates", "staff": True, "users": [learner.id],
                                      "departments": [learner.department_id]}
    assert topics["tiles"]["users"] == [] and topics["tiles"]["staff"] is True
    assert topics["bell"] == {"topic": "bell", "staff": False, "users": [learner.id], "departments": []}


def test_a_rollback_or_a_released_savepoint_publishes_nothing(learner):
    pubsub = _listen(get_redis())
    with db.session.begin_nested():
        notifications.create(learner.id, "info", "Inside a savepoint")
    assert _published(pubsub, wait=0.3) == [], "the outer transaction has not committed yet"
    db.session.rollback()
    assert _published(pubsub, wait=0.3) == []
    notifications.create(learner.id, "info", "Committed")
    db.session.commit()
    assert [m["topic"] for m in _published(pubsub)] == ["bell"]


def test_unknown_topics_are_refused_and_foreign_messages_ignored():
    with pytest.raises(ValueError):
        live.announce(db.session, "everything")
    assert live.decode(b"not json") is None
    assert live.decode(json.dumps({"topic": "secrets", "staff": True})) is None
    assert live.decode(json.dumps({"topic": "bell", "users": ["x"]})) is None


def _collect(stream, into: list) -> threading.Thread:
    thread = threading.Thread(target=lambda: into.extend(stream), daemon=True)
    thread.start()
    return thread


def test_each_stream_carries_only_what_its_user_may_see(app, learner, make_user, issue):
    other = make_user("learner", email="other@example.com")
    admin = make_user("admin", email="boss@example.com")
    client = get_redis()
    heard: dict[str, list[str]] = {"learner": [], "other": [], "admin": []}
    streams = {"learner": live.stream(learner.id, False, lifetime=3, client=client),
               "other": live.stream(other.id, False, lifetime=3, client=client),
               "admin": live.stream(admin.id, True, lifetime=3, client=client)}
    for stream in streams.values():
        assert next(stream).startswith("retry: "), "subscribed before anything is announced"
    threads = [_collect(stream, heard[name]) for name, stream in streams.items()]

    issue(learner)
    for thread in threads:
        thread.join(timeout=10)

    def events(name):
        return {line.split(": ", 1)[1] for chunk in heard[name] for line in chunk.splitlines()
                if line.startswith("event: ")}

    assert events("learner") == {"certificates", "bell"}
    assert events("other") == set(), "another learner hears nothing of it"
    assert events("admin") == {"certificates", "tiles"}, "staff hear every list, not someone else's bell"


def test_the_stream_route_streams_for_users_and_answers_204_to_the_signed_out(app, client, login_as, learner):
    assert client.get("/live/stream").status_code == 204
    response = login_as(learner).get("/live/stream", buffered=False)  # ends after 5 s in tests (conftest)
    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    assert response.headers["Cache-Control"] == "no-store"
    assert next(response.response).startswith(b"retry: ")
    response.close()


def test_with_its_own_port_the_stream_lets_only_the_pages_origin_read_it(app, login_as, learner):
    app.config["LIVE_PORT"] = 5001
    try:
        user = login_as(learner)
        page = user.get("/", base_url="http://localhost:5000")
        assert 'sse-connect="http://localhost:5001/live/stream"' in page.get_data(as_text=True)
        assert "connect-src 'self' http://localhost:5001" in page.headers["Content-Security-Policy"]

        ours = user.get("/live/stream", base_url="http://localhost:5001",
                        headers={"Origin": "http://localhost:5000"}, buffered=False)
        assert ours.headers["Access-Control-Allow-Origin"] == "http://localhost:5000"
        assert ours.headers["Access-Control-Allow-Credentials"] == "true"
        ours.close()
        theirs = user.get("/live/stream", base_url="http://localhost:5001",
                          headers={"Origin": "http://localhost:8080"}, buffered=False)
        assert "Access-Control-Allow-Origin" not in theirs.headers
        theirs.close()
    finally:
        app.config["LIVE_PORT"] = None


def test_a_change_commits_even_when_redis_cannot_take_the_announcement(app, learner):
    saved = app.extensions["laurel_redis"]
    app.extensions["laurel_redis"] = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    try:
        notifications.create(learner.id, "info", "Redis is down")
        db.session.commit()  # the announcement fails after the commit: pages fall back to polling
    finally:
        app.extensions["laurel_redis"] = saved
    assert notifications.unread_count(learner.id) == 1
