"""Activity types: one registry of classes that parse, validate, render, give feedback and score.

Answer shapes (anything else raises ``InvalidAnswer``, never another exception):

- single_choice: the chosen option id, a ``str``.
- multiple_response: the chosen option ids, a list/tuple/set of distinct ``str`` (may be empty).
- scenario: the choice ids taken, in order, from ``start`` to an end step (list/tuple of ``str``).
- reflection: the student's text, a ``str``; lecturer marks come in ``score(..., marks={...})``.
- confidence: ``{statement_id: rating}`` with an ``int`` rating 1-5 for every statement.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from fractions import Fraction
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from .errors import InvalidAnswer, Problem
from .frameworks import DCS, Framework
from .markdown import AssetUrl, check_markdown, render_markdown
from .yamlsrc import Fields, Source, YList, YMap, expect_map

MIN_DECISIONS = 3  # decision points on every scenario path: the learning module rule
MAX_TEXT = 20_000  # characters in a reflection; longer is an abuse, not an essay


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

    def render(self, asset_url: AssetUrl | None = None, state: Any = None) -> dict[str, Any]:
        """Template data for asking the question: never reveals correct answers or feedback."""
        raise NotImplementedError

    def check_answer(self, answer: Any) -> Any:
        """The answer in canonical form; raises InvalidAnswer when malformed."""
        raise NotImplementedError

    def feedback(self, answer: Any, asset_url: AssetUrl | None = None) -> dict[str, Any]:
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


# --- single_choice and multiple_response ---------------------------------------------------

@dataclass(frozen=True)
class Option:
    """One option of a choice question."""

    id: str
    text: str
    correct: bool
    feedback: str
    line: int = field(compare=False)


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
                        {"id", "text", "correct", "feedback"})
            oid, text = of.ident(), of.text("text", what="the option text")
            fb = of.text("feedback", what="feedback that explains why the option is right or wrong")
            if oid is not None:
                options.append(Option(oid, text or "", of.boolean("correct"), fb or "", o.line))
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

    def render(self, asset_url: AssetUrl | None = None, state: Any = None) -> dict[str, Any]:
        return {**self._base_render(), "prompt_html": render_markdown(self.prompt, asset_url),
                "multiple": self.type == "multiple_response",
                "options": [{"id": o.id, "text_html": render_markdown(o.text, asset_url, inline=True)} for o in self.options]}

    def feedback(self, answer: Any, asset_url: AssetUrl | None = None) -> dict[str, Any]:
        chosen = self._chosen(answer)
        result = self.score(answer)
        return {**self._base_render(), "prompt_html": render_markdown(self.prompt, asset_url),
                "points": result.points, "max_points": result.max_points,
                "correct": result.points == result.max_points,
                "options": [{"id": o.id, "text_html": render_markdown(o.text, asset_url, inline=True),
                             "chosen": o.id in chosen, "correct": o.correct,
                             "feedback_html": render_markdown(o.feedback, asset_url)} for o in self.options]}

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


# --- scenario --------------------------------------------------------------------------------

@dataclass(frozen=True)
class ScenarioChoice:
    """A choice at a decision point."""

    id: str
    text: str
    score: Fraction
    next: str
    consequence: str
    feedback: str
    line: int = field(compare=False)


@dataclass(frozen=True)
class ScenarioStep:
    """A decision point (with choices) or an ending (``end: true``)."""

    id: str
    text: str
    end: bool
    choices: tuple[ScenarioChoice, ...]
    line: int = field(compare=False)


@activity_type("scenario")
@dataclass(frozen=True)
class Scenario(Activity):
    """A branching case; score = points on the path taken / best path's points * weight."""

    intro: str = ""
    start: str = ""
    steps: tuple[ScenarioStep, ...] = ()
    start_line: int = field(default=0, compare=False)

    @classmethod
    def parse(cls, data: YMap, ctx: Context) -> Activity | None:
        f = Fields(data, ctx.src, f"activity '{data.get('id', '?')}'", COMMON_KEYS | {"intro", "start", "steps"})
        common = cls._common(f)
        intro = f.text("intro", required=False) or ""
        start = f.ident("start")
        steps: list[ScenarioStep] = []
        for i, raw in enumerate(f.seq("steps") or []):
            s = expect_map(raw, data["steps"].line_at(i), ctx.src, f"each step of {f.where}")
            if s is None:
                continue
            sf = Fields(s, ctx.src, f"step '{s.get('id', i + 1)}' of {f.where}", {"id", "text", "end", "choices"})
            sid, text, end = sf.ident(), sf.text("text", what="what happens at this point"), sf.boolean("end")
            choices: list[ScenarioChoice] = []
            raw_choices = sf.seq("choices", required=False)
            for j, rc in enumerate(raw_choices or []):
                c = expect_map(rc, raw_choices.line_at(j), ctx.src, f"each choice of {sf.where}")
                if c is None:
                    continue
                cf = Fields(c, ctx.src, f"choice '{c.get('id', j + 1)}' of step '{sid}' in {f.where}",
                            {"id", "text", "score", "next", "consequence", "feedback"})
                cid, ctext = cf.ident(), cf.text("text", what="what the worker does")
                cscore = cf.number("score", minimum=0)
                cnext = cf.ident("next")
                cons = cf.text("consequence", what="what happens next in the story")
                fb = cf.text("feedback", what="feedback that explains why this choice is or is not good practice")
                if cid is not None:
                    choices.append(ScenarioChoice(cid, ctext or "", cscore or Fraction(0), cnext or "",
                                                  cons or "", fb or "", c.line))
            if sid is not None:
                steps.append(ScenarioStep(sid, text or "", end, tuple(choices), s.line))
        if common is None or start is None:
            return None
        return cls(**common, intro=intro, start=start, steps=tuple(steps), start_line=f.line("start"))

    @cached_property
    def step_map(self) -> dict[str, ScenarioStep]:
        """Steps by id (first wins when an id repeats; validate reports that)."""
        out: dict[str, ScenarioStep] = {}
        for s in self.steps:
            out.setdefault(s.id, s)
        return out

    def validate(self, ctx: Context) -> list[Problem]:
        out = super().validate(ctx)
        p, w = ctx.src.path, self.where
        steps = self.step_map
        seen: dict[str, int] = {}
        for s in self.steps:
            if s.id in seen:
                out.append(Problem(p, s.line, f"step id '{s.id}' is used twice in {w} (first at line "
                                   f"{seen[s.id]}); give each step its own id"))
            seen.setdefault(s.id, s.line)
            cseen: dict[str, int] = {}
            for c in s.choices:
                if c.id in cseen:
                    out.append(Problem(p, c.line, f"choice id '{c.id}' is used twice in step '{s.id}' of {w}"))
                cseen.setdefault(c.id, c.line)
            if s.end and s.choices:
                out.append(Problem(p, s.line, f"step '{s.id}' of {w} has end: true and choices; an ending "
                                   "has no choices, so remove them or remove end: true"))
            if not s.end and not s.choices:
                out.append(Problem(p, s.line, f"step '{s.id}' of {w} is a dead end: it has no choices and "
                                   "is not an ending; add choices or set end: true"))
            for c in s.choices:
                if c.next and c.next not in steps:
                    out.append(Problem(p, c.line, f"choice '{c.id}' of step '{s.id}' in {w} goes to "
                                       f"'{c.next}', which is not a step; use one of {', '.join(steps)}"))
            out += ctx.markdown(s.text, s.line, f"step '{s.id}' of {w}")
            for c in s.choices:
                out += ctx.markdown(c.text, c.line, f"choice '{c.id}' of step '{s.id}'")
                out += ctx.markdown(c.consequence, c.line, f"the consequence of choice '{c.id}' of step '{s.id}'")
                out += ctx.markdown(c.feedback, c.line, f"the feedback of choice '{c.id}' of step '{s.id}'")
        out += ctx.markdown(self.intro, self.line, f"the intro of {w}")
        if not any(s.end for s in self.steps):
            out.append(Problem(p, self.line, f"{w} has no ending; add a step with end: true"))
        if self.start not in steps:
            out.append(Problem(p, self.start_line, f"start '{self.start}' of {w} is not a step id"))
            return out
        if any(p.is_error for p in out):
            return out  # the graph checks below assume every step and target exists
        cycle = self._find_cycle()
        if cycle:
            step, choice = cycle
            out.append(Problem(p, choice.line, f"choice '{choice.id}' of step '{step.id}' in {w} leads back "
                               f"to '{choice.next}', making a loop; a scenario must always move towards an end"))
            return out
        reachable = self._reachable()
        for s in self.steps:
            if s.id not in reachable:
                out.append(Problem(p, s.line, f"step '{s.id}' of {w} cannot be reached from start "
                                   f"'{self.start}'; point a choice's next at it or remove it"))
        route = self._fewest_decisions()
        if len(route) - 1 < MIN_DECISIONS:
            out.append(Problem(p, self.line, f"{w} has a path with only {len(route) - 1} decision point(s) "
                               f"({' -> '.join(route)}); every path needs at least {MIN_DECISIONS} before an ending"))
        if self._best_points() <= 0:
            out.append(Problem(p, self.line, f"{w} gives no points on any path; give good choices a score "
                               "above 0"))
        return out

    def _find_cycle(self) -> tuple[ScenarioStep, ScenarioChoice] | None:
        steps, state = self.step_map, {}  # state: 1 = on the current DFS path, 2 = finished
        for root in [self.start] + [s.id for s in self.steps]:
            if root in state:
                continue
            stack = [(root, iter(steps[root].choices))]
            state[root] = 1
            while stack:
                sid, it = stack[-1]
                choice = next(it, None)
                if choice is None:
                    state[sid] = 2
                    stack.pop()
                elif state.get(choice.next) == 1:
                    return steps[sid], choice
                elif choice.next not in state:
                    state[choice.next] = 1
                    stack.append((choice.next, iter(steps[choice.next].choices)))
        return None

    def _reachable(self) -> set[str]:
        steps, seen, todo = self.step_map, {self.start}, [self.start]
        while todo:
            for c in steps[todo.pop()].choices:
                if c.next not in seen:
                    seen.add(c.next)
                    todo.append(c.next)
        return seen

    def _fewest_decisions(self) -> list[str]:
        """Step ids (ending included) of the route with fewest decisions; graph known to be a DAG."""
        steps, memo = self.step_map, {}

        def walk(sid: str) -> list[str]:
            if sid not in memo:
                s = steps[sid]
                memo[sid] = [sid] if s.end else [sid] + min((walk(c.next) for c in s.choices), key=len)
            return memo[sid]
        return walk(self.start)

    @cached_property
    def _best_table(self) -> dict[str, Fraction]:
        """Best points still collectable from each step (only called once the graph is a DAG)."""
        steps, memo = self.step_map, {}

        def best(sid: str) -> Fraction:
            if sid not in memo:
                s = steps[sid]
                memo[sid] = Fraction(0) if s.end else max(c.score + best(c.next) for c in s.choices)
            return memo[sid]
        for sid in steps:
            best(sid)
        return memo

    def _best_from(self, sid: str) -> Fraction:
        return self._best_table[sid]

    def _best_points(self) -> Fraction:
        return self._best_from(self.start)

    def walk(self, answer: Any, complete: bool = True) -> list[tuple[ScenarioStep, ScenarioChoice]]:
        """Follow choice ids from start; raises InvalidAnswer if one is not offered at its step."""
        if not isinstance(answer, (list, tuple)) or not all(isinstance(x, str) for x in answer):
            raise InvalidAnswer(f"{self.where}: the answer must be the list of choice ids taken")
        steps = self.step_map
        step, taken = steps.get(self.start), []
        for cid in answer:
            if step is None or step.end:
                raise InvalidAnswer(f"{self.where}: the case has already ended; no more choices")
            choice = next((c for c in step.choices if c.id == cid), None)
            if choice is None:
                raise InvalidAnswer(f"{self.where}: step '{step.id}' has no choice '{cid[:40]}'")
            taken.append((step, choice))
            step = steps.get(choice.next)
        if complete and (step is None or not step.end):
            raise InvalidAnswer(f"{self.where}: the path stops before the case ends")
        return taken

    def current_step(self, path: Any) -> ScenarioStep:
        """The step reached after the choices in ``path``."""
        taken = self.walk(path, complete=False)
        return self.step_map[taken[-1][1].next] if taken else self.step_map[self.start]

    def check_answer(self, answer: Any) -> tuple[str, ...]:
        self.walk(answer)
        return tuple(answer)

    def render(self, asset_url: AssetUrl | None = None, state: Any = None) -> dict[str, Any]:
        """The step reached by ``state`` (choice ids so far), with the story so far."""
        path = list(state or [])
        taken = self.walk(path, complete=False)
        step = self.current_step(path)
        md = lambda t: render_markdown(t, asset_url)  # noqa: E731
        mdi = lambda t: render_markdown(t, asset_url, inline=True)  # noqa: E731
        return {**self._base_render(), "intro_html": md(self.intro), "path": path,
                "history": [{"step_id": s.id, "text_html": md(s.text), "choice_id": c.id,
                             "choice_html": mdi(c.text), "consequence_html": md(c.consequence)} for s, c in taken],
                "step": {"id": step.id, "text_html": md(step.text), "end": step.end,
                         "choices": [{"id": c.id, "text_html": mdi(c.text)} for c in step.choices]}}

    def feedback(self, answer: Any, asset_url: AssetUrl | None = None) -> dict[str, Any]:
        taken = self.walk(answer)
        md = lambda t: render_markdown(t, asset_url)  # noqa: E731
        mdi = lambda t: render_markdown(t, asset_url, inline=True)  # noqa: E731
        result = self.score(answer)
        ending = self.current_step(answer)
        return {**self._base_render(), "points": result.points, "max_points": result.max_points,
                "ending_html": md(ending.text),
                "steps": [{"step_id": s.id, "text_html": md(s.text), "choice_id": c.id, "choice_html": mdi(c.text),
                           "consequence_html": md(c.consequence), "feedback_html": md(c.feedback),
                           "best": c.score + self._best_from(c.next) == self._best_from(s.id)}
                          for s, c in taken]}

    def score(self, answer: Any, **settings: Any) -> ScoreResult:
        taken = self.walk(answer)
        best = self._best_points()
        if best <= 0:  # only possible in an invalid package
            return _result(Fraction(0), self.weight, self.elements)
        collected = sum((c.score for _, c in taken), Fraction(0))
        return _result(collected / best * self.weight, self.weight, self.elements)

    def best_answer(self) -> list[str]:
        path, sid = [], self.start
        while not self.step_map[sid].end:
            choice = max(self.step_map[sid].choices, key=lambda c: c.score + self._best_from(c.next))
            path.append(choice.id)
            sid = choice.next
        return path


