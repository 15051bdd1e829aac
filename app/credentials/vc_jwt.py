"""Credentials as VC-JOSE compact JWS (the "VC-JWT" form): header {alg EdDSA, kid, typ vc+jwt},
payload the credential itself (VC Data Model 2.0).

We sign with "EdDSA", the name every VC verifier knows today; RFC 9864 deprecates it in favour of the
fully specified "Ed25519" (same signature), so both are accepted when verifying and joserfc's
deprecation warning is silenced where we use the name on purpose.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from joserfc import jws
from joserfc.errors import JoseError, SecurityWarning
from joserfc.jwk import OKPKey

from app.credentials.errors import CHANGED, CredentialError
from app.strict_json import JSONInputError
from app.strict_json import loads as strict_loads

MEDIA_TYPE = "application/vc+jwt"
MAX_TOKEN = 256 * 1024
ALGORITHMS = ["EdDSA", "Ed25519"]
KeyResolver = Callable[[str], Ed25519PublicKey | None]


def _okp(key: Ed25519PrivateKey | Ed25519PublicKey) -> OKPKey:
    if isinstance(key, Ed25519PrivateKey):
        pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    else:
        pem = key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    return OKPKey.import_key(pem)


def sign_jwt(credential: dict[str, Any], private_key: Ed25519PrivateKey, kid: str) -> str:
    header = {"alg": "EdDSA", "kid": kid, "typ": "vc+jwt"}
    payload = json.dumps(credential, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)
        return jws.serialize_compact(header, payload, _okp(private_key), algorithms=["EdDSA"])


def verify_jwt(token: str, resolve_key: KeyResolver) -> tuple[dict[str, Any], str]:
    """The credential in `token` and the kid that signed it; CredentialError if anything is off."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN or token.count(".") != 2:
        raise CredentialError("not a compact JWS (three dot-separated parts)")
    try:
        header = jws.extract_compact(token.encode("ascii")).protected
    except (JoseError, ValueError, UnicodeError) as exc:
        raise CredentialError("the JWT header cannot be read") from exc
    if header.get("alg") not in ALGORITHMS:
        raise CredentialError("only EdDSA-signed credentials are accepted")
    kid = header.get("kid")
    public_key = resolve_key(kid) if isinstance(kid, str) else None
    if public_key is None:
        raise CredentialError("the JWT was signed with a key this issuer does not publish")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SecurityWarning)
            token_object = jws.deserialize_compact(token, _okp(public_key), algorithms=ALGORITHMS)
    except (JoseError, ValueError) as exc:
        raise CredentialError(CHANGED) from exc
    try:
        payload = strict_loads(token_object.payload)
    except JSONInputError as exc:
        raise CredentialError(f"the JWT payload is not a credential: {exc}") from exc
    if not isinstance(payload, dict):
        raise CredentialError("the JWT payload is not a credential")
    return payload, kid
