"""Prices: ISO 4217 currencies Laurel accepts, amounts in minor units (cents), and how people see them.

Amounts are whole numbers of the currency's minor unit (1999 = 19.99 EUR; JPY has none: 1999 = 1999 JPY),
as Stripe takes them. The list is fixed on purpose: each entry is a currency Stripe Checkout settles,
with its number of decimals, so a typo cannot create a price nobody can pay.
"""

from __future__ import annotations

# code -> (decimals, symbol shown before the amount or "" to show the code after it)
CURRENCIES: dict[str, tuple[int, str]] = {
    "AUD": (2, "A$"), "BRL": (2, "R$"), "CAD": (2, "CA$"), "CHF": (2, ""), "CZK": (2, ""),
    "DKK": (2, ""), "EUR": (2, "€"), "GBP": (2, "£"), "HKD": (2, "HK$"), "INR": (2, "₹"),
    "JPY": (0, "¥"), "MXN": (2, "MX$"), "NOK": (2, ""), "NZD": (2, "NZ$"), "PLN": (2, ""),
    "SEK": (2, ""), "SGD": (2, "S$"), "USD": (2, "$"), "ZAR": (2, ""),
}
MIN_AMOUNT = 50  # Stripe's smallest charge is about 0.50 in most currencies
MAX_AMOUNT = 99_999_999  # Checkout's largest amount (8 digits of minor units)


def decimals(currency: str) -> int:
    return CURRENCIES[currency][0]


def to_minor(text: str, currency: str) -> int | None:
    """'19.99' -> 1999 for EUR; None when it is not a plain positive decimal with at most the currency's
    decimals (no signs, exponents, thousands separators or non-ASCII digits)."""
    text = text.strip()
    places = decimals(currency)
    whole, _, fraction = text.partition(".")
    if not whole.isascii() or not whole.isdigit() or len(whole) > 12:
        return None
    if fraction and (not fraction.isascii() or not fraction.isdigit()) or len(fraction) > places:
        return None
    if "." in text and not fraction:
        return None
    return int(whole) * 10 ** places + int((fraction or "0").ljust(places, "0") or "0")


def plain(amount: int, currency: str) -> str:
    """1999, EUR -> '19.99' (for form fields and CSV)."""
    places = decimals(currency)
    if places == 0:
        return str(amount)
    return f"{amount // 10 ** places}.{amount % 10 ** places:0{places}d}"


def money(amount: int | None, currency: str | None, empty: str = "") -> str:
    """1999, EUR -> '€19.99'; 150000, CHF -> '1,500.00 CHF'. Unknown or missing: `empty`."""
    if amount is None or currency not in CURRENCIES:
        return empty
    places, symbol = CURRENCIES[currency]
    text = f"{amount / 10 ** places:,.{places}f}" if places else f"{amount:,d}"
    return f"{symbol}{text}" if symbol else f"{text} {currency}"
