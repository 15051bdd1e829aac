"""Badge images and Open Badges 2.0 hosted verification (rules in app/services/credentials/badges.py
and ob2.py).

Public: /badges/<token>.png|.svg (the certification's badge; the token is random, never the id),
/ob2/assertions/<code> (+ /badge.png, the baked badge), /ob2/badges/<token> (BadgeClass), /ob2/issuer.
Admins: upload or remove a certification's badge from its page (the card is
templates/credentials/_badge_card.html, put there by the `badge_card` template global).
"""

from __future__ import annotations

import hashlib

from flask import Response, abort, current_app, flash, g, json, redirect, request, url_for
from flask_login import current_user

from app.extensions import db, limiter
from app.models import Certification
from app.services.credentials import badges, ob2
from app.views.credentials import bp
from app.views.credentials.badge_forms import BadgeForm
from app.web.auth import admin_required
from app.web.errors import problem
from app.web.forms import submit
from app.web.pages import is_fragment_request, render_page_or_fragment

PUBLIC_SECONDS = 300  # how long a verifier, proxy or browser may keep a document or an image
JSON_LD = "application/ld+json"
# An SVG opened on its own: no script, no plugins, no requests (its own styles and data: images only).
SVG_POLICY = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _limit() -> str:
    return current_app.config.get("VERIFY_RATE_LIMIT", "60 per minute")


def _public(response: Response, etag: str | None = None) -> Response:
    response.headers["Cache-Control"] = f"public, max-age={PUBLIC_SECONDS}"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Access-Control-Allow-Origin"] = "*"  # importers fetch these from their own pages
    if etag:
        response.set_etag(etag)
        return response.make_conditional(request)
    return response


def _json(document: dict, status: int = 200) -> Response:
    body = json.dumps(document, ensure_ascii=False, indent=2, sort_keys=False)
    return _public(Response(body, status=status, mimetype=JSON_LD))


def _keep_new_rows() -> None:
    """A certification inserted without the ORM got its badge row just now: keep it (and its token)."""
    if db.session.new:
        db.session.commit()


# --------------------------------------------------------------------------------------------
# Template globals: the badge on the certification page, the learner's card and the verify page
# --------------------------------------------------------------------------------------------


@bp.app_template_global("badge_image_url")
def badge_image_url(certification_id: int) -> str | None:
    """The relative URL of a certification's badge PNG (the verify page gets it from its one statement).

    A list of certificates asks once per row: the first call of a request reads every badge in one
    statement and keeps them on `g`, so a page runs the same statements for 2 rows or 200."""
    known = g.get("badge_urls")
    if known is None:
        known = g.badge_urls = {badge.certification_id: url_for("credentials.badge_png", token=badge.token,
                                                                 v=badge.version)
                                for badge in badges.all_badges()}
    return known.get(certification_id)


@bp.app_template_global("badge_card")
def badge_card(certification: Certification, form: BadgeForm | None = None, saved: str = "") -> dict:
    badge = badges.badge_of(certification.id)
    return {"certification": certification, "badge": badge, "source": badges.describe(badge),
            "image_url": badge_image_url(certification.id), "form": form or BadgeForm(formdata=None),
            "saved": saved,
            "svg_url": url_for("credentials.badge_svg", token=badge.token, v=badge.version)
            if badge is not None and badge.svg_key else None}


# --------------------------------------------------------------------------------------------
# Admin: upload, remove
# --------------------------------------------------------------------------------------------


def _certification(cert_id: int) -> Certification:
    return db.get_or_404(Certification, cert_id)


def _read(upload) -> bytes:
    """The uploaded bytes, one more than the largest we take at most (the service says it is too big)."""
    if not upload:
        return b""
    try:
        return upload.read(badges.badge_images.MAX_BYTES + 1)
    finally:
        upload.close()


def _card_response(certification: Certification, status: int = 200, **context):
    g.pop("badge_urls", None)  # the badge may have just changed: read it again
    return render_page_or_fragment("credentials/badge_refused.html", "credentials/_badge_card.html", status,
                                   card=badge_card(certification, **context))


