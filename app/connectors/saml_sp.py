"""SAML 2 service provider engine on pysaml2: no database, no Flask.

What it does for one identity provider (the caller passes an `SpSettings`):
- our metadata (`sp_metadata`), the IdP's metadata summary (`read_idp_metadata`);
- the AuthnRequest as a Redirect-binding URL (`login_redirect`), remembering nothing itself: the caller
  keeps the request id (InResponseTo) with the browser's session;
- the Response check (`read_response`): signed assertion REQUIRED, audience = our entity id, recipient
  and destination = our ACS URL, NotBefore/NotOnOrAfter, InResponseTo among the outstanding ids.
  Replay across requests is the caller's job (it has the database): see `Assertion.assertion_id`;
- single logout: our LogoutRequest (`logout_redirect`), the IdP's LogoutResponse (`read_logout_response`)
  and the IdP's LogoutRequest with our answer (`answer_logout_request`).

pysaml2 checks signatures with the xmlsec1 program; `xmlsec1_path()` says whether it is installed.
Every failure of an incoming message is a `SamlRefused` with a reason fit for a log line; the XML is
parsed by pysaml2 through defusedxml (no DTD, no entities: XXE and billion laughs are refused).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, saml
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.mdstore import InMemoryMetaData
from saml2.metadata import create_metadata_string
from saml2.s_utils import UnsupportedBinding
from saml2.saml import NAMEID_FORMAT_UNSPECIFIED, NameID
from saml2.sigver import SIG_RSA_SHA256

# Clock skew allowed between us and the IdP (NotBefore / NotOnOrAfter), in seconds.
ACCEPTED_SKEW_SECONDS = 90
# A SAMLResponse larger than this (base64 text) is refused before anything parses it.
MAX_MESSAGE_CHARS = 512 * 1024
IDP_SSO_SERVICE = "single_sign_on_service"
IDP_SLO_SERVICE = "single_logout_service"


class SamlRefused(Exception):
    """An incoming SAML message (or IdP metadata) is not acceptable; str() is the reason."""


def xmlsec1_path() -> str | None:
    """The xmlsec1 program pysaml2 verifies and makes signatures with, or None when not installed."""
    return shutil.which("xmlsec1")


@dataclass(frozen=True)
class SpSettings:
    """Everything pysaml2 needs for one provider: our URLs, our key pair, the IdP's metadata."""

    entity_id: str
    acs_url: str
    slo_url: str
    idp_metadata: str
    key_pem: str
    cert_pem: str


@dataclass(frozen=True)
class IdpInfo:
    entity_id: str
    sso_url: str
    slo_url: str | None


@dataclass(frozen=True)
class Assertion:
    """What a checked Response says about the user."""

    assertion_id: str
    in_response_to: str
    name_id: dict[str, str]
    session_index: str | None
    not_on_or_after: dt.datetime
    attributes: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def first(self, name: str) -> str | None:
        values = self.attributes.get(name) or ()
        return values[0] if values else None


# ---------------------------------------------------------------------------------------------
# keys and metadata
# ---------------------------------------------------------------------------------------------


def generate_key_pair(common_name: str) -> tuple[str, str]:
    """A new RSA key and a self-signed certificate for it (10 years), both PEM text."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64] or "Laurel SAML")])
    now = dt.datetime.now(dt.UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - dt.timedelta(days=1))
                   .not_valid_after(now + dt.timedelta(days=3650))
                   .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return key_pem, certificate.public_bytes(serialization.Encoding.PEM).decode()


def read_idp_metadata(xml: str) -> IdpInfo:
    """The IdP's entity id and endpoints; SamlRefused when the metadata is not a usable SAML 2 IdP."""
    store = InMemoryMetaData(None, xml)
    try:
        store.load()
    except Exception as exc:  # noqa: BLE001 - pysaml2 raises many kinds for bad XML (defused too)
        raise SamlRefused(f"The metadata is not valid SAML metadata ({type(exc).__name__}).") from None
    idps = [entity_id for entity_id, entity in store.items() if "idpsso_descriptor" in entity]
    if len(idps) != 1:
        raise SamlRefused("The metadata must describe exactly one identity provider (IDPSSODescriptor).")
    entity_id = idps[0]
    sso = _endpoint(store, entity_id, IDP_SSO_SERVICE, BINDING_HTTP_REDIRECT)
    if sso is None:
        raise SamlRefused("The identity provider has no single sign-on service with the "
                          "HTTP-Redirect binding.")
    if not list(store.certs(entity_id, "idpsso", "signing")):
        raise SamlRefused("The metadata has no signing certificate for the identity provider.")
    return IdpInfo(entity_id, sso, _endpoint(store, entity_id, IDP_SLO_SERVICE, BINDING_HTTP_REDIRECT))


