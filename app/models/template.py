"""Certificate documents: admin-designed templates, their images, and bulk PDF exports."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import utcnow
from app.extensions import db

PAGE_SIZES = ("A4", "Letter")
ORIENTATIONS = ("landscape", "portrait")
#: What an uploaded image is for: each maps to the placeholder of the same name + "_url".
ASSET_ROLES = ("logo", "signature", "background")
EXPORT_STATUSES = ("queued", "running", "ready", "failed")


class CertificateTemplate(db.Model):
    """HTML (sandboxed Jinja) + CSS, maybe compiled from a design; at most one is the default."""

    __tablename__ = "certificate_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    html: Mapped[str] = mapped_column(Text)
    css: Mapped[str] = mapped_column(Text, default="")
    page_size: Mapped[str] = mapped_column(String(10), default="A4")
    orientation: Mapped[str] = mapped_column(String(10), default="landscape")
    is_default: Mapped[bool] = mapped_column(default=False, index=True)
    #: The visual designer's elements (JSON, app/documents/design_schema.py), compiled into html/css
    #: on every save; None for a template written (or detached into) plain code.
    design: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    assets: Mapped[list[TemplateAsset]] = relationship(
        back_populates="template", cascade="all, delete-orphan", order_by="TemplateAsset.role")

    def asset(self, role: str) -> TemplateAsset | None:
        return next((a for a in self.assets if a.role == role), None)

    def __repr__(self) -> str:
        return f"<CertificateTemplate {self.name}>"


class TemplateAsset(db.Model):
    """An uploaded image (PNG/JPEG) in storage; one per template and role."""

    __tablename__ = "template_assets"

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("certificate_templates.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int]
    # Never reused: a replaced image gets a new key, so caches keyed by it stay correct.
    storage_key: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    template: Mapped[CertificateTemplate] = relationship(back_populates="assets")

    __table_args__ = (UniqueConstraint("template_id", "role", name="uq_template_assets_template_role"),)


class PdfExport(db.Model):
    """A bulk ZIP of every PDF of a certification, built by a job; progress lives here."""

    __tablename__ = "pdf_exports"

    id: Mapped[int] = mapped_column(primary_key=True)
    certification_id: Mapped[int] = mapped_column(ForeignKey("certifications.id", ondelete="CASCADE"))
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[int] = mapped_column(default=0)  # certificates without a ready PDF
    storage_key: Mapped[str | None] = mapped_column(String(200))
    size: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_pdf_exports_certification_created", "certification_id", "created_at"),)

    @property
    def percent(self) -> int:
        return 100 if not self.total and self.status == "ready" else int(100 * self.done / max(self.total, 1))
