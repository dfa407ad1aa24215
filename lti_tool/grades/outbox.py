"""What lecturers and administrators see of the outbox: status per student, lists, resending."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session, joinedload

from ..models import LtiUser
from ..models.base import utcnow
from ..models.grades import DeliveryStatus, GradeDelivery, LineItemLink
from ..numbers import when
from .scores import latest_delivery


class ResendRefused(Exception):
    """A delivery that cannot be resent; the message says why in plain words."""


@dataclass(frozen=True)
class DeliveryView:
    """Where a student's grade for a link stands, ready to show."""

    id: int
    status: DeliveryStatus
    score_given: float | None
    score_maximum: float
    grading_progress: str
    attempts: int
    delivered_at: datetime | None
    next_attempt_at: datetime
    explanation: str | None
    error_status: int | None

    @property
    def label(self) -> str:
        """One short sentence for a table cell."""
        return status_label(self.status, self.score_given, self.score_maximum,
                            self.grading_progress, self.attempts, self.delivered_at,
                            self.next_attempt_at, self.explanation)

    @property
    def value(self) -> str:
        """The status code, for CSS classes and filters."""
        return self.status.value


def status_label(status: DeliveryStatus | str, score_given: float | None, score_maximum: float,
                 grading_progress: str, attempts: int, delivered_at: datetime | None,
                 next_attempt_at: datetime, explanation: str | None) -> str:
    """Where a score stands, in one short sentence (DeliveryView.label; the class view calls
    it for every student and link, so it builds no object; ``status`` may be the stored text)."""
    score = (f"{_number(score_given)} of {_number(score_maximum)}"
             if score_given is not None else "progress only")
    pending_mark = " (awaiting marking)" if grading_progress == "PendingManual" else ""
    if status == DeliveryStatus.DELIVERED:
        sent_on = f" on {when(delivered_at)}" if delivered_at else ""
        return f"Sent to the gradebook{sent_on}: {score}{pending_mark}"
    if status == DeliveryStatus.FAILED_PERMANENT:
        return f"Not sent: {explanation or 'the VLE refused it'}"
    if attempts:
        return (f"Waiting to be sent ({score}{pending_mark}); tried {attempts} "
                f"time(s), next try {when(next_attempt_at)}. "
                f"{explanation or ''}").strip()
    return f"Waiting to be sent: {score}{pending_mark}"


def view(row: GradeDelivery) -> DeliveryView:
    """A row as the views show it."""
    return DeliveryView(id=row.id, status=row.status, score_given=row.score_given,
                        score_maximum=row.score_maximum,
                        grading_progress=row.grading_progress, attempts=row.attempts,
                        delivered_at=row.delivered_at, next_attempt_at=row.next_attempt_at,
                        explanation=row.last_error_explanation,
                        error_status=row.last_error_status)


def delivery_status(session: Session, user_id: int, link_id: int) -> DeliveryView | None:
    """The latest score for a student and link and what became of it; None if none queued."""
    row = latest_delivery(session, user_id, link_id)
    return view(row) if row is not None else None


def list_deliveries(session: Session, *, failed_only: bool = False, link_id: int | None = None,
                    limit: int = 200) -> list[GradeDelivery]:
    """Deliveries, newest first, with their student and link loaded."""
    query = select(GradeDelivery).options(
        joinedload(GradeDelivery.user), joinedload(GradeDelivery.resource_link)).order_by(
        GradeDelivery.id.desc()).limit(limit)
    if failed_only:
        query = query.where(GradeDelivery.status == DeliveryStatus.FAILED_PERMANENT)
    if link_id is not None:
        query = query.where(GradeDelivery.resource_link_id == link_id)
    return list(session.scalars(query))


def resend(session: Session, delivery_id: int, now: datetime | None = None) -> GradeDelivery:
    """Send a refused (or waiting) score again, now, after someone fixed the cause."""
    row = session.get(GradeDelivery, delivery_id)
    if row is None:
        raise ResendRefused(f"There is no grade delivery {delivery_id}.")
    if row.status == DeliveryStatus.DELIVERED:
        raise ResendRefused(f"Grade delivery {delivery_id} was already delivered.")
    latest = latest_delivery(session, row.user_id, row.resource_link_id)
    if row.status == DeliveryStatus.SUPERSEDED or (latest is not None and latest.id != row.id):
        raise ResendRefused(f"Grade delivery {delivery_id} was replaced by a newer score "
                            f"({latest.id if latest else '?'}); resend that one instead.")
    now = now or utcnow()
    if row.last_error_status == 404:
        # The column was deleted: find or create it afresh rather than repeat the 404.
        session.execute(delete(LineItemLink).where(
            LineItemLink.resource_link_id == row.resource_link_id))
    # The link's current line item (a later launch may have brought a new one) is used.
    row.lineitem_url = None
    row.status = DeliveryStatus.PENDING
    row.next_attempt_at = now
    row.updated_at = now
    session.flush()
    return row


def _number(value: float | None) -> str:
    """12.0 -> '12', 12.5 -> '12.5'."""
    if value is None:
        return "-"
    return f"{value + 0.0:.2f}".rstrip("0").rstrip(".")  # + 0.0: a stored -0.0 reads "0"


# How long after a failed delivery the web side stops trying its VLE inline (the worker goes on).
BREAKER_SECONDS = 120


def platform_failing(session: Session, user_id: int, now: datetime | None = None) -> bool:
    """Whether this user's VLE failed a delivery recently (timeout, 5xx, 429), so a submit
    should not wait on it: one slow VLE must not make every student's submit slow."""
    now = now or utcnow()
    since = now - timedelta(seconds=BREAKER_SECONDS)
    registration = select(LtiUser.registration_id).where(LtiUser.id == user_id).scalar_subquery()
    # A row backing off after a failure; a resent one is due again and does not count.
    return bool(session.scalar(select(exists().where(
        GradeDelivery.user_id == LtiUser.id, LtiUser.registration_id == registration,
        GradeDelivery.status == DeliveryStatus.PENDING, GradeDelivery.next_attempt_at > now,
        GradeDelivery.last_error_explanation.is_not(None), GradeDelivery.updated_at > since))))
