"""A real HTTP receiver on loopback for webhook, connector and OAuth2 tests.

    with Receiver() as rx:
        rx.script(500, Reply(429, headers={"Retry-After": "1"}), 200)
        deliver_to(rx.url_for("/hook"))
        first, second, third = rx.wait_for(3, timeout=5)
        assert first.headers["webhook-id"] == third.headers["webhook-id"]

Scripted replies are used in order, one per request (token-endpoint requests excluded); when the
script runs out every request gets ``rx.default`` (200, empty body). A reply can be an int status,
a ``Reply`` (status, headers, body, delay), or a callable taking the ``Recorded`` request.

``rx.token_endpoint()`` turns one path into a tiny OAuth2 client-credentials endpoint that hands
out "token-1", "token-2", ... and counts calls in ``rx.token_calls``.

Runs ThreadingHTTPServer in a daemon thread on 127.0.0.1, port 0 (the OS picks a free port), so
many receivers can run in parallel and a slow handler never blocks the next request.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from requests.structures import CaseInsensitiveDict


@dataclass
class Recorded:
    """One request as the receiver saw it."""

    method: str
    path: str  # including the query string
    headers: CaseInsensitiveDict[str]
    body: bytes
    time: float  # time.time() when the request was fully read

    @property
    def route(self) -> str:
        """The path without the query string."""
        return urlsplit(self.path).path

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        """The body parsed as application/x-www-form-urlencoded (last value wins)."""
        return {k: v[-1] for k, v in parse_qs(self.body.decode(), keep_blank_values=True).items()}


@dataclass
class Reply:
    """A scripted response. ``delay`` sleeps before answering (to test timeouts)."""

    status: int = 200
    body: bytes | str | dict[str, Any] | list[Any] = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    def encoded(self) -> tuple[bytes, dict[str, str]]:
        """Return the body bytes and headers, JSON-encoding dict/list bodies."""
        headers = dict(self.headers)
        body = self.body
        if isinstance(body, dict | list):
            body = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            body = body.encode()
        return body, headers


ReplySpec = int | Reply | Callable[[Recorded], "int | Reply"]


@dataclass
class _TokenConfig:
    path: str
    expires_in: int | None
    client_id: str | None
    client_secret: str | None
    status: int = 200
    delay: float = 0.0


class Receiver:
    """Record requests and answer them from a script; see the module docstring."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.requests: list[Recorded] = []
        self.default: Reply = Reply(200)
        self.token_calls = 0
        self._script: deque[ReplySpec] = deque()
        self._token: _TokenConfig | None = None
        self._cond = threading.Condition()
        self._server = ThreadingHTTPServer((host, 0), _make_handler(self))
        self._server.daemon_threads = True  # a handler stuck in a delay must not block shutdown
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> Receiver:
        """Start serving in a background thread (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                            name=f"receiver-{self.port}", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- addresses -------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        """The TCP port the OS assigned."""
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Base URL with a trailing slash, e.g. ``http://127.0.0.1:40123/``."""
        return f"http://127.0.0.1:{self.port}/"

    def url_for(self, path: str) -> str:
        """Absolute URL for ``path`` on this receiver."""
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    # -- scripting -------------------------------------------------------------------------------
    def script(self, *replies: ReplySpec | list[ReplySpec]) -> Receiver:
        """Queue replies, used in order: ``rx.script(500, 200)`` or ``rx.script([500, 200])``."""
        with self._cond:
            for reply in replies:
                self._script.extend(reply if isinstance(reply, list) else [reply])
        return self

    def token_endpoint(
        self,
        path: str = "/oauth/token",
        *,
        expires_in: int | None = 3600,
        client_id: str | None = None,
        client_secret: str | None = None,
        status: int = 200,
        delay: float = 0.0,
    ) -> str:
        """Serve an OAuth2 token endpoint at ``path`` and return its URL.

        When ``client_id``/``client_secret`` are given, requests must authenticate with them
        (HTTP Basic or form fields) or get 401 ``invalid_client``. ``status`` != 200 makes every
        call fail with an OAuth2 error body. ``expires_in=None`` omits the field. ``delay`` slows every
        answer (to provoke concurrent fetches).
        """
        route = "/" + path.lstrip("/")
        self._token = _TokenConfig(route, expires_in, client_id, client_secret, status, delay)
        return self.url_for(path)

    # -- inspection ------------------------------------------------------------------------------
    def wait_for(self, n: int, timeout: float = 5.0) -> list[Recorded]:
        """Block until at least ``n`` requests arrived; return them (all, in arrival order)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.requests) < n:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [f"{r.method} {r.path}" for r in self.requests]
                    raise AssertionError(f"receiver got {len(seen)} request(s), expected {n}: {seen}")
                self._cond.wait(remaining)
            return list(self.requests)

    def reset(self) -> None:
        """Forget recorded requests, the script and the token counter."""
        with self._cond:
            self.requests.clear()
            self._script.clear()
            self.token_calls = 0

    # -- called from handler threads -------------------------------------------------------------
    def _record(self, recorded: Recorded) -> None:
        with self._cond:
            self.requests.append(recorded)
            self._cond.notify_all()

    def _reply_for(self, recorded: Recorded) -> Reply:
        if self._token is not None and recorded.route == self._token.path:
            return self._token_reply(recorded)
        with self._cond:
            spec = self._script.popleft() if self._script else self.default
        if callable(spec) and not isinstance(spec, Reply):
            spec = spec(recorded)
        return spec if isinstance(spec, Reply) else Reply(int(spec))

    def _token_reply(self, recorded: Recorded) -> Reply:
        config = self._token
        assert config is not None
        with self._cond:
            self.token_calls += 1
            number = self.token_calls
        if config.status != 200:
            return Reply(config.status, {"error": "server_error", "error_description": "scripted failure"})
        expected = (config.client_id, config.client_secret)
        if config.client_id is not None and _client_auth(recorded) != expected:
            return Reply(401, {"error": "invalid_client"}, headers={"WWW-Authenticate": "Basic"})
        if recorded.form().get("grant_type") != "client_credentials":
            return Reply(400, {"error": "unsupported_grant_type"})
        body: dict[str, Any] = {"access_token": f"token-{number}", "token_type": "Bearer"}
        if config.expires_in is not None:
            body["expires_in"] = config.expires_in
        return Reply(200, body, headers={"Cache-Control": "no-store"}, delay=config.delay)


def _client_auth(recorded: Recorded) -> tuple[str | None, str | None]:
    """Client credentials from HTTP Basic (RFC 6749 form-urlencoded) or from the form body."""
    header = recorded.headers.get("Authorization", "")
    if header.startswith("Basic "):
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return unquote(user.replace("+", " ")), unquote(password.replace("+", " "))
    form = recorded.form()
    return form.get("client_id"), form.get("client_secret")


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                handler.rfile.readline()  # trailing CRLF (trailers unsupported)
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


def _make_handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, like real receivers; we always send Content-Length

        def _handle(self) -> None:
            recorded = Recorded(self.command, self.path, CaseInsensitiveDict(dict(self.headers.items())),
                                _read_body(self), time.time())
            receiver._record(recorded)
            reply = receiver._reply_for(recorded)
            if reply.delay:
                time.sleep(reply.delay)
            body, headers = reply.encoded()
            try:
                self.send_response(reply.status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                # The client gave up (e.g. its timeout fired during our delay): nothing to do.
                self.close_connection = True

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            pass  # keep test output clean

    return Handler
