"""Branching case scenarios: decision points, consequences and a best path."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property, partial
from typing import Any

from ..errors import InvalidAnswer, Problem
from ..markdown import AssetUrl, render_markdown
from ..order import shuffled
from ..yamlsrc import Fields, YList, YMap, expect_map
from .base import COMMON_KEYS, Activity, Context, ScoreResult, _result, activity_type

MIN_DECISIONS = 3  # decision points on every scenario path: the learning module rule


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
    pinned: bool = False  # keeps its written place when choices are shuffled


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
            raw_choices = sf.seq("choices", required=False) or YList()
            for j, rc in enumerate(raw_choices):
                c = expect_map(rc, raw_choices.line_at(j), ctx.src, f"each choice of {sf.where}")
                if c is None:
                    continue
                cf = Fields(c, ctx.src, f"choice '{c.get('id', j + 1)}' of step '{sid}' in {f.where}",
                            {"id", "text", "score", "next", "consequence", "feedback", "pinned"})
                cid, ctext = cf.ident(), cf.text("text", what="what the worker does")
                cscore = cf.number("score", minimum=0)
                cnext = cf.ident("next")
                cons = cf.text("consequence", what="what happens next in the story")
                fb = cf.text("feedback", what="feedback that explains why this choice is or is not good practice")
                if cid is not None:
                    choices.append(ScenarioChoice(cid, ctext or "", cscore or Fraction(0), cnext or "",
                                                  cons or "", fb or "", c.line, cf.boolean("pinned")))
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

    def render(self, asset_url: AssetUrl | None = None, state: Any = None,
               seed: str | None = None) -> dict[str, Any]:
        """The step reached by ``state`` (choice ids so far), with the story so far."""
        path = list(state or [])
        taken = self.walk(path, complete=False)
        step = self.current_step(path)
        md = partial(render_markdown, asset_url=asset_url)
        mdi = partial(render_markdown, asset_url=asset_url, inline=True)
        return {**self._base_render(), "intro_html": md(self.intro), "path": path,
                "history": [{"step_id": s.id, "text_html": md(s.text), "choice_id": c.id,
                             "choice_html": mdi(c.text), "consequence_html": md(c.consequence)} for s, c in taken],
                "step": {"id": step.id, "text_html": md(step.text), "end": step.end,
                         "choices": [{"id": c.id, "text_html": mdi(c.text)}
                                     for c in shuffled(step.choices, seed, self.id, step.id)]}}

    def feedback(self, answer: Any, asset_url: AssetUrl | None = None,
                 seed: str | None = None) -> dict[str, Any]:
        taken = self.walk(answer)
        md = partial(render_markdown, asset_url=asset_url)
        mdi = partial(render_markdown, asset_url=asset_url, inline=True)
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
