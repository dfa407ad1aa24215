"""A row of the class view and the class summary: plain figures in, text for the page out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from ..attempts.profile import Plan, Total, domain_masteries, mastery_of, percent_of
from ..content import Library
from ..progress import DCS_FRAMEWORK, Mastery, percent_label
from .figures import Figures


@dataclass(frozen=True)
class Cell:
    """One value of the heat map: a domain's or element's mastery, written out in full."""

    id: str
    title: str
    percent: float | None
    band: str | None
    pending: bool
    points: float = 0.0
    max_points: float = 0.0

    @property
    def text(self) -> str:
        """'Capable 62%' or 'No evidence': never only a colour."""
        if self.percent is None:
            return "No evidence"
        return f"{self.band} {percent_label(self.percent)}"

    @property
    def css(self) -> str:
        """The band as a class name, for the colour (an extra, never the only cue)."""
        return f"band-{(self.band or 'none').lower()}"


@dataclass(frozen=True)
class Columns:
    """The heat map's columns: DCS domains and elements as (id, title), in framework order."""

    domains: tuple[tuple[str, str], ...]
    elements: tuple[tuple[str, str], ...]


def columns(library: Library) -> Columns:
    """Domains and elements of the framework mastery is measured against."""
    framework = library.frameworks[DCS_FRAMEWORK]
    return Columns(tuple((d.id, d.title) for d in framework.domains),
                   tuple((e.id, e.title) for e in framework.elements))


def _cell(mastery: Mastery) -> Cell:
    """A heat-map cell from the progress service's mastery."""
    return Cell(mastery.id, mastery.title, mastery.percent, mastery.band,
                mastery.pending_manual, mastery.points, mastery.max_points)


@dataclass
class Student:
    """One row of the class view: who, and their figures summed up by the database."""

    sub: str
    user_id: int | None  # None: never opened the tool
    name: str
    email: str | None
    status: str  # the platform's Active/Inactive, or NOT_LISTED
    figures: Figures = field(default_factory=Figures)
    totals: Mapping[str, Total] = field(default_factory=dict)  # per element, for mastery
    plan: Plan | None = None  # the framework the cells are laid out in
    modules_total: int = 0
    links_total: int = 0
    last_activity: datetime | None = None
    grades: list[str] = field(default_factory=list)  # where each grade stands, in words

    @property
    def grade_status(self) -> str | None:
        """The grades' standing as one line (a table cell, the CSV)."""
        return "; ".join(self.grades) or None

    @property
    def launched(self) -> bool:
        """Whether the student has ever opened the tool in this course."""
        return self.user_id is not None

    @property
    def sort_key(self) -> tuple[str, str, str]:
        """Family name, then the full name."""
        return (self.name.split()[-1].lower() if self.name.split() else "", self.name.lower(),
                self.sub)

    @property
    def started(self) -> bool:
        """Whether they have an attempt in the scope (any state)."""
        return self.figures.attempts > 0

    @property
    def submitted(self) -> int:
        """Submitted attempts on module versions still installed."""
        return self.figures.submitted

    @property
    def pending_marking(self) -> int:
        """Of those, how many wait for a marker."""
        return self.figures.pending_marking

    @property
    def modules_done(self) -> int:
        """The scope's modules with a submitted attempt."""
        return self.figures.modules_done

    @property
    def tags(self) -> frozenset[str]:
        """Which of the class view's filters (FILTERS) the student is in."""
        tags = set()
        if not self.started:
            tags.add("not-started")
        if self.pending_marking:
            tags.add("waiting")
        if self.figures.below:
            tags.add("below")
        return frozenset(tags)

    @property
    def passed(self) -> bool:
        """An attempt counts in every link and none is below its pass mark."""
        counted = self.figures.counted_links
        return counted > 0 and not self.figures.below and counted == self.links_total

    @property
    def domains(self) -> tuple[Cell, ...]:
        """Mastery per DCS domain (of the rows shown: see services.add_details)."""
        return tuple(_cell(m) for m in domain_masteries(self._plan(), self.totals))

    @property
    def elements(self) -> tuple[Cell, ...]:
        """Mastery per DCS element (of the rows shown)."""
        return tuple(_cell(m) for m in mastery_of(self._plan(), self.totals).elements)

    def percents(self) -> list[float | None]:
        """Mastery percentages per domain then element, in column order (None: no evidence):
        the cells' figures without the cells, for the CSV of a whole class."""
        plan, totals = self._plan(), self.totals
        out: list[float | None] = []
        for _, _, element_ids in plan.domains:
            parts = [totals[e] for e in element_ids if e in totals]
            out.append(percent_of(sum(p for p, _, _ in parts), sum(m for _, m, _ in parts))
                       if parts else None)
        for element_id, _ in plan.elements:
            total = totals.get(element_id)
            out.append(None if total is None else percent_of(total[0], total[1]))
        return out

    def _plan(self) -> Plan:
        """The framework's shape; a student made without one has no figures to show."""
        if self.plan is None:
            raise ValueError(f"student {self.sub} has no framework plan")
        return self.plan


FILTERS = {"not-started": "Not started", "waiting": "Waiting for marking",
           "below": "Below the pass mark"}
SORTS = {"name": "family name", "completion": "completion", "activity": "last activity"}


def shown_students(students: Sequence[Student], show: str | None, sort: str) -> list[Student]:
    """The class filtered (FILTERS; None: everyone) and sorted (SORTS)."""
    shown = [s for s in students if show is None or show in s.tags]
    if sort == "completion":
        shown.sort(key=lambda s: (-s.modules_done, -s.submitted, s.sort_key))
    elif sort == "activity":
        shown.sort(key=lambda s: (s.last_activity is None,
                                  -(s.last_activity.timestamp() if s.last_activity else 0)))
    return shown


@dataclass(frozen=True)
class Summary:
    """The whole class at a glance: the heat map's last row."""

    started: int
    submitted: int
    passed: int
    domains: dict[str, float]  # mean of the students' domain percentages, where they have one
    counts: dict[str, int]  # students in each filter


def class_summary(students: Sequence[Student],
                  domain_totals: Mapping[int, Mapping[str, tuple[float, float]]]) -> Summary:
    """How many started, submitted and passed; each domain's mean over everyone with evidence
    in it (``domain_totals``: per user id and domain, points and points available)."""
    domains: dict[str, list[float]] = {}
    for s in students:
        for domain, (points, max_points) in domain_totals.get(s.user_id or 0, {}).items():
            percent = percent_of(points, max_points)
            if percent is not None:
                domains.setdefault(domain, []).append(percent)
    return Summary(sum(s.started for s in students), sum(s.submitted > 0 for s in students),
                   sum(s.passed for s in students),
                   {k: sum(v) / len(v) for k, v in domains.items()},
                   {key: sum(key in s.tags for s in students) for key in FILTERS})
