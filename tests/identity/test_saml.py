"""SAML 2 single sign-on at the HTTP level, against a real pysaml2 IdP running as its own process.

The Flask test client is the browser: it follows our redirect to the IdP with `requests`, reads the
IdP's auto-submitting form (SAMLResponse, RelayState) and posts it to our ACS, as a browser would.
"""

from __future__ import annotations

import base64
import html
import io
import re
import shutil
from urllib.parse import urlsplit

import pytest
import requests
from defusedxml import ElementTree
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, SamlAssertionUse, SamlProvider, SamlServiceKey, User
from app.services.identity import saml
from tests.conftest import csrf_token_from
from tests.support.saml_idp import SamlIdentityProvider

pytestmark = pytest.mark.skipif(shutil.which("xmlsec1") is None,
                                reason="SAML needs the xmlsec1 program (apt-get install xmlsec1)")

MD = "{urn:oasis:names:tc:SAML:2.0:metadata}"
DS = "{http://www.w3.org/2000/09/xmldsig#}"
FORM_FIELD = re.compile(r'name="(SAMLResponse|RelayState)" value="([^"]*)"')
FORM_ACTION = re.compile(r'<form[^>]*action="([^"]*)"')
ADA = {"name_id": "ada.lovelace", "attributes": {
    "mail": ["ada@example.org"], "displayName": ["Ada Lovelace"], "groups": ["staff", "maths"],
    "department": ["Mathematics"]}}


@pytest.fixture(scope="module")
def idp():
    with SamlIdentityProvider() as provider:
        yield provider


@pytest.fixture
def provider(idp, admin):
    """A provider made from the IdP's metadata, the IdP trusting our (per-test) key and URLs."""
    created = saml.create_provider({
        "label": "Test IdP", "metadata_xml": idp.metadata(), "email_attribute": "mail",
        "name_attribute": "displayName", "groups_attribute": "groups", "department_attribute": "department",
        "role_for_group": "staff = staff", "default_role": "learner", "create_accounts": True,
        "trust_email": True, "enabled": True}, actor=admin)
    db.session.commit()
    idp.trust(saml.sp_metadata(created))
    db.session.commit()
    idp.configure(user=ADA, mode="normal")
    return created


def _start(client, provider: SamlProvider, next_url: str | None = None) -> str:
    """Our login redirect; returns the IdP URL (with the signed AuthnRequest)."""
    response = client.get(f"/sso/saml/{provider.public_id}/login" + (f"?next={next_url}" if next_url else ""))
    assert response.status_code == 302
    return response.headers["Location"]


def _idp_answer(url: str) -> dict[str, str]:
    """What the IdP's page would post: its form's action and fields."""
    page = requests.get(url, timeout=20)
    assert page.status_code == 200, page.text[:300]
    fields = {name: html.unescape(value) for name, value in FORM_FIELD.findall(page.text)}
    fields["action"] = html.unescape(FORM_ACTION.search(page.text).group(1))
    return fields


def _post(client, provider: SamlProvider, answer: dict[str, str]):
    return client.post(f"/sso/saml/{provider.public_id}/acs",
                       data={"SAMLResponse": answer["SAMLResponse"],
                             "RelayState": answer.get("RelayState", "")})


def _sign_in(client, provider, idp, mode: str = "normal", user: dict | None = None):
    idp.configure(user=user or ADA, mode=mode)
    answer = _idp_answer(_start(client, provider))
    return _post(client, provider, answer), answer


def _signed_in(client) -> bool:
    return client.get("/profile").status_code == 200


def _refusals() -> list[str]:
    return [row.data.get("reason", "") for row in
            db.session.scalars(select(AuditEvent).where(AuditEvent.action == "saml.login_refused"))]


def _department(user: User) -> str | None:
    ref = getattr(user, "department_ref", None)
    return ref.name if ref is not None else user.department


# --- our metadata ------------------------------------------------------------------------------------


