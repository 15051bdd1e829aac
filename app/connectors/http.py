"""SSRF-safe outgoing HTTP for webhooks, connectors and OAuth2 token requests.

The address policy itself (what counts as public, the OUTGOING_ALLOW_PRIVATE message) lives in
app.connectors.egress, shared with the SQL source and the S3 endpoints; this module applies it
to HTTP.

Built on requests-hardened: its adapter resolves the host once, checks the address and connects to
that very address (pinning it, with Host/SNI/certificate checks still using the hostname), so a DNS
answer cannot change between the check and the connect. Two things it does not do, added here:

* it checks only the *first* resolved address; we require every address the name resolves to be
  public (a name that also resolves to 10.0.0.1 is refused outright);
* its "allow" switch only covers loopback; ``allow_private`` here (tests/dev only) lifts the filter.

Redirects are never followed (a 3xx is returned as is) and response bodies are capped, so a hostile
receiver can neither bounce us to an internal address nor exhaust our memory.
"""

from __future__ import annotations

import ipaddress
import time
from typing import Any
from urllib.parse import urlsplit

import requests
from requests_hardened import Config, HTTPSession
from requests_hardened.ip_filter import InvalidIPAddress
from requests_hardened.ip_filter_adapter import IPFilterAdapter

from app.connectors import egress
from app.connectors.egress import IPAddress, is_public_address

DEFAULT_TIMEOUT = 15.0  # seconds, from the Standard Webhooks guidance
MAX_BODY_BYTES = 64 * 1024  # what we keep of a response body (for logs and the UI)
USER_AGENT = "Laurel-Webhooks/1.0"
ALLOWED_SCHEMES = ("http", "https")


class UnsafeURLError(requests.RequestException):
    """The URL is not allowed as an outgoing target (scheme, host, or a non-public address).

    A subclass of ``requests.RequestException`` so code that catches request errors sees it too.
    Deliberately *not* a ValueError: requests rewraps ValueErrors raised while building the
    connection into a generic ``InvalidURL``, which would hide the reason.
    """


def resolve_addresses(host: str, port: int) -> list[IPAddress]:
    """Resolve ``host`` (name or IP literal) to every IPv4/IPv6 address it has (egress.resolve)."""
    try:
        return egress.resolve(host, port)
    except egress.HostUnresolvable as exc:
        raise requests.exceptions.ConnectionError(str(exc)) from None


def _host_and_port(url: str) -> tuple[str, int]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeURLError(f"invalid URL {url!r}: {exc}") from None
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise UnsafeURLError(f"only http and https URLs are allowed, not {parts.scheme or 'none'!r}")
    if not parts.hostname:
        raise UnsafeURLError(f"URL {url!r} has no host")
    default_port = 443 if parts.scheme.lower() == "https" else 80
    return parts.hostname, port or default_port


def check_url(url: str, *, allow_private: bool = False) -> list[IPAddress]:
    """Validate an outgoing URL and return the addresses it resolves to.

    Raises ``UnsafeURLError`` for a non-http(s) URL, a missing host, or (unless ``allow_private``)
    any resolved address that is not public. Numeric tricks such as ``http://2130706433/`` or
    ``http://0177.0.0.1/`` resolve to 127.0.0.1 and are refused like the plain form. Use it to
    validate a URL when an admin saves it; delivery re-checks at connect time anyway.
    """
    host, port = _host_and_port(url)
    addresses = resolve_addresses(host, port)
    reason = None if allow_private else egress.refusal(host, addresses)
    if reason:
        raise UnsafeURLError(reason)
    return addresses


