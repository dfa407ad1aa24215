"""What students and lecturers see of the record: option order, long text, short reflections,
and the lecturer's marks and comment reaching the student (and nobody else)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from lti_tool.content.order import shuffled
from lti_tool.models import Attempt

from ..forms import forms
from ..player import answer, begin, submit, take_all

CUSTOM = "https://purl.imsglobal.org/spec/lti/claim/custom"


@pytest.fixture
def module(fx_module):
    return fx_module


def launch(client, moodle, shape: str = "student_launch", sub: str | None = None) -> str:
    """A launch of the course's link, which delivers the fixture module; the launch id."""
    def mutate(claims):
        claims[CUSTOM] = {**claims[CUSTOM], "module": "fx-online-safety"}
        if sub is not None and shape == "student_launch":
            claims["sub"], claims["name"] = sub, f"Student {sub}"
        return claims
    response, _, _ = moodle.launch(client, shape, mutate=mutate, login_hint=sub or "4")
    assert response.status_code == 303
    return response.headers["Location"].rstrip("/").rsplit("/", 1)[1]


def index_of(module, activity_id: str) -> int:
    return next(i for i, s in enumerate(module.steps, start=1) if getattr(s, "id", "") == activity_id)


def order_on(client, launch_id: str, index: int) -> list[str]:
    """Option ids in the order the step page shows them."""
    html = client.get(f"/l/{launch_id}/step/{index}").get_data(as_text=True)
    return re.findall(r'name="choice" value="([^"]+)"', html)


def test_option_order_is_the_attempts_own_in_every_view(app, client, moodle, db, module):
    launch_id = launch(client, moodle)
    begin(client, launch_id)
    q2 = module.activity("q2")
    i = index_of(module, "q2")
    asked = order_on(client, launch_id, i)
    attempt = db.scalar(select(Attempt))
    assert asked == [o.id for o in shuffled(q2.options, attempt.seed, q2.id)]
    answer(client, launch_id, i, {"choice": ["a", "b"]})
    assert order_on(client, launch_id, i) == asked  # the feedback lists them the same way
    again = app.test_client()  # the tab closed; a new launch resumes
    assert order_on(again, launch(again, moodle), i) == asked

    take_all(client, launch_id, module)
    submit(client, launch_id)
    begin(client, launch_id)  # try again: a new attempt, with orders of its own
    db.expire_all()
    second = db.scalar(select(Attempt).where(Attempt.number == 2))
    questions = ("q1", "q2", "q4")
    shown = {a: order_on(client, launch_id, index_of(module, a)) for a in questions}
    first = {a: [o.id for o in shuffled(module.activity(a).options, attempt.seed, a)]
             for a in questions}
    assert shown == {a: [o.id for o in shuffled(module.activity(a).options, second.seed, a)]
                     for a in questions}
    assert shown != first  # the new attempt does not repeat the old one's orders


def test_a_refused_long_reflection_comes_back_in_the_box(client, moodle, db, module):
    launch_id = launch(client, moodle)
    begin(client, launch_id)
    i = index_of(module, "r1")
    text = ("I would record what she said in her own words. " * 600)[:25_000]
    refused = answer(client, launch_id, i, {"text": text})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "Your reflection is 25,000 characters long; the limit is 20,000." in html
    assert text in html.replace("&#39;", "'")  # nothing typed is lost
    assert 'maxlength="20000"' in html
    db.expire_all()
    assert "r1" not in db.scalar(select(Attempt)).answers


def test_a_short_reflection_is_not_finished_on_the_review(client, moodle, module):
    launch_id = launch(client, moodle)
    begin(client, launch_id)
    take_all(client, launch_id, module, {"r1": "Too short to count yet."})
    review = client.get(f"/l/{launch_id}/review").get_data(as_text=True)
    assert "You have answered everything" not in review
    assert re.search(r"Reflection</a>: 15 more words needed", review)  # 5 of 20 words


def test_lecturer_marks_and_comment_reach_that_student_only(app, client, moodle, db, module):
    student = launch(client, moodle)
    begin(client, student)
    take_all(client, student, module)
    submit(client, student)
    other = app.test_client()
    other_id = launch(other, moodle, sub="99")
    begin(other, other_id)
    take_all(other, other_id, module)
    submit(other, other_id)

    lecturer = app.test_client()
    teacher = launch(lecturer, moodle, "teacher_launch", sub="3")
    attempt = db.scalar(select(Attempt).join(Attempt.user).where(Attempt.user.has(sub="4")))
    url = f"/c/{teacher}/marking/{attempt.id}"
    page = lecturer.get(url).get_data(as_text=True)
    assert "25 words (minimum 20)" in page  # what the marker sees of the text's length
    fields = next(f for f in forms(page) if "version" in f["fields"])["fields"]
    saved = lecturer.post(url, data={**fields, "mark-r1-link": "1", "mark-r1-action": "1",
                                     "comment-r1": "Name the Online Safety Act next time."})
    assert saved.status_code == 302

    summary = client.get(f"/l/{student}/attempts/1").get_data(as_text=True)
    assert "Feedback from your lecturer" in summary
    assert "Marked by Tina Teacher" in summary and "Name the Online Safety Act next time." in summary
    assert "Names a concrete change to practice: 1 of 2 (A general intention)" in summary
    assert "2 of 3 marks" in summary
    for page in (f"/l/{student}/evidence", f"/l/{student}/profile"):
        assert "Name the Online Safety Act next time." in client.get(page).get_data(as_text=True)
    for page in (f"/l/{other_id}/attempts/1", f"/l/{other_id}/evidence", f"/l/{other_id}/profile"):
        assert "Online Safety Act next time" not in other.get(page).get_data(as_text=True)
    # Another student's attempt is not reachable from a student's launch either.
    assert client.get(f"/l/{other_id}/attempts/1").status_code in (302, 401, 403)


def test_times_are_the_students_clock_across_midnight(app, client, moodle, db, module):
    """Submitted at 23:30 UTC on 30 June is 00:30 BST on 1 July: every page a student or
    lecturer reads says so (stored times stay UTC; the CSV's column is UTC and named so)."""
    student = launch(client, moodle)
    begin(client, student)
    take_all(client, student, module)
    submit(client, student)
    attempt = db.scalar(select(Attempt).join(Attempt.user).where(Attempt.user.has(sub="4")))
    attempt.submitted_at = datetime(2026, 6, 30, 23, 30, tzinfo=UTC)
    db.commit()
    summary = client.get(f"/l/{student}/attempts/1").get_data(as_text=True)
    assert "submitted 1 Jul 2026, 00:30 BST" in summary
    evidence = client.get(f"/l/{student}/evidence").get_data(as_text=True)
    profile = client.get(f"/l/{student}/profile").get_data(as_text=True)
    assert "Completed 1 July 2026" in evidence and ", 1 July 2026:" in profile
    assert "30 June 2026" not in evidence and "30 June 2026" not in profile
    lecturer = app.test_client()
    teacher = launch(lecturer, moodle, "teacher_launch", sub="3")
    queue = lecturer.get(f"/c/{teacher}/marking").get_data(as_text=True)
    marking = lecturer.get(f"/c/{teacher}/marking/{attempt.id}").get_data(as_text=True)
    for text in (queue, marking):
        assert "1 Jul 2026, 00:30 BST" in text and "30 Jun" not in text
