"""Errors services raise for the web and API layers to present."""

from __future__ import annotations


class ValidationError(Exception):
    """Bad input: nothing was changed. `errors` maps field name -> message ("" = whole form)."""

    def __init__(self, errors: dict[str, str] | str):
        self.errors = {"": errors} if isinstance(errors, str) else dict(errors)
        super().__init__("; ".join(f"{k}: {v}" if k else v for k, v in self.errors.items()))


class NotAllowed(Exception):
    """The action is understood but refused by a business rule (e.g. last admin)."""


class RateLimited(NotAllowed):
    """Refused for now because of a rate limit; trying later works (HTTP 429)."""
