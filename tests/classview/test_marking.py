"""The marking queue: rubric marks and a comment saved, the attempt re-scored, off the queue."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from lti_tool.models import Attempt, ReflectionMark

from ..forms import forms
from .test_classview import WRONG, cell
from .vle import csrf, launch, take_module

SALLY_WRONG = {"q1": WRONG, "q2": ["a", "d"], "q3": WRONG, "q4": WRONG, "q5": WRONG,
               "q6": WRONG}


@pytest.fixture
def sally_submitted(app, vle, vle_server, library, db):
    """Sally's r4 attempt, submitted with its reflection waiting; the lecturer's launch."""
    sally = app.test_client()
    take_module(sally, launch(sally, vle, vle_server, sub="5", link="r4"),
                library.get("r4-frozen"), SALLY_WRONG,
                reflection="Sally-reflects")
    lecturer = app.test_client()
    launch_id = launch(lecturer, vle, vle_server, sub="3", link="r4", role="Instructor")
    attempt = db.scalar(select(Attempt))
    return lecturer, launch_id, attempt


def test_marking_saves_marks_rescores_and_clears_the_queue(sally_submitted, db):
    client, launch_id, attempt = sally_submitted
    queue = client.get(f"/c/{launch_id}/marking").get_data(as_text=True)
    assert "Sally Scholar" in queue and "1 attempt waiting" in queue
    mark_url = f"/c/{launch_id}/marking/{attempt.id}"
    assert f'href="{mark_url}"' in queue

    page = client.get(mark_url).get_data(as_text=True)
    assert "Choose one online risk from this module" in page  # the prompt
    assert "Sally-reflects Sally-reflects" in page  # the student's text
    assert "Identifies realistic signs of the risk" in page  # a rubric criterion
    fields = next(f for f in forms(page) if "csrf_token" in f["fields"])["fields"]
    assert {"mark-r1-recognise", "mark-r1-respond", "mark-r1-law", "mark-r1-balance"} <= \
        set(fields)

    saved = client.post(mark_url, data={
        "csrf_token": csrf(page), "mark-r1-recognise": "1", "mark-r1-respond": "1",
        "mark-r1-law": "0", "mark-r1-balance": "1",
        "comment-r1": "Good signs and response; name the law next time."},
        follow_redirects=True)
    html = saved.get_data(as_text=True)
    assert saved.status_code == 200
    # Rubric 3 of 4 on a reflection weighted 3: 3/4 x 3 = 2.25 points. Before marking Sally
    # had 4 of 14 (s1 only); now 4 + 2.25 = 6.25 of 14 = 44.6%, shown as every page shows
    # numbers: 44% (whole percent, rounded down) and 6.3 points (one decimal).
    assert "Marks saved for Sally Scholar: 44% (6.3 of 14 points)." in html
    assert "Nothing to mark" in html

    db.refresh(attempt)
    assert attempt.marks == {"r1": {"recognise": 1, "respond": 1, "law": 0, "balance": 1}}
    assert attempt.points == 6.25 and attempt.max_points == 14
    assert attempt.percent == pytest.approx(100 * 6.25 / 14)
    assert attempt.pending_manual is False and attempt.passed is False  # pass mark 60%
    # Per element, the reflection's 2.25 of 3 joins R4: (s1 2 + 2.25) of (8.5 + 3) = 11.5.
    assert attempt.element_points == {"R4": [4.25, 11.5], "R5": [2.0, 2.5]}
    record = db.scalar(select(ReflectionMark))
    assert record.comment == "Good signs and response; name the law next time."
    assert record.activity_id == "r1" and record.marker.sub == "3"

    # The class view now counts the marked reflection: R4 4.25 of 11.5 = 36.9% Developing,
    # Practice (4.25 + 2) of (11.5 + 2.5) = 6.25 of 14 = 44.6% Developing, no "*" any more.
    view = client.get(f"/c/{launch_id}/link").get_data(as_text=True)
    assert cell(view, "Sally Scholar", "R4") == "Developing 36%"
    assert cell(view, "Sally Scholar", "Practice") == "Developing 44%"
    student = client.get(f"/c/{launch_id}/link/students/{attempt.user_id}").get_data(
        as_text=True)
    assert "name the law next time" in student
    assert "Names the relevant law, guidance or procedure correctly" in student and \
        ": 0 of 1" in student


def test_marks_out_of_range_or_missing_save_nothing(sally_submitted, db):
    client, launch_id, attempt = sally_submitted
    mark_url = f"/c/{launch_id}/marking/{attempt.id}"
    page = client.get(mark_url).get_data(as_text=True)
    marks = {"mark-r1-recognise": "1", "mark-r1-respond": "1", "mark-r1-balance": "1"}
    too_high = client.post(mark_url, data={"csrf_token": csrf(page), **marks,
                                           "mark-r1-law": "2"})
    html = too_high.get_data(as_text=True)
    assert too_high.status_code == 400
    assert "must be from 0 to 1" in html and "Nothing was saved" in html
    assert 'value="2"' in html  # what the marker typed is kept for correcting
    missing = client.post(mark_url, data={"csrf_token": csrf(page), **marks})
    assert missing.status_code == 400 and "Give a mark for" in missing.get_data(as_text=True)
    words = client.post(mark_url, data={"csrf_token": csrf(page), **marks,
                                        "mark-r1-law": "lots"})
    assert words.status_code == 400 and "must be a number" in words.get_data(as_text=True)
    no_csrf = client.post(mark_url, data={**marks, "mark-r1-law": "1"})
    assert no_csrf.status_code == 400 and "This form has expired" in \
        no_csrf.get_data(as_text=True)
    db.refresh(attempt)
    assert attempt.marks == {} and attempt.pending_manual is True and attempt.points == 4
    assert db.scalar(select(ReflectionMark)) is None


def test_attempt_of_another_course_cannot_be_marked(sally_submitted, app, vle, vle_server, db):
    _, _, attempt = sally_submitted
    # The same lecturer, launching from another course of the same platform.
    other = app.test_client()
    launch_id = launch(other, vle, vle_server, sub="3", link="r4", role="Instructor",
                       context={"id": "99", "label": "OTHER", "title": "Another course"})
    page = other.get(f"/c/{launch_id}/marking/{attempt.id}")
    assert page.status_code == 404
    assert "no submitted attempt with that number in this course" in page.get_data(as_text=True)
    assert "Sally" not in other.get(f"/c/{launch_id}/marking").get_data(as_text=True)


def test_marking_queues_the_grade_when_grades_are_installed(sally_submitted, db):
    pytest.importorskip("lti_tool.grades")
    from lti_tool.models import GradeDelivery

    client, launch_id, attempt = sally_submitted
    mark_url = f"/c/{launch_id}/marking/{attempt.id}"
    page = client.get(mark_url).get_data(as_text=True)
    client.post(mark_url, data={"csrf_token": csrf(page), "mark-r1-recognise": "1",
                                "mark-r1-respond": "1", "mark-r1-law": "1",
                                "mark-r1-balance": "1"})
    rows = list(db.scalars(select(GradeDelivery).where(
        GradeDelivery.attempt_id == attempt.id).order_by(GradeDelivery.id)))
    assert rows and rows[-1].grading_progress == "FullyGraded"
    # Full rubric: 4 + 3 = 7 of 14 = 50% of the link's maximum.
    assert rows[-1].score_given == pytest.approx(rows[-1].score_maximum * 0.5)
    view = client.get(f"/c/{launch_id}/link").get_data(as_text=True)
    assert re.search(r"(Sent to the gradebook|Waiting to be sent|Not sent)", view)
