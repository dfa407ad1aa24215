"""The lecturer's side: a course's class list from the platform and the marks given to reflections."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .learning import Attempt
from .lti import Context, LtiUser


class RosterMember(Base):
    """One member of a course as the platform's Names and Role Provisioning Service listed them.

    A cache: replaced as a whole on every fetch, so people who never launched the tool can be
    shown beside those who did (matched on the registration's `sub`).
    """

    __tablename__ = "roster_member"
    __table_args__ = (UniqueConstraint("context_id", "user_sub"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Indexed by the unique constraint above.
    context_id: Mapped[int] = mapped_column(ForeignKey("context.id", ondelete="CASCADE"))
    user_sub: Mapped[str] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(255))
    given_name: Mapped[str | None] = mapped_column(String(255))
    family_name: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    roles: Mapped[list[str]] = mapped_column(default=list)  # full role URIs
    status: Mapped[str] = mapped_column(String(20), default="Active")
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)

    context: Mapped[Context] = relationship()


class ReflectionMark(Base):
    """Who marked one reflection of an attempt, when, and their comment (the marks are on the attempt)."""

    __tablename__ = "reflection_mark"
    __table_args__ = (UniqueConstraint("attempt_id", "activity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Indexed by the unique constraint above.
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id", ondelete="CASCADE"))
    activity_id: Mapped[str] = mapped_column(String(100))
    marker_id: Mapped[int | None] = mapped_column(
        ForeignKey("lti_user.id", ondelete="SET NULL"))
    comment: Mapped[str] = mapped_column(Text, default="")
    marked_at: Mapped[datetime] = mapped_column(default=utcnow)

    attempt: Mapped[Attempt] = relationship()
    marker: Mapped[LtiUser | None] = relationship()
