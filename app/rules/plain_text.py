"""One rule for the text people and other systems send us: which control characters a field may hold.

Single-line fields (names, codes, titles, departments, URLs, secrets, ...) hold no control character at
all: C0 (U+0000-U+001F, so no CR, LF or tab), DEL (U+007F), C1 (U+0080-U+009F) and the Unicode line and
paragraph separators (U+2028, U+2029). A line break in a name is how a header got injected into a mail
(issue #11), and none of these characters belongs in a one-line value anyway. Multi-line fields
(descriptions, notes, messages, queries, templates) may also hold LF and tab; a CRLF is read as LF first
(browsers send text areas with CRLF).

Every entrance uses this module: web forms (`app.web.inputs.Form`), API schemas (the patterns below),
the services (names, catalog, templates, integrations), CSV import, incoming hooks and the syncs.
"""

from __future__ import annotations

import re
from collections.abc import Container, Mapping

# Written with \u escapes so the same strings work as Python regular expressions and as JSON Schema
# `pattern`s (ECMA-262) in the API documents. They end with `(?![\s\S])` (end of input in both), not
# `$`: Python's `$` also matches before a final line break, so a validator in Python (jsonschema) would
# let "name" + LF through.
SINGLE_LINE_PATTERN = "^[^\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029]*(?![\\s\\S])"
MULTI_LINE_PATTERN = "^[^\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f\\u2028\\u2029]*(?![\\s\\S])"

_SINGLE_BAD = re.compile("[\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029]")
_MULTI_BAD = re.compile("[\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f\\u2028\\u2029]")
_NAMES = {"\n": "a line break", "\r": "a carriage return", "\t": "a tab", "\x00": "a NUL character",
          "\u2028": "a line separator", "\u2029": "a paragraph separator"}


def normalise_newlines(value: str) -> str:
    """CRLF (and a lone CR) as LF: what a text area means by a new line."""
    return value.replace("\r\n", "\n").replace("\r", "\n")


def problem(value: str, *, multiline: bool = False) -> str | None:
    """Why `value` may not be stored in such a field, as a sentence, or None when it is fine."""
    bad = (_MULTI_BAD if multiline else _SINGLE_BAD).search(value)
    if bad is None:
        return None
    char = bad.group()
    name = _NAMES.get(char, f"the control character U+{ord(char):04X}")
    allowed = "only line breaks and tabs are allowed" if multiline else "it must be a single line of text"
    return f"Contains {name} (position {bad.start() + 1}): {allowed}."


def field_problems(fields: Mapping[str, object], multiline: Container[str] = ()) -> dict[str, str]:
    """{field: why} for every string value of `fields` that breaks the rule (`multiline` names the
    fields that may hold new lines; a CRLF there is fine)."""
    errors: dict[str, str] = {}
    for name, value in fields.items():
        if isinstance(value, str):
            is_multi = name in multiline
            message = problem(normalise_newlines(value) if is_multi else value, multiline=is_multi)
            if message:
                errors[name] = message
    return errors


def flatten(value: str) -> str:
    """`value` with every control character made a space: for places that must never refuse (mail
    headers built from data stored before this rule, text copied from another system's HTML)."""
    return _SINGLE_BAD.sub(" ", value)


def clean_multiline(value: str) -> str:
    """`value` with new lines normalised and every other control character made a space."""
    return _MULTI_BAD.sub(" ", normalise_newlines(value))