def _endpoint(store: InMemoryMetaData, entity_id: str, service: str, binding: str) -> str | None:
    try:
        found = store.service(entity_id, "idpsso_descriptor", service, binding)
    except Exception:  # noqa: BLE001 - an odd document simply has no such endpoint
        return None
    entries = found.get(binding, []) if isinstance(found, dict) else found or []
    return next((entry["location"] for entry in entries if entry.get("location")), None)


def sp_metadata(settings: SpSettings) -> str:
    """Our metadata (entity id, ACS, SLO, our certificate for signing), as XML text."""
    with _client(settings) as client:
        return create_metadata_string(None, config=client.config).decode()


# ---------------------------------------------------------------------------------------------
# login
# ---------------------------------------------------------------------------------------------


def login_redirect(settings: SpSettings, relay_state: str = "") -> tuple[str, str]:
    """(request id, URL of the IdP with the signed AuthnRequest in the query string)."""
    with _client(settings) as client:
        try:
            request_id, info = client.prepare_for_authenticate(
                entityid=_idp_entity_id(client), relay_state=relay_state, binding=BINDING_HTTP_REDIRECT,
                sign=True, sigalg=SIG_RSA_SHA256)
        except Exception as exc:  # noqa: BLE001 - e.g. the stored metadata no longer fits
            raise SamlRefused(f"The sign-in request could not be made: {type(exc).__name__}") from None
    return request_id, dict(info["headers"])["Location"]


def read_response(settings: SpSettings, saml_response: str, outstanding: Mapping[str, str]) -> Assertion:
    """Check a POSTed SAMLResponse; the checked assertion, or SamlRefused with the reason."""
    if not saml_response or len(saml_response) > MAX_MESSAGE_CHARS:
        raise SamlRefused("The SAML response is missing or too large.")
    with _client(settings) as client:
        try:
            response = client.parse_authn_request_response(saml_response, BINDING_HTTP_POST,
                                                           outstanding=dict(outstanding))
        except Exception as exc:  # noqa: BLE001 - every pysaml2 refusal (signature, time, audience...)
            raise SamlRefused(f"{type(exc).__name__}: {str(exc)[:300]}") from None
        if response is None or response.assertion is None:
            raise SamlRefused("The SAML response carries no usable assertion.")
        if not response.assertion.signature:  # pysaml2 requires it too (want_assertions_signed)
            raise SamlRefused("The assertion is not signed.")
        return _assertion(response)


def _assertion(response) -> Assertion:  # type: ignore[no-untyped-def]
    assertion = response.assertion
    name_id = response.name_id
    if name_id is None or not (name_id.text or "").strip():
        raise SamlRefused("The assertion has no NameID.")
    ends = [data.not_on_or_after for confirmation in assertion.subject.subject_confirmation
            if (data := confirmation.subject_confirmation_data) is not None and data.not_on_or_after]
    if assertion.conditions is not None and assertion.conditions.not_on_or_after:
        ends.append(assertion.conditions.not_on_or_after)
    if not ends:
        raise SamlRefused("The assertion has no NotOnOrAfter: it could be replayed forever.")
    statements = assertion.authn_statement or []
    return Assertion(
        assertion_id=assertion.id, in_response_to=response.in_response_to or "",
        name_id=_name_id_dict(name_id), session_index=statements[0].session_index if statements else None,
        not_on_or_after=max(_instant(value) for value in ends), attributes=_attributes(assertion))


def _attributes(assertion) -> dict[str, tuple[str, ...]]:  # type: ignore[no-untyped-def]
    """Raw attribute values by Name, and by FriendlyName too (admins may type either)."""
    found: dict[str, list[str]] = {}
    for statement in assertion.attribute_statement or []:
        for attribute in statement.attribute or []:
            values = [str(value.text).strip() for value in attribute.attribute_value or []
                      if value.text is not None and str(value.text).strip()]
            for key in {attribute.name, attribute.friendly_name} - {None, ""}:
                found.setdefault(key, []).extend(values)
    return {key: tuple(values) for key, values in found.items()}


