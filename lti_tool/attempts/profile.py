"""Gather a student's attempts across the institution and build their capability profile."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from ..content import Library, Module, ModuleNotFound, Reflection
from ..models import Attempt, AttemptStatus, Context, LtiUser, ResourceLink
from ..progress import (
    AttemptResult,
    ConfidenceRatings,
    Profile,
    capability_profile,
    teaching_modules,
)
from .answers import scoring_answers
from .settings import link_settings


def institution_attempts(session: Session, user: LtiUser, deployment_id: int) -> list[Attempt]:
    """Every attempt of the user through links of the same deployment (one institution)."""
    return list(session.scalars(
        select(Attempt).join(ResourceLink).join(Context)
        .where(Attempt.user_id == user.id, Context.deployment_id == deployment_id)
        .order_by(Attempt.created_at)))


def build_profile(session: Session, library: Library, user: LtiUser, deployment_id: int,
                  course: str | None = None, counting: str = "best") -> tuple[Profile, list[Attempt]]:
    """The user's profile across the institution, re-scored on the version each was taken on."""
    return profile_of(library, institution_attempts(session, user, deployment_id),
                      course=course, counting=counting)


def profile_of(library: Library, attempts: Iterable[Attempt], course: str | None = None,
               counting: str = "best") -> tuple[Profile, list[Attempt]]:
    """The profile of one person's attempts (any selection: a course, a link, everything).

    Submitted attempts count, each re-scored on its own module version with its link's
    marking settings; also returns those attempts, oldest first.
    """
    results, ratings, used = [], [], []
    for attempt in attempts:
        try:
            module = library.get(attempt.module_id, attempt.module_version)
        except ModuleNotFound:
            continue  # a module withdrawn from the store cannot be shown, but breaks nothing
        context_id = attempt.resource_link.context.context_id
        if attempt.confidence_before:
            ratings.append(ConfidenceRatings.from_answers(
                module, "before", attempt.confidence_before, attempt.created_at, context_id))
        if attempt.status != AttemptStatus.SUBMITTED:
            continue
        if attempt.confidence_after:
            ratings.append(ConfidenceRatings.from_answers(
                module, "after", attempt.confidence_after, attempt.submitted_at, context_id))
        # The link's settings, as when the attempt was scored: a reflection credited on
        # completion is evidence, not an item waiting for a marker.
        settings = link_settings(attempt.resource_link)
        score = module.score(scoring_answers(attempt, module), marks=attempt.marks or None,
                             completion_credit=settings.completion_credit)
        results.append(AttemptResult.from_score(
            score, module_id=module.id, module_version=module.version,
            completed_at=attempt.submitted_at, context_id=context_id))
        used.append(attempt)
    profile = capability_profile(results, ratings, library.frameworks,
                                 teaching_modules(library.modules()), course_filter=course,
                                 counting=counting)
    return profile, used


# -- the class view's fast path: figures stored at scoring time, nothing re-scored ----------

# What mastery needs of an attempt; the answers (reflection texts) stay in the database.
STORED_COLUMNS = (Attempt.id, Attempt.user_id, Attempt.resource_link_id, Attempt.number,
                  Attempt.module_id, Attempt.module_version, Attempt.status,
                  Attempt.created_at, Attempt.updated_at, Attempt.submitted_at,
                  Attempt.percent, Attempt.pending_manual, Attempt.element_points)


def stored_attempts(session: Session, link_ids: Collection[int]) -> list[Row]:
    """Every attempt through the links as rows of STORED_COLUMNS, oldest first (one query)."""
    if not link_ids:
        return []
    return list(session.execute(
        select(*STORED_COLUMNS).where(Attempt.resource_link_id.in_(link_ids))
        .order_by(Attempt.created_at, Attempt.id)))


def unmarked_answers(session: Session, link_ids: Collection[int]) -> dict[int, tuple[dict, dict]]:
    """(answers, marks) of each submitted attempt through the links awaiting marking (one query).

    Only these attempts need their answers: which reflections were written but not marked.
    """
    if not link_ids:
        return {}
    return {row.id: (row.answers or {}, row.marks or {}) for row in session.execute(
        select(Attempt.id, Attempt.answers, Attempt.marks).where(
            Attempt.resource_link_id.in_(link_ids), Attempt.status == AttemptStatus.SUBMITTED,
            Attempt.pending_manual.is_(True)))}


def stored_mastery(library: Library, attempts: Iterable[Row],
                   unmarked: Mapping[int, tuple[dict, dict]], counting: str = "best",
                   ) -> tuple[Profile, list[Row]]:
    """Mastery from the element points each attempt stored when it was scored.

    The same figures as ``profile_of`` (counted attempt per module, points summed before
    dividing, reflections awaiting marks left out) without re-scoring; the profile has no
    confidence, crosswalk or next steps, which the class view does not show. Also returns the
    submitted attempts used, oldest first.
    """
    results, used = [], []
    for attempt in attempts:
        if attempt.status != AttemptStatus.SUBMITTED:
            continue
        module = _module(library, attempt.module_id, attempt.module_version)
        if module is None:
            continue  # withdrawn from the store: not shown, as in profile_of
        by_element = {e: (float(p), float(m)) for e, (p, m) in
                      (attempt.element_points or {}).items()}
        if attempt.pending_manual:
            by_element = _without_unmarked(module, by_element, *unmarked.get(attempt.id, ({}, {})))
        results.append(AttemptResult(
            attempt.module_id, attempt.module_version, attempt.submitted_at, None, by_element,
            min(100.0, max(0.0, float(attempt.percent or 0.0))), False,
            bool(attempt.pending_manual)))
        used.append(attempt)
    profile = capability_profile(results, [], library.frameworks, {}, counting=counting,
                                 crosswalk_targets=(), max_next_steps=0)
    return profile, used


def _module(library: Library, module_id: str, version: str) -> Module | None:
    """The module version, or None when it is no longer installed (the library caches it)."""
    try:
        return library.get(module_id, version)
    except ModuleNotFound:
        return None


def _without_unmarked(module: Module, by_element: dict[str, tuple[float, float]],
                      answers: Mapping, marks: Mapping) -> dict[str, tuple[float, float]]:
    """Stored element points less each reflection written and not yet marked.

    Scoring gave such a reflection 0 of its weight, split equally over its elements; mastery
    leaves it out until it is marked (AttemptResult.from_score), so its share comes off.
    """
    out = dict(by_element)
    emptied: set[str] = set()
    for activity in module.activities:
        if not isinstance(activity, Reflection) or (marks or {}).get(activity.id) is not None:
            continue
        if not (isinstance(answers.get(activity.id), str) and answers.get(activity.id)):
            continue  # not written: scored 0 of its weight, which counts
        share = float(activity.weight / (len(activity.elements) or 1))
        for element in activity.elements:
            if element in out:
                points, max_points = out[element]
                out[element] = (points, max(0.0, max_points - share))
                emptied.add(element)
    # An element only the unmarked reflection evidenced has no evidence at all yet.
    for element in emptied:
        if out[element][1] <= 1e-12:
            del out[element]
    return out
