"""Cache headers for public answers (verify and share pages): a proxy may keep them for a short time.

Answers to visitors without a session (`shareable()`) carry `Cache-Control: public, max-age=N` and an
ETag built from the answer's version (it changes on revoke, reinstate, renewal and expiry), and answer a
matching If-None-Match with 304. A signed-in visitor's page carries their navigation: it is never stored
by a shared cache. `LocalAnswers` keeps rendered answers in the process for a few seconds.
"""

from __future__ import annotations

import time
from functools import lru_cache

import redis
from flask import Response, current_app, request
from flask_login import current_user
from limits import parse_many
from werkzeug.exceptions import TooManyRequests


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


@lru_cache(maxsize=32)
def _limits(value: str) -> tuple:
    return tuple(parse_many(value))


def limited_generation(limit: str, scope: str, generation: str) -> int | None:
    """This IP's per-`limit` rate limit and the data's generation, in ONE Redis round trip.

    For the hottest public pages: Flask-Limiter spends ~1 ms of CPU and three round trips per request,
    as much as the rest of a cached answer. Fixed windows starting at an IP's first hit (the `limits`
    package's fixed-window, the app's default strategy), counted under RATELIMIT_KEY_PREFIX. Raises
    TooManyRequests (a 429 with Retry-After) over the limit; None when Redis is unreachable: no limit
    then, and the caller answers without its cache.
    """
    from app.queue import get_redis

    try:
        over, generation_now = limit_and_generation(
            get_redis(), limit_settings(current_app.config, limit, scope), request.remote_addr, generation)
        if generation_now is None:  # first use since Redis started: generations picks a random start
            from app.services.lifecycle import generations

            generation_now = generations.current(generation)
    except redis.RedisError:
        return None
    if over:
        raise too_many()
    return generation_now


def too_many() -> TooManyRequests:
    return TooManyRequests("Too many attempts. Wait a minute and try again.")


def limit_settings(config, limit: str, scope: str) -> tuple[str, tuple]:
    """(key prefix, parsed limits) for `limit_and_generation`, from the app's rate-limit settings."""
    items = _limits(limit) if config.get("RATELIMIT_ENABLED", True) else ()
    return f"{config.get('RATELIMIT_KEY_PREFIX', 'laurel-rl')}:{scope}", items


def limit_and_generation(client, settings: tuple[str, tuple], remote_addr: str | None, generation: str,
                         also=None) -> tuple[bool, int | None]:
    """One pipeline: the fixed windows of `settings` for this address, the generation, and whatever
    `also(pipe)` adds (its replies are not read). (over the limit?, the generation now or None when it
    has no value yet); raises RedisError."""
    from app.services.lifecycle import generations

    prefix, items = settings
    pipe = client.pipeline(transaction=False)
    for item in items:
        key = f"{prefix}:{remote_addr}:{item.amount}/{item.get_expiry()}"
        pipe.set(key, 0, ex=item.get_expiry(), nx=True)
        pipe.incr(key)
    pipe.get(generations.KEY.format(name=generation))
    if also is not None:
        also(pipe)
    results = pipe.execute()
    over = any(results[2 * number + 1] > item.amount for number, item in enumerate(items))
    raw = results[2 * len(items)]
    return over, (None if raw is None else int(raw))
