"""Fees, the issuance gate, Stripe Checkout against a local fake Stripe, signed events, manual payments,
refunds, receipts, and who sees which payment."""

from __future__ import annotations

import time

import pytest
import stripe
from sqlalchemy import func, select

from app.connectors import stripe_checkout
from app.extensions import db
from app.models import AuditEvent, Certificate, OutboxEmail, Payment, PaymentSettings
from app.services.errors import NotAllowed, ValidationError
from app.services.lifecycle import issuing
from app.services.payments import fees, ledger
from tests.payments.conftest import (
    SECRET_KEY,
    WEBHOOK_SECRET,
    complete,
    completed_session,
    event,
    post_event,
    sign,
)
from tests.support.smtp import body_text


def certificates() -> int:
    db.session.commit()
    return db.session.scalar(select(func.count(Certificate.id)))


@pytest.mark.parametrize(("amount", "currency", "field"), [
    ("-5", "EUR", "amount"), ("1e3", "EUR", "amount"), ("19.999", "EUR", "amount"), ("0.10", "EUR", "amount"),
    ("1000000000", "EUR", "amount"), ("99999999999999999999", "EUR", "amount"), ("１２", "EUR", "amount"),
    ("12.5", "JPY", "amount"), ("12", "XXX", "currency"), ("12", "eur\n", "currency"), ("²", "EUR", "amount"),
])
def test_bad_prices_are_refused_and_change_nothing(paid_cert, amount, currency, field):
    cert, _ = paid_cert
    with pytest.raises(ValidationError) as refused:
        fees.set_fee(cert, {"amount": amount, "currency": currency}, actor="test")
    assert field in refused.value.errors
    db.session.rollback()
    assert (cert.price_amount, cert.price_currency) == (4900, "EUR")


def test_price_bounds_tax_note_and_free_again(paid_cert):
    cert, _ = paid_cert
    fees.set_fee(cert, {"amount": "999999.99", "currency": "usd", "tax_note": ""}, actor="test")
    assert (cert.price_amount, cert.price_currency) == (99999999, "USD")
    fees.set_fee(cert, {"amount": "1500", "currency": "JPY"}, actor="test")
    assert cert.price_amount == 1500
    with pytest.raises(ValidationError) as refused:
        fees.set_fee(cert, {"amount": "10", "currency": "EUR", "tax_note": "VAT\x00"}, actor="test")
    assert "tax_note" in refused.value.errors
    db.session.rollback()
    fees.set_fee(cert, {"amount": "", "currency": ""}, actor="test")
    assert cert.price_amount is None and cert.price_currency is None


def test_issuance_waits_for_payment_and_a_manual_payment_issues_with_a_receipt(
        paid_cert, learner, admin, jobs, smtp_server):
    cert, course = paid_cert
    complete(learner, course)
    assert certificates() == 0
    assert "waiting for payment" in issuing.assess(learner, cert).reasons
    smtp_server.clear()
    payment = ledger.mark_paid(learner, cert, "INV-2026-0042", actor=admin)
    db.session.commit()
    assert payment.status == "paid" and payment.method == "manual" and payment.amount == 4900
    assert certificates() == 1
    jobs()
    receipts = [m for m in smtp_server.messages if m["Subject"] == "Receipt: First Aid"]
    assert len(receipts) == 1 and receipts[0]["To"] == learner.email
    text = body_text(receipts[0])
    assert "€49.00" in text and "INV-2026-0042" in text and "incl. 20% VAT" in text
    with pytest.raises(NotAllowed):
        ledger.mark_paid(learner, cert, "INV-again", actor=admin)


def test_paying_before_the_courses_issues_on_completion(paid_cert, learner, admin):
    cert, course = paid_cert
    ledger.mark_paid(learner, cert, "INV-1", actor=admin)
    db.session.commit()
    assert certificates() == 0
    assert issuing.assess(learner, cert).reasons == ["missing FA-101"]
    complete(learner, course)
    assert certificates() == 1


