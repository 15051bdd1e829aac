"""The payments ledger: completing a payment (exactly once), manual payments, refunds, receipts, lists.

Completing a payment: lock the row, skip unless it is pending (a replayed or late event changes nothing),
mark it paid, audit, emit `payment.completed`, queue the receipt (outbox), then `issuing.evaluate` for the
learner: the certificate follows in the same transaction when the courses are done.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import joinedload

from app.database import utcnow
from app.extensions import db
from app.models import PAYMENT_METHODS, PAYMENT_STATUSES, Certification, Payment, User
from app.rules import display, money
from app.services import audit, events, locking
from app.services.errors import NotAllowed, ValidationError
from app.services.fields import clean_text, isodate, like_pattern
from app.services.lifecycle import issuing
from app.services.messaging import outbox
from app.services.payments import fees


def new_public_id() -> str:
    return "pay_" + secrets.token_urlsafe(18)


def new_payment(user: User, cert: Certification, method: str) -> Payment:
    if cert.price_amount is None or cert.price_currency is None:
        raise NotAllowed(f"{cert.name} has no fee.")
    row = Payment(public_id=new_public_id(), user_id=user.id, certification_id=cert.id,
                  cycle=fees.next_cycle(user, cert), method=method, status="pending",
                  amount=cert.price_amount, currency=cert.price_currency, tax_note=cert.price_tax_note or "",
                  reference="", refunded_amount=0, refund_note="")
    db.session.add(row)
    db.session.flush()
    return row


def complete(payment: Payment, *, actor: audit.Actor, payment_intent_id: str | None = None,
             now: datetime | None = None) -> bool:
    """Mark a pending payment paid, once. False (nothing changed) when it is not pending any more."""
    locking.hold(payment)
    if payment.status != "pending":
        return False
    payment.status, payment.paid_at = "paid", now or utcnow()
    if payment_intent_id:
        payment.payment_intent_id = payment_intent_id
    user, cert = payment.user, payment.certification
    audit.record(actor, "payment.completed", "payment", payment.id,
                 f"{user.email} paid {money.money(payment.amount, payment.currency)} for {cert.name}"
                 f" ({payment.method})", public_id=payment.public_id, method=payment.method,
                 amount=payment.amount, currency=payment.currency, reference=payment.reference)
    events.emit("payment.completed", payment_data(payment))
    _receipt(payment)
    db.session.flush()
    issuing.evaluate(user, actor=actor)
    return True


def mark_paid(user: User, cert: Certification, reference: object, *, actor: audit.Actor) -> Payment:
    """The manual method: an admin records a payment made outside Laurel (an invoice paid)."""
    try:
        text = clean_text(reference, 200, required=True, label="the reference (e.g. the invoice number)")
    except ValueError as exc:
        raise ValidationError({"reference": str(exc)}) from None
    issuing.lock_learner(user)  # two admins at once: the second sees the first payment
    fees.check_payable(user, cert)
    payment = new_payment(user, cert, "manual")
    payment.reference, payment.recorded_by_id = text, getattr(actor, "id", None)
    complete(payment, actor=actor)
    return payment


def refund_manual(payment: Payment, note: object, *, actor: audit.Actor) -> Payment:
    """Record a refund of a manual payment (money given back outside Laurel). Stripe payments are
    refunded in Stripe's dashboard; its `charge.refunded` event records them here."""
    try:
        text = clean_text(note, 500, required=True, label="why and how it was refunded")
    except ValueError as exc:
        raise ValidationError({"note": str(exc)}) from None
    if payment.method != "manual":
        raise NotAllowed("Refund Stripe payments in the Stripe dashboard: Laurel records the refund "
                         "when Stripe reports it.")
    locking.hold(payment)
    if payment.status != "paid":
        raise NotAllowed(f"Only a paid payment can be refunded (this one is {payment.status}).")
    record_refund(payment, payment.amount, text, actor=actor)
    return payment


