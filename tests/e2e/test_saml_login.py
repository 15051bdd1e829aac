"""SAML single sign-on in Chromium: the login page's button, the pysaml2 IdP process, back on the dashboard.

Laurel is opened as http://localhost:<port> and the IdP listens on 127.0.0.1: two different sites, so the
IdP's POST to our ACS arrives without our SameSite=Lax session cookie, exactly as from a real IdP, and
the ACS posts it again from our own origin (static/js/autosubmit.js) before checking InResponseTo.
"""

from __future__ import annotations

import shutil
from urllib.parse import urlsplit

import pytest

from app.extensions import db
from app.models import User
from app.services.identity import saml
from tests.e2e.conftest import assert_clean
from tests.support.saml_idp import SamlIdentityProvider

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(shutil.which("xmlsec1") is None,
                                 reason="SAML needs the xmlsec1 program (apt-get install xmlsec1)")]

ADA = {"name_id": "ada.lovelace", "attributes": {
    "mail": ["ada@example.org"], "displayName": ["Ada Lovelace"], "groups": ["staff"]}}


def test_chromium_signs_in_through_the_saml_idp_and_out_again(app, page, live_server, admin, monkeypatch,
                                                               screenshot):
    from playwright.sync_api import expect

    base = f"http://localhost:{urlsplit(live_server).port}"
    monkeypatch.setitem(app.config, "BASE_URL", base)  # our SAML URLs (ACS, entity id) come from BASE_URL
    with SamlIdentityProvider() as idp:
        provider = saml.create_provider({
            "label": "Campus IdP", "metadata_xml": idp.metadata(), "email_attribute": "mail",
            "name_attribute": "displayName", "groups_attribute": "groups", "role_for_group": "staff = staff",
            "default_role": "learner", "create_accounts": True, "trust_email": True, "enabled": True},
            actor=admin)
        db.session.commit()
        idp.trust(saml.sp_metadata(provider))
        db.session.commit()
        idp.configure(user=ADA)

        acs_posts: list[str] = []
        page.on("request", lambda r: r.method == "POST" and "/acs" in r.url and acs_posts.append(r.url))
        page.goto(f"{base}/login")
        page.get_by_role("link", name="Sign in with Campus IdP").click()
        page.wait_for_url(f"{base}/")
        expect(page.get_by_role("navigation", name="Main")).to_be_visible()
        screenshot(page, "saml-dashboard")
        assert_clean(page)
        user = db.session.scalar(db.select(User).where(User.email == "ada@example.org"))
        assert user is not None and user.role == "staff"
        assert idp.state()["logins"] == 1
        assert len(acs_posts) == 2  # the IdP's cross-site POST, then ours from our own origin (the cookie)

        page.get_by_role("button", name="Ada Lovelace").click()
        page.get_by_role("button", name="Log out").click()
        page.wait_for_url(f"{base}/login")  # through the IdP's single logout and back
        assert idp.state()["logout_requests"] == 1
        expect(page.get_by_text("logged out, also at your identity provider")).to_be_visible()
        assert_clean(page)
