"""A request's answer never depends on the database after its commit.

By default SQLAlchemy expires every loaded row at commit, so building the response afterwards (the API's
`commit(); return data(item)`, a view rendering the row it just saved) reads everything again. If the
database goes away right then (a restart, a failover, a dropped connection), a change that *was* saved
answers 500, and the client retries something that happened. During a request the session keeps what it
loaded and wrote instead (it is what was committed); the request's end expires it as usual, so nothing
stale outlives the request.
"""

from __future__ import annotations

from typing import TypeVar

from flask import Flask

from app.extensions import db

T = TypeVar("T")


def init_app(app: Flask) -> None:
    app.before_request(_keep_state_on_commit)
    app.teardown_request(_expire_after_request)


def _keep_state_on_commit() -> None:
    db.session().expire_on_commit = False


def _expire_after_request(_exc: BaseException | None) -> None:
    session = db.session()
    session.expire_on_commit = True
    session.expire_all()  # a session shared beyond the request (tests, CLI) then reads afresh


def commit_with(response: T) -> T:
    """Commit, then return `response`, built *before* the commit by the caller's argument expression:
    `return commit_with(render_template(...))`. For views whose answer runs queries (lists, history,
    counts): they run inside the transaction, so a database lost right after the commit cannot turn a
    saved change into a 500."""
    db.session.commit()
    return response
