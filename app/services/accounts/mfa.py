"""Two-factor sign-in: authenticator apps (TOTP), recovery codes, remembered devices and the org's policy.

- The TOTP secret is generated here, encrypted with `secret_box()`, and active only once one code from
  the app proved it was copied right (`confirm_totp`).
- A code is accepted in its 30-second step and the neighbours (clock drift), and never again in a step
  at or before the last one used: a code seen over someone's shoulder is worthless after its use.
- Recovery codes (10, single use) and remembered-device tokens are random and kept only as keyed hashes.
- Passkeys live in `passkeys.py`; `has_mfa` counts them as a second factor too.
- Failed attempts are audited by the caller after its rollback (`record_failure`): the refusal itself
  changes nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

import pyotp
import segno
from flask import current_app, has_request_context, request
from sqlalchemy import delete, func, select, update
from werkzeug.security import check_password_hash

from app.database import utcnow
from app.extensions import db
from app.models import OrganisationSettings, Passkey, RecoveryCode, RememberedDevice, TotpFactor, User
from app.services import audit, locking
from app.services.accounts import sessions
from app.services.errors import NotAllowed, ValidationError
from app.services.organisation import branding
from app.services.secrets import secret_box

STEP_SECONDS = 30
DRIFT_STEPS = 1  # the step before and after the current one are accepted too
RECOVERY_CODE_COUNT = 10
MAX_REMEMBER_DAYS = 30
MAX_CODE_INPUT = 64
SETTINGS_ID = 1
_POLICY_KEY = "laurel.mfa_policy"
_RECOVERY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def totp_factor(user: User) -> TotpFactor | None:
    return db.session.scalar(select(TotpFactor).where(TotpFactor.user_id == user.id))


def has_totp(user: User) -> bool:
    factor = totp_factor(user)
    return factor is not None and factor.confirmed_at is not None


def has_passkeys(user: User) -> bool:
    return db.session.scalar(select(func.count()).select_from(Passkey).where(Passkey.user_id == user.id)) > 0


def has_mfa(user: User) -> bool:
    """Does signing in with a password need a second step for this user?"""
    return has_totp(user) or has_passkeys(user)


def recovery_codes_left(user: User) -> int:
    return db.session.scalar(select(func.count()).select_from(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)))


# --------------------------------------------------------------------------------------------
# The organisation's policy
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MfaPolicy:
    required_for_admins: bool = False
    remember_days: int = 0  # 0: every password login asks for the second factor


def policy() -> MfaPolicy:
    """The org's settings; read once per request (the admin gate asks on every page)."""
    # Kept in the request's environ, not g: tests share one app context (and g) across requests.
    cache = request.environ if has_request_context() else {}
    if _POLICY_KEY in cache:
        return cache[_POLICY_KEY]
    row = db.session.get(OrganisationSettings, SETTINGS_ID)
    days = min(max(row.mfa_remember_days or 0, 0), MAX_REMEMBER_DAYS) if row else 0
    found = MfaPolicy(bool(row and row.mfa_required_for_admins), days)
    cache[_POLICY_KEY] = found
    return found


def update_policy(required_for_admins: bool, remember_days: object, *, actor: audit.Actor) -> MfaPolicy:
    days = _clean_days(remember_days)
    row = db.session.get(OrganisationSettings, SETTINGS_ID)
    if row is None:
        row = OrganisationSettings(id=SETTINGS_ID)
        db.session.add(row)
    row.mfa_required_for_admins = bool(required_for_admins)
    row.mfa_remember_days = days
    if days == 0:  # "never remember" also ends what was remembered before
        db.session.execute(delete(RememberedDevice))
    db.session.flush()
    if has_request_context():
        request.environ.pop(_POLICY_KEY, None)
    audit.record(actor, "organisation.mfa_policy_updated", "organisation", SETTINGS_ID,
                 "Two-factor settings updated", required_for_admins=row.mfa_required_for_admins,
                 remember_days=days)
    return policy()


def _clean_days(value: object) -> int:
    text = str(value if value is not None else "").strip() or "0"
    if not (text.isascii() and text.isdigit()) or len(text) > 3 or int(text) > MAX_REMEMBER_DAYS:
        raise ValidationError({"remember_days": f"Enter a number of days from 0 to {MAX_REMEMBER_DAYS}."})
    return int(text)


def needs_enrolment(user: User) -> bool:
    """An admin who must set up a second factor before using anything else (the org requires it)."""
    return user.is_admin and policy().required_for_admins and not has_mfa(user)


