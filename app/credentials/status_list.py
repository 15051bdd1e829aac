"""W3C Bitstring Status List v1.0: the `encodedList` of a BitstringStatusListCredential.

A status list is a bitstring with one bit per credential (1 = revoked): bit 0 is the left-most (most
significant) bit of the first byte. It travels GZIP-compressed (RFC 1952), base64url-encoded without
padding, with the multibase prefix "u". Uncompressed it is at least 16 KB (131,072 entries): a list that
small would tell a watcher which credential a verifier is checking (herd privacy).

Decoding is for lists that come from anywhere (a verifier fetching another issuer's list): the
encoded text, the compressed bytes and the decompressed size are all capped, so a gzip bomb is a
CredentialError and never a memory blow-up.
"""

from __future__ import annotations

import base64
import binascii
import re
import zlib

from app.credentials.errors import CredentialError

MIN_ENTRIES = 131_072  # the spec's minimum: 16 KB of bits
MIN_BYTES = MIN_ENTRIES // 8
# What a decoder accepts. 2 MiB of bits are 16.7 million entries, 128 times the minimum; a list of
# that size compresses to a few hundred bytes when mostly zeros and to at most ~2.8 MB of text when random.
MAX_BYTES = 2 * 1024 * 1024
MAX_ENCODED_CHARS = 4 * 1024 * 1024
MULTIBASE_BASE64URL = "u"
_GZIP_MAGIC = b"\x1f\x8b"
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
# zlib level 6 (its default, and pako's) is what the spec's examples were made with: with it the
# all-zero 16 KB list encodes to the spec's published encodedList byte for byte.
_LEVEL = 6
_GZIP_WBITS = 31  # deflate with a gzip header and trailer; mtime 0, so the same bits give the same text


def empty(entries: int = MIN_ENTRIES) -> bytearray:
    """A bitstring of `entries` zero bits (a whole number of bytes, at least the spec's minimum)."""
    if entries < MIN_ENTRIES or entries % 8:
        raise CredentialError(f"A status list has at least {MIN_ENTRIES} entries, a multiple of 8.")
    return bytearray(entries // 8)


def set_bit(bits: bytearray, index: int, value: bool = True) -> None:
    """Set (or clear) entry `index`: bit 7 - index % 8 of byte index // 8 (left-most first)."""
    _check_index(bits, index)
    mask = 0x80 >> (index % 8)
    if value:
        bits[index // 8] |= mask
    else:
        bits[index // 8] &= ~mask & 0xFF


def with_bits_set(indices, entries: int = MIN_ENTRIES) -> bytearray:
    """A bitstring of `entries` bits with the given indices set (e.g. the revoked certificates)."""
    bits = empty(entries)
    for index in indices:
        set_bit(bits, index)
    return bits


def encode(bits: bytes | bytearray) -> str:
    """The spec's encodedList: "u" + base64url-without-padding(GZIP(bits))."""
    if len(bits) < MIN_BYTES:
        raise CredentialError(f"A status list has at least {MIN_ENTRIES} entries ({MIN_BYTES} bytes).")
    compressor = zlib.compressobj(_LEVEL, zlib.DEFLATED, _GZIP_WBITS)
    compressed = compressor.compress(bytes(bits)) + compressor.flush()
    return MULTIBASE_BASE64URL + base64.urlsafe_b64encode(compressed).rstrip(b"=").decode("ascii")


def decode(encoded: str, *, minimum_entries: int = MIN_ENTRIES, max_bytes: int = MAX_BYTES) -> bytes:
    """The bitstring of an encodedList (raises CredentialError for anything malformed or too large).

    `minimum_entries`: the spec's validate algorithm refuses lists under 131,072 entries unless an
    ecosystem sets a lower bound."""
    compressed = _multibase_bytes(encoded)
    bits = _gunzip(compressed, max_bytes)
    if len(bits) * 8 < minimum_entries:
        raise CredentialError(f"The status list has {len(bits) * 8} entries, fewer than the "
                              f"{minimum_entries} required.")
    return bits


def bit(encoded_or_bytes: str | bytes | bytearray, index: int) -> bool:
    """Entry `index` of a list, given as its encodedList or as the decoded bitstring."""
    bits = decode(encoded_or_bytes) if isinstance(encoded_or_bytes, str) else encoded_or_bytes
    _check_index(bits, index)
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def parse_index(value: object) -> int:
    """A statusListIndex as credentials carry it: a string of ASCII digits (the spec), or an integer."""
    if isinstance(value, bool):
        raise CredentialError("statusListIndex must be a whole number.")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and 0 < len(value) <= 12 and value.isascii() and value.isdigit():
        number = int(value)
    else:
        raise CredentialError("statusListIndex must be a whole number.")
    if number < 0 or number >= MAX_BYTES * 8:
        raise CredentialError("statusListIndex is out of range.")
    return number


def _check_index(bits: bytes | bytearray, index: int) -> None:
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(bits) * 8:
        raise CredentialError(f"Status list index {index!r} is outside the list (0 to {len(bits) * 8 - 1}).")


def _multibase_bytes(encoded: object) -> bytes:
    if not isinstance(encoded, str) or not encoded:
        raise CredentialError("encodedList must be a non-empty string.")
    if len(encoded) > MAX_ENCODED_CHARS:
        raise CredentialError("encodedList is too long.")
    if not encoded.startswith(MULTIBASE_BASE64URL):
        raise CredentialError('encodedList must be multibase base64url (start with "u").')
    text = encoded[1:]
    if not _BASE64URL.fullmatch(text) or len(text) % 4 == 1:
        raise CredentialError("encodedList is not valid base64url.")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise CredentialError("encodedList is not valid base64url.") from None


def _gunzip(compressed: bytes, max_bytes: int) -> bytes:
    """One GZIP member, decompressed up to `max_bytes` (more is refused without being produced)."""
    if not compressed.startswith(_GZIP_MAGIC):
        raise CredentialError("encodedList is not GZIP-compressed.")
    inflater = zlib.decompressobj(_GZIP_WBITS)
    try:
        bits = inflater.decompress(compressed, max_bytes)
        if not inflater.eof:
            if inflater.unconsumed_tail or len(bits) >= max_bytes:  # stopped at the cap: a bomb, or too big
                raise CredentialError(f"The status list is larger than {max_bytes} bytes uncompressed.")
            raise CredentialError("encodedList is truncated.")
    except zlib.error:
        raise CredentialError("encodedList is not valid GZIP data.") from None
    if inflater.unused_data:
        raise CredentialError("encodedList has data after its GZIP stream.")
    return bits