def test_checkout_session_is_created_on_the_fake_stripe(paid_cert, learner, stripe_on, fake_stripe, login_as):
    cert, _ = paid_cert
    client = login_as(learner)
    page = client.get("/").get_data(as_text=True)
    assert "Pay €49.00" in page and "waiting for payment" in page
    response = client.post(f"/payments/pay/{cert.id}", data={"csrf_token": client.csrf_token})
    assert response.status_code == 200
    assert 'content="0;url=https://checkout.stripe.test/c/pay/cs_test_1"' in response.get_data(as_text=True)
    [request] = fake_stripe.requests
    assert request.method == "POST" and request.route == "/v1/checkout/sessions"
    assert request.headers["Authorization"] == f"Bearer {SECRET_KEY}"
    db.session.commit()
    payment = db.session.scalar(select(Payment))
    assert request.headers["Idempotency-Key"] == f"laurel-checkout-{payment.public_id}"
    form = request.form()
    assert form["mode"] == "payment"
    assert form["line_items[0][price_data][unit_amount]"] == "4900"
    assert form["line_items[0][price_data][currency]"] == "eur"
    assert form["metadata[laurel_payment]"] == payment.public_id
    assert form["customer_email"] == learner.email
    assert not [k for k in form if any(w in k for w in ("card", "cvc", "number", "exp_"))]
    assert payment.status == "pending" and payment.checkout_session_id == "cs_test_1"
    again = client.post(f"/payments/pay/{cert.id}", data={"csrf_token": client.csrf_token})
    assert "cs_test_1" in again.get_data(as_text=True) and len(fake_stripe.requests) == 1


def test_stripe_down_is_a_clear_refusal(paid_cert, learner, stripe_on, fake_stripe, login_as):
    cert, _ = paid_cert
    fake_stripe.script(500, 500, 500)
    client = login_as(learner)
    response = client.post(f"/payments/pay/{cert.id}", data={"csrf_token": client.csrf_token})
    assert response.status_code == 302 and response.headers["Location"].endswith("/")
    db.session.commit()
    [waiting] = db.session.scalars(select(Payment)).all()  # committed before Stripe was asked
    assert waiting.status == "pending" and waiting.checkout_session_id is None
    assert "Stripe could not start the payment" in client.get("/").get_data(as_text=True)
    retry = client.post(f"/payments/pay/{cert.id}", data={"csrf_token": client.csrf_token})
    assert retry.status_code == 200 and "cs_test_" in retry.get_data(as_text=True)
    db.session.commit()
    [same] = db.session.scalars(select(Payment)).all()
    assert same.public_id == waiting.public_id and same.checkout_session_id
    assert {r.headers["Idempotency-Key"] for r in fake_stripe.requests} == {
        f"laurel-checkout-{waiting.public_id}"}


def test_without_stripe_the_learner_is_told_how_to_pay(paid_cert, learner, login_as):
    cert, _ = paid_cert
    client = login_as(learner)
    assert "your administrator will tell you how to pay" in client.get("/").get_data(as_text=True)
    response = client.post(f"/payments/pay/{cert.id}", data={"csrf_token": client.csrf_token})
    assert response.status_code == 302


def _start(client, cert) -> Payment:
    assert client.post(f"/payments/pay/{cert.id}", data={"csrf_token": client.csrf_token}).status_code == 200
    db.session.commit()
    return db.session.scalar(select(Payment).order_by(Payment.id.desc()))


def test_construct_event_accepts_our_signature_and_refuses_tampering():
    payload = event("checkout.session.completed", {"id": "cs_1", "object": "checkout.session"})
    assert stripe_checkout.verify_event(payload, sign(payload), WEBHOOK_SECRET)["type"] == \
        "checkout.session.completed"
    assert stripe.Webhook.construct_event(payload, sign(payload), WEBHOOK_SECRET).id == "evt_1"
    for body, header in ((payload.replace(b"cs_1", b"cs_2"), sign(payload)),
                         (payload, sign(payload, secret="whsec_" + "someoneelse0123456789")),
                         (payload, sign(payload, timestamp=int(time.time()) - 3600)),
                         (payload, "t=1,v1=00"), (payload, "")):
        with pytest.raises(stripe_checkout.BadSignature):
            stripe_checkout.verify_event(body, header, WEBHOOK_SECRET)


def test_completed_event_pays_exactly_once_and_issues(paid_cert, learner, stripe_on, fake_stripe, login_as,
                                                      client, jobs, smtp_server):
    cert, course = paid_cert
    complete(learner, course)
    payment = _start(login_as(learner), cert)
    payload = event("checkout.session.completed", completed_session(payment))
    first = post_event(client, payload)
    assert first.status_code == 200 and first.get_json()["status"] == "paid"
    for _ in range(2):  # Stripe retries: the same event, signed again
        replay = post_event(client, payload)
        assert replay.status_code == 200 and replay.get_json()["status"] == "already recorded"
    db.session.commit()
    db.session.refresh(payment)
    assert payment.status == "paid" and payment.payment_intent_id == "pi_123"
    assert certificates() == 1
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.action == "payment.completed")) == 1
    assert db.session.scalar(select(func.count(OutboxEmail.id)).where(
        OutboxEmail.template == "payment_receipt")) == 1


