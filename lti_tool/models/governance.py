"""Data governance: the audit log of admin and lecturer actions, and each purge's record."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class AuditEvent(Base):
    """Who did what, to what, and when; only ever inserted (the app has no way to edit one).

    LTI people are named by their tool id (``user#17``), never by name, email or `sub`, so
    erasing a person needs no change here and the log still reads after an erasure.
    """

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_at", "at"),
                      Index("ix_audit_event_action", "action"))

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    # "admin:ann@uni.ac.uk", "lti:user#17" or "cli:root".
    actor: Mapped[str] = mapped_column(String(400))
    # A dotted name from governance.audit.ACTIONS, e.g. "deployment.status".
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(400), default="")
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    summary: Mapped[str] = mapped_column(Text, default="")
