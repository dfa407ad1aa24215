"""Deep linking responses the tool has sent, and the sandbox platform's deep-linked activities."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, CreatedMixin, utcnow
from .lti import Launch


class DeepLinkResponse(Base):
    """The answer to one deep linking request; one per launch, so a replayed picker sends nothing."""

    __tablename__ = "deep_link_response"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Unique: of two racing submissions of the same picker, the database lets one through.
    launch_id: Mapped[str] = mapped_column(
        ForeignKey("launch.id", ondelete="CASCADE"), unique=True)
    content_items: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)

    launch: Mapped[Launch] = relationship()


class SandboxLink(CreatedMixin, Base):
    """An activity the sandbox platform created from a deep linking response (demo only)."""

    __tablename__ = "sandbox_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The resource link id the sandbox sends in launches of this activity.
    resource_link_id: Mapped[str] = mapped_column(String(255), unique=True)
    title: Mapped[str] = mapped_column(String(500))
    text: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str] = mapped_column(String(1000))
    custom: Mapped[dict[str, Any]] = mapped_column(default=dict)
    line_item: Mapped[dict[str, Any] | None]
