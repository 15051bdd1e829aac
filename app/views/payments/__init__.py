"""Payments pages: Admin › Payments (ledger, fees, manual payments, refunds, CSV, Stripe settings), the
learner's "Pay" and "My payments", and the Stripe webhook (/hooks/stripe, its own blueprint in hooks.py).

`bp` lives here; the route modules import it.
"""

from flask import Blueprint

bp = Blueprint("payments", __name__, url_prefix="/payments")
