"""Data Integrity proofs with the cryptosuite `eddsa-rdfc-2022` (W3C Data Integrity EdDSA Cryptosuites 1.0).

Signing input (spec §3.2): the proof options (the proof without `proofValue`, carrying the document's
`@context`) and the document without `proof`, each canonicalized with RDFC-1.0; hashData =
SHA-256(canonical proof options) || SHA-256(canonical document); the proof value is "z" + base58btc of
the Ed25519 signature over hashData. Ed25519 is deterministic, so the same inputs give the same proof.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from app.credentials.errors import CHANGED, CredentialError
from app.credentials.jsonld import canonize
from app.credentials.multikey import base58btc_encode, multibase_decode

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-rdfc-2022"
KeyResolver = Callable[[str], Ed25519PublicKey | None]


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def hash_data(document: dict[str, Any], proof_options: dict[str, Any]) -> bytes:
    """SHA-256 of the canonical proof options, then of the canonical document (64 bytes)."""
    options = {**proof_options, "@context": document.get("@context")}
    unsecured = {key: value for key, value in document.items() if key != "proof"}
    return (hashlib.sha256(canonize(options).encode("utf-8")).digest()
            + hashlib.sha256(canonize(unsecured).encode("utf-8")).digest())


def add_proof(document: dict[str, Any], private_key: Ed25519PrivateKey, verification_method: str, *,
              created: datetime | None = None, proof_purpose: str = "assertionMethod") -> dict[str, Any]:
    """A copy of `document` with an `eddsa-rdfc-2022` DataIntegrityProof."""
    options = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": _timestamp(created or datetime.now(UTC)),
        "verificationMethod": verification_method,
        "proofPurpose": proof_purpose,
    }
    signature = private_key.sign(hash_data(document, options))
    unsecured = {key: value for key, value in document.items() if key != "proof"}
    return {**unsecured, "proof": {**options, "proofValue": "z" + base58btc_encode(signature)}}


def _single_proof(document: dict[str, Any]) -> dict[str, Any]:
    proof = document.get("proof")
    if proof is None:
        raise CredentialError("the credential carries no proof")
    if isinstance(proof, list):
        if len(proof) != 1:
            raise CredentialError("the credential carries several proofs; we check exactly one")
        proof = proof[0]
    if not isinstance(proof, dict):
        raise CredentialError("the proof is malformed")
    if proof.get("type") != PROOF_TYPE or proof.get("cryptosuite") != CRYPTOSUITE:
        raise CredentialError(f"unsupported proof: only {PROOF_TYPE} with {CRYPTOSUITE} is checked")
    for field in ("verificationMethod", "proofValue", "proofPurpose", "created"):
        if not isinstance(proof.get(field), str):
            raise CredentialError(f"the proof has no {field}")
    return proof


def verify_proof(document: dict[str, Any], resolve_key: KeyResolver) -> str:
    """Check the document's proof; return the verification method that made it, or raise CredentialError."""
    if not isinstance(document, dict):
        raise CredentialError("the credential must be a JSON object")
    proof = _single_proof(document)
    if proof["proofPurpose"] != "assertionMethod":
        raise CredentialError("the proof's purpose is not assertionMethod")
    method = proof["verificationMethod"]
    public_key = resolve_key(method)
    if public_key is None:
        raise CredentialError("the proof was made with a key this issuer does not publish")
    signature = multibase_decode(proof["proofValue"])
    if len(signature) != 64:
        raise CredentialError("the proof value is not an Ed25519 signature")
    options = {key: value for key, value in proof.items() if key != "proofValue"}
    try:
        public_key.verify(signature, hash_data(document, options))
    except InvalidSignature as exc:
        raise CredentialError(CHANGED) from exc
    return method