def test_metadata_is_valid_xml_with_our_certificate_and_endpoints(app, provider):
    client = app.test_client()
    response = client.get(f"/sso/saml/{provider.public_id}/metadata")
    assert response.status_code == 200 and response.mimetype == "application/samlmetadata+xml"
    root = ElementTree.fromstring(response.get_data())
    urls = saml.urls(provider)
    assert root.tag == f"{MD}EntityDescriptor" and root.get("entityID") == urls["metadata"]
    sp = root.find(f"{MD}SPSSODescriptor")
    assert sp.get("AuthnRequestsSigned") == "true" and sp.get("WantAssertionsSigned") == "true"
    acs = sp.find(f"{MD}AssertionConsumerService")
    assert acs.get("Location") == urls["acs"] and acs.get("Binding").endswith("HTTP-POST")
    assert sp.find(f"{MD}SingleLogoutService").get("Location") == urls["slo"]
    published = "".join(sp.find(f".//{DS}X509Certificate").text.split())
    stored = db.session.scalar(select(SamlServiceKey.certificate_pem))
    assert published == "".join(stored.splitlines()[1:-1])
    assert "PRIVATE KEY" not in db.session.scalar(select(SamlServiceKey.private_key))  # encrypted at rest
    assert client.get("/sso/saml/nosuchprovider/metadata").status_code == 404


# --- login ---------------------------------------------------------------------------------------------


def test_login_creates_the_account_with_mapped_role_and_department(app, provider, idp):
    client = app.test_client()
    answer = _idp_answer(_start(client, provider, next_url="/profile"))
    assert answer["action"] == saml.urls(provider)["acs"]
    response = _post(client, provider, answer)
    assert response.status_code == 302 and response.headers["Location"] == "/profile"
    user = db.session.scalar(select(User).where(User.email == "ada@example.org"))
    assert (user.name, user.role, _department(user)) == ("Ada Lovelace", "staff", "Mathematics")
    assert _signed_in(client)
    logged_in = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.logged_in"))
    assert logged_in.data["method"] == "saml" and logged_in.data["provider"] == f"saml:{provider.public_id}"
    # The next login finds the linked identity: the same user, no second account.
    other = app.test_client()
    assert _sign_in(other, provider, idp)[0].status_code == 302
    assert db.session.scalar(select(func.count()).select_from(User)) == 2  # the admin and Ada


@pytest.mark.parametrize("mode", ["unsigned", "response_signed_only", "wrong_audience", "expired",
                                  "wrong_recipient"])
def test_bad_assertions_are_refused(app, provider, idp, mode):
    client = app.test_client()
    response, _ = _sign_in(client, provider, idp, mode=mode)
    assert response.status_code == 400
    assert "Single sign-on did not work" in response.get_data(as_text=True)
    assert not _signed_in(client)
    assert db.session.scalar(select(User).where(User.email == "ada@example.org")) is None
    assert len(_refusals()) == 1


def test_a_tampered_signed_assertion_is_refused(app, provider, idp):
    client = app.test_client()
    idp.configure(user=ADA, mode="normal")
    answer = _idp_answer(_start(client, provider))
    xml = base64.b64decode(answer["SAMLResponse"]).decode()
    assert "ada@example.org" in xml
    forged = base64.b64encode(xml.replace("ada@example.org", "eve@example.org").encode()).decode()
    assert _post(client, provider, {"SAMLResponse": forged}).status_code == 400
    assert not _signed_in(client)
    assert db.session.scalar(select(User).where(User.email == "eve@example.org")) is None


def test_the_same_response_twice_is_refused(app, provider, idp):
    client = app.test_client()
    response, answer = _sign_in(client, provider, idp)
    assert response.status_code == 302
    thief = app.test_client()
    _start(thief, provider)  # an open request of its own: still not the one this response answers
    assert _post(thief, provider, answer).status_code == 400
    assert _post(client, provider, answer).status_code == 400  # its own request was answered already
    assert not _signed_in(thief)


def test_a_new_response_reusing_an_assertion_id_is_refused_from_the_database(app, provider, idp):
    assert _sign_in(app.test_client(), provider, idp)[0].status_code == 302
    assert db.session.scalar(select(func.count()).select_from(SamlAssertionUse)) == 1
    from app.queue import get_redis

    get_redis().flushdb()  # a Redis flush (or restart) does not reopen the window: the record is in the DB
    client = app.test_client()
    response, _ = _sign_in(client, provider, idp, mode="replay")
    assert response.status_code == 400 and not _signed_in(client)
    assert "replay" in _refusals()[-1]


def test_in_response_to_must_match_this_browsers_request(app, provider, idp):
    victim, attacker = app.test_client(), app.test_client()
    answer = _idp_answer(_start(victim, provider))
    _start(attacker, provider)
    assert _post(attacker, provider, answer).status_code == 400  # not the attacker's request
    fresh = app.test_client()
    fresh.get("/login")  # a session, but no request open: an unsolicited (IdP-initiated) response
    assert _post(fresh, provider, answer).status_code == 400
    assert _post(victim, provider, answer).status_code == 302  # its own browser: fine


