"""Gather a student's attempts across the institution and build their capability profile."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Subquery, and_, case, func, not_, select
from sqlalchemy.orm import Session

from ..content import Library, Module, ModuleNotFound
from ..models import Attempt, AttemptElementScore, AttemptStatus, Context, LtiUser, ResourceLink
from ..progress import (
    DCS_FRAMEWORK,
    AttemptResult,
    ConfidenceRatings,
    Counting,
    Mastery,
    Profile,
    band,
    capability_profile,
    teaching_modules,
)
from .answers import score_of
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
    results: list[AttemptResult] = []
    ratings: list[ConfidenceRatings] = []
    used: list[Attempt] = []
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
                module, "after", attempt.confidence_after, _submitted(attempt), context_id))
        # The link's settings, as when the attempt was scored: a reflection credited on
        # completion is evidence, not an item waiting for a marker.
        score = score_of(attempt, module, link_settings(attempt.resource_link))
        results.append(AttemptResult.from_score(
            score, module_id=module.id, module_version=module.version,
            completed_at=_submitted(attempt), context_id=context_id))
        used.append(attempt)
    profile = capability_profile(results, ratings, library.frameworks,
                                 teaching_modules(library.modules()), course_filter=course,
                                 counting=_counting(counting))
    return profile, used


def _submitted(attempt: Attempt) -> datetime:
    """When a submitted attempt was submitted (its last change, should the time be missing)."""
    return attempt.submitted_at or attempt.updated_at


def _counting(counting: str) -> Counting:
    """A link's counting setting as the progress service names it."""
    return "latest" if counting == "latest" else "best"


# -- the class view: mastery summed in SQL from the figures stored when attempts were scored --

Total = tuple[float, float, bool]  # points, max_points, whether marking is pending behind it


def scope_versions(session: Session, library: Library,
                   link_ids: Collection[int]) -> dict[tuple[str, str], Module | None]:
    """Each (module id, version) attempted through the links, and its module (None when no
    longer installed): one small query whatever the class size."""
    if not link_ids:
        return {}
    pairs = session.execute(select(Attempt.module_id, Attempt.module_version).where(
        Attempt.resource_link_id.in_(link_ids)).distinct())
    return {(module_id, version): _module(library, module_id, version)
            for module_id, version in pairs}


def installed(versions: Mapping[tuple[str, str], Module | None]) -> list[ColumnElement[bool]]:
    """WHERE conditions leaving out attempts on module versions no longer installed (as
    profile_of does: they cannot be shown, but break nothing)."""
    return [not_(and_(Attempt.module_id == module_id, Attempt.module_version == version))
            for (module_id, version), module in sorted(versions.items()) if module is None]


def counted_attempts_query(link_ids: Collection[int], counting: str,
                           versions: Mapping[tuple[str, str], Module | None],
                           user_ids: Collection[int] | None = None) -> Subquery:
    """The attempts that count for mastery, as a subquery (id, user_id, pending_manual) with
    ``rank`` 1 on the one that counts per user and module.

    The rule of lti_tool.progress.counted_attempts over profile_of's attempts: submitted, on an
    installed version, one per module id (versions compete), the best by percent with ties to
    the later, or the latest.
    """
    rank = counted_rank(counting, Attempt.user_id)
    where = [Attempt.resource_link_id.in_(link_ids), Attempt.status == AttemptStatus.SUBMITTED,
             *installed(versions)]
    if user_ids is not None:
        where.append(Attempt.user_id.in_(user_ids))
    return select(Attempt.id, Attempt.user_id, Attempt.pending_manual,
                  rank.label("rank")).where(*where).subquery()


def counted_rank(counting: str, *partition: Any, on: Any = Attempt,
                 ) -> ColumnElement[int]:
    """row_number() that is 1 on the attempt that counts per module within each ``partition``
    (the rule of counted_attempts_query; the caller keeps to submitted attempts; ``on``: the
    attempt's columns, the model's or a plain table's)."""
    key = ((on.submitted_at.desc(),) if counting == "latest" else
           (func.coalesce(on.percent, 0.0).desc(), on.submitted_at.desc()))
    return func.row_number().over(partition_by=(*partition, on.module_id),
                                  order_by=(*key, on.created_at.desc(), on.id.desc()))


def mastery_totals(session: Session, link_ids: Collection[int], counting: str,
                   versions: Mapping[tuple[str, str], Module | None],
                   user_ids: Collection[int] | None = None) -> dict[int, dict[str, Total]]:
    """Per user and element, the points stored by the counted attempt of each module
    (``counted_attempts_query``; reflections awaiting marks were left out when stored): one
    query, ``user_ids`` limiting it to some users."""
    if not link_ids or (user_ids is not None and not user_ids):
        return {}
    counted = counted_attempts_query(link_ids, counting, versions, user_ids)
    score = AttemptElementScore
    query = (select(counted.c.user_id, score.element, func.sum(score.earned),
                    func.sum(score.possible),
                    func.max(case((counted.c.pending_manual.is_(True), 1), else_=0)))
             .join(score, score.attempt_id == counted.c.id).where(counted.c.rank == 1)
             .group_by(counted.c.user_id, score.element))
    return element_rows(session, query)


