"""The attempt lifecycle as a browser can drive it: relaunch, Back, stale tabs, double clicks."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from lti_tool.models import Attempt, AttemptStatus
from lti_tool.models.grades import GradeDelivery

from ..forms import forms
from ..player import answer, begin, step_fields, submit, take_all

CUSTOM = "https://purl.imsglobal.org/spec/lti/claim/custom"
MODULE = "p1-professional-standards"


@pytest.fixture(scope="module")
def module():
    from lti_tool.content import Library

    return Library(store=Path(tempfile.mkdtemp())).get(MODULE)


def launch(client, moodle, **custom) -> str:
    """A Moodle student launch of a link naming the module; the launch id."""
    def mutate(claims):
        claims[CUSTOM] = {**claims[CUSTOM], "module": MODULE, **custom}
        return claims
    response, _, _ = moodle.launch(client, "student_launch", mutate=mutate)
    assert response.status_code == 303
    return response.headers["Location"].rstrip("/").rsplit("/", 1)[1]


def counts(db) -> tuple[int, int]:
    """(attempts, scores queued for the gradebook)."""
    db.expire_all()
    return (db.scalar(select(func.count()).select_from(Attempt)),
            db.scalar(select(func.count()).select_from(GradeDelivery)))


def submitted_once(client, moodle, module) -> str:
    """Launch, take the whole module and submit it; the launch id."""
    launch_id = launch(client, moodle)
    assert begin(client, launch_id).status_code == 302
    take_all(client, launch_id, module)
    response, _ = submit(client, launch_id)
    assert response.status_code == 302 and response.headers["Location"].endswith("/attempts/1")
    return launch_id


def test_first_launch_shows_the_start_page_and_creates_nothing(client, moodle, db, module):
    launch_id = launch(client, moodle)
    page = client.get(f"/l/{launch_id}/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Start the module" in html and module.learning_outcomes[0] in html
    assert counts(db) == (0, 0)  # a GET never opens an attempt or queues a score
    started = begin(client, launch_id)
    assert started.status_code == 302 and started.headers["Location"].endswith("/step/0")
    assert counts(db) == (1, 1)  # the explicit start: one attempt, one "Started" score


def test_relaunch_after_submit_shows_the_result_without_a_new_attempt(app, client, moodle, db,
                                                                      module):
    submitted_once(client, moodle, module)
    before = counts(db)
    again = app.test_client()
    landing = again.get(f"/l/{launch(again, moodle)}/", follow_redirects=True)
    html = landing.get_data(as_text=True)
    assert re.search(r"/attempts/1$", landing.request.path)
    assert "Your result" in html and "Try again" in html
    assert counts(db) == before  # no attempt, and no "Started" score over the submitted one


def test_back_to_review_after_submit_opens_nothing(client, moodle, db, module):
    launch_id = submitted_once(client, moodle, module)
    before = counts(db)
    back = client.get(f"/l/{launch_id}/review", follow_redirects=True)
    assert re.search(r"/attempts/1$", back.request.path)
    step = client.get(f"/l/{launch_id}/step/3", follow_redirects=True)
    assert re.search(r"/attempts/1$", step.request.path)
    assert counts(db) == before


def test_double_submit_scores_once(client, moodle, db, module):
    launch_id = launch(client, moodle)
    begin(client, launch_id)
    take_all(client, launch_id, module)
    first, fields = submit(client, launch_id)
    queued = counts(db)
    second = client.post(f"/l/{launch_id}/submit", data=fields)  # the same form, again
    assert first.headers["Location"] == second.headers["Location"]
    assert counts(db) == queued


def test_stale_tab_cannot_answer_or_submit_an_old_attempt(client, moodle, db, module):
    launch_id = submitted_once(client, moodle, module)
    # The submitted attempt's review form, kept open in another tab:
    old_fields = {"attempt": "1"}
    retry = begin(client, launch_id)  # "Try again" opens attempt 2
    assert retry.status_code == 302
    token = step_fields(client, launch_id, 0)["csrf_token"]
    before = counts(db)

    refused = client.post(f"/l/{launch_id}/submit", data={**old_fields, "csrf_token": token})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 409
    assert "This page is out of date" in html and "attempt 2 is the one open now" in html
    ratings = {f"rating-{s.id}": "5" for s in module.confidence.statements}
    refused = client.post(f"/l/{launch_id}/step/0",
                          data={**ratings, **old_fields, "csrf_token": token})
    assert refused.status_code == 409
    db.expire_all()
    second = db.scalar(select(Attempt).where(Attempt.number == 2))
    assert second.status == AttemptStatus.IN_PROGRESS and second.confidence_before == {}
    assert counts(db) == before


def test_stale_try_again_does_not_open_a_second_new_attempt(app, client, moodle, db, module):
    launch_id = submitted_once(client, moodle, module)
    summary = client.get(f"/l/{launch_id}/attempts/1").get_data(as_text=True)
    stale = next(f for f in forms(summary) if f["action"].endswith("/start"))
    assert client.post(stale["action"], data=stale["fields"]).status_code == 302  # attempt 2
    take_all(client, launch_id, module)
    submit(client, launch_id)
    before = counts(db)
    again = client.post(stale["action"], data=stale["fields"])  # the old "Try again" button
    assert again.status_code == 409
    assert counts(db) == before


def test_try_again_keeps_the_gradebook_grade(client, moodle, db, module):
    launch_id = submitted_once(client, moodle, module)
    db.expire_all()
    latest = db.scalars(select(GradeDelivery).order_by(GradeDelivery.id.desc())).first()
    assert latest.activity_progress in ("Completed", "Submitted")
    begin(client, launch_id)
    answer(client, launch_id, 0, {f"rating-{s.id}": "4" for s in module.confidence.statements})
    db.expire_all()
    newest = db.scalars(select(GradeDelivery).order_by(GradeDelivery.id.desc())).first()
    assert newest.id == latest.id  # no Started/InProgress score over the counted grade


def test_attempts_used_up_shows_the_result_and_no_button(client, moodle, db, module):
    launch_id = launch(client, moodle, max_attempts="1")
    begin(client, launch_id)
    take_all(client, launch_id, module)
    submit(client, launch_id)
    page = client.get(f"/l/{launch_id}/", follow_redirects=True).get_data(as_text=True)
    assert "You have used every attempt" in page and "Try again" not in page
