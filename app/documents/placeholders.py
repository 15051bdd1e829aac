"""The values a certificate template can use (the contract with the admins who write templates)."""

from __future__ import annotations

from typing import Any

#: Every value a certificate template can use, with what it holds. Dates are ``datetime.date``
#: objects: print them with the ``date`` filter (``{{ issued_on|date }}`` -> "14 March 2026",
#: ``{{ issued_on|date("%Y-%m-%d") }}``); the filter prints nothing for None.
PLACEHOLDERS: dict[str, str] = {
    "holder_name": "Full name of the certificate holder, as frozen at issue.",
    "certification_name": "Name of the certification that was earned.",
    "courses": "Courses that were completed: a list of {code, title}; use {% for c in courses %}.",
    "score": "Final score in percent (a number), or None when the certification has no score.",
    "issued_on": "Date of issue (a date; format with |date).",
    "expires_on": "Expiry date (a date), or None when the certificate never expires.",
    "serial": "Human-readable serial number, e.g. LAU-2026-000123.",
    "verify_url": "Public URL where anyone can check the certificate is genuine.",
    "qr_data_uri": "PNG data URI of a QR code for verify_url; use as <img src=\"{{ qr_data_uri }}\">.",
    "issuer_name": "Name of the issuing body or department (may be empty).",
    "signatory_name": "Name of the person signing (may be empty).",
    "signatory_title": "Title of the person signing, e.g. Head of Training (may be empty).",
    "organisation_name": "Name of the organisation running Laurel.",
    "logo_url": "Organisation logo: a data URI or an allowed asset path, or None.",
    "signature_url": "Image of the signature: a data URI or an allowed asset path, or None.",
    "background_url": (
        "Full-page background image (data URI or allowed asset path), or None. The renderer puts "
        "it under the whole page itself; a template only needs it to adapt (e.g. drop a tint)."
    ),
    "page_size": "Set by the renderer: 'A4' or 'Letter'.",
    "orientation": "Set by the renderer: 'landscape' or 'portrait' (<body class=\"{{ orientation }}\">).",
}

#: Placeholders a caller may leave out; they render as None (or an empty list) rather than
#: failing, so templates can always write ``{% if logo_url %}``.
OPTIONAL_DEFAULTS: dict[str, Any] = {
    "courses": (),
    "score": None,
    "expires_on": None,
    "issuer_name": "",
    "signatory_name": "",
    "signatory_title": "",
    "organisation_name": "",
    "logo_url": None,
    "signature_url": None,
    "background_url": None,
}
