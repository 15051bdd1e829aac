"""SAML 2 single sign-on: the identity providers admins configure, our own key pair, the assertions used.

The public id (random) names a provider in its URLs (/sso/saml/<public_id>/...): no guessable ids.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.database import utcnow
from app.extensions import db


class SamlProvider(db.Model):
    __tablename__ = "saml_providers"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    label: Mapped[str] = mapped_column(String(80))
    idp_entity_id: Mapped[str] = mapped_column(String(500))
    idp_metadata: Mapped[str] = mapped_column(Text)
    metadata_url: Mapped[str | None] = mapped_column(String(500))  # where it was fetched from, if it was
    sso_url: Mapped[str] = mapped_column(String(500))
    slo_url: Mapped[str | None] = mapped_column(String(500))
    create_accounts: Mapped[bool] = mapped_column(default=True)  # just-in-time accounts on first login
    email_attribute: Mapped[str] = mapped_column(String(200), default="")  # empty: the NameID
    name_attribute: Mapped[str] = mapped_column(String(200), default="")
    groups_attribute: Mapped[str] = mapped_column(String(200), default="")
    department_attribute: Mapped[str] = mapped_column(String(200), default="")
    role_for_group: Mapped[dict] = mapped_column(JSON, default=dict)  # group -> role
    default_role: Mapped[str] = mapped_column(String(16), default="learner")  # when no group maps
    # The IdP verifies the addresses it asserts: an SSO login may then link to an existing account.
    trust_email: Mapped[bool] = mapped_column(default=False)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def key(self) -> str:
        """How identities, sessions and the audit name this provider (as OidcProvider.key does)."""
        return f"saml:{self.public_id}"


class SamlServiceKey(db.Model):
    """Our signing key pair, made once: one row named "default" (unique, so two first logins at once
    cannot both make one)."""

    __tablename__ = "saml_service_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(20), unique=True, default="default")
    private_key: Mapped[str] = mapped_column(Text)  # PKCS#8 PEM encrypted with app.services.secrets
    certificate_pem: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SamlAssertionUse(db.Model):
    """An assertion that signed someone in, kept until its NotOnOrAfter: the same one again is a replay.

    In the database rather than Redis: a Redis flush or restart must not reopen the replay window.
    """

    __tablename__ = "saml_assertion_uses"
    __table_args__ = (UniqueConstraint("provider_id", "assertion_id",
                                       name="uq_saml_assertion_uses_provider_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("saml_providers.id", ondelete="CASCADE"))
    assertion_id: Mapped[str] = mapped_column(String(256))
    expires_at: Mapped[datetime] = mapped_column(index=True)
