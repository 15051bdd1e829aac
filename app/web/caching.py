"""Cache headers for public answers (verify and share pages): a proxy may keep them for a short time.

Answers to visitors without a session (`shareable()`) carry `Cache-Control: public, max-age=N` and an
ETag built from the answer's version (it changes on revoke, reinstate, renewal and expiry), and answer a
matching If-None-Match with 304. A signed-in visitor's page carries their navigation: it is never stored
by a shared cache. `LocalAnswers` keeps rendered answers in the process for a few seconds.
"""

from __future__ import annotations

import time

from flask import Response, current_app, request
from flask_login import current_user


def shareable() -> bool:
    """True when the answer is the same for every visitor: no session (a signed-in user's navigation, an
    anonymous visitor's pending flash message) and nobody signed in by a remember-me cookie."""
    if request.cookies.get(current_app.config.get("SESSION_COOKIE_NAME", "session")):
        return False
    return not current_user.is_authenticated


def public_answer(response: Response, version: str, variant: str) -> Response:
    """Set the cache headers on `response` (`variant` tells apart representations of one URL)."""
    if not shareable():
        response.headers["Cache-Control"] = "private, no-cache"
        return response
    seconds = current_app.config.get("VERIFY_CACHE_SECONDS", 60)
    response.headers["Cache-Control"] = f"public, max-age={seconds}" if seconds else "no-cache"
    response.set_etag(f"{variant}-{version}")
    return response.make_conditional(request)


class LocalAnswers:
    """A small per-process cache of rendered public answers: {key: (expires at, value)}, oldest out first.

    For answers that are the same for every anonymous visitor. Callers put the data's generation in the
    key (app/services/lifecycle/generations.py), so a change anywhere makes the entry unreachable at once;
    `seconds` bounds what moves with the clock alone. Hits and misses are cached alike: a code asked for
    twice answers as fast the second time whether or not it exists.
    """

    def __init__(self, max_entries: int = 4096) -> None:
        self.max_entries = max_entries
        self._entries: dict = {}

    def get(self, key):
        entry = self._entries.get(key)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, key, value, seconds: float) -> None:
        if seconds <= 0:
            return
        if len(self._entries) >= self.max_entries:  # dicts keep insertion order: drop the oldest tenth
            for old in list(self._entries)[: self.max_entries // 10 or 1]:
                self._entries.pop(old, None)
        self._entries[key] = (time.monotonic() + seconds, value)

    def clear(self) -> None:
        self._entries.clear()
