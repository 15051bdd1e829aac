"""Cache headers for public answers (verify and share pages): a proxy may keep them for a short time.

Anonymous answers carry `Cache-Control: public, max-age=N` and an ETag built from the answer's version
(it changes on revoke, reinstate, renewal and expiry), and answer a matching If-None-Match with 304. A
signed-in visitor's page carries their navigation: it is never stored by a shared cache.
"""

from __future__ import annotations

from flask import Response, current_app, request
from flask_login import current_user


def public_answer(response: Response, version: str, variant: str) -> Response:
    """Set the cache headers on `response` (`variant` tells apart representations of one URL)."""
    if current_user.is_authenticated:
        response.headers["Cache-Control"] = "private, no-cache"
        return response
    seconds = current_app.config.get("VERIFY_CACHE_SECONDS", 60)
    response.headers["Cache-Control"] = f"public, max-age={seconds}" if seconds else "no-cache"
    response.set_etag(f"{variant}-{version}")
    return response.make_conditional(request)
