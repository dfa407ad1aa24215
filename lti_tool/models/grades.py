"""Grade passback: the outbox of scores for the VLE, cached service tokens and line items."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, CreatedMixin, str_enum, utcnow
from .learning import Attempt
from .lti import LtiUser, ResourceLink
from .platform import Registration


class DeliveryStatus(str, enum.Enum):
    """Where a score is on its way to the VLE's gradebook."""

    PENDING = "pending"
    DELIVERED = "delivered"
    # A newer score for the same student and link replaced it before it was sent.
    SUPERSEDED = "superseded"
    # The VLE refused it for a reason retrying cannot fix; someone must act, then resend.
    FAILED_PERMANENT = "failed_permanent"


class GradeDelivery(CreatedMixin, Base):
    """One score for one student's line item, written with the attempt and sent later.

    Rows are never deleted by the tool: the outbox is also the record of what the VLE got.
    """

    __tablename__ = "grade_delivery"
    __table_args__ = (
        Index("ix_grade_delivery_due", "status", "next_attempt_at"),
        # Ends in the order of "newest" (scores.latest_delivery): read from the end, no sort.
        Index("ix_grade_delivery_key", "user_id", "resource_link_id", "score_timestamp", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("lti_user.id", ondelete="CASCADE"))
    resource_link_id: Mapped[int] = mapped_column(
        ForeignKey("resource_link.id", ondelete="CASCADE"))
    attempt_id: Mapped[int | None] = mapped_column(
        ForeignKey("attempt.id", ondelete="SET NULL"), index=True)
    # Known from the launch claim, or filled in once found or created through the service.
    lineitem_url: Mapped[str | None] = mapped_column(String(1000))
    # What a line item should look like if the tool has to create one (label, tag, ...).
    lineitem_spec: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The score as AGS sends it; `score_timestamp` also orders scores of one student and link.
    score_given: Mapped[float | None] = mapped_column(Float)
    score_maximum: Mapped[float] = mapped_column(Float)
    activity_progress: Mapped[str] = mapped_column(String(20))
    grading_progress: Mapped[str] = mapped_column(String(20))
    score_timestamp: Mapped[datetime]
    comment: Mapped[str | None] = mapped_column(Text)
    status: Mapped[DeliveryStatus] = mapped_column(
        str_enum(DeliveryStatus),
        default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A worker's claim: while `lease_until` is in the future nobody else sends this row (or
    # any newer row for the same student and link, so the order of scores holds).
    lease_token: Mapped[str | None] = mapped_column(String(32))
    lease_until: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    last_error_status: Mapped[int | None]
    last_error_body: Mapped[str | None] = mapped_column(Text)
    last_error_explanation: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[LtiUser] = relationship()
    resource_link: Mapped[ResourceLink] = relationship()
    attempt: Mapped[Attempt | None] = relationship()

    def payload(self, user_id: str) -> dict[str, Any]:
        """The AGS score JSON for this row."""
        body = {"userId": user_id, "activityProgress": self.activity_progress,
                "gradingProgress": self.grading_progress,
                "timestamp": self.score_timestamp.isoformat(timespec="seconds"),
                "scoreMaximum": self.score_maximum}
        if self.score_given is not None:
            body["scoreGiven"] = self.score_given
        if self.comment:
            body["comment"] = self.comment
        return body


class ServiceToken(Base):
    """An OAuth2 access token for a registration's services, shared by every process.

    `lease_until` marks a token request in flight, so processes that need the same token
    wait for it instead of asking the platform again.
    """

    __tablename__ = "service_token"
    __table_args__ = (UniqueConstraint("registration_id", "scope_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("registration.id", ondelete="CASCADE"))
    # sha256 of the sorted scopes: the unique key stays short however many scopes there are.
    scope_key: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[str] = mapped_column(Text)
    access_token: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]
    fetched_at: Mapped[datetime | None]

    registration: Mapped[Registration] = relationship()


class LineItemLink(Base):
    """The line item the tool found or created for a link whose launches named none."""

    __tablename__ = "line_item_link"

    resource_link_id: Mapped[int] = mapped_column(
        ForeignKey("resource_link.id", ondelete="CASCADE"), primary_key=True)
    url: Mapped[str | None] = mapped_column(String(1000))
    # One process finds or creates the line item; the others wait, so no duplicate columns.
    lease_until: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
