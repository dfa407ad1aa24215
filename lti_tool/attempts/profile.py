"""Gather a student's attempts across the institution and build their capability profile."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..content import Library, ModuleNotFound
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
