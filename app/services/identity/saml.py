"""SAML 2 single sign-on: providers (admin rules), our key pair, login, replay refusal and single logout.

The protocol work is pysaml2's, wrapped by app.connectors.saml_sp (no database). Here: which provider,
which key, which URLs (from BASE_URL, never from the request's Host), which assertions were used, and how
a checked assertion becomes a signed-in user (app.services.identity.provisioning).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import requests
from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from app.connectors import egress, saml_sp
from app.connectors import http as outgoing
from app.connectors.saml_sp import Assertion, SamlRefused, SpSettings
from app.database import utcnow
from app.extensions import db
from app.models import ROLES, SamlAssertionUse, SamlProvider, SamlServiceKey, User
from app.services import audit
from app.services.errors import NotAllowed, ValidationError
from app.services.fields import clean_text
from app.services.identity import provisioning
from app.services.secrets import secret_box

# What the browser's session keeps once signed in through SAML: the NameID and SessionIndex that
# single logout names to the IdP.
SESSION_LOGIN_KEY = "saml_login"
MAX_METADATA_BYTES = 1024 * 1024
MAX_RESPONSE_CHARS = saml_sp.MAX_MESSAGE_CHARS
MAX_MAPPING_LINES = 100
ATTRIBUTE_FIELDS = ("email_attribute", "name_attribute", "groups_attribute", "department_attribute")

__all__ = ["Assertion", "SamlRefused", "xmlsec1_missing"]  # the views catch SamlRefused from here


def xmlsec1_missing() -> str | None:
    """What to install when SAML cannot work on this machine, or None."""
    if saml_sp.xmlsec1_path() is None:
        return "SAML needs the xmlsec1 program on the server: apt-get install xmlsec1 (Debian, Ubuntu)."
    return None


# ---------------------------------------------------------------------------------------------
# providers
# ---------------------------------------------------------------------------------------------


def providers() -> list[SamlProvider]:
    return list(db.session.scalars(select(SamlProvider).order_by(SamlProvider.label, SamlProvider.id)))


def enabled_providers() -> list[SamlProvider]:
    return [provider for provider in providers() if provider.enabled]


def by_public_id(public_id: str) -> SamlProvider | None:
    if not public_id or len(public_id) > 32:
        return None
    return db.session.scalar(select(SamlProvider).where(SamlProvider.public_id == public_id))


def create_provider(values: Mapping[str, object], *, actor: User) -> SamlProvider:
    """A provider from an admin's form: label, metadata (XML or URL), attributes, mapping, switches."""
    provider = SamlProvider(public_id=secrets.token_urlsafe(16)[:22], role_for_group={})
    _apply(provider, values, metadata_required=True)
    db.session.add(provider)
    db.session.flush()
    audit.record(actor, "saml.provider_created", "saml_provider", provider.id,
                 f"Added SAML provider {provider.label}", entity_id=provider.idp_entity_id)
    return provider


def update_provider(provider: SamlProvider, values: Mapping[str, object], *, actor: User) -> SamlProvider:
    """Edit; empty metadata fields keep the current metadata."""
    _apply(provider, values, metadata_required=False)
    db.session.flush()
    audit.record(actor, "saml.provider_updated", "saml_provider", provider.id,
                 f"Edited SAML provider {provider.label}", enabled=provider.enabled)
    return provider


def _apply(provider: SamlProvider, values: Mapping[str, object], *, metadata_required: bool) -> None:
    errors: dict[str, str] = {}
    cleaned: dict[str, object] = {}
    for name, limit, required in (("label", 80, True), *((f, 200, False) for f in ATTRIBUTE_FIELDS)):
        try:
            cleaned[name] = clean_text(values.get(name), limit, required=required, label="a label")
        except ValueError as exc:
            errors[name] = str(exc)
    try:
        cleaned["role_for_group"] = parse_role_mapping(str(values.get("role_for_group") or ""))
    except ValueError as exc:
        errors["role_for_group"] = str(exc)
    cleaned["default_role"] = str(values.get("default_role") or "learner")
    if cleaned["default_role"] not in ROLES:
        errors["default_role"] = f"Choose one of {', '.join(ROLES)}."
    metadata = None
    if not errors:
        metadata = _metadata(values, required=metadata_required, errors=errors)
    if errors:
        raise ValidationError(errors)
    for name, value in cleaned.items():
        setattr(provider, name, value)
    for switch in ("create_accounts", "trust_email", "enabled"):
        setattr(provider, switch, bool(values.get(switch)))
    if metadata is not None:
        xml, url, info = metadata
        provider.idp_metadata, provider.metadata_url = xml, url
        provider.idp_entity_id, provider.sso_url = info.entity_id, info.sso_url
        provider.slo_url = info.slo_url


