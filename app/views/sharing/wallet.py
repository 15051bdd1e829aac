"""Add to wallet: the holder's page (direct OB 3.0 downloads, a one-time VC-API exchange with its QR code
and the Learner Credential Wallet link) and the exchange endpoint wallets call.

`/exchanges/<token>` is called by wallets, not by a browser form: no session, no CSRF token; the
unguessable, single-use, short-lived token in the URL is the credential (like a password reset link).
"""

from __future__ import annotations

import base64
import io
import json
from urllib.parse import urlencode

import segno
from flask import Response, abort, current_app, jsonify, render_template, request, url_for
from flask_login import current_user
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from app.database import utcnow
from app.extensions import db, limiter
from app.services.credentials import wallet
from app.services.errors import NotAllowed, RateLimited
from app.services.sharing import shares
from app.strict_json import JSONInputError, loads
from app.views.sharing import bp
from app.web.auth import csrf_exempt, login_required
from app.web.errors import problem

LCW_REQUEST = "https://lcw.app/request"  # the Learner Credential Wallet's universal link for a request
MAX_BODY = 64 * 1024


def _own(cert_id: int):
    cert = shares.own_certificate(current_user, cert_id)
    if cert is None or cert.user_id != current_user.id:
        abort(404)
    return cert


def _absolute(path: str) -> str:
    return current_app.config["BASE_URL"].rstrip("/") + path


def credential_links(cert) -> dict:
    """The public credential URLs (served by the credentials blueprint: /credentials/<code>[.jwt]), those
    this app routes (an app without that blueprint offers none rather than broken links)."""
    paths = {"ldp": f"/credentials/{cert.code}", "jwt": f"/credentials/{cert.code}.jwt"}
    return {kind: _absolute(path) for kind, path in paths.items() if _routed(path)}


def _routed(path: str) -> bool:
    try:
        current_app.url_map.bind("localhost").match(path, method="GET")
    except (HTTPException, RequestRedirect):
        return False
    return True


def exchange_links(token: str) -> dict:
    exchange = _absolute(url_for("sharing.exchange", token=token))
    request_json = json.dumps({"credentialRequestOrigin": _absolute(""), "protocols": {"vcapi": exchange}},
                              separators=(",", ":"))
    lcw = f"{LCW_REQUEST}?{urlencode({'request': request_json})}"
    qr = segno.make(lcw, error="m")
    qr_png = "data:image/png;base64," + base64.b64encode(_png(qr)).decode()
    return {"exchange": exchange, "lcw": lcw, "qr": qr_png}


def _png(qr) -> bytes:
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=5, border=2)
    return buffer.getvalue()


def _page(cert, *, token: str | None = None, refusal: str | None = None, status: int = 200):
    name = (cert.snapshot or {}).get("certification_name") or cert.certification.name
    return render_template("sharing/wallet.html", cert=cert, name=name, credential=credential_links(cert),
                           exchange=exchange_links(token) if token else None, minutes=wallet.EXCHANGE_MINUTES,
                           recent=wallet.recent_exchanges(current_user, cert), now=utcnow(),
                           refusal=refusal), status


@bp.get("/me/certificates/<id:cert_id>/wallet")
@login_required
def wallet_page(cert_id: int):
    return _page(_own(cert_id))


@bp.post("/me/certificates/<id:cert_id>/wallet")
@login_required
def open_wallet_exchange(cert_id: int):
    cert = _own(cert_id)
    try:
        _, token = wallet.open_exchange(cert, actor=current_user)
    except RateLimited as exc:
        db.session.rollback()
        return _page(cert, refusal=str(exc), status=429)
    except NotAllowed as exc:
        db.session.rollback()
        return _page(cert, refusal=str(exc), status=409)
    page = _page(cert, token=token)  # built before the commit (app/web/transactions.py)
    db.session.commit()
    response = current_app.make_response(page)
    response.headers["Cache-Control"] = "no-store"  # the page carries the one-time link
    return response


def _exchange_limit() -> str:
    return current_app.config.get("VERIFY_RATE_LIMIT", "60 per minute")


def _gone(exc: Exception) -> Response:
    return problem(410, str(exc))


@bp.route("/exchanges/<token>", methods=["GET", "POST"])
@csrf_exempt
@limiter.limit(_exchange_limit)
def exchange(token: str):
    """VC-API exchange: GET -> the `protocols` object (an interaction URL); POST -> the credential."""
    try:
        if request.method == "GET":
            if wallet.find_open(token) is None:
                return problem(404, "No wallet exchange has this address.")
            return _no_store(jsonify({"protocols": {"vcapi": request.base_url}}))
        problem_response = _check_body()
        if problem_response is not None:
            return problem_response
        answer = wallet.redeem(token)
    except wallet.ExchangeClosed as exc:
        db.session.rollback()
        return _gone(exc)
    if answer is None:
        return problem(404, "No wallet exchange has this address.")
    response = _no_store(jsonify(answer))
    db.session.commit()
    return response


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def _check_body() -> Response | None:
    """The wallet's request: empty, or a JSON object (its options; none are needed here)."""
    if (request.content_length or 0) > MAX_BODY:
        return problem(413, "The request body is too large.")
    raw = request.get_data(cache=False)
    if len(raw) > MAX_BODY:
        return problem(413, "The request body is too large.")
    if not raw.strip():
        return None
    try:
        body = loads(raw)
    except (JSONInputError, UnicodeDecodeError) as exc:
        return problem(400, f"The body is not valid JSON: {exc}"[:300])
    if not isinstance(body, dict):
        return problem(400, "The body must be a JSON object.")
    return None
