"""Property tests over every module (fixture and shipped) and every activity type."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lti_tool.content import (Activity, InvalidAnswer, Module, MultipleResponse, Reflection, Scenario,
                              SingleChoice, load_frameworks, load_module)
from lti_tool.content.library import SHIPPED_FRAMEWORKS, shipped_module_dirs

from .helpers import GOOD


def _modules() -> list[Module]:
    """The fixture plus every shipped module that loads (basic rules: scoring needs no more)."""
    frameworks = load_frameworks(SHIPPED_FRAMEWORKS, [])
    loaded = [load_module(d, frameworks, strict=False).module for d in [GOOD, *shipped_module_dirs()]]
    return [m for m in loaded if m is not None]


MODULES = _modules()
ACTIVITIES = [(m, a) for m in MODULES for a in m.activities]
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

junk = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner,
                                                                                 max_size=3),
                    max_leaves=8)


def _walk(scenario: Scenario, picks: list[int]) -> list[str]:
    """Choice ids following ``picks`` (index modulo the choices) until an end or picks run out."""
    path, step = [], scenario.step_map[scenario.start]
    for pick in picks:
        if step.end:
            break
        choice = step.choices[pick % len(step.choices)]
        path.append(choice.id)
        step = scenario.step_map[choice.next]
    return path


def answers(activity: Activity) -> st.SearchStrategy:
    """Plausible and hostile answers for one activity."""
    if isinstance(activity, (SingleChoice, MultipleResponse)):
        ids = [o.id for o in activity.options]
        good = st.sampled_from(ids) if isinstance(activity, SingleChoice) else st.lists(st.sampled_from(ids), max_size=8)
        return good | junk
    if isinstance(activity, Scenario):
        ids = sorted({c.id for s in activity.steps for c in s.choices})
        return st.lists(st.integers(0, 7), max_size=40).map(lambda p: _walk(activity, p)) | \
            st.lists(st.sampled_from(ids), max_size=8) | junk
    if isinstance(activity, Reflection):
        return st.text(max_size=400) | junk
    raise AssertionError(f"no strategy for {activity.type}")


def marks(activity: Activity) -> st.SearchStrategy:
    """Lecturer marks: none, a valid set, or junk."""
    if not isinstance(activity, Reflection):
        return st.none()
    valid = st.fixed_dictionaries({c.id: st.floats(0, float(c.points)) for c in activity.rubric})
    return st.none() | valid | junk


@pytest.mark.parametrize("module,activity", ACTIVITIES, ids=[f"{m.id}:{a.id}" for m, a in ACTIVITIES])
@SETTINGS
@given(data=st.data())
def test_any_answer_scores_within_bounds_or_is_invalid(module, activity, data):
    answer = data.draw(answers(activity), label="answer")
    extra = {"marks": data.draw(marks(activity), label="marks")} if isinstance(activity, Reflection) else {}
    completion = data.draw(st.booleans(), label="completion_credit")
    try:
        result = activity.score(answer, completion_credit=completion, **extra)
    except InvalidAnswer:
        return
    assert 0 <= result.points <= result.max_points == activity.max_points
    assert sum(s.points for s in result.by_element.values()) == pytest.approx(result.points)
    assert sum(s.max_points for s in result.by_element.values()) == pytest.approx(result.max_points)
    if result.pending_manual:
        assert result.points == 0 and isinstance(activity, Reflection)


@pytest.mark.parametrize("module", MODULES, ids=[m.id for m in MODULES])
@SETTINGS
@given(data=st.data())
def test_any_answer_set_scores_within_bounds(module, data):
    chosen = data.draw(st.lists(st.sampled_from(module.activities), unique_by=lambda a: a.id))
    attempt = {a.id: data.draw(answers(a)) for a in chosen}
    try:
        score = module.score(attempt, completion_credit=data.draw(st.booleans()))
    except InvalidAnswer:
        return
    assert 0 <= score.points <= score.max_points + 1e-9
    assert 0 <= score.percent <= 100


@pytest.mark.parametrize("module", MODULES, ids=[m.id for m in MODULES])
def test_full_marks_are_reachable(module):
    best = {a.id: a.best_answer() for a in module.activities}
    full = {a.id: a.full_marks() for a in module.activities if isinstance(a, Reflection)}
    score = module.score(best, marks=full)
    assert score.points == pytest.approx(module.max_points) and module.max_points > 0
    assert score.percent == pytest.approx(100) and score.passed and not score.pending_manual
    assert module.score(best, completion_credit=True).percent == pytest.approx(100)
    for activity in module.activities:  # feedback never fails on a valid answer
        activity.feedback(best[activity.id])


@pytest.mark.parametrize("module", MODULES, ids=[m.id for m in MODULES])
@SETTINGS
@given(data=st.data())
def test_confidence_never_counts(module, data):
    statements = [s.id for s in module.confidence.statements]
    ratings = data.draw(st.fixed_dictionaries({s: st.integers(1, 5) for s in statements}) | junk)
    try:
        result = module.confidence.score(ratings)
    except InvalidAnswer:
        return
    assert (result.points, result.max_points) == (0.0, 0.0)
