"""Compute a student's capability profile from attempts and confidence ratings (no Flask, no database).

Aggregation rule: mastery is always points earned over points available, summed before
dividing. An element adds up the per-element points of the counted attempt of every module
that evidences it; a domain adds up the points of its elements; a PCF or HEE domain adds up
the points of every DCS element the dcs-2020 crosswalk maps to it (an element mapped to two
domains counts in full in both). It is never an average of percentages, so an element with
10 points of evidence weighs more than one with 2, and an element with no evidence is left
out rather than counted as 0%.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from statistics import fmean
from typing import TYPE_CHECKING

from .bands import PROFICIENT, band
from .models import (
    COUNTINGS,
    AttemptResult,
    ConfidenceChange,
    ConfidenceRatings,
    Counting,
    DomainMastery,
    ElementMastery,
    EvidenceRow,
    NextStep,
    Profile,
    TeachingModule,
)

if TYPE_CHECKING:  # typing only: the service is fed plain data, frameworks are duck-typed
    from lti_tool.content import Framework

DCS_FRAMEWORK = "dcs-2020"
CROSSWALK_TARGETS: tuple[str, ...] = ("pcf-2018", "hee-dcf-2018")
MAX_NEXT_STEPS = 3


def counted_attempts(attempts: Iterable[AttemptResult], counting: Counting = "best") -> dict[str, AttemptResult]:
    """The attempt that counts for each module id: the best by percent (ties: the later) or the latest.

    An attempt awaiting manual marking competes with the percent it has so far.
    """
    if counting not in COUNTINGS:
        raise ValueError(f"counting must be 'best' or 'latest', not {counting!r}")
    chosen: dict[str, AttemptResult] = {}
    for a in attempts:
        old = chosen.get(a.module_id)
        # Versions of one module are the same module to the student, so they compete.
        if old is None or _key(a, counting) >= _key(old, counting):
            chosen[a.module_id] = a
    return chosen


def _key(a: AttemptResult, counting: Counting) -> tuple[float | datetime, ...]:
    return (a.completed_at,) if counting == "latest" else (a.percent, a.completed_at)


def confidence_by_element(confidence: Iterable[ConfidenceRatings]) -> dict[str, ConfidenceChange]:
    """Per element: mean of the first 'before' set that rates it and of the latest 'after' set."""
    first_before: dict[str, ConfidenceRatings] = {}
    last_after: dict[str, ConfidenceRatings] = {}
    for rs in confidence:
        for element in rs.ratings:
            if rs.phase == "before":
                if element not in first_before or rs.at < first_before[element].at:
                    first_before[element] = rs
            elif element not in last_after or rs.at >= last_after[element].at:
                last_after[element] = rs
    out: dict[str, ConfidenceChange] = {}
    for element in first_before.keys() | last_after.keys():
        before = first_before.get(element)
        after = last_after.get(element)
        out[element] = ConfidenceChange(fmean(before.ratings[element]) if before else None,
                                        fmean(after.ratings[element]) if after else None)
    return out


def capability_profile(attempts: Iterable[AttemptResult], confidence: Iterable[ConfidenceRatings],
                       frameworks: Mapping[str, Framework],
                       modules_by_element: Mapping[str, Sequence[TeachingModule]],
                       course_filter: str | None = None, *, counting: Counting = "best",
                       framework_id: str = DCS_FRAMEWORK, crosswalk_targets: Sequence[str] = CROSSWALK_TARGETS,
                       max_next_steps: int = MAX_NEXT_STEPS) -> Profile:
    """The profile over every attempt given (all courses), or only ``course_filter``'s context."""
    fw = frameworks[framework_id]
    attempts = list(attempts)
    confidence = list(confidence)
    courses = tuple(sorted({a.context_id for a in attempts if a.context_id is not None}))
    if course_filter is not None:
        attempts = [a for a in attempts if a.context_id == course_filter]
        confidence = [c for c in confidence if c.context_id == course_filter]
    counted = counted_attempts(attempts, counting)

    known = {e.id for e in fw.elements}
    totals: dict[str, tuple[float, float, bool]] = {}
    for a in counted.values():
        for element, (points, max_points) in a.points_by_element.items():
            if element not in known:
                continue  # an element a later edition dropped: nothing on the page to show it under
            p, m, pending = totals.get(element, (0.0, 0.0, False))
            totals[element] = (p + points, m + max_points, pending or a.pending_manual)

    conf = confidence_by_element(confidence)
    elements = tuple(_element(e.id, e.title, e.domain or "", totals, conf.get(e.id, ConfidenceChange()))
                     for e in fw.elements)
    domains = tuple(_domain(fw.id, d.id, d.title, [e.id for e in fw.elements if e.domain == d.id], totals)
                    for d in fw.domains)

    crosswalk: dict[str, tuple[DomainMastery, ...]] = {}
    titles: dict[str, str] = {}
    for target_id in crosswalk_targets:
        target = frameworks.get(target_id)
        if target is None:
            continue  # a deployment without that framework file simply shows no such view
        walk = fw.crosswalk_to(target_id)
        crosswalk[target_id] = tuple(
            _domain(target_id, item.id, item.title, [e.id for e in fw.elements if item.id in walk.get(e.id, ())],
                    totals)
            for item in target.alignable.values())
        titles[target_id] = target.title

    counts: dict[str, int] = {}
    for a in attempts:
        counts[a.module_id] = counts.get(a.module_id, 0) + 1
    evidence = tuple(sorted(
        (EvidenceRow(a.module_id, a.module_version, a.completed_at, a.context_id, a.percent, a.passed,
                     a.pending_manual, tuple(e for e, (_, m) in a.points_by_element.items() if m > 0),
                     counts[a.module_id])
         for a in counted.values()),
        key=lambda r: (r.completed_at, r.module_id)))

    return Profile(fw.id, fw.title, elements, domains, crosswalk, titles,
                   next_steps(elements, modules_by_element, max_next_steps), evidence, counting,
                   course_filter, courses)


