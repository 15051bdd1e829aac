"""The issuer's public identity: the Open Badges Profile at /issuer and the did:web DID document."""

from __future__ import annotations

import io

from PIL import Image

from app.credentials.jsonld import OB_V3, VC_V2, canonize
from app.extensions import db
from app.services import organisation
from app.services.credentials import keyring


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 20), (10, 80, 60)).save(out, format="PNG")
    return out.getvalue()


def test_the_profile(client, app):
    response = client.get("/issuer")
    assert response.status_code == 200
    assert response.mimetype == "application/ld+json"
    profile = response.get_json(force=True)
    assert profile["@context"] == [VC_V2, OB_V3]
    assert profile["id"] == "did:web:localhost"
    assert profile["type"] == ["Profile"]
    assert profile["name"] == app.config["ORG_NAME"]
    assert profile["url"] == "http://localhost/"
    assert profile["email"] == "no-reply@laurel.local"
    assert "image" not in profile  # no logo yet
    assert canonize(profile)  # every term is defined by the contexts (safe mode refuses others)


def test_the_profile_follows_the_branding(client, admin):
    organisation.update_branding({"name": "Northwind School", "about": "", "colour": "#1f5f4a"},
                                 logo=_png(), actor=admin)
    db.session.commit()
    profile = client.get("/issuer").get_json(force=True)
    assert profile["name"] == "Northwind School"
    assert profile["image"]["type"] == "Image"
    assert profile["image"]["id"].startswith("http://localhost/branding/logo.png?v=")
    assert client.get(profile["image"]["id"].removeprefix("http://localhost")).status_code == 200


def test_the_did_document(client):
    response = client.get("/.well-known/did.json")
    assert response.status_code == 200
    assert response.mimetype == "application/did+ld+json"
    did = response.get_json(force=True)
    key = keyring.active_key()
    assert did == {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": "did:web:localhost",
        "verificationMethod": [{"id": f"did:web:localhost#{key.multikey}", "type": "Multikey",
                                "controller": "did:web:localhost", "publicKeyMultibase": key.multikey}],
        "assertionMethod": [f"did:web:localhost#{key.multikey}"],
    }
    assert canonize(did)
    assert client.get("/did.json").get_json(force=True) == did


def test_public_documents_are_cacheable_and_cross_origin(client):
    for path in ("/issuer", "/.well-known/did.json"):
        response = client.get(path)
        assert response.headers["Cache-Control"].startswith("public, max-age="), path
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert "Set-Cookie" not in response.headers
        etag = response.headers["ETag"]
        assert client.get(path, headers={"If-None-Match": etag}).status_code == 304


def test_a_signed_in_visitor_gets_private_answers(login_as, admin):
    response = login_as(admin).get("/issuer")
    assert response.headers["Cache-Control"] == "private, no-cache"


def test_the_did_follows_base_url(app, client):
    app.config["BASE_URL"] = "https://certs.example.org:8443"
    try:
        did = client.get("/.well-known/did.json").get_json(force=True)
        assert did["id"] == "did:web:certs.example.org%3A8443"
        assert did["verificationMethod"][0]["id"].startswith("did:web:certs.example.org%3A8443#z6Mk")
        assert client.get("/issuer").get_json(force=True)["url"] == "https://certs.example.org:8443/"
    finally:
        app.config["BASE_URL"] = "http://localhost"
