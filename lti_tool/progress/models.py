"""Plain data in and out of the progress service: attempts, confidence ratings and the profile."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # typing only: the service takes plain data and never needs the engine at run time
    from lti_tool.content import Module, ModuleScore

Phase = Literal["before", "after"]
Counting = Literal["best", "latest"]
PHASES: tuple[str, ...] = ("before", "after")
COUNTINGS: tuple[str, ...] = ("best", "latest")
TOLERANCE = 1e-9  # float sums of exact fractions may overshoot a maximum by a rounding error


@dataclass(frozen=True)
class AttemptResult:
    """One submitted attempt at a module, as the web layer stored it.

    ``points_by_element`` maps a DCS element to ``(points, max_points)`` for the auto-marked part
    only: leave out items still pending manual marking (``from_score`` does this), so an unmarked
    reflection neither lowers nor raises mastery until the lecturer marks it.
    """

    module_id: str
    module_version: str
    completed_at: datetime
    context_id: str | None
    points_by_element: Mapping[str, tuple[float, float]]
    percent: float
    passed: bool
    pending_manual: bool = False

    def __post_init__(self) -> None:
        for element, pair in self.points_by_element.items():
            if len(pair) != 2:
                raise ValueError(f"{self.module_id}: points for {element} must be (points, max_points)")
            points, max_points = pair
            if not (_finite(points) and _finite(max_points)) or max_points < 0 or points < 0 \
                    or points > max_points + TOLERANCE:
                raise ValueError(f"{self.module_id}: points for {element} must satisfy 0 <= points <= max_points")
        if not _finite(self.percent) or not 0 <= self.percent <= 100 + TOLERANCE:
            raise ValueError(f"{self.module_id}: percent must be from 0 to 100")

    @classmethod
    def from_score(cls, score: ModuleScore, *, module_id: str, module_version: str, completed_at: datetime,
                   context_id: str | None = None) -> AttemptResult:
        """Build from the content engine's ``ModuleScore``, dropping items pending manual marking."""
        return cls(module_id, module_version, completed_at, context_id, evidence_by_element(score),
                   score.percent, score.passed, score.pending_manual)


def evidence_by_element(score: ModuleScore) -> dict[str, tuple[float, float]]:
    """(points, max_points) per element a scored attempt evidences, items awaiting marks left out.

    Summed per activity rather than taken from ``score.by_element``, which counts an unmarked
    reflection as 0 out of its weight. What the class view stores per attempt (lti_tool.models
    AttemptElementScore) and what a profile adds up.
    """
    by_element: dict[str, tuple[float, float]] = {}
    for result in score.by_activity.values():
        if result.pending_manual:
            continue
        for element, es in result.by_element.items():
            points, max_points = by_element.get(element, (0.0, 0.0))
            by_element[element] = (points + es.points, max_points + es.max_points)
    return by_element


@dataclass(frozen=True)
class ConfidenceRatings:
    """One set of 1-5 self-ratings for a module, asked 'before' its first step or 'after' its last.

    ``context_id`` is the course it was given in; a course filter keeps only that course's sets.
    """

    module_id: str
    phase: Phase
    ratings: Mapping[str, list[int]]  # DCS element -> the ratings of that element's statements
    at: datetime
    context_id: str | None = None

    def __post_init__(self) -> None:
        if self.phase not in PHASES:
            raise ValueError(f"phase must be 'before' or 'after', not {self.phase!r}")
        for element, values in self.ratings.items():
            if not values or any(isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 5 for v in values):
                raise ValueError(f"{self.module_id}: ratings for {element} must be a non-empty list of 1-5")

    @classmethod
    def from_answers(cls, module: Module, phase: Phase, answers: Mapping[str, int], at: datetime,
                     context_id: str | None = None) -> ConfidenceRatings:
        """Group a module's confidence answers ``{statement id: 1-5}`` by the element each statement is about."""
        ratings: dict[str, list[int]] = {}
        for statement in module.confidence.statements:
            if statement.id in answers:
                ratings.setdefault(statement.element, []).append(answers[statement.id])
        return cls(module.id, phase, ratings, at, context_id)


@dataclass(frozen=True)
class TeachingModule:
    """A module that teaches an element (its module alignment to dcs-2020)."""

    module_id: str
    title: str


