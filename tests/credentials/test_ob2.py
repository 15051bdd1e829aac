"""Open Badges 2.0 hosted verification and baked PNGs.

The baked chunk is read back by readers that are not ours: Pillow's PngImagePlugin (`img.text`), and a
chunk walk written here from the PNG specification (length, type, data, CRC-32 over type + data; iTXt =
keyword NUL, compression flag, compression method, language tag NUL, translated keyword NUL, text).
The documents are checked against the OB 2.0 required fields, following the links a verifier follows.
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
import zlib
from urllib.parse import urlsplit

import pytest
from PIL import Image

from app.credentials import baking
from app.credentials.errors import CredentialError
from app.extensions import db
from app.services.credentials import badges, ob2
from app.services.lifecycle import revocation
from tests.support.catalog_fixtures import first_aid, make_certification, make_course  # noqa: F401
from tests.support.certificates import certification, issue  # noqa: F401

OB2 = "https://w3id.org/openbadges/v2"


def walk_png(data: bytes) -> list[tuple[bytes, bytes]]:
    """Every chunk (type, data) of a PNG, checking each CRC: the PNG specification, section 5.3."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, offset = [], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset:offset + 4])
        kind = data[offset + 4:offset + 8]
        body = data[offset + 8:offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length:offset + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF, f"bad CRC on {kind!r}"
        chunks.append((kind, body))
        offset += 12 + length
    assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND" and offset == len(data)
    return chunks


def itxt_entries(data: bytes) -> dict[str, str]:
    entries = {}
    for kind, body in walk_png(data):
        if kind != b"iTXt":
            continue
        keyword, rest = body.split(b"\x00", 1)
        compressed, method, rest = rest[0], rest[1], rest[2:]
        language, rest = rest.split(b"\x00", 1)
        translated, text = rest.split(b"\x00", 1)
        assert (compressed, method, language, translated) == (0, 0, b"", b"")
        entries[keyword.decode("latin-1")] = text.decode("utf-8")
    return entries


def path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


@pytest.fixture
def earned(first_aid, learner):  # noqa: F811
    from app.services.lifecycle import issuing

    cert_def = first_aid[0]
    row = issuing.issue(learner, cert_def, actor="test", note="test issue")
    db.session.commit()
    return row


# --------------------------------------------------------------------------------------------
# The baking engine
# --------------------------------------------------------------------------------------------


def small_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 20, 30)).save(out, format="PNG")
    return out.getvalue()


def test_bake_and_read_back_with_independent_readers():
    url = "https://laurel.example/ob2/assertions/ABC123"
    baked = baking.bake_png(small_png(), "openbadges", url)
    assert itxt_entries(baked) == {"openbadges": url}
    image = Image.open(io.BytesIO(baked))
    image.load()
    assert image.text["openbadges"] == url
    assert walk_png(baked)[-2][0] == b"iTXt"  # just before IEND
    assert baking.read_baked(baked, "openbadges") == url


def test_baking_again_replaces_the_chunk_and_keeps_other_keywords():
    once = baking.bake_png(small_png(), "openbadges", "https://a.example/1")
    twice = baking.bake_png(baking.bake_png(once, "openbadgecredential", '{"id": "ü"}'), "openbadges",
                            "https://a.example/2")
    assert itxt_entries(twice) == {"openbadges": "https://a.example/2", "openbadgecredential": '{"id": "ü"}'}
    assert baking.read_baked(twice, "openbadgecredential") == '{"id": "ü"}'


def test_an_image_without_the_chunk_reads_none():
    assert baking.read_baked(small_png(), "openbadges") is None


