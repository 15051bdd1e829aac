"""Uploads that never touch the disk, for the endpoints that promise not to store what they are sent.

Werkzeug spools a multipart file over 500 KB to a temporary file; the "verify anything" endpoints promise
that an upload is never written anywhere. An endpoint registered with `in_memory(endpoint, max_bytes)` gets
its files in memory (io.BytesIO) and a body cap of its own, checked before anything is read (413 over it),
instead of the app-wide MAX_CONTENT_LENGTH. The cap is what bounds the memory.
"""

from __future__ import annotations

import io
from typing import IO

from flask import Flask

MULTIPART_SLACK = 64 * 1024  # boundaries, headers and the CSRF field around the file itself
_IN_MEMORY: dict[str, int] = {}


def in_memory(endpoint: str, max_bytes: int) -> None:
    """Read `endpoint`'s uploads in memory, refusing bodies over `max_bytes` (+ the multipart slack)."""
    _IN_MEMORY[endpoint] = max_bytes + MULTIPART_SLACK


class InMemoryUploads:
    """A request-class mixin (installed by `install`)."""

    _max_content_length: int | None

    def _in_memory_limit(self) -> int | None:
        rule = getattr(self, "url_rule", None)
        return _IN_MEMORY.get(rule.endpoint) if rule is not None else None

    @property
    def max_content_length(self) -> int | None:
        limit = self._in_memory_limit()
        if self._max_content_length is None and limit is not None:
            return limit
        return super().max_content_length  # type: ignore[misc]

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value

    def _get_file_stream(self, total_content_length: int | None, content_type: str | None,
                         filename: str | None = None, content_length: int | None = None) -> IO[bytes]:
        if self._in_memory_limit() is not None:
            return io.BytesIO()
        return super()._get_file_stream(  # type: ignore[misc]
            total_content_length, content_type, filename, content_length)


def install(app: Flask) -> None:
    base = app.request_class
    app.request_class = type(f"InMemory{base.__name__}", (InMemoryUploads, base), {})
