"""A student takes a module from a real launch: answers are saved, resumed, submitted, scored."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from lti_tool.models import Attempt, AttemptStatus

from ..forms import csrf
from ..player import land

CUSTOM = "https://purl.imsglobal.org/spec/lti/claim/custom"
# The content tests' fixture module (imported by the fx_module fixture): its figures are
# worked by hand below and never change when the shipped modules are rewritten.
MODULE = "fx-online-safety"
# 9 module steps + confidence before and after = 11 player steps.
TOTAL_STEPS = 11


def with_module(module_id: str | None = MODULE, **custom):
    """A Moodle student launch whose link names a module in its custom parameters."""
    def mutate(claims):
        claims[CUSTOM] = {**claims[CUSTOM], **({"module": module_id} if module_id else {}),
                          **custom}
        return claims
    return mutate


def launch_student(client, moodle, **kwargs):
    """Launch and follow the redirects to wherever the student lands."""
    response, _, _ = moodle.launch(client, "student_launch", mutate=with_module(**kwargs))
    assert response.status_code == 303
    return land(client, response.headers["Location"])


def post_step(client, url: str, data: dict):
    """Submit a step's form with its CSRF token, as the browser would."""
    page = client.get(url)
    return client.post(url, data={**data, "csrf_token": csrf(page.get_data(as_text=True))})


@pytest.fixture(autouse=True)
def module(fx_module):
    return fx_module


def test_student_lands_on_the_first_step_of_the_chosen_module(client, moodle, module):
    page = launch_student(client, moodle)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert re.search(r"/l/[\w-]+/step/0$", page.request.path)
    assert f"Step 1 of {TOTAL_STEPS}" in html
    assert "Before you start: how confident are you?" in html
    assert "Content warning." in html  # the module mentions grooming


def test_link_without_module_tells_student_and_lets_lecturer_choose(client, moodle, app, db):
    page = launch_student(client, moodle, module_id=None)
    assert "This activity is not set up yet" in page.get_data(as_text=True)

    lecturer = app.test_client()
    response, _, _ = moodle.launch(lecturer, "teacher_launch", login_hint="3")
    picker = lecturer.get(response.headers["Location"], follow_redirects=True)
    assert "Choose the module for this activity" in picker.get_data(as_text=True)
    launch_id = response.headers["Location"].rstrip("/").rsplit("/", 1)[1]
    # The old address of the chooser still leads there.
    assert lecturer.get(f"/l/{launch_id}/choose").headers["Location"].endswith(
        f"/i/{launch_id}/modules")
    result = post_step(lecturer, f"/i/{launch_id}/modules",
                       {"module": "p1-professional-standards"})
    assert result.status_code == 302

    again = launch_student(client, moodle, module_id=None)
    assert "Meeting professional standards in digital practice" in again.get_data(as_text=True)


def test_student_cannot_choose_the_module(client, moodle):
    page = launch_student(client, moodle)
    launch_id = page.request.path.split("/")[2]
    refused = client.get(f"/l/{launch_id}/choose", follow_redirects=True)
    assert refused.status_code == 403
    assert "Only lecturers can choose modules" in refused.get_data(as_text=True)


def test_unknown_module_is_a_clear_page(client, moodle):
    page = launch_student(client, moodle, module_id="no-such-module")
    assert page.status_code == 404
    assert "no-such-module" in page.get_data(as_text=True)


def test_forms_without_csrf_token_are_refused(client, moodle):
    page = launch_student(client, moodle)
    response = client.post(page.request.path, data={"rating-c1": "3"})
    assert response.status_code == 400
    assert "This form has expired" in response.get_data(as_text=True)


