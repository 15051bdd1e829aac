"""OpenID Connect relying party: discovery, JWKS, the authorization request, the code exchange and the
ID token check. No database: the identity service gives it a provider's settings.

Every request goes through app.connectors.http (the SSRF-safe policy, no redirects, capped bodies).
Discovery documents and key sets are cached per process for an hour; a token signed with a key id we
do not know makes us fetch the key set again once (the provider rotated its keys).

authlib builds the authorization request and the PKCE challenge; joserfc (authlib's JOSE engine)
checks the ID token: signature against the provider's keys, then iss, aud (and azp), exp, iat, nonce.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from app import strict_json
from app.connectors.http import UnsafeURLError, safe_request

CACHE_SECONDS = 3600.0
KEYS_REFRESH_MIN_SECONDS = 60.0  # a token with an unknown key id refetches the keys at most this often
MAX_DOCUMENT_BYTES = 256 * 1024
TIMEOUT = 10.0
CLOCK_SKEW_SECONDS = 60
MAX_TOKEN_AGE_SECONDS = 600  # an ID token issued longer ago than this (iat) is refused
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")


class OidcError(Exception):
    """The provider, or what it sent, cannot be used; the message is safe to show an admin."""


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    end_session_endpoint: str | None = None
    userinfo_endpoint: str | None = None


@dataclass(frozen=True)
class AuthorizationRequest:
    url: str
    state: str
    nonce: str
    code_verifier: str


_lock = threading.Lock()
_metadata_cache: dict[str, tuple[float, ProviderMetadata]] = {}
_keys_cache: dict[str, tuple[float, KeySet]] = {}
_forced_refresh: dict[str, float] = {}  # jwks_uri -> when an unknown key id last made us refetch


def clear_caches() -> None:
    with _lock:
        _metadata_cache.clear()
        _keys_cache.clear()
        _forced_refresh.clear()


def _get_json(url: str, *, allow_private: bool, what: str) -> dict[str, Any]:
    try:
        response = safe_request("GET", url, allow_private=allow_private, timeout=TIMEOUT,
                                max_body=MAX_DOCUMENT_BYTES, headers={"Accept": "application/json"})
    except UnsafeURLError as exc:
        raise OidcError(f"{what}: {exc}") from None
    except requests.RequestException as exc:
        raise OidcError(f"{what}: could not connect ({type(exc).__name__})") from None
    return _json_body(response, what)


def _json_body(response: requests.Response, what: str) -> dict[str, Any]:
    if getattr(response, "truncated", False):
        raise OidcError(f"{what}: the answer is too large")
    if response.status_code != 200:
        raise OidcError(f"{what}: the provider answered HTTP {response.status_code}")
    try:
        body = strict_json.loads(response.content)
    except ValueError:
        raise OidcError(f"{what}: the answer is not JSON") from None
    if not isinstance(body, dict):
        raise OidcError(f"{what}: the answer is not a JSON object")
    return body


def _endpoint(document: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = document.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or urlsplit(value).scheme not in ("http", "https") or len(value) > 2000:
        raise OidcError(f"Discovery: '{name}' is missing or not an http(s) URL")
    return value


def discover(issuer: str, *, allow_private: bool, refresh: bool = False) -> ProviderMetadata:
    """The provider's metadata from <issuer>/.well-known/openid-configuration (cached an hour)."""
    now = time.monotonic()
    with _lock:
        cached = _metadata_cache.get(issuer)
    if cached and not refresh and now - cached[0] < CACHE_SECONDS:
        return cached[1]
    document = _get_json(issuer.rstrip("/") + "/.well-known/openid-configuration",
                         allow_private=allow_private, what="Discovery")
    if document.get("issuer") != issuer:
        # OIDC Discovery 4.3: the document must name exactly the issuer it was fetched for.
        raise OidcError(f"Discovery: the document names issuer {str(document.get('issuer'))[:200]!r}, "
                        f"not {issuer!r}")
    metadata = ProviderMetadata(
        issuer=issuer, authorization_endpoint=_endpoint(document, "authorization_endpoint") or "",
        token_endpoint=_endpoint(document, "token_endpoint") or "",
        jwks_uri=_endpoint(document, "jwks_uri") or "",
        end_session_endpoint=_endpoint(document, "end_session_endpoint", required=False),
        userinfo_endpoint=_endpoint(document, "userinfo_endpoint", required=False),
    )
    with _lock:
        _metadata_cache[issuer] = (now, metadata)
    return metadata


def signing_keys(jwks_uri: str, *, allow_private: bool, refresh: bool = False) -> KeySet:
    """The provider's public keys (cached an hour). `refresh`: a token named a key id we do not have;
    fetch again, but at most once a minute (tokens with made-up key ids must not make us hammer it)."""
    now = time.monotonic()
    with _lock:
        cached = _keys_cache.get(jwks_uri)
        if refresh:
            if now - _forced_refresh.get(jwks_uri, -KEYS_REFRESH_MIN_SECONDS) < KEYS_REFRESH_MIN_SECONDS:
                refresh = False
            else:
                _forced_refresh[jwks_uri] = now
    if cached and not refresh and now - cached[0] < CACHE_SECONDS:
        return cached[1]
    document = _get_json(jwks_uri, allow_private=allow_private, what="Signing keys")
    try:
        keys = KeySet.import_key_set(document)  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError, KeyError):
        raise OidcError("Signing keys: the provider's key set cannot be read") from None
    with _lock:
        _keys_cache[jwks_uri] = (now, keys)
    return keys


