"""Confidence before and after per element: the first 'before' set, the latest 'after' set, the change."""

from __future__ import annotations

import pytest

from lti_tool.progress import ConfidenceRatings, capability_profile, confidence_by_element

from .helpers import at, ratings


def test_first_before_and_latest_after_give_the_change(frameworks):
    sets = [
        ratings("intro", "before", {"R4": [2], "P1": [3]}, day=0),  # the first 'before' for R4: mean 2
        ratings("r4", "before", {"R4": [3, 3, 4, 4]}, day=5),  # later 'before': ignored for R4
        ratings("intro", "after", {"R4": [3], "P1": [4]}, day=1),  # an earlier 'after': superseded
        ratings("r4", "after", {"R4": [4, 4, 5, 4]}, day=6),  # latest 'after': (4+4+5+4)/4 = 4.25
    ]
    p = capability_profile([], sets, frameworks, {})
    r4 = p.element("R4").confidence
    assert r4.before == pytest.approx(2.0)
    assert r4.after == pytest.approx(4.25)
    assert r4.change == pytest.approx(2.25)  # 4.25 - 2
    p1 = p.element("P1").confidence
    assert (p1.before, p1.after, p1.change) == (3, 4, 1)  # only the intro rated P1


def test_order_of_input_does_not_matter():
    sets = [ratings("r4", "after", {"R4": [5]}, day=6), ratings("r4", "before", {"R4": [1]}, day=5),
            ratings("intro", "after", {"R4": [2]}, day=1), ratings("intro", "before", {"R4": [4, 3]}, day=0)]
    conf = confidence_by_element(sets)["R4"]
    assert (conf.before, conf.after, conf.change) == (3.5, 5, 1.5)  # (4+3)/2 = 3.5; 5 - 3.5 = 1.5
    assert confidence_by_element(list(reversed(sets)))["R4"] == conf


def test_change_needs_both_sides(frameworks):
    p = capability_profile([], [ratings("r4", "before", {"R4": [2, 3]})], frameworks, {})
    conf = p.element("R4").confidence
    assert (conf.before, conf.after, conf.change) == (2.5, None, None)
    untouched = p.element("I2").confidence
    assert (untouched.before, untouched.after, untouched.change) == (None, None, None)


def test_course_filter_applies_to_confidence_too(frameworks):
    sets = [ratings("r4", "before", {"R4": [1]}, day=0, context="course-a"),
            ratings("r4", "before", {"R4": [3]}, day=1, context="course-b"),
            ratings("r4", "after", {"R4": [4]}, day=2, context="course-b")]
    assert capability_profile([], sets, frameworks, {}).element("R4").confidence.change == 3  # 4 - 1
    only_b = capability_profile([], sets, frameworks, {}, course_filter="course-b")
    assert only_b.element("R4").confidence.change == 1  # 4 - 3


@pytest.mark.parametrize("values", [[0], [6], [True], [], [2.5]])
def test_ratings_must_be_whole_numbers_from_1_to_5(values):
    with pytest.raises(ValueError):
        ConfidenceRatings("r4", "before", {"R4": values}, at(0))


def test_phase_must_be_before_or_after():
    with pytest.raises(ValueError):
        ConfidenceRatings("r4", "during", {"R4": [3]}, at(0))