def _instant(value: str) -> dt.datetime:
    from saml2.time_util import str_to_time

    parsed = str_to_time(value)
    return dt.datetime(*parsed[:6], tzinfo=dt.UTC)


def _name_id_dict(name_id: NameID) -> dict[str, str]:
    return {key: value for key, value in {
        "text": (name_id.text or "").strip(), "format": name_id.format or NAMEID_FORMAT_UNSPECIFIED,
        "name_qualifier": name_id.name_qualifier, "sp_name_qualifier": name_id.sp_name_qualifier,
    }.items() if value}


def _name_id(stored: Mapping[str, str]) -> NameID:
    return saml.NameID(text=stored.get("text"), format=stored.get("format"),
                       name_qualifier=stored.get("name_qualifier"),
                       sp_name_qualifier=stored.get("sp_name_qualifier"))


# ---------------------------------------------------------------------------------------------
# single logout
# ---------------------------------------------------------------------------------------------


def logout_redirect(settings: SpSettings, name_id: Mapping[str, str], session_index: str | None,
                    relay_state: str = "") -> str | None:
    """The IdP's SLO URL with our signed LogoutRequest, or None when the IdP has no SLO endpoint."""
    with _client(settings) as client:
        destination = _idp_slo_url(client)
        if destination is None:
            return None
        _, request = client.create_logout_request(
            destination, _idp_entity_id(client), name_id=_name_id(name_id),
            session_indexes=[session_index] if session_index else None, expire=None)
        info = client.apply_binding(BINDING_HTTP_REDIRECT, str(request), destination, relay_state,
                                    sign=True, sigalg=SIG_RSA_SHA256)
    return dict(info["headers"])["Location"]


def read_logout_response(settings: SpSettings, query_string: str) -> bool:
    """Whether the IdP's LogoutResponse (Redirect binding, its signature checked) says success."""
    message = _redirect_message(query_string, "SAMLResponse")
    with _client(settings) as client:
        _check_redirect_signature(client, message)
        try:
            response = client.parse_logout_request_response(message["SAMLResponse"], BINDING_HTTP_REDIRECT)
            return response is not None and bool(response.status_ok())
        except Exception as exc:  # noqa: BLE001 - pysaml2 raises many kinds (status, time, XML...)
            raise SamlRefused(f"{type(exc).__name__}: {str(exc)[:300]}") from None


@dataclass(frozen=True)
class LogoutRequest:
    name_id: dict[str, str]
    ended: bool
    answer_url: str


def answer_logout_request(settings: SpSettings, query_string: str,
                          end_session: Callable[[dict[str, str]], bool]) -> LogoutRequest:
    """Read the IdP's LogoutRequest (Redirect binding, signature REQUIRED), let `end_session(name_id)`
    end the session if it is the browser's (True), and build our signed answer (success or unknown)."""
    from saml2.samlp import STATUS_SUCCESS, STATUS_UNKNOWN_PRINCIPAL, Status, StatusCode

    message = _redirect_message(query_string, "SAMLRequest")
    if not message.get("Signature") or not message.get("SigAlg"):
        raise SamlRefused("The logout request is not signed.")
    with _client(settings) as client:
        try:
            request = client.parse_logout_request(message["SAMLRequest"], BINDING_HTTP_REDIRECT,
                                                  relay_state=message.get("RelayState"),
                                                  sigalg=message["SigAlg"], signature=message["Signature"])
        except Exception as exc:  # noqa: BLE001
            raise SamlRefused(f"{type(exc).__name__}: {str(exc)[:300]}") from None
        if request is None or request.message.name_id is None:
            raise SamlRefused("The logout request could not be read.")
        destination = _idp_slo_url(client)
        if destination is None:
            raise SamlRefused("The identity provider has no single logout endpoint to answer to.")
        name_id = _name_id_dict(request.message.name_id)
        ended = end_session(name_id)
        status = Status(status_code=StatusCode(value=STATUS_SUCCESS if ended else STATUS_UNKNOWN_PRINCIPAL))
        response = client.create_logout_response(request.message, bindings=[BINDING_HTTP_REDIRECT],
                                                 status=status, sign=False)
        info = client.apply_binding(BINDING_HTTP_REDIRECT, str(response), destination,
                                    message.get("RelayState") or "", response=True, sign=True,
                                    sigalg=SIG_RSA_SHA256)
    return LogoutRequest(name_id, ended, dict(info["headers"])["Location"])


