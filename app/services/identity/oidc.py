"""OpenID Connect sign-in: the providers admins configure, the login round trip, and RP logout.

The protocol work (discovery, keys, the code exchange, the ID token check) is app.connectors.oidc; this
module holds the rules: which providers exist and are enabled, what a provider's claims mean for
provisioning (app.services.identity.provisioning), and what the browser must carry between the
redirect to the provider and the callback (state, nonce, PKCE verifier: `PendingLogin`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.connectors import egress
from app.connectors import oidc as protocol
from app.connectors.crypto import CryptoError
from app.extensions import db
from app.models import ROLES, User
from app.models.identity import OidcProvider
from app.services import audit
from app.services.errors import NotAllowed, ValidationError
from app.services.fields import check_fields, clean_text
from app.services.identity.provisioning import ExternalIdentity, ProvisioningPolicy, sign_in_user
from app.services.secrets import secret_box

PENDING_MAX_AGE = 600  # seconds between leaving for the provider and coming back
MAX_ROLE_MAP_LINES = 100
ProviderError = protocol.OidcError


def allow_private() -> bool:
    return egress.private_allowed(current_app.config)


# --- Providers ---------------------------------------------------------------------------------------

def providers() -> list[OidcProvider]:
    return list(db.session.scalars(select(OidcProvider).order_by(OidcProvider.label, OidcProvider.id)))


def enabled_providers() -> list[OidcProvider]:
    return [p for p in providers() if p.enabled]


def by_public_id(public_id: str) -> OidcProvider | None:
    if not public_id or len(public_id) > 32 or not public_id.isascii() or not public_id.isalnum():
        return None
    return db.session.scalar(select(OidcProvider).where(OidcProvider.public_id == public_id))


def _clean_issuer(value: object) -> str:
    """An http(s) URL with a host, kept exactly as typed: discovery must name the very same issuer.
    Its address is checked against the outgoing policy each time it is fetched (app.connectors.http)."""
    issuer = clean_text(value, 500, required=True, label="the issuer URL")
    try:
        parts = urlsplit(issuer)
        parts.port  # noqa: B018  (raises ValueError for a bad port)
    except ValueError:
        raise ValueError("Not a valid URL.") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError("Enter the issuer's https:// URL.")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError("The issuer URL has no query, fragment or credentials.")
    return issuer


def _clean_role(value: object) -> str:
    role = clean_text(value, 16, required=True, label="a role")
    if role not in ROLES:
        raise ValueError(f"One of: {', '.join(ROLES)}.")
    return role


def parse_role_map(value: object) -> dict[str, str]:
    """'group = role' lines -> {group: role}; blank lines ignored."""
    text = clean_text(value, 10_000, multiline=True)
    mapping: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        group, sep, role = line.partition("=")
        group, role = group.strip(), role.strip()
        if not sep or not group or len(group) > 200:
            raise ValueError(f"Line {number}: write 'group = role'.")
        if role not in ROLES:
            raise ValueError(f"Line {number}: the role must be one of {', '.join(ROLES)}.")
        mapping[group] = role
    if len(mapping) > MAX_ROLE_MAP_LINES:
        raise ValueError(f"At most {MAX_ROLE_MAP_LINES} groups.")
    return mapping


def format_role_map(mapping: Mapping[str, str]) -> str:
    return "\n".join(f"{group} = {role}" for group, role in mapping.items())


def _clean_scopes(value: object) -> str:
    scopes = clean_text(value, 255, required=True, label="the scopes").split()
    if "openid" not in scopes:
        scopes.insert(0, "openid")
    if any(not s.isascii() or not s.isprintable() or '"' in s or "\\" in s for s in scopes):
        raise ValueError("Scopes are plain ASCII words separated by spaces.")
    return " ".join(dict.fromkeys(scopes))


def _claim_name(value: object) -> str:
    name = clean_text(value, 80)
    if name and not all(ch.isalnum() or ch in "_-.:/" for ch in name):
        raise ValueError("Letters, digits and _ - . : / only.")
    return name


CHECKS = {
    "label": lambda v: clean_text(v, 80, required=True, label="the button label"),
    "issuer": _clean_issuer,
    "client_id": lambda v: clean_text(v, 255, required=True, label="the client id"),
    "client_secret": lambda v: clean_text(v, 2000),
    "scopes": _clean_scopes,
    "create_accounts": bool,
    "group_claim": _claim_name,
    "role_map": parse_role_map,
    "default_role": _clean_role,
    "department_claim": _claim_name,
    "trust_email": bool,
}


def _clean(values: Mapping[str, Any]) -> dict[str, Any]:
    cleaned, errors = check_fields(values, CHECKS)
    if errors:
        raise ValidationError(errors)
    return cleaned


def create_provider(values: Mapping[str, Any], *, actor: audit.Actor) -> OidcProvider:
    cleaned = _clean(values)
    secret = cleaned.pop("client_secret", "")
    provider = OidcProvider(public_id=secrets.token_hex(16), **cleaned)
    provider.client_secret_encrypted = secret_box().encrypt(secret) if secret else None
    db.session.add(provider)
    db.session.flush()
    audit.record(actor, "sso.provider_created", "oidc_provider", provider.id,
                 f"Sign-in provider '{provider.label}' added", issuer=provider.issuer)
    return provider


def update_provider(provider: OidcProvider, values: Mapping[str, Any], *, actor: audit.Actor) -> None:
    """Edit; an empty client secret keeps the stored one."""
    cleaned = _clean(values)
    secret = cleaned.pop("client_secret", "")
    changed = sorted(k for k, v in cleaned.items() if getattr(provider, k) != v)
    for key, value in cleaned.items():
        setattr(provider, key, value)
    if secret:
        provider.client_secret_encrypted = secret_box().encrypt(secret)
        changed.append("client_secret")
    audit.record(actor, "sso.provider_updated", "oidc_provider", provider.id,
                 f"Sign-in provider '{provider.label}' edited", changed=changed)


def set_enabled(provider: OidcProvider, enabled: bool, *, actor: audit.Actor) -> None:
    if provider.enabled == enabled:
        return
    provider.enabled = enabled
    audit.record(actor, "sso.provider_enabled" if enabled else "sso.provider_disabled", "oidc_provider",
                 provider.id, f"Sign-in provider '{provider.label}' {'enabled' if enabled else 'disabled'}")


def test_discovery(provider: OidcProvider) -> protocol.ProviderMetadata:
    """Fetch the discovery document and the keys afresh (Admin › Sign-in › Test); ProviderError."""
    metadata = protocol.discover(provider.issuer, allow_private=allow_private(), refresh=True)
    protocol.signing_keys(metadata.jwks_uri, allow_private=allow_private(), refresh=True)
    return metadata


def ensure_environment_provider() -> OidcProvider | None:
    """The provider OIDC_ISSUER / OIDC_CLIENT_ID / OIDC_CLIENT_SECRET / OIDC_LABEL describe, kept in
    step with them (the variables win over edits). Its public id is derived from SECRET_KEY, so every
    process agrees on it without coordination. Commits only when something changed."""
    config = current_app.config
    issuer, client_id = config.get("OIDC_ISSUER"), config.get("OIDC_CLIENT_ID")
    if not issuer or not client_id:
        return None
    public_id = hmac.new(config["SECRET_KEY"].encode(), f"oidc-env:{issuer}:{client_id}".encode(),
                         hashlib.sha256).hexdigest()[:32]
    provider = by_public_id(public_id)
    label, secret = config.get("OIDC_LABEL") or "single sign-on", config.get("OIDC_CLIENT_SECRET") or ""
    if provider is not None and provider.label == label and _secret(provider) == secret:
        return provider
    try:
        if provider is None:
            provider = OidcProvider(public_id=public_id, issuer=issuer, client_id=client_id, label=label,
                                    from_environment=True, role_map={})
            db.session.add(provider)
            audit.record("system", "sso.provider_created", "oidc_provider", None,
                         f"Sign-in provider '{label}' added from the environment", issuer=issuer)
        provider.label = label
        provider.client_secret_encrypted = secret_box().encrypt(secret) if secret else None
        db.session.commit()
    except IntegrityError:  # another process created it at the same moment
        db.session.rollback()
        provider = by_public_id(public_id)
    return provider


def _secret(provider: OidcProvider) -> str:
    if not provider.client_secret_encrypted:
        return ""
    try:
        return secret_box().decrypt(provider.client_secret_encrypted)
    except CryptoError:
        return ""


def policy_for(provider: OidcProvider) -> ProvisioningPolicy:
    return ProvisioningPolicy(create_accounts=provider.create_accounts,
                              role_for_group=dict(provider.role_map or {}),
                              default_role=provider.default_role,
                              department_attribute=bool(provider.department_claim))


# --- The login round trip --------------------------------------------------------------------------

@dataclass(frozen=True)
class PendingLogin:
    """What the browser carries (in its signed session) from the redirect to the callback."""

    provider: str  # public id
    state: str
    nonce: str
    code_verifier: str
    next: str
    created: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: object) -> PendingLogin | None:
        if not isinstance(data, dict):
            return None
        try:
            return cls(**{key: data[key] for key in cls.__dataclass_fields__})
        except (KeyError, TypeError):
            return None


def begin(provider: OidcProvider, *, redirect_uri: str, next_url: str) -> tuple[str, PendingLogin]:
    """(the provider's authorization URL, what to remember until the callback). ProviderError."""
    if not provider.enabled:
        raise NotAllowed("This sign-in provider is disabled.")
    metadata = protocol.discover(provider.issuer, allow_private=allow_private())
    request = protocol.authorization_request(metadata, client_id=provider.client_id,
                                             redirect_uri=redirect_uri, scopes=provider.scopes)
    return request.url, PendingLogin(provider=provider.public_id, state=request.state, nonce=request.nonce,
                                     code_verifier=request.code_verifier, next=next_url, created=time.time())


def finish(provider: OidcProvider, pending: PendingLogin, *, code: str, redirect_uri: str
           ) -> tuple[User, str]:
    """The user this callback signs in, and the ID token (the logout hint). ProviderError when the
    provider's answer fails a check, NotAllowed when provisioning refuses (both audited by the caller)."""
    if not provider.enabled:
        raise NotAllowed("This sign-in provider is disabled.")
    if time.time() - pending.created > PENDING_MAX_AGE:
        raise NotAllowed("The sign-in took too long. Try again.")
    metadata = protocol.discover(provider.issuer, allow_private=allow_private())
    tokens = protocol.exchange_code(metadata, client_id=provider.client_id, client_secret=_secret(provider),
                                    code=code, redirect_uri=redirect_uri, code_verifier=pending.code_verifier,
                                    allow_private=allow_private())
    claims = protocol.verify_id_token(tokens["id_token"], metadata=metadata, client_id=provider.client_id,
                                      nonce=pending.nonce, allow_private=allow_private())
    user = sign_in_user(identity_from_claims(provider, claims), policy_for(provider),
                        actor_label=f"sso:{provider.label}"[:100])
    return user, tokens["id_token"]


def identity_from_claims(provider: OidcProvider, claims: Mapping[str, Any]) -> ExternalIdentity:
    email = claims.get("email")
    groups = claims.get(provider.group_claim) if provider.group_claim else None
    department = claims.get(provider.department_claim) if provider.department_claim else None
    return ExternalIdentity(
        provider_key=provider.key,
        subject=str(claims.get("sub") or ""),
        email=email if isinstance(email, str) else None,
        email_verified=claims.get("email_verified") is True or provider.trust_email,
        name=claims.get("name") if isinstance(claims.get("name"), str) else None,
        groups=tuple(g for g in (groups if isinstance(groups, list) else []) if isinstance(g, str)),
        department=department if isinstance(department, str) else None,
    )


def audit_failure(provider: OidcProvider | None, reason: str) -> None:
    audit.record("system", "user.sso_refused", "oidc_provider", provider.id if provider else None,
                 f"Single sign-on failed: {reason}"[:500], provider=provider.key if provider else None)


def logout_url(provider_key: str | None, *, id_token: str | None,
               post_logout_redirect_uri: str) -> str | None:
    """The provider's end-session URL for a session that came from it (RP-initiated logout), else None.
    A provider that cannot be reached just means a local logout."""
    if not provider_key or not provider_key.startswith("oidc:"):
        return None
    provider = by_public_id(provider_key.removeprefix("oidc:"))
    if provider is None or not provider.enabled:
        return None
    try:
        metadata = protocol.discover(provider.issuer, allow_private=allow_private())
    except ProviderError:
        return None
    return protocol.end_session_url(metadata, id_token=id_token, client_id=provider.client_id,
                                    post_logout_redirect_uri=post_logout_redirect_uri)


__all__ = ["PendingLogin", "ProviderError", "begin", "by_public_id", "create_provider", "enabled_providers",
           "ensure_environment_provider", "finish", "logout_url", "providers", "set_enabled",
           "update_provider"]
