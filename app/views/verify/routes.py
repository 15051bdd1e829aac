"""The one public certificate page: `/verify/<code>` (HTML, or JSON by Accept or `.json`), its picture,
and a serial + surname lookup. `/s/<code>` (the old share page) redirects here (sharing/routes.py).

A hit and a miss do the same work (one lookup query, one chain query, the same template), so the
answer time does not tell whether a code exists. Rate limited per IP. The validity check is always
shown; the picture and the PDF only while the holder has made the certificate public.
"""

from __future__ import annotations

import hashlib

from flask import Response, abort, current_app, jsonify, redirect, render_template, request, url_for

from app.extensions import limiter
from app.models import Certificate
from app.services import organisation
from app.services.documents import downloads, pictures
from app.services.lifecycle import verification
from app.services.messaging.outbox import external_url
from app.services.sharing import engagement, shares
from app.views.verify import bp
from app.web.errors import problem

PICTURE_MAX_AGE = 300  # seconds a browser or proxy may keep a picture after the holder hides it


def _limit() -> str:
    return current_app.config.get("VERIFY_RATE_LIMIT", "60 per minute")


def _wants_json() -> bool:
    return request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"


def _version(cert: Certificate) -> str:
    """Changes with every rendered PDF: the picture's URL is new when the PDF is regenerated."""
    return hashlib.sha256((cert.pdf_key or "").encode()).hexdigest()[:12]


def _public_media(cert: Certificate | None) -> dict:
    """Picture and PDF links (absolute picture URL for Open Graph), only for a public certificate."""
    if cert is None or not downloads.is_public(cert) or not downloads.has_pdf(cert):
        return {"picture_url": None, "picture_absolute": None, "pdf_url": None}
    picture = url_for("verify.picture", code=cert.code, v=_version(cert))
    return {"picture_url": picture, "picture_absolute": organisation.branding().absolute(picture),
            "pdf_url": url_for("documents.public_pdf", code=cert.code)}


def _verify(code: str, as_json: bool):
    cert = verification.lookup(code)
    engagement.count_later(cert.id if cert else None, "view")
    # A miss computes the same data on a stand-in (same chain query) so both take the same time.
    data = verification.verification_data(cert or Certificate(code="", user_id=0, certification_id=0))
    if as_json:
        return jsonify(data) if cert else problem(404, "No certificate has this verification code.")
    html = render_template("verify/show.html", data=data if cert else None, code=code,
                           public=bool(cert and downloads.is_public(cert)), **_public_media(cert),
                           privacy=shares.PRIVACY_MODEL,
                           page_url=external_url("verify.show", code=code))
    return html, 200 if cert else 404


@bp.get("/<code>")
@limiter.limit(_limit)
def show(code: str):
    response = current_app.make_response(_verify(code, _wants_json()))
    response.vary.add("Accept")
    return response


@bp.get("/<code>.json")
@limiter.limit(_limit)
def show_json(code: str):
    return _verify(code, as_json=True)


@bp.get("/<code>/certificate.png")
@limiter.limit(_limit)
def picture(code: str):
    """Page 1 of the PDF as a PNG: only while the holder has made the certificate public (else 404)."""
    cert = verification.lookup(code)
    if cert is None or not downloads.is_public(cert):
        abort(404)
    data = pictures.read_picture(cert)
    if data is None:
        abort(404)
    response = Response(data, mimetype="image/png")
    response.headers["Cache-Control"] = f"public, max-age={PICTURE_MAX_AGE}"
    response.set_etag(_version(cert))
    return response.make_conditional(request)


@bp.get("")
@limiter.limit(_limit)
def lookup():
    serial, surname = request.args.get("serial", "").strip(), request.args.get("surname", "").strip()
    searched = bool(serial or surname)
    if serial and surname:
        cert = verification.find_by_serial_and_surname(serial, surname)
        if cert is not None:
            return redirect(url_for("verify.show", code=cert.code))
    return render_template("verify/lookup.html", serial=serial, surname=surname,
                           searched=searched), 404 if searched else 200
