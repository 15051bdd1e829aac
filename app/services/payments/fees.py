"""A certification's fee: amount (minor units), ISO 4217 currency from a fixed list, tax note."""

from __future__ import annotations

from sqlalchemy import func, select

from app.database import utcnow
from app.extensions import db
from app.models import Certificate, Certification, Payment, User
from app.rules import money
from app.services import audit
from app.services.errors import NotAllowed, ValidationError
from app.services.fields import clean_text


def set_fee(cert: Certification, fields: dict, *, actor: audit.Actor) -> Certification:
    """Set or clear (empty amount) the fee. `amount` is a decimal text in the currency ("19.99")."""
    raw_amount = str(fields.get("amount") or "").strip()
    currency = str(fields.get("currency") or "").upper()  # exact code: no stripping of control characters
    errors: dict[str, str] = {}
    tax_note = ""
    try:
        tax_note = clean_text(fields.get("tax_note"), 300, label="the tax note") or ""
    except ValueError as exc:
        errors["tax_note"] = str(exc)
    if not raw_amount:
        if errors:
            raise ValidationError(errors)
        before = cert.price_amount
        cert.price_amount, cert.price_currency, cert.price_tax_note = None, None, ""
        if before is not None:
            audit.record(actor, "certification.fee_cleared", "certification", cert.id,
                         f"{cert.name} is free again")
        db.session.flush()
        return cert
    if currency not in money.CURRENCIES:
        errors["currency"] = f"Choose one of {', '.join(money.CURRENCIES)}."
        raise ValidationError(errors)
    amount = money.to_minor(raw_amount, currency)
    places = money.decimals(currency)
    if amount is None:
        errors["amount"] = (f"A positive amount with at most {places} decimals, like "
                            f"{money.plain(1999 if places else 20, currency)}.")
    elif not money.MIN_AMOUNT <= amount <= money.MAX_AMOUNT:
        errors["amount"] = (f"Between {money.plain(money.MIN_AMOUNT, currency)} and "
                            f"{money.plain(money.MAX_AMOUNT, currency)} {currency}.")
    if errors:
        raise ValidationError(errors)
    cert.price_amount, cert.price_currency, cert.price_tax_note = amount, currency, tax_note
    audit.record(actor, "certification.fee_set", "certification", cert.id,
                 f"{cert.name} costs {money.money(amount, currency)}", amount=amount, currency=currency,
                 tax_note=tax_note)
    db.session.flush()
    return cert


def next_cycle(user: User, cert: Certification) -> int:
    """The certificate cycle a payment made now pays for (the one issuance would create next)."""
    latest = db.session.scalar(select(func.max(Certificate.cycle)).where(
        Certificate.user_id == user.id, Certificate.certification_id == cert.id))
    return (latest or 0) + 1


def check_payable(user: User, cert: Certification) -> None:
    """NotAllowed unless a fee is due now: the certification has one, it is not paid yet, and the
    learner holds no valid certificate of it (a renewal is payable once its renewal window opens)."""
    if cert.price_amount is None or cert.price_currency is None or cert.status != "active":
        raise NotAllowed(f"{cert.name} has no fee to pay.")
    latest = db.session.scalar(select(Certificate).where(
        Certificate.user_id == user.id, Certificate.certification_id == cert.id)
        .order_by(Certificate.cycle.desc()).limit(1))
    if latest is not None and latest.status_at(utcnow()) == "valid":
        raise NotAllowed(f"{user.name} holds a valid {cert.name} certificate: its renewal is payable "
                         "once the renewal window opens.")
    if paid_for(user, cert) is not None:
        raise NotAllowed(f"{user.name} has already paid for the next {cert.name} certificate.")


def paid_for(user: User, cert: Certification) -> Payment | None:
    """The paid payment covering the next certificate, if any."""
    return db.session.scalar(select(Payment).where(
        Payment.user_id == user.id, Payment.certification_id == cert.id,
        Payment.cycle == next_cycle(user, cert), Payment.status == "paid").limit(1))


def all_certifications() -> list[Certification]:
    return list(db.session.scalars(select(Certification).order_by(Certification.name)))
