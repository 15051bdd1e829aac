"""The organisation's signing keys: the active Ed25519 key that signs credentials, and every published one.

- One organisation per installation, so one key ring: the table `signing_keys` (app/models/signing_key.py).
- The active key is generated on first use (or by `flask seed-demo` / `flask rotate-signing-key` at start),
  in its own committed transaction: a credential is never signed with a key whose row could still be
  rolled back, i.e. one that would never be published. Two processes doing it at once end with one key
  (the unique `active_slot`; the loser reads the winner's row).
- Rotation retires the active key (still published in the DID document, so everything it signed keeps
  verifying) and makes a new active one. Keys are never deleted.
- Private keys are encrypted at rest with the app's SecretBox (INTEGRATIONS_ENCRYPTION_KEYS, else a key
  derived from SECRET_KEY).
- Identity: the issuer is the did:web DID of BASE_URL; a key's verification method is `<did>#<multikey>`.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote, urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import current_app
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from app.connectors.crypto import CryptoError
from app.credentials.errors import CredentialError
from app.credentials.multikey import public_key_from_multikey, public_multikey
from app.database import utcnow
from app.extensions import db
from app.models import AuditEvent
from app.models.signing_key import ACTIVE, SigningKey
from app.services import audit
from app.services.errors import NotAllowed
from app.services.secrets import secret_box

MAX_VERIFICATION_METHOD = 512  # longer than any id we publish: refused before any parsing
_MULTIKEY = re.compile(r"z[1-9A-HJ-NP-Za-km-z]{40,60}")  # base58btc: what a published fragment looks like


@dataclass(frozen=True)
class Signer:
    """What a signature needs: the private key and the verification method id naming its public half."""

    private_key: Ed25519PrivateKey
    verification_method: str


# --------------------------------------------------------------------------------------------
# Identity
# --------------------------------------------------------------------------------------------


def issuer_did(base_url: str | None = None) -> str:
    """The organisation's did:web DID, from BASE_URL: `did:web:host`, `did:web:host%3Aport`, and the path's
    segments after colons (`https://example.org/laurel` -> `did:web:example.org:laurel`)."""
    parts = urlsplit(base_url or current_app.config["BASE_URL"])
    host = quote((parts.hostname or "").lower(), safe="")
    if parts.port:
        host += f"%3A{parts.port}"
    segments = [quote(segment, safe="") for segment in parts.path.split("/") if segment]
    return ":".join(["did", "web", host, *segments])


def did_document_url(base_url: str | None = None) -> str:
    """Where did:web resolution looks: /.well-known/did.json at the root, <path>/did.json under a path."""
    base = (base_url or current_app.config["BASE_URL"]).rstrip("/")
    has_path = bool(urlsplit(base).path.strip("/"))
    return f"{base}/did.json" if has_path else f"{base}/.well-known/did.json"


def verification_method_id(multikey: str) -> str:
    return f"{issuer_did()}#{multikey}"


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def published_keys() -> list[SigningKey]:
    """Every key a credential may name: the active one first, then the retired ones, newest first."""
    keys = db.session.scalars(select(SigningKey).order_by(SigningKey.id.desc())).all()
    return sorted(keys, key=lambda k: not k.active)


def resolve(verification_method: str) -> Ed25519PublicKey | None:
    """The public key a verification method names, when it is one of ours (current or rotated out).

    None for anything else: another issuer's DID, a key we never published, a malformed id."""
    if not isinstance(verification_method, str) or len(verification_method) > MAX_VERIFICATION_METHOD:
        return None
    did, _, fragment = verification_method.partition("#")
    if did != issuer_did() or not _MULTIKEY.fullmatch(fragment):
        return None
    known = db.session.scalar(select(SigningKey.multikey).where(SigningKey.multikey == fragment))
    if known is None:
        return None
    try:
        return public_key_from_multikey(known)
    except CredentialError:
        return None


def active_key() -> SigningKey:
    """The active key; generated (and committed on its own) when there is none yet."""
    row = _active_row()
    if row is None:
        _create_first_key()
        row = _active_row()
    if row is None:  # pragma: no cover - the insert committed or another process's did
        raise RuntimeError("no active signing key after creating one")
    return row


def signer() -> Signer:
    """The active key, ready to sign (generated on first use)."""
    row = active_key()
    return Signer(_private_key(row), verification_method_id(row.multikey))


def _active_row() -> SigningKey | None:
    return db.session.scalar(select(SigningKey).where(SigningKey.active_slot == ACTIVE))


