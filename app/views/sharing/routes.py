"""My certificates (share controls), the old share page's redirect, the LinkedIn redirect.

Notification routes live in `inbox.py` and the admin email previews in `previews.py`; both add
their routes to this blueprint.
"""

from __future__ import annotations

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.extensions import db, limiter
from app.services.errors import NotAllowed
from app.services.sharing import shares
from app.views.sharing import bp
from app.views.sharing.forms import share_form
from app.views.sharing.helpers import card_context
from app.web import nav, replay
from app.web.auth import login_required
from app.web.caching import shareable
from app.web.forms import attempt, submit
from app.web.pages import is_fragment_request

nav.add("sharing.my_certificates", "My certificates", nav.ALL, prefix="sharing.my_", order=10)


@bp.get("/me/certificates")
@login_required
def my_certificates():
    certs = shares.my_certificates(current_user)
    return render_template("sharing/my_certificates.html", cards=[card_context(c) for c in certs],
                           privacy=shares.PRIVACY_MODEL)


def _own_or_404(cert_id: int):
    cert = shares.own_certificate(current_user, cert_id)
    if cert is None:
        abort(404)
    return cert


def _card(cert):
    if is_fragment_request():
        response = Response(render_template("sharing/_certificate_card.html", **card_context(cert)))
        response.vary.add("HX-Request")
        return response
    return redirect(url_for("sharing.my_certificates") + f"#cert-{cert.id}")


@bp.post("/me/certificates/<id:cert_id>/public")
@login_required
def toggle_public(cert_id: int):
    cert = _own_or_404(cert_id)
    done = attempt(lambda: shares.set_public(cert, request.form.get("public") == "1", actor=current_user),
                   answer=lambda _: _card(cert))
    if not done:
        abort(403, description=done.refusal)
    if not is_fragment_request():
        flash(f"{cert.serial}: " + ("its page now also shows the picture and the PDF." if cert.public else
                                    "its page now shows only whether it is valid."), "success")
    return done.value


@bp.post("/me/certificates/<id:cert_id>/share")
@login_required
def share_email(cert_id: int):
    cert = _own_or_404(cert_id)
    form = share_form(cert.id, request.form)
    done = submit(form, lambda: shares.share_by_email(cert, form.recipients.data, form.message.data or "",
                                                      actor=current_user))
    sent = done.value if done else None
    if done:
        form = share_form(cert.id)
    if not is_fragment_request():
        if sent:
            flash(f"Shared with {', '.join(sent)}.", "success")
        else:
            for message in [*form.form_errors, *form.recipients.errors, *form.message.errors]:
                flash(message, "danger")
        return redirect(url_for("sharing.my_certificates") + f"#cert-{cert.id}")
    html = render_template("sharing/_share_form.html", cert=cert, form=form, sent=sent,
                           privacy=shares.PRIVACY_MODEL)
    # htmx swaps 422 in place; a refusal (rate limit, not allowed) is shown in the form too: also 422.
    return Response(html, 200 if done else 422)


@bp.get("/s/<code>")
@limiter.exempt  # limited in the Redis round trip that also reads the generation (app/web/replay.py)
def public_page(code: str):
    """The old share page: one public page per certificate now, the verify page (which counts the view).
    The same answer for every anonymous visitor: the replay middleware sends it again without Flask."""
    generation, _ = replay.limit_and_generation(current_app.config.get("SHARE_RATE_LIMIT", "120 per minute"),
                                                "share")
    if generation is not None and shareable():
        replay.offer(request.environ, generation, None, SHARE_REPLAY_SECONDS)
    return redirect(url_for("verify.show", code=code), 301)


SHARE_REPLAY_SECONDS = 60  # the answer depends on nothing that changes; this bounds the memory it holds


@bp.get("/c/<code>/linkedin")
@login_required
def linkedin(code: str):
    """Count the click, then send the holder to LinkedIn's add-to-profile form."""
    cert = shares.certificate_by_code(code)
    if cert is None or cert.user_id != current_user.id:
        abort(404)
    try:
        target = shares.linkedin_click(cert, actor=current_user)
    except NotAllowed as exc:
        abort(403, description=str(exc))
    db.session.commit()
    return redirect(target, 302)
