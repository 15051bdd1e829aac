"""Each role's home page (live tiles for staff, my certificates for learners), and the health endpoint."""

from __future__ import annotations

from flask import jsonify, render_template
from flask_login import current_user

from app.database import utcnow
from app.extensions import db, limiter
from app.services import health
from app.services.lifecycle import certificates, enrollment, issuing, stats
from app.services.payments import provider as payment_provider
from app.views.dashboard import bp
from app.web.auth import login_required, staff_required
from app.web.pages import render_page_or_fragment


def _staff_context() -> dict:
    viewer = current_user._get_current_object()  # managers and staff without the grant: their people only
    return {"tiles": stats.cached_tiles(viewer), "updated_at": utcnow(),
            "activity": stats.recent_activity(viewer=viewer), "expiring": stats.expiring_soon(viewer=viewer)}


@bp.get("/")
@login_required
def index():
    if current_user.is_staff:
        return render_template("dashboard/admin.html", **_staff_context())
    user = current_user._get_current_object()
    # The path first: it reloads the learner's rows fresh, which would drop the lists' eager loads.
    path = issuing.learning_path(user)
    enrollments = db.session.scalars(enrollment.enrollment_query(user_id=user.id)).all()
    return render_template(
        "dashboard/learner.html", now=utcnow(), path=path,
        certificates=certificates.holder_order(
            db.session.scalars(certificates.certificate_query(user_id=user.id)).all()),
        enrollments=enrollments, outcomes=enrollment.row_outcomes(enrollments),
        stripe_ready=payment_provider.stripe_ready())


@bp.get("/dashboard/tiles")
@staff_required
def tiles():
    """htmx refreshes the tiles every 30 s: the fragment for htmx, the whole page otherwise."""
    return render_page_or_fragment("dashboard/admin.html", "dashboard/_tiles.html", **_staff_context())


@bp.get("/healthz")
@limiter.exempt
def healthz():
    report = health.check()
    return jsonify(report), 200 if report["status"] == "ok" else 503
