"""Erasing a person (an admin, confirming by typing their email): their personal data is replaced
everywhere, exactly once, and the erasure's own audit row names nobody.

What happens (docs/privacy.md says the same to admins):
- the user row: name "Erased person", email `erased-<random>@erased.invalid` (never mailed: .invalid),
  no password, deactivated, no department, learner, every session ended;
- deleted: sessions, API tokens, second factors and passkeys, single sign-on and SCIM links, the public
  profile, wallet exchanges, bell notifications, report subscriptions, management of departments,
  data exports (with their files);
- certificates: the holder in the frozen snapshot becomes "a person whose data was erased", sharing is
  switched off, the PDF is deleted and rendered again with that wording; per the privacy policy the
  certificate stays verifiable or is revoked;
- the mail log rows addressed to them lose address, subject and bodies; audit rows they acted in carry
  the pseudonym as actor; then `scrubbing.replace_everywhere` replaces name and addresses in every
  other text and JSON column of every table (audit details, other mail, webhook payloads, logs ...).
"""

from __future__ import annotations

import secrets

from sqlalchemy import delete, select, update

from app.extensions import db
from app.models import (
    ApiToken,
    AuditEvent,
    Certificate,
    DataExport,
    Erasure,
    Notification,
    OutboxEmail,
    Passkey,
    PublicProfile,
    RecoveryCode,
    RememberedDevice,
    ReportSubscription,
    ScimUser,
    TotpFactor,
    User,
    UserIdentity,
    UserSession,
    WalletExchange,
    department_managers,
)
from app.services import audit, events, locking
from app.services.documents import rendering
from app.services.errors import NotAllowed, ValidationError
from app.services.fields import isodate
from app.services.lifecycle import revocation
from app.services.privacy import exports, policy, scrubbing

ERASED_NAME = "Erased person"
ERASED_HOLDER = "A person whose data was erased"
ERASED_DOMAIN = "erased.invalid"
REVOKE_REASON = "The holder's personal data was erased."
OWN_ROWS = (UserSession, ApiToken, TotpFactor, RecoveryCode, RememberedDevice, Passkey, UserIdentity,
            ScimUser, PublicProfile, WalletExchange, Notification, ReportSubscription)


def is_erased(user: User) -> bool:
    return user.email.endswith("@" + ERASED_DOMAIN)


def erasure_of(user: User) -> Erasure | None:
    return db.session.scalar(select(Erasure).where(Erasure.user_id == user.id))


def erase(user: User, confirm: str, *, actor: User) -> Erasure:
    """Erase `user`'s personal data. `confirm` must be their email (any case). NotAllowed for oneself
    or a person already erased."""
    typed = (confirm or "").strip().casefold()[:300]
    if typed != user.email.casefold():
        raise ValidationError({"confirm": "Type the person's email address exactly, to confirm."})
    if user.id == actor.id:
        raise NotAllowed("You cannot erase yourself; ask another admin.")
    locking.hold(user)  # two admins at once: the second finds the erasure and is refused
    if erasure_of(user) is not None or is_erased(user):
        raise NotAllowed("This person's data has already been erased.")
    choice = policy.current().erased_certificates
    pseudonym = f"erased-{secrets.token_hex(8)}"
    address = f"{pseudonym}@{ERASED_DOMAIN}"
    needles = _needles(user)
    _delete_own_rows(user)
    _erase_user_row(user, address)  # first: mail the steps below queue goes to the .invalid address
    db.session.flush()
    certificate_count = _erase_certificates(user, address, choice, actor=actor)
    _erase_mail_and_audit(user, needles, pseudonym, address)
    scrubbing.replace_everywhere(
        {n: (address if "@" in n else ERASED_NAME) for n in needles})
    erasure = Erasure(user_id=user.id, pseudonym=pseudonym, certificate_policy=choice,
                      erased_by_id=actor.id)
    db.session.add(erasure)
    db.session.flush()
    audit.record(actor, "user.erased", "user", user.id, f"Personal data of {pseudonym} erased",
                 pseudonym=pseudonym, certificates=choice, certificate_count=certificate_count)
    events.emit("user.erased", {"id": user.id, "pseudonym": pseudonym, "certificates": choice,
                                "erased_at": isodate(erasure.erased_at)})
    return erasure


def _needles(user: User) -> set[str]:
    """The strings to find: the email, the name (when long enough to be unambiguous), and the addresses
    and user names single sign-on and SCIM knew them by."""
    found = {user.email, user.name.strip()}
    found |= {e for e in db.session.scalars(select(UserIdentity.email).where(UserIdentity.user_id == user.id))
              if e}
    found |= set(db.session.scalars(select(ScimUser.user_name).where(ScimUser.user_id == user.id)))
    return {n for n in found if n and ("@" in n or len(n) >= scrubbing.MIN_NAME_LENGTH)}


def _delete_own_rows(user: User) -> None:
    files = list(db.session.scalars(select(DataExport.storage_key).where(DataExport.user_id == user.id)))
    exports.delete_files(files)
    db.session.execute(delete(DataExport).where(DataExport.user_id == user.id))
    for model in OWN_ROWS:
        db.session.execute(delete(model).where(model.user_id == user.id))
    db.session.execute(delete(department_managers).where(department_managers.c.user_id == user.id))
    db.session.expire(user, ["managed_departments", "tokens"])


def _erase_certificates(user: User, address: str, choice: str, *, actor: User) -> int:
    certs = list(db.session.scalars(select(Certificate).where(Certificate.user_id == user.id)))
    old_files = [c.pdf_key for c in certs]
    for cert in certs:
        cert.snapshot = {**(cert.snapshot or {}), "holder_name": ERASED_HOLDER, "holder_email": address}
        cert.public = False
        cert.pdf_key = None  # the old file shows the name: deleted below, rendered again with the new one
        if choice == "revoke" and cert.revoked_at is None:
            revocation.revoke(cert, REVOKE_REASON, actor=actor)
        rendering.regenerate(cert, actor=actor)
    for key in old_files:
        rendering.discard(key)  # and its preview picture
    return len(certs)


def _erase_mail_and_audit(user: User, needles: set[str], pseudonym: str, address: str) -> None:
    addresses = [n for n in needles if "@" in n]
    theirs = (OutboxEmail.user_id == user.id) | OutboxEmail.to.in_(addresses)
    db.session.execute(update(OutboxEmail).where(theirs, OutboxEmail.status == "queued")  # never sent now
                       .values(status="failed", last_error="The recipient's data was erased.")
                       .execution_options(synchronize_session=False))
    db.session.execute(update(OutboxEmail).where(theirs)
        .values(to=address, subject="(erased)", text_body="", html_body="", attachments=[])
        .execution_options(synchronize_session=False))
    db.session.execute(update(AuditEvent).where(AuditEvent.actor_id == user.id).values(actor_label=pseudonym)
                       .execution_options(synchronize_session=False))


def _erase_user_row(user: User, address: str) -> None:
    user.name, user.email = ERASED_NAME, address
    user.password_hash = None
    user.active = False
    user.department_id = None
    user.reads_everything = False
    user.reminder_emails = False
    user.role = "learner"
    user.last_login_at = None
    user.session_version = (user.session_version or 1) + 1
