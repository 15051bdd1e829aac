"""Stripe Checkout: open a session for a learner's fee, and apply Stripe's signed events.

Events at /hooks/stripe (docs/payments.md):
- `checkout.session.completed` (payment_status "paid") and `checkout.session.async_payment_succeeded`:
  the payment named by metadata.laurel_payment is completed exactly once (ledger.complete holds the row;
  a replay finds it paid and changes nothing); amount or currency not as charged -> ignored and logged.
- `checkout.session.expired`: a pending payment becomes expired (a new "Pay" opens a new session).
- `charge.refunded`: the refunded total is recorded on the payment with that PaymentIntent.
Unknown payments and other event types answer 200 "ignored" (Stripe stops retrying); a bad signature 400.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from app.connectors import stripe_checkout
from app.database import utcnow
from app.extensions import db
from app.models import Certification, Payment, User
from app.services import audit, locking
from app.services.errors import NotAllowed
from app.services.payments import fees, ledger, provider

REUSE_SESSION_FOR = timedelta(hours=12)  # Checkout Sessions live 24 h; reuse an open one for half of it


def prepare(user: User, cert: Certification) -> Payment | str:
    """Step 1 of "Pay": the open session's URL to reuse, or a new pending payment. The caller commits it
    BEFORE Stripe is called (step 2), so a session Stripe opened always has its payment row: a payment
    completed on Stripe can never arrive for a public id we do not know."""
    fees.check_payable(user, cert)
    if not provider.stripe_ready():
        raise NotAllowed("Online payment is not set up: ask an administrator how to pay (e.g. by invoice).")
    cycle = fees.next_cycle(user, cert)
    open_one = db.session.scalar(select(Payment).where(
        Payment.user_id == user.id, Payment.certification_id == cert.id, Payment.cycle == cycle,
        Payment.method == "stripe", Payment.status == "pending", Payment.amount == cert.price_amount,
        Payment.currency == cert.price_currency,
        Payment.created_at >= utcnow() - REUSE_SESSION_FOR).order_by(Payment.id.desc()).limit(1))
    if open_one is not None:  # its session, or (Stripe was down) the same payment tried again
        return str(open_one.checkout_url) if open_one.checkout_url else open_one
    return ledger.new_payment(user, cert, "stripe")


def open_session(payment: Payment, *, success_url: str, cancel_url: str) -> str:
    """Step 2: the Checkout Session for a committed pending payment (idempotency key: its public id)."""
    key = provider.secret_key()
    if key is None or payment.status != "pending":
        raise NotAllowed("Online payment is not set up: ask an administrator how to pay (e.g. by invoice).")
    user, cert = payment.user, payment.certification
    try:
        session = stripe_checkout.create_checkout_session(
            key, payment_id=payment.public_id, amount=payment.amount, currency=payment.currency,
            name=cert.name, description=payment.tax_note, email=user.email,
            success_url=success_url, cancel_url=cancel_url, api_base=provider.api_base(),
            allow_private=provider.allow_private())
    except (stripe_checkout.StripeUnavailable, OSError, ValueError) as exc:
        raise NotAllowed(f"Stripe could not start the payment ({exc}). Try again in a minute.") from None
    payment.checkout_session_id, payment.checkout_url = session.id, session.url
    audit.record(user, "payment.started", "payment", payment.id,
                 f"{user.email} opened Stripe Checkout for {cert.name}", public_id=payment.public_id,
                 checkout_session_id=session.id)
    db.session.flush()
    return session.url


def handle_event(payload: bytes, signature: str | None) -> tuple[int, dict[str, Any]]:
    """(HTTP status, JSON body) for one delivery of a Stripe event."""
    secret = provider.webhook_secret()
    if secret is None:
        return 400, {"error": "Stripe is not configured on this Laurel."}
    try:
        event = stripe_checkout.verify_event(payload, signature, secret)
    except stripe_checkout.BadSignature as exc:
        return 400, {"error": f"Signature refused: {exc}"}
    kind = str(event.get("type") or "")
    obj = ((event.get("data") or {}).get("object")) or {}
    if not isinstance(obj, dict):
        return 200, {"status": "ignored", "reason": "no object"}
    if kind in ("checkout.session.completed", "checkout.session.async_payment_succeeded"):
        return 200, _session_paid(obj, str(event.get("id") or ""))
    if kind == "checkout.session.expired":
        return 200, _session_expired(obj)
    if kind == "charge.refunded":
        return 200, _charge_refunded(obj, str(event.get("id") or ""))
    return 200, {"status": "ignored", "reason": f"event type {kind[:80]} is not used"}


def _payment_for(session: dict[str, Any]) -> Payment | None:
    public_id = (session.get("metadata") or {}).get("laurel_payment") or session.get("client_reference_id")
    if not isinstance(public_id, str) or len(public_id) > 40:
        return None
    return db.session.scalar(select(Payment).where(Payment.public_id == public_id,
                                                   Payment.method == "stripe"))


def _session_paid(session: dict[str, Any], event_id: str) -> dict[str, Any]:
    payment = _payment_for(session)
    if payment is None:
        return {"status": "ignored", "reason": "unknown payment"}
    if session.get("payment_status") != "paid":
        return {"status": "ignored", "reason": "not paid yet (an asynchronous method)"}
    if (session.get("amount_total") != payment.amount
            or str(session.get("currency") or "").upper() != payment.currency):
        audit.record("stripe", "payment.mismatch", "payment", payment.id,
                     f"Stripe reported {session.get('amount_total')} {session.get('currency')} for "
                     f"{payment.public_id}: not marked paid", event_id=event_id)
        return {"status": "ignored", "reason": "amount or currency differs from the payment"}
    intent = session.get("payment_intent")
    done = ledger.complete(payment, actor="stripe",
                           payment_intent_id=intent if isinstance(intent, str) else None)
    return {"status": "paid" if done else "already recorded", "payment": payment.public_id}


def _session_expired(session: dict[str, Any]) -> dict[str, Any]:
    payment = _payment_for(session)
    if payment is None:
        return {"status": "ignored", "reason": "unknown payment"}
    locking.hold(payment)
    if payment.status != "pending":
        return {"status": "already recorded", "payment": payment.public_id}
    payment.status, payment.checkout_url = "expired", None
    audit.record("stripe", "payment.expired", "payment", payment.id,
                 f"Checkout for {payment.public_id} expired unpaid")
    return {"status": "expired", "payment": payment.public_id}


def _charge_refunded(charge: dict[str, Any], event_id: str) -> dict[str, Any]:
    intent = charge.get("payment_intent")
    public_id = (charge.get("metadata") or {}).get("laurel_payment")
    payment = None
    if isinstance(intent, str) and intent:
        payment = db.session.scalar(select(Payment).where(Payment.payment_intent_id == intent))
    if payment is None and isinstance(public_id, str) and len(public_id) <= 40:
        payment = db.session.scalar(select(Payment).where(Payment.public_id == public_id,
                                                          Payment.method == "stripe"))
    refunded = charge.get("amount_refunded")
    if payment is None or not isinstance(refunded, int) or isinstance(refunded, bool):
        return {"status": "ignored", "reason": "unknown payment"}
    locking.hold(payment)
    changed = ledger.record_refund(payment, refunded, f"Refunded in Stripe ({event_id[:60]})", actor="stripe")
    return {"status": "refunded" if changed else "already recorded", "payment": payment.public_id}
