"""What a page shows that no translator was ever given: the pseudo-locale check.

Under the pseudo-locale (app/web/i18n.py, config I18N_PSEUDO) every marked string renders wrapped in
⟦…⟧. What is left of a page's visible text once the wrapped parts are taken out must be data (people's
names, course titles, codes, numbers, dates), never a word of our own:

    words = data_words()                        # every word stored in the database's free-text columns
    unmarked(html, words)                       # ["Issued", "Download"]: words nobody marked

Visible text is the text a person sees or a screen reader reads: text nodes outside <script>/<style>,
and the title, placeholder, alt, aria-label attributes and the value of buttons.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from babel import Locale

from app.web.i18n import PSEUDO_CLOSE, PSEUDO_OPEN

_READ_ATTRIBUTES = ("title", "placeholder", "alt", "aria-label", "aria-description")
_BUTTON_TYPES = ("submit", "button", "reset")
# Scripts and styles are not text; code blocks show data verbatim (a JSON payload, a header, a command).
_SKIP_CONTENT = ("script", "style", "template", "code", "pre", "kbd", "samp")

_WRAPPED = re.compile(re.escape(PSEUDO_OPEN) + "[^" + PSEUDO_OPEN + PSEUDO_CLOSE + "]*"
                      + re.escape(PSEUDO_CLOSE))
# Addresses, links and file names are data whatever their words (an email, a URL, "report.csv").
_NOT_WORDS = re.compile(r"\S+@\S+|\w+://\S+|[\w./-]+\.(?:pdf|csv|zip|json|png|svg|jwt|ics|p12)\b|\S*/\S*")
_WORD = re.compile(r"[^\W\d_]{2,}")
# Acronyms (API, CSV, SCIM) read the same in every language.
_ACRONYM = re.compile(r"^[A-Z]{2,6}s?$")
# Names of products and standards, written the same in every language when they stand alone.
PROPER_NOUNS = {
    "laurel", "moodle", "iomad", "slack", "microsoft", "teams", "discord", "google", "workspace", "okta",
    "keycloak", "entra", "openid", "stripe", "linkedin", "minio", "ceph", "acrobat", "pades", "multikey",
    "passkey", "passkeys", "webauthn", "utc", "github", "oauth",
}
# Column values that are codes (a status, a role, a slug), not text a person wrote: these must be shown
# through a translated label, so their words are not data.
_CODE_VALUE = re.compile(r"^[a-z0-9_.:/-]*$")


class _Visible(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_CONTENT:
            self._skip += 1
        a = {k: v or "" for k, v in attrs}
        self.parts.extend(a[name] for name in _READ_ATTRIBUTES if a.get(name))
        if tag == "input" and a.get("type") in _BUTTON_TYPES and a.get("value"):
            self.parts.append(a["value"])

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_CONTENT and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible_text(html: str) -> list[str]:
    parser = _Visible()
    parser.feed(html)
    return [part for part in parser.parts if part.strip()]


def strip_wrapped(text: str) -> str:
    """The text without its ⟦…⟧ parts (innermost first: a translated string may hold another)."""
    previous = None
    while previous != text:
        previous, text = text, _WRAPPED.sub(" ", text)
    return text


def words_of(text: str) -> list[str]:
    return _WORD.findall(_NOT_WORDS.sub(" ", text))


def unmarked(html: str, allowed: set[str]) -> list[str]:
    """Words of a page's visible text outside ⟦…⟧ that are not data (`allowed`, lower-cased)."""
    found: list[str] = []
    for part in visible_text(html):
        found.extend(word for word in words_of(strip_wrapped(part))
                     if word.lower() not in allowed and not _ACRONYM.match(word))
    return found


def data_words() -> set[str]:
    """Every word in the database's free-text columns, lower-cased: what pages may show untranslated."""
    from sqlalchemy import String, Text, select

    from app.extensions import db

    words: set[str] = set()
    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, String | Text)]
        if not columns:
            continue
        for row in db.session.execute(select(*columns)):
            for value in row:
                if isinstance(value, str) and not _CODE_VALUE.match(value):
                    words.update(w.lower() for w in words_of(value))
    return words | _calendar_words() | PROPER_NOUNS


def _calendar_words() -> set[str]:
    """Month and day names as Babel formats them in English (dates are data the formatter spells)."""
    locale = Locale.parse("en")
    names: set[str] = set()
    for width in ("wide", "abbreviated"):
        names.update(locale.months["format"][width].values())
        names.update(locale.days["format"][width].values())
    names.update(locale.eras["abbreviated"].values())
    names.update(("AM", "PM"))
    return {name.lower().strip(".") for name in names}
