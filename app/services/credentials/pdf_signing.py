"""Signed PDFs: the organisation's signing identity, the timestamp server, and signing every stored PDF.

- The **identity** is a self-issued certificate made on first use, or a PKCS#12 an admin uploaded (e.g. from
  a commercial CA, so Acrobat shows a green tick). The private key is stored encrypted with the app's key
  ring (`app.services.secrets.secret_box`). Replacing it keeps the old row (marked replaced), so PDFs signed
  before still show "signed by us" (`trusted_certificates`).
- The **TSA URL** (optional): an RFC 3161 server asked through our outgoing-address policy for a timestamp
  on every signature (PAdES B-T). When it fails, the PDF is signed without one (B-B) and a warning logged:
  a TSA outage must not stop certificates.
- `sign(pdf, cert)` is called by the render pipeline before storage (`documents.rendering.produce`) and
  for the stamped REVOKED/EXPIRED copies (`documents.downloads.read_pdf`). The files embedded in the PDF
  come from `embedded_files(cert)`, the one place that decides them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.connectors import egress
from app.connectors.crypto import CryptoError
from app.connectors.http import UnsafeURLError, check_url
from app.credentials import pades
from app.credentials import x509 as identities
from app.credentials.errors import CredentialError
from app.credentials.x509 import SigningIdentity
from app.database import utcnow
from app.extensions import db
from app.models import Certificate, User
from app.models.pdf_signing import PdfSigningIdentity, PdfSigningSettings
from app.rules import display
from app.services import audit, organisation
from app.services.credentials import open_badges
from app.services.errors import NotAllowed, ValidationError
from app.services.fields import clean_text
from app.services.secrets import secret_box

SETTINGS_ID = 1
MAX_TSA_URL = 500
MAX_PKCS12_BYTES = identities.MAX_PKCS12_BYTES

Attachment = tuple[str, bytes, str]


# --------------------------------------------------------------------------------------------
# What goes into the PDF
# --------------------------------------------------------------------------------------------


#: The PDF carries its Open Badges 3.0 credential under this name (the verify page reads it back).
CREDENTIAL_FILE = "credential.json"


def embedded_files(cert: Certificate) -> list[Attachment]:
    """The files embedded in ``cert``'s PDF before signing, as ``(file name, bytes, MIME type)``: the
    certificate's Open Badges 3.0 credential with its proof and status entry, so the PDF alone carries
    everything a verifier needs offline (the signature covers it)."""
    credential = open_badges.current_credential(cert, "ldp")
    return [(CREDENTIAL_FILE, open_badges.serialized(credential), "application/vc")]  # VC 2.0 media type


# --------------------------------------------------------------------------------------------
# The identity
# --------------------------------------------------------------------------------------------


#: A self-issued certificate is replaced this long before it expires (readers warn about a certificate
#: that expires soon after signing); an uploaded one only once it has expired: an expired certificate
#: never signs, a new self-issued one takes over (and the admin page says why).
RENEW_SELF_ISSUED_BEFORE = timedelta(days=30)


def current_row() -> PdfSigningIdentity:
    """The identity that signs new PDFs; a self-issued one is made (and committed) on first use, and
    when the current one is (about to be) expired."""
    row = _current()
    if row is None:
        return _create_self_issued()
    if _expiring(row):
        return _create_self_issued(replacing=row)
    return row


def expires_soon(row: PdfSigningIdentity) -> bool:
    """Within RENEW_SELF_ISSUED_BEFORE of its end (the admin page warns about an uploaded one)."""
    return row.not_after <= utcnow() + RENEW_SELF_ISSUED_BEFORE


def _expiring(row: PdfSigningIdentity) -> bool:
    margin = RENEW_SELF_ISSUED_BEFORE if row.kind == "self_issued" else timedelta(0)
    return row.not_after <= utcnow() + margin


def _current() -> PdfSigningIdentity | None:
    return db.session.scalar(select(PdfSigningIdentity).where(PdfSigningIdentity.current.is_(True)))


def current_or_none() -> PdfSigningIdentity | None:
    """The current identity without making one (the admin page: a GET writes nothing)."""
    return _current()


def replaced() -> list[PdfSigningIdentity]:
    """The identities that signed PDFs before the current one, newest first."""
    return list(db.session.scalars(select(PdfSigningIdentity).where(PdfSigningIdentity.current.is_(None))
                                   .order_by(PdfSigningIdentity.id.desc()).limit(50)))


def _row_for(identity: SigningIdentity, kind: str, actor_id: int | None) -> PdfSigningIdentity:
    return PdfSigningIdentity(
        kind=kind, current=True, subject=identity.subject[:1000], issuer=identity.issuer[:1000],
        common_name=identity.common_name[:300], fingerprint=identity.fingerprint,
        not_before=identity.not_before, not_after=identity.not_after,
        certificate_pem=identities.certificate_pem(identity.certificate),
        chain_pem=identities.chain_pem(identity.chain),
        private_key=secret_box().encrypt(identities.private_key_pem(identity.private_key)),
        created_by_id=actor_id)


def _create_self_issued(replacing: PdfSigningIdentity | None = None) -> PdfSigningIdentity:
    """Make a self-issued identity (the first one, or one replacing an expiring ``replacing``) in a
    transaction of its own, committed before anything is signed with it: a PDF must never carry a
    signature whose certificate was rolled back with the caller's work. Two processes at once: the unique
    ``current`` column lets one win; the other reads the winner's row."""
    identity = identities.make_self_issued(organisation.branding().name)
    if _holds_sqlite_write_lock():
        # A second SQLite connection would wait for our own lock: use a savepoint in the caller's
        # transaction instead (its commit publishes the identity with the work that used it).
        try:
            with db.session.begin_nested():
                _swap(db.session, identity, replacing)
        except IntegrityError:
            return _existing()
    else:
        try:
            with Session(db.engine) as own, own.begin():
                _swap(own, identity, replacing)
        except IntegrityError:
            return _existing()
    row = _existing()
    if replacing is None:
        summary = f"Self-issued PDF signing certificate created: {row.common_name}"
    else:
        ends = "expired" if replacing.not_after <= utcnow() else "expires"
        summary = (f"PDF signing certificate {replacing.common_name} {ends} on "
                   f"{display.day(replacing.not_after)}: a new self-issued one signs new PDFs")
    audit.record("system", "pdf_signing.identity_created", "pdf_signing_identity", row.id, summary,
                 fingerprint=row.fingerprint, replaced=replacing.fingerprint if replacing else None)
    return row


