"""Incoming completion webhooks: authenticate the request and validate its payload (no database).

Accepted envelope (Standard Webhooks style)::

    {"type": "completion.record" | "enrollment.upsert", "timestamp": "...", "data": {...}}

``data``: ``email`` (required), ``name``/``department`` (for learners Laurel creates), ``course_code`` or
``course_external_id`` (one required), ``score`` (0-100), ``completed_at`` (ISO 8601; default now; from
2000-01-01 to now + 5 minutes), and for ``enrollment.upsert`` ``status`` (enrolled | in_progress |
completed | withdrawn) and ``progress``. Every text field is a single line (no control characters).
Every refusal is an ``IncomingError`` carrying the HTTP status and a JSON-ready body.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from app import strict_json
from app.connectors import signing
from app.rules import completion_dates, plain_text

EVENT_TYPES = ("completion.record", "enrollment.upsert")
STATUSES = ("enrolled", "in_progress", "completed", "withdrawn")
TEXT_FIELDS = ("email", "name", "department", "course_code", "course_external_id", "status")
MAX_BODY = 256 * 1024


class IncomingError(Exception):
    """A refused request: ``status`` (4xx), ``code`` (machine-readable), ``detail`` (for people)."""

    def __init__(self, status: int, code: str, detail: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.fields = status, code, detail, fields or {}

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.code, "detail": self.detail}
        if self.fields:
            out["fields"] = self.fields
        return out


@dataclass
class Incoming:
    webhook_id: str
    type: str
    email: str
    course_code: str | None
    course_external_id: str | None
    name: str = ""
    department: str | None = None
    status: str = "completed"
    score: float | None = None
    progress: int | None = None
    completed_at: datetime | None = None
    raw: dict[str, Any] = field(default_factory=dict)


def authenticate(
    headers: Mapping[str, str], body: bytes, scheme: str, secrets: list[str], now: float | None = None
) -> str:
    """Verify the signature; return the webhook id used for idempotency. Raises IncomingError (401)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    if scheme == "github":
        msg_id = lowered.get("webhook-id") or lowered.get("x-github-delivery")
        if not msg_id:
            raise IncomingError(400, "missing_id", "Send a webhook-id (or X-GitHub-Delivery) header.")
        errors = []
        for secret in secrets:
            try:
                signing.verify_github(body, secret, lowered.get("x-hub-signature-256"))
                return msg_id
            except signing.SignatureError as exc:
                errors.append(str(exc))
        raise IncomingError(
            401, "invalid_signature", errors[0] if errors else "No signing secret configured."
        )
    try:
        signing.verify(lowered, body, secrets, now=now)
    except signing.SignatureError as exc:
        text = str(exc)
        code = (
            "stale_timestamp"
            if "too old" in text or "future" in text
            else "missing_headers"
            if text.startswith("missing")
            else "invalid_signature"
        )
        raise IncomingError(401, code, text) from None
    return lowered["webhook-id"]


def content_hash(headers: Mapping[str, str], body: bytes, scheme: str) -> str:
    """Hex SHA-256 of exactly what the signature covers, for replay detection.

    GitHub signs the body only, so a replay under a new X-GitHub-Delivery id has the same hash; Standard
    Webhooks signs ``id.timestamp.body`` (the id and the 5-minute timestamp already stop replays there).
    Call after `authenticate`: the headers are then known to be present.
    """
    if scheme == "github":
        return hashlib.sha256(body).hexdigest()
    lowered = {k.lower(): v for k, v in headers.items()}
    signed = f"{lowered['webhook-id']}.{int(lowered['webhook-timestamp'].strip())}.".encode() + body
    return hashlib.sha256(signed).hexdigest()


def _when(value: Any, fields: dict[str, str]) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        fields["completed_at"] = "Use ISO 8601, e.g. 2026-03-31T14:00:00Z."
        return None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    message = completion_dates.problem(moment)
    if message:
        fields["completed_at"] = message
    return moment


def parse(webhook_id: str, body: bytes) -> Incoming:
    """Decode and validate the payload; IncomingError 400 (not JSON) or 422 (wrong shape)."""
    try:
        payload = strict_json.loads(body.decode("utf-8"))  # too deep, duplicate keys, NaN: refused
    except (UnicodeDecodeError, strict_json.JSONInputError) as exc:
        raise IncomingError(400, "malformed_json", f"The body is not valid JSON: {exc}") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), dict):
        raise IncomingError(422, "invalid_payload", 'Expected {"type": ..., "data": {...}}.')
    kind = payload.get("type")
    if kind not in EVENT_TYPES:
        raise IncomingError(422, "unknown_type", f"type must be one of {', '.join(EVENT_TYPES)}.")
    data: dict[str, Any] = payload["data"]
    fields: dict[str, str] = {}
    email = str(data.get("email") or "").strip().lower()
    if "@" not in email or len(email) > 254:
        fields["email"] = "A learner email is required."
    code = str(data.get("course_code") or "").strip() or None
    external = str(data.get("course_external_id") or "").strip() or None
    if not code and not external:
        fields["course_code"] = "Give course_code or course_external_id."
    status = str(data.get("status") or "completed") if kind == "enrollment.upsert" else "completed"
    if status not in STATUSES:
        fields["status"] = f"status must be one of {', '.join(STATUSES)}."
    score = _number(data.get("score"), "score", 0, 100, fields)
    progress = _number(data.get("progress"), "progress", 0, 100, fields)
    completed_at = _when(data.get("completed_at"), fields)
    name = str(data.get("name") or "").strip()
    if len(name) > 200:
        fields["name"] = "At most 200 characters."
    # Names and codes are single-line text here as everywhere (a line break would reach mail headers).
    fields.update(plain_text.field_problems({k: data[k] for k in TEXT_FIELDS if k in data}))
    if fields:
        raise IncomingError(422, "invalid_payload", "The payload has invalid fields.", fields)
    return Incoming(
        webhook_id,
        kind,
        email,
        code,
        external,
        name,
        (str(data.get("department") or "").strip() or None),
        status,
        score,
        None if progress is None else int(progress),
        completed_at,
        payload,
    )


def _number(value: Any, name: str, low: float, high: float, fields: dict[str, str]) -> float | None:
    if value in (None, ""):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: a JSON integer of 400 digits
        fields[name] = f"{name} must be a number."
        return None
    if not low <= number <= high:
        fields[name] = f"{name} must be between {low:g} and {high:g}."
    return number
