"""Add to wallet: the one-time VC-API exchange (expiry, single use, holder only) and the wallet page."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from app.database import utcnow
from app.extensions import db
from app.models import AuditEvent, WalletExchange
from app.services.credentials import wallet
from app.services.errors import NotAllowed, RateLimited
from app.services.lifecycle import revocation
from tests.support import certificates
from tests.support.certificates import at
from tests.support.independent_verifier import verify_ldp

# The certificate fixtures (no conftest here: tests/credentials is shared with the credential engine's tests).
certification, issue = certificates.certification, certificates.issue
BASE = "http://localhost"


@pytest.fixture
def cert(issue, learner):
    return issue(learner, when=at(2026, 1, 10, 9, 30))


def _open(client, cert) -> str:
    """Open an exchange from the holder's page; the exchange path from the page."""
    response = client.post(f"/me/certificates/{cert.id}/wallet", data={"csrf_token": client.csrf_token})
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html[:500]
    assert response.headers["Cache-Control"] == "no-store"
    start = html.index('data-testid="exchange-url"')
    value = html[html.rindex('value="', 0, start) + 7:]
    return urlsplit(value[: value.index('"')]).path


def test_a_wallet_gets_the_signed_credential_once(client, login_as, learner, cert):
    holder = login_as(learner)
    path = _open(holder, cert)
    assert path.startswith("/exchanges/") and len(path.rsplit("/", 1)[1]) >= 43  # 256 random bits
    # An interaction URL: GET tells a wallet which protocol to speak, and does not spend the exchange.
    protocols = client.get(path, headers={"Accept": "application/json"})
    assert protocols.status_code == 200 and protocols.get_json() == {"protocols": {"vcapi": BASE + path}}
    # A wallet (no session, no CSRF token) posts {} and gets the presentation.
    response = client.post(path, json={})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store" and "Set-Cookie" not in response.headers
    presentation = response.get_json()["verifiablePresentation"]
    assert presentation["type"] == ["VerifiablePresentation"]
    assert presentation["@context"] == ["https://www.w3.org/ns/credentials/v2"]
    (credential,) = presentation["verifiableCredential"]
    assert "OpenBadgeCredential" in credential["type"]
    assert credential["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
    # The credential verifies with the independent verifier, the key taken from the published did.json.
    did = json.loads(client.get("/.well-known/did.json").get_data())
    assert verify_ldp(credential, did)
    assert learner.email not in response.get_data(as_text=True)
    # Single use: a second wallet (or a replay) is told it is gone.
    again = client.post(path, json={})
    assert again.status_code == 410 and again.mimetype == "application/problem+json"
    assert client.get(path).status_code == 410
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("credential.wallet%"))
                                 .order_by(AuditEvent.id)).all()
    assert actions == ["credential.wallet_exchange_opened", "credential.wallet_exchange_used"]


def test_an_exchange_expires(client, learner, cert):
    _, token = wallet.open_exchange(cert, actor=learner)
    db.session.commit()
    later = utcnow() + timedelta(minutes=wallet.EXCHANGE_MINUTES, seconds=1)
    with pytest.raises(wallet.ExchangeClosed):
        wallet.redeem(token, now=later)
    db.session.rollback()
    row = db.session.scalar(select(WalletExchange))
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    response = client.post(f"/exchanges/{token}", json={})
    assert response.status_code == 410
    assert db.session.scalar(select(WalletExchange.used_at)) is None  # nothing spent


def test_unknown_and_hostile_exchange_addresses(client, learner, cert):
    _, token = wallet.open_exchange(cert, actor=learner)
    db.session.commit()
    for path in ("/exchanges/nope", "/exchanges/" + "x" * 5000, f"/exchanges/{token[:-1]}",
                 f"/exchanges/{token.upper()}"):
        assert client.post(path, json={}).status_code == 404, path[:40]
        assert client.get(path).status_code == 404
    # Bodies: not JSON, not an object, too deep, duplicate keys, too large -> 4xx and nothing spent.
    target = f"/exchanges/{token}"
    bodies = (b"not json", b"[1, 2]", b"[" * 100 + b"]" * 100, b'{"a": 1, "a": 2}', b"\xff\xfe",
              b'{"a": "' + b"x" * 70000 + b'"}')
    for body in bodies:
        response = client.post(target, data=body, content_type="application/json")
        assert response.status_code in (400, 413), (body[:20], response.status_code)
    assert db.session.scalar(select(WalletExchange.used_at)) is None
    # An empty body is what some wallets send: accepted.
    assert client.post(target).status_code == 200


