"""One outgoing webhook attempt: sign, send through the SSRF-safe client, judge the answer.

No database here. The caller (app.services.integrations.webhooks) stores what `send` returns on the delivery
row and decides the next step from `Attempt.outcome` with app.connectors.retry.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import requests

from app.connectors import retry, signing
from app.connectors.http import DEFAULT_TIMEOUT, UnsafeURLError, safe_request

RESPONSE_EXCERPT = 2000  # characters of the response body kept for the delivery log
SENSITIVE_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})


@dataclass
class Attempt:
    """One attempt's result; `outcome` is retry.classify's verdict: "ok", "retry", "disable" or "fail"."""

    outcome: retry.Outcome
    request_headers: dict[str, str]
    status_code: int | None = None
    response_body: str = ""
    response_headers: dict[str, str] = field(default_factory=dict)
    duration_ms: int = 0
    error: str | None = None

    @property
    def retry_after(self) -> str | None:
        return self.response_headers.get("retry-after")


def encode(payload: Any) -> bytes:
    """The exact bytes sent (and signed): compact JSON, UTF-8."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def loggable_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers for the delivery log, with credentials masked (signatures are safe to show)."""
    return {
        k: ("••••" if k.lower() in SENSITIVE_HEADERS or k.lower().startswith("x-api") else v)
        for k, v in headers.items()
    }


def send(
    url: str,
    msg_id: str,
    body: bytes,
    signing_secrets: list[str],
    *,
    auth_headers: Mapping[str, str] | None = None,
    allow_private: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    session: requests.Session | None = None,
    now: float | None = None,
) -> Attempt:
    """POST ``body`` to ``url`` signed per Standard Webhooks; never raises for network trouble."""
    timestamp = int(now if now is not None else time.time())
    headers = signing.build_headers(msg_id, timestamp, body, signing_secrets)
    headers["user-agent"] = "Laurel-Webhooks/1.0"
    headers.update(auth_headers or {})
    shown = loggable_headers(headers)
    started = time.perf_counter()
    try:
        response = safe_request(
            "POST",
            url,
            data=body,
            headers=headers,
            allow_private=allow_private,
            timeout=timeout,
            session=session,
        )
    except UnsafeURLError as exc:
        return Attempt("fail", shown, duration_ms=_ms(started), error=f"Refused: {exc}")
    except requests.Timeout:
        return Attempt("fail", shown, duration_ms=_ms(started), error=f"Timed out after {timeout:g} s")
    except requests.RequestException as exc:
        return Attempt("fail", shown, duration_ms=_ms(started), error=f"{type(exc).__name__}: {exc}"[:1000])
    text = response.content.decode("utf-8", "replace")[:RESPONSE_EXCERPT]
    outcome = retry.classify(response.status_code)
    error = (
        None
        if outcome == "ok"
        else f"HTTP {response.status_code}"
        + (
            f" (redirect to {response.headers.get('Location')}; redirects are not followed)"
            if 300 <= response.status_code < 400
            else ""
        )
    )
    return Attempt(
        outcome,
        shown,
        response.status_code,
        text,
        {k.lower(): v for k, v in response.headers.items()},
        _ms(started),
        error,
    )


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
