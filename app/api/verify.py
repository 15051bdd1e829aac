"""POST /api/v1/verify: verify a certificate PDF, an Open Badges 3.0 credential, a VC-JWT or a baked badge.

Public like the verify page (no token needed) and rate limited per IP like it. The body is the file itself
(`application/pdf`, `application/json` / `application/ld+json` / `application/vc`, `application/vc+jwt` /
`text/plain`, or an Open Badges 3.0 baked badge as `image/png`) or a multipart form with the file in a part
named `file`. It is read in memory only (app/web/uploads.py) and never stored. Answers: 200 with the
verdict (also when the verdict is "altered" or "forged": the check itself succeeded), 400 when there is
nothing we can check, 413 over the size cap, 415 for another type.
"""

from __future__ import annotations

from flask import abort, current_app, jsonify, request

from app.api.base import bp, endpoint
from app.extensions import limiter
from app.services.credentials import verifying
from app.web.errors import problem
from app.web.uploads import in_memory

_BINARY = {"type": "string", "format": "binary"}
_TOKEN = {"type": "string", "maxLength": verifying.MAX_TEXT,
          "description": "A VC-JWT: three base64url parts separated by dots."}
_CREDENTIAL = {"type": "object", "description": "An OpenBadgeCredential with an embedded DataIntegrityProof "
                                                "(eddsa-rdfc-2022)."}
BODIES = {
    "application/pdf": {"schema": _BINARY},
    "application/json": {"schema": _CREDENTIAL},
    "application/ld+json": {"schema": _CREDENTIAL},
    "application/vc": {"schema": _CREDENTIAL},  # the VC 2.0 media type (what credential.json is served as)
    "application/vc+jwt": {"schema": _TOKEN},
    "image/png": {"schema": _BINARY},  # an Open Badges 3.0 baked badge (the credential in an iTXt chunk)
    "text/plain": {"schema": _TOKEN},
    "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
        "file": {**_BINARY, "description": "The PDF, credential (.json) or JWT (.jwt / .txt)."}}}},
}
RAW_TYPES = frozenset(BODIES) - {"multipart/form-data"}
DESCRIPTION = (
    "Checks the signature (by whom: the issuer's name and DID and the key; for a PDF the signing "
    "certificate), that the content is unaltered (or what is wrong), the credential it carries, and its "
    "status today in our records (valid / expiring / expired / revoked with the reason / unknown). "
    f"At most {verifying.MAX_PDF // verifying.MiB} MB for a PDF and {verifying.MAX_TEXT // verifying.KiB} KB "
    "for a credential or a JWT. Nothing is stored.")


def _limit() -> str:
    return current_app.config.get("VERIFY_RATE_LIMIT", "60 per minute")


def _sent() -> tuple[bytes, str | None]:
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            abort(400, "Send the file in a multipart part named 'file'.")
        return upload.stream.read(verifying.MAX_UPLOAD + 1), (upload.filename or "")[:200] or None
    if request.mimetype not in RAW_TYPES:
        abort(415, "Send a PDF (application/pdf), a credential (application/json), a JWT "
                   "(application/vc+jwt or text/plain), a baked badge (image/png), or a multipart form "
                   "with a 'file' part.")
    return request.get_data(cache=False), None


@bp.post("/verify")
@limiter.limit(_limit)
@endpoint("Verify a certificate PDF, an Open Badges credential or a VC-JWT", access="public", tag="Verify",
          response="Verdict", raw_bodies=BODIES, stateless=True, errors=(429,), description=DESCRIPTION)
def verify_file():
    data, filename = _sent()
    try:
        verdict = verifying.verify_upload(data, filename)
    except verifying.Unreadable as exc:
        return problem(exc.status, str(exc))
    return jsonify(verdict.as_dict())


in_memory("api.verify_file", verifying.MAX_UPLOAD)
