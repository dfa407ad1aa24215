"""The sandbox platform's gradebook: its line items and the scores the tool sent it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, CreatedMixin


class SandboxLineItem(CreatedMixin, Base):
    """A grade column in the sandbox course."""

    __tablename__ = "sandbox_line_item"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    label: Mapped[str] = mapped_column(String(500))
    score_maximum: Mapped[float] = mapped_column(Float)
    resource_id: Mapped[str] = mapped_column(String(255), default="")
    resource_link_id: Mapped[str | None] = mapped_column(String(255))
    tag: Mapped[str] = mapped_column(String(255), default="")


class SandboxScore(Base):
    """One score the tool posted to a sandbox line item (all are kept, newest wins)."""

    __tablename__ = "sandbox_score"
    __table_args__ = (Index("ix_sandbox_score_item_user", "line_item_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    line_item_id: Mapped[str] = mapped_column(
        ForeignKey("sandbox_line_item.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(255))
    score_given: Mapped[float | None] = mapped_column(Float)
    score_maximum: Mapped[float | None] = mapped_column(Float)
    activity_progress: Mapped[str] = mapped_column(String(20))
    grading_progress: Mapped[str] = mapped_column(String(20))
    comment: Mapped[str | None] = mapped_column(Text)
    timestamp: Mapped[datetime]
    received_at: Mapped[datetime]

    line_item: Mapped[SandboxLineItem] = relationship()