def _swap(session: Session, identity: SigningIdentity, replacing: PdfSigningIdentity | None) -> None:
    if replacing is not None:
        done = session.execute(update(PdfSigningIdentity)
                               .where(PdfSigningIdentity.id == replacing.id,
                                      PdfSigningIdentity.current.is_(True))
                               .values(current=None, replaced_at=utcnow())
                               .execution_options(synchronize_session=False))
        if done.rowcount != 1:  # another process replaced it first: let the unique column say so
            raise IntegrityError("replaced already", None, Exception("replaced already"))
    session.add(_row_for(identity, "self_issued", None))
    session.flush()


def _existing() -> PdfSigningIdentity:
    row = _current()
    if row is None:  # pragma: no cover - the unique constraint fired, so a current row exists
        raise NotAllowed("The PDF signing certificate could not be created; try again.")
    return row


def _holds_sqlite_write_lock() -> bool:
    connection = db.session.connection()
    if connection.dialect.name != "sqlite":
        return False
    return bool(connection.connection.driver_connection.in_transaction)


_loaded: dict[int, SigningIdentity] = {}
_loaded_lock = threading.Lock()


def identity_of(row: PdfSigningIdentity) -> SigningIdentity:
    """The row's certificate and decrypted key (kept per process: rows never change their key)."""
    with _loaded_lock:
        cached = _loaded.get(row.id)
    if cached is not None and identities.fingerprint(cached.certificate) == row.fingerprint:
        return cached
    try:
        key_pem = secret_box().decrypt(row.private_key)
    except CryptoError as exc:
        raise CredentialError("The PDF signing key cannot be decrypted: the encryption keys changed "
                              "(INTEGRATIONS_ENCRYPTION_KEYS / SECRET_KEY).") from exc
    identity = identities.identity_from_pem(key_pem, row.certificate_pem, row.chain_pem)
    with _loaded_lock:
        if len(_loaded) > 16:
            _loaded.clear()
        _loaded[row.id] = identity
    return identity


