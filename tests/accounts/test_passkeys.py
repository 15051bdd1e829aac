"""Passkeys against a software authenticator written here with `cryptography` and `cbor2`: it builds genuine
attestation objects ('none'), authenticator data and ES256 signatures, and the server verifies them with
the `webauthn` package. Registration, passwordless sign-in, passkey as the second step, sign-count
regression (a cloned authenticator), challenge replay, user verification, and hostile answers."""

from __future__ import annotations

import hashlib
import json
import os
import struct
from base64 import urlsafe_b64decode, urlsafe_b64encode

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Passkey
from app.services.identity import policy
from tests.conftest import PASSWORD, csrf_token_from, login

ORIGIN = "http://localhost"  # the test client's origin; BASE_URL is http://localhost in tests
UP, UV, AT = 0x01, 0x04, 0x40


def b64(data: bytes) -> str:
    return urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SoftAuthenticator:
    """One resident ES256 credential, like a platform authenticator with a PIN."""

    def __init__(self, rp_id: str = "localhost"):
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(32)
        self.rp_id = rp_id
        self.sign_count = 0
        self.user_handle: bytes | None = None

    def _cose_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"),
                            -3: numbers.y.to_bytes(32, "big")})

    def _auth_data(self, flags: int, attested: bytes = b"") -> bytes:
        return hashlib.sha256(self.rp_id.encode()).digest() + bytes([flags]) + \
            struct.pack(">I", self.sign_count) + attested

    @staticmethod
    def _client_data(kind: str, challenge: str, origin: str) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": origin,
                           "crossOrigin": False}).encode()

    def create(self, options: dict, *, origin: str = ORIGIN, flags: int = UP | UV | AT) -> dict:
        assert options["authenticatorSelection"]["residentKey"] == "required"
        assert options["authenticatorSelection"]["userVerification"] == "required"
        self.user_handle = unb64(options["user"]["id"])
        attested = (bytes(16) + struct.pack(">H", len(self.credential_id)) + self.credential_id
                    + self._cose_key())
        auth_data = self._auth_data(flags, attested)
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        return {"id": b64(self.credential_id), "rawId": b64(self.credential_id), "type": "public-key",
                "clientExtensionResults": {},
                "response": {"clientDataJSON": b64(client_data), "attestationObject": b64(attestation),
                             "transports": ["internal"]}}

    def get(self, options: dict, *, origin: str = ORIGIN, flags: int = UP | UV, count_step: int = 1) -> dict:
        allowed = [c["id"] for c in options.get("allowCredentials", [])]
        assert not allowed or b64(self.credential_id) in allowed
        self.sign_count += count_step
        auth_data = self._auth_data(flags)
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        signature = self.key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return {"id": b64(self.credential_id), "rawId": b64(self.credential_id), "type": "public-key",
                "clientExtensionResults": {},
                "response": {"clientDataJSON": b64(client_data), "authenticatorData": b64(auth_data),
                             "signature": b64(signature), "userHandle": b64(self.user_handle or b"")}}


def _json(client, url: str, body: dict | None = None, token: str | None = None):
    return client.post(url, json=body or {}, headers={"X-CSRFToken": token or client.csrf_token})


def register(client, authenticator: SoftAuthenticator, name: str = "Laptop"):
    options = _json(client, "/profile/passkeys/options")
    assert options.status_code == 200, options.get_data(as_text=True)
    return _json(client, "/profile/passkeys", {"credential": authenticator.create(options.get_json()),
                                               "name": name})


def anonymous(app):
    client = app.test_client()
    client.csrf_token = csrf_token_from(client.get("/login").get_data(as_text=True))
    return client


def passwordless(client, authenticator: SoftAuthenticator, **kwargs):
    options = _json(client, "/login/passkey/options").get_json()
    assert options["userVerification"] == "required" and options.get("allowCredentials", []) == []
    return _json(client, "/login/passkey", {"credential": authenticator.get(options, **kwargs)})


def signed_in(client) -> bool:
    return client.get("/profile").status_code == 200