def element_rows(session: Session, query: Any) -> dict[int, dict[str, Total]]:
    """Rows of (user id, element, points, max points, pending) by user and element."""
    out: dict[int, dict[str, Total]] = {}
    # Numbers only: run as Core, without the ORM's per-row loading.
    # .all(): psycopg hands over every row in one call, not one call per row.
    for user_id, element, earned, possible, pending in session.connection().execute(query).all():
        out.setdefault(user_id, {})[element] = (float(earned), float(possible), bool(pending))
    return out


def domain_totals(session: Session, plan: Plan, link_ids: Collection[int], counting: str,
                  versions: Mapping[tuple[str, str], Module | None],
                  ) -> dict[int, dict[str, tuple[float, float]]]:
    """Per user and DCS domain, (points, max_points) of ``mastery_totals`` added up over the
    domain's elements: one query, a row per student and domain (what a class summary needs
    of everyone, without a row per element)."""
    if not link_ids:
        return {}
    counted = counted_attempts_query(link_ids, counting, versions)
    score = AttemptElementScore
    domain = domain_of(plan, score.element)
    if domain is None:
        return {}
    parts = (select(counted.c.user_id, domain.label("domain"), score.earned,
                    score.possible)
             .join(score, score.attempt_id == counted.c.id)
             .where(counted.c.rank == 1).subquery())
    rows = session.connection().execute(  # Core: numbers, no ORM loading
        select(parts.c.user_id, parts.c.domain, func.sum(parts.c.earned),
               func.sum(parts.c.possible))
        .where(parts.c.domain.is_not(None)).group_by(parts.c.user_id, parts.c.domain)).all()
    return domain_rows(rows)


def domain_of(plan: Plan, element: Any) -> Any:
    """SQL naming the DCS domain of an element column (NULL for none); None when the plan has
    no domain with elements."""
    whens = [(element.in_(element_ids), domain_id)
             for domain_id, _, element_ids in plan.domains if element_ids]
    return case(*whens) if whens else None


def domain_rows(rows: Iterable[Any]) -> dict[int, dict[str, tuple[float, float]]]:
    """Rows of (user id, domain, points, max points) by user and domain."""
    out: dict[int, dict[str, tuple[float, float]]] = {}
    for user_id, domain, points, max_points in rows:
        out.setdefault(user_id, {})[domain] = (float(points), float(max_points))
    return out


def percent_of(points: float, max_points: float) -> float | None:
    """Points over points available as a percentage within 0-100; None with nothing available."""
    return min(100.0, max(0.0, 100.0 * points / max_points)) if max_points > 0 else None


@dataclass(frozen=True)
class StoredMastery:
    """Mastery per DCS domain and element (framework order), as the profile computes it."""

    domains: tuple[Mastery, ...]
    elements: tuple[Mastery, ...]


def mastery_of(plan: Plan, totals: Mapping[str, Total]) -> StoredMastery:
    """Domain and element mastery from one user's element totals (``mastery_totals``) laid
    out in the framework's ``plan`` (``plan_of``).

    The figures of capability_profile: elements the framework no longer has are left out,
    a domain adds up its elements' points before dividing.
    """
    elements = tuple(_mastery(eid, title, totals.get(eid)) for eid, title in plan.elements)
    return StoredMastery(domain_masteries(plan, totals), elements)


def domain_masteries(plan: Plan, totals: Mapping[str, Total]) -> tuple[Mastery, ...]:
    """The domains alone (what a class summary needs of every student)."""
    domains = []
    for domain_id, title, element_ids in plan.domains:
        parts = [totals[e] for e in element_ids if e in totals]
        domains.append(_mastery(domain_id, title, (
            sum(p for p, _, _ in parts), sum(m for _, m, _ in parts),
            any(pending for _, _, pending in parts)) if parts else None))
    return tuple(domains)


@dataclass(frozen=True)
class Plan:
    """The framework's elements and domains, looked up once per library."""

    known: frozenset[str]
    elements: tuple[tuple[str, str], ...]
    domains: tuple[tuple[str, str, tuple[str, ...]], ...]


_PLANS: dict[int, tuple[Library, Plan]] = {}


def plan_of(library: Library) -> Plan:
    """The DCS framework's shape for this library (kept while the library lives)."""
    cached = _PLANS.get(id(library))
    if cached is not None and cached[0] is library:
        return cached[1]
    fw = library.frameworks[DCS_FRAMEWORK]
    plan = Plan(frozenset(e.id for e in fw.elements),
                tuple((e.id, e.title) for e in fw.elements),
                tuple((d.id, d.title, tuple(e.id for e in fw.elements if e.domain == d.id))
                      for d in fw.domains))
    _PLANS.clear()  # one library per process at a time; never grows
    _PLANS[id(library)] = (library, plan)
    return plan


def _mastery(item_id: str, title: str, total: Total | None) -> Mastery:
    """Points over points available, as capability_profile's elements and domains."""
    points, max_points, pending = total if total is not None else (0.0, 0.0, False)
    percent = percent_of(points, max_points)
    return Mastery(item_id, title, points, max_points, percent, band(percent), pending)


def _module(library: Library, module_id: str, version: str) -> Module | None:
    """The module version, or None when it is no longer installed (the library caches it)."""
    try:
        return library.get(module_id, version)
    except ModuleNotFound:
        return None