def _redirect_message(query_string: str, kind: str) -> dict[str, str]:
    if len(query_string) > MAX_MESSAGE_CHARS:
        raise SamlRefused("The SAML message is too large.")
    try:
        pairs = parse_qs(query_string, keep_blank_values=False, max_num_fields=10, errors="strict")
    except (ValueError, UnicodeDecodeError):
        raise SamlRefused("The query string is not a SAML message.") from None
    if any(len(values) != 1 for values in pairs.values()) or not pairs.get(kind):
        raise SamlRefused(f"Expected exactly one {kind}.")
    return {key: values[0] for key, values in pairs.items()}


def _check_redirect_signature(client: Saml2Client, message: Mapping[str, str]) -> None:
    """A Redirect-binding message's query-string signature, against the IdP's signing certificates."""
    from saml2.sigver import verify_redirect_signature

    if not message.get("Signature") or not message.get("SigAlg"):
        raise SamlRefused("The message is not signed.")
    certs = client.metadata.certs(_idp_entity_id(client), "idpsso", "signing")
    try:
        verified = any(verify_redirect_signature(dict(message), client.sec.sec_backend, cert)
                       for _, cert in certs)
    except Exception as exc:  # noqa: BLE001
        raise SamlRefused(f"The signature could not be checked ({type(exc).__name__}).") from None
    if not verified:
        raise SamlRefused("The signature does not match the identity provider's certificate.")


# ---------------------------------------------------------------------------------------------
# pysaml2 client
# ---------------------------------------------------------------------------------------------


def _idp_entity_id(client: Saml2Client) -> str:
    return next(iter(client.metadata.identity_providers()))


def _idp_slo_url(client: Saml2Client) -> str | None:
    try:
        found = client.metadata.single_logout_service(_idp_entity_id(client), BINDING_HTTP_REDIRECT, "idpsso")
    except UnsupportedBinding:
        return None
    entries = found.get(BINDING_HTTP_REDIRECT, []) if isinstance(found, dict) else found or []
    return next((entry["location"] for entry in entries if entry.get("location")), None)


@contextmanager
def _client(settings: SpSettings) -> Iterator[Saml2Client]:
    """A pysaml2 client for one provider. pysaml2 (xmlsec1) reads our key from a file: it lives in a
    private temporary directory only while the client works, the stored copy stays encrypted."""
    xmlsec1 = xmlsec1_path()
    if xmlsec1 is None:
        raise SamlRefused("SAML needs the xmlsec1 program (apt-get install xmlsec1).")
    with tempfile.TemporaryDirectory(prefix="laurel-saml-") as folder:
        key_file, cert_file = os.path.join(folder, "sp.key"), os.path.join(folder, "sp.crt")
        for path, text in ((key_file, settings.key_pem), (cert_file, settings.cert_pem)):
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                handle.write(text)
        config = SPConfig()
        config.load(_config(settings, key_file, cert_file, xmlsec1))
        # pysaml2 asks its "idp" context whether incoming requests must be signed; an SP parsing the
        # IdP's LogoutRequest must insist on it too (an unsigned one would log anybody out).
        config.setattr("idp", "want_authn_requests_signed", True)
        yield Saml2Client(config=config)


def _config(settings: SpSettings, key_file: str, cert_file: str, xmlsec1: str) -> dict:
    return {
        "entityid": settings.entity_id,
        "xmlsec_binary": xmlsec1,
        "key_file": key_file,
        "cert_file": cert_file,
        "metadata": {"inline": [settings.idp_metadata]},
        "accepted_time_diff": ACCEPTED_SKEW_SECONDS,
        "allow_unknown_attributes": True,
        "service": {"sp": {
            "endpoints": {
                "assertion_consumer_service": [(settings.acs_url, BINDING_HTTP_POST)],
                "single_logout_service": [(settings.slo_url, BINDING_HTTP_REDIRECT)],
            },
            "allow_unsolicited": False,  # IdP-initiated login has no InResponseTo to check
            "want_assertions_signed": True,
            "want_response_signed": False,  # Entra ID signs the assertion only by default
            "authn_requests_signed": True,
            "logout_requests_signed": True,
            "logout_responses_signed": True,
            "name_id_format_allow_create": True,
        }},
    }

