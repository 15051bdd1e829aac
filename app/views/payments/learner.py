"""The learner's side: "Pay" (to Stripe Checkout) and My payments."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.extensions import db
from app.models import Certification
from app.services.payments import checkout, ledger
from app.views.payments import bp
from app.web.auth import login_required
from app.web.forms import attempt
from app.web.pages import page_args


@bp.post("/pay/<id:certification_id>")
@login_required
def pay(certification_id: int):
    cert = db.get_or_404(Certification, certification_id)
    user = current_user._get_current_object()
    done = attempt(lambda: checkout.prepare(user, cert))  # the pending payment is committed first
    if done and not isinstance(done.value, str):
        payment = done.value
        done = attempt(lambda: checkout.open_session(
            payment, success_url=url_for("payments.mine", checkout="done", _external=True),
            cancel_url=url_for("dashboard.index", _external=True)))
    if not done:
        flash(done.refusal, "warning")
        return redirect(url_for("dashboard.index"))
    # Stripe's page: card details never pass through Laurel. A page that moves on by itself, not a 303:
    # the CSP's form-action 'self' forbids a form's redirect to another origin.
    return render_template("payments/to_stripe.html", url=done.value)


@bp.get("/mine")
@login_required
def mine():
    page, per_page = page_args()
    pagination = db.paginate(ledger.query(user_id=current_user.id), page=page, per_page=per_page,
                             error_out=False)
    return render_template("payments/mine.html", pagination=pagination,
                           returned=request.args.get("checkout") == "done")
