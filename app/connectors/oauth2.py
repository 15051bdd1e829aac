"""Outgoing request authentication: none, API key, bearer, basic, OAuth2 client credentials.

OAuth2 tokens are cached process-wide per (token_url, client_id, scope) until shortly before they
expire, because delivery jobs rebuild ``ClientCredentials`` from the database on every attempt and
must not fetch a new token each time. The cache is thread-safe and one fetch per key is in flight
at a time (no stampede when many deliveries start together).
"""

from __future__ import annotations

import base64
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests

from app import strict_json
from app.connectors.http import DEFAULT_TIMEOUT, make_session, read_capped

AUTH_TYPES = ("none", "api_key", "bearer", "basic", "oauth2")
DEFAULT_API_KEY_HEADER = "X-API-Key"
DEFAULT_TTL = 300.0  # when the server omits expires_in (allowed by RFC 6749 §5.1)
LEEWAY = 60.0  # refresh this long before expiry, so a token doesn't expire in flight
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # RFC 9110 token

SessionFactory = Callable[[], requests.Session]
Clock = Callable[[], float]


class OAuth2Error(Exception):
    """The token endpoint refused us or answered something that is not a usable token."""


class AuthConfigError(ValueError):
    """An integration's auth settings are incomplete or invalid."""


@dataclass
class _Entry:
    token: str
    expires_at: float


