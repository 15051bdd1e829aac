"""Ed25519 public keys as Multikey (`publicKeyMultibase`), and base58btc, its encoding.

A Multikey value is "z" (the multibase prefix of base58btc) + base58btc(0xed 0x01 + the 32 raw key
bytes), where 0xed 0x01 is the varint of the multicodec "ed25519-pub". So every Ed25519 Multikey starts
with "z6Mk".
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from app.credentials.errors import CredentialError

ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {char: value for value, char in enumerate(ALPHABET)}
ED25519_PUB = b"\xed\x01"
ED25519_PRIV = b"\x80\x26"
MAX_TEXT = 200  # far above any key or signature: a longer value is refused before the quadratic decode


def base58btc_encode(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    digits = []
    while number:
        number, remainder = divmod(number, 58)
        digits.append(ALPHABET[remainder])
    leading_zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * leading_zeros + "".join(reversed(digits))


def base58btc_decode(text: str) -> bytes:
    if len(text) > MAX_TEXT:
        raise CredentialError("the base58 value is too long")
    number = 0
    for char in text:
        if char not in _INDEX:
            raise CredentialError("the value is not base58btc")
        number = number * 58 + _INDEX[char]
    body = number.to_bytes((number.bit_length() + 7) // 8, "big")
    leading_zeros = len(text) - len(text.lstrip("1"))
    return b"\0" * leading_zeros + body


def multibase_decode(value: str) -> bytes:
    """Decode a base58btc multibase value ("z..."), the only base our proofs and keys use."""
    if not isinstance(value, str) or not value.startswith("z"):
        raise CredentialError("expected a base58btc multibase value (starting with 'z')")
    return base58btc_decode(value[1:])


def public_multikey(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return "z" + base58btc_encode(ED25519_PUB + raw)


def public_key_from_multikey(value: str) -> Ed25519PublicKey:
    decoded = multibase_decode(value)
    if len(decoded) != 34 or not decoded.startswith(ED25519_PUB):
        raise CredentialError("the key is not an Ed25519 Multikey")
    return Ed25519PublicKey.from_public_bytes(decoded[2:])


def private_key_from_multikey(value: str) -> Ed25519PrivateKey:
    """A secret Multikey ("z3u2..."): used for the specification's test key pair."""
    decoded = multibase_decode(value)
    if len(decoded) != 34 or not decoded.startswith(ED25519_PRIV):
        raise CredentialError("the key is not an Ed25519 secret Multikey")
    return Ed25519PrivateKey.from_private_bytes(decoded[2:])
