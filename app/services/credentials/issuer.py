"""The organisation as an issuer: its Open Badges 3.0 Profile (`/issuer`) and its DID document
(`/.well-known/did.json`, did:web), both built from the branding (app/services/organisation.py), BASE_URL
and the published signing keys."""

from __future__ import annotations

from email.utils import parseaddr

from flask import current_app

from app.credentials.jsonld import OB_V3, VC_V2
from app.services import organisation
from app.services.credentials import keyring

DID_V1 = "https://www.w3.org/ns/did/v1"
MULTIKEY_V1 = "https://w3id.org/security/multikey/v1"


def contact_email() -> str | None:
    """The address people may write to about credentials: the From address of Laurel's mail."""
    _, address = parseaddr(current_app.config.get("MAIL_DEFAULT_SENDER") or "")
    return address or None


def profile_url() -> str:
    return current_app.config["BASE_URL"].rstrip("/") + "/issuer"


def profile() -> dict:
    """The issuer Profile as it appears inside every credential (no @context): id = the DID, name, url,
    email, image (the branding logo, when one is set)."""
    brand = organisation.branding()
    document: dict = {"id": keyring.issuer_did(), "type": ["Profile"], "name": brand.name,
                      "url": current_app.config["BASE_URL"].rstrip("/") + "/"}
    email = contact_email()
    if email:
        document["email"] = email
    logo = brand.absolute(brand.logo_url)
    if logo:
        document["image"] = {"id": logo, "type": "Image"}
    return document


def profile_document() -> dict:
    """`/issuer`: the Profile on its own, as JSON-LD."""
    return {"@context": [VC_V2, OB_V3], **profile()}


def did_document() -> dict:
    """`/.well-known/did.json`: every published key (active and rotated out) as a Multikey verification
    method, each allowed to assert credentials (assertionMethod)."""
    did = keyring.issuer_did()
    methods = [{"id": keyring.verification_method_id(key.multikey), "type": "Multikey", "controller": did,
                "publicKeyMultibase": key.multikey} for key in _keys()]
    return {"@context": [DID_V1, MULTIKEY_V1], "id": did, "verificationMethod": methods,
            "assertionMethod": [method["id"] for method in methods]}


def _keys():
    keys = keyring.published_keys()
    if not keys:  # nothing signed yet: publish the key the first credential will use
        keyring.ensure_key()
        keys = keyring.published_keys()
    return keys
