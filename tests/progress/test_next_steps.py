"""Next steps: the weakest elements, each with the modules that teach it."""

from __future__ import annotations

from lti_tool.progress import TeachingModule, capability_profile, teaching_modules

from .helpers import DCS_ELEMENTS, attempt


def test_weakest_elements_come_first_with_their_teaching_module(frameworks, teaching):
    # R4 1/4 = 25%, P2 3/5 = 60%, I1 9/10 = 90% (Proficient, never suggested), R1 1/2 = 50%.
    attempts = [attempt("a", {"R4": (1, 4), "P2": (3, 5)}), attempt("b", {"I1": (9, 10), "R1": (1, 2)})]
    steps = capability_profile(attempts, [], frameworks, teaching).next_steps
    # lowest first: R4 25%, R1 50%, P2 60%; at most three
    assert [(s.element, round(s.percent)) for s in steps] == [("R4", 25), ("R1", 50), ("P2", 60)]
    assert steps[0].modules == (TeachingModule("r4-module", "Module for R4"), TeachingModule("intro", "Introduction"))
    assert steps[0].band == "Developing"
    assert steps[0].evidenced
    assert steps[0].title == "Online safeguarding"
    assert steps[0].domain == "practice"


def test_unevidenced_elements_follow_measured_weaknesses_in_framework_order(frameworks, teaching):
    # R4 1/4 = 25% is a known gap; then the unevidenced elements in framework order P1, P2.
    # I1 4/4 is Proficient and left out.
    attempts = [attempt("a", {"R4": (1, 4), "I1": (4, 4)})]
    steps = capability_profile(attempts, [], frameworks, teaching).next_steps
    assert [s.element for s in steps] == ["R4", "P1", "P2"]
    assert not steps[1].evidenced and steps[1].percent is None
    assert steps[1].modules[0].module_id == "p1-module"


def test_nothing_to_suggest_when_everything_is_proficient(frameworks, teaching):
    all_full = [attempt("all", {e: (1, 1) for e in DCS_ELEMENTS})]
    assert capability_profile(all_full, [], frameworks, teaching).next_steps == ()


def test_a_new_student_gets_three_starting_points(frameworks, teaching):
    steps = capability_profile([], [], frameworks, teaching).next_steps
    assert [s.element for s in steps] == ["P1", "P2", "P3"]
    assert capability_profile([], [], frameworks, teaching, max_next_steps=1).next_steps[0].element == "P1"


def test_element_without_a_teaching_module_still_appears(frameworks):
    steps = capability_profile([attempt("a", {"R4": (0, 1)})], [], frameworks, {}).next_steps
    assert steps[0].element == "R4" and steps[0].modules == ()


def test_teaching_modules_from_the_shipped_library_put_the_focused_module_first(library):
    by_element = teaching_modules(library.modules())
    # r4-online-safeguarding aligns to R4 only; p4 to P4 and R4; the intro module aligns to all
    # twelve elements, so it comes last.
    assert [t.module_id for t in by_element["R4"]] == [
        "r4-online-safeguarding", "p4-relationship-based-practice", "intro-digital-social-work"]
    assert by_element["R4"][0].title == "Online safeguarding"
    assert set(by_element) == set(DCS_ELEMENTS)
