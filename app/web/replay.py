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
already sent, is taken back. A hit and a miss are kept alike, so a miss answers as fast as a hit.
"""

from __future__ import annotations

import contextlib
import re

import redis

from app.services.lifecycle.verification import GENERATION
from app.services.sharing import engagement
from app.web.caching import LocalAnswers, limit_and_generation, limit_settings

PRECHECKED = "laurel.replay.prechecked"  # environ: (over the limit?, generation) from our round trip
_OFFER = "laurel.replay.offer"  # environ, set by the view: (generation, certificate id, seconds)
_CANDIDATE = re.compile(r"^/verify/[A-Za-z0-9_-]{1,64}(?:\.json)?$")
_HEADERS_WE_DO_NOT_KEEP = {"set-cookie"}


class Kept:
    __slots__ = ("generation", "certificate_id", "status", "headers", "body")

    def __init__(self, generation: int, certificate_id: int | None, status: str, headers: list, body: bytes):
        self.generation, self.certificate_id = generation, certificate_id
        self.status, self.headers, self.body = status, headers, body


def offer(environ: dict, generation: int, certificate_id: int | None, seconds: float) -> None:
    """Called by the verify view for an answer that is the same for every anonymous visitor."""
    environ[_OFFER] = (generation, certificate_id, seconds)


class PublicReplay:
    def __init__(self, wsgi_app, flask_app, scope: str = "verify") -> None:
        self.wsgi_app, self.flask_app, self.scope = wsgi_app, flask_app, scope
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
        if not _CANDIDATE.match(path) or "HTTP_AUTHORIZATION" in environ:
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

        def count(pipe) -> None:
            engagement.count_in(pipe, kept.certificate_id, "view")

        config = self.flask_app.config
        settings = limit_settings(config, config.get("VERIFY_RATE_LIMIT", "60 per minute"), self.scope)
        try:
            over, generation = limit_and_generation(client, settings, environ.get("REMOTE_ADDR"),
                                                    GENERATION, also=count)
        except redis.RedisError:
            return None
        environ[PRECHECKED] = (over, generation)
        if over:
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
        if captured.get("status", "")[:3] in ("200", "404") and not any(
                name.lower() in _HEADERS_WE_DO_NOT_KEEP for name, _ in headers):
            self.kept.put(key, Kept(generation, certificate_id, captured["status"], list(headers), body),
                          seconds)
        return [body]


def install(app) -> None:
    """Wrap the app's WSGI callable (inside any middleware added later, e.g. a proxy fix)."""
    app.wsgi_app = PublicReplay(app.wsgi_app, app)
