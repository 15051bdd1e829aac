"""Microsoft Teams and Discord messages for Laurel events, next to Slack's (app/connectors/slack.py).

- Teams: an Adaptive Card (schema 1.4) in the `message` envelope that Teams incoming webhooks and the
  Workflows "When a Teams webhook request is received" trigger accept:
  {"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",
  "contentUrl": null, "content": {AdaptiveCard}}]}.
- Discord: an execute-webhook body with one embed (title, description, url, fields, timestamp, color),
  within Discord's limits (title 256, description 4096, 25 fields, name 256, value 1024 characters);
  `allowed_mentions` is empty so no text from an event can ping @everyone.
Both share what the Slack line shows: the title, who, what, and a link to verify when there is one.
"""

from __future__ import annotations

import re
from typing import Any

from app.connectors.slack import _TITLES

_EMOJI_CODE = re.compile(r"^:[a-z0-9_+-]+:\s*")
_COLOURS = {"issued": 0x2E7D32, "renewed": 0x2E7D32, "completed": 0x2E7D32, "revoked": 0xC62828,
            "expired": 0xC62828, "expiring": 0xF9A825, "refunded": 0xF9A825}


def title(event_type: str) -> str:
    return _EMOJI_CODE.sub("", _TITLES.get(event_type, f"Laurel event {event_type}"))


def facts(event_type: str, data: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) pairs worth showing for this event, as plain text."""
    user = data.get("user") or {}
    who = (f"{user.get('name')} ({user.get('email', '')})" if user.get("name")
           else str(data.get("email") or data.get("name") or ""))
    rows: list[tuple[str, str]] = []
    cert = (data.get("certification") or {}).get("name")
    course = (data.get("course") or {}).get("title") or (data.get("course") or {}).get("code")
    if event_type.startswith(("certificate.", "enrollment.", "payment.")) and who:
        rows.append(("Learner", who))
    if cert:
        rows.append(("Certification", str(cert)))
    if event_type.startswith("certification.") and data.get("name"):
        rows.append(("Certification", str(data["name"])))
    if course:
        rows.append(("Course", str(course)))
    if event_type == "user.created":
        rows.append(("Person", f"{data.get('name', '')} ({data.get('email', '')})"))
    for key, label in (("serial", "Serial"), ("revoke_reason", "Reason"), ("score", "Score"),
                       ("status", "Status"), ("reference", "Reference")):
        if data.get(key) not in (None, "") and (key != "status" or event_type.startswith("payment.")):
            rows.append((label, str(data[key])))
    if event_type.startswith("payment.") and isinstance(data.get("amount"), int):
        rows.append(("Amount", f"{data['amount']} {data.get('currency', '')} (minor units)"))
    if data.get("expires_at") and event_type in ("certificate.issued", "certificate.renewed",
                                                  "certificate.expiring"):
        rows.append(("Expires", str(data["expires_at"])[:10]))
    if event_type == "ping":
        rows.append(("Message", str(data.get("message", "Laurel can reach this channel."))))
    return [(label, value) for label, value in rows if value.strip()]


def _link(data: dict[str, Any]) -> str | None:
    url = data.get("verify_url")
    return url if isinstance(url, str) and url.startswith(("https://", "http://")) else None


def teams_message(envelope: dict[str, Any]) -> dict[str, Any]:
    """The JSON body for a Teams incoming webhook / Workflows webhook: one Adaptive Card."""
    event_type = str(envelope.get("type", ""))
    data = envelope.get("data") or {}
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": title(event_type), "weight": "Bolder", "size": "Medium", "wrap": True},
    ]
    rows = facts(event_type, data)
    if rows:
        body.append({"type": "FactSet", "facts": [{"title": k[:100], "value": v[:1000]} for k, v in rows]})
    card: dict[str, Any] = {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                            "type": "AdaptiveCard", "version": "1.4", "body": body}
    link = _link(data)
    if link:
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Verify", "url": link}]
    return {"type": "message", "attachments": [
        {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}]}


def discord_message(envelope: dict[str, Any]) -> dict[str, Any]:
    """The JSON body for a Discord webhook (POST /api/webhooks/<id>/<token>): one embed."""
    event_type = str(envelope.get("type", ""))
    data = envelope.get("data") or {}
    rows = facts(event_type, data)[:25]
    embed: dict[str, Any] = {
        "title": title(event_type)[:256],
        "fields": [{"name": k[:256], "value": v[:1024], "inline": len(v) <= 40} for k, v in rows],
        "color": _COLOURS.get(event_type.rsplit(".", 1)[-1], 0x546E7A),
        "footer": {"text": "Laurel"},
    }
    if isinstance(envelope.get("timestamp"), str):
        embed["timestamp"] = envelope["timestamp"]
    link = _link(data)
    if link:
        embed["url"] = link
    return {"username": "Laurel", "embeds": [embed], "allowed_mentions": {"parse": []}}


FORMATTERS = {"teams": teams_message, "discord": discord_message}
