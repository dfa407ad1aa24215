"""Queue scores in the outbox, in the same transaction as the attempt they come from.

The grade is always the COUNTED attempt's (best or latest, as the link says), scaled to the
link's maximum points. A newer score for the same student and link supersedes any older one
not yet delivered; timestamps strictly increase by whole seconds per student and link, since
Moodle refuses (409) a score whose second is not later than the one it holds.
Functions flush; the caller commits.
"""

from __future__ import annotations

import copy
import enum
import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from ..attempts.settings import LinkSettings, counted_attempt, link_settings
from ..content import Library, Module, ModuleNotFound
from ..lti import roles
from ..lti.constants import SUBMISSION_REVIEW
from ..models import Attempt, Launch, ResourceLink
from ..models.base import utcnow
from ..models.grades import DeliveryStatus, GradeDelivery

log = logging.getLogger(__name__)

DCS = "dcs-2020"
DEFAULT_MAX_POINTS = 100.0
UNDELIVERED = (DeliveryStatus.PENDING, DeliveryStatus.FAILED_PERMANENT)


class Progress(str, enum.Enum):
    """What just happened to the attempt."""

    STARTED = "started"
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"
    MARKED = "marked"


# Progress never goes backwards within one attempt: a resumed attempt is not "Started" again.
STAGE = {"Initialized": 0, "Started": 1, "InProgress": 2, "Submitted": 3, "Completed": 3}


def queue_score(session: Session, attempt: Attempt, settings: LinkSettings | None,
                progress: Progress | str, *, module: Module | None = None,
                tag: str | None = None, now: datetime | None = None) -> GradeDelivery | None:
    """Write the score this event means for the VLE to the outbox; None when nothing changed."""
    progress = Progress(progress)
    link = attempt.resource_link
    settings = settings or link_settings(link)
    session.flush()  # the attempt's latest state must be visible to the queries below
    attempts = list(session.scalars(select(Attempt).where(
        Attempt.user_id == attempt.user_id, Attempt.resource_link_id == attempt.resource_link_id)))
    counted = counted_attempt(attempts, settings.counting)
    maximum = link_max_points(settings, module, attempts)
    if counted is not None and progress in (Progress.STARTED, Progress.IN_PROGRESS):
        # A submitted attempt counts: the gradebook keeps its grade until a newer attempt is
        # submitted, so a new attempt's progress is not worth a request (nor a risk to it).
        return None
    activity, grading, given, comment = _score_fields(progress, counted, maximum)
    latest = latest_delivery(session, attempt.user_id, attempt.resource_link_id)
    if latest is not None:
        if progress in (Progress.STARTED, Progress.IN_PROGRESS) and \
                latest.attempt_id == attempt.id and \
                STAGE.get(latest.activity_progress, 0) >= STAGE[activity]:
            return None  # throttled: only a change of state is worth a request
        if (latest.activity_progress, latest.grading_progress, latest.score_given,
                latest.score_maximum, latest.comment) == (activity, grading, given, maximum,
                                                          comment):
            return None  # the VLE has (or will have) exactly this
    now = now or utcnow()
    timestamp = _next_timestamp(now, latest)
    session.execute(update(GradeDelivery).where(
        GradeDelivery.user_id == attempt.user_id,
        GradeDelivery.resource_link_id == attempt.resource_link_id,
        GradeDelivery.status.in_(UNDELIVERED)).values(
            status=DeliveryStatus.SUPERSEDED, updated_at=now)
        .execution_options(synchronize_session="fetch"))
    row = GradeDelivery(
        user_id=attempt.user_id, resource_link_id=attempt.resource_link_id,
        attempt_id=attempt.id, lineitem_url=link.ags_lineitem_url,
        lineitem_spec=_lineitem_spec(link, attempt, module, tag, maximum),
        score_given=given, score_maximum=maximum, activity_progress=activity,
        grading_progress=grading, score_timestamp=timestamp, comment=comment,
        status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=now, updated_at=now)
    session.add(row)
    session.flush()
    log.info("queued score %s for user %s link %s: %s/%s %s %s", row.id, attempt.user_id,
             attempt.resource_link_id, given, maximum, activity, grading)
    return row


