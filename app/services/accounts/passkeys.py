"""Passkeys (WebAuthn): register on the profile page, use as a second factor or to sign in without a password.

- The relying party is the host of BASE_URL; the browser's origin must be on that host (the port may
  differ, as behind a development proxy), so a passkey made here works nowhere else.
- Challenges are random, kept server-side in Redis for CHALLENGE_SECONDS and taken with GETDEL: each
  one verifies at most one answer (a replayed answer finds no challenge).
- Registration requires a discoverable credential and user verification (PIN, fingerprint): a passkey
  alone then proves two things, so passwordless sign-in needs no other step.
- Sign counts only go up: an answer with a count not above the stored one (a cloned authenticator) is
  refused by the `webauthn` package and changes nothing.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from app.database import utcnow
from app.extensions import db
from app.models import Passkey, User
from app.queue import get_redis
from app.services import audit, locking
from app.services.errors import NotAllowed, ValidationError
from app.services.fields import checked_text
from app.services.organisation import branding

CHALLENGE_SECONDS = 300
MAX_NAME = 100
MAX_CREDENTIAL_JSON = 64 * 1024  # an answer is a few KB; anything larger is not one
_KEY = "laurel:webauthn:challenge:"
REFUSED = "That passkey was not accepted. Try again, or use another way to sign in."


@dataclass(frozen=True)
class Ceremony:
    """Options for navigator.credentials (JSON for the page) and the handle of their stored challenge."""

    options_json: str
    handle: str


def relying_party() -> str:
    return urlsplit(current_app.config["BASE_URL"]).hostname or "localhost"


def expected_origins(request_origin: str | None) -> list[str]:
    """BASE_URL's origin, and the request's when it is on the same host (another port, same site)."""
    base = urlsplit(current_app.config["BASE_URL"])
    origins = [f"{base.scheme}://{base.netloc}"]
    if request_origin and urlsplit(request_origin).hostname == relying_party():
        origins.append(request_origin.rstrip("/"))
    return origins


# --------------------------------------------------------------------------------------------
# Challenges: single use, with an expiry
# --------------------------------------------------------------------------------------------


def _store_challenge(challenge: bytes, purpose: str, user_id: int | None, extra: str = "") -> str:
    handle = secrets.token_urlsafe(24)
    value = json.dumps({"c": bytes_to_base64url(challenge), "p": purpose, "u": user_id, "x": extra})
    get_redis().set(_KEY + handle, value, ex=CHALLENGE_SECONDS)
    return handle


def _take_challenge(handle: str | None, purpose: str, user_id: int | None) -> tuple[bytes, str]:
    raw = get_redis().getdel(_KEY + handle) if handle and len(handle) < 100 else None
    if raw is None:
        raise NotAllowed("That passkey request has expired or was used already. Try again.")
    stored = json.loads(raw)
    if stored["p"] != purpose or stored["u"] != user_id:
        raise NotAllowed("That passkey request has expired or was used already. Try again.")
    return base64url_to_bytes(stored["c"]), stored["x"]


# --------------------------------------------------------------------------------------------
# Registration
# --------------------------------------------------------------------------------------------


def user_passkeys(user: User) -> list[Passkey]:
    return list(db.session.scalars(select(Passkey).where(Passkey.user_id == user.id).order_by(Passkey.id)))


def _user_handle(user: User) -> str:
    """The user's random WebAuthn handle: the one their passkeys carry, or a new one."""
    existing = db.session.scalar(select(Passkey.user_handle).where(Passkey.user_id == user.id).limit(1))
    return existing or bytes_to_base64url(secrets.token_bytes(32))


def begin_registration(user: User) -> Ceremony:
    handle = _user_handle(user)
    options = generate_registration_options(
        rp_id=relying_party(), rp_name=branding().name[:60], user_name=user.email,
        user_id=base64url_to_bytes(handle), user_display_name=user.name,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=base64url_to_bytes(p.credential_id))
                             for p in user_passkeys(user)],
        timeout=CHALLENGE_SECONDS * 1000)
    # The user handle offered travels with the challenge: a first passkey keeps the handle it was made for.
    ceremony_handle = _store_challenge(options.challenge, "register", user.id, handle)
    return Ceremony(options_to_json(options), ceremony_handle)


def finish_registration(user: User, ceremony: str | None, credential: object, name: object, *,
                        origin: str | None) -> Passkey:
    """Verify the browser's answer and store the passkey; ValidationError/NotAllowed change nothing."""
    label = _clean_name(name)
    text = _credential_text(credential)
    challenge, handle = _take_challenge(ceremony, "register", user.id)
    try:
        verified = verify_registration_response(
            credential=text, expected_challenge=challenge, expected_rp_id=relying_party(),
            expected_origin=expected_origins(origin), require_user_verification=True)
    except (WebAuthnException, ValueError, TypeError, KeyError) as exc:
        raise NotAllowed(f"The passkey could not be registered: {str(exc)[:200]}") from None
    credential_id = bytes_to_base64url(verified.credential_id)
    if db.session.scalar(select(Passkey.id).where(Passkey.credential_id == credential_id)) is not None:
        raise NotAllowed("This passkey is registered already.")
    passkey = Passkey(user_id=user.id, name=label, credential_id=credential_id,
                      public_key=verified.credential_public_key, sign_count=verified.sign_count,
                      user_handle=handle, transports=_transports(text))
    db.session.add(passkey)
    db.session.flush()
    audit.record(user, "user.passkey_added", "user", user.id, f"Passkey '{label}' added", passkey=passkey.id)
    return passkey


