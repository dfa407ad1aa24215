"""Reflections with what the lecturer gave them: marks per criterion, comment, who and when.

One reading for both sides: the student's summary, profile and evidence record show the same
rows as the lecturer's drill-down, so what the lecturer wrote is what the student reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from ..content import Library, ModuleNotFound, word_count
from ..models import Attempt, AttemptStatus, ReflectionMark
from .settings import link_settings


@dataclass(frozen=True)
class MarkedCriterion:
    """A rubric criterion, the mark given (if any) and what that mark looks like."""

    description: str
    given: float | None
    points: float
    level: str | None = None


@dataclass(frozen=True)
class ReflectionRow:
    """A reflection with its prompt, marks, the marker's comment and the marking record."""

    attempt: Attempt
    module_title: str
    activity_id: str
    prompt_html: str
    text: str
    criteria: tuple[MarkedCriterion, ...]
    comment: str | None
    pending: bool
    words: int = 0
    min_words: int = 0
    marker: str | None = None
    marked_at: datetime | None = None
    credited: bool = False  # completion credit: no marker needed

    @property
    def marked(self) -> bool:
        """Whether a lecturer has marked it."""
        return any(c.given is not None for c in self.criteria)

    @property
    def under_minimum(self) -> bool:
        """Shorter than the module asks for."""
        return self.words < self.min_words

    @property
    def given(self) -> float:
        """Marks given in all."""
        return sum(c.given or 0.0 for c in self.criteria)

    @property
    def out_of(self) -> float:
        """Marks available in all."""
        return sum(c.points for c in self.criteria)


def reflection_rows(session: Session, library: Library,
                    attempts: list[Attempt]) -> list[ReflectionRow]:
    """Every written reflection in the attempts, newest first, with marks and comments."""
    if not attempts:
        return []
    records = {(m.attempt_id, m.activity_id): m for m in session.scalars(
        select(ReflectionMark).where(ReflectionMark.attempt_id.in_([a.id for a in attempts]))
        .options(joinedload(ReflectionMark.marker)))}
    rows = []
    for attempt in sorted(attempts, key=lambda a: (a.created_at, a.id), reverse=True):
        try:
            module = library.get(attempt.module_id, attempt.module_version)
        except ModuleNotFound:
            continue
        credited = link_settings(attempt.resource_link).completion_credit
        for activity in module.activities:
            text = attempt.answers.get(activity.id)
            if activity.type != "reflection" or not isinstance(text, str) or not text:
                continue
            given = (attempt.marks or {}).get(activity.id) or {}
            criteria = tuple(
                MarkedCriterion(c.description, _number(given.get(c.id)), float(c.points),
                                _level(c.levels, _number(given.get(c.id))))
                for c in activity.rubric)  # type: ignore[attr-defined]
            record = records.get((attempt.id, activity.id))
            rows.append(ReflectionRow(
                attempt, module.title, activity.id, activity.render()["prompt_html"], text,
                criteria, record.comment if record is not None else None,
                pending=attempt.status == AttemptStatus.SUBMITTED and not given
                and not credited,
                words=word_count(text), min_words=activity.min_words,  # type: ignore[attr-defined]
                marker=record.marker.display_name if record is not None and record.marker
                else None,
                marked_at=record.marked_at if record is not None and given else None,
                credited=credited))
    return rows


def _level(levels: tuple[tuple[int, str], ...], given: float | None) -> str | None:
    """The descriptor of a whole mark, when the rubric has one."""
    if given is None or not float(given).is_integer():
        return None
    return dict(levels).get(int(given))


def _number(value: object) -> float | None:
    """A stored mark as a float, or None."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else None
