"""Property tests: mastery stays within 0-100 and every domain total is the sum of its elements."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lti_tool.progress import AttemptResult, band, capability_profile, counted_attempts

from .helpers import DCS_ELEMENTS, at


@st.composite
def attempts(draw) -> AttemptResult:
    elements = draw(st.lists(st.sampled_from(DCS_ELEMENTS), max_size=5, unique=True))
    points = {}
    for e in elements:
        max_points = draw(st.floats(0, 50, allow_nan=False, allow_infinity=False))
        share = draw(st.floats(0, 1))
        points[e] = (max_points * share, max_points)
    return AttemptResult(draw(st.sampled_from(["m1", "m2", "m3", "m4"])), "1.0.0", at(draw(st.integers(0, 30))),
                         draw(st.sampled_from([None, "course-a", "course-b"])), points,
                         draw(st.floats(0, 100)), draw(st.booleans()), draw(st.booleans()))


@settings(max_examples=200, deadline=None)
@given(st.lists(attempts(), max_size=12), st.sampled_from(["best", "latest"]),
       st.sampled_from([None, "course-a", "course-b"]))
def test_mastery_is_bounded_and_domains_sum_their_elements(frameworks, items, counting, course):
    p = capability_profile(items, [], frameworks, {}, course, counting=counting)
    by_id = {e.id: e for e in p.elements}
    for m in (*p.elements, *p.domains, *(d for ds in p.crosswalk.values() for d in ds)):
        assert (m.percent is None) == (m.max_points <= 0)  # no evidence is None, never 0
        if m.percent is not None:
            assert 0 <= m.percent <= 100
        assert m.band == band(m.percent)
    for d in p.domains:
        members = [e for e in p.elements if e.domain == d.id]
        assert d.points == pytest.approx(sum(e.points for e in members))
        assert d.max_points == pytest.approx(sum(e.max_points for e in members))
    walk = frameworks["dcs-2020"].crosswalk_to("pcf-2018")
    for d in p.crosswalk["pcf-2018"]:
        assert d.points == pytest.approx(sum(by_id[e].points for e, targets in walk.items() if d.id in targets))
    # Element totals equal the sum over the one counted attempt per module, recomputed here.
    kept = [a for a in items if course is None or a.context_id == course]
    counted = counted_attempts(kept, counting).values()
    for e in p.elements:
        assert e.max_points == pytest.approx(sum(a.points_by_element.get(e.id, (0, 0))[1] for a in counted))
    assert len(p.evidence) == len({a.module_id for a in kept})
    assert len(p.next_steps) <= 3
