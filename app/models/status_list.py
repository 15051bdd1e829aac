"""Each certificate's place in a Bitstring Status List: (list number, index), assigned at random."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.database import utcnow
from app.extensions import db


class StatusListEntry(db.Model):
    """One per certificate. The index is random within its list (position tells nothing: not the
    issue order, not the learner), and unique within it: the constraint, not a lock, keeps two
    concurrent assignments apart."""

    __tablename__ = "status_list_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificates.id", ondelete="CASCADE"),
                                                unique=True)
    list_number: Mapped[int]  # 1, 2, ...: /credentials/status/<list_number>
    list_index: Mapped[int]  # 0 .. LIST_SIZE - 1
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("list_number", "list_index", name="uq_status_list_entries_list_index"),
    )
