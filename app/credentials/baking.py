"""Badge baking: text inside a PNG's iTXt chunk (Open Badges 2.0 "openbadges", 3.0 "openbadgecredential").

A baked badge is the badge image with one extra chunk before IEND, so any image viewer still shows it
and an importer reads the assertion (a URL, or a credential) back out. The chunk layout is the PNG
specification's iTXt: keyword, NUL, compression flag 0, compression method 0, empty language tag, NUL,
empty translated keyword, NUL, then the UTF-8 text. Baking again replaces an earlier chunk with the same
keyword (the Open Badges baking rules allow only one). Pure bytes in, bytes out: no Pillow, no database.
"""

from __future__ import annotations

import struct
import zlib

from app.credentials.errors import CredentialError

SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_TEXT = 1024 * 1024  # a JWT or a credential with a proof fits easily; more is not a badge any more
MAX_CHUNKS = 100_000  # a walk over a hostile file stops here


def _chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    """(type, data) of every chunk, CRCs checked; raises CredentialError for anything that is not a PNG."""
    if not isinstance(png, bytes | bytearray) or not png.startswith(SIGNATURE):
        raise CredentialError("This is not a PNG image.")
    chunks, offset = [], len(SIGNATURE)
    while offset < len(png):
        if len(chunks) >= MAX_CHUNKS or offset + 12 > len(png):
            raise CredentialError("The PNG image is damaged (a chunk is cut short).")
        length, kind = struct.unpack(">I4s", png[offset:offset + 8])
        end = offset + 8 + length
        if end + 4 > len(png):
            raise CredentialError("The PNG image is damaged (a chunk is cut short).")
        data = bytes(png[offset + 8:end])
        (crc,) = struct.unpack(">I", png[end:end + 4])
        if zlib.crc32(kind + data) != crc:
            raise CredentialError("The PNG image is damaged (a chunk's checksum does not match).")
        chunks.append((kind, data))
        offset = end + 4
        if kind == b"IEND":
            break
    if not chunks or chunks[0][0] != b"IHDR" or chunks[-1][0] != b"IEND":
        raise CredentialError("The PNG image is damaged (no IHDR or IEND chunk).")
    return chunks


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _keyword(keyword: str) -> bytes:
    raw = keyword.encode("latin-1", errors="strict") if keyword.isascii() else b""
    if not 1 <= len(raw) <= 79 or not keyword.isprintable():
        raise CredentialError("A PNG text keyword has 1 to 79 printable Latin-1 characters.")
    return raw


def _itxt_parts(data: bytes) -> tuple[bytes, str] | None:
    """(keyword, text) of an uncompressed iTXt chunk; None for a compressed or malformed one."""
    keyword, sep, rest = data.partition(b"\x00")
    if not sep or len(rest) < 2 or rest[0] != 0:
        return None
    language_end = rest.find(b"\x00", 2)
    translated_end = rest.find(b"\x00", language_end + 1) if language_end >= 0 else -1
    if translated_end < 0:
        return None
    try:
        return keyword, rest[translated_end + 1:].decode("utf-8")
    except UnicodeDecodeError:
        return None


def bake_png(png: bytes, keyword: str, text: str) -> bytes:
    """``png`` with an iTXt chunk ``keyword`` = ``text`` just before IEND (an older one is replaced)."""
    name = _keyword(keyword)
    payload = text.encode("utf-8")
    if len(payload) > MAX_TEXT:
        raise CredentialError("The text to bake is too long.")
    kept = [(kind, data) for kind, data in _chunks(png)
            if not (kind == b"iTXt" and data.partition(b"\x00")[0] == name)]
    itxt = name + b"\x00" + b"\x00\x00" + b"\x00" + b"\x00" + payload
    body = b"".join(_chunk(kind, data) for kind, data in kept[:-1])
    return SIGNATURE + body + _chunk(b"iTXt", itxt) + _chunk(b"IEND", b"")


def read_baked(png: bytes, keyword: str) -> str | None:
    """The text of the iTXt chunk ``keyword``, or None when the image carries none."""
    name = _keyword(keyword)
    for kind, data in _chunks(png):
        if kind == b"iTXt":
            parts = _itxt_parts(data)
            if parts is not None and parts[0] == name:
                return parts[1]
    return None
