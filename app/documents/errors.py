"""Exceptions and problem reports shared by the templating and PDF layers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class TemplateError:
    """One problem found in a certificate template, for showing next to the editor.

    ``line`` is 1-based within ``part`` (the HTML or the CSS), or None when the problem has no
    single line (a missing template, say).
    """

    line: int | None
    message: str
    part: Literal["html", "css"] = "html"

    def __str__(self) -> str:
        where = f"{self.part.upper()} line {self.line}" if self.line else self.part.upper()
        return f"{where}: {self.message}"


class RenderError(Exception):
    """A certificate could not be rendered; the message is fit to show an admin."""

    #: Whether trying again may help (storage down, a crash); not for the template's own faults.
    retryable: bool = True

    def __init__(self, message: str, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.details: list[str] = details or []

    def __str__(self) -> str:
        base = super().__str__()
        if not self.details:
            return base
        return base + ": " + "; ".join(self.details[:5])


class TemplateRenderError(RenderError):
    """The template itself failed (syntax, unknown placeholder, sandbox refusal, a limit)."""

    retryable = False

    def __init__(self, errors: list[TemplateError]) -> None:
        super().__init__("the certificate template could not be rendered", [str(e) for e in errors])
        self.errors: list[TemplateError] = errors


class RenderTimeoutError(RenderError):
    """The render went over its time limit (RENDER_TIME_LIMIT): the template, on this
    certificate's data, is too much work. Retrying would only hold a worker as long again."""

    retryable = False