def authorization_request(metadata: ProviderMetadata, *, client_id: str, redirect_uri: str,
                          scopes: str) -> AuthorizationRequest:
    """Where to send the browser, with fresh state, nonce and PKCE verifier (S256) to remember."""
    state, nonce, verifier = generate_token(32), generate_token(32), generate_token(64)
    url = prepare_grant_uri(metadata.authorization_endpoint, client_id, "code", redirect_uri=redirect_uri,
                            scope=scopes, state=state, nonce=nonce,
                            code_challenge=create_s256_code_challenge(verifier),
                            code_challenge_method="S256")
    return AuthorizationRequest(url=url, state=state, nonce=nonce, code_verifier=verifier)


def exchange_code(metadata: ProviderMetadata, *, client_id: str, client_secret: str | None, code: str,
                  redirect_uri: str, code_verifier: str, allow_private: bool) -> dict[str, Any]:
    """The token endpoint's answer for this code (client_secret_basic), with an id_token in it."""
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
            "code_verifier": code_verifier, "client_id": client_id}
    auth = (requests.utils.quote(client_id, safe=""), requests.utils.quote(client_secret or "", safe=""))
    try:
        response = safe_request("POST", metadata.token_endpoint, allow_private=allow_private,
                                timeout=TIMEOUT, max_body=MAX_DOCUMENT_BYTES, data=data, auth=auth,
                                headers={"Accept": "application/json"})
    except UnsafeURLError as exc:
        raise OidcError(f"Token endpoint: {exc}") from None
    except requests.RequestException as exc:
        raise OidcError(f"Token endpoint: could not connect ({type(exc).__name__})") from None
    body = _json_body(response, "Token endpoint")
    if not isinstance(body.get("id_token"), str):
        raise OidcError("Token endpoint: no ID token in the answer")
    return body


def verify_id_token(id_token: str, *, metadata: ProviderMetadata, client_id: str, nonce: str,
                    allow_private: bool) -> dict[str, Any]:
    """The ID token's claims once signature, iss, aud/azp, exp, iat and nonce are checked."""
    keys = signing_keys(metadata.jwks_uri, allow_private=allow_private)
    try:
        token = _decode(id_token, keys)
    except _UnknownKey:
        try:
            fresh = signing_keys(metadata.jwks_uri, allow_private=allow_private, refresh=True)
            token = _decode(id_token, fresh)
        except _UnknownKey:
            raise OidcError("ID token refused: signed with a key the provider does not publish") from None
    claims = dict(token.claims)
    registry = jwt.JWTClaimsRegistry(
        leeway=CLOCK_SKEW_SECONDS,
        iss={"essential": True, "value": metadata.issuer},
        aud={"essential": True, "value": client_id},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    try:
        registry.validate(claims)
    except JoseError as exc:
        raise OidcError(f"ID token refused: {exc.error}: {exc.description or ''}".rstrip(": ")) from None
    _check_azp_and_age(claims, client_id)
    return claims


class _UnknownKey(Exception):
    pass


def _decode(id_token: str, keys: KeySet) -> jwt.Token:
    try:
        return jwt.decode(id_token, keys, algorithms=list(ALGORITHMS))
    except InvalidKeyIdError:  # signed with a key we have not fetched yet: the provider rotated
        raise _UnknownKey from None
    except JoseError as exc:
        raise OidcError(f"ID token refused: {exc.error}") from None
    except (ValueError, TypeError, KeyError, UnicodeError):
        raise OidcError("ID token refused: it cannot be read") from None


def _check_azp_and_age(claims: dict[str, Any], client_id: str) -> None:
    audience = claims.get("aud")
    if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != client_id:
        raise OidcError("ID token refused: several audiences and we are not the authorized party")
    issued = claims.get("iat")
    oldest = time.time() - MAX_TOKEN_AGE_SECONDS - CLOCK_SKEW_SECONDS
    if not isinstance(issued, int | float) or issued < oldest:
        raise OidcError("ID token refused: it was issued too long ago")


def end_session_url(metadata: ProviderMetadata, *, id_token: str | None, client_id: str,
                    post_logout_redirect_uri: str) -> str | None:
    """RP-initiated logout: where to send the browser after our own logout, or None when unsupported."""
    if not metadata.end_session_endpoint:
        return None
    params = {"client_id": client_id, "post_logout_redirect_uri": post_logout_redirect_uri}
    if id_token:
        params["id_token_hint"] = id_token
    from urllib.parse import urlencode

    separator = "&" if urlsplit(metadata.end_session_endpoint).query else "?"
    return metadata.end_session_endpoint + separator + urlencode(params)
