"""Broken packages each give the expected message at the exact file and line."""

from __future__ import annotations

import pytest

from lti_tool.content import load_module

from .helpers import BROKEN, edit

# (package, file with the problem, line, part of the message). Every package holds exactly one
# mistake, so under the basic profile each must produce exactly this one error.
CASES = [
    ("bad-yaml", "module.yaml", 24,
     "YAML syntax error: found unexpected end of stream (while scanning a quoted scalar that starts at line 23)"),
    ("unknown-framework", "module.yaml", 8, "alignment to unknown framework 'dcs-2021'"),
    ("unknown-element", "module.yaml", 17, "activity 'q1' lists element 'R9', which is not a dcs-2020 element"),
    ("dead-end", "module.yaml", 41, "step 'd3' of activity 's1' is a dead end"),
    ("unreachable-step", "module.yaml", 46, "step 'lost' of activity 's1' cannot be reached from start 'd1'"),
    ("cycle", "module.yaml", 45, "choice 'b' of step 'd3' in activity 's1' leads back to 'd1', making a loop"),
    ("few-decisions", "module.yaml", 25,
     "activity 's1' has a path with only 2 decision point(s) (d1 -> d2 -> end); every path needs at least 3"),
    ("missing-alt", "pages/01-intro.md", 5, "image 'images/pic.png' in this page has no alt text"),
    ("image-escape", "pages/01-intro.md", 4, "image '../secret.png' in this page points outside the package"),
    ("pass-mark-unreachable", "module.yaml", 11, "pass_mark 50 can never be reached: the module has no scored"),
    ("pass-mark-range", "module.yaml", 11, "'pass_mark' of module.yaml is 120; it must be between 1 and 100"),
    ("duplicate-ids", "module.yaml", 25, "activity id 'q1' is used twice (first at line 15)"),
    ("missing-feedback", "module.yaml", 23,
     "option 'c' of activity 'q1' has no 'feedback'; add feedback that explains why the option is right or wrong"),
    ("two-correct", "module.yaml", 22,
     "single_choice activity 'q1' must have exactly one option with correct: true (found 'a', 'b')"),
    ("bad-version", "module.yaml", 3, "version '1.0' is not a semantic version"),
    ("wrong-id", "module.yaml", 2, "module id 'something-else' must equal the folder name 'wrong-id'"),
    ("no-content-warning", "pages/01-intro.md", 4,
     "the module mentions 'grooming' but module.yaml has no content_warning"),
]


@pytest.mark.parametrize("case,file,line,message", CASES, ids=[c[0] for c in CASES])
def test_broken_package_reports_file_and_line(frameworks, case, file, line, message):
    result = load_module(BROKEN / case, frameworks, strict=False)
    errors = [p for p in result.problems if p.is_error]
    assert [(p.path, p.line) for p in errors] == [(BROKEN / case / file, line)], [p.format() for p in errors]
    assert message in errors[0].message
    assert result.module is None and not result.ok


def test_every_broken_fixture_has_a_case():
    assert sorted(p.name for p in BROKEN.iterdir()) == sorted(c[0] for c in CASES)


def test_problem_format_is_file_colon_line(frameworks):
    problem = load_module(BROKEN / "two-correct", frameworks, strict=False).problems[0]
    assert problem.format(BROKEN) == ("two-correct/module.yaml:22: single_choice activity 'q1' must have exactly "
                                      "one option with correct: true (found 'a', 'b'); mark one, or use type: "
                                      "multiple_response")


def test_strict_profile_adds_shipped_set_rules(frameworks):
    messages = [(p.line, p.message) for p in load_module(BROKEN / "two-correct", frameworks).problems]
    assert (6, "'estimated_minutes' of module.yaml is 10; it must be between 15 and 60") in messages
    assert (12, "the module has 1 page(s); shipped modules need at least 3 teaching pages") in messages
    assert (12, "the module has 1 scored activities; shipped modules need at least 6") in messages
    assert any(line == 12 and "no scenario" in m for line, m in messages)
    assert any(line == 12 and "no reflection" in m for line, m in messages)
    assert (2, "module.yaml has no 'confidence'; add confidence statements ('- {id: c1, element: R4, text: ...}')") \
        in messages


def test_good_fixture_is_clean_in_both_profiles(frameworks, good_module):
    from .helpers import GOOD
    assert load_module(GOOD, frameworks, strict=False).problems == []
    assert good_module.id == "fx-online-safety" and len(good_module.activities) == 6


