"""Open Badges 3.0 credentials: every certificate as an `OpenBadgeCredential` (W3C VC Data Model 2.0),
signed either with an embedded Data Integrity proof (eddsa-rdfc-2022) or as a VC-JWT (VC-JOSE, EdDSA).

The document is built from what the certificate froze at issue (its snapshot: holder, certification,
courses) plus the certification's minimum score, so it is the same every time it is built: the proof's
`created` is the issue time and Ed25519 signatures are deterministic, so one certificate, one key and one
status give the same bytes on every download.

Privacy: the holder's email never appears; the subject carries `sha256$hex(sha256(email + salt))` with
a salt of its own per certificate (an HMAC of the verification code under a key derived from SECRET_KEY:
reproducible, yet nobody can test a guessed address against another certificate's hash without the salt
printed in that certificate). The holder's name is in it, as on the public verify page.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Literal

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.credentials import data_integrity, vc_jwt
from app.credentials.jsonld import OB_V3, VC_V2
from app.extensions import db
from app.models import Certificate
from app.services.credentials import badges, criteria, issuer, keyring, status
from app.services.lifecycle import generations, verification

FORMATS = ("ldp", "jwt")
Format = Literal["ldp", "jwt"]
_SALT_INFO = b"laurel/credentials/identity-salt/v1"  # domain separation from other SECRET_KEY uses

# What a signed credential depends on: a commit changing any of it bumps the generation, so rendered
# public credentials (app/views/credentials/public.py) go stale at once on every host.
GENERATION = "credentials"
generations.track(GENERATION, {
    "certificates": frozenset({"code", "snapshot", "issued_at", "expires_at", "revoked_at", "user_id",
                               "certification_id"}),
    "certifications": frozenset({"name", "min_score"}),
    "signing_keys": generations.ANY,
    "organisation_settings": generations.ANY,  # the issuer's name and logo
})


@dataclass(frozen=True)
class Facts:
    """What a credential states about one certificate (everything comes from here, nothing else)."""

    code: str
    issued_at: datetime
    expires_at: datetime | None
    holder_name: str
    holder_email: str
    certification_id: int
    certification_name: str
    description: str
    courses: tuple[tuple[str, str], ...]  # (code, title), as frozen at issue
    min_score: float | None
    prerequisites: tuple[str, ...] = ()  # the certifications one must hold, by name


def facts_of(cert: Certificate) -> Facts:
    snap = cert.snapshot or {}
    courses = tuple((str(c.get("code") or ""), str(c.get("title") or "")) for c in snap.get("courses", []))
    if not courses:  # issued by hand: the certification's required courses (as the verify page shows)
        courses = tuple((c["code"], c["title"]) for c in verification.required_courses(cert.certification_id))
    certification = cert.certification
    return Facts(code=cert.code, issued_at=cert.issued_at, expires_at=cert.expires_at,
                 holder_name=str(snap.get("holder_name") or cert.user.name),
                 holder_email=str(snap.get("holder_email") or cert.user.email),
                 certification_id=cert.certification_id,
                 certification_name=str(snap.get("certification_name") or certification.name),
                 description=str(snap.get("certification_description") or ""),
                 courses=courses, min_score=certification.min_score,
                 prerequisites=tuple(p.name for p in certification.prerequisites))


# What an unknown code builds and signs, so that a miss costs what a hit does (the public credential URL
# must not tell by its timing which codes exist; see app/views/credentials/public.py).
STAND_IN = Facts(code="0" * 22, issued_at=datetime(2026, 1, 1, tzinfo=UTC), expires_at=None,
                 holder_name="Nobody", holder_email="nobody@invalid", certification_id=0,
                 certification_name="Nothing", description="", courses=(("NONE", "Nothing"),), min_score=None)


# --------------------------------------------------------------------------------------------
# The document
# --------------------------------------------------------------------------------------------


def credential_url(code: str) -> str:
    return f"{current_app.config['BASE_URL'].rstrip('/')}/credentials/{code}"


def credential_document(cert: Certificate, status: dict | None = None) -> dict:
    """The unsigned OpenBadgeCredential of `cert`; `status` (a BitstringStatusListEntry) goes in
    `credentialStatus` when given."""
    return document_from(facts_of(cert), status)


def document_from(facts: Facts, status: dict | None = None) -> dict:
    document: dict = {
        "@context": [VC_V2, OB_V3],
        "id": credential_url(facts.code),
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": issuer.profile(),
        "validFrom": xsd_datetime(facts.issued_at),
        "name": facts.certification_name,
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": identifiers(facts),
            "achievement": achievement(facts),
        },
    }
    if facts.expires_at is not None:
        document["validUntil"] = xsd_datetime(facts.expires_at)
    if status:
        document["credentialStatus"] = status
    return document


def xsd_datetime(moment: datetime) -> str:
    """UTC to the second, "2026-01-10T09:00:00Z" (what VC 2.0's validFrom/validUntil take)."""
    if moment.tzinfo is None:  # SQLite hands back naive UTC in a few raw paths
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def identifiers(facts: Facts) -> list[dict]:
    """The holder: the salted hash of their email (never the email), and their name as shown publicly."""
    salt = identity_salt(facts.code)
    return [
        {"type": "IdentityObject", "identityHash": identity_hash(facts.holder_email, salt),
         "identityType": "emailAddress", "hashed": True, "salt": salt},
        {"type": "IdentityObject", "identityHash": facts.holder_name, "identityType": "name",
         "hashed": False},
    ]


def identity_hash(email: str, salt: str) -> str:
    """Open Badges 3.0: "sha256$" + the hex SHA-256 of the identifier followed by the salt."""
    return "sha256$" + hashlib.sha256((email.strip().lower() + salt).encode("utf-8")).hexdigest()


def identity_salt(code: str) -> str:
    """128 bits, the same for a certificate every time (an HMAC of its code), different per certificate."""
    return hmac.new(_salt_key(current_app.config["SECRET_KEY"]), code.encode("utf-8"),
                    hashlib.sha256).hexdigest()[:32]


@lru_cache(maxsize=4)
def _salt_key(secret_key: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_SALT_INFO).derive(secret_key.encode())


def achievement(facts: Facts) -> dict:
    result: dict = {"id": achievement_id(facts.certification_id), "type": ["Achievement"],
                    "name": facts.certification_name,
                    "description": facts.description or f"The {facts.certification_name} certification.",
                    "criteria": {"narrative": criteria_narrative(facts)}}
    image = achievement_image_url(facts.certification_id)
    if image:
        result["image"] = {"id": image, "type": "Image"}
    return result


def achievement_id(certification_id: int) -> str:
    """`urn:uuid:` of a UUID5 over the issuer's DID and the certification: stable, and no guessable URL."""
    return "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"{keyring.issuer_did()}/certifications/"
                                                            f"{certification_id}"))