def test_only_the_holder_opens_an_exchange(client, login_as, learner, make_user, admin, cert):
    other = make_user("learner", email="other@example.com")
    with pytest.raises(NotAllowed):
        wallet.open_exchange(cert, actor=other)
    with pytest.raises(NotAllowed):
        wallet.open_exchange(cert, actor=admin)
    db.session.rollback()
    intruder = login_as(other)
    assert intruder.get(f"/me/certificates/{cert.id}/wallet").status_code == 404
    assert intruder.post(f"/me/certificates/{cert.id}/wallet",
                         data={"csrf_token": intruder.csrf_token}).status_code == 404
    assert login_as(admin).get(f"/me/certificates/{cert.id}/wallet").status_code == 404
    assert client.get(f"/me/certificates/{cert.id}/wallet").status_code == 302
    # Without the CSRF token the holder's own form is refused too.
    assert login_as(learner).post(f"/me/certificates/{cert.id}/wallet").status_code in (400, 403)
    assert db.session.scalar(select(func.count(WalletExchange.id))) == 0


def test_another_users_exchange_list_is_not_shown(login_as, learner, make_user, issue, cert):
    other = make_user("learner", email="other@example.com")
    theirs = issue(other)
    wallet.open_exchange(theirs, actor=other)
    db.session.commit()
    html = login_as(learner).get(f"/me/certificates/{cert.id}/wallet").get_data(as_text=True)
    assert "Recent wallet links" not in html


def test_a_revoked_certificate_is_not_handed_out(client, login_as, learner, cert):
    _, token = wallet.open_exchange(cert, actor=learner)
    revocation.revoke(cert, "mistake", actor="test")
    db.session.commit()
    assert client.post(f"/exchanges/{token}", json={}).status_code == 410
    with pytest.raises(NotAllowed):
        wallet.open_exchange(cert, actor=learner)
    db.session.rollback()
    holder = login_as(learner)
    response = holder.post(f"/me/certificates/{cert.id}/wallet", data={"csrf_token": holder.csrf_token})
    assert response.status_code == 409 and "revoked" in response.get_data(as_text=True)


def test_opening_exchanges_is_rate_limited(learner, cert):
    for _ in range(wallet.MAX_OPEN_PER_HOUR):
        wallet.open_exchange(cert, actor=learner)
    with pytest.raises(RateLimited):
        wallet.open_exchange(cert, actor=learner)


def test_wallet_page_offers_downloads_qr_and_the_lcw_link(login_as, learner, cert):
    holder = login_as(learner)
    cards = holder.get("/me/certificates").get_data(as_text=True)
    assert f'href="/me/certificates/{cert.id}/wallet"' in cards
    page = holder.get(f"/me/certificates/{cert.id}/wallet").get_data(as_text=True)
    assert f'href="{BASE}/credentials/{cert.code}"' in page
    assert f'href="{BASE}/credentials/{cert.code}.jwt"' in page
    assert 'data-testid="wallet-qr"' not in page  # no link until the holder asks for one
    response = holder.post(f"/me/certificates/{cert.id}/wallet", data={"csrf_token": holder.csrf_token})
    html = response.get_data(as_text=True)
    assert 'data-testid="wallet-qr"' in html and 'src="data:image/png;base64,' in html
    start = html.index('data-testid="wallet-lcw"')
    href = html[html.rindex('href="', 0, start) + 6:]
    href = href[: href.index('"')].replace("&amp;", "&")
    parts = urlsplit(href)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://lcw.app/request"
    request = json.loads(parse_qs(parts.query)["request"][0])
    assert request["credentialRequestOrigin"] == BASE
    assert request["protocols"]["vcapi"].startswith(f"{BASE}/exchanges/")


def test_two_wallets_at_once_get_one_credential(app, learner, cert, monkeypatch):
    """Both read the exchange as open before either spends it: the conditional UPDATE lets one win (on
    PostgreSQL the second waits for the first commit and then matches no row)."""
    import threading

    from app.services.credentials import keyring

    keyring.signer()  # the signing key exists before the race (its own first-use race is tested apart)
    _, token = wallet.open_exchange(cert, actor=learner)
    db.session.commit()
    barrier = threading.Barrier(2, timeout=20)
    find_open = wallet.find_open

    def find_together(*args, **kwargs):
        row = find_open(*args, **kwargs)
        barrier.wait()
        return row

    monkeypatch.setattr(wallet, "find_open", find_together)
    results, errors = [], []

    def post() -> None:
        try:
            with app.app_context():
                try:
                    answer = wallet.redeem(token)
                    db.session.commit()
                    results.append("credential" if answer else "none")
                except wallet.ExchangeClosed:
                    db.session.rollback()
                    results.append("gone")
                finally:
                    db.session.remove()
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert sorted(results) == ["credential", "gone"]
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "credential.wallet_exchange_used")) == 1
