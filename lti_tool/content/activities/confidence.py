"""Confidence self-ratings before and after a module; never part of the grade."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, ClassVar

from ..errors import InvalidAnswer, Problem
from ..frameworks import DCS
from ..markdown import AssetUrl, render_markdown
from ..yamlsrc import Fields, YList, YMap, expect_map
from .base import Activity, Context, ScoreResult, activity_type

SCALE = {1: "Not at all confident", 2: "Slightly confident", 3: "Fairly confident", 4: "Confident",
         5: "Very confident"}


@dataclass(frozen=True)
class Statement:
    """One confidence statement, tied to the DCS element it is about."""

    id: str
    element: str
    text: str
    line: int = field(compare=False)


@activity_type("confidence")
@dataclass(frozen=True)
class Confidence(Activity):
    """Self-rating 1-5 before and after the module; feeds the profile, never the grade."""

    scored: ClassVar[bool] = False
    statements: tuple[Statement, ...] = ()

    @classmethod
    def parse(cls, data: YMap, ctx: Context) -> Activity | None:
        """Not written in steps: built from the module-level ``confidence`` list instead."""
        ctx.src.error(data.line, "confidence is not a step; list the statements under the module's "
                                 "'confidence:' key and they are asked before and after the module")
        return None

    @classmethod
    def from_list(cls, items: YList | None, line: int, ctx: Context) -> Confidence:
        """Build from the module's ``confidence`` list."""
        statements: list[Statement] = []
        items = items or YList()
        for i, raw in enumerate(items):
            s = expect_map(raw, items.line_at(i), ctx.src, "each confidence statement")
            if s is None:
                continue
            sf = Fields(s, ctx.src, f"confidence statement '{s.get('id', i + 1)}'", {"id", "element", "text"})
            sid, el = sf.ident(), sf.ident("element")
            text = sf.text("text", what="an 'I can ...' statement")
            if sid is not None and el is not None and text is not None:
                statements.append(Statement(sid, el, text, s.line))
        elements = tuple(dict.fromkeys(s.element for s in statements))
        return cls(id="confidence", elements=elements, weight=Fraction(0), title=None, line=line,
                   statements=tuple(statements))

    def validate(self, ctx: Context) -> list[Problem]:
        out: list[Problem] = []
        dcs = ctx.dcs_elements
        seen: dict[str, int] = {}
        for s in self.statements:
            if s.id in seen:
                out.append(Problem(ctx.src.path, s.line, f"confidence id '{s.id}' is used twice (first at "
                                   f"line {seen[s.id]})"))
            seen.setdefault(s.id, s.line)
            if dcs and s.element not in dcs:
                out.append(Problem(ctx.src.path, s.line, f"confidence statement '{s.id}' names element "
                                   f"'{s.element}', which is not a {DCS} element; use one of {', '.join(dcs)}"))
        return out

    def check_answer(self, answer: Any) -> dict[str, int]:
        if not isinstance(answer, Mapping):
            raise InvalidAnswer("confidence: rate every statement from 1 to 5")
        ids = {s.id for s in self.statements}
        unknown = set(answer) - ids
        if unknown:
            raise InvalidAnswer(f"confidence: there is no statement '{str(sorted(map(str, unknown))[0])[:40]}'")
        out = {}
        for sid in ids:
            rating = answer.get(sid)
            if isinstance(rating, bool) or not isinstance(rating, int) or rating not in SCALE:
                raise InvalidAnswer(f"confidence: rate statement '{sid}' from 1 to 5")
            out[sid] = rating
        return out

    def score(self, answer: Any, **settings: Any) -> ScoreResult:
        """Always 0 of 0: confidence never counts towards the grade."""
        self.check_answer(answer)
        return ScoreResult(0.0, 0.0)

    def profile(self, answer: Any) -> dict[str, float]:
        """Mean rating per DCS element."""
        ratings = self.check_answer(answer)
        sums: dict[str, list[int]] = {}
        for s in self.statements:
            sums.setdefault(s.element, []).append(ratings[s.id])
        return {e: sum(v) / len(v) for e, v in sums.items()}

    def render(self, asset_url: AssetUrl | None = None, state: Any = None,
               seed: str | None = None) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "scale": dict(SCALE),
                "statements": [{"id": s.id, "element": s.element,
                                "text_html": render_markdown(s.text, asset_url, inline=True)}
                               for s in self.statements]}

    def feedback(self, answer: Any, asset_url: AssetUrl | None = None,
                 seed: str | None = None) -> dict[str, Any]:
        return {**self.render(asset_url), "ratings": self.check_answer(answer), "profile": self.profile(answer)}

    def best_answer(self) -> dict[str, int]:
        return {s.id: 5 for s in self.statements}