# --------------------------------------------------------------------------------------------
# Enrolling an authenticator app
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TotpSetup:
    secret: str  # base32, shown as text for apps that cannot scan
    uri: str  # otpauth://...

    @property
    def qr_data_uri(self) -> str:
        """The otpauth URI as an inline SVG image: drawn here, no outside service sees the secret."""
        return segno.make(self.uri, error="m").svg_data_uri(scale=5, border=2)


def begin_totp(user: User) -> TotpSetup:
    """A new secret waiting for its first code (replacing any earlier unconfirmed one)."""
    existing = totp_factor(user)
    if existing is not None and existing.confirmed_at is not None:
        raise NotAllowed("An authenticator app is already set up. Turn it off first to replace it.")
    if existing is not None:
        db.session.delete(existing)
        db.session.flush()
    secret = pyotp.random_base32()
    db.session.add(TotpFactor(user_id=user.id, secret_encrypted=secret_box().encrypt(secret)))
    db.session.flush()
    return _setup(user, secret)


def pending_setup(user: User) -> TotpSetup | None:
    """The secret being enrolled (the page may be reloaded before the first code)."""
    factor = totp_factor(user)
    if factor is None or factor.confirmed_at is not None:
        return None
    return _setup(user, secret_box().decrypt(factor.secret_encrypted))


def _setup(user: User, secret: str) -> TotpSetup:
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=branding().name[:60])
    return TotpSetup(secret, uri)


def confirm_totp(user: User, code: str) -> list[str]:
    """Activate the pending secret with one code from the app; returns the recovery codes (shown once)."""
    factor = totp_factor(user)
    if factor is None or factor.confirmed_at is not None:
        raise NotAllowed("There is no authenticator app waiting to be confirmed: start again.")
    locking.hold(factor)
    step = _matching_step(secret_box().decrypt(factor.secret_encrypted), _digits(code))
    if step is None:
        raise ValidationError({"code": "That code is not right. Check the time on your phone and try again."})
    factor.confirmed_at = utcnow()
    factor.last_used_step = step
    codes = _new_recovery_codes(user)
    audit.record(user, "user.mfa_enabled", "user", user.id, "Authenticator app turned on", factor="totp")
    return codes


def disable_totp(user: User, proof: str) -> None:
    """Turn the app off; `proof` is a current code or the account password."""
    factor = totp_factor(user)
    if factor is None or factor.confirmed_at is None:
        raise NotAllowed("No authenticator app is set up.")
    if not _password_matches(user, proof) and not _code_matches(factor, proof):
        raise ValidationError({"proof": "Enter a current code from your app, or your password."})
    db.session.delete(factor)
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    forget_devices(user)
    audit.record(user, "user.mfa_disabled", "user", user.id, "Authenticator app turned off", factor="totp")


def regenerate_recovery_codes(user: User) -> list[str]:
    if not has_mfa(user):
        raise NotAllowed("Set up an authenticator app or a passkey first.")
    codes = _new_recovery_codes(user)
    audit.record(user, "user.recovery_codes_regenerated", "user", user.id, "New recovery codes made")
    return codes


def _new_recovery_codes(user: User) -> list[str]:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = ["-".join("".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(4)) for _ in range(3))
             for _ in range(RECOVERY_CODE_COUNT)]  # 12 characters of 32: 60 bits each
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=_keyed_hash(_recovery_form(code)))
                       for code in codes)
    db.session.flush()
    return codes


# --------------------------------------------------------------------------------------------
# The second step of a login
# --------------------------------------------------------------------------------------------


def verify_second_factor(user: User, raw_code: str) -> str:
    """Accept a current app code or an unused recovery code; returns "totp" or "recovery".

    Raises ValidationError (nothing changed) for a wrong, reused or malformed code."""
    code = (raw_code or "")[:MAX_CODE_INPUT]
    digits = _digits(code)
    if len(digits) == 6 and digits == code.replace(" ", ""):
        factor = totp_factor(user)
        if factor is None or factor.confirmed_at is None:
            raise ValidationError({"code": "That code is not right."})
        _use_totp(factor, digits)
        method = "totp"
    else:
        _use_recovery_code(user, code)
        method = "recovery"
    audit.record(user, "user.mfa_verified", "user", user.id, "Second factor accepted", factor=method,
                 **({"recovery_codes_left": recovery_codes_left(user)} if method == "recovery" else {}))
    return method


def record_failure(user: User, factor: str, ip: str | None) -> None:
    """Audit a refused second factor (called after the refusal's rollback; the caller commits)."""
    audit.record(user, "user.mfa_failed", "user", user.id, "Second factor refused", factor=factor, ip=ip)


