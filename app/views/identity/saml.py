"""SAML 2 single sign-on pages: our metadata, login start, the ACS, single logout, and the SAML providers of
Admin › Sign-in (the list is a section of that page: templates/identity/_saml_section.html).

Rules live in app/services/identity/saml.py; the protocol in app/connectors/saml_sp.py (pysaml2).
"""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import FileStorage

from app.extensions import db, limiter
from app.models import SamlProvider
from app.services import audit
from app.services.errors import NotAllowed, ValidationError
from app.services.identity import saml
from app.views.identity import bp
from app.views.identity.saml_forms import SamlProviderForm
from app.web.auth import admin_required, csrf_exempt, sign_in, sign_out, signed_in_with
from app.web.forms import attempt, submit

# The session remembers our open AuthnRequests (id -> [provider public id, where to go after]) and,
# once signed in, the NameID and SessionIndex the IdP needs for single logout.
REQUESTS_KEY = "saml_requests"
LOGIN_KEY = saml.SESSION_LOGIN_KEY
MAX_OPEN_REQUESTS = 5  # a few tabs at once; older ones are forgotten
MAX_UPLOAD = 1024 * 1024


def _provider(public_id: str, *, enabled: bool = True) -> SamlProvider:
    provider = saml.by_public_id(public_id)
    if provider is None or (enabled and not provider.enabled):
        abort(404)
    return provider


def _refused(provider: SamlProvider | None, reason: str, status: int = 400):
    """A sign-in the identity provider's answer could not complete: logged and audited, never a 5xx."""
    current_app.logger.warning("SAML sign-in refused (%s): %s", provider.label if provider else "?", reason)
    db.session.rollback()
    audit.record(f"SAML: {provider.label}" if provider else "SAML", "saml.login_refused", "saml_provider",
                 provider.id if provider else None, "SAML sign-in refused", reason=reason[:300],
                 ip=request.remote_addr)
    db.session.commit()
    return render_template("identity/saml_failed.html", provider=provider), status


def _unavailable():
    missing = saml.xmlsec1_missing()
    if missing:
        return render_template("identity/saml_failed.html", provider=None, missing=missing), 503
    return None


# ---------------------------------------------------------------------------------------------
# the protocol endpoints
# ---------------------------------------------------------------------------------------------


@bp.get("/sso/saml/<public_id>/metadata")
def saml_metadata(public_id: str):
    provider = _provider(public_id, enabled=False)  # IdP admins copy it before the provider is enabled
    if (answer := _unavailable()) is not None:
        return answer
    xml = saml.sp_metadata(provider)
    db.session.commit()  # the key pair, made on first use
    return current_app.response_class(xml, mimetype="application/samlmetadata+xml")


@bp.get("/sso/saml/<public_id>/login")
@limiter.limit("30 per minute")
def saml_login(public_id: str):
    """A link, not a form: the redirect goes to another origin, which `form-action 'self'` would block."""
    provider = _provider(public_id)
    if (answer := _unavailable()) is not None:
        return answer
    try:
        request_id, url = saml.start_login(provider)
    except saml.SamlRefused as exc:
        return _refused(provider, str(exc))
    db.session.commit()
    open_requests = dict(session.get(REQUESTS_KEY) or {})
    open_requests[request_id] = [provider.public_id, _safe_next(request.args.get("next"))]
    session[REQUESTS_KEY] = dict(list(open_requests.items())[-MAX_OPEN_REQUESTS:])
    return redirect(url)


def _safe_next(target: str | None) -> str:
    if (target and target.startswith("/") and not target.startswith("//") and "\\" not in target
            and target.isprintable() and len(target) <= 500):
        return target
    return url_for("dashboard.index")


