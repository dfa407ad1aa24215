"""Element and domain mastery, bands, which attempt counts, the course filter and the evidence record."""

from __future__ import annotations

import pytest

from lti_tool.progress import (CAPABLE, DEVELOPING, PROFICIENT, AttemptResult, band, band_descriptions,
                               capability_profile, counted_attempts, percent_label, thresholds_sentence)

from .helpers import DCS_ELEMENTS, at, attempt


def profile(frameworks, attempts, teaching=None, **kw):
    return capability_profile(attempts, [], frameworks, teaching or {}, **kw)


def test_two_modules_evidencing_one_element_add_up_their_points(frameworks):
    # R4: 3/4 from one module and 5/6 from another -> (3 + 5) / (4 + 6) = 8/10 = 80% -> Proficient
    p = profile(frameworks, [attempt("a", {"R4": (3, 4)}), attempt("b", {"R4": (5, 6)})])
    r4 = p.element("R4")
    assert (r4.points, r4.max_points) == (8, 10)
    assert r4.percent == pytest.approx(80.0)
    assert r4.band == PROFICIENT
    assert r4.domain == "practice"


def test_domain_is_aggregated_from_element_points_not_an_average_of_percentages(frameworks):
    # R1 1/2 = 50%, R4 8/10 = 80%. Practice = (1 + 8) / (2 + 10) = 9/12 = 75% (Capable);
    # the mean of the percentages would be (50 + 80) / 2 = 65%, which the service must not give.
    p = profile(frameworks, [attempt("a", {"R4": (3, 4), "R1": (1, 2)}), attempt("b", {"R4": (5, 6)})])
    practice = p.domain("practice")
    assert (practice.points, practice.max_points) == (9, 12)
    assert practice.percent == pytest.approx(75.0)
    assert practice.band == CAPABLE
    assert practice.elements == ("R1", "R2", "R3", "R4", "R5")
    assert [d.id for d in p.domains] == ["purpose", "practice", "impact"]


def test_no_evidence_is_none_and_is_not_averaged_as_zero(frameworks):
    # Only R4 evidenced (3/4 = 75%). R1, R2, R3, R5 have no evidence: they stay None, and Practice
    # is 3/4 = 75%, not (75 + 0 + 0 + 0 + 0) / 5 = 15%. Purpose and Impact have no evidence at all.
    p = profile(frameworks, [attempt("a", {"R4": (3, 4)})])
    assert [e.id for e in p.elements] == DCS_ELEMENTS
    for eid in ("R1", "R2", "R3", "R5", "P1", "I2"):
        assert p.element(eid).percent is None
        assert p.element(eid).band is None
    assert p.domain("practice").percent == pytest.approx(75.0)
    assert p.domain("purpose").percent is None
    assert p.domain("impact").percent is None


def test_zero_points_is_evidence_but_zero_maximum_is_not(frameworks):
    # I1 0/3 is measured: 0% Developing. I2 (0, 0) says nothing: None.
    p = profile(frameworks, [attempt("a", {"I1": (0, 3), "I2": (0, 0)})])
    assert p.element("I1").percent == 0
    assert p.element("I1").band == DEVELOPING
    assert p.element("I2").percent is None
    assert p.domain("impact").percent == 0  # 0 / 3


def test_best_attempt_counts_by_default_and_latest_on_request(frameworks):
    # Module "a": day 1 scores R4 3/4 (75%), day 2 scores R4 1/4 (25%).
    attempts = [attempt("a", {"R4": (3, 4)}, day=1), attempt("a", {"R4": (1, 4)}, day=2)]
    assert profile(frameworks, attempts).element("R4").percent == pytest.approx(75.0)  # best: 3/4
    assert profile(frameworks, attempts, counting="latest").element("R4").percent == pytest.approx(25.0)  # 1/4
    with pytest.raises(ValueError):
        profile(frameworks, attempts, counting="average")


def test_best_tie_goes_to_the_later_attempt():
    first = attempt("a", {"R4": (2, 4)}, day=1)
    second = attempt("a", {"R1": (1, 2)}, day=2)  # also 50%
    assert counted_attempts([first, second])["a"] is second
    assert counted_attempts([second, first])["a"] is second


def test_versions_of_one_module_compete_for_one_place(frameworks):
    # a@1.0.0 R4 2/4 (50%), a@1.1.0 R4 4/4 (100%): one module, best counts -> R4 = 4/4, not 6/8.
    p = profile(frameworks, [attempt("a", {"R4": (2, 4)}, version="1.0.0"),
                             attempt("a", {"R4": (4, 4)}, version="1.1.0", day=1)])
    assert (p.element("R4").points, p.element("R4").max_points) == (4, 4)
    assert [(r.module_id, r.module_version, r.attempts) for r in p.evidence] == [("a", "1.1.0", 2)]