def trusted_certificates() -> list[x509.Certificate]:
    """Every certificate we ever signed PDFs with (current and replaced), for the verify page."""
    pems = db.session.scalars(select(PdfSigningIdentity.certificate_pem).order_by(PdfSigningIdentity.id))
    return [c for pem in pems for c in identities.load_certificates(pem)]


def _replace_current(new: PdfSigningIdentity, now: datetime) -> PdfSigningIdentity | None:
    """Mark the current identity replaced and make ``new`` current (in the caller's transaction)."""
    old = _current()
    if old is not None:
        db.session.execute(update(PdfSigningIdentity).where(PdfSigningIdentity.id == old.id)
                           .values(current=None, replaced_at=now)
                           .execution_options(synchronize_session=False))
        db.session.flush()
        db.session.refresh(old)
    db.session.add(new)
    db.session.flush()
    return old


def upload_pkcs12(data: bytes | None, password: str | None, *, actor: User) -> PdfSigningIdentity:
    """Sign new PDFs with the certificate and key in an uploaded PKCS#12 (.p12/.pfx)."""
    try:
        identity = identities.load_pkcs12(data or b"", password or "", now=utcnow())
    except CredentialError as exc:
        field = "password" if "password" in str(exc).lower() else "pkcs12"
        raise ValidationError({field: str(exc)}) from None
    current = _current()
    if current is not None and current.fingerprint == identity.fingerprint:
        raise ValidationError({"pkcs12": "This certificate is already the one signing PDFs."})
    now = utcnow()
    row = _row_for(identity, "uploaded", actor.id)
    old = _replace_current(row, now)
    audit.record(actor, "pdf_signing.certificate_uploaded", "pdf_signing_identity", row.id,
                 f"PDF signing certificate uploaded: {row.common_name} (issued by {row.issuer[:200]})",
                 fingerprint=row.fingerprint, replaced=old.fingerprint if old else None)
    return row


def use_self_issued(*, actor: User) -> PdfSigningIdentity:
    """Go back to a new self-issued certificate (after an uploaded one; the uploaded one is kept as
    replaced, so PDFs it signed still verify as ours)."""
    current = _current()
    if current is not None and current.kind == "self_issued":
        raise NotAllowed("PDFs are already signed with a self-issued certificate.")
    identity = identities.make_self_issued(organisation.branding().name)
    row = _row_for(identity, "self_issued", actor.id)
    old = _replace_current(row, utcnow())
    audit.record(actor, "pdf_signing.self_issued", "pdf_signing_identity", row.id,
                 f"PDFs are signed with a new self-issued certificate: {row.common_name}",
                 fingerprint=row.fingerprint, replaced=old.fingerprint if old else None)
    return row


# --------------------------------------------------------------------------------------------
# The timestamp server
# --------------------------------------------------------------------------------------------


def tsa_url() -> str:
    row = db.session.get(PdfSigningSettings, SETTINGS_ID)
    return row.tsa_url if row else ""


def _allow_private() -> bool:
    return egress.private_allowed(current_app.config)


