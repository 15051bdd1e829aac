"""Payments fixtures: a priced certification, Stripe configured against a local fake Stripe API (a real
HTTP server on loopback that records the requests), and events signed locally with the documented
scheme (Stripe-Signature: t=<unix time>,v1=<HMAC-SHA256 of "t.body" with the endpoint secret>)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import timedelta

import pytest

from app.database import utcnow
from app.extensions import db
from app.services.lifecycle import catalog, enrollment
from app.services.payments import fees, provider
from tests.support.receiver import Receiver, Reply

SECRET_KEY = "sk_test_" + "4eC39HqLyjWDarjtT1zdp7dc"
WEBHOOK_SECRET = "whsec_" + "testsecretforlaurel0123456789"


def sign(payload: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """Stripe's documented signature scheme, computed here independently of the library."""
    stamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"


def event(kind: str, obj: dict, event_id: str = "evt_1") -> bytes:
    return json.dumps({"id": event_id, "object": "event", "type": kind, "api_version": "2024-06-20",
                       "created": int(time.time()), "livemode": False, "data": {"object": obj}}).encode()


def completed_session(payment, *, amount: int | None = None, currency: str | None = None,
                      intent: str = "pi_123") -> dict:
    return {"id": payment.checkout_session_id or "cs_test_x", "object": "checkout.session",
            "payment_status": "paid", "status": "complete", "amount_total": payment.amount if amount is None
            else amount, "currency": (currency or payment.currency).lower(), "payment_intent": intent,
            "client_reference_id": payment.public_id, "metadata": {"laurel_payment": payment.public_id}}


def post_event(client, payload: bytes, signature: str | None = None):
    return client.post("/hooks/stripe", data=payload, content_type="application/json",
                       headers={"Stripe-Signature": signature if signature is not None else sign(payload)})


@pytest.fixture
def fake_stripe(app, monkeypatch, allow_private):
    """A fake Stripe API on loopback: POST /v1/checkout/sessions answers a session, recorded."""
    counter = {"n": 0}

    def reply(request):
        if request.method == "GET":  # the "Checkout page" a browser test is sent to
            page = "<!doctype html><title>Fake Stripe Checkout</title><h1>Fake Stripe Checkout</h1>"
            return Reply(200, page, {"Content-Type": "text/html; charset=utf-8"})
        counter["n"] += 1
        sid = f"cs_test_{counter['n']}"
        url = rx.url_for(f"/c/pay/{sid}") if rx.pages else f"https://checkout.stripe.test/c/pay/{sid}"
        return Reply(200, {"id": sid, "object": "checkout.session", "url": url}, {"Request-Id": f"req_{sid}"})

    with Receiver() as rx:
        rx.pages = False  # True: the session URL is a page on this fake (for the browser)
        rx.default = reply
        monkeypatch.setitem(app.config, "STRIPE_API_BASE", rx.url_for("").rstrip("/"))
        yield rx


@pytest.fixture
def stripe_on():
    provider.save({"secret_key": SECRET_KEY, "webhook_secret": WEBHOOK_SECRET}, actor="test")
    db.session.commit()


@pytest.fixture
def paid_cert():
    """An active certification with a fee of €49.00 requiring one course (FA-101)."""
    course = catalog.create_course({"code": "FA-101", "title": "First aid basics"}, actor="test")
    cert = catalog.create_certification(
        {"name": "First Aid", "status": "active", "course_ids": [course.id], "validity_months": 24},
        actor="test")
    fees.set_fee(cert, {"amount": "49.00", "currency": "EUR", "tax_note": "incl. 20% VAT"}, actor="test")
    db.session.commit()
    return cert, course


def complete(learner, course) -> None:
    enrollment.record_completion(learner, course, score=90, completed_at=utcnow() - timedelta(hours=1),
                                 actor="test")
    db.session.commit()
