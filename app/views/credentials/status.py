"""`GET /credentials/status/<n>`: the signed BitstringStatusListCredential of status list n.

What verifiers fetch from a credential's `credentialStatus.statusListCredential`. The same for every
visitor, so it is rendered once per process and kept under the "status_list" generation: a revoke or
reinstate committed anywhere makes the next fetch build the list afresh. Shared caches may keep it
MAX_AGE seconds, so a change reaches every verifier within a minute. Any origin may read it (a wallet
in a browser checks status too); it carries no cookie-dependent content.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import redis
from flask import current_app, request

from app.services.credentials import status
from app.services.lifecycle import generations
from app.views.credentials import bp
from app.web.caching import LocalAnswers, shareable
from app.web.errors import problem

MAX_AGE = status.TTL_SECONDS  # a verifier or proxy may keep the list 30 s: a revocation shows within a minute
LOCAL_SECONDS = 300  # only the clock moves it otherwise (its validFrom): the generation keys freshness
# Like the credentials (app/views/credentials/public.py): VC Data Model 2.0 registers `application/vc` for
# a credential with an embedded proof; JSON-LD and plain JSON clients get their own type when they ask.
MEDIA_TYPES = ("application/vc", "application/ld+json", "application/json")
UNKNOWN = "No status list has this number."


@dataclass(frozen=True)
class Rendered:
    body: bytes
    etag: str


_lists = LocalAnswers(max_entries=64)


def _render(number: int) -> Rendered | None:
    document = status.status_list_credential(number)
    if document is None:
        return None
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    return Rendered(body, hashlib.sha256(body).hexdigest()[:32])


def _generation() -> int | None:
    try:
        return generations.current(status.GENERATION)
    except redis.RedisError:  # no cache without the generation: every fetch builds the list
        return None


def _cached_render(number: int) -> Rendered | None:
    generation = _generation()
    if generation is None:
        return _render(number)
    key = (generation, number)
    rendered = _lists.get(key)
    if rendered is None:
        rendered = _render(number)
        if rendered is not None:  # an unknown number costs one indexed query; not worth a slot
            _lists.put(key, rendered, LOCAL_SECONDS)
    return rendered


@bp.get("/credentials/status/<id:number>")
def status_list(number: int):
    rendered = _cached_render(number)
    if rendered is None:
        missing = problem(404, UNKNOWN)
        missing.headers["Access-Control-Allow-Origin"] = "*"  # a browser verifier can read why
        return missing
    mimetype = request.accept_mimetypes.best_match(MEDIA_TYPES) or MEDIA_TYPES[0]
    response = current_app.response_class(rendered.body, mimetype=mimetype)
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.vary.add("Accept")
    # A visitor with a session may get a Set-Cookie on the answer: never stored by a shared cache then.
    response.headers["Cache-Control"] = f"public, max-age={MAX_AGE}" if shareable() else "private, no-cache"
    response.set_etag(f"{rendered.etag}-{MEDIA_TYPES.index(mimetype)}")  # one URL, three representations
    return response.make_conditional(request)
