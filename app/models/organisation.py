"""The organisation's branding, edited on Admin › Settings: one row (id 1), or none (the defaults)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.database import utcnow
from app.extensions import db


class OrganisationSettings(db.Model):
    """Name, logo, colour and "about" line shown on public pages, the login page and emails.

    Empty values fall back to the environment (ORG_NAME) or the built-in defaults. `version` goes up on
    every save: it is in the URLs of /branding.css and the logo, so browsers may cache them for good.
    """

    __tablename__ = "organisation_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    about: Mapped[str] = mapped_column(String(200), default="")
    colour: Mapped[str] = mapped_column(String(7), default="")
    logo_key: Mapped[str | None] = mapped_column(String(255))
    version: Mapped[int] = mapped_column(default=1)
    # Sign-in policy (Admin › Sign-in): non-admins must use single sign-on; admins keep /login?local=1.
    sso_only: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
