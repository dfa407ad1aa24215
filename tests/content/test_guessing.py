"""The guessing check: what naive strategies score, worked by hand, and what it refuses."""

from __future__ import annotations

from fractions import Fraction

import pytest

from lti_tool.content import load_module
from lti_tool.content.guessing import guessing_scores, longest_is_correct, naive_answer
from lti_tool.content.order import shuffled
from lti_tool.content.timing import estimated_minutes

from .helpers import FIXTURES, GOOD


def test_naive_strategies_on_the_good_fixture_worked_by_hand(good_module):
    # Auto-marked: q1 1 + q2 3 + q3 1 + q4 2 + s1 4 = 11 points; with r1 (3) the module has 14.
    scores = guessing_scores(good_module)
    # First as written: q1 b, q2 [d], q3 b, q4 [b] are wrong; s1 takes b, b, b: 0 points.
    assert scores["first"].points == 0
    # Longest: q1 c, q2 [d], q3 b, q4 [b] are wrong; s1 takes d1 b (0), d2 a (2), d3 a (2),
    # 4 of the best path's 6: 4/6 x 4 = 8/3.
    assert scores["longest"].points == pytest.approx(float(Fraction(8, 3)))
    # Shortest: q1 b, q2 [e] wrong; q3 a right (1); q4 [c] is one of two right (1/2 x 2 = 1);
    # s1 takes d1 a (2), d2 b (0), d3 b (0): 2/6 x 4 = 4/3. In all 10/3.
    assert scores["shortest"].points == pytest.approx(float(Fraction(10, 3)))
    assert naive_answer(good_module.activity("q4"), "shortest") == ["c"]
    # Tick all: q2 3 right - 2 wrong = 1/3 x 3 = 1; q4 2 - 1 = 1/2 x 2 = 1; first elsewhere 0.
    assert scores["all"].points == pytest.approx(2.0)
    assert scores["shortest"].percent == pytest.approx(100 * 10 / 3 / 14)
    assert scores["shortest"].auto_percent == pytest.approx(100 * 10 / 3 / 11)
    assert longest_is_correct(good_module) == (0, 4)


def test_a_biased_package_is_refused_with_the_lines_to_fix(frameworks):
    result = load_module(FIXTURES / "biased" / "fx-biased", frameworks, strict=False)
    errors = [p for p in result.problems if p.is_error]
    assert result.module is None
    first = next(p for p in errors if "always choosing the first option" in p.message)
    # q1, q2, q3, q4 right first, s1's best choices first: 8 of 11 auto points, 57% of 14,
    # over the 50% pass mark.
    assert "scores 57% of the module (73% of the auto-marked points)" in first.message
    assert "reaches the pass mark of 50%" in first.message
    assert first.line == 24 and "line 27" in first.message  # steps:, then q1's line
    assert any("longest in 4 of 4 questions" in p.message for p in result.problems
               if not p.is_error)


def test_the_store_still_serves_an_old_biased_version(frameworks):
    """A version imported before the check existed stays servable for its old attempts."""
    result = load_module(FIXTURES / "biased" / "fx-biased", frameworks, strict=False,
                         expected_id="fx-biased", measures=False)
    assert result.module is not None


def test_shuffle_is_stable_per_seed_and_keeps_pinned_in_place(good_module):
    from dataclasses import replace

    q2 = good_module.activity("q2")
    pinned = replace(q2.options[-1], pinned=True)
    options = q2.options[:-1] + (pinned,)
    orders = {tuple(o.id for o in shuffled(options, f"attempt-{n}", "q2")) for n in range(40)}
    assert len(orders) > 10  # different attempts see different orders
    assert all(order[-1] == pinned.id for order in orders)  # the pinned one never moves
    again = [o.id for o in shuffled(options, "attempt-7", "q2")]
    assert again == [o.id for o in shuffled(options, "attempt-7", "q2")]
    assert [o.id for o in shuffled(options, None)] == [o.id for o in options]  # as written


def test_minutes_come_from_words_and_items(good_module):
    minutes = estimated_minutes(good_module)
    # 2 ratings + q1 1 + q2 1.5 + q3 1 + q4 1.5 + 3 decisions + r1 20/20 words = 11 minutes of
    # answering, plus reading at 180 words a minute.
    assert 11 < minutes < 11 + 600 / 180
    assert GOOD.name == good_module.id
