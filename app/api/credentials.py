"""/api/v1/certificates/<id>/credential: a certificate's Open Badges 3.0 credential, signed now."""

from __future__ import annotations

from flask import Response

from app.api.base import Param, bp, endpoint
from app.models import Certificate
from app.services.credentials import open_badges

TAG = "Certificates"
FORMAT = Param("format", {"type": "string", "enum": list(open_badges.FORMATS), "default": "ldp"},
               "`ldp`: JSON-LD with an embedded eddsa-rdfc-2022 DataIntegrityProof (`application/vc`); "
               "`jwt`: a VC-JWT, compact JWS signed with EdDSA (`application/vc+jwt`).", "ldp")
MEDIA = {"ldp": "application/vc", "jwt": "application/vc+jwt"}


@bp.get("/certificates/<id:id>/credential")
@endpoint("Get a certificate's Open Badges 3.0 credential", access="login", tag=TAG, load=Certificate,
          own="user_id", params=(FORMAT,), media=tuple(MEDIA.values()),
          description="Same access as the certificate: learners their own, staff and admins any. Revoked and "
                      "expired certificates have one too (`credentialStatus` and `validUntil` say so). "
                      "The same document is public at `/credentials/<code>` (and `.jwt`).")
def certificate_credential(item: Certificate, query: dict):
    fmt = query["format"] or "ldp"
    body = open_badges.serialized(open_badges.current_credential(item, fmt))
    return Response(body, mimetype=MEDIA[fmt], headers={"Cache-Control": "private, no-store"})
