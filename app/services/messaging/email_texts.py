"""Admin-editable texts for the lifecycle emails: a subject and a body instead of the file template.

Why not Jinja: a custom text is data an admin types into a form and a worker renders for every mail.
The syntax is deliberately tiny, so a text can be checked completely when it is saved and cannot do
work at send time:

- ``{{ placeholder }}``: one of the names listed for that email (``PLACEHOLDERS``), nothing else. Any
  other ``{{``, ``}}``, ``{%`` or ``%}`` is refused, so there are no expressions, loops or attribute
  lookups (``{{ ''.__class__ }}`` is just refused text). Rendering is one regular-expression pass.
- A blank line starts a new paragraph; a single line break stays a line break.
- A line that is only ``[Label](link)`` is a button in the HTML part (``Label: link`` in the text part);
  the link is a URL placeholder or an ``https://`` address.
- Addresses (``https://...``) in the text become links in the HTML part.

Values are escaped into the HTML part, inside the usual layout (templates/emails/_custom.html extends
_layout.html, so the organisation's header and footer stay). A text that fails anyway at send time
falls back to the file template (`render`, called by outbox.queue_email, logs it and returns None).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from flask import current_app, render_template
from markupsafe import Markup, escape
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from app.database import utcnow
from app.extensions import db
from app.models import EmailText
from app.rules import plain_text
from app.services import audit
from app.services.errors import ValidationError
from app.services.fields import check_fields, clean_text

MAX_SUBJECT = 200
MAX_BODY = 5000
MAX_PLACEHOLDERS = 100  # uses per text: bounds the output whatever the values
MAX_VALUE = 2000  # one value's characters in a mail (names are far shorter; a share message is 1000)

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_DELIMITER = re.compile(r"\{\{|\}\}|\{%|%\}|\{#|#\}")
_BUTTON = re.compile(r"\[([^\[\]\n]{1,80})\]\(\s*(\{\{\s*[A-Za-z_][A-Za-z0-9_]*\s*\}\}|\S+?)\s*\)")
_URL = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)]")

_COMMON = {
    "name": "the holder's name",
    "certification": "the certification's name",
    "serial": "the certificate number",
    "verify_url": "the public verification page (link)",
    "org_name": "your organisation's name",
}


@dataclass(frozen=True)
class Kind:
    """One editable email: what it is for, the placeholders it offers, and a starting text."""

    label: str
    when: str
    placeholders: dict[str, str]
    subject: str
    body: str
    opt_out: bool = False  # reminders and expiries: the footer says how to turn them off


KINDS: dict[str, Kind] = {
    "certificate_issued": Kind(
        "Certificate issued", "A certificate was issued or renewed (the PDF is attached).",
        _COMMON | {"issued_on": "the issue date", "expires_on": "the expiry date (or \"does not expire\")",
                   "share_url": "the link to share the certificate (link)"},
        "Your certificate: {{ certification }}",
        "Hello {{ name }},\n\nCongratulations! You have earned the certificate {{ certification }}.\n\n"
        "Certificate no.: {{ serial }}\nIssued: {{ issued_on }}\nValid until: {{ expires_on }}\n\n"
        "Your certificate is attached to this email as a PDF.\n\n"
        "[View and verify your certificate]({{ verify_url }})\n\n"
        "To share it, send this link: {{ share_url }}"),
    "certificate_reminder": Kind(
        "Renewal reminder", "A certificate expires soon (on each of the certification's reminder days).",
        _COMMON | {"expires_at": "the expiry date",
                   "time_left": "how long until it expires (\"30 days\", \"1 day\")",
                   "days_left": "days until it expires, as a number",
                   "courses": "the courses to complete again, comma-separated",
                   "certificates_url": "the learner's certificates page (link)"},
        "Your {{ certification }} certificate expires in {{ time_left }}",
        "Hello {{ name }},\n\nYour certificate {{ certification }} ({{ serial }}) expires on "
        "{{ expires_at }}, in {{ time_left }}.\n\n"
        "To renew it, complete these courses again: {{ courses }}\n\n"
        "Your new certificate is issued automatically as soon as the requirements are met.\n\n"
        "[See my certificates]({{ certificates_url }})", opt_out=True),
    "certificate_expired": Kind(
        "Certificate expired", "A certificate expired and was not renewed.",
        _COMMON | {"expires_at": "the expiry date", "courses": "the courses to complete, comma-separated",
                   "certificates_url": "the learner's certificates page (link)"},
        "Your {{ certification }} certificate has expired",
        "Hello {{ name }},\n\nYour certificate {{ certification }} ({{ serial }}) expired on "
        "{{ expires_at }}. Anyone checking it now sees it as expired.\n\n"
        "To be certified again, complete these courses: "
        "{{ courses }}\n\nA new certificate is issued automatically once you meet the requirements.\n\n"
        "[See my certificates]({{ certificates_url }})", opt_out=True),
    "certificate_revoked": Kind(
        "Certificate revoked", "An admin revoked a certificate.",
        _COMMON | {"revoked_at": "the revocation date", "reason": "the reason given"},
        "Your certificate {{ serial }} has been revoked",
        "Hello {{ name }},\n\nYour certificate {{ certification }} ({{ serial }}) was revoked on "
        "{{ revoked_at }}.\n\nReason: {{ reason }}\n\nAnyone checking it will now see it as revoked:\n"
        "{{ verify_url }}\n\nIf you think this is a mistake, please contact your training administrator."),
    "certificate_reinstated": Kind(
        "Certificate reinstated", "An admin reinstated a revoked certificate.",
        dict(_COMMON),
        "Your certificate {{ serial }} is valid again",
        "Hello {{ name }},\n\nGood news: your certificate {{ certification }} ({{ serial }}) has been "
        "reinstated and is valid again.\n\n[View the verification page]({{ verify_url }})"),
    "certificate_shared": Kind(
        "Certificate shared", "A learner shared a certificate by email (sent to the addresses they typed).",
        {"sender": "the learner who shares", "certification": "the certification's name",
         "serial": "the certificate number", "message": "the learner's message (may be empty)",
         "issued_at": "the issue date", "expires_at": "the expiry date (or \"does not expire\")",
         "share_url": "the certificate's page (link)", "verify_url": "the verification page (link)",
         "org_name": "your organisation's name"},
        "{{ sender }} shared a certificate: {{ certification }}",
        "Hello,\n\n{{ sender }} wants to share a certificate with you.\n\n{{ message }}\n\n"
        "{{ certification }}, awarded to {{ sender }} by {{ org_name }} on {{ issued_at }}. "
        "Serial: {{ serial }}.\n\n[View the certificate]({{ share_url }})\n\n"
        "Check that it is genuine: {{ verify_url }}"),
}


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


# --------------------------------------------------------------------------------------------
# Reading and saving
# --------------------------------------------------------------------------------------------


def kind(template: str) -> Kind:
    """The editable email `template`; KeyError when it is not one (a 404 for the views)."""
    return KINDS[template]


def custom(template: str) -> EmailText | None:
    return db.session.get(EmailText, template) if template in KINDS else None


def customised() -> set[str]:
    return set(db.session.scalars(select(EmailText.template)).all())


def save(template: str, subject: object, body: object, *, actor: audit.Actor) -> EmailText:
    """Store the admin's text for `template` (checked completely first: ValidationError, nothing stored)."""
    values = check(template, subject, body)
    fields = {"subject": values["subject"], "body": values["body"], "updated_at": utcnow(),
              "updated_by_id": getattr(actor, "id", None)}
    row = custom(template)
    if row is None:
        try:  # two admins saving a first text at once: the second one updates the row the first made
            with db.session.begin_nested():
                row = EmailText(template=template, **fields)
                db.session.add(row)
        except IntegrityError:
            row = db.session.get(EmailText, template, populate_existing=True)
    for name, value in fields.items():
        setattr(row, name, value)
    db.session.flush()
    audit.record(actor, "email_text.saved", "email_text", template,
                 f"Text of the {kind(template).label} email changed", template=template)
    return row