PROTOCOL = 'xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="x" Version="2.0"'
XXE = f"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<samlp:Response {PROTOCOL}>&x;</samlp:Response>"""
LAUGHS = f"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<samlp:Response {PROTOCOL}>&lol3;</samlp:Response>"""


@pytest.mark.parametrize("payload", [
    base64.b64encode(XXE.encode()).decode(), base64.b64encode(LAUGHS.encode()).decode(),
    "not base64 at all !!", "", "\x00" * 10, base64.b64encode(b"<a>" * 5000).decode(), "A" * 600_000,
    base64.b64encode(b"\xff\xfe garbage").decode(),
], ids=["xxe", "billion-laughs", "not-base64", "empty", "nul", "deep", "huge", "binary"])
def test_hostile_saml_responses_are_a_400_never_a_500(app, provider, payload):
    client = app.test_client()
    _start(client, provider)
    response = client.post(f"/sso/saml/{provider.public_id}/acs", data={"SAMLResponse": payload})
    assert response.status_code == 400
    assert not _signed_in(client)


def test_a_deactivated_user_is_refused(app, provider, idp, make_user):
    make_user("learner", email="ada@example.org", active=False)
    client = app.test_client()
    response, _ = _sign_in(client, provider, idp)
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    assert "deactivated" in client.get("/login").get_data(as_text=True)
    assert not _signed_in(client)


def test_a_disabled_provider_has_no_button_and_no_login(app, provider, idp):
    client = app.test_client()
    assert f"Sign in with {provider.label}" in client.get("/login").get_data(as_text=True)
    answer = _idp_answer(_start(client, provider))
    provider.enabled = False
    db.session.commit()
    assert f"Sign in with {provider.label}" not in client.get("/login").get_data(as_text=True)
    assert client.get(f"/sso/saml/{provider.public_id}/login").status_code == 404
    assert _post(client, provider, answer).status_code == 404


def test_a_cross_site_post_without_our_cookie_is_posted_again_from_our_origin(app, provider, idp):
    client = app.test_client()
    answer = _idp_answer(_start(client, provider))
    cookieless = app.test_client()  # what a browser sends with SameSite=Lax on a cross-site POST
    page = _post(cookieless, provider, answer)
    assert page.status_code == 200 and 'name="reposted"' in page.get_data(as_text=True)
    assert "js/autosubmit.js" in page.get_data(as_text=True)


# --- single logout -------------------------------------------------------------------------------------


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def test_sp_initiated_logout_ends_the_session_here_and_at_the_idp(app, provider, idp):
    client = app.test_client()
    assert _sign_in(client, provider, idp)[0].status_code == 302
    token = csrf_token_from(client.get("/profile").get_data(as_text=True))
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 200  # a page that moves on (a redirect would break CSP form-action)
    onward = html.unescape(re.search(r'href="([^"]*)" data-testid="sso-logout"',
                                     response.get_data(as_text=True))[1])
    assert onward.startswith(idp.url + "slo?")
    assert not _signed_in(client)  # ended here before the IdP is even asked
    at_idp = requests.get(onward, allow_redirects=False, timeout=20)
    assert at_idp.status_code == 302 and idp.state()["logout_requests"] == 1
    back = client.get(_path(at_idp.headers["Location"]))
    assert back.status_code == 302 and back.headers["Location"].endswith("/login")


def test_idp_initiated_logout_ends_the_session_and_answers_signed(app, provider, idp):
    client = app.test_client()
    assert _sign_in(client, provider, idp)[0].status_code == 302
    request_url = requests.get(idp.url + "logout-user", allow_redirects=False, timeout=20).headers["Location"]
    unsigned = re.sub(r"&(Signature|SigAlg)=[^&]*", "", _path(request_url))
    assert client.get(unsigned).status_code == 400 and _signed_in(client)  # an unsigned request: refused
    answer = client.get(_path(request_url))
    assert answer.status_code == 302 and answer.headers["Location"].startswith(idp.url + "slo?")
    assert not _signed_in(client)
    before = len(idp.state()["logout_responses"])
    assert requests.get(answer.headers["Location"], timeout=20).status_code == 200
    assert idp.state()["logout_responses"][before:] == [True]  # our signed answer checked by the IdP


# --- admin ---------------------------------------------------------------------------------------------