class _PublicOnlyAdapter(IPFilterAdapter):
    """requests-hardened's pinning adapter, plus our all-addresses-public check before it."""

    def build_connection_pool_key_attributes(self, request, verify, cert=None):  # type: ignore[no-untyped-def]
        # Runs on every send, so redirects issued by hand and pooled connections are checked too.
        check_url(request.url or "")
        try:
            host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        except InvalidIPAddress as exc:
            # The name resolved differently this time (DNS rebinding): the pin caught it.
            reason = f"{egress.ALLOW_HINT} refusing to connect to non-public address {exc}"
            raise UnsafeURLError(reason) from exc
        # The parent resolved again and pinned the first address; its filter is looser than ours
        # (e.g. it lets 240.0.0.0/4 through on some Pythons), so re-judge the pinned address.
        pinned = ipaddress.ip_address(host_params["host"].strip("[]"))
        if not is_public_address(pinned):
            raise UnsafeURLError(f"{egress.ALLOW_HINT} refusing to connect to non-public address {pinned}")
        return host_params, pool_kwargs


def make_session(
    allow_private: bool = False,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    user_agent: str = USER_AGENT,
) -> requests.Session:
    """Return a session that never follows redirects, times out, and (by default) only reaches
    public addresses.

    ``allow_private=True`` is for tests and local development only (e.g. a receiver on 127.0.0.1).
    The session ignores proxy/netrc environment variables: a proxy would make the SSRF check
    meaningless (the proxy, not us, would connect to the internal host).
    Use it as a context manager. Response bodies are *not* capped here; use ``safe_request`` or
    ``read_capped``.
    """
    config = Config(
        ip_filter_enable=False,  # we mount our own adapter below
        ip_filter_allow_loopback_ips=False,
        never_redirect=True,
        default_timeout=(timeout, timeout),
        user_agent_override=user_agent,
    )
    session = HTTPSession(config)
    session.trust_env = False
    if not allow_private:
        for prefix in ("http://", "https://"):
            session.mount(prefix, _PublicOnlyAdapter(is_https_proto=prefix == "https://"))
    return session


def read_capped(
    response: requests.Response, limit: int = MAX_BODY_BYTES, deadline: float | None = None
) -> bool:
    """Read at most ``limit`` bytes of a streamed response into ``response.content`` and close it.

    Returns True when the body was longer and got truncated. ``deadline`` (a ``time.monotonic()``
    value) bounds the total read time, since the per-read timeout alone lets a server trickle one
    byte at a time forever.
    """
    chunks: list[bytes] = []
    size = 0
    truncated = False
    try:
        for chunk in response.iter_content(chunk_size=8192):
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                truncated = True
                break
            if deadline is not None and time.monotonic() > deadline:
                raise requests.exceptions.ReadTimeout(f"response body took too long ({size} bytes read)")
    finally:
        response.close()
    # Setting these private fields is how requests itself caches a consumed body; after this,
    # .content/.text/.json() work normally on the kept prefix.
    response._content = b"".join(chunks)[:limit]
    response._content_consumed = True
    return truncated


def safe_request(
    method: str,
    url: str,
    *,
    allow_private: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    max_body: int = MAX_BODY_BYTES,
    session: requests.Session | None = None,
    **kwargs: Any,
) -> requests.Response:
    """Send one request with the SSRF guard; never follows redirects; body capped at ``max_body``.

    ``kwargs`` go to ``requests.Session.request`` (headers, data, json ...). The returned response
    has ``.truncated`` (bool). Raises ``UnsafeURLError`` for a refused target and the usual
    ``requests`` exceptions (ConnectionError, Timeout ...) for network failures. Pass ``session``
    (from ``make_session``) to reuse connections; its own ``allow_private`` then applies to the
    connection, while this function's flag still governs the up-front check.
    """
    _host_and_port(url)  # scheme and host, before anything touches the network
    if session is not None and not allow_private:
        # Our own session's adapter checks at connect time; a caller's session might not.
        check_url(url)
    kwargs["allow_redirects"] = False
    kwargs["stream"] = True
    deadline = time.monotonic() + timeout
    own = session is None
    http = session or make_session(allow_private, timeout=timeout)
    try:
        response = http.request(method, url, timeout=timeout, **kwargs)
        response.truncated = read_capped(response, max_body, deadline)  # type: ignore[attr-defined]
        return response
    finally:
        if own:
            http.close()