def test_register_then_sign_in_without_a_password(app, login_as, learner):
    authenticator = SoftAuthenticator()
    client = login_as(learner)
    answer = register(client, authenticator)
    assert answer.status_code == 200 and answer.get_json()["redirect"] == "/profile/two-factor"
    stored = db.session.scalar(select(Passkey).where(Passkey.user_id == learner.id))
    assert stored.name == "Laptop" and stored.credential_id == b64(authenticator.credential_id)
    assert unb64(stored.user_handle) == authenticator.user_handle
    assert str(learner.id).encode() != authenticator.user_handle  # a random handle, not the id
    assert "Laptop" in client.get("/profile/two-factor").get_data(as_text=True)

    browser = anonymous(app)
    answer = passwordless(browser, authenticator)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.get_json()["redirect"] == "/"
    assert signed_in(browser)
    db.session.expire_all()
    assert db.session.get(Passkey, stored.id).sign_count == 1
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.logged_in"
                                                       ).order_by(AuditEvent.id.desc()))
    assert event.data["method"] == "passkey"


def test_a_cloned_authenticator_with_a_lower_sign_count_is_refused(app, login_as, learner):
    authenticator = SoftAuthenticator()
    register(login_as(learner), authenticator)
    authenticator.sign_count = 9
    assert passwordless(anonymous(app), authenticator).status_code == 200  # count 10 stored
    clone = anonymous(app)
    authenticator.sign_count = 4  # the clone lags behind the original
    refused = passwordless(clone, authenticator)
    assert refused.status_code == 400 and not signed_in(clone)
    authenticator.sign_count = 9  # the same count again is no better
    assert passwordless(anonymous(app), authenticator).status_code == 400
    db.session.expire_all()
    assert db.session.scalar(select(Passkey.sign_count)) == 10


def test_a_challenge_verifies_one_answer_only(app, login_as, learner):
    authenticator = SoftAuthenticator()
    register(login_as(learner), authenticator)
    browser = anonymous(app)
    options = _json(browser, "/login/passkey/options").get_json()
    credential = authenticator.get(options)
    assert _json(browser, "/login/passkey", {"credential": credential}).status_code == 200
    # The same answer again, in another browser that asked for its own challenge: refused.
    thief = anonymous(app)
    _json(thief, "/login/passkey/options")
    assert _json(thief, "/login/passkey", {"credential": credential}).status_code == 400
    # ... and with no challenge asked at all.
    assert _json(anonymous(app), "/login/passkey", {"credential": credential}).status_code == 400
    assert not signed_in(thief)
    assert "user.passkey_refused" in db.session.scalars(select(AuditEvent.action)).all()


def test_registration_challenge_is_single_use_and_bound_to_the_origin(login_as, learner):
    authenticator = SoftAuthenticator()
    client = login_as(learner)
    options = _json(client, "/profile/passkeys/options").get_json()
    wrong_origin = authenticator.create(options, origin="https://evil.example")
    refused = _json(client, "/profile/passkeys", {"credential": wrong_origin, "name": "Phished"})
    assert refused.status_code == 400
    # The challenge went with the refused attempt: a right answer to it now is refused as well.
    retry = _json(client, "/profile/passkeys", {"credential": authenticator.create(options), "name": "Late"})
    assert retry.status_code == 400 and "expired or was used" in retry.get_json()["error"]
    assert db.session.scalar(select(Passkey)) is None


def test_user_verification_is_required(app, login_as, learner):
    authenticator = SoftAuthenticator()
    client = login_as(learner)
    options = _json(client, "/profile/passkeys/options").get_json()
    no_uv = authenticator.create(options, flags=UP | AT)
    assert _json(client, "/profile/passkeys", {"credential": no_uv, "name": "No PIN"}).status_code == 400
    register(client, authenticator)
    assert passwordless(anonymous(app), authenticator, flags=UP).status_code == 400


def test_passkey_as_the_second_step(app, login_as, learner, make_user):
    authenticator = SoftAuthenticator()
    register(login_as(learner), authenticator)
    browser = app.test_client()
    assert login(browser, learner.email, PASSWORD).headers["Location"].endswith("/login/verify")
    page = browser.get("/login/verify").get_data(as_text=True)
    assert "Use a passkey" in page
    token = csrf_token_from(page)
    options = _json(browser, "/login/verify/passkey/options", token=token).get_json()
    assert [c["id"] for c in options["allowCredentials"]] == [b64(authenticator.credential_id)]
    answer = _json(browser, "/login/verify/passkey", {"credential": authenticator.get(options)}, token=token)
    assert answer.status_code == 200 and signed_in(browser)

    # Someone else's passkey is not this user's second factor.
    other = make_user("learner")
    other_key = SoftAuthenticator()
    register(login_as(other), other_key)
    browser = app.test_client()
    login(browser, learner.email, PASSWORD)
    token = csrf_token_from(browser.get("/login/verify").get_data(as_text=True))
    options = _json(browser, "/login/verify/passkey/options", token=token).get_json()
    options["allowCredentials"] = []
    refused = _json(browser, "/login/verify/passkey", {"credential": other_key.get(options)}, token=token)
    assert refused.status_code == 400 and not signed_in(browser)
    assert "user.mfa_failed" in db.session.scalars(select(AuditEvent.action)).all()