def test_whole_module_with_resume_and_hand_computed_score(client, moodle, app, db, module):
    page = launch_student(client, moodle)
    base = page.request.path.rsplit("/", 1)[0]  # /l/<launch>/step

    # Confidence before: all 2s.
    ratings = {f"rating-{s.id}": "2" for s in module.confidence.statements}
    moved = post_step(client, f"{base}/0", ratings)
    assert moved.status_code == 302 and moved.headers["Location"].endswith("/step/1")

    def answer(client, base: str, index: int, activity) -> None:
        if activity.type == "single_choice":
            choice = activity.best_answer() if activity.id != "q1" else \
                next(o.id for o in activity.options if not o.correct)
            r = post_step(client, f"{base}/{index}", {"choice": choice})
            assert r.status_code == 302
        elif activity.type == "multiple_response":
            r = post_step(client, f"{base}/{index}", {"choice": sorted(activity.best_answer())})
            assert r.status_code == 302
        elif activity.type == "scenario":
            for choice in activity.best_answer():
                r = post_step(client, f"{base}/{index}", {"choice": choice})
                assert r.status_code == 302
        elif activity.type == "reflection":
            text = " ".join(["reflection"] * (activity.min_words + 5))
            assert post_step(client, f"{base}/{index}", {"text": text}).status_code == 302

    steps = list(enumerate(module.steps, start=1))
    half = len(steps) // 2
    for index, item in steps[:half]:
        if hasattr(item, "score"):
            answer(client, base, index, item)

    # The student closes the tab; a new launch (new browser session) resumes at the same step.
    fresh = app.test_client()
    resumed = launch_student(fresh, moodle)
    position = int(resumed.request.path.rsplit("/", 1)[1])
    assert position == max(i for i, item in steps[:half] if hasattr(item, "score"))
    client = fresh
    base = resumed.request.path.rsplit("/", 1)[0]
    # Saved answers are shown again after resuming.
    q1_index = next(i for i, item in steps if getattr(item, "id", None) == "q1")
    q1_page = client.get(f"{base}/{q1_index}").get_data(as_text=True)
    assert "Your answer: not right." in q1_page

    for index, item in steps[half:]:
        if hasattr(item, "score"):
            answer(client, base, index, item)
    after = {f"rating-{s.id}": "4" for s in module.confidence.statements}
    assert post_step(client, f"{base}/{TOTAL_STEPS - 1}", after).status_code == 302

    review = client.get(base.replace("/step", "/review")).get_data(as_text=True)
    assert "You have answered everything" in review
    token = csrf(review)
    result = client.post(base.replace("/step", "/submit"), data={"csrf_token": token},
                         follow_redirects=True)
    html = result.get_data(as_text=True)

    # Hand computation for fx-online-safety 1.0.0 (weights): q1 1 [R4], q2 3 [R4], q3 1 [R3],
    # q4 2 [R3,R4], s1 4 [R4], r1 3 [R3] (reflection, waiting for the lecturer) = 14 points.
    # Best answers everywhere except q1 (wrong) and r1 (unmarked): 14 - 1 - 3 = 10 -> 71.4%.
    # R4: q1 0 + q2 3 + q4 1 + s1 4 = 8 of (1 + 3 + 1 + 4) = 9.
    # R3: q3 1 + q4 1 + r1 0 = 2 of (1 + 1 + 3) = 5.
    assert "71%" in html and "10 of 14 points" in html
    assert "waiting for your lecturer" in html
    assert "once your lecturer has marked the reflection" in html  # Moodle shows "-" till then
    assert "8 of 9" in html and "2 of 5" in html
    assert "You reached the pass mark of 60%." in html

    attempt = db.scalar(select(Attempt))
    db.refresh(attempt)
    assert attempt.status == AttemptStatus.SUBMITTED
    assert attempt.module_version == "1.0.0"
    assert attempt.points == 10 and attempt.max_points == 14 and attempt.pending_manual
    assert attempt.element_points == {"R4": [8.0, 9.0], "R3": [2.0, 5.0]}
    assert set(attempt.confidence_before.values()) == {2}
    assert set(attempt.confidence_after.values()) == {4}

    # The profile leaves the unmarked reflection out until it is marked:
    # R4 8 of 9 -> 88.9%, shown 88% Proficient; R3 2 of (5 - 3) = 2 -> 100%;
    # Practice (R1-R5) = (8 + 2) of (9 + 2) = 10 of 11 -> 90.9%, shown 90% Proficient.
    launch_id = base.split("/")[2]
    profile = client.get(f"/l/{launch_id}/profile").get_data(as_text=True)
    row = lambda label: re.search(rf"<th scope=\"row\">{label}.*?</tr>", profile, re.S).group(0)
    assert "88% Proficient" in row("R4") and "8 of 9" in row("R4")
    assert "100% Proficient" in row("R3")
    assert "90% Proficient" in row("Practice") and "10 of 11" in row("Practice")
    assert "2.0" in row("R4") and "4.0 (+2.0)" in row("R4")  # confidence before, after
    assert "No evidence" in row("P1") or "–" in row("P1")
    assert "Developing" in profile and "Proficient" in profile and "80%" in profile  # thresholds
    assert "<svg" in profile and 'role="img"' in profile
    evidence = client.get(f"/l/{launch_id}/evidence").get_data(as_text=True)
    assert "Online safety basics" in evidence and "71%" in evidence
    assert "reflection reflection" in evidence  # the student's own reflection, for the portfolio


def test_attempt_limit_and_retry(client, moodle, db, module):
    page = launch_student(client, moodle, max_attempts="1")
    base = page.request.path.rsplit("/", 1)[0]
    review = client.get(base.replace("/step", "/review")).get_data(as_text=True)
    assert "These steps are not finished yet" in review
    client.post(base.replace("/step", "/submit"), data={"csrf_token": csrf(review)})
    again = launch_student(client, moodle, max_attempts="1")
    html = again.get_data(as_text=True)
    assert "Your result" in html and "0%" in html
    assert "Try again" not in html  # one attempt allowed, used


def test_wrong_choice_id_is_refused_and_nothing_saved(client, moodle, db, module):
    page = launch_student(client, moodle)
    base = page.request.path.rsplit("/", 1)[0]
    q1_index = next(i for i, item in enumerate(module.steps, start=1)
                    if getattr(item, "id", None) == "q1")
    response = post_step(client, f"{base}/{q1_index}", {"choice": "zz"})
    assert response.status_code == 400
    # The engine's technical reason goes to the log; the student gets plain words.
    assert "That option is not part of this question" in response.get_data(as_text=True)
    assert db.scalar(select(Attempt)).answers == {}