def next_steps(elements: Sequence[ElementMastery], modules_by_element: Mapping[str, Sequence[TeachingModule]],
               limit: int = MAX_NEXT_STEPS) -> tuple[NextStep, ...]:
    """The weakest elements, each with the modules that teach it.

    Measured weaknesses (below Proficient, lowest first) come before elements with no evidence,
    because a low score is a known gap while no evidence is only an unknown; Proficient elements
    are never suggested. Ties keep the framework's order.
    """
    order = {e.id: i for i, e in enumerate(elements)}
    weak = sorted((e for e in elements if e.percent is not None and e.band != PROFICIENT),
                  key=lambda e: (e.percent, order[e.id]))
    unknown = [e for e in elements if e.percent is None]
    return tuple(NextStep(e.id, e.title, e.domain, e.percent, e.band, tuple(modules_by_element.get(e.id, ())))
                 for e in (weak + unknown)[:max(0, limit)])


def _percent(points: float, max_points: float) -> float | None:
    if max_points <= 0:
        return None
    return min(100.0, max(0.0, 100.0 * points / max_points))


def _element(element_id: str, title: str, domain: str, totals: Mapping[str, tuple[float, float, bool]],
             confidence: ConfidenceChange) -> ElementMastery:
    points, max_points, pending = totals.get(element_id, (0.0, 0.0, False))
    percent = _percent(points, max_points)
    return ElementMastery(element_id, title, points, max_points, percent, band(percent), pending, domain, confidence)


def _domain(framework_id: str, domain_id: str, title: str, element_ids: Sequence[str],
            totals: Mapping[str, tuple[float, float, bool]]) -> DomainMastery:
    parts = [totals[e] for e in element_ids if e in totals]
    points = sum(p for p, _, _ in parts)
    max_points = sum(m for _, m, _ in parts)
    percent = _percent(points, max_points)
    return DomainMastery(domain_id, title, points, max_points, percent, band(percent),
                         any(pending for _, _, pending in parts), framework_id, tuple(element_ids))
