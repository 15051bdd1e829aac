"""Compose an outgoing mail with every header set through the email package's header API.

Values reach headers from the database (a learner's name in a subject, a certification name, an
address). Input is refused when it holds control characters (app.rules.plain_text), but rows stored
before that rule, or written by other means, may still hold CR/LF. So each header value is flattened to
one line first and then set on an `EmailMessage` (policy SMTP): the header registry parses addresses,
encodes non-ASCII words (RFC 2047) and folds long lines itself, and would raise rather than write a raw
line break. No text is ever pasted into the message as a header line, so no value can add a header
(Bcc, ...) or break the send.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate

from app.rules.plain_text import flatten

_NAME_ADDR = re.compile(r"^(?P<name>.*)<(?P<addr>[^<>]*)>\s*$", re.DOTALL)


def address(value: str | tuple[str, str]) -> Address:
    """An address header value from "Name <a@b>", "a@b" or (name, address). The address is what stands
    in the last <...>, so nothing in a display name (a line break, a colon, another address) can take
    its place; the display name is flattened and quoted by the header registry as needed."""
    if isinstance(value, tuple):
        name, addr = value
    else:
        match = _NAME_ADDR.match(value)
        name, addr = (match["name"].strip().strip('"'), match["addr"]) if match else ("", value)
    return Address(display_name=flatten(name or "").strip(), addr_spec=flatten(addr).strip())


def compose(*, sender: str | tuple[str, str], to: str, subject: str, text: str, html: str | None,
            message_id: str, attachments: Iterable[tuple[str, str, bytes]] = (),
            headers: Mapping[str, str] | None = None) -> EmailMessage:
    """The message; `attachments` are (filename, content type, bytes), `headers` any extra ones."""
    message = EmailMessage(policy=policy.SMTP)
    message["Subject"] = flatten(subject)
    message["From"] = address(sender)
    message["To"] = address(to)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = flatten(message_id)
    for name, value in (headers or {}).items():
        message[flatten(name)] = flatten(value)
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    for filename, content_type, data in attachments:
        maintype, _, subtype = content_type.partition("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype or "octet-stream",
                               filename=flatten(filename))
    return message
