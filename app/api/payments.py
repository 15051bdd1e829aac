"""/api/v1/payments: certification fees paid (Stripe Checkout or manual), refunds.

Admins list every payment, record manual ones and refunds; everyone else lists and reads only their own
(another person's payment is 404). Rules: app/services/payments/.
"""

from __future__ import annotations

from flask import abort, url_for
from flask_login import current_user

from app.api.base import Param, actor, bp, committed, created, endpoint, paginate
from app.api.schemas import ID
from app.extensions import db
from app.models import PAYMENT_METHODS, PAYMENT_STATUSES, Certification, Payment, User
from app.services.errors import ValidationError
from app.services.payments import ledger

TAG = "Payments"
FILTERS = (
    Param("status", {"type": "string", "enum": list(PAYMENT_STATUSES)}, "Only this status."),
    Param("method", {"type": "string", "enum": list(PAYMENT_METHODS)}, "Only this method."),
    Param("certification_id", ID, "Only this certification."),
    Param("user_id", ID, "Only this learner (non-admins always see only their own)."),
)


def _is_admin() -> bool:
    return current_user.role == "admin"


@bp.get("/payments")
@endpoint("List payments", access="login", tag=TAG, response="Payment", paginated=True, params=FILTERS,
          description="Newest first. Admins see every payment; everyone else only their own.")
def list_payments(query: dict):
    user_id = query["user_id"] if _is_admin() else current_user.id
    stmt = ledger.query(status=query["status"] or "", method=query["method"] or "",
                        certification_id=query["certification_id"], user_id=user_id)
    return paginate(stmt, query, ledger.payment_data)


@bp.get("/payments/<id:id>")
@endpoint("Get a payment", access="login", tag=TAG, response="Payment", load=Payment,
          description="Someone else's payment is 404 unless you are an admin.")
def get_payment(item: Payment):
    if not _is_admin() and item.user_id != current_user.id:
        abort(404, f"No payment with id {item.id}.")
    return ledger.payment_data(item)


@bp.post("/payments")
@endpoint("Record a manual payment (mark paid)", access="admin", tag=TAG, response="Payment", status=201,
          body="PaymentCreate",
          description="E.g. an invoice paid: the payment is recorded as paid for the learner's next "
                      "certificate of that certification, a receipt is mailed and issuance runs. "
                      "409 when the certification has no fee or it is already paid.")
def create_payment(body: dict):
    user = db.session.get(User, body["user_id"])
    cert = db.session.get(Certification, body["certification_id"])
    if user is None or cert is None:
        raise ValidationError({"user_id" if user is None else "certification_id": "No such record."})
    payment = ledger.mark_paid(user, cert, body["reference"], actor=actor())
    answer = ledger.payment_data(payment)
    return committed(created(answer, url_for("api.get_payment", id=payment.id)))


@bp.post("/payments/<id:id>/refund")
@endpoint("Record the refund of a manual payment", access="admin", tag=TAG, response="Payment",
          load=Payment, body="PaymentRefund",
          description="Stripe payments are refunded in Stripe (409 here): its charge.refunded event is "
                      "recorded on the payment. 409 unless the payment is paid.")
def refund_payment(item: Payment, body: dict):
    ledger.refund_manual(item, body["note"], actor=actor())
    return committed(ledger.payment_data(item))