@bp.post("/certifications/<id:cert_id>/badge")
@admin_required
def upload_badge(cert_id: int):
    certification = _certification(cert_id)
    form = BadgeForm()
    done = submit(form, lambda: badges.upload(certification, _read(form.badge.data), actor=current_user))
    if not done:
        if not form.errors and not form.form_errors:
            form.form_errors.append("Choose a PNG or SVG file.")
        return _card_response(certification, 422, form=form)
    badges.discard(done.value)
    return _after_change(certification, "The badge image is saved.")


@bp.post("/certifications/<id:cert_id>/badge/delete")
@admin_required
def remove_badge(cert_id: int):
    certification = _certification(cert_id)
    form = BadgeForm()
    done = submit(form, lambda: badges.remove(certification, actor=current_user))
    if not done:
        return _card_response(certification, 422, form=form)
    badges.discard(done.value)
    return _after_change(certification, "The badge image is removed: the generated badge is used.")


def _after_change(certification: Certification, message: str):
    if is_fragment_request():
        return _card_response(certification, saved=message)
    flash(message, "success")
    page = url_for("lifecycle.certification_detail", cert_id=certification.id)
    return redirect(f"{page}#certification-badge")


# --------------------------------------------------------------------------------------------
# Public images
# --------------------------------------------------------------------------------------------


# The images are not rate limited: pages load several at once (My certificates, the verify page in a
# crawl), their 128-bit tokens cannot be walked, and an answer is one indexed query and a stored file.
@bp.get("/badges/<token>.png")
def badge_png(token: str):
    badge = badges.by_token(token)
    if badge is None:
        abort(404)
    picture = badges.png(badge)
    return _public(Response(picture.data, mimetype=picture.content_type), picture.etag)


@bp.get("/badges/<token>.svg")
def badge_svg(token: str):
    """The uploaded SVG as it was checked; sandboxed, so even a missed trick could run nothing."""
    badge = badges.by_token(token)
    picture = badges.svg(badge) if badge is not None else None
    if picture is None:
        abort(404)
    response = _public(Response(picture.data, mimetype="image/svg+xml"), picture.etag)
    response.headers["Content-Security-Policy"] = SVG_POLICY
    response.headers["Content-Disposition"] = "inline; filename=badge.svg"
    return response


# --------------------------------------------------------------------------------------------
# Open Badges 2.0
# --------------------------------------------------------------------------------------------


@bp.get("/ob2/assertions/<code>")
@limiter.limit(_limit)
def ob2_assertion(code: str):
    found = ob2.assertion(code)
    if found is None:
        return problem(404, "No certificate has this verification code.")
    document, status = found
    _keep_new_rows()
    return _json(document, status)


@bp.get("/ob2/assertions/<code>/badge.png")
@limiter.limit(_limit)
def ob2_baked(code: str):
    if ob2.is_revoked(code):
        return problem(410, "This certificate has been revoked; its badge is no longer offered.")
    return _baked_png(ob2.baked_badge(code))


@bp.get("/credentials/<code>/badge.png")
@limiter.limit(_limit)
def ob3_baked(code: str):
    """The badge with the Open Badges 3.0 credential baked in (revoked ones too: the credential's own
    status entry says so, as for the JSON and JWT downloads)."""
    return _baked_png(ob2.baked_credential(code))


def _baked_png(baked: tuple[bytes, str] | None) -> Response:
    if baked is None:
        abort(404)
    data, filename = baked
    _keep_new_rows()
    response = Response(data, mimetype="image/png")
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    return _public(response, hashlib.sha256(data).hexdigest()[:24])


@bp.get("/ob2/badges/<token>")
@limiter.limit(_limit)
def ob2_badge_class(token: str):
    document = ob2.badge_class(token)
    if document is None:
        return problem(404, "No badge has this address.")
    return _json(document)


@bp.get("/ob2/issuer")
@limiter.limit(_limit)
def ob2_issuer():
    return _json(ob2.issuer())
