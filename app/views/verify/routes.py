"""Public verification: `/verify/<code>` (HTML, or JSON by Accept or `.json`) and a serial + surname lookup.

A hit and a miss do the same work (one lookup query, one chain query, the same template), so the
answer time does not tell whether a code exists. Rate limited per IP.
"""

from __future__ import annotations

from flask import current_app, jsonify, redirect, render_template, request, url_for

from app.extensions import limiter
from app.models import Certificate
from app.services.lifecycle import verification
from app.services.messaging.outbox import external_url
from app.services.sharing import engagement
from app.views.verify import bp
from app.web.errors import problem


def _limit() -> str:
    return current_app.config.get("VERIFY_RATE_LIMIT", "60 per minute")


def _wants_json() -> bool:
    return request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"


def _verify(code: str, as_json: bool):
    cert = verification.lookup(code)
    engagement.count_later(cert.id if cert else None, "view")
    # A miss computes the same data on a stand-in (same chain query) so both take the same time.
    data = verification.verification_data(cert or Certificate(code="", user_id=0, certification_id=0))
    if as_json:
        return jsonify(data) if cert else problem(404, "No certificate has this verification code.")
    html = render_template("verify/show.html", data=data if cert else None, code=code,
                           page_url=external_url("verify.show", code=code))
    return html, 200 if cert else 404


@bp.get("/<code>")
@limiter.limit(_limit)
def show(code: str):
    response = current_app.make_response(_verify(code, _wants_json()))
    response.vary.add("Accept")
    return response


@bp.get("/<code>.json")
@limiter.limit(_limit)
def show_json(code: str):
    return _verify(code, as_json=True)


@bp.get("")
@limiter.limit(_limit)
def lookup():
    serial, surname = request.args.get("serial", "").strip(), request.args.get("surname", "").strip()
    searched = bool(serial or surname)
    if serial and surname:
        cert = verification.find_by_serial_and_surname(serial, surname)
        if cert is not None:
            return redirect(url_for("verify.show", code=cert.code))
    return render_template("verify/lookup.html", serial=serial, surname=surname,
                           searched=searched), 404 if searched else 200
