"""Two erasures of one person at the same moment: one pseudonym, no trace, no error page."""

from __future__ import annotations

from sqlalchemy import func, select

from lti_tool.governance.subjects import PersonNotFound, erase_person
from lti_tool.models import LtiUser, Registration

from ..concurrency import together


def test_simultaneous_erasures_leave_one_pseudonymised_person(app, db, moodle):
    moodle.launch(app.test_client(), "student_launch")
    moodle.launch(app.test_client(), "teacher_launch", login_hint="3")
    users_before = db.scalar(select(func.count()).select_from(LtiUser))
    factory = app.extensions["lti_tool.sessionmaker"]

    def erase() -> str:
        with factory() as session:
            registration = session.scalar(select(Registration))
            try:
                erase_person(session, registration, "4")
            except PersonNotFound:
                session.rollback()
                return "nothing left"
            session.commit()
            return "erased"

    outcomes = together(erase, erase)
    assert "erased" in outcomes
    db.expire_all()
    subs = sorted(db.scalars(select(LtiUser.sub)))
    assert db.scalar(select(func.count()).select_from(LtiUser)) == users_before
    assert "4" not in subs and subs[0] == "3" and subs[1].startswith("erased-")
    assert db.scalar(select(LtiUser).where(LtiUser.sub == subs[1])).email is None


def test_simultaneous_purges_remove_each_row_once(app, db):
    from lti_tool.governance.retention import purge

    from .test_retention import EXPECTED, NOW, POLICY, _fill

    _fill(db)
    factory = app.extensions["lti_tool.sessionmaker"]

    def run() -> dict:
        with factory() as session:
            report = purge(session, POLICY, apply=True, now=NOW)
            session.commit()
            return report.counts

    first, second = together(run, run)
    assert {k: first[k] + second[k] for k in first} == EXPECTED


def test_simultaneous_erasure_requests_show_as_one(app, moodle, admin_client):
    from ..forms import csrf
    from .test_privacy_launch import privacy_launch

    client = app.test_client()
    page = privacy_launch(moodle, client)
    token = csrf(page.get_data(as_text=True))
    url = f"{page.request.path}/erase"
    from ..concurrency import same_browser

    tabs = [client, same_browser(app, client)]
    responses = together(*(lambda tab=tab: tab.post(url, data={"csrf_token": token})
                           for tab in tabs))
    assert [r.status_code for r in responses] == [303, 303]
    overview = admin_client.get("/admin/data/").get_data(as_text=True)
    assert overview.count("<button type=\"submit\" class=\"danger\">Erase registration") == 1