def reset(template: str, *, actor: audit.Actor) -> bool:
    """Back to the file template. False when there was no custom text."""
    kind(template)
    # One statement: two admins resetting at once delete the row once, and the second one is told so.
    deleted = db.session.execute(delete(EmailText).where(EmailText.template == template))
    if deleted.rowcount != 1:
        return False
    audit.record(actor, "email_text.reset", "email_text", template,
                 f"{kind(template).label} email reset to default", template=template)
    return True


def check(template: str, subject: object, body: object) -> dict[str, str]:
    """{"subject", "body"} cleaned, or ValidationError naming every problem of each field."""
    allowed = kind(template).placeholders
    values, errors = check_fields({"subject": subject, "body": body}, {
        "subject": lambda v: _check_syntax(
            clean_text(v, MAX_SUBJECT, required=True, label="a subject"), allowed),
        "body": lambda v: _check_syntax(
            clean_text(v, MAX_BODY, required=True, label="a text", multiline=True), allowed),
    })
    if errors:
        raise ValidationError(errors)
    return values


def _check_syntax(text: str, allowed: Mapping[str, str]) -> str:
    names = _PLACEHOLDER.findall(text)
    if len(names) > MAX_PLACEHOLDERS:
        raise ValueError(f"At most {MAX_PLACEHOLDERS} placeholders.")
    for name in names:
        if name not in allowed:
            close = difflib.get_close_matches(name, list(allowed), n=1)
            hint = f" (did you mean {{{{ {close[0]} }}}}?)" if close else ""
            raise ValueError(f"Unknown placeholder {{{{ {name} }}}}{hint}. This email offers: "
                             + ", ".join(allowed) + ".")
    stray = _DELIMITER.search(_PLACEHOLDER.sub("", text))
    if stray:
        raise ValueError(f"\"{stray.group()}\" is only allowed around a placeholder name, like "
                         "{{ name }}: no expressions, filters, tags or comments.")
    return text


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------