class TokenCache:
    """Thread-safe token cache; one per process by default, a fresh one per test if wanted."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str, str | None], _Entry] = {}
        self._locks: dict[tuple[str, str, str | None], threading.Lock] = {}
        self._guard = threading.Lock()

    def lock_for(self, key: tuple[str, str, str | None]) -> threading.Lock:
        """Return the per-key lock serialising fetches for one credential."""
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def get(self, key: tuple[str, str, str | None], now: float) -> str | None:
        """Return a cached token still valid at ``now``, else None."""
        entry = self._entries.get(key)
        return entry.token if entry and entry.expires_at > now else None

    def put(self, key: tuple[str, str, str | None], token: str, expires_at: float) -> None:
        """Store ``token`` until ``expires_at`` (clock seconds)."""
        self._entries[key] = _Entry(token, expires_at)

    def invalidate(self, key: tuple[str, str, str | None]) -> None:
        """Forget a token (e.g. after the API answered 401 with it)."""
        self._entries.pop(key, None)

    def clear(self) -> None:
        """Forget every token."""
        self._entries.clear()


DEFAULT_CACHE = TokenCache()


def _basic(user: str, password: str) -> str:
    raw = f"{user}:{password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


class ClientCredentials:
    """OAuth2 client-credentials grant (RFC 6749 §4.4) with token caching.

    ``auth_method``: "basic" (default, RFC 6749 §2.3.1: HTTP Basic over the form-urlencoded id and
    secret) or "post" (client_id/client_secret in the form body, for servers that need it).
    ``clock`` is a monotonic-style seconds function, injectable for tests.
    """

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        scope: str | None = None,
        *,
        auth_method: str = "basic",
        cache: TokenCache | None = None,
        clock: Clock = time.monotonic,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        if auth_method not in ("basic", "post"):
            raise AuthConfigError("OAuth2 client auth method must be 'basic' or 'post'")
        if not (token_url and client_id and client_secret):
            raise AuthConfigError("OAuth2 needs a token URL, a client id and a client secret")
        self.token_url = token_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.scope = scope or None
        self.auth_method = auth_method
        self.cache = cache or DEFAULT_CACHE
        self.clock = clock
        self.timeout = timeout

    @property
    def cache_key(self) -> tuple[str, str, str | None]:
        """The key tokens are cached under."""
        return (self.token_url, self.client_id, self.scope)

    def get_token(self, session_factory: SessionFactory = make_session) -> str:
        """Return a valid access token, fetching one with a session from ``session_factory`` if
        the cached one is missing or about to expire. Raises ``OAuth2Error``."""
        key = self.cache_key
        token = self.cache.get(key, self.clock())
        if token:
            return token
        with self.cache.lock_for(key):
            # Another thread may have fetched it while we waited for the lock.
            token = self.cache.get(key, self.clock())
            if token:
                return token
            token, ttl = self._fetch(session_factory)
            # Refresh early, but never spend more than half the lifetime of a short-lived token.
            self.cache.put(key, token, self.clock() + ttl - min(LEEWAY, ttl / 2))
            return token

    def invalidate(self) -> None:
        """Drop the cached token (call when the API rejects it with 401)."""
        self.cache.invalidate(self.cache_key)

    def _request_parts(self) -> tuple[dict[str, str], dict[str, str]]:
        form = {"grant_type": "client_credentials"}
        if self.scope:
            form["scope"] = self.scope
        headers = {"Accept": "application/json"}
        if self.auth_method == "basic":
            # RFC 6749 §2.3.1: form-urlencode id and secret before Basic encoding.
            user, password = quote(self.client_id, safe=""), quote(self.client_secret, safe="")
            headers["Authorization"] = _basic(user, password)
        else:
            form.update(client_id=self.client_id, client_secret=self.client_secret)
        return form, headers

    def _fetch(self, session_factory: SessionFactory) -> tuple[str, float]:
        form, headers = self._request_parts()
        with session_factory() as session:
            try:
                response = session.post(
                    self.token_url, data=form, headers=headers, timeout=self.timeout,
                    allow_redirects=False, stream=True,
                )
                read_capped(response, deadline=time.monotonic() + self.timeout)
            except requests.RequestException as exc:
                raise OAuth2Error(f"token request to {self.token_url} failed: {exc}") from exc
        return _parse_token_response(response, self.token_url)


def _error_detail(response: requests.Response) -> str:
    try:
        data = strict_json.loads(response.content)  # deep nesting refused (ValueError), never RecursionError
    except ValueError:
        return response.text[:200]
    if isinstance(data, dict) and data.get("error"):
        return " ".join(str(data[k]) for k in ("error", "error_description") if data.get(k))[:200]
    return response.text[:200]


def _parse_token_response(response: requests.Response, token_url: str) -> tuple[str, float]:
    if response.status_code != 200:
        raise OAuth2Error(
            f"token endpoint {token_url} answered HTTP {response.status_code}: {_error_detail(response)}"
        )
    try:
        data: Any = strict_json.loads(response.content)
    except ValueError:
        raise OAuth2Error(f"token endpoint {token_url} did not answer JSON") from None
    token = data.get("access_token") if isinstance(data, dict) else None
    if not isinstance(token, str) or not token:
        raise OAuth2Error(f"token endpoint {token_url} answered without an access_token")
    try:
        ttl = float(data.get("expires_in", DEFAULT_TTL))
    except (TypeError, ValueError, OverflowError):  # OverflowError: an integer of 400 digits
        ttl = DEFAULT_TTL
    return token, max(ttl, 0.0)


def _require(mapping: Mapping[str, Any], name: str, what: str) -> str:
    value = mapping.get(name)
    if not value or not isinstance(value, str):
        raise AuthConfigError(f"{what} is required")
    return value


def auth_headers(
    auth_type: str,
    config: Mapping[str, Any],
    secrets: Mapping[str, Any],
    *,
    session_factory: SessionFactory = make_session,
    cache: TokenCache | None = None,
    clock: Clock = time.monotonic,
) -> dict[str, str]:
    """Return the headers that authenticate an outgoing request.

    ``auth_type`` / ``config`` (non-secret, stored plain) / ``secrets`` (decrypted):
      none     -> {}
      api_key  -> config["header_name"] (default X-API-Key), secrets["api_key"]
      bearer   -> secrets["token"]
      basic    -> config["username"], secrets["password"]
      oauth2   -> config["token_url"], config["client_id"], config.get("scope"),
                  config.get("auth_method", "basic"), secrets["client_secret"]
    Raises ``AuthConfigError`` for missing/invalid settings, ``OAuth2Error`` for token failures.
    """
    if auth_type in ("none", "", None):
        return {}
    if auth_type == "api_key":
        name = config.get("header_name") or DEFAULT_API_KEY_HEADER
        if not _HEADER_NAME.match(name):
            raise AuthConfigError(f"invalid API key header name {name!r}")
        return {name: _no_newlines(_require(secrets, "api_key", "API key"))}
    if auth_type == "bearer":
        return {"Authorization": "Bearer " + _no_newlines(_require(secrets, "token", "bearer token"))}
    if auth_type == "basic":
        user = _require(config, "username", "username")
        return {"Authorization": _basic(_no_newlines(user), _no_newlines(secrets.get("password") or ""))}
    if auth_type == "oauth2":
        return {"Authorization": "Bearer " + _oauth2_token(config, secrets, session_factory, cache, clock)}
    raise AuthConfigError(f"unknown auth type {auth_type!r} (expected one of {', '.join(AUTH_TYPES)})")


def _oauth2_token(
    config: Mapping[str, Any],
    secrets: Mapping[str, Any],
    session_factory: SessionFactory,
    cache: TokenCache | None,
    clock: Clock,
) -> str:
    token_url = _require(config, "token_url", "OAuth2 token URL")
    client = ClientCredentials(
        token_url,
        _require(config, "client_id", "OAuth2 client id"),
        _require(secrets, "client_secret", "OAuth2 client secret"),
        config.get("scope") or None,
        auth_method=config.get("auth_method") or "basic",
        cache=cache,
        clock=clock,
    )
    return _no_newlines(client.get_token(session_factory))


def _no_newlines(value: str) -> str:
    # A CR/LF in a stored credential would let it inject extra headers.
    if "\r" in value or "\n" in value:
        raise AuthConfigError("credentials must not contain line breaks")
    return value

