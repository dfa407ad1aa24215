"""A real shipped module scored by the content engine, fed into the profile."""

from __future__ import annotations

import pytest

from lti_tool.progress import (CAPABLE, PROFICIENT, AttemptResult, ConfidenceRatings, capability_profile,
                               profile_chart_svg, profile_table_rows, teaching_modules)

from .helpers import at

# r4-online-safeguarding 1.0.0 (14 points): q1, q3, q4, q6 single choice [R4] weight 1; q2 multiple
# response [R4] weight 2; q5 single choice [R4, R5] weight 1; s1 scenario [R4, R5] weight 4 (best
# path 6 points); r1 reflection [R4] weight 3 with four 1-point criteria.
ANSWERS = {
    "q1": "a",  # right: 1 -> R4 1/1
    "q2": ["a", "b", "c", "e"],  # all four correct options: 2 -> R4 2/2
    "q3": "b",  # wrong: 0 -> R4 0/1
    "q4": "a",  # right: 1 -> R4 1/1
    "q5": "a",  # right: 1, split -> R4 0.5/0.5, R5 0.5/0.5
    "q6": "a",  # right: 1 -> R4 1/1
    "s1": ["b", "a", "a"],  # d1 b (0) -> d2b a (1) -> d3 a (2): 3 of 6 -> 2 of 4 -> R4 1/2, R5 1/2
    "r1": "My reflection on responding to a disclosure. " * 20,
}


def test_pending_reflection_counts_only_the_auto_marked_part(library):
    module = library.get("r4-online-safeguarding", "1.0.0")
    score = module.score(ANSWERS)
    assert score.pending_manual
    assert score.points == pytest.approx(8)  # 1 + 2 + 0 + 1 + 1 + 1 + 2 + (reflection pending) 0
    attempt = AttemptResult.from_score(score, module_id=module.id, module_version=module.version,
                                       completed_at=at(1), context_id="course-a")
    # The unmarked reflection (R4, 3 points) is left out:
    # R4 = 1 + 2 + 0 + 1 + 0.5 + 1 + 1 = 6.5 of 1 + 2 + 1 + 1 + 0.5 + 1 + 2 = 8.5; R5 = 0.5 + 1 = 1.5 of 2.5
    assert attempt.points_by_element == {"R4": pytest.approx((6.5, 8.5)), "R5": pytest.approx((1.5, 2.5))}
    assert attempt.percent == pytest.approx(800 / 14)  # the grade so far: 8 of 14
    assert attempt.pending_manual and not attempt.passed  # 57.1% < pass mark 60

    before = ConfidenceRatings.from_answers(module, "before", {"c1": 2, "c2": 2, "c3": 3, "c4": 1}, at(0), "course-a")
    after = ConfidenceRatings.from_answers(module, "after", {"c1": 4, "c2": 3, "c3": 4, "c4": 3}, at(1), "course-a")
    p = capability_profile([attempt], [before, after], library.frameworks, teaching_modules(library.modules()))

    r4 = p.element("R4")
    assert r4.percent == pytest.approx(100 * 6.5 / 8.5)  # 76.47% -> Capable
    assert (r4.band, r4.pending_manual) == (CAPABLE, True)
    assert p.element("R5").percent == pytest.approx(60.0)  # 1.5 / 2.5
    # Practice = (6.5 + 1.5) / (8.5 + 2.5) = 8/11 = 72.7%
    assert p.domain("practice").percent == pytest.approx(800 / 11)
    # PCF7 <- R4 only here: 76.5%; PCF8 <- R5 only: 60%; HEE information-literacy <- R5: 60%
    assert p.domain("PCF7", "pcf-2018").percent == pytest.approx(100 * 6.5 / 8.5)
    assert p.domain("PCF8", "pcf-2018").percent == pytest.approx(60.0)
    assert p.domain("information-literacy", "hee-dcf-2018").percent == pytest.approx(60.0)
    # confidence: before (2+2+3+1)/4 = 2.0, after (4+3+4+3)/4 = 3.5, change +1.5
    c = r4.confidence
    assert (c.before, c.after, c.change) == (2.0, 3.5, 1.5)
    # next steps: R5 60% then R4 76.5%, then the first unevidenced element P1
    assert [s.element for s in p.next_steps] == ["R5", "R4", "P1"]
    assert p.next_steps[1].modules[0].module_id == "r4-online-safeguarding"
    assert [(e.module_id, e.module_version, e.pending_manual) for e in p.evidence] == [
        ("r4-online-safeguarding", "1.0.0", True)]
    assert "76% Capable *" in profile_chart_svg(p)
    assert next(r for r in profile_table_rows(p) if r.id == "R4").points_text == "6.5 of 8.5"


def test_marked_reflection_joins_the_evidence(library):
    module = library.get("r4-online-safeguarding", "1.0.0")
    marks = {"r1": {"recognise": 1, "respond": 1, "law": 1, "balance": 1}}  # 4/4 -> the full 3 points
    score = module.score(ANSWERS, marks=marks)
    attempt = AttemptResult.from_score(score, module_id=module.id, module_version=module.version,
                                       completed_at=at(2), context_id="course-a")
    # R4 = 6.5 + 3 = 9.5 of 8.5 + 3 = 11.5 -> 82.6%, Proficient; module 11/14 = 78.6%, passed
    assert attempt.points_by_element["R4"] == pytest.approx((9.5, 11.5))
    assert {e: (s.points, s.max_points) for e, s in score.by_element.items()} == {
        e: pytest.approx(v) for e, v in attempt.points_by_element.items()}  # same as the engine's own totals
    assert not attempt.pending_manual and attempt.passed
    p = capability_profile([attempt], [], library.frameworks, {})
    assert p.element("R4").percent == pytest.approx(100 * 9.5 / 11.5)
    assert p.element("R4").band == PROFICIENT
    assert p.domain("practice").percent == pytest.approx(100 * 11 / 14)  # (9.5 + 1.5) / (11.5 + 2.5)
