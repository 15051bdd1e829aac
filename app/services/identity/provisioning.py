"""From an identity a provider vouches for to a Laurel user: link, create just in time, or refuse.

Every single sign-on (OIDC, SAML) ends here, so the rules are the same whichever protocol the person
came through:

1. an identity already linked (provider + subject) signs in as its user;
2. else an existing account with the same email is linked, but only when the provider vouches for the
   email (OIDC `email_verified`, or an admin marked the provider trusted for email): an unverified
   address would let anyone who controls a provider account take over a Laurel account;
3. else, with just-in-time accounts on, a new account is created: role from the group mapping,
   department from the department claim; with it off, the person is refused;
4. deactivated users are refused whichever way they matched.

Each step writes an audit row. The caller (the view) then signs the user in and commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import select

from app.database import utcnow
from app.extensions import db
from app.models import ROLES, User
from app.models.identity import UserIdentity
from app.services import audit
from app.services.accounts import departments, users
from app.services.errors import NotAllowed, ValidationError

# When several of a person's groups map to roles, the most capable one wins.
ROLE_RANK = ("admin", "manager", "staff", "learner")
MAX_SUBJECT = 255
MAX_NAME = 200
MAX_GROUPS = 200  # a token with more groups is still accepted; only these are looked at


@dataclass(frozen=True)
class ExternalIdentity:
    provider_key: str  # "oidc:<public id>", "saml:<public id>"
    subject: str
    email: str | None
    email_verified: bool
    name: str | None
    groups: tuple[str, ...] = ()
    department: str | None = None


@dataclass(frozen=True)
class ProvisioningPolicy:
    create_accounts: bool  # just-in-time accounts on first sign-in
    role_for_group: Mapping[str, str] = field(default_factory=dict)
    default_role: str = "learner"
    department_attribute: bool = True  # take the department from the identity


REFUSED_DEACTIVATED = "Your Laurel account is deactivated. Ask an administrator to reactivate it."
REFUSED_NO_ACCOUNT = ("There is no Laurel account for you yet, and accounts are not created on "
                      "sign-in here. Ask an administrator to invite you.")
REFUSED_UNVERIFIED = ("Your identity provider did not confirm your email address, so it cannot be "
                      "matched to a Laurel account. Ask an administrator.")
REFUSED_NO_EMAIL = "Your identity provider did not send an email address, which Laurel needs."
REFUSED_BAD_SUBJECT = "Your identity provider sent an identity Laurel cannot use."


def sign_in_user(identity: ExternalIdentity, policy: ProvisioningPolicy, *, actor_label: str) -> User:
    """The user this identity signs in as (linked or created here), or NotAllowed with a message for the
    login page. Flushes; the caller commits (also after a refusal: the refusal is audited)."""
    _check_subject(identity)
    link = _linked(identity)
    if link is not None:
        user = link.user
        _refuse_inactive(user, identity, actor_label)
        link.last_login_at = utcnow()
        link.email = _clean_email(identity.email) or link.email
    else:
        user = _link_or_create(identity, policy, actor_label)
    if policy.department_attribute and identity.department:
        _apply_department(user, identity.department, actor_label)
    return user


def _check_subject(identity: ExternalIdentity) -> None:
    subject = identity.subject or ""
    if not subject or len(subject) > MAX_SUBJECT or not subject.isprintable():
        raise NotAllowed(REFUSED_BAD_SUBJECT)


def _linked(identity: ExternalIdentity) -> UserIdentity | None:
    return db.session.scalar(select(UserIdentity).where(UserIdentity.provider_key == identity.provider_key,
                                                        UserIdentity.subject == identity.subject))


def _clean_email(raw: str | None) -> str | None:
    if not raw:
        return None
    try:
        return users.normalise_email(raw)
    except ValidationError:
        return None


def _link_or_create(identity: ExternalIdentity, policy: ProvisioningPolicy, actor_label: str) -> User:
    email = _clean_email(identity.email)
    existing = users.find_by_email(email) if email else None
    if existing is not None:
        if not identity.email_verified:
            _audit_refusal(actor_label, identity, "unverified email matches an existing account", existing)
            raise NotAllowed(REFUSED_UNVERIFIED)
        _refuse_inactive(existing, identity, actor_label)
        _link(existing, identity, email, actor_label, "linked by verified email")
        return existing
    if not policy.create_accounts:
        _audit_refusal(actor_label, identity, "no account and just-in-time accounts are off")
        raise NotAllowed(REFUSED_NO_ACCOUNT)
    if email is None:
        _audit_refusal(actor_label, identity, "no usable email")
        raise NotAllowed(REFUSED_NO_EMAIL)
    if not identity.email_verified:
        # A new account would claim an address nobody proved to own: the real owner's later password
        # reset would open an account an outsider can also enter through the provider.
        _audit_refusal(actor_label, identity, "unverified email for a new account")
        raise NotAllowed(REFUSED_UNVERIFIED)
    user = users.create_user(email, _display_name(identity, email), role_for(identity.groups, policy),
                             actor=actor_label)
    _link(user, identity, email, actor_label, "account created on first sign-in")
    return user


def role_for(groups: tuple[str, ...], policy: ProvisioningPolicy) -> str:
    """The most capable role any of the groups maps to, else the policy's default role."""
    mapped = {policy.role_for_group[g] for g in groups[:MAX_GROUPS] if g in policy.role_for_group}
    known = [role for role in ROLE_RANK if role in mapped and role in ROLES]
    if known:
        return known[0]
    return policy.default_role if policy.default_role in ROLES else "learner"


def _display_name(identity: ExternalIdentity, email: str) -> str:
    name = "".join(ch for ch in (identity.name or "") if ch.isprintable()).strip()[:MAX_NAME]
    return name or email.split("@", 1)[0]


def _link(user: User, identity: ExternalIdentity, email: str | None, actor_label: str, how: str) -> None:
    db.session.add(UserIdentity(user=user, provider_key=identity.provider_key, subject=identity.subject,
                                email=email, last_login_at=utcnow()))
    db.session.flush()
    audit.record(actor_label, "user.identity_linked", "user", user.id,
                 f"{identity.provider_key} identity linked to {user.email} ({how})",
                 provider=identity.provider_key, subject=identity.subject, how=how)


def _refuse_inactive(user: User, identity: ExternalIdentity, actor_label: str) -> None:
    if not user.active:
        _audit_refusal(actor_label, identity, "account deactivated", user)
        raise NotAllowed(REFUSED_DEACTIVATED)


def _audit_refusal(actor_label: str, identity: ExternalIdentity, reason: str,
                   user: User | None = None) -> None:
    audit.record(actor_label, "user.sso_refused", "user", user.id if user else None,
                 f"Single sign-on refused: {reason}", provider=identity.provider_key,
                 subject=identity.subject[:MAX_SUBJECT], reason=reason)


def _apply_department(user: User, name: str, actor_label: str) -> None:
    """Membership of the claimed department (created when new); an unusable name is ignored (the
    sign-in still works, the department stays as it was)."""
    try:
        department = departments.find_or_create(name, actor=actor_label)
    except ValidationError:
        return
    departments.assign(user, department, actor=actor_label)


__all__ = ["ExternalIdentity", "ProvisioningPolicy", "role_for", "sign_in_user"]
