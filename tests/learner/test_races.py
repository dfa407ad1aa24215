"""Every write path of the player and of marking stays right when requests race.

Each test fires requests at the same moment from threads (tests.concurrency.together), many
times, on SQLite and on PostgreSQL, and checks what was stored.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, update

from lti_tool.models import Attempt, Context, LtiUser, Membership, ResourceLink
from lti_tool.models.grades import GradeDelivery

from ..concurrency import same_browser, together
from ..forms import forms
from ..player import begin, step_fields
from .test_lifecycle import MODULE, launch

TRIALS = 50


@pytest.fixture(scope="module")
def module():
    from lti_tool.content import Library

    return Library(store=Path(tempfile.mkdtemp())).get(MODULE)


def _choice_steps(module) -> list[tuple[int, object]]:
    """(player index, activity) of the single-choice questions."""
    return [(i, a) for i, a in enumerate(module.steps, start=1)
            if getattr(a, "type", "") == "single_choice"]


def test_two_steps_saved_at_once_both_survive(app, client, moodle, db, module):
    launch_id = launch(client, moodle)
    begin(client, launch_id)
    other = same_browser(app, client)
    (i, a), (j, b) = _choice_steps(module)[:2]
    form_i = {**step_fields(client, launch_id, i), "choice": a.best_answer()}
    form_j = {**step_fields(other, launch_id, j), "choice": b.best_answer()}
    lost = 0
    for _ in range(TRIALS):
        db.execute(update(Attempt).values(answers={}))
        db.commit()
        results = together(lambda: client.post(f"/l/{launch_id}/step/{i}", data=form_i),
                           lambda: other.post(f"/l/{launch_id}/step/{j}", data=form_j))
        assert [r.status_code for r in results] == [302, 302]
        db.expire_all()
        saved = db.scalar(select(Attempt)).answers
        lost += not (saved.get(a.id) == a.best_answer() and saved.get(b.id) == b.best_answer())
    assert lost == 0


def test_two_tabs_starting_at_once_get_one_attempt(app, client, moodle, db):
    launch_id = launch(client, moodle)
    page = client.get(f"/l/{launch_id}/").get_data(as_text=True)
    other = same_browser(app, client)  # after the page: its CSRF token is in the session
    start = next(f for f in forms(page) if f["action"].endswith("/start"))
    for _ in range(20):
        db.execute(delete(GradeDelivery))
        db.execute(delete(Attempt))
        db.commit()
        results = together(lambda: client.post(start["action"], data=start["fields"]),
                           lambda: other.post(start["action"], data=start["fields"]))
        assert [r.status_code for r in results] == [302, 302]
        assert results[0].headers["Location"] == results[1].headers["Location"]
        db.expire_all()
        assert db.scalar(select(func.count()).select_from(Attempt)) == 1


def test_many_first_launches_into_a_new_course_all_succeed(app, moodle, db):
    """16 launches at once into a course the tool has never seen: 12 students, one of them
    in 5 tabs. Every launch lands; one course, one link, one membership per person."""
    from tests.lti_platform import moodle_claims

    subs = [str(100 + n) for n in range(12)] + ["100"] * 4
    prepared = []
    for sub in subs:
        browser = app.test_client()
        auth = moodle.auth_request(moodle.login(browser, login_hint=sub))
        claims = moodle.claims(moodle_claims("student_launch"), auth)
        claims["sub"] = sub
        claims["https://purl.imsglobal.org/spec/lti/claim/context"]["id"] = "new-course-77"
        claims["https://purl.imsglobal.org/spec/lti/claim/resource_link"]["id"] = "new-link-77"
        prepared.append((browser, {"id_token": moodle.sign(claims), "state": auth["state"]}))
    results = together(*[lambda b=b, f=f: b.post("/lti/launch", data=f) for b, f in prepared])
    assert [r.status_code for r in results] == [303] * len(subs)
    db.expire_all()
    course = db.scalars(select(Context).where(Context.context_id == "new-course-77")).one()
    assert db.scalar(select(func.count()).select_from(ResourceLink)
                     .where(ResourceLink.context_id == course.id)) == 1
    assert db.scalar(select(func.count()).select_from(Membership)
                     .where(Membership.context_id == course.id)) == 12
    assert db.scalar(select(func.count()).select_from(LtiUser)
                     .where(LtiUser.sub.in_(set(subs)))) == 12


def test_relaunches_renaming_a_known_course_at_once_all_land(app, moodle, db):
    """8 launches at once into a course the tool knows, each naming the course and link anew
    (the course and link are read, then written only when they changed): every launch lands,
    and one course and one link keep one of the names sent."""
    from tests.lti_platform import moodle_claims

    context = "https://purl.imsglobal.org/spec/lti/claim/context"
    link = "https://purl.imsglobal.org/spec/lti/claim/resource_link"
    for trial in range(5):
        prepared = []
        for n in range(8):
            browser = app.test_client()
            sub = str(300 + n)
            auth = moodle.auth_request(moodle.login(browser, login_hint=sub))
            claims = moodle.claims(moodle_claims("student_launch"), auth)
            claims["sub"] = sub
            claims[context].update(id="renamed-course", title=f"Course {trial}-{n}")
            claims[link].update(id="renamed-link", title=f"Link {trial}-{n}")
            prepared.append((browser, {"id_token": moodle.sign(claims), "state": auth["state"]}))
        results = together(*[lambda b=b, f=f: b.post("/lti/launch", data=f)
                             for b, f in prepared])
        assert [r.status_code for r in results] == [303] * 8
        db.expire_all()
        course = db.scalars(select(Context).where(Context.context_id == "renamed-course")).one()
        assert course.title in {f"Course {trial}-{n}" for n in range(8)}
        named = db.scalars(select(ResourceLink).where(ResourceLink.context_id == course.id)).one()
        assert named.title in {f"Link {trial}-{n}" for n in range(8)}


def test_a_double_clicked_submit_scores_once(app, client, moodle, db, module):
    from ..player import take_all

    launch_id = launch(client, moodle)
    for _ in range(10):
        db.execute(delete(GradeDelivery))
        db.execute(delete(Attempt))
        db.commit()
        begin(client, launch_id)
        take_all(client, launch_id, module)
        html = client.get(f"/l/{launch_id}/review").get_data(as_text=True)
        fields = next(f for f in forms(html) if f["action"].endswith("/submit"))["fields"]
        other = same_browser(app, client)
        results = together(lambda: client.post(f"/l/{launch_id}/submit", data=fields),
                           lambda: other.post(f"/l/{launch_id}/submit", data=fields))
        assert [r.status_code for r in results] == [302, 302]
        assert results[0].headers["Location"] == results[1].headers["Location"]
        db.expire_all()
        submitted = db.scalars(select(GradeDelivery).where(
            GradeDelivery.activity_progress.in_(("Submitted", "Completed")))).all()
        assert len(submitted) == 1  # one score for the gradebook, not two