def set_tsa_url(value: object, *, actor: User) -> str:
    """Save the timestamp server's URL ("" turns timestamps off). The URL must pass the outgoing-address
    policy and answer a real timestamp request, so a typo is caught here rather than on every PDF."""
    try:
        url = clean_text(value, MAX_TSA_URL, label="a URL")
    except ValueError as exc:
        raise ValidationError({"tsa_url": str(exc)}) from None
    if url:
        _check_tsa(url)
    row = db.session.get(PdfSigningSettings, SETTINGS_ID)
    if row is None:
        row = PdfSigningSettings(id=SETTINGS_ID, tsa_url="")
        db.session.add(row)
    if row.tsa_url == url:
        return url
    row.tsa_url, row.updated_by_id = url, actor.id
    db.session.flush()
    audit.record(actor, "pdf_signing.tsa_changed", "pdf_signing_settings", SETTINGS_ID,
                 f"Timestamp server set to {url}" if url else "Timestamp server removed", url=url)
    return url


def _check_tsa(url: str) -> None:
    if not url.lower().startswith(("http://", "https://")):
        raise ValidationError({"tsa_url": "Enter an http:// or https:// address."})
    try:
        check_url(url, allow_private=_allow_private())
    except UnsafeURLError as exc:
        raise ValidationError({"tsa_url": str(exc)}) from None
    except OSError as exc:  # requests' ConnectionError: the name does not resolve
        raise ValidationError({"tsa_url": f"This address cannot be reached: {exc}"}) from None
    try:
        pades.probe_timestamper(pades.EgressTimeStamper(url, allow_private=_allow_private()))
    except CredentialError as exc:
        message = f"This address did not answer as a timestamp server: {exc}"
        raise ValidationError({"tsa_url": message}) from None


_timestampers: dict[tuple[str, bool], pades.EgressTimeStamper] = {}


def timestamper() -> pades.EgressTimeStamper | None:
    """The TSA client, or None. Kept per process and URL: pyHanko asks once for a sample timestamp to
    size the signature, then one request per PDF."""
    url = tsa_url()
    if not url:
        return None
    key = (url, _allow_private())
    stamper = _timestampers.get(key)
    if stamper is None:
        if len(_timestampers) > 8:
            _timestampers.clear()
        stamper = _timestampers[key] = pades.EgressTimeStamper(url, allow_private=key[1])
    return stamper


# --------------------------------------------------------------------------------------------
# Signing
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedPdf:
    data: bytes
    identity_id: int
    timestamped: bool


def sign_pdf(pdf: bytes, *, attachments: list[Attachment] | None = None,
             reason: str | None = None) -> SignedPdf:
    """Sign ``pdf`` with the current identity (B-T when a TSA is set and answers, else B-B)."""
    row = current_row()
    identity = identity_of(row)
    stamper = timestamper()
    files = attachments or []
    if stamper is not None:
        try:
            signed = pades.sign_pdf(pdf, identity, attachments=files, timestamper=stamper, reason=reason)
            return SignedPdf(signed, row.id, True)
        except CredentialError as exc:
            current_app.logger.warning("PDF signed without a timestamp: %s", exc)
            _timestampers.clear()  # a fresh sample next time: the TSA may have changed its certificate
    return SignedPdf(pades.sign_pdf(pdf, identity, attachments=files, reason=reason), row.id, False)


def sign(pdf: bytes, cert: Certificate) -> bytes:
    """``cert``'s freshly rendered PDF, with its embedded files, signed (what is stored)."""
    return sign_pdf(pdf, attachments=embedded_files(cert)).data


def sign_copy(pdf: bytes, reason: str) -> bytes:
    """A changed copy of a stored PDF (stamped REVOKED/EXPIRED), signed as it is (its embedded files are
    already inside); ``reason`` says what changed, in the signature's /Reason."""
    return sign_pdf(pdf, reason=reason).data
