"""Public verification: `/verify/<code>` (HTML, or JSON by Accept or `.json`) and a serial + surname lookup.

A hit and a miss do the same work (one indexed query for the certificate and its chain, the same
template; both cached alike), so the answer time does not tell whether a code exists. Rate limited per
IP. Answers to visitors without a session touch no session, carry public cache headers with a
versioned ETag, and are kept rendered per process until the data changes (app/web/caching.py). The
validity check is always shown; the picture and the PDF only while the holder has made the certificate
public.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from flask import Response, abort, current_app, jsonify, redirect, render_template, request, url_for

from app.extensions import limiter
from app.services import organisation
from app.services.documents import downloads, pictures
from app.services.lifecycle import verification
from app.services.messaging.outbox import external_url
from app.services.sharing import engagement, shares
from app.views.verify import bp
from app.web import replay
from app.web.caching import LocalAnswers, public_answer, shareable
from app.web.errors import problem


def _limit() -> str:
    return current_app.config.get("VERIFY_RATE_LIMIT", "60 per minute")


MISSING = "No certificate has this verification code."
PICTURE_MAX_AGE = 300  # seconds a browser or proxy may keep a picture after the holder hides it


def _wants_json() -> bool:
    return request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"


@dataclass(frozen=True)
class Rendered:
    body: bytes
    status: int
    mimetype: str
    version: str
    certificate_id: int | None


# Rendered answers for visitors without a session, per process: keyed by the "verify" generation, so a
# revoke, reinstate or renewal anywhere makes them unreachable at once; LOCAL_SECONDS bounds what moves
# with the clock alone (an expiry). A hit and a miss are cached alike (app/web/caching.py).
_answers = LocalAnswers()
LOCAL_SECONDS = 10


def _picture_version(pdf_key: str | None) -> str:
    """Changes with every rendered PDF: the picture's URL is new when the PDF is regenerated."""
    return hashlib.sha256((pdf_key or "").encode()).hexdigest()[:12]


def _public_media(answer: verification.Answer, code: str) -> dict:
    """Picture and PDF links (absolute picture URL for Open Graph), only for a public certificate."""
    if answer.data is None or not answer.public or not answer.pdf_key:
        return {"picture_url": None, "picture_absolute": None, "pdf_url": None}
    picture = url_for("verify.picture", code=code, v=_picture_version(answer.pdf_key))
    return {"picture_url": picture, "picture_absolute": organisation.branding().absolute(picture),
            "pdf_url": url_for("documents.public_pdf", code=code)}


def _badge_url(answer: verification.Answer) -> str | None:
    """The certification's badge image (app/views/credentials/badges.py), from the same one statement."""
    if answer.badge is None:
        return None
    token, version = answer.badge
    return url_for("credentials.badge_png", token=token, v=version)


def _render(code: str, as_json: bool) -> Rendered:
    answer = verification.verify(code)
    if as_json:
        response = jsonify(answer.data) if answer.data else problem(404, MISSING)
    else:
        response = current_app.make_response((
            render_template("verify/show.html", data=answer.data, code=code, public=answer.public,
                            holder_id=answer.holder_id, badge_url=_badge_url(answer),
                            **_public_media(answer, code), privacy=shares.PRIVACY_MODEL,
                            page_url=external_url("verify.show", code=code)), 200 if answer.data else 404))
    return Rendered(response.get_data(), response.status_code, response.mimetype, answer.version,
                    answer.certificate_id)


def _local_seconds() -> float:
    return min(LOCAL_SECONDS, current_app.config.get("VERIFY_CACHE_SECONDS", 60))


def _shared_render(code: str, as_json: bool, generation: int | None) -> Rendered:
    seconds = _local_seconds()
    if generation is None or len(code) > verification.MAX_CODE or not seconds:
        return _render(code, as_json)
    key = (generation, code, as_json)
    rendered = _answers.get(key)
    if rendered is None:
        rendered = _render(code, as_json)
        _answers.put(key, rendered, seconds)
    return rendered


def _verify(code: str, as_json: bool):
    generation, counted = replay.limit_and_generation(_limit(), "verify")
    shared = shareable()
    rendered = _shared_render(code, as_json, generation) if shared else _render(code, as_json)
    if not counted:
        engagement.count_later(rendered.certificate_id, "view")
    if shared and generation is not None:  # the same bytes for every anonymous visitor: replay them
        replay.offer(request.environ, generation, rendered.certificate_id, _local_seconds())
    response = current_app.response_class(rendered.body, rendered.status, mimetype=rendered.mimetype)
    return public_answer(response, rendered.version, "json" if as_json else "html")


@bp.get("/<code>")
@limiter.exempt  # limited in the same Redis round trip as the generation (limited_generation)
def show(code: str):
    response = _verify(code, _wants_json())
    response.vary.add("Accept")
    return response


@bp.get("/<code>.json")
@limiter.exempt
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
    response.set_etag(_picture_version(cert.pdf_key))
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


from app.views.verify import files  # noqa: E402, F401 (adds "Check a file": POST /verify/file)