def test_bad_signatures_and_unknown_payments(paid_cert, learner, stripe_on, fake_stripe, login_as, client):
    cert, course = paid_cert
    complete(learner, course)
    payment = _start(login_as(learner), cert)
    payload = event("checkout.session.completed", completed_session(payment))
    wrong = "whsec_" + "wrongwrongwrong123"
    assert post_event(client, payload, sign(payload, secret=wrong)).status_code == 400
    assert post_event(client, payload.replace(b'"paid"', b'"unpaid"', 1), sign(payload)).status_code == 400
    assert post_event(client, payload, sign(payload, timestamp=int(time.time()) - 600)).status_code == 400
    assert post_event(client, b"not json", sign(b"not json")).status_code == 400
    unknown = event("checkout.session.completed", {**completed_session(payment),
                                                   "metadata": {"laurel_payment": "pay_nobody"},
                                                   "client_reference_id": None})
    answer = post_event(client, unknown)
    assert answer.status_code == 200 and answer.get_json()["status"] == "ignored"
    other = event("invoice.paid", {"id": "in_1", "object": "invoice"})
    assert post_event(client, other).get_json()["status"] == "ignored"
    cheap = event("checkout.session.completed", completed_session(payment, amount=100))
    assert post_event(client, cheap).get_json()["status"] == "ignored"
    db.session.commit()
    db.session.refresh(payment)
    assert payment.status == "pending" and certificates() == 0


def test_stripe_refund_is_recorded_and_late_completion_changes_nothing(
        paid_cert, learner, stripe_on, fake_stripe, login_as, client):
    cert, _ = paid_cert
    payment = _start(login_as(learner), cert)
    paid = event("checkout.session.completed", completed_session(payment), "evt_paid")
    assert post_event(client, paid).get_json()["status"] == "paid"
    partial = event("charge.refunded", {"id": "ch_1", "object": "charge", "payment_intent": "pi_123",
                                        "amount": 4900, "amount_refunded": 1000, "refunded": False}, "evt_r1")
    assert post_event(client, partial).get_json()["status"] == "refunded"
    full = event("charge.refunded", {"id": "ch_1", "object": "charge", "payment_intent": "pi_123",
                                     "amount": 4900, "amount_refunded": 4900, "refunded": True}, "evt_r2")
    assert post_event(client, full).get_json()["status"] == "refunded"
    assert post_event(client, partial).get_json()["status"] == "already recorded"  # out of order: harmless
    assert post_event(client, paid).get_json()["status"] == "already recorded"
    db.session.commit()
    db.session.refresh(payment)
    assert payment.status == "refunded" and payment.refunded_amount == 4900
    assert not fees.paid_for(learner, cert)


def test_manual_refund_by_admin_and_stripe_refund_refused(paid_cert, learner, admin, login_as):
    cert, _ = paid_cert
    payment = ledger.mark_paid(learner, cert, "INV-7", actor=admin)
    db.session.commit()
    client = login_as(admin)
    bad = client.post(f"/payments/{payment.id}/refund", data={"csrf_token": client.csrf_token, "note": ""})
    assert bad.status_code == 422
    done = client.post(f"/payments/{payment.id}/refund",
                       data={"csrf_token": client.csrf_token, "note": "Credit note CN-3"})
    assert done.status_code == 302
    again = client.post(f"/payments/{payment.id}/refund",
                        data={"csrf_token": client.csrf_token, "note": "Credit note CN-3"})
    assert again.status_code == 409
    db.session.commit()
    db.session.refresh(payment)
    assert payment.status == "refunded" and payment.refund_note == "Credit note CN-3"
    stripe_row = ledger.new_payment(learner, cert, "stripe")
    stripe_row.status = "paid"
    with pytest.raises(NotAllowed):
        ledger.refund_manual(stripe_row, "no", actor=admin)


