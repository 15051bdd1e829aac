"""The organisation's signing keys: generated once (race-safe), encrypted at rest, rotated with the old key
still published, resolvable only when ours; the admin page, the CLI and the start-up hook."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from app.credentials import multikey
from app.extensions import db
from app.models import AuditEvent
from app.models.signing_key import SigningKey
from app.services.credentials import keyring
from app.services.errors import NotAllowed
from app.services.secrets import secret_box


def _count_keys() -> int:
    db.session.remove()  # a fresh session: what is committed, not what this one holds
    return db.session.scalar(select(func.count()).select_from(SigningKey))


def test_the_first_use_makes_one_encrypted_key(app):
    signer = keyring.signer()
    row = db.session.scalar(select(SigningKey))
    assert row.active and row.retired_at is None
    assert signer.verification_method == f"did:web:localhost#{row.multikey}"
    assert row.multikey.startswith("z6Mk")
    raw = signer.private_key.private_bytes_raw()
    assert raw.hex() not in row.private_key and raw not in row.private_key.encode()
    assert secret_box().decrypt(row.private_key) == raw.hex()
    assert multikey.public_multikey(signer.private_key.public_key()) == row.multikey
    assert keyring.signer().verification_method == signer.verification_method  # not a second key
    assert _count_keys() == 1


def test_a_key_made_during_a_read_only_request_is_committed(client):
    """A GET never commits; the key must exist for good before anything it signs goes out."""
    assert client.get("/.well-known/did.json").status_code == 200
    assert _count_keys() == 1
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "signing_key.created")) == 1


def test_two_first_uses_at_once_end_with_one_active_key(app, monkeypatch):
    """Both processes see no key, both create one: the unique active slot lets one win, the other reads
    the winner's key (on PostgreSQL the second INSERT waits for the first commit, then fails)."""
    barrier = threading.Barrier(2, timeout=20)
    create = keyring._create_first_key

    def create_together() -> None:
        barrier.wait()  # both checked "no active key" before either inserts
        create()

    monkeypatch.setattr(keyring, "_create_first_key", create_together)
    seen, errors = [], []

    def first_use() -> None:
        try:
            with app.app_context():
                seen.append(keyring.signer().verification_method)
                db.session.remove()
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=first_use) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    assert len(seen) == 2 and seen[0] == seen[1]
    assert _count_keys() == 1
    assert db.session.scalar(select(func.count()).select_from(SigningKey)
                             .where(SigningKey.active_slot == 1)) == 1


def test_rotation_retires_the_key_and_keeps_it_published(client, admin):
    old = keyring.active_key()
    new = keyring.rotate(admin, expected_id=old.id)
    db.session.commit()
    db.session.refresh(old)
    assert new.active and not old.active and old.retired_at is not None
    assert [k.id for k in keyring.published_keys()] == [new.id, old.id]
    did = client.get("/.well-known/did.json").get_json(force=True)
    assert [m["publicKeyMultibase"] for m in did["verificationMethod"]] == [new.multikey, old.multikey]
    assert did["assertionMethod"] == [m["id"] for m in did["verificationMethod"]]
    assert keyring.resolve(keyring.verification_method_id(old.multikey)) is not None
    audit_row = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "signing_key.rotated"))
    assert audit_row.actor_id == admin.id and audit_row.data["retired"] == old.multikey


def test_a_stale_rotation_is_refused(admin):
    old = keyring.active_key()
    keyring.rotate(admin, expected_id=old.id)
    db.session.commit()
    with pytest.raises(NotAllowed):
        keyring.rotate(admin, expected_id=old.id)
    db.session.rollback()
    assert _count_keys() == 2


@pytest.mark.parametrize("method", [
    "did:web:example.org#{key}",  # another issuer's DID naming our key
    "did:web:localhost#z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",  # never published
    "did:web:localhost#", "did:web:localhost", "", "#{key}", "did:web:localhost#{key}x",
    "did:web:localhost#" + "z" * 5000, "did:web:localhost#\x00",
])
def test_resolve_refuses_what_is_not_ours(method):
    key = keyring.active_key().multikey
    assert keyring.resolve(method.replace("{key}", key)) is None


def test_resolve_refuses_non_strings():
    for value in (None, 5, ["did:web:localhost"], {"id": 1}):
        assert keyring.resolve(value) is None


