"""Public learner profiles: the learner's settings (`/me/public-profile`, also shown on the profile page)
and the public page `/p/<handle>`.

The public page is the same for every anonymous visitor: no session, public cache headers with an ETag
that changes with what it lists (app/web/caching.py). A disabled or unknown handle is the same 404.
"""

from __future__ import annotations

import hashlib
import json

from flask import current_app, flash, redirect, render_template, url_for
from flask_login import current_user

from app.extensions import limiter
from app.services.lifecycle.certificates import verify_url
from app.services.sharing import profiles
from app.views.sharing import bp
from app.views.sharing.forms import PublicProfileForm
from app.web.auth import login_required
from app.web.caching import public_answer
from app.web.forms import submit
from app.web.pages import is_fragment_request

STATUS_LABELS = {"valid": "Valid", "expiring": "Valid", "expired": "Expired"}


def _settings(form: PublicProfileForm | None = None, status: int = 200, saved: bool = False):
    profile = profiles.profile_of(current_user)
    if form is None:
        form = PublicProfileForm(formdata=None, obj=profile) if profile else PublicProfileForm(formdata=None)
        if profile is None:
            form.enabled.data = True
    template = "sharing/_public_profile.html" if is_fragment_request() else "sharing/public_profile.html"
    return render_template(template, form=form, profile=profile, saved=saved), status


@bp.get("/me/public-profile")
@login_required
def public_profile_settings():
    return _settings()


@bp.post("/me/public-profile")
@login_required
def save_public_profile():
    form = PublicProfileForm()
    done = submit(form, lambda: profiles.save_profile(
        current_user, form.handle.data, form.headline.data or "", bool(form.enabled.data)))
    if not done:
        return _settings(form, 422)
    if is_fragment_request():
        return _settings(saved=True)
    flash("Your public profile is saved.", "success")
    return redirect(url_for("sharing.public_profile_settings"))


def _limit() -> str:
    return current_app.config.get("VERIFY_RATE_LIMIT", "60 per minute")


def _picture(cert) -> str | None:
    """The certificate's picture (page 1 of its PDF) as the verify page serves it, once rendered."""
    if not cert.pdf_key:
        return None
    version = hashlib.sha256(cert.pdf_key.encode()).hexdigest()[:12]
    return url_for("verify.picture", code=cert.code, v=version)


def _item(cert) -> dict:
    snap = cert.snapshot or {}
    status = cert.status
    return {"code": cert.code, "certification_id": cert.certification_id,
            "certification": snap.get("certification_name") or cert.certification.name,
            "issuer": snap.get("issuer_name") or "", "issued_at": cert.issued_at,
            "expires_at": cert.expires_at,
            "status": status, "label": STATUS_LABELS.get(status, status.capitalize()),
            "verify_url": verify_url(cert), "picture": _picture(cert),
            "badge": url_for("sharing.embed_badge", code=cert.code)}


@bp.get("/p/<handle>")
@limiter.limit(_limit)
def public_profile(handle: str):
    page = profiles.public_page(handle)
    if page is None:
        response = current_app.make_response((render_template("sharing/profile_missing.html"), 404))
        return public_answer(response, "missing", "profile")
    items = [_item(c) for c in page.certificates]
    base = current_app.config["BASE_URL"].rstrip("/")
    canonical = base + url_for("sharing.public_profile", handle=page.profile.handle)
    picture = next((base + i["picture"] for i in items if i["picture"]), None)
    response = current_app.make_response(render_template(
        "sharing/profile_public.html", page=page, items=items, page_url=canonical, og_image=picture))
    version = hashlib.sha1(json.dumps([page.profile.handle, page.profile.headline, page.name,
                                       [(i["code"], i["status"], i["picture"]) for i in items]],
                                      default=str).encode(), usedforsecurity=False).hexdigest()[:20]
    return public_answer(response, version, "profile")
