"""Slack incoming-webhook messages: a readable line per Laurel event (text + one section block)."""

from __future__ import annotations

from typing import Any

_TITLES = {
    "certificate.issued": ":trophy: Certificate issued",
    "certificate.renewed": ":repeat: Certificate renewed",
    "certificate.reissued": ":pencil: Certificate corrected and reissued",
    "certificate.revoked": ":no_entry: Certificate revoked",
    "certificate.reinstated": ":white_check_mark: Certificate reinstated",
    "certificate.expiring": ":hourglass_flowing_sand: Certificate expiring",
    "certificate.expired": ":warning: Certificate expired",
    "certificate.shared": ":link: Certificate shared",
    "enrollment.created": ":books: New enrollment",
    "enrollment.completed": ":mortar_board: Course completed",
    "enrollment.withdrawn": ":wave: Enrollment withdrawn",
    "user.created": ":bust_in_silhouette: New user",
    "user.erased": ":broom: Personal data erased",
    "certification.created": ":sparkles: Certification created",
    "certification.updated": ":pencil2: Certification updated",
    "certification.deleted": ":wastebasket: Certification deleted",
    "session.registered": ":calendar: Session registration",
    "session.attended": ":raising_hand: Session attended",
    "payment.completed": ":moneybag: Payment received",
    "payment.refunded": ":leftwards_arrow_with_hook: Payment refunded",
    "evidence.submitted": ":inbox_tray: Evidence submitted for review",
    "evidence.reviewed": ":ballot_box_with_check: Evidence reviewed",
    "ping": ":satellite_antenna: Test message from Laurel",
}


def _escape(text: object) -> str:
    # Slack mrkdwn treats &, < and > as control characters.
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _who(data: dict[str, Any]) -> str:
    user = data.get("user") or {}
    if user.get("name"):
        return f"{_escape(user['name'])} ({_escape(user.get('email', ''))})"
    return _escape(
        data.get("email") or data.get("name") or (f"user #{data['user_id']}" if "user_id" in data else "")
    )


def _line(event_type: str, data: dict[str, Any]) -> str:
    cert = (data.get("certification") or {}).get("name")
    course = (data.get("course") or {}).get("title") or (data.get("course") or {}).get("code")
    parts: list[str] = []
    if event_type.startswith("certificate."):
        parts.append(f"*{_escape(cert or 'Certificate')}* for {_who(data)}")
        if data.get("serial"):
            parts.append(f"serial `{_escape(data['serial'])}`")
        if event_type == "certificate.reissued" and data.get("summary"):
            parts.append(f"version {_escape(data.get('version', ''))}: {_escape(data['summary'])}")
        if event_type == "certificate.revoked" and data.get("revoke_reason"):
            parts.append(f"reason: {_escape(data['revoke_reason'])}")
        if data.get("expires_at") and event_type in (
            "certificate.issued",
            "certificate.renewed",
            "certificate.expiring",
        ):
            parts.append(f"expires {data['expires_at'][:10]}")
        if data.get("verify_url"):
            parts.append(f"<{data['verify_url']}|verify>")
    elif event_type.startswith("enrollment."):
        parts.append(f"{_who(data)} in *{_escape(course or data.get('course_id', ''))}*")
        if data.get("score") is not None:
            parts.append(f"score {data['score']:g}" if isinstance(data["score"], float | int) else "")
    elif event_type.startswith("session."):
        parts.append(f"{_who(data)} at *{_escape(course or data.get('session_id', ''))}*")
        if data.get("starts_at"):
            parts.append(f"on {_escape(str(data['starts_at'])[:16].replace('T', ' '))} UTC")
    elif event_type == "user.created":
        parts.append(f"{_escape(data.get('name', ''))} ({_escape(data.get('email', ''))})")
    elif event_type.startswith("payment."):
        payment_cert = (data.get("certification") or {}).get("name", "")
        parts.append(f"{_who(data)} for *{_escape(payment_cert)}*")
        if isinstance(data.get("amount"), int):
            parts.append(f"{data['amount']} {_escape(data.get('currency', ''))} (minor units)")
    elif event_type == "user.erased":
        parts.append(_escape(str(data.get("pseudonym", ""))))
    elif event_type.startswith("certification."):
        parts.append(f"*{_escape(data.get('name', ''))}*")
    elif event_type.startswith("evidence."):
        parts.append(f"{_who(data)} for *{_escape(cert or '')}*")
        parts.append(_escape(data.get("status", "")))
    else:
        parts.append(_escape(data.get("message", "Laurel can reach this channel.")))
    return " · ".join(p for p in parts if p)


def format_message(envelope: dict[str, Any]) -> dict[str, Any]:
    """The JSON body for a Slack incoming webhook, from a Laurel event envelope."""
    event_type = envelope.get("type", "")
    title = _TITLES.get(event_type, f"Laurel event {event_type}")
    line = _line(event_type, envelope.get("data") or {})
    text = f"{title}: {line}" if line else title
    return {
        "text": text,
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": f"*{title}*\n{line}"}}],
    }
