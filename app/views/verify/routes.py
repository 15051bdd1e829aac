"""Public verification: `/verify/<code>` (HTML, or JSON by Accept or `.json`) and a serial + surname lookup.

A hit and a miss do the same work (one indexed query for the certificate and its chain, the same
template), so the answer time does not tell whether a code exists. Rate limited per IP. Anonymous
answers touch no session and carry public cache headers with a versioned ETag (app/web/caching.py).
"""

from __future__ import annotations

from flask import current_app, jsonify, redirect, render_template, request, url_for

from app.extensions import limiter
from app.services.lifecycle import verification
from app.services.messaging.outbox import external_url
from app.services.sharing import engagement
from app.views.verify import bp
from app.web.caching import public_answer
from app.web.errors import problem


def _limit() -> str:
    return current_app.config.get("VERIFY_RATE_LIMIT", "60 per minute")


MISSING = "No certificate has this verification code."


def _wants_json() -> bool:
    return request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"


def _verify(code: str, as_json: bool):
    answer = verification.verify(code)
    engagement.count_later(answer.certificate_id, "view")
    if as_json:
        response = jsonify(answer.data) if answer.data else problem(404, MISSING)
    else:
        response = current_app.make_response((
            render_template("verify/show.html", data=answer.data, code=code,
                            page_url=external_url("verify.show", code=code)), 200 if answer.data else 404))
    return public_answer(response, answer.version, "json" if as_json else "html")


@bp.get("/<code>")
@limiter.limit(_limit)
def show(code: str):
    response = _verify(code, _wants_json())
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