def remove(user: User, passkey_id: int) -> Passkey:
    passkey = db.session.get(Passkey, passkey_id)
    if passkey is None or passkey.user_id != user.id:
        raise LookupError(passkey_id)
    db.session.delete(passkey)
    audit.record(user, "user.passkey_removed", "user", user.id, f"Passkey '{passkey.name}' removed",
                 passkey=passkey_id)
    return passkey


# --------------------------------------------------------------------------------------------
# Authentication: as the second step (user known), or passwordless (user from the passkey)
# --------------------------------------------------------------------------------------------


def begin_authentication(user: User | None) -> Ceremony:
    """Options for navigator.credentials.get: the user's passkeys, or any discoverable one (None)."""
    allowed = [PublicKeyCredentialDescriptor(id=base64url_to_bytes(p.credential_id))
               for p in user_passkeys(user)] if user is not None else []
    if user is not None and not allowed:
        raise NotAllowed("You have no passkey yet.")
    options = generate_authentication_options(
        rp_id=relying_party(), allow_credentials=allowed,
        user_verification=UserVerificationRequirement.REQUIRED, timeout=CHALLENGE_SECONDS * 1000)
    handle = _store_challenge(options.challenge, "authenticate", user.id if user else None)
    return Ceremony(options_to_json(options), handle)


def finish_authentication(ceremony: str | None, credential: object, *, user: User | None,
                          origin: str | None) -> User:
    """The (active) user whose passkey signed the challenge; NotAllowed otherwise, nothing changed.

    `user`: the half-logged-in user of a second step (the passkey must be theirs), or None for a
    passwordless sign-in (the passkey says who)."""
    text = _credential_text(credential)
    challenge, _ = _take_challenge(ceremony, "authenticate", user.id if user else None)
    passkey = _passkey_for(text)
    if passkey is None or (user is not None and passkey.user_id != user.id):
        raise NotAllowed(REFUSED)
    locking.hold(passkey)  # two answers at once: the second compares with the first's sign count
    owner = db.session.get(User, passkey.user_id)
    if owner is None or not owner.active:
        raise NotAllowed(REFUSED)
    try:
        verified = verify_authentication_response(
            credential=text, expected_challenge=challenge, expected_rp_id=relying_party(),
            expected_origin=expected_origins(origin), credential_public_key=passkey.public_key,
            credential_current_sign_count=passkey.sign_count, require_user_verification=True)
    except (WebAuthnException, ValueError, TypeError, KeyError):
        raise NotAllowed(REFUSED) from None
    if not _user_handle_matches(text, passkey):
        raise NotAllowed(REFUSED)
    passkey.sign_count = verified.new_sign_count
    passkey.last_used_at = utcnow()
    audit.record(owner, "user.passkey_used", "user", owner.id, f"Passkey '{passkey.name}' used",
                 passkey=passkey.id, passwordless=user is None)
    return owner


def _passkey_for(text: str) -> Passkey | None:
    try:
        raw_id = json.loads(text).get("rawId") or json.loads(text).get("id")
    except (ValueError, AttributeError):
        return None
    if not isinstance(raw_id, str) or len(raw_id) > 1400:
        return None
    return db.session.scalar(select(Passkey).where(Passkey.credential_id == raw_id))


def _user_handle_matches(text: str, passkey: Passkey) -> bool:
    """A discoverable credential names its user: it must be the passkey's owner (when it says one)."""
    handle = (json.loads(text).get("response") or {}).get("userHandle")
    return not handle or handle == passkey.user_handle


def _credential_text(credential: object) -> str:
    text = credential if isinstance(credential, str) else json.dumps(credential)
    if not text or len(text) > MAX_CREDENTIAL_JSON:
        raise ValidationError({"credential": "No passkey answer was sent."})
    try:
        parsed = json.loads(text)
    except ValueError:
        raise ValidationError({"credential": "The passkey answer is not JSON."}) from None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("response"), dict):
        raise ValidationError({"credential": "The passkey answer is incomplete."})
    return text


def _transports(text: str) -> str:
    found = (json.loads(text).get("response") or {}).get("transports") or []
    return ",".join(t for t in found if isinstance(t, str) and t.isalnum())[:200]


def _clean_name(name: object) -> str:
    label = checked_text(str(name or "").strip(), "name")
    if not label:
        raise ValidationError({"name": "Give the passkey a name, for example the device it is on."})
    if len(label) > MAX_NAME:
        raise ValidationError({"name": f"At most {MAX_NAME} characters."})
    return label
