"""A score that did not go: retry later with backoff, or stop and say what to change."""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, update

from ..models.grades import DeliveryStatus, GradeDelivery
from .ags import Conflict
from .claims import SessionFactory
from .errors import DeliveryError, transient
from .jobs import Job

log = logging.getLogger(__name__)

BACKOFF_BASE = 30.0
BACKOFF_CAP = 3600.0
RETRY_AFTER_CAP = 6 * 3600.0


def _mine(job: Job) -> Any:
    """The row is still leased by this worker."""
    return and_(GradeDelivery.id == job.id, GradeDelivery.lease_token == job.lease)


def failed(session_factory: SessionFactory, job: Job, error: DeliveryError,
           now: datetime, lineitem: str | None = None) -> str:
    """Retry later with backoff, or stop and explain when the VLE refused for good."""
    attempts = job.attempts + 1  # only the lease holder changes the count
    values: dict[str, Any] = dict(
        attempts=attempts, lease_token=None, lease_until=None,
        last_error_status=error.status, last_error_body=error.body,
        last_error_explanation=error.explanation, updated_at=now)
    if lineitem is not None:
        values["lineitem_url"] = lineitem  # found or created: the retry need not look again
    if not error.permanent:
        values["next_attempt_at"] = now + timedelta(seconds=backoff(attempts,
                                                                    error.retry_after))
    with session_factory() as session:
        if error.permanent:
            # A row superseded meanwhile stays superseded; only a pending one failed for good.
            session.execute(update(GradeDelivery).where(
                _mine(job), GradeDelivery.status == DeliveryStatus.PENDING)
                .values(status=DeliveryStatus.FAILED_PERMANENT)
                .execution_options(synchronize_session=False))
        session.execute(update(GradeDelivery).where(_mine(job)).values(**values)
                        .execution_options(synchronize_session=False))
        session.commit()
    log.warning("grade delivery %s %s (attempt %s): %s", job.id,
                "refused for good" if error.permanent else "will be retried", attempts,
                error.explanation)
    return "failed" if error.permanent else "retrying"


def conflict(session_factory: SessionFactory, job: Job, error: Conflict, now: datetime,
             lineitem: str | None = None) -> str:
    """Moodle holds a later second (clocks differ): restamp the score once and retry."""
    if job.last_error_status == 409:
        return failed(session_factory, job, DeliveryError(
            "The VLE keeps refusing this score because it already holds a later one (409). "
            "Check the student's grade in the VLE; if it is wrong, resend.", permanent=True,
            status=error.status, body=error.body), now, lineitem)
    with session_factory() as session:
        row = session.get(GradeDelivery, job.id)
        # A superseded row is not restamped: the newer score it would overtake goes instead.
        if row is not None and row.lease_token == job.lease and \
                row.status == DeliveryStatus.PENDING:
            row.score_timestamp = max(now.replace(microsecond=0),
                                      row.score_timestamp) + timedelta(seconds=1)
            session.commit()
    return failed(session_factory, job, transient(error.explanation, status=error.status,
                                                  body=error.body, retry_after=1),
                  now, lineitem)


def backoff(attempts: int, retry_after: float | None = None) -> float:
    """Seconds before the next try: doubling from 30 s to an hour, jittered.

    A wait someone asked for (the VLE's Retry-After, or "another worker is creating the grade
    column, 5 s") replaces the 30 s start: it is waited at least, doubling while the same
    score keeps failing, so a short wait stays short and a stuck one still slows down.
    """
    if retry_after is None:
        delay = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(0, attempts - 1))
        return float(delay * (0.5 + random.random() / 2))  # workers do not retry in lockstep
    asked = min(max(float(retry_after), 0.0), RETRY_AFTER_CAP)
    if attempts <= 1:
        return asked  # exactly when asked: a VLE's Retry-After is when it expects us back
    delay = min(max(asked, BACKOFF_CAP), asked * 2 ** (attempts - 1))
    return float(delay * (1 + random.random() / 4))  # never earlier than asked