def _use_totp(factor: TotpFactor, digits: str) -> None:
    locking.hold(factor)  # two requests with the same code: the second sees the first's step
    step = _matching_step(secret_box().decrypt(factor.secret_encrypted), digits)
    if step is None:
        raise ValidationError({"code": "That code is not right. Check the time on your phone and try again."})
    if factor.last_used_step is not None and step <= factor.last_used_step:
        raise ValidationError({"code": "That code was used already. Wait for the next one."})
    factor.last_used_step = step


def _use_recovery_code(user: User, code: str) -> None:
    digest = _keyed_hash(_recovery_form(code))
    # One UPDATE that only an unused code matches: of two requests with the same code, one wins.
    result = db.session.execute(
        update(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.code_hash == digest,
                                   RecoveryCode.used_at.is_(None)).values(used_at=utcnow())
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise ValidationError({"code": "That code is not right, or that recovery code was used already."})


def _code_matches(factor: TotpFactor, code: str) -> bool:
    try:
        _use_totp(factor, _digits(code))
    except ValidationError:
        return False
    return True


def _password_matches(user: User, password: str) -> bool:
    return bool(user.password_hash) and check_password_hash(user.password_hash, password or "")


def _matching_step(secret: str, digits: str, now: float | None = None) -> int | None:
    if len(digits) != 6:
        return None
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    current = int((now if now is not None else time.time()) // STEP_SECONDS)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), digits):
            return step
    return None


def _digits(code: str) -> str:
    return "".join(ch for ch in (code or "")[:MAX_CODE_INPUT] if ch in "0123456789")


def _recovery_form(code: str) -> str:
    """Recovery codes are compared without dashes, spaces or case."""
    return "".join(ch for ch in (code or "")[:MAX_CODE_INPUT].upper() if ch.isascii() and ch.isalnum())


def _keyed_hash(value: str) -> str:
    key = hashlib.sha256(f"laurel-mfa:{current_app.config['SECRET_KEY']}".encode()).digest()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


# --------------------------------------------------------------------------------------------
# Remembered devices
# --------------------------------------------------------------------------------------------


def remember_device(user: User) -> tuple[str, int]:
    """A new device token (for the cookie) and how many days it lasts; raises if the org allows none."""
    days = policy().remember_days
    if days <= 0:
        raise NotAllowed("This organisation does not remember devices.")
    token = secrets.token_urlsafe(32)
    db.session.add(RememberedDevice(user_id=user.id, token_hash=_keyed_hash(f"device:{token}"),
                                    expires_at=utcnow() + timedelta(days=days)))
    db.session.flush()
    audit.record(user, "user.device_remembered", "user", user.id, f"Device remembered for {days} days")
    return token, days


def device_is_remembered(user: User, token: str | None) -> bool:
    """Is this cookie's device still remembered for this user (not expired, not revoked, policy on)?"""
    days = policy().remember_days
    if not token or days <= 0 or len(token) > 100:
        return False
    device = db.session.scalar(select(RememberedDevice).where(
        RememberedDevice.token_hash == _keyed_hash(f"device:{token}"), RememberedDevice.user_id == user.id))
    now = utcnow()
    # The policy may have been shortened since: the shorter of the two lifetimes wins.
    if device is None or device.expires_at <= now or device.created_at + timedelta(days=days) <= now:
        return False
    device.last_used_at = now
    return True


def forget_devices(user: User) -> None:
    """Every remembered device of this user asks for the second factor again."""
    db.session.execute(delete(RememberedDevice).where(RememberedDevice.user_id == user.id))


def remembered_devices(user: User) -> int:
    return db.session.scalar(select(func.count()).select_from(RememberedDevice).where(
        RememberedDevice.user_id == user.id, RememberedDevice.expires_at > utcnow()))


# --------------------------------------------------------------------------------------------
# Admin reset
# --------------------------------------------------------------------------------------------


def reset_mfa(user: User, *, actor: audit.Actor) -> None:
    """Remove every second factor of `user` (lost phone) and end their sessions."""
    locking.hold(user)
    db.session.execute(delete(TotpFactor).where(TotpFactor.user_id == user.id))
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.execute(delete(Passkey).where(Passkey.user_id == user.id))
    forget_devices(user)
    sessions.end_all(user, reason="mfa_reset", actor=actor)  # every session and remember cookie
    audit.record(actor, "user.mfa_reset", "user", user.id, f"Two-factor sign-in reset for {user.email}")
