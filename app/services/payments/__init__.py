"""Certification fees: prices (fees.py), Stripe settings (provider.py), Stripe Checkout and its signed
events (checkout.py), the payments ledger: manual payments, refunds, receipts, lists (ledger.py).

Issuance waits for payment through one gate in app/services/lifecycle/issuing.py (`fee_paid`, reading
the payments table); when a payment completes, ledger.complete calls `issuing.evaluate` for the learner.
"""
