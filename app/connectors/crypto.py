"""Encryption at rest for integration credentials (webhook secrets, API keys, OAuth2 secrets).

``SecretBox`` wraps cryptography's MultiFernet: the first key encrypts, every key decrypts, so a
key rotation is "put the new key first, keep the old one, run ``rotate`` over stored tokens, drop
the old key".

Key source, in order of preference:

1. dedicated Fernet keys (e.g. ``LAUREL_ENCRYPTION_KEYS="new,old"``), made with ``generate_key``;
2. fallback: a key derived from the application's SECRET_KEY with HKDF-SHA256
   (``derive_key``). Convenient for a one-command install, but rotating SECRET_KEY then makes every
   stored credential unreadable, so production should configure dedicated keys.

``box_from_config`` implements that order and keeps the derived key as a decrypt-only fallback,
so switching from (2) to (1) does not strand credentials encrypted before the switch.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MASK = "••••"
_HKDF_INFO = b"laurel/integration-secrets/fernet/v1"  # domain separation from other SECRET_KEY uses


class CryptoError(Exception):
    """A key is malformed, or a token cannot be decrypted with any configured key."""


def generate_key() -> str:
    """Return a new random Fernet key (urlsafe base64 of 32 bytes) as text."""
    return Fernet.generate_key().decode("ascii")


def derive_key(secret_key: str | bytes) -> str:
    """Derive a Fernet key from the application SECRET_KEY (fallback when no dedicated key is set).

    HKDF-SHA256 with a fixed ``info`` label, so the same SECRET_KEY always gives the same key and
    the derived key reveals nothing usable about SECRET_KEY itself.
    """
    material = secret_key.encode("utf-8") if isinstance(secret_key, str) else secret_key
    if not material:
        raise CryptoError("cannot derive an encryption key from an empty SECRET_KEY")
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO)
    return base64.urlsafe_b64encode(hkdf.derive(material)).decode("ascii")


def _fernet(key: str, position: int) -> Fernet:
    try:
        return Fernet(key.strip().encode("ascii"))
    except (ValueError, binascii.Error, UnicodeError) as exc:
        # Never echo the key itself: this message may reach logs.
        raise CryptoError(
            f"encryption key #{position + 1} is not a valid Fernet key "
            "(expected 32 bytes of urlsafe base64, e.g. from generate_key())"
        ) from exc


class SecretBox:
    """Encrypt and decrypt short secrets with key rotation (first key encrypts, all decrypt)."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise CryptoError("at least one encryption key is required")
        self._fernet = MultiFernet([_fernet(k, i) for i, k in enumerate(keys)])

    def encrypt(self, plaintext: str) -> str:
        """Encrypt ``plaintext`` with the first key; returns a URL-safe text token."""
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        """Decrypt a token made with any configured key; raise ``CryptoError`` otherwise."""
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError) as exc:
            raise CryptoError(
                "cannot decrypt stored secret: it was encrypted with a key that is no longer "
                "configured (check the encryption keys / SECRET_KEY), or it is corrupted"
            ) from exc

    def rotate(self, token: str) -> str:
        """Re-encrypt a token under the first key (run over stored rows after adding a new key)."""
        try:
            return self._fernet.rotate(token.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeError) as exc:
            raise CryptoError("cannot rotate stored secret: no configured key decrypts it") from exc


def box_from_config(keys: str | list[str] | None, secret_key: str | None) -> SecretBox:
    """Build the application's ``SecretBox`` from configuration values.

    ``keys``: dedicated Fernet keys, newest first, as a list or a comma-separated string.
    ``secret_key``: the app SECRET_KEY; its derived key encrypts when no dedicated key is set and
    otherwise stays last as a decrypt-only fallback.
    """
    if isinstance(keys, str):
        keys = [k for k in (part.strip() for part in keys.split(",")) if k]
    chosen = list(keys or [])
    if secret_key:
        derived = derive_key(secret_key)
        if derived not in chosen:
            chosen.append(derived)
    if not chosen:
        raise CryptoError("no encryption key: set dedicated encryption keys or SECRET_KEY")
    return SecretBox(chosen)


def mask(secret: str | None) -> str:
    """Return ``••••`` plus the last 4 characters, for showing a stored secret to an admin.

    Secrets shorter than 8 characters show no characters at all: revealing 4 of 6 characters
    would give most of it away.
    """
    if not secret:
        return ""
    if len(secret) < 8:
        return MASK
    return MASK + secret[-4:]
