"""Embeddable badges: `/embed/<code>` (a card any site may frame), `/embed/<code>.svg` (a status image),
`/oembed` (oEmbed 1.0 discovery answers) and the holder's "Embed" page with the snippets.

The card and the image show the live status with a short public cache; they read nothing but the verify
page's public answer, so they tell nobody more than the verify link already does.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Response, abort, current_app, jsonify, render_template, request, url_for
from flask_login import current_user
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from app.extensions import limiter
from app.services.lifecycle.certificates import verify_url
from app.services.sharing import embed, profiles, shares
from app.views.sharing import bp
from app.web.auth import login_required
from app.web.caching import public_answer
from app.web.errors import problem
from app.web.security import frameable

EMBED_MAX_AGE = 60  # seconds: a revoke shows on other sites within a minute
MAX_URL = 2048
# Our addresses an oEmbed consumer may ask about: endpoint -> what its URL names.
CERTIFICATE_ENDPOINTS = {"verify.show": "code", "verify.show_json": "code", "sharing.public_page": "code",
                         "sharing.embed_card": "code"}
PROFILE_ENDPOINT = "sharing.public_profile"


def _limit() -> str:
    return current_app.config.get("VERIFY_RATE_LIMIT", "60 per minute")


def _short_cache(response: Response, version: str, variant: str) -> Response:
    response = public_answer(response, version, variant)
    if response.headers.get("Cache-Control", "").startswith("public"):
        response.headers["Cache-Control"] = f"public, max-age={EMBED_MAX_AGE}"
    return response


@bp.get("/embed/<code>")
@limiter.limit(_limit)
def embed_card(code: str):
    found = embed.lookup(code)
    html = render_template("sharing/embed_card.html", embed=found, data=found.data,
                           verify_link=verify_url_for(code) if found.data else None)
    response = current_app.make_response((html, 200 if found.data else 404))
    return frameable(_short_cache(response, found.version, "embed"))


@bp.get("/embed/<code>.svg")
@limiter.limit(_limit)
def embed_badge(code: str):
    found = embed.lookup(code)
    response = Response(embed.status_svg(found), 200 if found.data else 404, mimetype="image/svg+xml")
    # An image never runs anything, even opened on its own.
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    return _short_cache(response, found.version, "svg")


def verify_url_for(code: str) -> str:
    return current_app.config["BASE_URL"].rstrip("/") + url_for("verify.show", code=code)


def _ours(url: str) -> tuple[str, dict] | None:
    """(endpoint, values) when `url` is one of our own pages; None for anything else. Never fetched."""
    if not url or len(url) > MAX_URL:
        return None
    try:
        parts, base = urlsplit(url.strip()), urlsplit(current_app.config["BASE_URL"])
        port, base_port = parts.port, base.port
    except ValueError:  # a malformed host or port
        return None
    defaults = {"http": 80, "https": 443}
    if parts.scheme.lower() not in defaults or not parts.hostname or parts.username or parts.password:
        return None
    if (parts.hostname.lower() != (base.hostname or "").lower()
            or (port or defaults[parts.scheme.lower()]) != (base_port or defaults[base.scheme])):
        return None
    prefix = base.path.rstrip("/")
    if not parts.path.startswith(prefix + "/"):
        return None
    try:
        return current_app.url_map.bind(base.netloc).match(parts.path[len(prefix):] or "/", method="GET")
    except (HTTPException, RequestRedirect):
        return None


@bp.get("/oembed")
@limiter.limit(_limit)
def oembed():
    fmt = request.args.get("format", "json")
    if fmt != "json":
        return problem(501, "Only format=json is implemented.")
    try:
        width = embed.bounded_size(request.args.get("maxwidth"), embed.CARD_WIDTH, embed.MIN_WIDTH)
        height = embed.bounded_size(request.args.get("maxheight"), embed.CARD_HEIGHT, embed.MIN_HEIGHT)
        answer, version = _oembed_answer(request.args.get("url", ""), width, height)
    except embed.OEmbedError as exc:
        return problem(exc.status, str(exc))
    response = jsonify(answer)
    return _short_cache(response, version, f"oembed-{width}x{height}")


def _oembed_answer(url: str, width: int, height: int) -> tuple[dict, str]:
    matched = _ours(url)
    if matched is None:
        raise embed.OEmbedError(404, "Not an address of a certificate or a profile on this site.")
    endpoint, values = matched
    if endpoint in CERTIFICATE_ENDPOINTS:
        code = str(values[CERTIFICATE_ENDPOINTS[endpoint]])
        found = embed.lookup(code)
        card = current_app.config["BASE_URL"].rstrip("/") + url_for("sharing.embed_card", code=code)
        return embed.certificate_oembed(found, card_url=card, width=width, height=height), found.version
    if endpoint == PROFILE_ENDPOINT:
        page = profiles.public_page(str(values["handle"]))
        if page is not None:
            link = current_app.config["BASE_URL"].rstrip("/") + url_for(PROFILE_ENDPOINT,
                                                                         handle=page.profile.handle)
            return embed.profile_oembed(page.name, link), f"p{len(page.certificates)}"
    raise embed.OEmbedError(404, "Not an address of a certificate or a profile on this site.")


@bp.get("/me/certificates/<id:cert_id>/embed")
@login_required
def embed_controls(cert_id: int):
    """The holder's snippets: a linked image, or the framed card (only for their own certificate)."""
    cert = shares.own_certificate(current_user, cert_id)
    if cert is None or cert.user_id != current_user.id:
        abort(404)
    base = current_app.config["BASE_URL"].rstrip("/")
    name = (cert.snapshot or {}).get("certification_name") or cert.certification.name
    holder = (cert.snapshot or {}).get("holder_name") or current_user.name
    links = {"verify": verify_url(cert), "card": base + url_for("sharing.embed_card", code=cert.code),
             "badge": base + url_for("sharing.embed_badge", code=cert.code)}
    links["oembed"] = base + url_for("sharing.oembed", url=links["verify"], format="json")
    # The previews on this page load from this site as the visitor reached it (BASE_URL is for others).
    previews = {"card": url_for("sharing.embed_card", code=cert.code),
                "badge": url_for("sharing.embed_badge", code=cert.code)}
    return render_template("sharing/embed_controls.html", cert=cert, name=name, holder=holder, links=links,
                           previews=previews, width=embed.CARD_WIDTH, height=embed.CARD_HEIGHT)
