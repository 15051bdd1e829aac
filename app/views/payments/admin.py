"""Admin › Payments: the ledger with filters and CSV, fees per certification, manual payments and
refunds, and the Stripe settings."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from app.extensions import db
from app.models import PAYMENT_METHODS, PAYMENT_STATUSES, Certification, Payment, User
from app.rules import money
from app.services.csv_export import stream_rows
from app.services.errors import ValidationError
from app.services.payments import fees, ledger, provider
from app.views.payments import bp
from app.views.payments.forms import FeeForm, ManualPaymentForm, RefundForm, StripeSettingsForm
from app.web import nav
from app.web.auth import admin_required
from app.web.forms import submit
from app.web.numbers import query_int
from app.web.pages import page_args, render_page_or_fragment
from app.web.streaming import csv_response

nav.add("payments.index", "Payments", nav.ADMIN, prefix="payments.", order=86)


def _status(form, done) -> int:
    """409 for a business refusal (NotAllowed: on the form, no field at fault), 422 for bad input."""
    return 409 if done.refusal and not any(f.errors for f in form) else 422


def _filters() -> dict:
    filters = {k: request.args.get(k, "").strip()[:200] for k in ("status", "method", "q")}
    filters["certification"] = query_int("certification", 0, minimum=0)
    return filters


def _query(filters: dict):
    return ledger.query(status=filters["status"], method=filters["method"], search=filters["q"],
                        certification_id=filters["certification"] or None)


def _priced() -> list[Certification]:
    return [c for c in fees.all_certifications() if c.price_amount is not None]


def _page(manual_form=None, status: int = 200):
    filters = _filters()
    page, per_page = page_args()
    pagination = db.paginate(_query(filters), page=page, per_page=per_page, error_out=False)
    priced = _priced()
    return render_page_or_fragment(
        "payments/admin.html", "payments/_table.html", pagination=pagination, filters=filters,
        statuses=PAYMENT_STATUSES, methods=PAYMENT_METHODS, certifications=fees.all_certifications(),
        priced=priced,
        stripe_ready=provider.stripe_ready(),
        manual_form=manual_form or ManualPaymentForm(certifications=priced)), status


@bp.get("/")
@admin_required
def index():
    return _page()


@bp.get("/export.csv")
@admin_required
def export_csv():
    stmt = _query(_filters())
    return csv_response("payments.csv", ledger.CSV_HEADER,
                        lambda: (ledger.csv_row(p) for p in stream_rows(stmt)))


@bp.get("/fees")
@admin_required
def fees_page():
    return _fees_page()


def _fees_page(failed: FeeForm | None = None, failed_id: int | None = None, status: int = 200):
    """Every certification with its fee form (the one that failed keeps what was typed)."""
    certs = fees.all_certifications()
    forms = {c.id: FeeForm(prefix=f"c{c.id}", data={
        "amount": money.plain(c.price_amount, c.price_currency) if c.price_amount is not None else "",
        "currency": c.price_currency or "EUR", "tax_note": c.price_tax_note})
        for c in certs if c.id != failed_id}
    if failed is not None:
        forms[failed_id] = failed
    return render_template("payments/fees.html", certifications=certs, forms=forms), status


@bp.post("/fees/<id:certification_id>")
@admin_required
def set_fee(certification_id: int):
    cert = db.get_or_404(Certification, certification_id)
    form = FeeForm(prefix=f"c{cert.id}")
    values = {"amount": form.amount.data, "currency": form.currency.data, "tax_note": form.tax_note.data}
    done = submit(form, lambda: fees.set_fee(cert, values, actor=current_user))
    if done:
        flash(f"Fee of {cert.name} saved.", "success")
        return redirect(url_for("payments.fees_page"))
    return _fees_page(form, cert.id, 422)


@bp.post("/manual")
@admin_required
def mark_paid():
    form = ManualPaymentForm(certifications=_priced())

    def action():
        email = (form.email.data or "").strip().lower()
        user = db.session.scalar(select(User).where(func.lower(User.email) == email))
        cert = db.session.get(Certification, form.certification_id.data)
        if user is None:
            raise ValidationError({"email": "No one with this email address."})
        return ledger.mark_paid(user, cert, form.reference.data, actor=current_user)

    done = submit(form, action)
    if done:
        flash(f"Payment {done.value.public_id} recorded; a receipt is on its way.", "success")
        return redirect(url_for("payments.index"))
    return _page(manual_form=form, status=_status(form, done))


@bp.get("/<id:payment_id>")
@admin_required
def detail(payment_id: int):
    payment = db.get_or_404(Payment, payment_id)
    return render_template("payments/detail.html", payment=payment, refund_form=RefundForm())


@bp.post("/<id:payment_id>/refund")
@admin_required
def refund(payment_id: int):
    payment = db.get_or_404(Payment, payment_id)
    form = RefundForm()
    done = submit(form, lambda: ledger.refund_manual(payment, form.note.data, actor=current_user))
    if done:
        flash("Refund recorded.", "success")
        return redirect(url_for("payments.detail", payment_id=payment.id))
    return render_template("payments/detail.html", payment=payment, refund_form=form), _status(form, done)


@bp.route("/settings", methods=["GET", "POST"])
@admin_required
def settings():
    form = StripeSettingsForm()
    if request.method == "POST":
        done = submit(form, lambda: provider.save({"secret_key": form.secret_key.data,
                                                   "webhook_secret": form.webhook_secret.data,
                                                   "clear": form.clear.data}, actor=current_user))
        if done:
            flash("Stripe settings saved." if provider.stripe_ready() else "Stripe keys removed.", "success")
            return redirect(url_for("payments.settings"))
        return render_template("payments/settings.html", form=form, row=provider.settings()), 422
    return render_template("payments/settings.html", form=form, row=provider.settings())