def render(template: str, context: Mapping[str, object]) -> Rendered | None:
    """The admin's text for a mail about to be queued, or None: no custom text, or it failed (logged,
    the file template is used: a custom text never stops a mail)."""
    try:
        row = custom(template)
        if row is None:
            return None
        return render_text(template, row.subject, row.body, context)
    except Exception:  # noqa: BLE001 - any failure falls back to the file template
        current_app.logger.exception("custom text of the %s email failed; the default template is used",
                                     template)
        return None


def render_text(template: str, subject: str, body: str, context: Mapping[str, object]) -> Rendered:
    """Both parts and the subject of `subject`/`body` (already checked) with `context`."""
    email = kind(template)
    values = {name: _value(name, _derived(name, context)) for name in email.placeholders}
    title = plain_text.flatten(_fill(subject, values)).strip()[:300]
    blocks = _blocks(body, values)
    opt_out = context.get("preferences_url") if email.opt_out else None
    ctx = {**context, "subject": title, "blocks": blocks, "opt_out_url": opt_out}
    signature = render_template("emails/_custom.txt", **ctx).strip()
    text = "\n\n".join(b.text for b in blocks) + "\n\n" + signature + "\n"
    return Rendered(subject=title, text=text, html=render_template("emails/_custom.html", **ctx))


@dataclass(frozen=True)
class Block:
    """A paragraph (escaped HTML with links and line breaks) or a button (label + https link)."""

    text: str
    html: Markup | None = None
    label: str = ""
    href: str = ""


def _blocks(body: str, values: Mapping[str, str]) -> list[Block]:
    blocks = []
    for paragraph in re.split(r"\n[ \t]*\n", body.strip()):
        button = _BUTTON.fullmatch(paragraph.strip())
        if button:
            label, href = _fill(button.group(1), values).strip(), _fill(button.group(2), values).strip()
            if href.startswith(("https://", "http://")) and not re.search(r"\s", href):
                blocks.append(Block(text=f"{label}: {href}", label=label, href=href))
                continue
        filled = _fill(paragraph, values).strip()
        if filled:  # a paragraph of empty values (no message, no courses) is left out
            blocks.append(Block(text=filled, html=_paragraph_html(filled)))
    return blocks


def _fill(text: str, values: Mapping[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def _paragraph_html(text: str) -> Markup:
    parts, last = [], 0
    for match in _URL.finditer(text):
        url = match.group()
        parts.append(escape(text[last:match.start()]))
        parts.append(Markup('<a href="{0}" style="color:#1f5f4a;word-break:break-all;">{0}</a>').format(url))
        last = match.end()
    parts.append(escape(text[last:]))
    return Markup("").join(parts).replace("\n", Markup("<br>\n"))


def _derived(name: str, context: Mapping[str, object]) -> object:
    """A placeholder's raw value: from the mail's context, or made from it (``time_left``)."""
    if name == "time_left":
        days = context.get("days_left")
        return None if days is None else ("1 day" if days == 1 else f"{days} days")
    return context.get(name)


def _value(name: str, value: object) -> str:
    """A placeholder's value as text: dates as "3 March 2026", lists comma-separated, no expiry said."""
    if value is None or value == "":
        return "does not expire" if name.startswith("expires") else ""
    if isinstance(value, datetime | date):
        text = f"{value.day} {value:%B %Y}"
    elif isinstance(value, list | tuple):
        text = ", ".join(str(v) for v in value)
    else:
        text = str(value)
    return plain_text.clean_multiline(text)[:MAX_VALUE]