def test_admin_pages_manual_form_and_csv(paid_cert, learner, admin, login_as):
    cert, _ = paid_cert
    client = login_as(admin)
    assert client.get("/payments/").status_code == 200
    missing = client.post("/payments/manual", data={"csrf_token": client.csrf_token, "email": "x@example.com",
                                                    "certification_id": cert.id, "reference": "INV-1"})
    assert missing.status_code == 422 and "No one with this email address" in missing.get_data(as_text=True)
    ok = client.post("/payments/manual", data={"csrf_token": client.csrf_token,
                                               "email": learner.email.upper(),
                                               "certification_id": cert.id, "reference": "INV-1"})
    assert ok.status_code == 302
    twice = client.post("/payments/manual", data={"csrf_token": client.csrf_token, "email": learner.email,
                                                  "certification_id": cert.id, "reference": "INV-2"})
    assert twice.status_code == 409
    page = client.get("/payments/?status=paid&q=lena").get_data(as_text=True)
    assert "€49.00" in page and "Lena Learner" in page
    csv_text = client.get("/payments/export.csv?method=manual").get_data(as_text=True)
    header, row = csv_text.strip().splitlines()
    assert header.startswith("public_id,status,method") and ",paid,manual," in row and "49.00,EUR" in row
    fee = client.post(f"/payments/fees/{cert.id}", data={
        "csrf_token": client.csrf_token, f"c{cert.id}-amount": "-1", f"c{cert.id}-currency": "EUR"})
    assert fee.status_code == 422


def test_stripe_keys_are_encrypted_and_never_shown_back(admin, login_as):
    client = login_as(admin)
    bad = client.post("/payments/settings", data={"csrf_token": client.csrf_token, "secret_key": "pk_live_x",
                                                  "webhook_secret": "nope"})
    assert bad.status_code == 422
    ok = client.post("/payments/settings", data={"csrf_token": client.csrf_token, "secret_key": SECRET_KEY,
                                                 "webhook_secret": WEBHOOK_SECRET})
    assert ok.status_code == 302
    db.session.commit()
    row = db.session.get(PaymentSettings, 1)
    assert SECRET_KEY not in row.stripe_secret_key and WEBHOOK_SECRET not in row.stripe_webhook_secret
    page = client.get("/payments/settings").get_data(as_text=True)
    assert SECRET_KEY not in page and WEBHOOK_SECRET not in page and SECRET_KEY[-4:] in page


def test_learners_see_only_their_own_payments(paid_cert, learner, make_user, admin, login_as):
    cert, _ = paid_cert
    other = make_user("learner", email="other@example.com", name="Olga Other")
    mine = ledger.mark_paid(learner, cert, "INV-MINE", actor=admin)
    theirs = ledger.mark_paid(other, cert, "INV-THEIRS", actor=admin)
    db.session.commit()
    client = login_as(learner)
    page = client.get("/payments/mine").get_data(as_text=True)
    assert "INV-MINE" in page and "INV-THEIRS" not in page
    listed = client.get(f"/api/v1/payments?user_id={other.id}").get_json()["items"]
    assert [p["public_id"] for p in listed] == [mine.public_id]
    assert client.get(f"/api/v1/payments/{theirs.id}").status_code == 404
    assert client.get(f"/api/v1/payments/{mine.id}").status_code == 200
    assert client.get("/payments/").status_code == 403
    assert client.post(f"/payments/{theirs.id}/refund", data={"csrf_token": client.csrf_token,
                                                              "note": "x"}).status_code == 403


def test_api_mark_paid_and_refund(paid_cert, learner, admin, login_as):
    cert, _ = paid_cert
    client = login_as(admin)
    headers = {"X-CSRFToken": client.csrf_token}
    created = client.post("/api/v1/payments", json={"user_id": learner.id, "certification_id": cert.id,
                                                    "reference": "PO-77"}, headers=headers)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["status"] == "paid" and body["amount"] == 4900 and body["currency"] == "EUR"
    assert client.post("/api/v1/payments", json={"user_id": learner.id, "certification_id": cert.id,
                                                 "reference": "PO-78"}, headers=headers).status_code == 409
    control = client.post("/api/v1/payments", json={"user_id": learner.id, "certification_id": cert.id,
                                                    "reference": "x\u0000"}, headers=headers)
    assert control.status_code in (400, 422)
    refunded = client.post(f"/api/v1/payments/{body['id']}/refund", json={"note": "Returned"},
                           headers=headers)
    assert refunded.status_code == 200 and refunded.get_json()["status"] == "refunded"
    assert client.post(f"/api/v1/payments/{body['id']}/refund", json={"note": "again"},
                       headers=headers).status_code == 409


def test_calls_to_stripe_follow_the_outgoing_address_policy(paid_cert, learner, stripe_on, fake_stripe,
                                                            login_as, app, monkeypatch):
    cert, _ = paid_cert
    monkeypatch.setitem(app.config, "OUTGOING_ALLOW_PRIVATE", False)  # the fake Stripe is on loopback
    client = login_as(learner)
    refused = client.post(f"/payments/pay/{cert.id}", data={"csrf_token": client.csrf_token})
    assert refused.status_code == 302 and fake_stripe.requests == []
    assert "Stripe could not start the payment" in client.get("/").get_data(as_text=True)
