"""Gather a student's attempts across the institution and build their capability profile."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session

from ..content import Library, Module, ModuleNotFound, Reflection
from ..models import Attempt, AttemptStatus, Context, LtiUser, ResourceLink
from ..progress import (
    DCS_FRAMEWORK,
    AttemptResult,
    ConfidenceRatings,
    Mastery,
    Profile,
    band,
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
                  Attempt.updated_at, Attempt.submitted_at,
                  Attempt.percent, Attempt.pending_manual, Attempt.element_points)


def stored_attempts(session: Session, link_ids: Collection[int],
                    user_id: int | None = None) -> list[Row]:
    """Every attempt through the links (or one user's) as rows of STORED_COLUMNS, oldest
    first (one query)."""
    if not link_ids:
        return []
    query = select(*STORED_COLUMNS).where(Attempt.resource_link_id.in_(link_ids))
    if user_id is not None:
        query = query.where(Attempt.user_id == user_id)
    return list(session.execute(query.order_by(Attempt.created_at, Attempt.id)))


def unmarked_answers(session: Session, library: Library, link_ids: Collection[int],
                     attempts: Iterable[Row]) -> dict[int, tuple[frozenset[str], dict]]:
    """(reflections written, marks) of each submitted attempt through the links awaiting
    marking (one query; ``attempts`` are the stored rows, to know which modules they are on).

    Only these attempts need more than their stored figures: which reflections were written
    but not marked. The database answers "written" per reflection id, so the answers (long
    texts) are never sent over or parsed.
    """
    waiting = {(a.module_id, a.module_version) for a in attempts
               if a.pending_manual and a.status == AttemptStatus.SUBMITTED}
    if not waiting or not link_ids:
        return {}
    ids: set[str] = set()
    for module_id, version in waiting:
        module = _module(library, module_id, version)
        if module is not None:
            ids.update(r.id for r in module.activities if isinstance(r, Reflection))
    names = sorted(ids)
    written = [func.coalesce(func.length(Attempt.answers[name].as_string()), 0) > 0
               for name in names]
    return {row[0]: (frozenset(n for n, w in zip(names, row[2:], strict=True) if w),
                     row[1] or {})
            for row in session.execute(
                select(Attempt.id, Attempt.marks, *written).where(
                    Attempt.resource_link_id.in_(link_ids),
                    Attempt.status == AttemptStatus.SUBMITTED,
                    Attempt.pending_manual.is_(True)))}


@dataclass(frozen=True)
class StoredMastery:
    """Mastery per DCS domain and element (framework order), as the profile computes it."""

    domains: tuple[Mastery, ...]
    elements: tuple[Mastery, ...]


def stored_mastery(library: Library, attempts: Iterable[Row],
                   unmarked: Mapping[int, tuple[frozenset[str], dict]], counting: str = "best",
                   ) -> tuple[StoredMastery, list[Row]]:
    """Mastery from the element points each attempt stored when it was scored.

    The same figures as ``profile_of`` and lti_tool.progress.capability_profile (the counted
    attempt per module, best by percent with ties to the later, or the latest; points summed
    in the same order before dividing; reflections awaiting marks left out), without
    re-scoring and without the confidence, crosswalk and next steps the class view does not
    show. Also returns the submitted attempts used, oldest first.
    """
    counted: dict[str, tuple[tuple, dict[str, tuple[float, float]], bool]] = {}
    used = []
    for attempt in attempts:
        if attempt.status != AttemptStatus.SUBMITTED:
            continue
        module = _module(library, attempt.module_id, attempt.module_version)
        if module is None:
            continue  # withdrawn from the store: not shown, as in profile_of
        used.append(attempt)
        percent = min(100.0, max(0.0, float(attempt.percent or 0.0)))
        key = (attempt.submitted_at,) if counting == "latest" else (percent, attempt.submitted_at)
        old = counted.get(attempt.module_id)
        if old is not None and key < old[0]:
            continue
        by_element = attempt.element_points or {}
        if attempt.pending_manual:
            by_element = _without_unmarked(module, by_element,
                                           *unmarked.get(attempt.id, (frozenset(), {})))
        counted[attempt.module_id] = (key, by_element, bool(attempt.pending_manual))
    plan = _plan(library)
    totals: dict[str, list] = {}
    for _, by_element, pending in counted.values():
        for element, (points, max_points) in by_element.items():
            if element not in plan.known:
                continue  # an element a later edition dropped, as in capability_profile
            total = totals.get(element)
            if total is None:
                totals[element] = [0.0 + points, 0.0 + max_points, pending]
            else:
                total[0] += points
                total[1] += max_points
                total[2] = total[2] or pending
    elements = tuple(_mastery(eid, title, totals.get(eid)) for eid, title in plan.elements)
    domains = []
    for domain_id, title, element_ids in plan.domains:
        parts = [totals[e] for e in element_ids if e in totals]
        domains.append(_mastery(domain_id, title, (
            sum(p for p, _, _ in parts), sum(m for _, m, _ in parts),
            any(pending for _, _, pending in parts)) if parts else None))
    return StoredMastery(tuple(domains), elements), used


@dataclass(frozen=True)
class _Plan:
    """The framework's elements and domains, looked up once per library."""

    known: frozenset[str]
    elements: tuple[tuple[str, str], ...]
    domains: tuple[tuple[str, str, tuple[str, ...]], ...]


_PLANS: dict[int, tuple[Library, _Plan]] = {}


def _plan(library: Library) -> _Plan:
    """The DCS framework's shape for this library (kept while the library lives)."""
    cached = _PLANS.get(id(library))
    if cached is not None and cached[0] is library:
        return cached[1]
    fw = library.frameworks[DCS_FRAMEWORK]
    plan = _Plan(frozenset(e.id for e in fw.elements),
                 tuple((e.id, e.title) for e in fw.elements),
                 tuple((d.id, d.title, tuple(e.id for e in fw.elements if e.domain == d.id))
                       for d in fw.domains))
    _PLANS.clear()  # one library per process at a time; never grows
    _PLANS[id(library)] = (library, plan)
    return plan


def _mastery(item_id: str, title: str, total) -> Mastery:
    """Points over points available, as capability_profile's elements and domains."""
    points, max_points, pending = total if total is not None else (0.0, 0.0, False)
    percent = min(100.0, max(0.0, 100.0 * points / max_points)) if max_points > 0 else None
    return Mastery(item_id, title, points, max_points, percent, band(percent), pending)


def _module(library: Library, module_id: str, version: str) -> Module | None:
    """The module version, or None when it is no longer installed (the library caches it)."""
    try:
        return library.get(module_id, version)
    except ModuleNotFound:
        return None


def _without_unmarked(module: Module, by_element: Mapping[str, list | tuple],
                      written: frozenset[str], marks: Mapping) -> dict[str, tuple[float, float]]:
    """Stored element points less each reflection written and not yet marked.

    Scoring gave such a reflection 0 of its weight, split equally over its elements; mastery
    leaves it out until it is marked (AttemptResult.from_score), so its share comes off.
    """
    out = {e: (p, m) for e, (p, m) in by_element.items()}
    emptied: set[str] = set()
    for activity in module.activities:
        if not isinstance(activity, Reflection) or activity.id not in written or \
                (marks or {}).get(activity.id) is not None:
            continue  # not written (scored 0 of its weight, which counts) or marked
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
