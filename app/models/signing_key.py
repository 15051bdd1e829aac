"""The organisation's Ed25519 signing keys for credentials: one active, the rotated ones still published."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.database import utcnow
from app.extensions import db

ACTIVE = 1  # the value of `active_slot` on the one active key


class SigningKey(db.Model):
    """One Ed25519 key pair. The private half is encrypted with the app's key ring
    (app/services/secrets.py); the public half is its Multikey ("z6Mk..."), which is also the fragment of
    its verification method id in the DID document.

    `active_slot` is 1 on the active key and NULL on retired ones: the unique constraint lets any number
    of NULLs through but only one 1, so two processes creating the first key (or rotating) at the same
    moment can never both end with an active key; the loser gets an IntegrityError.
    """

    __tablename__ = "signing_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    multikey: Mapped[str] = mapped_column(String(64), unique=True)
    private_key: Mapped[str] = mapped_column(Text)  # SecretBox token of the 32-byte raw private key (hex)
    active_slot: Mapped[int | None] = mapped_column(unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[datetime | None]

    __table_args__ = (CheckConstraint("active_slot IS NULL OR active_slot = 1", name="active_slot_is_one"),)

    @property
    def active(self) -> bool:
        return self.active_slot == ACTIVE