def achievement_image_url(certification_id: int) -> str | None:
    """The certification's badge image (uploaded or generated), as an absolute URL; None for the stand-in."""
    badge = badges.badge_of(certification_id)
    return badges.image_url(badge) if badge else None


def criteria_narrative(facts: Facts) -> str:
    """The rule this certificate was earned under, from what was frozen at issue."""
    return criteria.narrative(facts.courses, facts.min_score, facts.prerequisites)


# --------------------------------------------------------------------------------------------
# Signing
# --------------------------------------------------------------------------------------------


def signed_credential(cert: Certificate, fmt: Format, status: dict | None = None) -> dict | str:
    """`fmt` "ldp": the credential with its DataIntegrityProof (a dict); "jwt": a compact VC-JWT (a str)."""
    return sign(credential_document(cert, status), fmt, created=cert.issued_at)


def sign(document: dict, fmt: Format, *, created: datetime) -> dict | str:
    if fmt not in FORMATS:
        raise ValueError(f"Unknown credential format {fmt!r}: use ldp or jwt.")
    signer = keyring.signer()
    if fmt == "ldp":
        return data_integrity.add_proof(document, signer.private_key, signer.verification_method,
                                        created=created.replace(microsecond=0))
    return vc_jwt.sign_jwt(document, signer.private_key, signer.verification_method)


def signed_stand_in(fmt: Format) -> dict | str:
    """The same work as signing a real credential, for an unknown code (the answer is a 404)."""
    # With a status entry like a real credential's: the same document size to canonicalize and sign.
    return sign(document_from(STAND_IN, status.entry_document(1, 0)), fmt, created=STAND_IN.issued_at)


# --------------------------------------------------------------------------------------------
# The public credential URL
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Published:
    """A credential as served at its public URL: `body` (None for an unknown code) and `version`, which
    changes whenever the body does (the ETag)."""

    body: bytes | None
    version: str
    certificate_id: int | None = None


def lookup(code: str) -> Certificate | None:
    """The certificate and its certification in one indexed statement (hit or miss alike)."""
    bounded = (code or "")[:verification.MAX_CODE]
    if "\x00" in bounded:  # PostgreSQL text cannot hold NUL: ask for a code that cannot exist instead
        bounded = ""
    return db.session.scalar(select(Certificate).options(joinedload(Certificate.certification))
                             .where(Certificate.code == bounded))


def published(code: str, fmt: Format) -> Published:
    """The signed credential for a verification code. An unknown code signs a stand-in document and
    throws it away: a miss costs what a hit does, so the time taken does not tell which codes exist."""
    cert = lookup(code)
    if cert is None:
        signed_stand_in(fmt)
        return Published(None, "missing")
    body = serialized(current_credential(cert, fmt))
    return Published(body, hashlib.sha256(body).hexdigest()[:20], cert.id)


def current_credential(cert: Certificate, fmt: Format) -> dict | str:
    """What every download serves: the credential signed now, with its status entry."""
    return signed_credential(cert, fmt, status=credential_status(cert))


def serialized(signed: dict | str) -> bytes:
    """The bytes of a download: the JWT as is, the JSON-LD indented (people open it too)."""
    return signed.encode("ascii") if isinstance(signed, str) else json.dumps(
        signed, ensure_ascii=False, indent=2).encode("utf-8")


def credential_status(cert: Certificate) -> dict | None:
    """The certificate's `credentialStatus` entry: its place in a Bitstring Status List
    (app/services/credentials/status.py; assigned on first use for certificates that have none)."""
    return status.credential_status(cert)
