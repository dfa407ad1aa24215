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
