"""Scoring with hand-worked values, and malformed answers raising InvalidAnswer."""

from __future__ import annotations

from fractions import Fraction

import pytest

from lti_tool.content import InvalidAnswer, MultipleResponse, SingleChoice
from lti_tool.content.activities import Option


def _options(correct: str, ids: str = "abcde") -> tuple[Option, ...]:
    return tuple(Option(i, f"text {i}", i in correct, f"because {i}", 1) for i in ids)


def mr(correct: str, weight: int, ids: str = "abcde") -> MultipleResponse:
    return MultipleResponse(id="m", elements=("R3", "R5"), weight=Fraction(weight), title=None, line=1,
                            prompt="Choose", options=_options(correct, ids))


def test_multiple_response_partial_credit():
    # 3 correct (a, b, c) of 5, weight 3. Choosing a, b (correct) and d (wrong):
    # (2 hits - 1 miss) / C=3 * weight 3 = 1/3 * 3 = 1.0
    result = mr("abc", 3).score(["a", "b", "d"])
    assert result.points == 1.0 and result.max_points == 3.0
    # the weight is split between the two tagged elements: 0.5 of 1.5 each
    assert {e: (s.points, s.max_points) for e, s in result.by_element.items()} == {"R3": (0.5, 1.5),
                                                                                    "R5": (0.5, 1.5)}


@pytest.mark.parametrize("chosen,expected", [
    (["a", "b", "c"], 3.0),            # 3/3 * 3
    (["a"], 1.0),                      # 1/3 * 3
    (["a", "b", "c", "d", "e"], 1.0),  # (3 - 2)/3 * 3: choosing everything never beats choosing well
    (["a", "d", "e"], 0.0),            # (1 - 2)/3 * 3 = -1, floored at 0
    ([], 0.0),
])
def test_multiple_response_table(chosen, expected):
    assert mr("abc", 3).score(chosen).points == pytest.approx(expected)


def test_multiple_response_two_of_four_weight_two():
    # C = 2 (a, b), weight 2: a + c = (1 - 1)/2 * 2 = 0; a alone = 1/2 * 2 = 1
    activity = mr("ab", 2, "abcd")
    assert activity.score(["a", "c"]).points == 0.0
    assert activity.score(["a"]).points == 1.0


def test_single_choice():
    activity = SingleChoice(id="s", elements=("R4",), weight=Fraction(2), title=None, line=1, prompt="?",
                            options=_options("b", "abc"))
    assert activity.score("b").points == 2.0
    assert activity.score("a").points == 0.0
    assert activity.score("a").max_points == 2.0


def test_scenario_path_score(good_module):
    s1 = good_module.activity("s1")
    # best path a, a, a collects 2 + 2 + 2 = 6. Path a, b, a collects 2 + 0 + 2 = 4.
    # 4 / 6 * weight 4 = 8/3 = 2.667
    assert s1.score(["a", "b", "a"]).points == pytest.approx(8 / 3)
    assert s1.score(["a", "a", "a"]).points == 4.0
    assert s1.score(["b", "b", "b"]).points == 0.0
    assert s1.best_answer() == ["a", "a", "a"]


def test_scenario_render_hides_feedback_and_scores(good_module):
    s1 = good_module.activity("s1")
    data = s1.render(state=["a"])
    assert data["step"]["id"] == "d2"
    assert [c["id"] for c in data["step"]["choices"]] == ["b", "a"]  # as written
    flat = repr(data)
    assert "feedback" not in flat and "score" not in flat and "Good: honest" not in flat
    assert data["history"][0]["consequence_html"] == "<p>Sam agrees to meet after school.</p>\n"


def test_choice_render_hides_correct_and_feedback(good_module):
    data = good_module.activity("q1").render()
    assert set(data["options"][0]) == {"id", "text_html"}
    assert "Right:" not in repr(data)
    after = good_module.activity("q1").feedback("b")
    assert [(o["id"], o["chosen"], o["correct"]) for o in after["options"]] == [
        ("b", True, False), ("c", False, False), ("a", False, True)]  # as written
    assert after["correct"] is False and after["points"] == 0.0


