"""Admin › Sign-in: OpenID providers (add, edit, test discovery, disable) and the SSO-only policy."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user

from app.extensions import db
from app.models.identity import OidcProvider
from app.services.identity import oidc, policy, saml
from app.views.identity import bp
from app.views.identity.forms import PolicyForm, ProviderForm
from app.views.identity.oidc import callback_url
from app.web import nav
from app.web.auth import admin_required
from app.web.forms import submit

nav.add("identity.sign_in_admin", "Sign-in", nav.ADMIN, prefix="identity.", order=96)


@bp.get("/admin/sign-in")
@admin_required
def sign_in_admin():
    oidc.ensure_environment_provider()
    return render_template("identity/admin.html", providers=oidc.providers(),
                           policy_form=PolicyForm(data={"sso_only": policy.sso_only()}),
                           saml_providers=saml.providers(), saml_missing=saml.xmlsec1_missing())


@bp.post("/admin/sign-in/policy")
@admin_required
def sign_in_policy():
    form = PolicyForm()
    if submit(form, lambda: policy.set_sso_only(bool(form.sso_only.data), actor=current_user)):
        flash("Sign-in policy saved.", "success")
    return redirect(url_for("identity.sign_in_admin"))


@bp.route("/admin/sign-in/providers/new", methods=["GET", "POST"])
@admin_required
def provider_new():
    form = ProviderForm()
    done = submit(form, lambda: oidc.create_provider(form.values(), actor=current_user))
    if done:
        uri = callback_url(done.value.public_id)
        flash(f"Provider added. Register {uri} as its redirect URI.", "success")
        return redirect(url_for("identity.provider_edit", provider_id=done.value.id))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("identity/provider.html", form=form, provider=None), status


def _provider(provider_id: int) -> OidcProvider:
    provider = db.session.get(OidcProvider, provider_id)
    if provider is None:
        abort(404)
    return provider


@bp.route("/admin/sign-in/providers/<id:provider_id>", methods=["GET", "POST"])
@admin_required
def provider_edit(provider_id: int):
    provider = _provider(provider_id)
    form = ProviderForm(obj=provider, data={"role_map": oidc.format_role_map(provider.role_map or {}),
                                            "client_secret": ""})
    done = submit(form, lambda: oidc.update_provider(provider, form.values(), actor=current_user))
    if done:
        flash("Provider saved.", "success")
        return redirect(url_for("identity.provider_edit", provider_id=provider.id))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("identity/provider.html", form=form, provider=provider,
                           redirect_uri=callback_url(provider.public_id)), status


@bp.post("/admin/sign-in/providers/<id:provider_id>/test")
@admin_required
def provider_test(provider_id: int):
    provider = _provider(provider_id)
    try:
        metadata = oidc.test_discovery(provider)
    except oidc.ProviderError as exc:
        flash(f"Discovery failed: {exc}", "danger")
    else:
        flash(f"Discovery works: authorization at {metadata.authorization_endpoint}; logout at the "
              f"provider {'supported' if metadata.end_session_endpoint else 'not offered'}.", "success")
    return redirect(url_for("identity.provider_edit", provider_id=provider.id))


@bp.post("/admin/sign-in/providers/<id:provider_id>/enabled")
@admin_required
def provider_enabled(provider_id: int):
    provider = _provider(provider_id)
    enable = not provider.enabled
    oidc.set_enabled(provider, enable, actor=current_user)
    db.session.commit()
    flash(f"{provider.label} {'enabled' if enable else 'disabled'}.", "success")
    return redirect(url_for("identity.sign_in_admin"))