def test_unknown_key_suggests_the_right_one(frameworks, good_copy):
    edit(good_copy / "module.yaml", '{id: b, text: "Tell her to delete the app.", correct: false,',
         '{id: b, text: "Tell her to delete the app.", corect: false,')
    problems = load_module(good_copy, frameworks).problems
    assert [(p.line, p.message) for p in problems] == [
        (33, "unknown key 'corect' in option 'b' of activity 'q1'; did you mean 'correct'?")]


def test_duplicate_yaml_key_is_reported_with_both_lines(frameworks, good_copy):
    edit(good_copy / "module.yaml", "pass_mark: 60\n", "pass_mark: 60\npass_mark: 70\n")
    problems = load_module(good_copy, frameworks).problems
    assert [(p.line, p.message) for p in problems] == [
        (19, "key 'pass_mark' appears twice in this mapping (first at line 18); remove or rename one")]


def test_missing_page_file(frameworks, good_copy):
    (good_copy / "pages" / "03-responding.md").unlink()
    problems = load_module(good_copy, frameworks).problems
    assert [(p.path, p.line) for p in problems] == [(good_copy / "module.yaml", 24),  # steps: now 2 pages
                                                    (good_copy / "module.yaml", 58)]  # the page entry
    assert problems[1].message.startswith("page file 'pages/03-responding.md' does not exist")


def test_missing_image_file(frameworks, good_copy):
    (good_copy / "images" / "signs.png").unlink()
    problems = [p for p in load_module(good_copy, frameworks).problems if p.is_error]
    assert [(p.path.name, p.line) for p in problems] == [("02-signs.md", 3)]
    assert "does not exist; add images/signs.png" in problems[0].message


def test_remote_image_is_refused(frameworks, good_copy):
    edit(good_copy / "pages" / "02-signs.md", "](images/signs.png)", "](https://example.com/x.png)")
    problems = [p for p in load_module(good_copy, frameworks).problems if p.is_error]
    assert [(p.path.name, p.line) for p in problems] == [("02-signs.md", 3)]
    assert "must be a file inside the package" in problems[0].message


def test_page_without_title(frameworks, good_copy):
    edit(good_copy / "pages" / "01-why.md", "# Why online safety matters\n", "Why online safety matters\n")
    problems = load_module(good_copy, frameworks).problems
    assert [(p.path.name, p.line) for p in problems] == [("01-why.md", 1)]


def test_multiple_response_needs_a_wrong_option(frameworks, good_copy):
    edit(good_copy / "module.yaml", 'correct: false, feedback: "No: ordinary school use', 'correct: true, '
         'feedback: "No: ordinary school use')
    edit(good_copy / "module.yaml", 'correct: false, feedback: "No: playing', 'correct: true, feedback: "No: playing')
    problems = load_module(good_copy, frameworks).problems
    assert [(p.line, p.message.split(",")[0]) for p in problems] == [
        (38, "multiple_response activity 'q2' has no incorrect option")]


def test_scenario_next_must_exist(frameworks, good_copy):
    edit(good_copy / "module.yaml", "next: end-poor", "next: end-bad")
    problems = load_module(good_copy, frameworks).problems
    # Only the bad target: reachability is checked once every target exists, so the now
    # orphaned end-poor is not reported as a second, confusing error.
    assert [(p.line, p.message.split(";")[0]) for p in problems] == [
        (91, "choice 'b' of step 'd3' in activity 's1' goes to 'end-bad', which is not a step")]


def test_raw_html_is_a_warning_and_graph_checks_still_run(frameworks, good_copy):
    edit(good_copy / "module.yaml", "text: The carer says Sam", "text: <b>The</b> carer says Sam")
    result = load_module(good_copy, frameworks)
    assert [(p.severity, p.line) for p in result.problems] == [("warning", 78)]
    assert "raw HTML in step 'd1' of activity 's1' is removed when shown" in result.problems[0].message
    assert result.ok and result.module is not None
    edit(good_copy / "module.yaml", "next: end-poor", "next: d1")
    messages = [p.message for p in load_module(good_copy, frameworks).problems]
    assert any("leads back to 'd1', making a loop" in m for m in messages)


def test_missing_activity_type(frameworks, good_copy):
    edit(good_copy / "module.yaml", "      type: reflection\n", "")
    problems = load_module(good_copy, frameworks).problems
    # the activity is dropped, so the strict rules also miss it
    assert [(p.line, p.message.split(";")[0]) for p in problems] == [(24, "the module has 5 scored activities"),
                                                                     (24, "the module has no reflection"),
                                                                     (100, "activity 'r1' has no 'type'")]