# --- reflection ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Criterion:
    """One rubric criterion the lecturer marks from 0 to ``points``."""

    id: str
    description: str
    points: Fraction
    line: int = field(compare=False)


_WORD_RE = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")


def word_count(text: str) -> int:
    """Words in ``text`` (runs of letters/digits; apostrophes and hyphens join)."""
    return len(_WORD_RE.findall(text))


@activity_type("reflection")
@dataclass(frozen=True)
class Reflection(Activity):
    """Free text marked by a lecturer against a rubric, or completion credit."""

    prompt: str = ""
    min_words: int = 0
    rubric: tuple[Criterion, ...] = ()

    @classmethod
    def parse(cls, data: YMap, ctx: Context) -> Activity | None:
        f = Fields(data, ctx.src, f"activity '{data.get('id', '?')}'", COMMON_KEYS | {"prompt", "min_words", "rubric"})
        common = cls._common(f)
        prompt = f.text("prompt", what="the question to reflect on")
        min_words = f.integer("min_words", low=1, high=5000)
        rubric: list[Criterion] = []
        for i, raw in enumerate(f.seq("rubric") or []):
            r = expect_map(raw, data["rubric"].line_at(i), ctx.src, f"each rubric criterion of {f.where}")
            if r is None:
                continue
            rf = Fields(r, ctx.src, f"criterion '{r.get('id', i + 1)}' of {f.where}", {"id", "description", "points"})
            rid, desc, pts = rf.ident(), rf.text("description"), rf.number("points", positive=True)
            if rid is not None and pts is not None:
                rubric.append(Criterion(rid, desc or "", pts, r.line))
        if common is None or prompt is None or min_words is None:
            return None
        return cls(**common, prompt=prompt, min_words=min_words, rubric=tuple(rubric))

    def validate(self, ctx: Context) -> list[Problem]:
        out = super().validate(ctx)
        if not self.rubric:
            out.append(Problem(ctx.src.path, self.line, f"{self.where} has no rubric; add at least one "
                               "criterion {id, description, points}"))
        seen: dict[str, int] = {}
        for c in self.rubric:
            if c.id in seen:
                out.append(Problem(ctx.src.path, c.line, f"criterion id '{c.id}' is used twice in {self.where}"))
            seen.setdefault(c.id, c.line)
        out += ctx.markdown(self.prompt, self.line, f"the prompt of {self.where}")
        return out

    def check_answer(self, answer: Any) -> str:
        if not isinstance(answer, str):
            raise InvalidAnswer(f"{self.where}: the answer must be text")
        if len(answer) > MAX_TEXT:
            raise InvalidAnswer(f"{self.where}: keep the answer under {MAX_TEXT} characters")
        return answer

    def words_missing(self, answer: Any) -> int:
        """How many more words the answer needs to reach ``min_words``."""
        return max(0, self.min_words - word_count(self.check_answer(answer)))

    def check_marks(self, marks: Any) -> dict[str, Fraction]:
        """Lecturer marks as {criterion id: points}; every criterion, each 0..its points."""
        if not isinstance(marks, Mapping):
            raise InvalidAnswer(f"{self.where}: marks must map criterion ids to numbers")
        rubric = {c.id: c for c in self.rubric}
        unknown = set(marks) - set(rubric)
        if unknown:
            raise InvalidAnswer(f"{self.where}: there is no criterion '{str(sorted(map(str, unknown))[0])[:40]}'")
        out = {}
        for cid, c in rubric.items():
            mark = marks.get(cid)
            if isinstance(mark, bool) or not isinstance(mark, (int, float, Fraction)) or \
                    (isinstance(mark, float) and not math.isfinite(mark)):
                raise InvalidAnswer(f"{self.where}: give criterion '{cid}' a mark from 0 to {c.points}")
            mark = Fraction(str(mark)) if isinstance(mark, float) else Fraction(mark)
            if not 0 <= mark <= c.points:
                raise InvalidAnswer(f"{self.where}: the mark for '{cid}' must be from 0 to {c.points}")
            out[cid] = mark
        return out

    def score(self, answer: Any, *, marks: Any = None, completion_credit: bool = False,
              **settings: Any) -> ScoreResult:
        """Lecturer marks win; else completion credit if the link allows it; else pending."""
        text = self.check_answer(answer)
        if marks is not None:
            given = self.check_marks(marks)
            total = sum((c.points for c in self.rubric), Fraction(0))
            return _result(sum(given.values(), Fraction(0)) / total * self.weight if total else Fraction(0),
                           self.weight, self.elements)
        if completion_credit:
            enough = word_count(text) >= self.min_words
            return _result(self.weight if enough else Fraction(0), self.weight, self.elements)
        return _result(Fraction(0), self.weight, self.elements, pending=True)

    def render(self, asset_url: AssetUrl | None = None, state: Any = None) -> dict[str, Any]:
        return {**self._base_render(), "prompt_html": render_markdown(self.prompt, asset_url),
                "min_words": self.min_words,
                "rubric": [{"id": c.id, "description": c.description, "points": float(c.points)} for c in self.rubric]}

    def feedback(self, answer: Any, asset_url: AssetUrl | None = None) -> dict[str, Any]:
        text = self.check_answer(answer)
        return {**self.render(asset_url), "word_count": word_count(text), "words_missing": self.words_missing(text)}

    def best_answer(self) -> str:
        return " ".join(["reflection"] * self.min_words)

    def full_marks(self) -> dict[str, Fraction]:
        """Marks giving every criterion its full points."""
        return {c.id: c.points for c in self.rubric}


# --- confidence ------------------------------------------------------------------------------

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
        for i, raw in enumerate(items or []):
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
        dcs, seen = ctx.dcs_elements, {}
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

    def render(self, asset_url: AssetUrl | None = None, state: Any = None) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "scale": dict(SCALE),
                "statements": [{"id": s.id, "element": s.element,
                                "text_html": render_markdown(s.text, asset_url, inline=True)}
                               for s in self.statements]}

    def feedback(self, answer: Any, asset_url: AssetUrl | None = None) -> dict[str, Any]:
        return {**self.render(asset_url), "ratings": self.check_answer(answer), "profile": self.profile(answer)}

    def best_answer(self) -> dict[str, int]:
        return {s.id: 5 for s in self.statements}
