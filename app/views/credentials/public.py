"""Public credential addresses: the issuer Profile, the DID document and each certificate's Open Badges 3.0
credential (JSON-LD with its proof, or a VC-JWT).

All of them are the same for every visitor: public cache headers with an ETag (app/web/caching.py), and
`Access-Control-Allow-Origin: *` so a verifier running in a browser on another site can read them.
The credential URL is shaped like the verify page: one rate-limit + generation round trip to Redis, the
rendered answer kept per process (hits and misses alike), and a miss signs a stand-in document, so the
answer time does not tell whether a code exists.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from flask import current_app, request

from app.services.credentials import issuer, open_badges
from app.views.credentials import bp
from app.web.caching import LocalAnswers, limited_generation, public_answer, shareable
from app.web.errors import problem

MISSING = "No credential has this verification code."
LOCAL_SECONDS = 10  # bounds what moves with the clock alone; the generation covers every data change

# VC Data Model 2.0 §6.3 registers `application/vc` for a credential secured with an embedded proof
# (it is a JSON-LD document, so `application/ld+json` is also right, and some clients only ask for
# `application/json`): we answer with whichever of the three the client prefers, `application/vc` by
# default. VC-JOSE-COSE registers `application/vc+jwt` for the JWT form.
LDP_MEDIA_TYPES = ("application/vc", "application/ld+json", "application/json")
JWT_MEDIA_TYPE = "application/vc+jwt"
# DID Core 1.0 §6.3: a DID document in its JSON-LD representation (it carries @context).
DID_MEDIA_TYPE = "application/did+ld+json"


def _cors(response):
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _json_document(document: dict, mimetype: str, variant: str):
    body = json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")
    response = current_app.response_class(body, 200, mimetype=mimetype)
    version = hashlib.sha256(body).hexdigest()[:20]
    return _cors(public_answer(response, version, variant))


@bp.get("/issuer")
def issuer_profile():
    """The organisation's Open Badges 3.0 Profile (JSON-LD)."""
    return _json_document(issuer.profile_document(), "application/ld+json", "issuer")


@bp.get("/.well-known/did.json")
def did_document():
    """did:web resolution of the organisation's DID: every published key."""
    return _json_document(issuer.did_document(), DID_MEDIA_TYPE, "did")


@bp.get("/did.json")
def did_document_under_path():
    """The same document where did:web looks for it when BASE_URL has a path (did:web:host:path)."""
    return _json_document(issuer.did_document(), DID_MEDIA_TYPE, "did")


@dataclass(frozen=True)
class _Rendered:
    body: bytes | None
    version: str


_answers = LocalAnswers()


def _limit() -> str:
    return current_app.config.get("VERIFY_RATE_LIMIT", "60 per minute")


def _rendered(code: str, fmt: open_badges.Format, generation: int | None) -> _Rendered:
    seconds = min(LOCAL_SECONDS, current_app.config.get("VERIFY_CACHE_SECONDS", 60))
    cacheable = generation is not None and shareable() and seconds and len(code) <= 64
    key = (generation, code, fmt)
    rendered = _answers.get(key) if cacheable else None
    if rendered is None:
        published = open_badges.published(code, fmt)
        rendered = _Rendered(published.body, published.version)
        if cacheable:
            _answers.put(key, rendered, seconds)
    return rendered


def _credential(code: str, fmt: open_badges.Format, mimetype: str):
    # The per-IP limit and the data's generation in one round trip (raises the 429).
    generation = limited_generation(_limit(), "credentials", open_badges.GENERATION)
    rendered = _rendered(code, fmt, generation)
    if rendered.body is None:
        return _cors(problem(404, MISSING))
    response = current_app.response_class(rendered.body, 200, mimetype=mimetype)
    return _cors(public_answer(response, rendered.version, f"{fmt}-{mimetype}"))


@bp.get("/credentials/<code>")
def credential(code: str):
    """The certificate's OpenBadgeCredential with its eddsa-rdfc-2022 proof."""
    mimetype = request.accept_mimetypes.best_match(LDP_MEDIA_TYPES) or LDP_MEDIA_TYPES[0]
    response = _credential(code, "ldp", mimetype)
    response.vary.add("Accept")
    return response


@bp.get("/credentials/<code>.jwt")
def credential_jwt(code: str):
    """The same credential as a VC-JWT (compact JWS, EdDSA)."""
    return _credential(code, "jwt", JWT_MEDIA_TYPE)