# Decrypted private keys by row id: a row's key never changes, so an entry never goes stale (a rotation
# makes a new row). Spares the Fernet decryption on every signature.
_private_keys: dict[tuple[int, str], Ed25519PrivateKey] = {}
_private_keys_lock = threading.Lock()


def _private_key(row: SigningKey) -> Ed25519PrivateKey:
    cache_key = (row.id, row.multikey)
    key = _private_keys.get(cache_key)
    if key is None:
        try:
            raw = bytes.fromhex(secret_box().decrypt(row.private_key))
        except CryptoError as exc:  # SECRET_KEY / INTEGRATIONS_ENCRYPTION_KEYS changed since the key was made
            raise RuntimeError(f"signing key {row.id} cannot be decrypted with the configured keys: "
                               "rotate it (Admin › Credentials, or flask rotate-signing-key)") from exc
        key = Ed25519PrivateKey.from_private_bytes(raw)
        if public_multikey(key.public_key()) != row.multikey:
            raise RuntimeError(f"signing key {row.id}: the stored private key does not match its public key")
        with _private_keys_lock:
            _private_keys[cache_key] = key
    return key


# --------------------------------------------------------------------------------------------
# Creating and rotating
# --------------------------------------------------------------------------------------------


def _new_key_values(now: datetime) -> dict:
    """A fresh key pair as the columns of a new active row (the private half encrypted)."""
    key = Ed25519PrivateKey.generate()
    raw = key.private_bytes_raw().hex()
    return {"multikey": public_multikey(key.public_key()), "private_key": secret_box().encrypt(raw),
            "active_slot": ACTIVE, "created_at": now, "retired_at": None}


def _uses_session_transaction() -> bool:
    """SQLite: when this session already holds the write lock, another connection could not write until
    it commits (it would wait out the busy timeout): the key is then created in the session's own
    transaction instead (it commits with the caller's work, which needs a commit anyway)."""
    connection = db.session.connection()
    if connection.dialect.name != "sqlite":
        return False
    return bool(connection.connection.driver_connection.in_transaction)


def _create_first_key() -> None:
    """Insert the first active key, committed at once; a concurrent creator's key wins ties."""
    values = _new_key_values(utcnow())
    event = {"actor_id": None, "actor_label": "system", "action": "signing_key.created",
             "subject_type": "signing_key", "subject_id": None,
             "summary": f"Credential signing key created ({values['multikey'][:16]}…)",
             "data": {"multikey": values["multikey"], "reason": "first use"}, "at": values["created_at"]}
    if _uses_session_transaction():
        try:
            with db.session.begin_nested():
                db.session.execute(insert(SigningKey.__table__), values)
                db.session.execute(insert(AuditEvent.__table__), event)
        except IntegrityError:
            pass  # cannot happen under SQLite's single writer; kept for symmetry
        return
    try:
        with db.engine.begin() as connection:
            connection.execute(insert(SigningKey.__table__), values)
            connection.execute(insert(AuditEvent.__table__), event)
    except IntegrityError:
        return  # another process created the first key meanwhile: use theirs


def ensure_key() -> SigningKey:
    """Make sure an active key exists (start-up hook: `flask seed-demo`); idempotent."""
    return active_key()


def rotate(actor: audit.Actor, *, expected_id: int | None = None) -> SigningKey:
    """Retire the active key (it stays published) and make a new active one, in the caller's transaction.

    `expected_id`: the key the admin saw as active; when another rotation got there first, NotAllowed
    (409) instead of a second rotation from a double click.
    """
    current = active_key()
    if expected_id is not None and current.id != expected_id:
        raise NotAllowed("The signing key was already rotated; reload the page to see the current key.")
    now = utcnow()
    retired = db.session.execute(update(SigningKey).where(SigningKey.id == current.id,
                                                          SigningKey.active_slot == ACTIVE)
                                 .values(active_slot=None, retired_at=now))
    if retired.rowcount != 1:
        raise NotAllowed("The signing key was rotated at the same moment; reload the page.")
    values = _new_key_values(now)
    row = SigningKey(**values)
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
    except IntegrityError:
        raise NotAllowed("The signing key was rotated at the same moment; reload the page.") from None
    db.session.expire(current)
    audit.record(actor, "signing_key.rotated", "signing_key", row.id,
                 f"Credential signing key rotated: {current.multikey[:16]}… retired, "
                 f"{row.multikey[:16]}… active",
                 retired=current.multikey, active=row.multikey)
    return row