def test_reflection_scoring(good_module):
    r1 = good_module.activity("r1")  # weight 3, rubric link 1 + action 2 = 3 points, min_words 20
    text = "word " * 20
    pending = r1.score(text)
    assert (pending.points, pending.max_points, pending.pending_manual) == (0.0, 3.0, True)
    # marks 1 + 1 of 3 points -> 2/3 * 3 = 2.0
    marked = r1.score(text, marks={"link": 1, "action": 1})
    assert (marked.points, marked.pending_manual) == (2.0, False)
    assert r1.score(text, completion_credit=True).points == 3.0
    assert r1.score("too short", completion_credit=True).points == 0.0
    assert r1.words_missing("too short") == 18
    # marks win over completion credit
    assert r1.score(text, marks={"link": 0, "action": 0}, completion_credit=True).points == 0.0


def test_confidence_never_scores(good_module):
    conf = good_module.confidence
    result = conf.score({"c1": 5, "c2": 1})
    assert (result.points, result.max_points) == (0.0, 0.0)
    assert conf.profile({"c1": 2, "c2": 4}) == {"R4": 2.0, "R3": 4.0}


def test_module_score_totals(good_module):
    answers = {"q1": "a", "q2": ["a", "b", "d"], "s1": ["a", "b", "a"], "r1": "word " * 20}
    score = good_module.score(answers, marks={"r1": {"link": 1, "action": 2}})
    # q1 1 + q2 1 + q3 missing 0 + q4 missing 0 + s1 8/3 + r1 3 = 7.667 of 14 -> 54.76 %
    assert score.points == pytest.approx(1 + 1 + 8 / 3 + 3)
    assert score.max_points == 14.0
    assert score.percent == pytest.approx(100 * (23 / 3) / 14)
    assert score.passed is False and score.pending_manual is False
    # R4 collects q1 1 + q2 1 + s1 8/3 + half of q4 (0); its max is 1 + 3 + 4 + 1 = 9
    assert score.by_element["R4"].points == pytest.approx(2 + 8 / 3)
    assert score.by_element["R4"].max_points == 9.0
    assert good_module.score({"r1": "word " * 20}).pending_manual is True


BAD_ANSWERS = {
    "q1": [None, 1, ["a"], "z", ""],
    "q2": ["a", ["a", "a"], ["z"], [1], None, {"a": True}],
    "s1": ["a", ["a", "a"], ["a", "a", "a", "a"], ["z"], [1, 2, 3], None],
    "r1": [None, 5, ["text"], "x" * 20_001],
}


@pytest.mark.parametrize("activity_id,answer", [(a, x) for a, xs in BAD_ANSWERS.items() for x in xs])
def test_malformed_answers_raise_invalid_answer(good_module, activity_id, answer):
    with pytest.raises(InvalidAnswer):
        good_module.activity(activity_id).score(answer)


@pytest.mark.parametrize("marks", [{"link": 2, "action": 0}, {"link": 1}, {"link": 1, "action": 1, "x": 0},
                                   {"link": True, "action": 1}, [1, 2], {"link": -1, "action": 0}])
def test_bad_marks_raise_invalid_answer(good_module, marks):
    with pytest.raises(InvalidAnswer):
        good_module.activity("r1").score("text", marks=marks)


@pytest.mark.parametrize("ratings", [{"c1": 6, "c2": 1}, {"c1": 3}, {"c1": 3, "c2": 3, "c9": 3},
                                     {"c1": "3", "c2": 3}, {"c1": True, "c2": 3}, None])
def test_bad_confidence_raises_invalid_answer(good_module, ratings):
    with pytest.raises(InvalidAnswer):
        good_module.confidence.score(ratings)


def test_module_score_rejects_unknown_activity(good_module):
    with pytest.raises(InvalidAnswer):
        good_module.score({"nope": "a"})
