"""Whole numbers from untrusted text (forms, query strings, paths, imports), bounded to what we can store.

Python's int has no upper bound but our columns do: a 31-digit `capacity`, `?page=` or id reached the
database and ended in OverflowError (SQLite) or "integer out of range" (PostgreSQL), a 500. Every parse
of a number someone sent goes through `whole_number` (or `catalog.clean_int`, which uses these bounds).
"""

from __future__ import annotations

import re

MAX_INT = 2_147_483_647  # Integer columns (and every id) are 32-bit on PostgreSQL
MAX_ID = MAX_INT  # larger ids can never match a row
MAX_PAGE = 1_000_000  # page numbers: far beyond any real list, and page * per_page stays small
_DIGITS = re.compile(r"[0-9]{1,19}")  # ASCII only: "²".isdigit() is True but int("²") fails


def whole_number(raw: object, *, minimum: int = 1, maximum: int = MAX_INT) -> int | None:
    """The number `raw` spells in ASCII digits if it lies in [minimum, maximum]; None otherwise."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        number = raw
    else:
        text = str(raw).strip()
        sign = -1 if text.startswith("-") and minimum < 0 else 1
        digits = text[1:] if sign < 0 or text.startswith("+") else text
        if not _DIGITS.fullmatch(digits):
            return None
        number = sign * int(digits)
    return number if minimum <= number <= maximum else None
