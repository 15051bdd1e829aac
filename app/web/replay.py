"""Replay of public verify answers: a repeated anonymous GET is answered before Flask runs.

The verify page is the hottest public address (every QR scan). For a visitor without a session its
answer is the same bytes for everyone until the "verify" generation moves (revoke, reinstate, renewal,
branding) or LOCAL_SECONDS pass (expiry moves with the clock). Flask's request machinery (context,
hooks, login, headers) costs several times what the answer itself does, so this WSGI middleware keeps
the final status, headers and body Flask sent for such a request and sends them again for the next
identical one, after the ONE Redis round trip the page makes anyway: this address's rate limit, the
generation and the view count. Everything else goes to Flask unchanged:

- a method other than GET, a query string, a session or remember-me cookie, an Authorization header or
  a conditional request (If-None-Match: Flask answers the 304);
- the first request for an address and Accept header in this process, and one whose generation moved
  (Flask renders it and, when the view offers it with `offer()`, the middleware keeps the new bytes);
- Redis unreachable (Flask answers without caches, as it does today).

A request over the limit goes to Flask marked so that the view raises the same 429 page; its view count,
already sent, is taken back. A hit and a miss are kept alike, so a miss answers as fast as a hit. The old
share link `/s/<code>` (a 301 to the verify page, the same for everyone) is replayed the same way, with
its own limit and no view count (ROUTES).
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass

import redis
from flask import request

from app.services.lifecycle import generations
from app.services.lifecycle.verification import GENERATION
from app.services.sharing import engagement
from app.web.caching import LocalAnswers, limit_settings, limited_generation, too_many
from app.web.caching import limit_and_generation as pipeline_limit_and_generation

PRECHECKED = "laurel.replay.prechecked"  # environ: (over the limit?, generation) from our round trip
_OFFER = "laurel.replay.offer"  # environ, set by the view: (generation, certificate id, seconds)
_HEADERS_WE_DO_NOT_KEEP = {"set-cookie"}
_KEPT_STATUSES = ("200", "301", "404")


@dataclass(frozen=True)
class Route:
    """An address whose anonymous answers may be replayed: its rate limit (setting, default) and scope (the
    view's limited_generation uses the same, so both paths count against one window), and whether a
    replayed answer counts a certificate view."""

    pattern: re.Pattern
    scope: str
    limit_setting: str
    default_limit: str
    counts_views: bool


ROUTES = (
    Route(re.compile(r"^/verify/[A-Za-z0-9_-]{1,64}(?:\.json)?$"), "verify", "VERIFY_RATE_LIMIT",
          "60 per minute", True),
    # The old share link: a 301 to the verify page (which counts the view when it is followed).
    Route(re.compile(r"^/s/[A-Za-z0-9_-]{1,64}$"), "share", "SHARE_RATE_LIMIT", "120 per minute", False),
)


class Kept:
    __slots__ = ("generation", "certificate_id", "status", "headers", "body", "route")

    def __init__(self, generation: int, certificate_id: int | None, status: str, headers: list, body: bytes,
                 route: Route):
        self.generation, self.certificate_id = generation, certificate_id
        self.status, self.headers, self.body, self.route = status, headers, body, route


def offer(environ: dict, generation: int, certificate_id: int | None, seconds: float) -> None:
    """Called by the verify view for an answer that is the same for every anonymous visitor."""
    environ[_OFFER] = (generation, certificate_id, seconds)


def limit_and_generation(limit: str, scope: str) -> tuple[int | None, bool]:
    """For a replayable view: (the data's generation, was this request's view counted already?). The
    per-IP limit and the generation come in one Redis round trip (raises the 429): the view's own, or the
    middleware's, which already counted the view in it."""
    prechecked = request.environ.get(PRECHECKED)
    if prechecked is None:
        return limited_generation(limit, scope, GENERATION), False
    over, generation = prechecked
    if over:
        raise too_many()
    if generation is None:  # Redis had none yet: generations picks a random start
        try:
            generation = generations.current(GENERATION)
        except redis.RedisError:
            generation = None
    return generation, True


class PublicReplay:
    def __init__(self, wsgi_app, flask_app) -> None:
        self.wsgi_app, self.flask_app = wsgi_app, flask_app
        self.kept = LocalAnswers()

    def __call__(self, environ: dict, start_response):
        key = self._key(environ)
        if key is None:
            return self.wsgi_app(environ, start_response)
        kept = self.kept.get(key)
        if kept is not None:
            answer = self._replay(environ, start_response, kept)
            if answer is not None:
                return answer
        return self._through_flask(environ, start_response, key)

    # ------------------------------------------------------------------------------------------ lookup

    def _key(self, environ: dict) -> tuple | None:
        if environ.get("REQUEST_METHOD") != "GET" or environ.get("QUERY_STRING"):
            return None
        path = environ.get("PATH_INFO", "")
        if not any(route.pattern.match(path) for route in ROUTES) or "HTTP_AUTHORIZATION" in environ:
            return None
        if "HTTP_IF_NONE_MATCH" in environ or "HTTP_IF_MODIFIED_SINCE" in environ:
            return None
        cookies = environ.get("HTTP_COOKIE")
        if cookies and any(f"{name}=" in cookies for name in self._cookie_names()):
            return None
        return path, environ.get("HTTP_ACCEPT", "")

    def _cookie_names(self) -> tuple[str, str]:
        config = self.flask_app.config
        return (config.get("SESSION_COOKIE_NAME", "session"),
                config.get("REMEMBER_COOKIE_NAME", "remember_token"))

    def _replay(self, environ: dict, start_response, kept: Kept):
        client = self.flask_app.extensions.get("laurel_redis")  # app.queue.get_redis's client, once made
        if client is None:
            return None

        route = kept.route

        def count(pipe) -> None:
            engagement.count_in(pipe, kept.certificate_id, "view")

        config = self.flask_app.config
        settings = limit_settings(config, config.get(route.limit_setting, route.default_limit), route.scope)
        try:
            over, generation = pipeline_limit_and_generation(
                client, settings, environ.get("REMOTE_ADDR"), GENERATION,
                also=count if route.counts_views else None)
        except redis.RedisError:
            return None
        environ[PRECHECKED] = (over, generation)
        if over:
            if route.counts_views:
                self._take_back(client, kept.certificate_id)
            return None
        if generation != kept.generation:
            return None  # Flask renders the new answer; the view has been counted already
        start_response(kept.status, list(kept.headers))
        return [kept.body]

    def _take_back(self, client, certificate_id: int | None) -> None:
        with contextlib.suppress(redis.RedisError):
            engagement.count_in(client, certificate_id, "view", by=-1)

    # ------------------------------------------------------------------------------------------- keep

    def _through_flask(self, environ: dict, start_response, key: tuple):
        captured: dict = {}

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return start_response(status, headers, exc_info)

        answer = self.wsgi_app(environ, capture)
        offered = environ.get(_OFFER)
        if offered is None:
            return answer
        try:
            body = b"".join(answer)  # a verify answer is a few kilobytes, already rendered
        finally:
            if hasattr(answer, "close"):
                answer.close()
        generation, certificate_id, seconds = offered
        headers = captured.get("headers") or []
        route = next(r for r in ROUTES if r.pattern.match(key[0]))
        if captured.get("status", "")[:3] in _KEPT_STATUSES and not any(
                name.lower() in _HEADERS_WE_DO_NOT_KEEP for name, _ in headers):
            kept = Kept(generation, certificate_id, captured["status"], list(headers), body, route)
            self.kept.put(key, kept, seconds)
        return [body]


def install(app) -> None:
    """Wrap the app's WSGI callable (inside any middleware added later, e.g. a proxy fix)."""
    app.wsgi_app = PublicReplay(app.wsgi_app, app)
