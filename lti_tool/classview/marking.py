"""The marking queue: reflections waiting for their lecturer, marked against the rubric.

Marks live on the attempt (`Attempt.marks[activity_id] = {criterion: points}`), where the
content engine reads them when scoring; who marked, when and the comment live in
ReflectionMark. Functions flush; the caller commits.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, defer, joinedload

from ..attempts.answers import rescore
from ..attempts.settings import link_settings
from ..content import InvalidAnswer, Module, Reflection
from ..governance import audit
from ..lti.services import clean_text
from ..models import Attempt, AttemptStatus, LtiUser, ReflectionMark
from ..models.base import utcnow
from . import gradebook
from .services import ClassScope

MAX_COMMENT = 5000


class MarkConflict(Exception):
    """Someone else saved marks for this attempt since this marker opened it."""


@dataclass(frozen=True)
class MarkingForm:
    """What a marker sent for one attempt: points per criterion and a comment per reflection."""

    marks: dict[str, dict[str, float]]
    comments: dict[str, str]


def _pending(scope: ClassScope) -> tuple[ColumnElement[bool], ...]:
    """The WHERE clause of the queue: submitted attempts in the scope awaiting marks."""
    return (Attempt.resource_link_id.in_(scope.link_ids),
            Attempt.status == AttemptStatus.SUBMITTED, Attempt.pending_manual.is_(True))


def pending_attempts(session: Session, scope: ClassScope, *, offset: int = 0,
                     limit: int | None = None) -> list[Attempt]:
    """Submitted attempts in the scope whose reflections wait for marks, oldest first
    (a page of them with ``offset`` and ``limit``)."""
    if not scope.links:
        return []
    return list(session.scalars(
        select(Attempt).where(*_pending(scope))
        # The queue lists who and what; the answers are read when one is opened to mark.
        .options(defer(Attempt.answers), defer(Attempt.element_points),
                 joinedload(Attempt.user), joinedload(Attempt.resource_link))
        .order_by(Attempt.submitted_at, Attempt.id).offset(offset).limit(limit)).unique())


def pending_ids(session: Session, scope: ClassScope) -> list[int]:
    """The queue's attempt ids, oldest first (ids only: for where one attempt sits in it)."""
    if not scope.links:
        return []
    return list(session.scalars(select(Attempt.id).where(*_pending(scope))
                                .order_by(Attempt.submitted_at, Attempt.id)))


def pending_count(session: Session, scope: ClassScope) -> int:
    """How many attempts in the scope wait for marks (one COUNT query)."""
    if not scope.links:
        return 0
    return session.scalar(select(func.count(Attempt.id)).where(*_pending(scope))) or 0


def attempt_in_scope(session: Session, scope: ClassScope, attempt_id: int) -> Attempt | None:
    """A submitted attempt through one of the scope's links, or None."""
    attempt = session.get(Attempt, attempt_id)
    if attempt is None or attempt.resource_link_id not in scope.link_ids or \
            attempt.status != AttemptStatus.SUBMITTED:
        return None
    return attempt


def reflections_to_mark(module: Module, attempt: Attempt) -> list[Reflection]:
    """The reflections the student wrote in the attempt (unanswered ones simply score 0)."""
    return [a for a in module.activities if isinstance(a, Reflection)
            and isinstance(attempt.answers.get(a.id), str) and attempt.answers.get(a.id)]


def comments_of(session: Session, attempt: Attempt) -> dict[str, ReflectionMark]:
    """The marking record of each reflection of the attempt, by activity id."""
    return {m.activity_id: m for m in session.scalars(
        select(ReflectionMark).where(ReflectionMark.attempt_id == attempt.id))}


def parse_form(form: Mapping[str, Any], reflections: list[Reflection]) -> MarkingForm:
    """Read `mark-<activity>-<criterion>` and `comment-<activity>` fields; InvalidAnswer with
    words for the marker when a mark is missing or not a number in range."""
    marks: dict[str, dict[str, float]] = {}
    comments: dict[str, str] = {}
    for reflection in reflections:
        given: dict[str, float] = {}
        for criterion in reflection.rubric:
            raw = str(form.get(f"mark-{reflection.id}-{criterion.id}") or "").strip()
            label = criterion.description[:60] + ("…" if len(criterion.description) > 60 else "")
            if not raw:
                raise InvalidAnswer(f"Give a mark for “{label}”.")
            try:
                value = float(raw.replace(",", "."))
            except ValueError:
                raise InvalidAnswer(f"The mark for “{label}” must be a number.") from None
            if not math.isfinite(value) or not 0 <= value <= float(criterion.points):
                raise InvalidAnswer(f"The mark for “{label}” must be from 0 to "
                                    f"{_plain(criterion.points)}.")
            given[criterion.id] = value
        reflection.check_marks(given)  # the engine's own rule, so scoring can never refuse them
        marks[reflection.id] = given
        comment = clean_text(form.get(f"comment-{reflection.id}") or "", MAX_COMMENT) or ""
        comments[reflection.id] = comment.strip()
    return MarkingForm(marks, comments)


def save_marks(session: Session, attempt: Attempt, module: Module, form: MarkingForm,
               marker: LtiUser, seen_version: int | None = None) -> bool:
    """Store the marks and comments, re-score the attempt and queue its grade (flushed).

    ``seen_version`` is the attempt's version when the marker opened it: if it changed, another
    marker saved in between and MarkConflict is raised (nothing is written). Two saves at the
    very same moment are caught by the version check at flush (StaleDataError) instead.
    Returns whether a grade was queued for the gradebook (False while grades are not installed).
    """
    if seen_version is not None and seen_version != attempt.version:
        raise MarkConflict(f"attempt {attempt.id} is at version {attempt.version}, "
                           f"form was for {seen_version}")
    # Nothing is written until the end, then the attempt first (its version check) and its
    # comments after: of two markers saving at once the second stops at the attempt, and the
    # two never hold each other's rows (which PostgreSQL would report as a deadlock).
    with session.no_autoflush:
        for activity_id, given in form.marks.items():
            reflection = module.activity(activity_id)
            if not isinstance(reflection, Reflection):
                raise InvalidAnswer(f"{activity_id} is not a reflection: it has no marks.")
            reflection.check_marks(given)
        marks = dict(attempt.marks or {})
        marks.update({aid: {cid: _stored(v) for cid, v in given.items()}
                      for aid, given in form.marks.items()})
        attempt.marks = marks  # a new dict, so the JSON column sees the change
        records = comments_of(session, attempt)
        for activity_id in form.marks:
            record = records.get(activity_id)
            if record is None:
                record = ReflectionMark(attempt_id=attempt.id, activity_id=activity_id)
                session.add(record)
            record.comment = form.comments.get(activity_id, "")
            record.marker_id = marker.id
            record.marked_at = utcnow()
        settings = link_settings(attempt.resource_link)
        rescore(attempt, module, settings)
        attempt.updated_at = utcnow()
        audit.record(session, audit.lti_actor(marker), "marks.save", f"attempt#{attempt.id}",
                     {"activities": sorted(form.marks), "points": attempt.points})
    session.flush()
    # In the same transaction as the marks: the new score can never be lost.
    return gradebook.after_marking(session, attempt, settings, module)


def _stored(value: float) -> int | float:
    """Whole marks as ints, so the JSON reads {"recognise": 1}."""
    return int(value) if float(value).is_integer() else float(value)


def _plain(points: Fraction) -> str:
    """1, 1.5 or 0.25: a rubric maximum as a person writes it."""
    value = float(points)
    return str(int(value)) if value.is_integer() else f"{value:g}"
