"""Add to wallet: a one-time VC-API exchange that hands the holder's Open Badges credential to a wallet.

The holder opens an exchange from their session; its URL (`/exchanges/<token>`) is the secret: 256 random
bits, only its SHA-256 is stored, it expires after EXCHANGE_MINUTES and works once. A wallet POSTs to it
(any JSON object, usually `{}`) and gets `{"verifiablePresentation": {... "verifiableCredential":
[the signed credential]}}` (W3C VC-API "exchanges"; the presentation is not signed: the credential inside
carries the issuer's proof, and no holder binding is asked for). A GET answers the `protocols` object a
wallet reads from an interaction URL (CHAPI / VC-API).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from app.database import utcnow
from app.extensions import db
from app.models import Certificate, User, WalletExchange
from app.services import audit
from app.services.credentials import open_badges
from app.services.errors import NotAllowed, RateLimited

EXCHANGE_MINUTES = 15
MAX_OPEN_PER_HOUR = 30
VC_V2 = "https://www.w3.org/ns/credentials/v2"
MAX_TOKEN = 64


class ExchangeClosed(Exception):
    """The exchange existed but expired or was used: a wallet is told so (410 Gone)."""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_exchange(cert: Certificate, *, actor: User,
                  now: datetime | None = None) -> tuple[WalletExchange, str]:
    """A new exchange for the holder's own certificate: (row, token). The token is shown once."""
    now = now or utcnow()
    if cert.user_id != actor.id:
        raise NotAllowed("Only the holder can add this certificate to a wallet.")
    if cert.revoked_at is not None:
        raise NotAllowed("A revoked certificate cannot be added to a wallet.")
    recent = db.session.scalar(select(func.count(WalletExchange.id)).where(
        WalletExchange.user_id == actor.id, WalletExchange.created_at >= now - timedelta(hours=1))) or 0
    if recent >= MAX_OPEN_PER_HOUR:
        raise RateLimited(f"At most {MAX_OPEN_PER_HOUR} wallet links an hour. Try again later.")
    token = secrets.token_urlsafe(32)
    row = WalletExchange(token_hash=_digest(token), certificate_id=cert.id, user_id=actor.id,
                         created_at=now, expires_at=now + timedelta(minutes=EXCHANGE_MINUTES))
    db.session.add(row)
    db.session.flush()
    audit.record(actor, "credential.wallet_exchange_opened", "certificate", cert.id,
                 f"{cert.serial}: wallet link opened (valid {EXCHANGE_MINUTES} minutes)", serial=cert.serial)
    return row, token


def find_open(token: str, now: datetime | None = None) -> WalletExchange | None:
    """The exchange behind a token while it can still be used; raises ExchangeClosed when it is spent or
    expired, None when there is none."""
    now = now or utcnow()
    if not token or len(token) > MAX_TOKEN:
        return None
    row = db.session.scalar(select(WalletExchange).where(WalletExchange.token_hash == _digest(token)))
    if row is None:
        return None
    if row.used_at is not None or row.expires_at <= now:
        raise ExchangeClosed("This wallet link was already used or has expired. Ask for a new one.")
    return row


def redeem(token: str, now: datetime | None = None) -> dict | None:
    """Spend the exchange and answer the wallet: {"verifiablePresentation": ...}. None for an unknown
    token; ExchangeClosed for a spent or expired one. Exactly once: the conditional UPDATE decides between
    two wallets posting at the same moment."""
    now = now or utcnow()
    row = find_open(token, now)
    if row is None:
        return None
    spent = db.session.execute(
        update(WalletExchange).where(WalletExchange.id == row.id, WalletExchange.used_at.is_(None),
                                     WalletExchange.expires_at > now)
        .values(used_at=now).execution_options(synchronize_session=False))
    if spent.rowcount != 1:
        raise ExchangeClosed("This wallet link was already used or has expired. Ask for a new one.")
    cert = db.session.get(Certificate, row.certificate_id)
    if cert is None or cert.revoked_at is not None:
        raise ExchangeClosed("This certificate can no longer be added to a wallet.")
    answer = {"verifiablePresentation": presentation(cert)}
    audit.record("wallet", "credential.wallet_exchange_used", "certificate", cert.id,
                 f"{cert.serial}: credential handed to a wallet", serial=cert.serial)
    return answer


def presentation(cert: Certificate) -> dict:
    """An unsigned VerifiablePresentation carrying the signed OB 3.0 credential (Data Integrity proof), the
    same credential the public download serves (with its status entry)."""
    return {"@context": [VC_V2], "type": ["VerifiablePresentation"],
            "verifiableCredential": [open_badges.current_credential(cert, "ldp")]}


def recent_exchanges(user: User, cert: Certificate, now: datetime | None = None) -> list[WalletExchange]:
    """The holder's exchanges for one certificate in the last day (for the page: used / expired)."""
    now = now or utcnow()
    return list(db.session.scalars(select(WalletExchange).where(
        WalletExchange.user_id == user.id, WalletExchange.certificate_id == cert.id,
        WalletExchange.created_at >= now - timedelta(days=1)).order_by(WalletExchange.created_at.desc())
        .limit(10)))