def teaching_modules(modules: Iterable[Module], framework_id: str = "dcs-2020") -> dict[str, list[TeachingModule]]:
    """``modules_by_element`` from the library's modules: element -> modules aligned to it.

    Focused modules come first (fewest aligned elements), so the overview module that touches
    every element is offered after the one written for that element.
    """
    ranked = sorted(modules, key=lambda m: (len(m.alignment.get(framework_id, ())), m.id))
    out: dict[str, list[TeachingModule]] = {}
    for m in ranked:
        for element in m.alignment.get(framework_id, ()):
            out.setdefault(element, []).append(TeachingModule(m.id, m.title))
    return out


@dataclass(frozen=True)
class ConfidenceChange:
    """Mean self-rating (1-5) from the first 'before' set and the latest 'after' set."""

    before: float | None = None
    after: float | None = None

    @property
    def change(self) -> float | None:
        """after - before, or None when either is missing."""
        if self.before is None or self.after is None:
            return None
        return self.after - self.before


@dataclass(frozen=True)
class Mastery:
    """Points earned over points available, for an element or a domain."""

    id: str
    title: str
    points: float
    max_points: float
    percent: float | None  # None: no evidence yet (never treated as 0)
    band: str | None
    pending_manual: bool  # some counted attempt behind it awaits manual marking

    @property
    def label(self) -> str:
        """What the chart and table call it."""
        return self.title


@dataclass(frozen=True)
class ElementMastery(Mastery):
    """Mastery of one DCS element, with its domain and confidence."""

    domain: str = ""
    confidence: ConfidenceChange = field(default_factory=ConfidenceChange)

    @property
    def label(self) -> str:
        """'R4 Online safeguarding'."""
        return f"{self.id} {self.title}"


@dataclass(frozen=True)
class DomainMastery(Mastery):
    """Mastery of a domain (DCS, or PCF/HEE through the crosswalk), aggregated from element points."""

    framework_id: str = ""
    elements: tuple[str, ...] = ()  # the DCS elements whose points it adds up


@dataclass(frozen=True)
class NextStep:
    """A weak or unevidenced element and the modules that teach it."""

    element: str
    title: str
    domain: str
    percent: float | None
    band: str | None
    modules: tuple[TeachingModule, ...]

    @property
    def evidenced(self) -> bool:
        """False when the student has no evidence for it yet (so 'start', not 'revisit')."""
        return self.percent is not None


@dataclass(frozen=True)
class EvidenceRow:
    """The counted attempt of one module, for the evidence record."""

    module_id: str
    module_version: str
    completed_at: datetime
    context_id: str | None
    percent: float
    passed: bool
    pending_manual: bool
    elements: tuple[str, ...]  # DCS elements it evidenced
    attempts: int  # attempts at this module considered (after the course filter)


@dataclass(frozen=True)
class Profile:
    """A student's capability profile: everything the profile page and evidence record show."""

    framework_id: str
    framework_title: str
    elements: tuple[ElementMastery, ...]
    domains: tuple[DomainMastery, ...]
    crosswalk: Mapping[str, tuple[DomainMastery, ...]]  # other framework id -> its domains
    crosswalk_titles: Mapping[str, str]
    next_steps: tuple[NextStep, ...]
    evidence: tuple[EvidenceRow, ...]
    counting: Counting
    course_filter: str | None
    courses: tuple[str, ...]  # every context id seen before filtering, for the filter control

    @property
    def pending_manual(self) -> bool:
        """True when a counted attempt still awaits manual marking."""
        return any(row.pending_manual for row in self.evidence)

    def element(self, element_id: str) -> ElementMastery:
        """The mastery of one element; KeyError if the framework has no such element."""
        for e in self.elements:
            if e.id == element_id:
                return e
        raise KeyError(element_id)

    def domain(self, domain_id: str, framework_id: str | None = None) -> DomainMastery:
        """A DCS domain, or a cross-walked one when ``framework_id`` names the other framework."""
        pool = self.domains if framework_id in (None, self.framework_id) else self.crosswalk[framework_id]
        for d in pool:
            if d.id == domain_id:
                return d
        raise KeyError(domain_id)


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