def record_progress(session: Session, library: Library, launch: Launch, attempt: Attempt,
                    progress: Progress | str) -> GradeDelivery | None:
    """The player's hook: queue the score for a student's attempt event (staff are skipped)."""
    # Staff who try a module are not in the VLE's gradebook (Moodle answers 400 for them);
    # mentors never get a score (lti_tool.lti.roles).
    if not roles.graded(launch.roles):
        return None
    try:
        module = library.get(attempt.module_id, attempt.module_version)
    except ModuleNotFound:
        module = None
    return queue_score(session, attempt, link_settings(attempt.resource_link), progress,
                       module=module, tag=domain_tag(library, module))


def requeue_after_marking(session: Session, attempt: Attempt,
                          settings: LinkSettings | None = None, *,
                          module: Module | None = None) -> GradeDelivery | None:
    """After a lecturer marks a reflection (and the attempt is re-scored): post it again.

    The counted attempt's score goes out FullyGraded once nothing waits for a marker.
    """
    return queue_score(session, attempt, settings, Progress.MARKED, module=module)


def link_max_points(settings: LinkSettings, module: Module | None,
                    attempts: list[Attempt]) -> float:
    """The grade's maximum: the lecturer's choice, else the module's own maximum."""
    chosen = getattr(settings, "max_points", None)
    if chosen:
        return float(chosen)
    if module is not None and module.max_points:
        return float(module.max_points)
    known = [a.max_points for a in attempts if a.max_points]
    return float(known[-1]) if known else DEFAULT_MAX_POINTS


def domain_tag(library: Library, module: Module | None) -> str:
    """The module's DCS domains joined with '+', as deep linking tags its line items."""
    framework = library.frameworks.get(DCS) if module is not None else None
    if framework is None or module is None:
        return ""
    return "+".join(framework.domains_of(module.alignment.get(DCS, ())))


def latest_delivery(session: Session, user_id: int, link_id: int) -> GradeDelivery | None:
    """The newest score queued for a student and link, whatever became of it."""
    row: GradeDelivery | None = session.scalar(newest_delivery(user_id, link_id, GradeDelivery))
    return row


def newest_delivery(user_id: Any, link_id: Any, *columns: Any) -> Select[Any]:
    """The newest score queued for a student and link (ids, or columns to correlate with)."""
    return (select(*columns).where(GradeDelivery.user_id == user_id,
                                   GradeDelivery.resource_link_id == link_id)
            .order_by(GradeDelivery.score_timestamp.desc(), GradeDelivery.id.desc()).limit(1))


def _score_fields(progress: Progress, counted: Attempt | None,
                  maximum: float) -> tuple[str, str, float | None, str | None]:
    """(activityProgress, gradingProgress, scoreGiven, comment) for an event."""
    if counted is None:
        # Nothing submitted yet: no scoreGiven, which Moodle reads as "no grade yet".
        activity = "Started" if progress == Progress.STARTED else "InProgress"
        return activity, "NotReady", None, None
    pending = bool(counted.pending_manual)
    given = round((counted.percent or 0.0) / 100.0 * maximum, 4)
    grading = "PendingManual" if pending else "FullyGraded"
    comment = f"{round(counted.percent or 0)}% (attempt {counted.number})" + (
        "; a reflection is waiting for the lecturer's marking" if pending else "")
    return ("Submitted" if pending else "Completed"), grading, given, comment


def _next_timestamp(now: datetime, latest: GradeDelivery | None) -> datetime:
    """Now, in whole seconds, and at least a second after the previous score for the key."""
    stamp = now.replace(microsecond=0)
    if latest is not None and latest.score_timestamp >= stamp:
        stamp = latest.score_timestamp.replace(microsecond=0) + timedelta(seconds=1)
    return stamp


def _lineitem_spec(link: ResourceLink, attempt: Attempt, module: Module | None, tag: str | None,
                   maximum: float) -> dict[str, Any]:
    """The line item to create if the platform named none: like deep linking's."""
    label = link.title or (module.title if module is not None else attempt.module_id)
    return {"scoreMaximum": maximum, "label": label[:500], "resourceId": attempt.module_id,
            "tag": tag or "", "resourceLinkId": link.resource_link_id,
            "submissionReview": copy.deepcopy(SUBMISSION_REVIEW)}
