"""Activity base class, the registry of activity types and scoring results."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from ..errors import Problem
from ..frameworks import DCS, Framework
from ..markdown import AssetUrl, check_markdown
from ..yamlsrc import Fields, Source, YMap


@dataclass
class Context:
    """What parsing and validation of one package needs to know."""

    src: Source
    root: Path
    frameworks: dict[str, Framework]
    strict: bool = True

    @property
    def dcs_elements(self) -> dict[str, Any]:
        """Element ids of the DCS (empty if the framework failed to load)."""
        fw = self.frameworks.get(DCS)
        return fw.alignable if fw else {}

    def markdown(self, text: str | None, line: int, where: str) -> list[Problem]:
        """Problems in Markdown written inside module.yaml (images, raw HTML)."""
        found: list[Problem] = []
        if text:
            check_markdown(text, Source(self.src.path, found), line, self.root, where, exact_lines=False)
        return found


@dataclass(frozen=True)
class ElementScore:
    """Points and maximum credited to one DCS element."""

    points: float
    max_points: float


@dataclass(frozen=True)
class ScoreResult:
    """The outcome of scoring one answer."""

    points: float
    max_points: float
    pending_manual: bool = False
    by_element: Mapping[str, ElementScore] = field(default_factory=dict)


def _result(points: Fraction, weight: Fraction, elements: tuple[str, ...], pending: bool = False) -> ScoreResult:
    """Build a ScoreResult; the weight is split equally between the tagged elements."""
    points = min(max(points, Fraction(0)), weight)  # clamp: never below 0 nor above the weight
    n = len(elements) or 1
    by_element = {e: ElementScore(float(points / n), float(weight / n)) for e in elements}
    return ScoreResult(float(points), float(weight), pending, by_element)


ACTIVITY_TYPES: dict[str, type[Activity]] = {}
A = TypeVar("A", bound="type[Activity]")


def activity_type(name: str) -> Callable[[A], A]:
    """Class decorator: register an activity class under its YAML ``type`` name."""
    def register(cls: A) -> A:
        cls.type = name
        ACTIVITY_TYPES[name] = cls
        return cls
    return register


COMMON_KEYS = {"id", "type", "elements", "weight", "title"}


@dataclass(frozen=True)
class Activity:
    """Base class: fields every scored activity has."""

    type: ClassVar[str] = ""
    scored: ClassVar[bool] = True

    id: str
    elements: tuple[str, ...]
    weight: Fraction
    title: str | None
    line: int = field(compare=False)
    elements_line: int = field(default=0, compare=False)

    @classmethod
    def parse(cls, data: YMap, ctx: Context) -> Activity | None:
        """Build the activity from YAML, reporting schema problems; None when unusable."""
        raise NotImplementedError

    @staticmethod
    def _common(f: Fields) -> dict[str, Any] | None:
        """Read the fields every activity shares; None when one of them is unusable."""
        aid = f.ident("id")
        elements = tuple(e for e, _ in f.id_list("elements", required=True))
        weight = f.number("weight", positive=True)
        title = f.text("title", required=False)
        if aid is None or weight is None:
            return None
        return {"id": aid, "elements": elements, "weight": weight, "title": title, "line": f.data.line,
                "elements_line": f.line("elements")}

    @property
    def where(self) -> str:
        """How messages name this activity."""
        return f"activity '{self.id}'"

    def validate(self, ctx: Context) -> list[Problem]:
        """Semantic checks; subclasses extend. Returns new problems (does not record them)."""
        out: list[Problem] = []
        dcs = ctx.dcs_elements
        if self.scored and not self.elements:
            out.append(Problem(ctx.src.path, self.line, f"{self.where} has no elements; add "
                               "elements: [..] with the DCS element codes it evidences, e.g. [R4]"))
        for e in self.elements:
            if dcs and e not in dcs:
                out.append(Problem(ctx.src.path, self.elements_line or self.line, f"{self.where} lists element '{e}', which is "
                                   f"not a {DCS} element; use one of {', '.join(dcs)}"))
        if len(set(self.elements)) != len(self.elements):
            out.append(Problem(ctx.src.path, self.elements_line or self.line, f"{self.where} lists an element twice"))
        return out

    @property
    def max_points(self) -> float:
        """Most points the activity can give."""
        return float(self.weight) if self.scored else 0.0

    def render(self, asset_url: AssetUrl | None = None, state: Any = None,
               seed: str | None = None) -> dict[str, Any]:
        """Template data for asking the question: never reveals correct answers or feedback."""
        raise NotImplementedError

    def check_answer(self, answer: Any) -> Any:
        """The answer in canonical form; raises InvalidAnswer when malformed."""
        raise NotImplementedError

    def feedback(self, answer: Any, asset_url: AssetUrl | None = None,
                 seed: str | None = None) -> dict[str, Any]:
        """Template data shown after answering: what was right and why."""
        raise NotImplementedError

    def score(self, answer: Any, **settings: Any) -> ScoreResult:
        """Score an answer; link settings the type does not use are ignored."""
        raise NotImplementedError

    def best_answer(self) -> Any:
        """An answer that earns full marks (for previews and tests)."""
        raise NotImplementedError

    def _base_render(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "title": self.title, "elements": list(self.elements),
                "weight": float(self.weight)}


