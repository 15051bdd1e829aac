"""A second implementation of credential verification, written from the specifications, sharing no code with
app/credentials: what a third party would write with generic libraries.

- eddsa-rdfc-2022 (W3C Data Integrity EdDSA Cryptosuites 1.0, §3.2.3 "Verify Proof"): pyld's RDFC-1.0
  (URDNA2015) canonicalization + cryptography's Ed25519;
- VC-JOSE (JWT form): jwcrypto, a JOSE library other than the one that signs (joserfc);
- keys: from the DID document the server publishes (did.json), decoded here from Multikey (base58btc,
  multicodec 0xed01) by our own few lines, not by Laurel's multikey module.

JSON-LD contexts come from the copies of the published context files in the repository (data, read here
by URL, never fetched from the network).
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from jwcrypto import jwk
from jwcrypto import jws as jwcrypto_jws
from pyld import jsonld

_CONTEXTS = Path(__file__).resolve().parents[2] / "app" / "credentials" / "contexts"
CONTEXT_FILES = {
    "https://www.w3.org/ns/credentials/v2": "credentials-v2.jsonld",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json": "ob-context-3.0.3.json",
    "https://www.w3.org/ns/did/v1": "did-v1.jsonld",
    "https://w3id.org/security/multikey/v1": "multikey-v1.jsonld",
}
_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


class Invalid(Exception):
    """The credential does not verify (the message says which step failed)."""


def base58_decode(text: str) -> bytes:
    number = 0
    for char in text:
        number = number * 58 + _ALPHABET.index(char)
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * (len(text) - len(text.lstrip("1"))) + body


def _loader(url: str, options=None) -> dict:
    if url not in CONTEXT_FILES:
        raise Invalid(f"unknown context {url}")
    document = json.loads((_CONTEXTS / CONTEXT_FILES[url]).read_text(encoding="utf-8"))
    return {"contextUrl": None, "documentUrl": url, "document": document}


def canonical(document: dict) -> str:
    return jsonld.normalize(document, {"algorithm": "URDNA2015", "format": "application/n-quads",
                                       "documentLoader": _loader, "safe": True})


def public_key(did_document: dict, method_id: str) -> Ed25519PublicKey:
    """The Ed25519 key of an assertion method listed in the DID document."""
    if method_id not in did_document.get("assertionMethod", []):
        raise Invalid(f"{method_id} is not an assertion method of {did_document.get('id')}")
    for method in did_document.get("verificationMethod", []):
        if method["id"] == method_id and method["type"] == "Multikey":
            value = method["publicKeyMultibase"]
            if not value.startswith("z"):
                raise Invalid("not base58btc multibase")
            raw = base58_decode(value[1:])
            if raw[:2] != b"\xed\x01" or len(raw) != 34:
                raise Invalid("not an Ed25519 multikey")
            return Ed25519PublicKey.from_public_bytes(raw[2:])
    raise Invalid(f"{method_id} is not in the DID document")


def verify_ldp(credential: dict, did_document: dict) -> str:
    """Verify the embedded eddsa-rdfc-2022 proof; returns the verification method, or raises Invalid."""
    proof = credential.get("proof")
    if not isinstance(proof, dict) or proof.get("type") != "DataIntegrityProof" \
            or proof.get("cryptosuite") != "eddsa-rdfc-2022":
        raise Invalid("no eddsa-rdfc-2022 DataIntegrityProof")
    if proof.get("proofPurpose") != "assertionMethod":
        raise Invalid("wrong proof purpose")
    method = proof["verificationMethod"]
    issuer = credential["issuer"]  # VC 2.0: a URL, or an object with an id (an Open Badges Profile)
    if method.split("#")[0] != (issuer.get("id") if isinstance(issuer, dict) else issuer):
        raise Invalid("the key is not the issuer's")
    key = public_key(did_document, method)
    options = {k: v for k, v in proof.items() if k != "proofValue"}
    options["@context"] = credential["@context"]
    unsecured = {k: v for k, v in credential.items() if k != "proof"}
    hash_data = (hashlib.sha256(canonical(options).encode()).digest()
                 + hashlib.sha256(canonical(unsecured).encode()).digest())
    if not proof["proofValue"].startswith("z"):
        raise Invalid("proofValue is not base58btc")
    try:
        key.verify(base58_decode(proof["proofValue"][1:]), hash_data)
    except InvalidSignature as exc:
        raise Invalid("signature does not match") from exc
    return method


def jwk_of(key: Ed25519PublicKey) -> jwk.JWK:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    raw = key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return jwk.JWK(kty="OKP", crv="Ed25519", x=base64.urlsafe_b64encode(raw).rstrip(b"=").decode())


def verify_jwt(token: str, did_document: dict) -> tuple[dict, dict]:
    """Verify a VC-JWT with jwcrypto; returns (header, payload), or raises Invalid."""
    parsed = jwcrypto_jws.JWS()
    parsed.deserialize(token)
    header = parsed.jose_header
    if header.get("alg") != "EdDSA" or header.get("typ") != "vc+jwt":
        raise Invalid(f"unexpected header {header}")
    key = jwk_of(public_key(did_document, header["kid"]))
    try:
        parsed.verify(key, alg="EdDSA")
    except jwcrypto_jws.InvalidJWSSignature as exc:
        raise Invalid("signature does not match") from exc
    payload = json.loads(parsed.payload)
    if header["kid"].split("#")[0] != payload["issuer"]["id"]:
        raise Invalid("the key is not the issuer's")
    return header, payload