# CSRF-exempt by design: the IdP's signed assertion is the proof, and it must answer our own AuthnRequest
# (InResponseTo among the ids this browser's session remembers), so a forged POST cannot sign anyone in.
@bp.post("/sso/saml/<public_id>/acs")
@csrf_exempt
@limiter.limit("30 per minute")
def saml_acs(public_id: str):
    provider = _provider(public_id)
    if (answer := _unavailable()) is not None:
        return answer
    saml_response = request.form.get("SAMLResponse", "")
    if not saml_response or len(saml_response) > saml.MAX_RESPONSE_CHARS:
        return _refused(provider, "The SAML response is missing or too large.")
    has_cookie = bool(request.cookies.get(current_app.config["SESSION_COOKIE_NAME"]))
    if not has_cookie and not request.form.get("reposted"):
        # The IdP's page posts from another site, so the browser withholds our SameSite=Lax session cookie
        # (where the open AuthnRequest is): post the same answer again from our own origin.
        return render_template("identity/saml_repost.html", saml_response=saml_response,
                               relay_state=request.form.get("RelayState", ""))
    open_requests = dict(session.get(REQUESTS_KEY) or {})
    outstanding = {rid: entry[1] for rid, entry in open_requests.items() if entry[0] == provider.public_id}
    try:
        done = saml.finish_login(provider, saml_response, outstanding)
    except saml.SamlRefused as exc:
        return _refused(provider, str(exc))
    except NotAllowed as exc:
        db.session.commit()  # the refusal is audited
        flash(str(exc), "danger")
        return redirect(url_for("accounts.login"))
    except (ValidationError, IntegrityError):
        # Two first sign-ins of one person at the same moment: the other one created the account.
        db.session.rollback()
        return render_template("identity/saml_failed.html", provider=provider,
                               message="Your sign-in crossed another one. Start again."), 409
    open_requests.pop(done.assertion.in_response_to, None)
    session[REQUESTS_KEY] = open_requests
    sign_in(done.user, method="saml", provider=provider.key)
    session[LOGIN_KEY] = {"name_id": done.assertion.name_id, "session_index": done.assertion.session_index}
    db.session.commit()
    return redirect(outstanding.get(done.assertion.in_response_to) or url_for("dashboard.index"))


@bp.get("/sso/saml/<public_id>/slo")
def saml_slo(public_id: str):
    """The IdP's answer to our LogoutRequest, or its own LogoutRequest (it signs the person out)."""
    provider = _provider(public_id, enabled=False)
    if (answer := _unavailable()) is not None:
        return answer
    query = request.query_string.decode("latin-1")
    try:
        if "SAMLResponse" in request.args:
            saml.read_logout_response(provider, query)
            flash("You are logged out, also at your identity provider.", "info")
            return redirect(url_for("accounts.login"))
        if "SAMLRequest" in request.args:
            done = saml.answer_logout_request(provider, query,
                                              lambda name_id: _end_if_mine(provider, name_id))
            db.session.commit()
            return redirect(done.answer_url)
    except saml.SamlRefused as exc:
        return _refused(provider, str(exc))
    abort(400, description="Expected a SAMLRequest or a SAMLResponse.")


def _end_if_mine(provider: SamlProvider, name_id: dict[str, str]) -> bool:
    method, provider_key = signed_in_with()
    login = session.get(LOGIN_KEY) or {}
    if not current_user.is_authenticated or method != "saml" or provider_key != provider.key:
        return False
    if (login.get("name_id") or {}).get("text") != name_id.get("text"):
        return False
    sign_out()
    session.pop(LOGIN_KEY, None)
    return True


# ---------------------------------------------------------------------------------------------
# Admin › Sign-in › SAML providers
# ---------------------------------------------------------------------------------------------


@bp.route("/admin/sign-in/saml/new", methods=["GET", "POST"])
@admin_required
def saml_provider_new():
    form = SamlProviderForm()
    done = submit(form, lambda: saml.create_provider(_values(form), actor=current_user))
    if done:
        flash("SAML provider added. Give its metadata URL (or ACS URL and entity id) to the identity "
              "provider.", "success")
        return redirect(url_for("identity.saml_provider_edit", provider_id=done.value.id))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("identity/saml_provider.html", form=form, provider=None,
                           missing=saml.xmlsec1_missing()), status


@bp.route("/admin/sign-in/saml/<id:provider_id>", methods=["GET", "POST"])
@admin_required
def saml_provider_edit(provider_id: int):
    provider = db.session.get(SamlProvider, provider_id) or abort(404)
    form = SamlProviderForm(obj=provider) if request.method == "GET" else SamlProviderForm()
    if request.method == "GET":
        form.role_for_group.data = saml.mapping_text(provider)
    done = submit(form, lambda: saml.update_provider(provider, _values(form), actor=current_user))
    if done:
        flash("SAML provider saved.", "success")
        return redirect(url_for("identity.saml_provider_edit", provider_id=provider.id))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("identity/saml_provider.html", form=form, provider=provider,
                           urls=saml.urls(provider), missing=saml.xmlsec1_missing()), status


@bp.post("/admin/sign-in/saml/<id:provider_id>/enabled")
@admin_required
def saml_provider_enabled(provider_id: int):
    provider = db.session.get(SamlProvider, provider_id) or abort(404)
    done = attempt(lambda: saml.set_enabled(provider, not provider.enabled, actor=current_user))
    if done:
        flash(f"{provider.label} is {'enabled' if provider.enabled else 'disabled'}.", "success")
    return redirect(url_for("identity.sign_in_admin"))


def _values(form: SamlProviderForm) -> dict:
    values = form.values()
    upload = form.metadata_file.data
    if isinstance(upload, FileStorage) and upload.filename:
        try:
            values["metadata_xml"] = upload.read(MAX_UPLOAD + 1)
        finally:
            upload.close()
    return values