def test_course_filter_restricts_attempts_to_one_context(frameworks):
    # course-a: R4 3/4. course-b: R4 1/2 (module b) and R4 0/4 (module a, a worse attempt).
    attempts = [attempt("a", {"R4": (3, 4)}, context="course-a"),
                attempt("b", {"R4": (1, 2)}, context="course-b"),
                attempt("a", {"R4": (0, 4)}, context="course-b", day=3)]
    # all courses, best per module: a 3/4 + b 1/2 = 4/6 = 66.7%
    assert profile(frameworks, attempts).element("R4").percent == pytest.approx(400 / 6)
    # course-b only: a 0/4 + b 1/2 = 1/6 = 16.7%
    only_b = profile(frameworks, attempts, course_filter="course-b")
    assert only_b.element("R4").percent == pytest.approx(100 / 6)
    assert only_b.course_filter == "course-b"
    assert only_b.courses == ("course-a", "course-b")  # the filter control still lists every course
    assert profile(frameworks, attempts, course_filter="course-z").element("R4").percent is None


def test_pending_attempt_counts_its_auto_marked_part_and_is_flagged(frameworks):
    # The reflection (R4, 3 points) awaits marking, so the attempt reports only its auto-marked
    # part: R4 4/5 = 80%. The element, the domain and the evidence row carry the flag.
    p = profile(frameworks, [attempt("a", {"R4": (4, 5)}, percent=50.0, pending=True),
                             attempt("b", {"R1": (1, 1)})])
    assert p.element("R4").percent == pytest.approx(80.0)
    assert p.element("R4").pending_manual
    assert not p.element("R1").pending_manual
    assert p.domain("practice").pending_manual
    assert not p.domain("purpose").pending_manual
    assert p.pending_manual
    assert [r.pending_manual for r in p.evidence] == [True, False]


def test_evidence_lists_the_counted_attempt_of_each_module_by_date(frameworks):
    attempts = [attempt("r4", {"R4": (1, 4)}, day=5), attempt("r4", {"R4": (4, 4)}, day=6),
                attempt("p1", {"P1": (2, 2), "I1": (0, 0)}, day=2)]
    rows = profile(frameworks, attempts).evidence
    assert [(r.module_id, r.completed_at, r.percent, r.passed, r.attempts, r.elements) for r in rows] == [
        ("p1", at(2), 100.0, True, 1, ("P1",)),  # I1 had no points available, so it is not evidenced
        ("r4", at(6), 100.0, True, 2, ("R4",)),
    ]


def test_elements_unknown_to_the_framework_are_ignored(frameworks):
    p = profile(frameworks, [attempt("a", {"R4": (1, 2), "Z9": (5, 5)})])
    assert p.element("R4").percent == pytest.approx(50.0)
    assert p.domain("practice").max_points == 2
    with pytest.raises(KeyError):
        p.element("Z9")


@pytest.mark.parametrize(("percent", "expected"), [
    (None, None), (0, DEVELOPING), (49.99, DEVELOPING), (50, CAPABLE), (79.99, CAPABLE), (80, PROFICIENT),
    (100, PROFICIENT),
    # 1/3 + 1/3 + 2/3 points of 5/3 is exactly 80%, but floats give 79.99999999999999
    (100 * (1 / 3 + 1 / 3 + 2 / 3) / (5 / 3), PROFICIENT),
])
def test_bands_and_their_thresholds(percent, expected):
    assert band(percent) == expected


def test_labels_round_down_so_they_never_show_an_unreached_threshold():
    assert percent_label(79.6) == "79%"  # still Capable, so it must not read 80%
    assert percent_label(100 * (1 / 3 + 1 / 3 + 2 / 3) / (5 / 3)) == "80%"
    assert percent_label(None) == "No evidence yet"
    assert band_descriptions() == [("Developing", "below 50%"), ("Capable", "50% to 79%"),
                                   ("Proficient", "80% or more")]
    assert "Capable 50% to 79%" in thresholds_sentence()


@pytest.mark.parametrize("points", [{"R4": (5, 4)}, {"R4": (-1, 4)}, {"R4": (1, -1)}, {"R4": (float("nan"), 1)},
                                    {"R4": (1, 2, 3)}])
def test_impossible_points_are_refused(points):
    with pytest.raises(ValueError):
        AttemptResult("a", "1.0.0", at(0), None, points, 50.0, False)


def test_impossible_percent_is_refused():
    with pytest.raises(ValueError):
        AttemptResult("a", "1.0.0", at(0), None, {}, 101.0, True)
