"""The credential engine against the W3C specification's own test vectors, and against a second JOSE
library: our code must reproduce the published bytes, not only agree with itself.

Vectors: w3c/vc-di-eddsa TestVectors/ (eddsa-rdfc-2022, key pair, unsigned credential), copied in
tests/credentials/vectors/ unchanged.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from jwcrypto import jwk
from jwcrypto import jws as jwcrypto_jws

from app.credentials import data_integrity, jsonld, multikey, vc_jwt
from app.credentials.errors import CredentialError

VECTORS = Path(__file__).parent / "vectors" / "eddsa-rdfc-2022"


def _text(name: str) -> str:
    return (VECTORS / name).read_text(encoding="utf-8")


def _json(name: str) -> dict:
    return json.loads(_text(name))


@pytest.fixture(scope="module")
def key_pair():
    pair = _json("keyPair.json")
    return (multikey.private_key_from_multikey(pair["privateKeyMultibase"]),
            multikey.public_key_from_multikey(pair["publicKeyMultibase"]), pair)


def test_the_spec_key_pair_round_trips_as_multikey(key_pair):
    private_key, public_key, pair = key_pair
    assert multikey.public_multikey(public_key) == pair["publicKeyMultibase"]
    assert multikey.public_multikey(private_key.public_key()) == pair["publicKeyMultibase"]


def test_canonical_forms_and_hashes_match_the_spec():
    document = _json("unsigned.json")
    config = _json("proofConfigDataInt.json")
    assert jsonld.canonize(document) == _text("canonDocDataInt.txt")
    assert jsonld.canonize(config) == _text("proofCanonDataInt.txt")
    proof_options = {key: value for key, value in config.items() if key != "@context"}
    combined = data_integrity.hash_data(document, proof_options)
    assert combined[:32].hex() == _text("proofHashDataInt.txt").strip()
    assert combined[32:].hex() == _text("docHashDataInt.txt").strip()
    assert combined.hex() == _text("combinedHashDataInt.txt").strip()


def test_signing_reproduces_the_spec_signed_credential(key_pair):
    private_key, _public_key, _pair = key_pair
    config = _json("proofConfigDataInt.json")
    signed = data_integrity.add_proof(
        _json("unsigned.json"), private_key, config["verificationMethod"],
        created=datetime.fromisoformat(config["created"].replace("Z", "+00:00")),
    )
    assert signed["proof"]["proofValue"] == _text("sigBTC58DataInt.txt").strip()
    assert signed == _json("signedDataInt.json")


def _resolver(public_key, method):
    return lambda asked: public_key if asked == method else None


def test_the_spec_signed_credential_verifies_and_any_change_breaks_it(key_pair):
    _private_key, public_key, _pair = key_pair
    signed = _json("signedDataInt.json")
    method = signed["proof"]["verificationMethod"]
    assert data_integrity.verify_proof(signed, _resolver(public_key, method)) == method

    changed = json.loads(json.dumps(signed))
    changed["credentialSubject"]["alumniOf"] = "The School of Forgeries"
    with pytest.raises(CredentialError, match="changed after signing"):
        data_integrity.verify_proof(changed, _resolver(public_key, method))

    redated = json.loads(json.dumps(signed))
    redated["proof"]["created"] = "2030-01-01T00:00:00Z"
    with pytest.raises(CredentialError, match="changed after signing"):
        data_integrity.verify_proof(redated, _resolver(public_key, method))


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.pop("proof"), "no proof"),
    (lambda d: d.update(proof=[d["proof"], d["proof"]]), "several proofs"),
    (lambda d: d["proof"].update(cryptosuite="ecdsa-rdfc-2019"), "unsupported proof"),
    (lambda d: d["proof"].update(proofValue="z" + "1" * 300), "too long"),
    (lambda d: d["proof"].update(proofValue="not-multibase"), "multibase"),
    (lambda d: d["proof"].update(proofValue="z" + multikey.base58btc_encode(b"short")), "not an Ed25519"),
    (lambda d: d["proof"].update(proofPurpose="authentication"), "assertionMethod"),
    (lambda d: d["proof"].pop("created"), "no created"),
    (lambda d: d.update({"@context": ["https://attacker.example/context"]}), "unknown JSON-LD context"),
])
def test_malformed_proofs_are_refused_with_a_reason(key_pair, mutate, message):
    _private_key, public_key, _pair = key_pair
    document = _json("signedDataInt.json")
    mutate(document)
    with pytest.raises(CredentialError, match=message):
        data_integrity.verify_proof(document, lambda _method: public_key)


def test_a_key_the_issuer_does_not_publish_is_refused(key_pair):
    with pytest.raises(CredentialError, match="does not publish"):
        data_integrity.verify_proof(_json("signedDataInt.json"), lambda _method: None)


def test_contexts_come_only_from_the_bundled_copies():
    assert set(jsonld.KNOWN_CONTEXTS) >= {jsonld.VC_V2, jsonld.OB_V3, jsonld.DID_V1, jsonld.MULTIKEY_V1}
    with pytest.raises(CredentialError, match="unknown JSON-LD context"):
        jsonld.document_loader("http://127.0.0.1:6379/")


def _jwcrypto_key(public_key) -> jwk.JWK:
    return jwk.JWK.from_pem(public_key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))


def test_a_vc_jwt_signed_with_joserfc_verifies_with_jwcrypto(key_pair):
    private_key, public_key, _pair = key_pair
    credential = _json("unsigned.json")
    token = vc_jwt.sign_jwt(credential, private_key, "did:example:issuer#key-1")

    checked = jwcrypto_jws.JWS()
    checked.deserialize(token)
    checked.verify(_jwcrypto_key(public_key))  # raises if the signature is wrong
    assert json.loads(checked.payload) == credential
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header == {"alg": "EdDSA", "kid": "did:example:issuer#key-1", "typ": "vc+jwt"}
    payload, kid = vc_jwt.verify_jwt(token, _resolver(public_key, "did:example:issuer#key-1"))
    assert (payload, kid) == (credential, "did:example:issuer#key-1")


def test_a_vc_jwt_signed_by_jwcrypto_verifies_with_ours(key_pair):
    private_key, public_key, _pair = key_pair
    from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

    signer = jwk.JWK.from_pem(private_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    token = jwcrypto_jws.JWS(json.dumps(_json("unsigned.json")).encode())
    token.add_signature(signer, None, json.dumps({"alg": "EdDSA", "kid": "k", "typ": "vc+jwt"}))
    payload, _kid = vc_jwt.verify_jwt(token.serialize(compact=True), _resolver(public_key, "k"))
    assert payload["id"] == "urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.mark.parametrize("case", ["tampered", "alg-none", "hs256", "unknown-kid", "two-parts", "huge",
                                  "duplicate-keys", "not-json"])
def test_bad_vc_jwts_are_refused(key_pair, case):
    private_key, public_key, _pair = key_pair
    token = vc_jwt.sign_jwt({"id": "urn:x", "name": "A"}, private_key, "k")
    head, body, signature = token.split(".")
    forged = {
        "tampered": f"{head}.{_b64(json.dumps({'id': 'urn:x', 'name': 'B'}).encode())}.{signature}",
        "alg-none": f"{_header(alg='none')}.{body}.",
        "hs256": f"{_header(alg='HS256')}.{body}.{signature}",
        "unknown-kid": vc_jwt.sign_jwt({"id": "urn:x"}, private_key, "elsewhere"),
        "two-parts": f"{head}.{body}",
        "huge": f"{head}.{'A' * (vc_jwt.MAX_TOKEN + 1)}.{signature}",
        "duplicate-keys": None,
        "not-json": None,
    }[case]
    if case == "duplicate-keys":
        payload = b'{"name": "A", "name": "B"}'
        forged = _signed_raw(private_key, payload)
    if case == "not-json":
        forged = _signed_raw(private_key, b"\xff\xfe not json")
    with pytest.raises(CredentialError):
        vc_jwt.verify_jwt(forged, _resolver(public_key, "k"))


def _header(**fields) -> str:
    return _b64(json.dumps({"kid": "k", **fields}).encode())


def _signed_raw(private_key, payload: bytes) -> str:
    """A correctly signed token around an arbitrary payload (what an attacker holding a key could send)."""
    head = _b64(json.dumps({"alg": "EdDSA", "kid": "k"}).encode())
    body = _b64(payload)
    signature = private_key.sign(f"{head}.{body}".encode())
    return f"{head}.{body}.{_b64(signature)}"


def test_base58_round_trips_with_leading_zeros():
    for data in (b"", b"\0", b"\0\0\x01", hashlib.sha256(b"x").digest()):
        assert multikey.base58btc_decode(multikey.base58btc_encode(data)) == data
    with pytest.raises(CredentialError):
        multikey.base58btc_decode("0OIl")
