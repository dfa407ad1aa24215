"""Course rights come from context roles only; institution and system roles give none;
mentors watch and are never graded (issue 13, item 1)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from lti_tool.lti.roles import Standing, graded, is_staff, standing, teaches
from lti_tool.models import Attempt
from lti_tool.models.grades import GradeDelivery

from ..forms import forms
from ..lti_platform import moodle_claims

ROLES = "https://purl.imsglobal.org/spec/lti/claim/roles"
CUSTOM = "https://purl.imsglobal.org/spec/lti/claim/custom"
M = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
MS = "http://purl.imsglobal.org/vocab/lis/v2/membership/"
INST = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#"
SYS = "http://purl.imsglobal.org/vocab/lis/v2/system/person#"

# (roles sent, standing, teaches the class, may pick modules, graded)
MATRIX = [
    (["Instructor"], Standing.STAFF, True, True, False),
    ([M + "Instructor"], Standing.STAFF, True, True, False),
    ([MS + "Instructor#TeachingAssistant"], Standing.STAFF, True, True, False),
    ([M + "Instructor#TeachingAssistant"], Standing.STAFF, True, True, False),
    (["TeachingAssistant"], Standing.STAFF, True, True, False),
    ([MS + "Instructor#Grader"], Standing.STAFF, True, True, False),
    (["Administrator"], Standing.STAFF, True, True, False),
    ([M + "Administrator"], Standing.STAFF, True, True, False),
    (["ContentDeveloper"], Standing.STAFF, False, True, False),
    ([M + "ContentDeveloper"], Standing.STAFF, False, True, False),
    (["Learner"], Standing.LEARNER, False, False, True),
    ([M + "Learner"], Standing.LEARNER, False, False, True),
    ([MS + "Learner#NonCreditLearner"], Standing.LEARNER, False, False, True),
    (["Member"], Standing.LEARNER, False, False, True),
    (["Mentor"], Standing.MENTOR, False, False, False),
    ([M + "Mentor"], Standing.MENTOR, False, False, False),
    ([MS + "Mentor#Advisor"], Standing.MENTOR, False, False, False),
    ([M + "Mentor", M + "Learner"], Standing.MENTOR, False, False, False),
    # Institution and system roles alone give no course rights.
    ([INST + "Administrator"], Standing.NO_ROLE, False, False, True),
    ([SYS + "Administrator"], Standing.NO_ROLE, False, False, True),
    ([SYS + "SysAdmin"], Standing.NO_ROLE, False, False, True),
    ([INST + "Instructor"], Standing.NO_ROLE, False, False, True),
    ([INST + "Faculty"], Standing.NO_ROLE, False, False, True),
    ([INST + "Administrator", M + "Learner"], Standing.LEARNER, False, False, True),
    ([SYS + "Administrator", INST + "Administrator", "Learner"], Standing.LEARNER, False, False,
     True),
    ([INST + "Mentor", M + "Learner"], Standing.LEARNER, False, False, True),
    ([INST + "Administrator", M + "Instructor"], Standing.STAFF, True, True, False),
    # Look-alikes and garbage give nothing.
    (["instructor"], Standing.NO_ROLE, False, False, True),
    ([M + "Instructorx"], Standing.NO_ROLE, False, False, True),
    (["https://evil.example/membership#Instructor"], Standing.NO_ROLE, False, False, True),
    ([], Standing.NO_ROLE, False, False, True),
]


@pytest.mark.parametrize("roles, expected, may_teach, may_pick, is_graded", MATRIX)
def test_role_matrix(roles, expected, may_teach, may_pick, is_graded):
    assert standing(roles) == expected
    assert teaches(roles) is may_teach
    assert is_staff(roles) is may_pick
    assert graded(roles) is is_graded


def csrf_token(app, client) -> str:
    """A valid CSRF token for this browser's session, as Flask-WTF would put in a form."""
    from itsdangerous import URLSafeTimedSerializer

    with client.session_transaction() as session:
        raw = session.setdefault("csrf_token", "forged-but-valid-raw-token-0123456789")
    return URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="wtf-csrf-token").dumps(raw)


def launch_as(client, moodle, roles: list[str], sub: str = "7"):
    """A Moodle launch into a link with the fixture module, with these roles; the launch id."""
    def mutate(claims):
        claims[ROLES] = roles
        claims["sub"] = sub
        claims[CUSTOM] = {**claims[CUSTOM], "module": "fx-online-safety"}
    response, _, _ = moodle.launch(client, moodle_claims("student_launch"), mutate=mutate,
                                   login_hint=sub)
    assert response.status_code == 303, response.get_data(as_text=True)
    return response.headers["Location"].rstrip("/").rsplit("/", 1)[1]


@pytest.mark.parametrize("roles", [
    [INST + "Administrator", SYS + "Administrator", M + "Learner"],
    [SYS + "SysAdmin", "Learner"],
    [INST + "Administrator"],
])
def test_site_administrator_in_a_course_gets_no_lecturer_pages(app, moodle, fx_module, roles):
    client = app.test_client()
    launch_id = launch_as(client, moodle, roles)
    for url in (f"/i/{launch_id}/modules", f"/c/{launch_id}/link", f"/c/{launch_id}/course",
                f"/c/{launch_id}/marking"):
        assert client.get(url).status_code == 403, url
    landing = client.get(f"/launch/{launch_id}", follow_redirects=True).get_data(as_text=True)
    assert "administrator view" not in landing and f"/c/{launch_id}/" not in landing


def test_context_administrator_and_instructor_still_get_lecturer_pages(app, moodle, fx_module):
    for roles in (["Administrator"], [INST + "Administrator", M + "Instructor"]):
        client = app.test_client()
        launch_id = launch_as(client, moodle, roles, sub="9")
        assert client.get(f"/i/{launch_id}/modules").status_code == 200
        assert client.get(f"/c/{launch_id}/course").status_code == 200


@pytest.mark.parametrize("roles", [["Mentor"], [MS + "Mentor#Advisor"], [M + "Mentor",
                                                                         M + "Learner"]])
def test_mentor_gets_a_read_only_notice_and_never_an_attempt(app, moodle, fx_module, db,
                                                              roles):
    client = app.test_client()
    launch_id = launch_as(client, moodle, roles, sub="12")
    page = client.get(f"/launch/{launch_id}", follow_redirects=True)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "mentor or observer" in html
    assert not [f for f in forms(html) if f["action"].endswith(("/start", "/retry"))]
    # A forged "Start the module" (with a valid CSRF token) is refused: no attempt, no score.
    token = csrf_token(app, client)
    for path in ("start", "retry"):
        refused = client.post(f"/l/{launch_id}/{path}", data={"csrf_token": token})
        assert refused.status_code == 403 and "mentor or observer" in refused.get_data(
            as_text=True)
    assert db.scalar(select(func.count()).select_from(Attempt)) == 0
    assert db.scalar(select(func.count()).select_from(GradeDelivery)) == 0
    for url in (f"/i/{launch_id}/modules", f"/c/{launch_id}/course"):
        assert client.get(url).status_code == 403, url


def test_student_still_starts_a_graded_attempt(app, moodle, fx_module, db):
    client = app.test_client()
    launch_id = launch_as(client, moodle, [M + "Learner", INST + "Student"], sub="13")
    html = client.get(f"/l/{launch_id}/", follow_redirects=True).get_data(as_text=True)
    form = next(f for f in forms(html) if f["action"].endswith("/start"))
    assert client.post(form["action"], data=form["fields"]).status_code == 302
    assert db.scalar(select(func.count()).select_from(Attempt)) == 1
