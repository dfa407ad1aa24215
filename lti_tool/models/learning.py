"""A student's attempts at a module: answers saved as they go, the score when submitted."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, CreatedMixin, str_enum, utcnow
from .lti import LtiUser, ResourceLink


class AttemptStatus(str, enum.Enum):
    """Where an attempt is in its life."""

    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"


class Attempt(CreatedMixin, Base):
    """One go at one module version through one link; `answers` are saved on every step."""

    __tablename__ = "attempt"
    __table_args__ = (
        UniqueConstraint("user_id", "resource_link_id", "number"),
        Index("ix_attempt_user_link", "user_id", "resource_link_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("lti_user.id", ondelete="CASCADE"))
    resource_link_id: Mapped[int] = mapped_column(
        ForeignKey("resource_link.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(default=1)
    module_id: Mapped[str] = mapped_column(String(100))
    # The version (and exact content digest) the attempt was taken on: a newer version of the
    # module never rewrites this attempt's score.
    module_version: Mapped[str] = mapped_column(String(50))
    module_digest: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[AttemptStatus] = mapped_column(
        str_enum(AttemptStatus),
        default=AttemptStatus.IN_PROGRESS)
    position: Mapped[int] = mapped_column(default=0)
    answers: Mapped[dict] = mapped_column(default=dict)
    confidence_before: Mapped[dict] = mapped_column(default=dict)
    confidence_after: Mapped[dict] = mapped_column(default=dict)
    marks: Mapped[dict] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None]
    points: Mapped[float | None] = mapped_column(Float)
    max_points: Mapped[float | None] = mapped_column(Float)
    percent: Mapped[float | None] = mapped_column(Float)
    passed: Mapped[bool | None]
    pending_manual: Mapped[bool] = mapped_column(default=False)
    element_points: Mapped[dict] = mapped_column(default=dict)
    # Raised on every change: a save based on an older read fails instead of overwriting
    # (two tabs, a double click, two markers at once).
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    user: Mapped[LtiUser] = relationship()
    resource_link: Mapped[ResourceLink] = relationship()

    __mapper_args__ = {"version_id_col": version}

    @property
    def seed(self) -> str:
        """What orders this attempt's options and choices (same in every view)."""
        return f"attempt-{self.id}"