def test_admin_adds_a_provider_by_metadata_url_and_by_upload(app, idp, login_as, admin, monkeypatch):
    monkeypatch.setitem(app.config, "OUTGOING_ALLOW_PRIVATE", True)  # the IdP listens on loopback
    client = login_as(admin)
    page = client.get("/admin/sign-in/saml/new")
    assert page.status_code == 200
    token = csrf_token_from(page.get_data(as_text=True))
    base = {"csrf_token": token, "label": "Entra", "email_attribute": "mail", "default_role": "learner",
            "create_accounts": "y", "enabled": "y", "role_for_group": "teachers = staff"}
    added = client.post("/admin/sign-in/saml/new", data={**base, "metadata_url": idp.metadata_url})
    assert added.status_code == 302, added.get_data(as_text=True)[:2000]
    stored = db.session.scalar(select(SamlProvider))
    assert stored.idp_entity_id == idp.metadata_url and stored.role_for_group == {"teachers": "staff"}
    edit = client.get(added.headers["Location"]).get_data(as_text=True)
    assert saml.urls(stored)["acs"] in edit and saml.urls(stored)["metadata"] in edit
    uploaded = client.post("/admin/sign-in/saml/new", content_type="multipart/form-data", data={
        **base, "label": "Okta", "metadata_file": (io.BytesIO(idp.metadata().encode()), "md.xml")})
    assert uploaded.status_code == 302
    assert "Okta" in client.get("/admin/sign-in").get_data(as_text=True)  # the SAML section of Sign-in
    toggled = client.post(f"/admin/sign-in/saml/{stored.id}/enabled", data={"csrf_token": token})
    assert toggled.status_code == 302
    db.session.expire_all()
    assert db.session.get(SamlProvider, stored.id).enabled is False


@pytest.mark.parametrize("fields", [
    {"metadata_url": "http://127.0.0.1:1/metadata"},  # private address, not allowed here
    {"metadata_url": "file:///etc/passwd"},
    {"metadata_file": (b"<EntityDescriptor", "md.xml")},
    {"metadata_file": (XXE.encode(), "md.xml")},
    {"metadata_file": (b"\xff\xfe\x00", "md.xml")},
    {"metadata_url": "", "role_for_group": "teachers = wizard"},
    {},
], ids=["private-url", "file-url", "broken-xml", "xxe", "not-utf8", "bad-role", "nothing"])
def test_bad_provider_input_is_a_422_and_nothing_is_saved(app, login_as, admin, fields):
    client = login_as(admin)
    token = csrf_token_from(client.get("/admin/sign-in/saml/new").get_data(as_text=True))
    data = {"csrf_token": token, "label": "Bad", "default_role": "learner", **fields}
    if "metadata_file" in data:
        content, name = data["metadata_file"]
        data["metadata_file"] = (io.BytesIO(content), name)
    response = client.post("/admin/sign-in/saml/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(SamlProvider)) == 0


def test_without_xmlsec1_the_app_says_what_to_install(app, provider, login_as, admin, monkeypatch):
    from app.connectors import saml_sp

    monkeypatch.setattr(saml_sp, "xmlsec1_path", lambda: None)
    assert "apt-get install xmlsec1" in login_as(admin).get("/admin/sign-in").get_data(as_text=True)
    response = app.test_client().get(f"/sso/saml/{provider.public_id}/login")
    assert response.status_code == 503 and "xmlsec1" in response.get_data(as_text=True)


@pytest.mark.parametrize("query", [
    "SAMLRequest=garbage", "SAMLRequest=garbage&SigAlg=x&Signature=y", "SAMLResponse=%ff%fe",
    "SAMLResponse=eHh4&SigAlg=x&Signature=y", "&".join(f"f{n}=1" for n in range(20)) + "&SAMLRequest=x",
    "SAMLRequest=a&SAMLRequest=b", "nothing=here",
], ids=["garbage", "bad-signature", "not-utf8", "bad-response", "many-fields", "twice", "neither"])
def test_hostile_logout_messages_are_a_400(app, provider, query):
    assert app.test_client().get(f"/sso/saml/{provider.public_id}/slo?{query}").status_code == 400


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil",
                                    "/a\r\nSet-Cookie: x=1"])
def test_login_never_returns_to_another_site(app, provider, idp, target):
    from urllib.parse import quote

    client = app.test_client()
    idp.configure(user=ADA, mode="normal")
    answer = _idp_answer(_start(client, provider, next_url=quote(target)))
    assert _post(client, provider, answer).headers["Location"] == "/"
