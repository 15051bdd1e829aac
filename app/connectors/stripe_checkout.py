"""Stripe Checkout on the official `stripe` library: create a Checkout Session, verify a signed event.

Outgoing calls go through our outgoing-address policy: `stripe.RequestsClient` takes a requests session,
and we give it `app.connectors.http.make_session` (public addresses only, no redirects, no proxy from the
environment, timeouts), so the Stripe API address is checked like every webhook target. `api_base` is
https://api.stripe.com in production; tests point it at a local fake Stripe served on loopback.
No card data passes here: the learner types it on Stripe's page (the session's `url`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import stripe

from app.connectors.http import make_session

API_BASE = "https://api.stripe.com"
TOLERANCE_SECONDS = 300  # signed events older than this are refused (Stripe's default)


class StripeUnavailable(Exception):
    """Stripe refused or could not be reached; the message is safe to show to an admin."""


class BadSignature(Exception):
    """The event's Stripe-Signature does not match the body (or is too old, or the body is not JSON)."""


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str


def _client(secret_key: str, *, api_base: str, allow_private: bool) -> stripe.StripeClient:
    http_client = stripe.RequestsClient(timeout=20, session=make_session(allow_private, timeout=20))
    return stripe.StripeClient(secret_key, http_client=http_client, max_network_retries=1,
                               base_addresses={"api": api_base})


def create_checkout_session(secret_key: str, *, payment_id: str, amount: int, currency: str, name: str,
                            description: str, email: str, success_url: str, cancel_url: str,
                            api_base: str = API_BASE, allow_private: bool = False) -> CheckoutSession:
    """One Checkout Session (mode=payment) for `amount` minor units of `currency`; the idempotency key is
    our payment's id, so a retried request never opens a second session for the same payment."""
    params: dict[str, Any] = {
        "mode": "payment",
        "line_items": [{"quantity": 1, "price_data": {
            "currency": currency.lower(), "unit_amount": amount,
            "product_data": {"name": name[:250],
                             **({"description": description[:500]} if description else {})},
        }}],
        "customer_email": email,
        "client_reference_id": payment_id,
        "metadata": {"laurel_payment": payment_id},
        "payment_intent_data": {"metadata": {"laurel_payment": payment_id}},
        "success_url": success_url,
        "cancel_url": cancel_url,
    }
    try:
        client = _client(secret_key, api_base=api_base, allow_private=allow_private)
        session = client.v1.checkout.sessions.create(
            params=params, options={"idempotency_key": f"laurel-checkout-{payment_id}"})
    except stripe.StripeError as exc:
        raise StripeUnavailable(exc.user_message or type(exc).__name__) from None
    answer = session.to_dict()
    if not answer.get("id") or not isinstance(answer.get("url"), str):
        raise StripeUnavailable("Stripe answered without a Checkout Session address.")
    return CheckoutSession(str(answer["id"]), answer["url"])


def verify_event(payload: bytes, signature: str | None, webhook_secret: str) -> dict[str, Any]:
    """The event as a plain dict, after `stripe.Webhook.construct_event` checked its signature and age."""
    try:
        event = stripe.Webhook.construct_event(payload, signature or "", webhook_secret,
                                               tolerance=TOLERANCE_SECONDS)
    except stripe.SignatureVerificationError as exc:
        raise BadSignature(str(exc.user_message or "bad signature")) from None
    except ValueError:
        raise BadSignature("The body is not JSON.") from None
    return event.to_dict()
