"""Integrations: outgoing webhooks, incoming hooks and sync sources, with their logs and deliveries.

Secrets are never stored in clear: credentials and signing secrets are SecretBox tokens
(app.connectors.crypto); only a masked hint (last 4 characters) is kept readable.
Deleting an integration is soft (`deleted_at`): its logs, deliveries and runs stay as history.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import utcnow
from app.extensions import db

INTEGRATION_TYPES = ("generic_webhook", "slack", "teams", "discord",
                     "moodle", "incoming", "sql", "file_drop", "pdf_export")
OUTGOING_TYPES = ("generic_webhook", "slack", "teams", "discord")
CHAT_TYPES = ("slack", "teams", "discord")  # post to the webhook_url secret in their own message format
SYNC_TYPES = ("moodle", "sql", "file_drop")
EXPORT_STATUSES = ("pending", "exported", "failed")
DELIVERY_STATUSES = ("pending", "delivering", "delivered", "failed", "gave_up")
LOG_LEVELS = ("debug", "info", "warning", "error")
RUN_STATUSES = ("running", "succeeded", "partial", "failed", "skipped")


class Integration(db.Model):
    __tablename__ = "integrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(20), index=True)
    name: Mapped[str] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(default=False)
    # Non-secret settings: url, site_url, company_id, query, folder, header_name, username, token_url ...
    config: Mapped[dict] = mapped_column(JSON, default=dict)
    auth_type: Mapped[str] = mapped_column(String(16), default="none")
    # SecretBox token of a JSON object {api_key, token, password, client_secret, moodle_token, database_url}
    credentials_encrypted: Mapped[str | None] = mapped_column(Text)
    credential_hints: Mapped[dict] = mapped_column(JSON, default=dict)  # name -> "••••abcd"
    event_types: Mapped[list] = mapped_column(JSON, default=list)
    condition_certification_id: Mapped[int | None] = mapped_column(
        ForeignKey("certifications.id", ondelete="SET NULL")
    )
    condition_department: Mapped[str | None] = mapped_column(String(120))
    signing_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    signing_secret_hint: Mapped[str | None] = mapped_column(String(16))
    previous_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    previous_secret_until: Mapped[datetime | None]
    incoming_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    sync_every_minutes: Mapped[int | None]
    cursor: Mapped[dict | None] = mapped_column(JSON)
    last_run_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None]
    failing_since: Mapped[datetime | None]
    disabled_reason: Mapped[str | None] = mapped_column(String(500))
    deleted_at: Mapped[datetime | None] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (Index("ix_integrations_active_type", "active", "type"),)

    @property
    def is_outgoing(self) -> bool:
        return self.type in OUTGOING_TYPES

    @property
    def is_sync(self) -> bool:
        return self.type in SYNC_TYPES

    @property
    def status(self) -> str:
        """deleted | inactive | failing | active (derived, for lists and health)."""
        if self.deleted_at is not None:
            return "deleted"
        if not self.active:
            return "inactive"
        if self.failing_since is not None or (
            self.last_error_at and (self.last_success_at is None or self.last_error_at > self.last_success_at)
        ):
            return "failing"
        return "active"

    def __repr__(self) -> str:
        return f"<Integration {self.id} {self.type} {self.name!r}>"


class IntegrationLog(db.Model):
    __tablename__ = "integration_logs"

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("integrations.id", ondelete="CASCADE"))
    level: Mapped[str] = mapped_column(String(10), default="info")
    message: Mapped[str] = mapped_column(String(1000))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_integration_logs_integration_at", "integration_id", "at"),)


class WebhookEvent(db.Model):
    """One lifecycle event as sent: the id is the `webhook-id` on every attempt to every endpoint."""

    __tablename__ = "webhook_events"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # evt_<hex>
    type: Mapped[str] = mapped_column(String(60), index=True)
    payload: Mapped[dict] = mapped_column(JSON)  # the envelope {"type", "timestamp", "data"}
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class WebhookDelivery(db.Model):
    """An event x an outgoing integration: the outbox row the delivery job works from."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("webhook_events.id", ondelete="CASCADE"))
    integration_id: Mapped[int] = mapped_column(ForeignKey("integrations.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempt: Mapped[int] = mapped_column(default=0)  # attempts made so far
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivering_since: Mapped[datetime | None]
    request_headers: Mapped[dict] = mapped_column(JSON, default=dict)
    request_body: Mapped[str | None] = mapped_column(Text)
    response_status: Mapped[int | None]
    response_body: Mapped[str | None] = mapped_column(Text)  # an excerpt
    duration_ms: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_attempt_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]

    event: Mapped[WebhookEvent] = relationship()
    integration: Mapped[Integration] = relationship()

    __table_args__ = (
        UniqueConstraint("event_id", "integration_id", name="uq_webhook_deliveries_event_integration"),
        Index("ix_webhook_deliveries_status_next", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_integration_created", "integration_id", "created_at"),
    )


class IncomingReceipt(db.Model):
    """A processed incoming webhook: the `webhook-id` and the SHA-256 of the signed content are unique per
    integration (idempotency and replay protection). Kept INCOMING_REPLAY_WINDOW_HOURS, then swept."""

    __tablename__ = "incoming_receipts"

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("integrations.id", ondelete="CASCADE"))
    webhook_id: Mapped[str] = mapped_column(String(200))
    event_type: Mapped[str] = mapped_column(String(60))
    result: Mapped[dict] = mapped_column(JSON, default=dict)
    # Hex SHA-256 of what the signature covers (GitHub: the body; Standard Webhooks: id.timestamp.body):
    # a replay under a new X-GitHub-Delivery id has the same content. NULL only on rows from before.
    content_hash: Mapped[str | None] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    __table_args__ = (
        UniqueConstraint("integration_id", "webhook_id", name="uq_incoming_receipts_webhook"),
        UniqueConstraint("integration_id", "content_hash", name="uq_incoming_receipts_content"),
    )


class SyncRun(db.Model):
    __tablename__ = "sync_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("integrations.id", ondelete="CASCADE"))
    trigger: Mapped[str] = mapped_column(String(16), default="schedule")  # schedule | manual | test
    status: Mapped[str] = mapped_column(String(12), default="running")
    created: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    unchanged: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    message: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_sync_runs_integration_started", "integration_id", "started_at"),)


class ExportedPdf(db.Model):
    """A certificate's PDF copied by a "Certificate PDF export" integration: one row per pair.

    The outbox the export job works from (the database is the truth, Redis only carries the job):
    `pdf_key` is the stored version to copy; a regenerated PDF sets the new key and makes the row
    pending again, so the copy is overwritten under the same name.
    """

    __tablename__ = "exported_pdfs"

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("integrations.id", ondelete="CASCADE"))
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificates.id", ondelete="CASCADE"), index=True)
    pdf_key: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)  # attempts at the current pdf_key
    location: Mapped[str | None] = mapped_column(String(1000))  # where the copy was written
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)  # when the job is due
    exported_at: Mapped[datetime | None]

    integration: Mapped[Integration] = relationship()

    __table_args__ = (
        UniqueConstraint("integration_id", "certificate_id", name="uq_exported_pdfs_integration_certificate"),
        Index("ix_exported_pdfs_status_next", "status", "next_attempt_at"),
    )