@pytest.mark.parametrize(("base_url", "did", "document"), [
    ("https://certs.example.org", "did:web:certs.example.org", "https://certs.example.org/.well-known/did.json"),
    ("http://127.0.0.1:5000", "did:web:127.0.0.1%3A5000", "http://127.0.0.1:5000/.well-known/did.json"),
    ("https://Example.ORG/laurel/", "did:web:example.org:laurel", "https://Example.ORG/laurel/did.json"),
    ("https://example.org/a b/c", "did:web:example.org:a%20b:c", "https://example.org/a b/c/did.json"),
])
def test_did_web_from_base_url(base_url, did, document):
    assert keyring.issuer_did(base_url) == did
    assert keyring.did_document_url(base_url) == document


def test_the_admin_page_lists_keys_and_rotates_once(login_as, admin):
    client = login_as(admin)
    page = client.get("/admin/credentials")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    key = keyring.active_key()
    assert key.multikey in html and "Rotate signing key" in html and "did:web:localhost" in html
    form = {"csrf_token": client.csrf_token, "key_id": str(key.id)}
    assert client.post("/admin/credentials/rotate", data=form).status_code == 302
    again = client.post("/admin/credentials/rotate", data=form, follow_redirects=True)  # a double click
    assert "already rotated" in again.get_data(as_text=True)
    assert _count_keys() == 2
    assert "Retired, still published" in client.get("/admin/credentials").get_data(as_text=True)


@pytest.mark.parametrize("key_id", ["", "abc", "-1", "99999999999999999999", "1\x00"])
def test_the_rotate_form_refuses_odd_key_ids(login_as, admin, key_id):
    client = login_as(admin)
    keyring.ensure_key()
    db.session.commit()
    form = {"csrf_token": client.csrf_token, "key_id": key_id}
    response = client.post("/admin/credentials/rotate", data=form)
    assert response.status_code in (302, 400)
    assert _count_keys() == 1


def test_the_rotate_form_needs_csrf(login_as, admin):
    client = login_as(admin)
    keyring.ensure_key()
    db.session.commit()
    assert client.post("/admin/credentials/rotate", data={"key_id": "1"}).status_code == 400
    assert _count_keys() == 1


def test_settings_link_to_the_credentials_page(login_as, admin):
    assert 'href="/admin/credentials"' in login_as(admin).get("/admin/settings").get_data(as_text=True)


def test_the_cli_rotates(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["rotate-signing-key"])
    assert result.exit_code == 0, result.output
    assert "stays published" in result.output
    assert _count_keys() == 2  # the first key (made to be rotated) and the new one


def test_seed_demo_makes_the_signing_key(app):
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert _count_keys() == 1


def test_two_rotations_at_once_rotate_once(app, admin, monkeypatch):
    """Two admins (or a double click) rotating the key they both saw: one rotation, one refusal."""
    old_id = keyring.ensure_key().id
    db.session.commit()
    admin_id = admin.id
    barrier = threading.Barrier(2, timeout=20)
    read_active = keyring.active_key

    def active_together():
        row = read_active()
        barrier.wait()  # both read the same active key before either retires it
        return row

    monkeypatch.setattr(keyring, "active_key", active_together)
    outcomes, errors = [], []

    def rotate() -> None:
        try:
            with app.app_context():
                from app.models import User

                try:
                    keyring.rotate(db.session.get(User, admin_id), expected_id=old_id)
                    db.session.commit()
                    outcomes.append("rotated")
                except NotAllowed:
                    db.session.rollback()
                    outcomes.append("refused")
                db.session.remove()
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=rotate) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    assert sorted(outcomes) == ["refused", "rotated"]
    assert _count_keys() == 2
    assert db.session.scalar(select(func.count()).select_from(SigningKey)
                             .where(SigningKey.active_slot == 1)) == 1


def test_a_key_the_configured_secrets_cannot_open_is_rotated_away(admin):
    """SECRET_KEY changed since the key was made: signing says what to do, and a rotation fixes it."""
    from app.connectors.crypto import SecretBox, generate_key

    row = keyring.ensure_key()
    row.private_key = SecretBox([generate_key()]).encrypt("00" * 32)
    db.session.commit()
    with pytest.raises(RuntimeError, match="rotate it"):
        keyring.signer()
    keyring.rotate(admin, expected_id=row.id)
    db.session.commit()
    assert keyring.signer().verification_method.endswith(keyring.active_key().multikey)
