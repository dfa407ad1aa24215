"""Option-based questions: single_choice and multiple_response."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from ..errors import InvalidAnswer, Problem
from ..markdown import AssetUrl, render_markdown
from ..order import shuffled
from ..yamlsrc import Fields, YMap, expect_map
from .base import COMMON_KEYS, Activity, Context, ScoreResult, _result, activity_type


@dataclass(frozen=True)
class Option:
    """One option of a choice question."""

    id: str
    text: str
    correct: bool
    feedback: str
    line: int = field(compare=False)
    pinned: bool = False  # keeps its written place when options are shuffled


@dataclass(frozen=True)
class _ChoiceActivity(Activity):
    """Shared parsing and rendering for option-based questions."""

    prompt: str = ""
    options: tuple[Option, ...] = ()

    @classmethod
    def parse(cls, data: YMap, ctx: Context) -> Activity | None:
        f = Fields(data, ctx.src, f"activity '{data.get('id', '?')}'", COMMON_KEYS | {"prompt", "options"})
        common = cls._common(f)
        prompt = f.text("prompt", what="the question")
        options: list[Option] = []
        for i, raw in enumerate(f.seq("options", what="the options ('options:' then '- {id: a, ...}')") or []):
            o = expect_map(raw, data["options"].line_at(i), ctx.src, f"each option of {f.where}")
            if o is None:
                continue
            of = Fields(o, ctx.src, f"option '{o.get('id', i + 1)}' of {f.where}",
                        {"id", "text", "correct", "feedback", "pinned"})
            oid, text = of.ident(), of.text("text", what="the option text")
            fb = of.text("feedback", what="feedback that explains why the option is right or wrong")
            if oid is not None:
                options.append(Option(oid, text or "", of.boolean("correct"), fb or "", o.line,
                                      of.boolean("pinned")))
        if common is None or prompt is None:
            return None
        return cls(**common, prompt=prompt, options=tuple(options))

    def validate(self, ctx: Context) -> list[Problem]:
        out = super().validate(ctx)
        p = ctx.src.path
        if len(self.options) < 2:
            out.append(Problem(p, self.line, f"{self.where} needs at least two options"))
        seen: dict[str, int] = {}
        for o in self.options:
            if o.id in seen:
                out.append(Problem(p, o.line, f"option id '{o.id}' is used twice in {self.where} (first at "
                                   f"line {seen[o.id]}); give each option its own id"))
            seen.setdefault(o.id, o.line)
        out += ctx.markdown(self.prompt, self.line, f"the prompt of {self.where}")
        for o in self.options:
            out += ctx.markdown(o.text, o.line, f"option '{o.id}' of {self.where}")
            out += ctx.markdown(o.feedback, o.line, f"the feedback of option '{o.id}'")
        return out

    def _option_ids(self) -> set[str]:
        return {o.id for o in self.options}

    def ordered(self, seed: str | None) -> list[Option]:
        """The options in the order an attempt with this seed shows them."""
        return shuffled(self.options, seed, self.id)

    def render(self, asset_url: AssetUrl | None = None, state: Any = None,
               seed: str | None = None) -> dict[str, Any]:
        return {**self._base_render(), "prompt_html": render_markdown(self.prompt, asset_url),
                "multiple": self.type == "multiple_response",
                "options": [{"id": o.id, "text_html": render_markdown(o.text, asset_url, inline=True)}
                            for o in self.ordered(seed)]}

    def feedback(self, answer: Any, asset_url: AssetUrl | None = None,
                 seed: str | None = None) -> dict[str, Any]:
        chosen = self._chosen(answer)
        result = self.score(answer)
        return {**self._base_render(), "prompt_html": render_markdown(self.prompt, asset_url),
                "points": result.points, "max_points": result.max_points,
                "correct": result.points == result.max_points,
                "partly": 0 < result.points < result.max_points,
                "options": [{"id": o.id, "text_html": render_markdown(o.text, asset_url, inline=True),
                             "chosen": o.id in chosen, "correct": o.correct,
                             "feedback_html": render_markdown(o.feedback, asset_url)}
                            for o in self.ordered(seed)]}

    def _chosen(self, answer: Any) -> set[str]:
        raise NotImplementedError


@activity_type("single_choice")
@dataclass(frozen=True)
class SingleChoice(_ChoiceActivity):
    """One correct option; full weight for it, 0 otherwise."""

    def validate(self, ctx: Context) -> list[Problem]:
        out = super().validate(ctx)
        correct = [o for o in self.options if o.correct]
        if len(correct) != 1 and self.options:
            ids = ", ".join(f"'{o.id}'" for o in correct) or "none"
            out.append(Problem(ctx.src.path, (correct[1] if len(correct) > 1 else self).line,
                               f"single_choice {self.where} must have exactly one option with correct: true "
                               f"(found {ids}); mark one, or use type: multiple_response"))
        return out

    def check_answer(self, answer: Any) -> str:
        if not isinstance(answer, str):
            raise InvalidAnswer(f"{self.where}: choose one option")
        if answer not in self._option_ids():
            raise InvalidAnswer(f"{self.where}: there is no option '{answer[:40]}'")
        return answer

    def _chosen(self, answer: Any) -> set[str]:
        return {self.check_answer(answer)}

    def score(self, answer: Any, **settings: Any) -> ScoreResult:
        chosen = self.check_answer(answer)
        right = any(o.correct and o.id == chosen for o in self.options)
        return _result(self.weight if right else Fraction(0), self.weight, self.elements)

    def best_answer(self) -> str:
        return next(o.id for o in self.options if o.correct)


@activity_type("multiple_response")
@dataclass(frozen=True)
class MultipleResponse(_ChoiceActivity):
    """Choose all that apply; +1/C per correct option chosen, -1/C per incorrect, floor 0."""

    def validate(self, ctx: Context) -> list[Problem]:
        out = super().validate(ctx)
        if self.options and not any(o.correct for o in self.options):
            out.append(Problem(ctx.src.path, self.line, f"multiple_response {self.where} has no correct "
                               "option; mark at least one with correct: true"))
        if self.options and all(o.correct for o in self.options):
            out.append(Problem(ctx.src.path, self.line, f"multiple_response {self.where} has no incorrect "
                               "option, so choosing everything wins; add at least one wrong option"))
        return out

    def check_answer(self, answer: Any) -> frozenset[str]:
        if not isinstance(answer, (list, tuple, set, frozenset)) or not all(isinstance(x, str) for x in answer):
            raise InvalidAnswer(f"{self.where}: the answer must be a list of option ids")
        chosen = frozenset(answer)
        if len(chosen) != len(answer):
            raise InvalidAnswer(f"{self.where}: an option was chosen twice")
        unknown = chosen - self._option_ids()
        if unknown:
            raise InvalidAnswer(f"{self.where}: there is no option '{sorted(unknown)[0][:40]}'")
        return chosen

    def _chosen(self, answer: Any) -> set[str]:
        return set(self.check_answer(answer))

    def score(self, answer: Any, **settings: Any) -> ScoreResult:
        chosen = self.check_answer(answer)
        c = sum(1 for o in self.options if o.correct)
        if c == 0:  # only possible in an invalid package; score 0 rather than divide by zero
            return _result(Fraction(0), self.weight, self.elements)
        hits = sum(1 for o in self.options if o.id in chosen and o.correct)
        misses = sum(1 for o in self.options if o.id in chosen and not o.correct)
        return _result(Fraction(hits - misses, c) * self.weight, self.weight, self.elements)

    def best_answer(self) -> list[str]:
        return [o.id for o in self.options if o.correct]