@pytest.mark.parametrize("data", [b"", b"GIF89a....", b"\x89PNG\r\n\x1a\n",
                                  b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR"])
def test_non_png_and_truncated_input_is_refused(data):
    with pytest.raises(CredentialError):
        baking.bake_png(data, "openbadges", "x")
    with pytest.raises(CredentialError):
        baking.read_baked(data, "openbadges")


def test_a_damaged_crc_is_refused():
    data = bytearray(small_png())
    data[30] ^= 0xFF  # inside IHDR's data
    with pytest.raises(CredentialError, match="checksum"):
        baking.read_baked(bytes(data), "openbadges")


@pytest.mark.parametrize("keyword", ["", "x" * 80, "bad\x00key", "schlüssel"])
def test_bad_keywords_are_refused(keyword):
    with pytest.raises(CredentialError):
        baking.bake_png(small_png(), keyword, "x")


# --------------------------------------------------------------------------------------------
# Hosted verification: Assertion -> BadgeClass -> Issuer, as a verifier follows them
# --------------------------------------------------------------------------------------------


def test_the_assertion_has_every_required_field_and_never_the_email(client, earned, learner):
    response = client.get(f"/ob2/assertions/{earned.code}")
    assert response.status_code == 200
    assert response.mimetype == "application/ld+json"
    assert "public" in response.headers["Cache-Control"] and "max-age=" in response.headers["Cache-Control"]
    assert learner.email not in response.get_data(as_text=True)
    doc = json.loads(response.get_data(as_text=True))
    assert doc["@context"] == OB2 and doc["type"] == "Assertion"
    assert doc["id"] == f"http://localhost/ob2/assertions/{earned.code}"
    recipient = doc["recipient"]
    assert recipient["type"] == "email" and recipient["hashed"] is True and recipient["salt"]
    # The hashed identity recomputes from the address and the salt (OB 2.0 IdentityObject).
    expected = "sha256$" + hashlib.sha256((learner.email + recipient["salt"]).encode()).hexdigest()
    assert recipient["identity"] == expected
    assert doc["verification"] == {"type": "hosted"}
    assert doc["issuedOn"].endswith("Z") and doc["expires"].endswith("Z")
    assert doc["issuedOn"][:10] == earned.issued_at.date().isoformat()
    assert doc["image"] == f"http://localhost/ob2/assertions/{earned.code}/badge.png"
    assert doc["badge"].startswith("http://localhost/ob2/badges/")
    # Stable: the same document on every request (the salt is derived, not random).
    assert json.loads(client.get(f"/ob2/assertions/{earned.code}").get_data(as_text=True)) == doc


def test_badge_class_and_issuer_have_every_required_field(client, earned, first_aid):  # noqa: F811
    assertion = client.get(f"/ob2/assertions/{earned.code}").get_json(force=True)
    badge_class = client.get(path(assertion["badge"]))
    assert badge_class.status_code == 200 and badge_class.mimetype == "application/ld+json"
    bc = badge_class.get_json(force=True)
    assert bc["@context"] == OB2 and bc["type"] == "BadgeClass" and bc["id"] == assertion["badge"]
    assert bc["name"] == "First Aid Level 2" and bc["description"]
    narrative = bc["criteria"]["narrative"]
    assert "FA-101" in narrative and "FA-102" in narrative and "at least 70" in narrative
    image = client.get(path(bc["image"]))
    assert image.status_code == 200 and image.mimetype == "image/png"
    issuer = client.get(path(bc["issuer"]))
    assert issuer.status_code == 200 and issuer.mimetype == "application/ld+json"
    profile = issuer.get_json(force=True)
    assert profile["@context"] == OB2 and profile["type"] == "Issuer" and profile["id"] == bc["issuer"]
    assert profile["name"] and profile["url"] and "@" in profile["email"]
    # Hosted verification: the Assertion must live on the issuer's origin.
    origin = urlsplit(profile["url"])
    assert (origin.scheme, origin.netloc) == urlsplit(assertion["id"])[:2]


def test_the_issuer_shows_the_branding_logo(client, admin):
    from app.services import organisation

    out = io.BytesIO()
    Image.new("RGB", (40, 20), (1, 2, 3)).save(out, format="PNG")
    organisation.update_branding({"name": "Northwind School", "colour": "#1f5f4a", "about": "Since 1901"},
                                 logo=out.getvalue(), actor=admin)
    db.session.commit()
    profile = client.get("/ob2/issuer").get_json(force=True)
    assert profile["name"] == "Northwind School" and profile["description"] == "Since 1901"
    assert profile["image"].startswith("http://localhost/branding/logo.png")


def test_the_baked_badge_carries_the_assertion_url(client, earned):
    response = client.get(f"/ob2/assertions/{earned.code}/badge.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    url = f"http://localhost/ob2/assertions/{earned.code}"
    assert itxt_entries(response.data) == {"openbadges": url}
    image = Image.open(io.BytesIO(response.data))
    image.load()
    assert image.text["openbadges"] == url and image.size == (600, 600)


def test_the_baked_badge_uses_an_uploaded_image(client, earned, admin):
    out = io.BytesIO()
    Image.new("RGBA", (300, 300), (0, 128, 255, 255)).save(out, format="PNG")
    badges.upload(earned.certification, out.getvalue(), actor=admin)
    db.session.commit()
    baked = client.get(f"/ob2/assertions/{earned.code}/badge.png").data
    image = Image.open(io.BytesIO(baked))
    image.load()
    assert image.size == (300, 300) and image.convert("RGBA").getpixel((5, 5)) == (0, 128, 255, 255)
    assert image.text["openbadges"].endswith(earned.code)


def test_a_revoked_certificate_answers_410_with_the_reason(client, earned, admin):
    revocation.revoke(earned, "Issued in error", actor=admin)
    db.session.commit()
    response = client.get(f"/ob2/assertions/{earned.code}")
    assert response.status_code == 410 and response.mimetype == "application/ld+json"
    doc = response.get_json(force=True)
    assert doc["id"] == f"http://localhost/ob2/assertions/{earned.code}"
    assert doc["revoked"] is True and doc["revocationReason"] == "Issued in error"
    assert "recipient" not in doc
    assert client.get(f"/ob2/assertions/{earned.code}/badge.png").status_code == 410


def test_a_certificate_that_never_expires_has_no_expires(client, make_certification, make_course,  # noqa: F811
                                                         learner):
    from app.services.lifecycle import issuing

    forever = make_certification("Forever", [make_course("EV-1", "Evergreen")], validity_months=None)
    row = issuing.issue(learner, forever, actor="test", note="test")
    db.session.commit()
    doc = client.get(f"/ob2/assertions/{row.code}").get_json(force=True)
    assert "expires" not in doc
    bc = client.get(path(doc["badge"])).get_json(force=True)
    assert bc["criteria"]["narrative"] == "Complete the course EV-1 · Evergreen."


@pytest.mark.parametrize("code", ["nope", "x" * 5000, "%00", "..%2F..%2Fetc%2Fpasswd", "%F0%9F%98%80"])
def test_unknown_codes_and_tokens_are_404(client, code, earned):
    expected = 400 if "%00" in code else 404  # a NUL in the address is refused before any view
    assert client.get(f"/ob2/assertions/{code}").status_code == expected
    assert client.get(f"/ob2/assertions/{code}/badge.png").status_code == expected
    assert client.get(f"/ob2/badges/{code}").status_code == expected


def test_the_badge_class_url_carries_no_database_id(client, earned):
    doc = client.get(f"/ob2/assertions/{earned.code}").get_json(force=True)
    token = doc["badge"].rsplit("/", 1)[1]
    assert len(token) == 32 and token != str(earned.certification_id)
    assert client.get(f"/ob2/badges/{earned.certification_id}").status_code == 404


def test_the_learner_downloads_the_baked_badge_from_their_page(earned, learner, login_as):
    page = login_as(learner).get("/me/certificates").get_data(as_text=True)
    assert f'href="/ob2/assertions/{earned.code}/badge.png"' in page


def test_salt_and_identity_helpers(app):
    expected = "sha256$" + hashlib.sha256(b"a@example.coms").hexdigest()
    assert ob2.hashed_identity("a@example.com", "s") == expected
    assert ob2.salt_for("A") == ob2.salt_for("A") != ob2.salt_for("B")


def test_the_open_badges_3_badge_carries_the_signed_credential(client, earned):
    """OB 3.0 baking: the PNG's `openbadgecredential` iTXt chunk holds the compact JWT, which verifies
    against the published DID document with jwcrypto (tests/support/independent_verifier.py)."""
    from tests.support import independent_verifier

    cert = earned
    response = client.get(f"/credentials/{cert.code}/badge.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    token = Image.open(io.BytesIO(response.get_data())).text["openbadgecredential"]
    _header, payload = independent_verifier.verify_jwt(token, client.get("/.well-known/did.json").get_json())
    assert payload["id"].endswith(f"/credentials/{cert.code}")
    assert client.get("/credentials/NoSuchCode/badge.png").status_code == 404
