"""Single sign-on: identities linked to users, and the OpenID Connect providers admins configure."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import utcnow
from app.extensions import db
from app.models.user import User


class UserIdentity(db.Model):
    """One account at an identity provider linked to one Laurel user.

    `provider_key` names the provider ("oidc:<public id>", "saml:<public id>", "scim:<id>"); `subject` is
    the provider's stable id for the person (OIDC `sub`, SAML NameID). A (provider, subject) pair links to
    exactly one user; the email may change at the provider, the subject may not.
    """

    __tablename__ = "user_identities"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    provider_key: Mapped[str] = mapped_column(String(80))
    subject: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(254))  # as last seen at the provider (for admins)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()

    __table_args__ = (
        UniqueConstraint("provider_key", "subject", name="uq_user_identities_provider_subject"),
    )


class OidcProvider(db.Model):
    """An OpenID provider admins configured (Admin › Sign-in), or the one from OIDC_* variables.

    `public_id` is random and is the only id in public URLs (the callback). The client secret is stored
    encrypted with the app's secret box. `role_map` maps a group (from `group_claim`) to a Laurel role.
    """

    __tablename__ = "oidc_providers"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    label: Mapped[str] = mapped_column(String(80))
    issuer: Mapped[str] = mapped_column(String(500))
    client_id: Mapped[str] = mapped_column(String(255))
    client_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    scopes: Mapped[str] = mapped_column(String(255), default="openid email profile")
    create_accounts: Mapped[bool] = mapped_column(default=True)
    group_claim: Mapped[str] = mapped_column(String(80), default="groups")
    role_map: Mapped[dict] = mapped_column(db.JSON, default=dict)
    default_role: Mapped[str] = mapped_column(String(16), default="learner")
    department_claim: Mapped[str] = mapped_column(String(80), default="")
    # Link to an existing account by email even when the provider does not send email_verified=true
    # (some directories, e.g. Entra ID, vouch for their addresses without the claim).
    trust_email: Mapped[bool] = mapped_column(default=False)
    enabled: Mapped[bool] = mapped_column(default=True)
    from_environment: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def key(self) -> str:
        return f"oidc:{self.public_id}"


__all__ = ["OidcProvider", "UserIdentity"]