def _metadata(values: Mapping[str, object], *, required: bool,
              errors: dict[str, str]) -> tuple[str, str | None, saml_sp.IdpInfo] | None:
    xml = values.get("metadata_xml")
    url = str(values.get("metadata_url") or "").strip()
    field = "metadata_xml" if xml else "metadata_url"
    try:
        if not xml and url:
            xml = fetch_metadata(url)
        if not xml:
            if required:
                errors["metadata_url"] = "Give the metadata URL or upload the metadata XML file."
            return None
        text = xml.decode("utf-8") if isinstance(xml, bytes) else str(xml)
        if "\x00" in text or len(text) > MAX_METADATA_BYTES:
            raise SamlRefused("The metadata is not a text document of at most 1 MB.")
        return text, url or None, saml_sp.read_idp_metadata(text)
    except UnicodeDecodeError:
        errors[field] = "The metadata is not UTF-8 text."
    except SamlRefused as exc:
        errors[field] = str(exc)
    return None


def fetch_metadata(url: str) -> str:
    """The IdP's metadata from its URL, through the SSRF-safe client (no redirects, size capped)."""
    if len(url) > 500:
        raise SamlRefused("The URL is longer than 500 characters.")
    try:
        response = outgoing.safe_request("GET", url, allow_private=egress.private_allowed(current_app.config),
                                         max_body=MAX_METADATA_BYTES, timeout=15,
                                         headers={"Accept": "application/samlmetadata+xml, application/xml"})
    except requests.RequestException as exc:
        raise SamlRefused(f"The metadata could not be fetched: {str(exc)[:200]}") from None
    if response.status_code != 200:
        raise SamlRefused(f"The metadata URL answered HTTP {response.status_code}.")
    if response.truncated:  # type: ignore[attr-defined]
        raise SamlRefused("The metadata is larger than 1 MB.")
    try:
        return response.content.decode("utf-8")
    except UnicodeDecodeError:
        raise SamlRefused("The metadata is not UTF-8 text.") from None


def parse_role_mapping(text: str) -> dict[str, str]:
    """ "group = role" lines (one per line) -> {group: role}; ValueError with the line at fault."""
    mapping: dict[str, str] = {}
    lines = [line.strip() for line in text.replace("\r\n", "\n").split("\n") if line.strip()]
    if len(lines) > MAX_MAPPING_LINES:
        raise ValueError(f"At most {MAX_MAPPING_LINES} lines.")
    for number, line in enumerate(lines, start=1):
        group, sep, role = (part.strip() for part in line.rpartition("="))
        try:
            group = clean_text(group, 200, required=True, label="a group")
        except ValueError as exc:
            raise ValueError(f"Line {number}: {exc}") from None
        if not sep or role not in ROLES:
            raise ValueError(f"Line {number}: write \"group = role\" with a role among {', '.join(ROLES)}.")
        if group in mapping:
            raise ValueError(f"Line {number}: the group {group!r} is mapped twice.")
        mapping[group] = role
    return mapping


def mapping_text(provider: SamlProvider) -> str:
    return "\n".join(f"{group} = {role}" for group, role in (provider.role_for_group or {}).items())


# ---------------------------------------------------------------------------------------------
# our side: key pair, URLs, metadata
# ---------------------------------------------------------------------------------------------


def service_key() -> tuple[str, str]:
    """(private key PEM, certificate PEM): made once, the key kept encrypted with secret_box()."""
    row = db.session.scalar(select(SamlServiceKey).where(SamlServiceKey.name == "default"))
    if row is None:
        key_pem, cert_pem = saml_sp.generate_key_pair(f"{current_app.config.get('BASE_URL', '')} SAML")
        try:
            with db.session.begin_nested():
                row = SamlServiceKey(name="default", private_key=secret_box().encrypt(key_pem),
                                     certificate_pem=cert_pem)
                db.session.add(row)
        except IntegrityError:  # another process made it meanwhile: use theirs
            row = db.session.scalar(select(SamlServiceKey).where(SamlServiceKey.name == "default"))
            assert row is not None
    return secret_box().decrypt(row.private_key), row.certificate_pem


def urls(provider: SamlProvider) -> dict[str, str]:
    base = f"{current_app.config['BASE_URL'].rstrip('/')}/sso/saml/{provider.public_id}"
    return {"metadata": f"{base}/metadata", "acs": f"{base}/acs", "slo": f"{base}/slo"}


def settings(provider: SamlProvider) -> SpSettings:
    key_pem, cert_pem = service_key()
    ours = urls(provider)
    return SpSettings(entity_id=ours["metadata"], acs_url=ours["acs"], slo_url=ours["slo"],
                      idp_metadata=provider.idp_metadata, key_pem=key_pem, cert_pem=cert_pem)


def sp_metadata(provider: SamlProvider) -> str:
    return saml_sp.sp_metadata(settings(provider))