def record_refund(payment: Payment, amount_refunded_total: int, note: str, *, actor: audit.Actor) -> bool:
    """Set the refunded total (Stripe reports the running total); fully refunded -> status refunded.
    False when nothing changed (a replayed event). The payment must be held by the caller."""
    total = max(0, min(amount_refunded_total, payment.amount))
    if payment.status not in ("paid", "refunded") or total <= payment.refunded_amount:
        return False
    payment.refunded_amount, payment.refunded_at = total, utcnow()
    payment.refund_note = note[:500]
    if total >= payment.amount:
        payment.status = "refunded"
    audit.record(actor, "payment.refunded", "payment", payment.id,
                 f"Refunded {money.money(total, payment.currency)} of {payment.public_id}",
                 refunded_amount=total, note=note)
    events.emit("payment.refunded", payment_data(payment))
    db.session.flush()
    return True


def _receipt(payment: Payment) -> None:
    user, cert = payment.user, payment.certification
    outbox.queue_email(user.email, "payment_receipt", subject=f"Receipt: {cert.name}", user_id=user.id,
                       dedupe_key=f"payment-receipt:{payment.public_id}", context={
                           "name": user.name, "certification": cert.name,
                           "amount": money.money(payment.amount, payment.currency),
                           "tax_note": payment.tax_note, "reference": payment.reference or payment.public_id,
                           "method": "card (Stripe)" if payment.method == "stripe" else "invoice / manual",
                           "paid_on": display.day(payment.paid_at),
                           "payments_url": outbox.external_url("payments.mine")})


def payment_data(payment: Payment) -> dict:
    """What webhooks and the API show of a payment (amounts in minor units, times ISO 8601)."""
    return {"id": payment.id, "public_id": payment.public_id, "status": payment.status,
            "method": payment.method, "amount": payment.amount, "currency": payment.currency,
            "refunded_amount": payment.refunded_amount, "cycle": payment.cycle,
            "reference": payment.reference, "tax_note": payment.tax_note,
            "user_id": payment.user_id, "certification_id": payment.certification_id,
            "user": {"id": payment.user.id, "name": payment.user.name, "email": payment.user.email,
                     "department": payment.user.department},
            "certification": {"id": payment.certification.id, "name": payment.certification.name},
            "created_at": isodate(payment.created_at), "paid_at": isodate(payment.paid_at),
            "refunded_at": isodate(payment.refunded_at)}


def query(*, status: str = "", method: str = "", search: str = "", certification_id: int | None = None,
          user_id: int | None = None) -> Select:
    """Payments, newest first, filtered (unknown filter values are refused by the callers' choices)."""
    stmt = (select(Payment).join(User, User.id == Payment.user_id)
            .options(joinedload(Payment.user), joinedload(Payment.certification))
            .order_by(Payment.created_at.desc(), Payment.id.desc()))
    if status in PAYMENT_STATUSES:
        stmt = stmt.where(Payment.status == status)
    if method in PAYMENT_METHODS:
        stmt = stmt.where(Payment.method == method)
    if certification_id:
        stmt = stmt.where(Payment.certification_id == certification_id)
    if user_id:
        stmt = stmt.where(Payment.user_id == user_id)
    if search:
        pattern = like_pattern(search)
        stmt = stmt.where(or_(User.email.ilike(pattern, escape="\\"), User.name.ilike(pattern, escape="\\"),
                              Payment.reference.ilike(pattern, escape="\\"),
                              Payment.public_id.ilike(pattern, escape="\\")))
    return stmt


CSV_HEADER = ["public_id", "status", "method", "learner_email", "learner_name", "certification", "cycle",
              "amount", "currency", "refunded_amount", "reference", "tax_note", "created_at", "paid_at",
              "refunded_at"]


def csv_row(p: Payment) -> list:
    return [p.public_id, p.status, p.method, p.user.email, p.user.name, p.certification.name, p.cycle,
            money.plain(p.amount, p.currency), p.currency, money.plain(p.refunded_amount, p.currency),
            p.reference, p.tax_note, isodate(p.created_at), isodate(p.paid_at), isodate(p.refunded_at)]
