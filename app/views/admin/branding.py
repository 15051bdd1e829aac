"""The branding files every page may load: /branding.css (the colour) and /branding/logo.png.

Their own blueprint (no /admin prefix), public. Both carry `?v=<version>` in the pages that link them:
with the current version they are cached for a year; any other value is served fresh (max-age 60).
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, request
from werkzeug.local import LocalProxy

from app.services import organisation

bp = Blueprint("branding", __name__)

FOREVER = "public, max-age=31536000, immutable"
BRIEFLY = "public, max-age=60"


def _cache(response: Response, version: int) -> Response:
    response.headers["Cache-Control"] = FOREVER if request.args.get("v") == str(version) else BRIEFLY
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/branding.css")
def stylesheet():
    brand = organisation.branding()
    return _cache(Response(organisation.stylesheet(brand), mimetype="text/css"), brand.version)


@bp.get("/branding/logo.png")
def logo():
    brand = organisation.branding()
    data = organisation.read_logo() if brand.logo_url else None
    if data is None:
        abort(404)
    return _cache(Response(data, mimetype="image/png"), brand.version)


@bp.app_context_processor
def _branding_in_templates() -> dict:
    # Lazy: a template that never mentions `branding` costs no query.
    return {"branding": LocalProxy(organisation.branding)}