# ---------------------------------------------------------------------------------------------
# login
# ---------------------------------------------------------------------------------------------


def start_login(provider: SamlProvider) -> tuple[str, str]:
    """(AuthnRequest id to remember with the browser's session, the IdP URL to send the browser to)."""
    if not provider.enabled:
        raise NotAllowed("This sign-in option is turned off.")
    return saml_sp.login_redirect(settings(provider))


@dataclass(frozen=True)
class SignedIn:
    user: User
    assertion: Assertion


def finish_login(provider: SamlProvider, saml_response: str, outstanding: Mapping[str, str]) -> SignedIn:
    """Check the IdP's answer (SamlRefused), refuse a replay, then sign in or provision (NotAllowed)."""
    if not provider.enabled:
        raise NotAllowed("This sign-in option is turned off.")
    assertion = saml_sp.read_response(settings(provider), saml_response, outstanding)
    _remember_use(provider, assertion)
    identity = external_identity(provider, assertion)
    policy = provisioning.ProvisioningPolicy(create_accounts=provider.create_accounts,
                                             role_for_group=dict(provider.role_for_group or {}),
                                             default_role=provider.default_role,
                                             department_attribute=bool(provider.department_attribute))
    user = provisioning.sign_in_user(identity, policy, actor_label=f"SAML: {provider.label}")
    return SignedIn(user, assertion)


def _remember_use(provider: SamlProvider, assertion: Assertion) -> None:
    """Each assertion signs in once: its id is kept until its NotOnOrAfter (plus the allowed skew)."""
    db.session.execute(delete(SamlAssertionUse).where(SamlAssertionUse.expires_at < utcnow()))
    try:
        with db.session.begin_nested():
            db.session.add(SamlAssertionUse(provider_id=provider.id,
                                            assertion_id=assertion.assertion_id[:256],
                                            expires_at=assertion.not_on_or_after))
    except IntegrityError:
        raise SamlRefused(f"Assertion {assertion.assertion_id[:80]} was already used (a replay).") from None


def external_identity(provider: SamlProvider, assertion: Assertion) -> provisioning.ExternalIdentity:
    email = assertion.first(provider.email_attribute) if provider.email_attribute else None
    if email is None and assertion.name_id.get("format", "").endswith("emailAddress"):
        email = assertion.name_id["text"]
    groups = assertion.attributes.get(provider.groups_attribute, ()) if provider.groups_attribute else ()
    return provisioning.ExternalIdentity(
        provider_key=provider.key, subject=assertion.name_id["text"][:255], email=email,
        email_verified=bool(email) and provider.trust_email,
        name=assertion.first(provider.name_attribute) if provider.name_attribute else None,
        groups=tuple(groups)[:100],
        department=assertion.first(provider.department_attribute) if provider.department_attribute else None)


# ---------------------------------------------------------------------------------------------
# single logout
# ---------------------------------------------------------------------------------------------


def logout_url(provider: SamlProvider, name_id: Mapping[str, str], session_index: str | None) -> str | None:
    """Where to send the browser after our own sign-out so the IdP ends its session too (None: no SLO)."""
    if not provider.slo_url:
        return None
    try:
        return saml_sp.logout_redirect(settings(provider), name_id, session_index)
    except SamlRefused:
        return None


def logout_url_for_session(method: str | None, provider_key: str | None, login: Mapping | None) -> str | None:
    """After a logout, where to send the browser so the IdP ends its session too (SP-initiated SLO), from
    what the session held: how it signed in ("saml", "saml:<public id>") and the NameID and SessionIndex.
    None: nowhere (not a SAML session, no SLO endpoint, SAML unavailable)."""
    if method != "saml" or not provider_key or not provider_key.startswith("saml:"):
        return None
    if not isinstance(login, Mapping) or xmlsec1_missing():
        return None
    provider = by_public_id(provider_key.removeprefix("saml:"))
    if provider is None or not provider.enabled:
        return None
    return logout_url(provider, login.get("name_id") or {}, login.get("session_index"))


def read_logout_response(provider: SamlProvider, query_string: str) -> bool:
    return saml_sp.read_logout_response(settings(provider), query_string)


def answer_logout_request(provider: SamlProvider, query_string: str,
                          end_session: Callable[[dict[str, str]], bool]) -> saml_sp.LogoutRequest:
    """The IdP asks us to end a NameID's session: `end_session` does it when it is this browser's."""
    return saml_sp.answer_logout_request(settings(provider), query_string, end_session)


def set_enabled(provider: SamlProvider, enabled: bool, *, actor: User) -> SamlProvider:
    provider.enabled = enabled
    db.session.flush()
    audit.record(actor, "saml.provider_enabled" if enabled else "saml.provider_disabled", "saml_provider",
                 provider.id, f"{'Enabled' if enabled else 'Disabled'} SAML provider {provider.label}")
    return provider
