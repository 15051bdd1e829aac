"""Open Badges 2.0 hosted verification: Assertion, BadgeClass and Issuer documents, and the baked PNG.

For platforms that import only OB 2.0 (badge backpacks, older LMSs). Verification is "hosted": the
Assertion lives at its own URL (`/ob2/assertions/<verification code>`), and a verifier fetches it there,
then its BadgeClass and the Issuer; a revoked certificate's Assertion answers 410 Gone with
`revoked: true` and the reason (OB 2.0, "Hosted verification"). The learner is named by a salted SHA-256
of their email (`IdentityObject`, hashed): the raw address never leaves Laurel. The salt (public in the
document, as the spec has it) is derived from the certificate's code with SECRET_KEY (HMAC): different
for every certificate, and the same Assertion comes back on every request without a stored column.

The baked PNG is the badge image with the Assertion's URL in an iTXt chunk, keyword "openbadges"
(app/credentials/baking.py).
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app

from app.credentials import baking
from app.extensions import db
from app.models import Certificate, Certification
from app.models.badge import BadgeImage
from app.services import organisation
from app.services.credentials import badges, criteria, open_badges
from app.services.credentials import issuer as issuer_profile
from app.services.lifecycle import verification
from app.services.messaging.outbox import external_url

CONTEXT = "https://w3id.org/openbadges/v2"
BAKING_KEYWORD = "openbadges"


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


# --------------------------------------------------------------------------------------------
# Addresses
# --------------------------------------------------------------------------------------------


def assertion_url(code: str) -> str:
    return external_url("credentials.ob2_assertion", code=code)


def baked_url(code: str) -> str:
    return external_url("credentials.ob2_baked", code=code)


def badge_class_url(badge: BadgeImage) -> str:
    return external_url("credentials.ob2_badge_class", token=badge.token)


def issuer_url() -> str:
    return external_url("credentials.ob2_issuer")


def image_url(badge: BadgeImage) -> str:
    return badges.image_url(badge)


# --------------------------------------------------------------------------------------------
# Recipient
# --------------------------------------------------------------------------------------------


def salt_for(code: str) -> str:
    """The certificate's salt: the same one its Open Badges 3.0 credential uses (one secret, one rule)."""
    return open_badges.identity_salt(code)


def hashed_identity(email: str, salt: str) -> str:
    """OB 2.0 IdentityObject: "sha256$" + hex(sha256(email + salt)), computed as OB 3.0 does."""
    return open_badges.identity_hash(email, salt)


# --------------------------------------------------------------------------------------------
# Documents
# --------------------------------------------------------------------------------------------


def _certificate(code: str) -> Certificate | None:
    if not code or len(code) > verification.MAX_CODE:
        return None
    return verification.lookup(code)


def assertion(code: str) -> tuple[dict, int] | None:
    """(document, HTTP status) for a verification code: the Assertion (200), or the revocation notice
    (410); None for an unknown code."""
    cert = _certificate(code)
    if cert is None:
        return None
    url = assertion_url(cert.code)
    if cert.revoked_at is not None:
        return {"@context": CONTEXT, "type": "Assertion", "id": url, "revoked": True,
                "revocationReason": cert.revoke_reason or "Revoked by the issuer"}, 410
    badge = badges.ensure_badge(cert.certification)
    salt = salt_for(cert.code)
    document = {
        "@context": CONTEXT,
        "type": "Assertion",
        "id": url,
        "recipient": {"type": "email", "hashed": True, "salt": salt,
                      "identity": hashed_identity(cert.user.email, salt)},
        "badge": badge_class_url(badge),
        "verification": {"type": "hosted"},
        "issuedOn": _iso(cert.issued_at),
        "image": baked_url(cert.code),
        "evidence": external_url("verify.show", code=cert.code),
        "narrative": f"Certificate {cert.serial}, verifiable at its evidence link.",
    }
    if cert.expires_at is not None:
        document["expires"] = _iso(cert.expires_at)
    return document, 200


def criteria_narrative(certification: Certification) -> str:
    """The rule as it stands today: a BadgeClass describes the certification, not one award."""
    return criteria.narrative([(c.code, c.title) for c in certification.courses], certification.min_score,
                              [p.name for p in certification.prerequisites])


def badge_class(token: str) -> dict | None:
    badge = badges.by_token(token)
    if badge is None:
        return None
    certification = db.session.get(Certification, badge.certification_id)
    if certification is None:
        return None
    return {
        "@context": CONTEXT,
        "type": "BadgeClass",
        "id": badge_class_url(badge),
        "name": certification.name,
        "description": certification.description or f"The {certification.name} certification.",
        "image": image_url(badge),
        "criteria": {"narrative": criteria_narrative(certification)},
        "issuer": issuer_url(),
    }


def issuer_email() -> str:
    """The issuer Profile's address (app/services/credentials/issuer.py): OB 2.0 requires one."""
    return issuer_profile.contact_email() or "no-reply@laurel.local"


def issuer() -> dict:
    brand = organisation.branding()
    document = {
        "@context": CONTEXT,
        "type": "Issuer",
        "id": issuer_url(),
        "name": brand.name,
        "url": current_app.config["BASE_URL"].rstrip("/") + "/",
        "email": issuer_email(),
    }
    if brand.about:
        document["description"] = brand.about
    if brand.logo_url:
        document["image"] = brand.absolute(brand.logo_url)
    return document


# --------------------------------------------------------------------------------------------
# Baked badge
# --------------------------------------------------------------------------------------------


def baked_badge(code: str) -> tuple[bytes, str] | None:
    """(PNG with the Assertion URL baked in, file name) for a certificate that is not revoked."""
    cert = _certificate(code)
    if cert is None or cert.revoked_at is not None:
        return None
    picture = badges.png(badges.ensure_badge(cert.certification))
    baked = baking.bake_png(picture.data, BAKING_KEYWORD, assertion_url(cert.code))
    return baked, f"{cert.serial or 'badge'}-badge.png"


#: Open Badges 3.0 baking (spec §5.3): an iTXt chunk with this keyword carrying the signed credential.
OB3_BAKING_KEYWORD = "openbadgecredential"


def baked_credential(code: str) -> tuple[bytes, str] | None:
    """The certification's badge PNG with this certificate's Open Badges 3.0 credential baked in (the
    compact JWT: wallets and badge backpacks that import OB 3.0 images read it from the image alone)."""
    cert = _certificate(code)
    if cert is None:
        return None
    picture = badges.png(badges.ensure_badge(cert.certification))
    token = open_badges.current_credential(cert, "jwt")
    baked = baking.bake_png(picture.data, OB3_BAKING_KEYWORD, token)
    return baked, f"{cert.serial or 'badge'}-credential.png"


def is_revoked(code: str) -> bool:
    cert = _certificate(code)
    return cert is not None and cert.revoked_at is not None

