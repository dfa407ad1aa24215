"""The guessing check: what a student who knows nothing scores by a naive strategy.

Strategies, each a complete set of answers for a module:

- ``first``: the first option (as written) of every question and at every scenario decision;
  one option of a multiple-response question.
- ``longest`` / ``shortest``: the option or choice with the most (fewest) characters; the first
  of equals.
- ``all``: every option of each multiple-response question ticked; the first option elsewhere.

Reflections earn nothing (a guess writes no reflection; a lecturer marks it). Figures are given
as a percentage of the module's points and of its auto-marked points (everything but
reflections), which is what the items themselves are responsible for.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .activities import MultipleResponse, Reflection, Scenario, SingleChoice
from .errors import Problem

STRATEGIES = ("first", "longest", "shortest", "all")
# The shipped set's target: no naive strategy earns this share of the auto-marked points.
STRICT_TARGET = 40.0


@dataclass(frozen=True)
class StrategyScore:
    """What one naive strategy earns in one module."""

    strategy: str
    points: float
    module_points: float
    auto_points: float
    # (line, points the strategy earned there, the item's weight) per item, for locating bias
    items: tuple[tuple[int, float, float], ...]

    @property
    def percent(self) -> float:
        """Share of the module's points, as the pass mark is written."""
        return 100.0 * self.points / self.module_points if self.module_points else 0.0

    @property
    def auto_percent(self) -> float:
        """Share of the auto-marked points: how much the items give away."""
        return 100.0 * self.points / self.auto_points if self.auto_points else 0.0


def _pick(texts: Sequence[str], strategy: str) -> int:
    """Index of the option a strategy picks from texts written in this order."""
    if strategy == "longest":
        return max(range(len(texts)), key=lambda i: (len(texts[i].strip()), -i))
    if strategy == "shortest":
        return min(range(len(texts)), key=lambda i: (len(texts[i].strip()), i))
    return 0


def naive_answer(activity: Any, strategy: str) -> Any:
    """The answer a strategy gives to one activity; None for reflections."""
    if isinstance(activity, SingleChoice):
        return activity.options[_pick([o.text for o in activity.options], strategy)].id
    if isinstance(activity, MultipleResponse):
        if strategy == "all":
            return [o.id for o in activity.options]
        return [activity.options[_pick([o.text for o in activity.options], strategy)].id]
    if isinstance(activity, Scenario):
        path: list[str] = []
        step = activity.step_map[activity.start]
        while not step.end:
            pick = "first" if strategy == "all" else strategy
            choice = step.choices[_pick([c.text for c in step.choices], pick)]
            path.append(choice.id)
            step = activity.step_map[choice.next]
        return path
    return None


def strategy_score(module: Any, strategy: str) -> StrategyScore:
    """Score one strategy on a loaded module."""
    items: list[tuple[int, float, float]] = []
    earned = 0.0
    auto = 0.0
    for activity in module.activities:
        if isinstance(activity, Reflection):
            continue
        auto += activity.max_points
        answer = naive_answer(activity, strategy)
        points = activity.score(answer).points if answer is not None else 0.0
        earned += points
        items.append((activity.line, points, activity.max_points))
    return StrategyScore(strategy, earned, module.max_points, auto, tuple(items))


def guessing_scores(module: Any) -> dict[str, StrategyScore]:
    """Every naive strategy's score on a module."""
    return {s: strategy_score(module, s) for s in STRATEGIES}


def longest_is_correct(module: Any) -> tuple[int, int]:
    """(questions whose longest option is a correct one, choice questions in all)."""
    hits = total = 0
    for activity in module.activities:
        if isinstance(activity, (SingleChoice, MultipleResponse)) and activity.options:
            total += 1
            hits += activity.options[_pick([o.text for o in activity.options], "longest")].correct
    return hits, total


def check_guessing(module: Any, report: Callable[[int | None, str, str], None],
                   *, strict: bool, line: int | None) -> None:
    """Report a module a naive strategy passes (error), a length bias (warning), and in strict
    mode a strategy at or above the shipped set's target share (error)."""
    scores = guessing_scores(module)
    for score in scores.values():
        passes = score.percent + 1e-9 >= module.pass_mark
        over = strict and score.auto_percent + 1e-9 >= STRICT_TARGET
        if not (passes or over):
            continue
        worst = sorted((i for i in score.items if i[1] > 0), key=lambda i: (-i[1] / i[2], i[0]))[:3]
        where = ", ".join(f"line {n}" for n, _, _ in worst) or "none"
        if passes:
            why = f"reaches the pass mark of {module.pass_mark}%"
        else:
            why = f"reaches the shipped set's limit of {STRICT_TARGET:g}% of the auto-marked points"
        report(line, f"{_label(score.strategy)} scores {score.percent:.0f}% "
                     f"of the module ({score.auto_percent:.0f}% of the auto-marked points) and "
                     f"{why}; make wrong options as plausible, long and well placed as right "
                     f"ones (items that give most away: {where})", "error")
    hits, total = longest_is_correct(module)
    if total and hits * 2 > total:
        report(line, f"the correct option is the longest in {hits} of {total} questions; write "
                     "distractors of similar length", "warning")


def _label(strategy: str) -> str:
    """How messages name a strategy."""
    return {"first": "always choosing the first option as written",
            "longest": "always choosing the longest option",
            "shortest": "always choosing the shortest option",
            "all": "ticking every box of multiple-response questions"}[strategy]


def guessing_problems(module: Any, path: Any, *, strict: bool, line: int | None) -> list[Problem]:
    """The guessing check's findings as problems located in module.yaml."""
    found: list[Problem] = []
    check_guessing(module, lambda n, msg, sev: found.append(Problem(path, n, msg, sev)),  # type: ignore[arg-type]
                   strict=strict, line=line)
    return found