def test_remove_only_your_own_passkey(login_as, learner, make_user):
    authenticator = SoftAuthenticator()
    client = login_as(learner)
    register(client, authenticator)
    passkey_id = db.session.scalar(select(Passkey.id))
    intruder = login_as(make_user("learner"))
    assert intruder.post(f"/profile/passkeys/{passkey_id}/remove",
                         data={"csrf_token": intruder.csrf_token}).status_code == 404
    assert client.post(f"/profile/passkeys/{passkey_id}/remove",
                       data={"csrf_token": client.csrf_token}).status_code == 302
    assert db.session.scalar(select(Passkey)) is None


def test_hostile_answers_are_clear_refusals(app, login_as, learner):
    client = login_as(learner)
    _json(client, "/profile/passkeys/options")
    bodies = [b"[]", b'"x"', b'{"credential": {"response": 1}, "name": "a"}',
              b'{"credential": {}, "credential": {}}', b'{"credential": {"id": "' + b"A" * 70000 + b'"}}',
              b'{"credential": {"response": {"clientDataJSON": "!!"}, "id": "\\u0000"}, "name": "x\\u0000"}',
              b'{"credential": {"response": {}, "id": 12}, "name": "' + b"n" * 200 + b'"}']
    for body in bodies:
        answer = client.post("/profile/passkeys", data=body, content_type="application/json",
                             headers={"X-CSRFToken": client.csrf_token})
        assert 400 <= answer.status_code < 500, (body[:80], answer.status_code)
    browser = anonymous(app)
    for body in bodies:
        _json(browser, "/login/passkey/options")
        answer = browser.post("/login/passkey", data=body, content_type="application/json",
                              headers={"X-CSRFToken": browser.csrf_token})
        assert 400 <= answer.status_code < 500, (body[:80], answer.status_code)
    assert browser.post("/login/passkey/options").status_code == 400  # no CSRF token


def test_passkey_second_step_keeps_next_and_may_remember_the_device(app, login_as, learner):
    from app.services.accounts import mfa

    mfa.update_policy(False, 3, actor=None)
    db.session.commit()
    authenticator = SoftAuthenticator()
    register(login_as(learner), authenticator)
    browser = app.test_client()
    page = browser.get("/login?next=/profile/two-factor").get_data(as_text=True)
    answer = browser.post("/login?next=/profile/two-factor", data={
        "csrf_token": csrf_token_from(page), "email": learner.email, "password": PASSWORD})
    assert answer.headers["Location"].endswith("/login/verify")
    token = csrf_token_from(browser.get("/login/verify").get_data(as_text=True))
    options = _json(browser, "/login/verify/passkey/options", token=token).get_json()
    done = _json(browser, "/login/verify/passkey", {"credential": authenticator.get(options),
                                                    "remember_device": True}, token=token)
    assert done.get_json()["redirect"] == "/profile/two-factor"
    assert browser.get_cookie("laurel_mfa_device", path="/login").max_age == 3 * 86400
    # A ?next= too long for a cookie-held session falls back to the dashboard instead of breaking it.
    other = app.test_client()
    long_next = "/profile?x=" + "a" * 5000
    page = other.get("/login").get_data(as_text=True)
    answer = other.post(f"/login?next={long_next}", data={"csrf_token": csrf_token_from(page),
                                                          "email": learner.email, "password": PASSWORD})
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/login/verify")
    with other.session_transaction() as session:
        assert session["mfa_pending"]["n"] == "/"


def test_sso_only_refuses_a_passwordless_passkey_for_non_admins(app, login_as, learner, admin):
    """A passkey is Laurel's own sign-in, like a password: under "SSO only" a learner goes through the
    identity provider, while an admin's passkey stays a break-glass way in."""
    learners_key, admins_key = SoftAuthenticator(), SoftAuthenticator()
    register(login_as(learner), learners_key)
    register(login_as(admin), admins_key)
    browser, admins_browser = anonymous(app), anonymous(app)  # (the login page then hides the passkey form)
    policy.set_sso_only(True, actor="test")
    db.session.commit()
    refused = passwordless(browser, learners_key)
    assert refused.status_code == 403 and "single sign-on" in refused.get_json()["error"]
    assert not signed_in(browser)
    assert passwordless(admins_browser, admins_key).status_code == 200 and signed_in(admins_browser)
