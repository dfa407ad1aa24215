"""A student's attempts at a module: answers saved as they go, the score when submitted."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.orm.collections import attribute_keyed_dict

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
        # Also the index of a student's attempts through a link (or anywhere).
        UniqueConstraint("user_id", "resource_link_id", "number"),
        # The class view sums a course's attempts by link from this index alone, never
        # reading the rows (whose answers make them long: on SQLite, pages of overflow).
        Index("ix_attempt_class_view", "resource_link_id", "user_id", "status", "module_id",
              "module_version", "number", "percent", "pending_manual", "submitted_at",
              "updated_at", "created_at"),
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
    answers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    confidence_before: Mapped[dict[str, Any]] = mapped_column(default=dict)
    confidence_after: Mapped[dict[str, Any]] = mapped_column(default=dict)
    marks: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None]
    points: Mapped[float | None] = mapped_column(Float)
    max_points: Mapped[float | None] = mapped_column(Float)
    percent: Mapped[float | None] = mapped_column(Float)
    passed: Mapped[bool | None]
    pending_manual: Mapped[bool] = mapped_column(default=False)
    element_points: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Raised on every change: a save based on an older read fails instead of overwriting
    # (two tabs, a double click, two markers at once).
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    user: Mapped[LtiUser] = relationship()
    resource_link: Mapped[ResourceLink] = relationship()
    # What the attempt evidences per element, kept in step with the score (answers.rescore).
    element_scores: Mapped[dict[str, AttemptElementScore]] = relationship(
        collection_class=attribute_keyed_dict("element"), cascade="all, delete-orphan",
        passive_deletes=True, back_populates="attempt")

    __mapper_args__ = {"version_id_col": version}

    @property
    def seed(self) -> str:
        """What orders this attempt's options and choices (same in every view)."""
        return f"attempt-{self.id}"


class AttemptElementScore(Base):
    """Points a submitted attempt evidences for one DCS element, written whenever it is scored.

    Reflections awaiting their mark are left out (as the profile leaves them out), so the class
    view adds these up in SQL instead of re-scoring answers on every page view.
    """

    __tablename__ = "attempt_element_score"
    # Rows kept in primary-key order on SQLite: an attempt's figures are one lookup away.
    __table_args__ = {"sqlite_with_rowid": False}

    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id", ondelete="CASCADE"),
                                            primary_key=True)
    element: Mapped[str] = mapped_column(String(100), primary_key=True)
    earned: Mapped[float] = mapped_column(Float)
    possible: Mapped[float] = mapped_column(Float)

    attempt: Mapped[Attempt] = relationship(back_populates="element_scores")


class CourseElementTotal(Base):
    """A student's points for one DCS element across a course: the sum over the attempt that
    counts per module (the best, as the course's class view counts), kept in the transaction
    that changes an attempt's figures (lti_tool.attempts.totals).
    """

    __tablename__ = "course_element_total"
    __table_args__ = {"sqlite_with_rowid": False}  # a course's rows together, in key order

    context_id: Mapped[int] = mapped_column(ForeignKey("context.id", ondelete="CASCADE"),
                                            primary_key=True)
    # Indexed for the cascade when a user is deleted (a registration's removal deletes many).
    user_id: Mapped[int] = mapped_column(ForeignKey("lti_user.id", ondelete="CASCADE"),
                                         primary_key=True, index=True)
    element: Mapped[str] = mapped_column(String(100), primary_key=True)
    earned: Mapped[float] = mapped_column(Float)
    possible: Mapped[float] = mapped_column(Float)
    # Whether a reflection of a counted attempt still waits for its mark.
    pending: Mapped[bool]
