"""Webhook signatures: Standard Webhooks v1 (outgoing and incoming) and GitHub-style HMAC.

Standard Webhooks signs ``{webhook-id}.{webhook-timestamp}.{raw body}`` with HMAC-SHA256 using the
base64-decoded secret, and sends ``v1,<base64 signature>``. Several signatures separated by spaces
let an endpoint rotate its secret: during the grace period we sign with the old and the new secret
and a receiver accepts whichever it knows.

Pure functions, no Flask: callers pass secrets in, already decrypted.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets as _secrets
import time
from collections.abc import Iterable, Mapping

SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
SIGNATURE_VERSION = "v1"
DEFAULT_TOLERANCE = 300  # seconds; the spec's "5 minutes off" replay window
SECRET_BYTES = 32  # the spec allows 24 to 64 bytes


class SignatureError(Exception):
    """A webhook failed verification; ``str(exc)`` says why (safe to log, contains no secret)."""


def generate_secret() -> str:
    """Return a new random signing secret, ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(_secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def secret_bytes(secret: str) -> bytes:
    """Decode a ``whsec_<base64>`` (or bare base64) secret to the raw HMAC key.

    Raises ``ValueError`` for a secret that is not valid base64 or is empty: that is a
    configuration error, not a bad request, so it must not look like a signature mismatch.
    """
    raw = secret.removeprefix(SECRET_PREFIX).strip()
    try:
        # Tolerate missing padding, as the reference library does.
        key = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("webhook secret is not valid base64 (expected whsec_<base64>)") from exc
    if not key:
        raise ValueError("webhook secret is empty")
    return key


def _signed_content(msg_id: str, timestamp: int, body: bytes) -> bytes:
    return f"{msg_id}.{timestamp}.".encode() + body


def _digest(key: bytes, content: bytes) -> bytes:
    return hmac.new(key, content, hashlib.sha256).digest()


def sign(msg_id: str, timestamp: int, body: bytes, secrets: list[str]) -> str:
    """Return the ``webhook-signature`` value: one ``v1,<base64>`` per secret, space-separated."""
    if not secrets:
        raise ValueError("at least one signing secret is required")
    content = _signed_content(msg_id, int(timestamp), body)
    parts = [
        f"{SIGNATURE_VERSION},{base64.b64encode(_digest(secret_bytes(s), content)).decode('ascii')}"
        for s in secrets
    ]
    return " ".join(parts)


def build_headers(msg_id: str, timestamp: int, body: bytes, secrets: list[str]) -> dict[str, str]:
    """Return the headers of one delivery attempt (id stays the same across retries, timestamp not)."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp)),
        "webhook-signature": sign(msg_id, timestamp, body, secrets),
        "content-type": "application/json",
    }


def _lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def _parse_timestamp(value: str, tolerance: int, now: float | None) -> int:
    try:
        timestamp = int(value.strip())
    except ValueError:
        raise SignatureError("invalid webhook-timestamp header (expected unix seconds)") from None
    current = time.time() if now is None else now
    if timestamp < current - tolerance:
        raise SignatureError(f"webhook-timestamp is too old (more than {tolerance} s in the past)")
    if timestamp > current + tolerance:
        raise SignatureError(f"webhook-timestamp is in the future (more than {tolerance} s ahead)")
    return timestamp


def _candidate_signatures(header: str) -> Iterable[bytes]:
    """Yield decoded v1 signatures from the header, skipping other versions and garbage."""
    for item in header.split():
        version, _, value = item.partition(",")
        if version != SIGNATURE_VERSION or not value:
            continue
        try:
            yield base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            continue


def verify(
    headers: Mapping[str, str],
    body: bytes,
    secrets: list[str],
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> None:
    """Check a Standard Webhooks request; return None if valid, else raise ``SignatureError``.

    ``headers`` may use any case. Any of ``secrets`` may match (rotation). ``now`` (unix seconds)
    is injectable for tests.
    """
    if not secrets:
        raise ValueError("at least one verification secret is required")
    lowered = _lower_headers(headers)
    missing = [h for h in ("webhook-id", "webhook-timestamp", "webhook-signature") if not lowered.get(h)]
    if missing:
        raise SignatureError(f"missing header(s): {', '.join(missing)}")
    timestamp = _parse_timestamp(lowered["webhook-timestamp"], tolerance, now)
    content = _signed_content(lowered["webhook-id"], timestamp, body)
    expected = [_digest(secret_bytes(s), content) for s in secrets]
    matched = False
    # Compare every pair without an early exit so timing doesn't reveal which secret matched.
    for candidate in _candidate_signatures(lowered["webhook-signature"]):
        for digest in expected:
            matched |= hmac.compare_digest(candidate, digest)
    if not matched:
        raise SignatureError("no matching v1 signature (wrong secret or modified body)")


def sign_github(body: bytes, secret: str) -> str:
    """Return the ``X-Hub-Signature-256`` value for ``body`` (used by tests and by senders)."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify_github(body: bytes, secret: str, header_value: str | None) -> None:
    """Check a GitHub-style ``X-Hub-Signature-256: sha256=<hex>`` header; raise ``SignatureError``.

    GitHub uses the secret's UTF-8 bytes as the key (not base64) and has no timestamp, so there is
    no replay protection beyond what the caller adds (e.g. remembering delivery ids).
    """
    if not secret:
        raise ValueError("a verification secret is required")
    if not header_value:
        raise SignatureError("missing X-Hub-Signature-256 header")
    algorithm, _, received = header_value.strip().partition("=")
    if algorithm.lower() != "sha256" or not received:
        raise SignatureError("X-Hub-Signature-256 must look like sha256=<hex>")
    expected = sign_github(body, secret).partition("=")[2]
    # compare_digest on ASCII str is constant-time; lower() because hex case is not significant.
    if not hmac.compare_digest(received.lower().encode("ascii", "replace"), expected.encode("ascii")):
        raise SignatureError("X-Hub-Signature-256 does not match (wrong secret or modified body)")
