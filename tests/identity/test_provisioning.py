"""Provisioning rules shared by every single sign-on: link, create just in time, refuse."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, User
from app.models.identity import UserIdentity
from app.services.errors import NotAllowed
from app.services.identity.provisioning import ExternalIdentity, ProvisioningPolicy, role_for, sign_in_user

JIT = ProvisioningPolicy(create_accounts=True, role_for_group={"teachers": "staff", "it": "admin"})
EXISTING_ONLY = ProvisioningPolicy(create_accounts=False)


def _identity(**overrides) -> ExternalIdentity:
    values = {"provider_key": "oidc:abc", "subject": "sub-1", "email": "New.Person@Example.com",
              "email_verified": True, "name": "New Person", "groups": (), "department": None}
    return ExternalIdentity(**{**values, **overrides})


def _actions() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_jit_creates_the_account_with_the_mapped_role_and_department():
    identity = _identity(groups=("teachers", "other"), department="Nursing")
    user = sign_in_user(identity, JIT, actor_label="oidc")
    db.session.commit()
    assert (user.email, user.name, user.role, user.department_ref.name) == \
        ("new.person@example.com", "New Person", "staff", "Nursing")
    assert "user.created" in _actions() and "user.identity_linked" in _actions()
    # The second sign-in finds the link by subject, even when the email changed at the provider.
    again = sign_in_user(_identity(email="renamed@example.com"), JIT, actor_label="oidc")
    assert again.id == user.id and db.session.scalar(select(UserIdentity.email)) == "renamed@example.com"


def test_verified_email_links_an_existing_account_and_unverified_is_refused(learner):
    with pytest.raises(NotAllowed, match="did not confirm"):
        sign_in_user(_identity(email="learner@example.com", email_verified=False), JIT, actor_label="oidc")
    assert db.session.scalar(select(UserIdentity)) is None
    user = sign_in_user(_identity(email="LEARNER@example.com"), JIT, actor_label="oidc")
    assert user.id == learner.id and user.role == "learner"  # an existing account keeps its role


def test_refusals_deactivated_no_jit_and_no_email(make_user):
    make_user("learner", email="gone@example.com", active=False)
    with pytest.raises(NotAllowed, match="deactivated"):
        sign_in_user(_identity(email="gone@example.com"), JIT, actor_label="oidc")
    with pytest.raises(NotAllowed, match="not created on sign-in"):
        sign_in_user(_identity(), EXISTING_ONLY, actor_label="oidc")
    with pytest.raises(NotAllowed, match="did not send an email"):
        sign_in_user(_identity(email=None), JIT, actor_label="oidc")
    with pytest.raises(NotAllowed, match="cannot use"):
        sign_in_user(_identity(subject="a\x00b"), JIT, actor_label="oidc")
    assert _actions().count("user.sso_refused") == 3
    assert db.session.scalar(select(User).where(User.email == "new.person@example.com")) is None


def test_role_for_picks_the_most_capable_mapped_role():
    assert role_for(("teachers", "it"), JIT) == "admin"
    assert role_for(("nobody",), JIT) == "learner"
    assert role_for((), ProvisioningPolicy(create_accounts=True, default_role="bogus")) == "learner"
